// Browser half of the benchmark: the reference run on WebGPU and on the CPU backend in headless
// Chromium. Prints one JSON line per case. Usage: node bench/browser.mjs [webgpu-steps]
import fs from "node:fs";
import path from "node:path";
import { serve, launch, waitForState, DIST } from "../tests/browser/harness.mjs";

// The reference run: spiral, 256 points, MLP 2→64→64→64→2 ReLU, batch 64, Adam lr 0.01 — the
// defaults, so the link only names the backend and the steps.
const webgpuSteps = Number(process.argv[2] || 500);
// The sweep case: 4 widths × 6 learning rates × 200 steps (24 runs), interleaved.
export const SWEEP = "steps=200&sweep=" + encodeURIComponent("lr:2^-10..2^-5*2;w:32,64,128,256");
const cases = [
  { name: "browser CPU (Burn flex, wasm)", query: "?v=1&backend=cpu&steps=500" },
  { name: "browser WebGPU", query: `?v=1&backend=webgpu&steps=${webgpuSteps}` },
  { name: "sweep, browser CPU (Burn flex, wasm)", query: `?v=1&backend=cpu&${SWEEP}` },
];
// A software WebGPU adapter would need about half an hour for the sweep; ask for it explicitly.
if (process.argv[3] === "webgpu-sweep") {
  cases.push({ name: "sweep, browser WebGPU", query: `?v=1&backend=webgpu&${SWEEP}` });
}

const wasm = fs.readdirSync(DIST).filter((f) => f.endsWith(".wasm"));
const wasmBytes = wasm.reduce((s, f) => s + fs.statSync(path.join(DIST, f)).size, 0);
console.log(JSON.stringify({ case: "wasm size", bytes: wasmBytes }));

const srv = await serve();
const browser = await launch({ webgpu: true });
try {
  for (const c of cases) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Long tasks (> 50 ms on the main thread) while training measure the page's responsiveness.
    await page.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
      }).observe({ type: "longtask", buffered: true });
    });
    await page.goto(srv.base + c.query);
    const data = await waitForState(page, ["done", "failed", "diverged"], 900_000);
    const status = await page.textContent("#status");
    // Only tasks after the first curve point: loading and compiling the wasm is not training.
    const longTasks = (await page.evaluate(() => window.__longTasks))
      .filter(([start]) => start > Number(data.firstPointMs))
      .map(([, duration]) => duration);
    console.log(
      JSON.stringify({
        case: c.name,
        state: data.state,
        status,
        steps: Number(data.step),
        runs: Number(data.runsTotal || 1),
        train_ms: Number(data.trainMs),
        steps_per_s: Number(data.step) / (Number(data.trainMs) / 1000),
        first_point_ms: Number(data.firstPointMs),
        final_val_loss: Number(data.lastVal),
        long_tasks: longTasks.length,
        longest_task_ms: Math.round(Math.max(0, ...longTasks)),
      }),
    );
    await page.close();
  }
} finally {
  await browser.close();
  srv.server.close();
}
