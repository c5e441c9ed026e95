// The peer of the browser benchmark (#15): TensorFlow.js training the reference MLP in a page of
// the same headless Chromium, on its wasm backend and on WebGPU, with WebGPU work counted as in
// tinytune's page (dispatchWorkgroups, queue submits, buffer writes). `runTfjs(browser, steps)`
// returns one result per backend, or nothing when `cd bench/tfjs && npm ci` has not been run.
import fs from "node:fs";
import path from "node:path";
import { serve } from "../tests/browser/harness.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "tfjs");

export async function runTfjs(browser, { cpuSteps = 500, webgpuSteps = 60 } = {}) {
  if (!fs.existsSync(path.join(ROOT, "node_modules", "@tensorflow", "tfjs"))) return [];
  const srv = await serve(ROOT);
  const results = [];
  try {
    for (const [backend, steps] of [
      ["wasm", cpuSteps],
      ["webgpu", webgpuSteps],
    ]) {
      const page = await browser.newPage();
      await page.addInitScript(() => {
        self.__gpu = { dispatch: 0, submit: 0, write: 0 };
        const wrap = (proto, name, key) => {
          const real = proto[name];
          proto[name] = function (...args) {
            self.__gpu[key]++;
            return real.apply(this, args);
          };
        };
        if (self.GPUComputePassEncoder) wrap(GPUComputePassEncoder.prototype, "dispatchWorkgroups", "dispatch");
        if (self.GPUQueue) {
          wrap(GPUQueue.prototype, "submit", "submit");
          wrap(GPUQueue.prototype, "writeBuffer", "write");
        }
      });
      await page.goto(`${srv.base}index.html?backend=${backend}&steps=${steps}`);
      await page.waitForFunction(() => window.__result !== null, null, { timeout: 900_000, polling: 100 });
      const r = await page.evaluate(() => ({ ...window.__result, gpu: self.__gpu }));
      const per = (k) => Math.round((10 * r.gpu[k]) / steps) / 10;
      results.push({
        case: `TF.js 4.22 ${backend === "wasm" ? "wasm (CPU)" : "WebGPU"}`,
        ...r,
        // Counted over the whole run, first step and its set-up included.
        dispatches_per_step: backend === "webgpu" ? per("dispatch") : undefined,
        submits_per_step: backend === "webgpu" ? per("submit") : undefined,
        writes_per_step: backend === "webgpu" ? per("write") : undefined,
        gpu: undefined,
      });
      await page.close();
    }
  } finally {
    srv.server.close();
  }
  return results;
}
