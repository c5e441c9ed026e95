// Shared set-up for the browser tests and the benchmark: a static server for dist/ on 127.0.0.1
// (a secure context, so navigator.gpu exists) and Debian's Chromium driven by playwright-core.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { serve as serveDir } from "../../scripts/server.mjs";

export const DIST = path.resolve(process.env.TINYTUNE_DIST || "dist");

// The page as scripts/serve.sh serves it: compressed, with the types its streaming compile needs.
export async function serve(root = DIST) {
  return serveDir(root);
}

// Flags measured in docs/TOOLCHAIN.md (pitfall 10): background networking off (closed network), WebGPU only with
// --enable-unsafe-webgpu (which gives the SwiftShader software adapter on a machine without a GPU).
const BASE_FLAGS = [
  "--no-sandbox",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launch({ webgpu = true } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: webgpu ? [...BASE_FLAGS, "--enable-unsafe-webgpu"] : BASE_FLAGS,
  });
}

// Opens `query` and collects console errors and page errors for the test to check.
// `options` are the page's context options (e.g. `{ serviceWorkers: "block" }` for timings).
export async function open(browser, base, query, options = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, ...options });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(base + query);
  return { page, errors };
}

export async function waitForState(page, states, timeout = 60_000) {
  const list = Array.isArray(states) ? states : [states];
  await page.waitForFunction(
    (l) => l.includes(document.getElementById("app").dataset.state),
    list,
    { timeout, polling: 100 },
  );
  return page.evaluate(() => ({ ...document.getElementById("app").dataset }));
}

// Counts the WebGPU work of `page`'s training worker where it hands it to the browser
// (independent of the adapter): dispatchWorkgroups, queue submits and writeBuffer calls. Call it
// before the page loads; it returns a function that reads the counts so far. The worker's script
// is wrapped in a module that installs the counters as it loads (its static import runs first; no
// message reaches the worker before the module has run).
export async function countGpuWork(page) {
  await page.addInitScript(() => {
    const Real = window.Worker;
    window.Worker = function (url, options) {
      const real = JSON.stringify(new URL(url, location.href).href);
      const source = `import ${real};
        self.__gpu = { dispatch: 0, submit: 0, write: 0 };
        const wrap = (proto, name, key) => {
          if (!proto || !proto[name]) return;
          const orig = proto[name];
          proto[name] = function (...args) {
            self.__gpu[key] += 1;
            return orig.apply(this, args);
          };
        };
        if (self.GPUComputePassEncoder) wrap(GPUComputePassEncoder.prototype, "dispatchWorkgroups", "dispatch");
        if (self.GPUQueue) {
          wrap(GPUQueue.prototype, "submit", "submit");
          wrap(GPUQueue.prototype, "writeBuffer", "write");
        }`;
      return new Real(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), options);
    };
  });
  return async () => {
    const workers = page.workers();
    return workers.length ? workers[workers.length - 1].evaluate(() => ({ ...self.__gpu })) : {};
  };
}

// Waits until a run of a later generation than `generation` (a restart) has finished.
export async function waitForNewRun(page, generation, timeout = 60_000) {
  await page.waitForFunction(
    (g) => {
      const d = document.getElementById("app").dataset;
      return Number(d.generation) > Number(g) && ["done", "diverged"].includes(d.state);
    },
    generation,
    { timeout, polling: 100 },
  );
  return page.evaluate(() => ({ ...document.getElementById("app").dataset }));
}

// Waits until the current runner has begun `n` more animation frames (data-runner-frames is
// "generation:frames").
export async function waitRunnerFrames(page, n, timeout = 10_000) {
  const frames = () => document.getElementById("app").dataset.runnerFrames.split(":").map(Number);
  const [g, f] = await page.evaluate(frames);
  await page.waitForFunction(
    ([g, target]) => {
      const [gg, ff] = document.getElementById("app").dataset.runnerFrames.split(":").map(Number);
      return gg === g && ff >= target;
    },
    [g, f + n],
    { timeout, polling: "raf" },
  );
}

// Lets the page render `n` animation frames.
export async function animationFrames(page, n) {
  await page.evaluate(
    (n) =>
      new Promise((done) => {
        let left = n;
        const tick = () => (--left <= 0 ? done() : requestAnimationFrame(tick));
        requestAnimationFrame(tick);
      }),
    n,
  );
}

// Number of strongly coloured pixels on a canvas: axes, grid and text are grey or black, so only
// drawn data (curves, decision regions, points) counts. A chart without data scores 0. `span`
// limits the count to a horizontal slice, as fractions of the width (e.g. [0.5, 1] = right half).
export async function colouredPixels(page, id, span = [0, 1]) {
  return page.evaluate(([id, span]) => {
    const c = document.getElementById(id);
    const x0 = Math.floor(c.width * span[0]);
    const w = Math.max(1, Math.floor(c.width * span[1]) - x0);
    const d = c.getContext("2d").getImageData(x0, 0, w, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      const hi = Math.max(d[i], d[i + 1], d[i + 2]);
      const lo = Math.min(d[i], d[i + 1], d[i + 2]);
      if (hi - lo > 80) n++;
    }
    return n;
  }, [id, span]);
}

// The gallery's own link for a preset, with `changes` applied (a software adapter is slow, so the
// WebGPU checks shorten the run; every other key stays the preset's).
export async function presetLink(page, id, changes) {
  await page.waitForSelector(`#preset-list a[data-preset="${id}"]`);
  return page.evaluate(
    ([id, changes]) => {
      const a = document.querySelector(`#preset-list a[data-preset="${id}"]`);
      const q = new URLSearchParams(a.getAttribute("href").slice(1));
      for (const [k, v] of Object.entries(changes)) q.set(k, v);
      return "?" + q.toString();
    },
    [id, changes],
  );
}

// Clicks `button` and returns the text of the file the page saves.
export async function download(page, button) {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
  return fs.readFileSync(await file.path(), "utf8");
}

// A download's bytes (a binary file: weights).
export async function downloadBytes(page, button) {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
  return { name: file.suggestedFilename(), buffer: fs.readFileSync(await file.path()) };
}

// Every run's swept values, divergence and losses, as the page's JSON export writes them.
export async function curves(page) {
  const runs = JSON.parse(await download(page, "#download-json"));
  return runs.map((r) => ({ knobs: r.knobs, diverged: r.diverged, steps: r.steps, quant_val_loss: r.quant_val_loss }));
}
