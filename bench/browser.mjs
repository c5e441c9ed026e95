// Browser half of the benchmark: the reference run on WebGPU and on the CPU backend in headless
// Chromium. Prints one JSON line per case. Usage: node bench/browser.mjs [webgpu-steps]
import fs from "node:fs";
import path from "node:path";
import { serve, launch, waitForState, countGpuWork, DIST } from "../tests/browser/harness.mjs";
import { runTfjs } from "./tfjs.mjs";

// The reference run: spiral, 256 points, MLP 2→64→64→64→2 ReLU, batch 64, Adam lr 0.01 — the
// defaults, so the link only names the backend and the steps.
const webgpuSteps = Number(process.argv[2] || 500);
// The sweep case: 4 widths × 6 learning rates × 200 steps (24 runs), interleaved.
export const SWEEP = "steps=200&sweep=" + encodeURIComponent("lr:2^-10..2^-5*2;w:32,64,128,256");
// The reference transformer (#13): the char LM with 2 blocks, d_model 128, 4 heads, context 64,
// batch 32, Adam — the same link as the native row and bench/torch_gpt.py.
export const GPT = "task=text&w=128&d=2&heads=4&ctx=64&bs=32&lr=0.003&n=1024";
const gptSteps = Number(process.env.GPT_STEPS || 60);
const gptGpuSteps = Number(process.env.GPT_GPU_STEPS || 6);
// The first visit on a modest connection (#15): 20 Mbit/s down and up, 40 ms latency (Chrome
// DevTools Protocol), nothing cached: how long from the link to the first curve point.
export const THROTTLE = { offline: false, latency: 40, downloadThroughput: 20e6 / 8, uploadThroughput: 20e6 / 8 };
const cases = [
  { name: "browser CPU (Burn flex, wasm)", query: "?v=1&backend=cpu&steps=500" },
  { name: "browser CPU, first visit at 20 Mbit/s, 40 ms", query: "?v=1&backend=cpu&steps=500", throttle: true },
  { name: "browser WebGPU", query: `?v=1&backend=webgpu&steps=${webgpuSteps}` },
  { name: "sweep, browser CPU (Burn flex, wasm)", query: `?v=1&backend=cpu&${SWEEP}` },
  { name: "gpt, browser CPU (Burn flex, wasm)", query: `?v=1&backend=cpu&${GPT}&steps=${gptSteps}` },
  { name: "gpt, browser WebGPU", query: `?v=1&backend=webgpu&${GPT}&steps=${gptGpuSteps}` },
];
// A software WebGPU adapter would need about half an hour for the sweep; ask for it explicitly.
if (process.argv[3] === "webgpu-sweep") {
  cases.push({ name: "sweep, browser WebGPU", query: `?v=1&backend=webgpu&${SWEEP}` });
}

// BENCH_CASES=gpt runs only the cases whose name starts with it (e.g. the transformer rows).
const only = process.env.BENCH_CASES;
const selected = only ? cases.filter((c) => c.name.startsWith(only)) : cases;

// Two modules (#15): the page's own (the page and CPU training), which every visit downloads,
// and the WebGPU module, which only a visit that trains on WebGPU fetches.
const sizes = (f) => ({
  bytes: fs.statSync(path.join(DIST, f)).size,
  // The build's stored compressed copies (scripts/compress.mjs), what a browser downloads.
  ...Object.fromEntries(
    [".gz", ".br"].map((x) => [x === ".gz" ? "gzip" : "br", fs.existsSync(path.join(DIST, f + x)) ? fs.statSync(path.join(DIST, f + x)).size : 0]),
  ),
});
for (const f of fs.readdirSync(DIST).filter((f) => f.endsWith(".wasm")).sort()) {
  const module = f.startsWith("tinytune-webgpu-") ? "WebGPU module" : "page module";
  console.log(JSON.stringify({ case: `wasm size, ${module}`, file: f, ...sizes(f) }));
}

const srv = await serve();
const browser = await launch({ webgpu: true });
const rows = {};
try {
  for (const c of selected) {
    // Without the service worker: storing the build for offline use is a one-off of a first visit
    // and would take CPU from the run being timed.
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, serviceWorkers: "block" });
    // Long tasks (> 50 ms on the main thread) while training measure the page's responsiveness.
    await page.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
      }).observe({ type: "longtask", buffered: true });
    });
    // WebGPU work, counted where the training worker hands it to the browser.
    const gpuCounts = await countGpuWork(page);
    // Bytes on the wire (compressed bodies and headers), from the browser's own accounting.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    let transferred = 0;
    cdp.on("Network.loadingFinished", (e) => (transferred += e.encodedDataLength));
    if (c.throttle) await cdp.send("Network.emulateNetworkConditions", THROTTLE);
    await page.goto(srv.base + c.query);
    // Per step in steady state: from the first drawn step to the end (pipeline compilation and the
    // data upload before the first step are left out; evaluations and readbacks are counted).
    await page.waitForFunction(() => Number(document.getElementById("app").dataset.step || 0) >= 1, null, {
      timeout: 900_000,
      polling: 50,
    });
    const checkpoint = async () => ({
      ...(await page.evaluate(() => ({
        step: Number(document.getElementById("app").dataset.step),
        t: performance.now(),
      }))),
      ...(await gpuCounts()),
    });
    const first = await checkpoint();
    // The last checkpoint one step before the end: the end-of-run readback (spectra, views, the
    // char LM's sample) is not a training step.
    const total = Number(new URLSearchParams(c.query).get("steps") || 500);
    await page.waitForFunction(
      (n) => Number(document.getElementById("app").dataset.step || 0) >= n || document.getElementById("app").dataset.state !== "running",
      Math.max(first.step + 1, total - 1),
      { timeout: 900_000, polling: 20 },
    );
    const last = await checkpoint();
    const data = await waitForState(page, ["done", "failed", "diverged"], 900_000);
    const span = Math.max(1, last.step - first.step);
    const perStep = (k) => Math.round((10 * (last[k] - first[k])) / span) / 10;
    const status = await page.textContent("#status");
    // Only tasks after the first curve point: loading and compiling the wasm is not training.
    const longTasks = (await page.evaluate(() => window.__longTasks))
      .filter(([start]) => start > Number(data.firstPointMs))
      .map(([, duration]) => duration);
    const row = {
        case: c.name,
        state: data.state,
        status,
        steps: Number(data.step),
        runs: Number(data.runsTotal || 1),
        train_ms: Number(data.trainMs),
        steps_per_s: Number(data.step) / (Number(data.trainMs) / 1000),
        // From the first drawn step to the last checkpoint: pipeline compilation and the upload
        // before the first step left out (they are in first_point_ms).
        steady_steps_per_s: Math.round((1000 * span) / Math.max(1, last.t - first.t) * 100) / 100,
        first_point_ms: Number(data.firstPointMs),
        transferred_bytes: transferred,
        final_val_loss: Number(data.lastVal),
        long_tasks: longTasks.length,
        longest_task_ms: Math.round(Math.max(0, ...longTasks)),
        dispatches_per_step: perStep("dispatch"),
        submits_per_step: perStep("submit"),
        writes_per_step: perStep("write"),
        // The count itself: a one-off write (a launch's metadata seen for the first time) would
        // round away in the rate.
        writes_in_window: last.write - first.write,
    };
    rows[c.name] = row;
    console.log(JSON.stringify(row));
    await page.close();
  }
  // The peer in the same browser (bench/tfjs: `cd bench/tfjs && npm ci` installs it), and the
  // ratios of steady-state steps/s (compilation and set-up left out on both sides).
  if (!only || only.startsWith("TF") || only.startsWith("browser")) {
    const peers = await runTfjs(browser, { cpuSteps: 500, webgpuSteps });
    if (peers.length === 0) console.log(JSON.stringify({ case: "TF.js", skipped: "cd bench/tfjs && npm ci" }));
    const ratio = (ours, theirs) =>
      ours && theirs ? Math.round((100 * ours.steady_steps_per_s) / theirs.steady_steps_per_s) / 100 : null;
    for (const peer of peers) {
      const ours = rows[peer.backend === "wasm" ? "browser CPU (Burn flex, wasm)" : "browser WebGPU"];
      console.log(JSON.stringify({ ...peer, tinytune_over_tfjs: ratio(ours, peer) }));
    }
  }
} finally {
  await browser.close();
  srv.server.close();
}
