// Browser half of the stacking benchmark (#33): a sweep on WebGPU unstacked (stack=0) and
// stacked (stack=auto), interleaved case by case, in headless Chromium (SwiftShader here): the
// WebGPU dispatches of the whole sweep counted in the training worker, per step of a run (over
// the whole run, and steady: from runs of `steps` and 3× as many steps, so the set-up cancels),
// and the wall time of the training. Prints one JSON line per case and setting.
// Usage: node bench/stack.mjs case…   where a case is `name=link` (a link's query without `?`).
import { serve, launch, waitForState, countGpuWork } from "../tests/browser/harness.mjs";

const cases = process.argv.slice(2);
const srv = await serve();
const browser = await launch({ webgpu: true });
try {
  for (const c of cases) {
    const [name, link] = [c.slice(0, c.indexOf("=")), c.slice(c.indexOf("=") + 1)];
    const steps = Number(new URLSearchParams(link).get("steps") || 10);
    // STACKS="auto" (or "0") measures one setting alone, e.g. after a change only the stack pays.
    for (const stack of (process.env.STACKS || "0,auto").split(",")) {
      const runs = [];
      for (const n of [steps, 3 * steps]) {
        // No service worker: storing the build for offline use would take time from the timed run.
        const page = await browser.newPage({ serviceWorkers: "block" });
        const counts = await countGpuWork(page);
        const q = new URLSearchParams(link);
        q.set("steps", String(n));
        await page.goto(`${srv.base}?${q}&backend=webgpu&stack=${stack}`);
        const data = await waitForState(page, ["done", "failed", "diverged"], 1_800_000);
        runs.push({ steps: n, state: data.state, backend: data.backend, dispatch: (await counts()).dispatch, train_s: Number(data.trainMs) / 1000 });
        await page.close();
      }
      const [a, b] = runs;
      console.log(
        JSON.stringify({
          case: name,
          stack,
          state: b.state,
          backend: b.backend,
          dispatches_per_step: +(a.dispatch / a.steps).toFixed(1),
          steady_dispatches_per_step: +((b.dispatch - a.dispatch) / (b.steps - a.steps)).toFixed(1),
          train_s: [a.train_s, b.train_s],
        }),
      );
    }
  }
} finally {
  await browser.close();
  srv.server.close();
}
