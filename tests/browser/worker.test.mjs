// Training off the main thread (#16): a heavy link leaves the page responsive, Pause lands
// between steps, Reset and Cancel within 200 ms even mid-step, and a worker that dies leaves a
// usable page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState, waitRunnerFrames } from "./harness.mjs";

let srv, browser;
before(async () => {
  srv = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  srv?.server.close();
});

const data = (page) => page.evaluate(() => ({ ...document.getElementById("app").dataset }));
const step = async (page) => Number((await data(page)).step || 0);

// Every key in range, and a step of about a second on this machine's CPU backend: on the main
// thread this link blocked the tab for a second a step.
const HEAVY = "?v=1&backend=cpu&w=2048&d=2&bs=190&steps=200&lr=0.0003";

test("a heavy link trains without blocking the page; Pause lands between steps, Reset within 200 ms", async (t) => {
  // No service worker: storing the build for offline use is a one-off of the first visit, and on
  // two cores it takes CPU from the page this test times.
  const page = await browser.newPage({ serviceWorkers: "block" });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  });
  await page.goto(srv.base + HEAVY);
  await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) >= 3, null, {
    timeout: 120_000,
  });
  // Three steps of about a second each, and not one main-thread task over 50 ms after the first
  // curve point (loading and compiling the module come before it).
  const first = Number((await data(page)).firstPointMs);
  const long = (await page.evaluate(() => window.__longTasks)).filter(([start]) => start > first);
  assert.deepEqual(long, [], "main-thread tasks over 50 ms while training");

  // The page answers at once: Pause changes the state in the click itself, and no step lands
  // after the one in flight (the worker has seen the pause once it has begun two more rounds).
  const paused = await page.evaluate(() => {
    document.getElementById("pause").click();
    return document.getElementById("app").dataset.state;
  });
  assert.equal(paused, "paused");
  await waitRunnerFrames(page, 2, 10_000);
  const at = await step(page);
  await waitRunnerFrames(page, 20);
  assert.equal(await step(page), at, "no steps while paused");

  // Resume; right after a step lands the next one is in flight for about a second. Reset must
  // free the worker within 200 ms: it cannot hear it mid-step, so after 100 ms the page replaces it.
  await page.click("#train-button");
  await page.waitForFunction((s) => Number(document.getElementById("app").dataset.step) > s, at, {
    timeout: 30_000,
    polling: 10,
  });
  const resetAfter = await releaseTime(page, "reset");
  t.diagnostic(`Reset freed the worker in ${resetAfter.toFixed(0)} ms`);
  assert.ok(resetAfter <= 200, `Reset took ${resetAfter.toFixed(0)} ms to free the worker`);
  const after = await data(page);
  assert.equal(after.state, "idle");
  assert.equal(after.workers, "2", "the busy worker was replaced");
  assert.deepEqual(errors, []);
  await page.close();
});

// Clicks `button` and resolves with the milliseconds until the worker follows the page's
// generation (`data-worker-at`) and, for Cancel, the runner is reported stopped.
function releaseTime(page, button) {
  return page.evaluate(
    (button) =>
      new Promise((done) => {
        const app = document.getElementById("app");
        const t0 = performance.now();
        const check = () => {
          const d = app.dataset;
          const stopped = button !== "cancel" || d.runnerStopped === d.generation;
          if (d.workerAt === d.generation && stopped) done(performance.now() - t0);
          else requestAnimationFrame(check);
        };
        document.getElementById(button).click();
        check();
      }),
    button,
  );
}

test("Cancel stops a heavy sweep within 200 ms, mid-step", async (t) => {
  const sweep = encodeURIComponent("lr:0.001,0.002");
  const { page, errors } = await open(browser, srv.base, `${HEAVY}&sweep=${sweep}`);
  const start = Number(await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) >= 1, null, {
    timeout: 120_000,
  }).then(() => step(page)));
  await page.waitForFunction((s) => Number(document.getElementById("app").dataset.step) > s, start, {
    timeout: 30_000,
    polling: 10,
  });
  const cancelAfter = await releaseTime(page, "cancel");
  t.diagnostic(`Cancel stopped the sweep in ${cancelAfter.toFixed(0)} ms`);
  assert.ok(cancelAfter <= 200, `Cancel took ${cancelAfter.toFixed(0)} ms`);
  const after = await data(page);
  assert.equal(after.state, "cancelled");
  assert.equal(after.workers, "2", "the busy worker was replaced");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a worker that dies mid-run leaves a message and a page that trains again", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&steps=100000");
  await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) > 20, null, {
    timeout: 60_000,
  });
  const [worker] = page.workers();
  await worker.evaluate(() => {
    setTimeout(() => {
      throw new Error("killed by the test");
    });
  });
  const failed = await waitForState(page, "failed", 10_000);
  assert.equal(failed.workers, "2", "a fresh worker took over");
  const messages = await page.textContent("#messages");
  assert.match(messages, /The training worker failed \(.*killed by the test\); this run stopped\. Press Train to run it again\./);
  await page.click("#train-button");
  await page.waitForFunction((g) => {
    const d = document.getElementById("app").dataset;
    return Number(d.generation) > g && Number(d.step) > 20 && d.state === "running";
  }, Number(failed.generation), { timeout: 60_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

// A real out-of-memory trap: the test fills the worker's WebAssembly memory to the most the
// browser allows (as a model too big for the tab would), then a knob change makes the next run
// allocate; the allocation cannot grow the memory and aborts. The page names it, replaces the
// worker and trains again.
test("a worker that runs out of memory says so and the page recovers", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&steps=2000");
  await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) > 20, null, {
    timeout: 60_000,
  });
  const glue = await page.evaluate(() => document.querySelector("link[rel=modulepreload]").href);
  const [worker] = page.workers();
  const full = await worker.evaluate(async (url) => {
    // The same module record as the worker's own import: init returns the running instance.
    const wasm = await (await import(url)).default();
    try {
      for (;;) wasm.memory.grow(256);
    } catch {
      return wasm.memory.buffer.byteLength;
    }
  }, glue);
  assert.ok(full > 2 ** 30, `the memory filled up at ${full} bytes`);
  await page.fill("#w", "1024");
  await page.dispatchEvent("#w", "change");
  const failed = await waitForState(page, "failed", 30_000);
  assert.equal(failed.workers, "2", "a fresh worker took over");
  const messages = await page.textContent("#messages");
  assert.match(
    messages,
    /The training worker failed \(out of memory: its WebAssembly memory is full at \d\.\d GiB\); this run stopped\./,
    messages,
  );
  // The fresh worker has all its memory: the 1024-wide run trains (at lr 0.01 it soon diverges,
  // which the page marks as usual).
  await page.click("#train-button");
  await page.waitForFunction((g) => {
    const d = document.getElementById("app").dataset;
    return Number(d.generation) > g && Number(d.step) >= 1;
  }, Number(failed.generation), { timeout: 60_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

// Messages lose nothing (#30): a seed JavaScript numbers cannot hold (2^64 − 1) crosses to the
// worker and trains (it had left the page "running" with nothing on screen); and a message that
// cannot be read, either way, is said on the page and ends the run in a state Train recovers from.
test("every seed crosses to the worker, and a lost message stops the run with its reason", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&steps=30&seed=18446744073709551615");
  const done = await waitForState(page, ["done", "failed"], 60_000);
  assert.equal(done.state, "done", await page.textContent("#messages"));
  assert.equal(done.step, "30");

  // The next message to the worker arrives as garbage: the worker says so, the page shows it.
  await page.evaluate(() => {
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (m, ...rest) {
      if (window.__garble && m instanceof Uint8Array) {
        window.__garble = false;
        return post.call(this, new Uint8Array([255, 255, 255, 255, 255]), ...rest);
      }
      return post.call(this, m, ...rest);
    };
    window.__garble = true;
  });
  await page.click("#train-button");
  const failed = await waitForState(page, "failed", 30_000);
  assert.match(
    await page.textContent("#messages"),
    /A message between the page and its training worker was lost: a message from the page to the worker: it could not be read .*This run stopped; press Train to run it again\./,
  );
  // Train again: the worker was fine all along.
  await page.click("#train-button");
  await page.waitForFunction((g) => {
    const d = document.getElementById("app").dataset;
    return Number(d.generation) > g && d.state === "done";
  }, Number(failed.generation), { timeout: 60_000 });
  assert.equal((await data(page)).workers, "1", "no worker was replaced");
  assert.deepEqual(errors, []);
  await page.close();
});
