// Browser half of the stacking benchmark (#33): a sweep on WebGPU unstacked (stack=0) and
// stacked (stack=auto), interleaved case by case, in headless Chromium (SwiftShader here): the
// WebGPU dispatches of the whole sweep counted in the training worker, per step of a run, and
// the wall time of the training. Prints one JSON line per run.
// Usage: node bench/stack.mjs case…   where a case is `name=link` (a link's query without `?`).
import { serve, launch, waitForState, countGpuWork } from "../tests/browser/harness.mjs";

const cases = process.argv.slice(2);
const srv = await serve();
const browser = await launch({ webgpu: true });
try {
  for (const c of cases) {
    const [name, link] = [c.slice(0, c.indexOf("=")), c.slice(c.indexOf("=") + 1)];
    const steps = Number(new URLSearchParams(link).get("steps") || 500);
    for (const stack of ["0", "auto"]) {
      // No service worker: storing the build for offline use would take time from the timed run.
      const page = await browser.newPage({ serviceWorkers: "block" });
      const counts = await countGpuWork(page);
      await page.goto(`${srv.base}?${link}&backend=webgpu&stack=${stack}`);
      const data = await waitForState(page, ["done", "failed", "diverged"], 1_800_000);
      const work = await counts();
      console.log(
        JSON.stringify({
          case: name,
          stack,
          state: data.state,
          backend: data.backend,
          dispatches_per_step: +(work.dispatch / steps).toFixed(1),
          train_s: Number(data.trainMs) / 1000,
        }),
      );
      await page.close();
    }
  }
} finally {
  await browser.close();
  srv.server.close();
}
