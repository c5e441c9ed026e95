// Same-shape runs stacked into one model on WebGPU (#33): a stacked sweep of MLPs, of
// quantized MLPs or of transformers trains each run's unstacked curve (within float tolerance,
// PTQ's rounded loss too) on SwiftShader, a
// diverging run marked while the others go on, in a fraction of the unstacked sweep's kernel
// launches (counted in the training worker).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, waitForState, countGpuWork, curves } from "./harness.mjs";

let srv, browser;
before(async () => {
  srv = await serve();
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  srv?.server.close();
});


// The losses of a step as numbers (the export writes a diverged loss as null).
const losses = (s) => [s.train_loss, s.val_loss].map((v) => (v == null ? NaN : Number(v)));

/// The sweep of `link` on WebGPU unstacked and stacked: each run's curves and the dispatches of
/// the whole sweep (counted in the training worker), and the largest relative gap of a loss.
async function stackedAgainstAlone(link, runs) {
  const results = {};
  for (const stack of ["0", "auto"]) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, serviceWorkers: "block" });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const counts = await countGpuWork(page);
    await page.goto(`${srv.base}${link}&stack=${stack}`);
    const done = await waitForState(page, ["done", "diverged", "failed"], 240_000);
    assert.equal(done.state, "done", await page.textContent("#messages"));
    assert.equal(done.backend, "webgpu");
    const work = await counts();
    const status = await page.textContent("#status");
    if (stack === "auto") assert.match(status, /· \d+ runs (stacked as one model|in \d+ stacks)/, status);
    else assert.doesNotMatch(status, /stack/, status);
    results[stack] = { curves: await curves(page), dispatch: work.dispatch };
    assert.deepEqual(errors, []);
    await page.close();
  }
  const [alone, stacked] = [results["0"], results.auto];
  assert.equal(stacked.curves.length, runs);
  let worst = 0;
  for (const [a, s] of alone.curves.map((a, i) => [a, stacked.curves[i]])) {
    assert.deepEqual(s.knobs, a.knobs, "in the sweep's order");
    assert.equal(s.diverged, a.diverged, JSON.stringify(a.knobs));
    assert.equal(s.quant_val_loss == null, a.quant_val_loss == null, `PTQ's loss of ${JSON.stringify(a.knobs)}`);
    if (a.quant_val_loss != null) {
      const gap = Math.abs(a.quant_val_loss - s.quant_val_loss) / Math.max(Math.abs(a.quant_val_loss), 1e-3);
      worst = Math.max(worst, gap);
      assert.ok(gap <= 1e-4, `${JSON.stringify(a.knobs)}: PTQ's loss ${a.quant_val_loss} alone, ${s.quant_val_loss} stacked`);
    }
    assert.equal(s.steps.length, a.steps.length, JSON.stringify(a.knobs));
    for (const [x, y] of a.steps.map((x, i) => [x, s.steps[i]])) {
      for (const [u, v] of losses(x).map((u, i) => [u, losses(y)[i]])) {
        if (Number.isNaN(u) && Number.isNaN(v)) continue;
        const gap = Math.abs(u - v) / Math.max(Math.abs(u), 1e-3);
        worst = Math.max(worst, gap);
        assert.ok(gap <= 1e-4, `${JSON.stringify(a.knobs)} step ${x.step}: ${u} alone, ${v} stacked`);
      }
    }
  }
  return { alone, stacked, worst };
}

test("a stacked WebGPU sweep trains each run's unstacked curve in a fraction of the launches", async (t) => {
  // Four rates (one diverges) of a small MLP, a few steps: SwiftShader is slow.
  const sweep = encodeURIComponent("lr:0.003,0.01,0.03,9");
  const { alone, stacked, worst } = await stackedAgainstAlone(`?v=1&backend=webgpu&steps=6&w=16&d=1&sweep=${sweep}`, 4);
  t.diagnostic(`dispatches for the whole sweep: ${alone.dispatch} unstacked, ${stacked.dispatch} stacked`);
  assert.ok(stacked.curves.some((r) => r.diverged), "lr = 9 diverges in its stack and the others go on");
  t.diagnostic(`largest relative difference of a loss: ${worst.toExponential(1)}`);
  // Four runs' steps in about one run's launches: well under half the unstacked sweep's.
  assert.ok(stacked.dispatch * 2 < alone.dispatch, `${stacked.dispatch} stacked against ${alone.dispatch}`);
});

test("a stacked WebGPU transformer sweep trains each run's unstacked curve", async (t) => {
  // Four rates of a one-block transformer reversing 4 symbols, a few steps.
  const sweep = encodeURIComponent("lr:0.001,0.003,0.01,0.03");
  const link = `?v=1&backend=webgpu&task=reverse&w=16&d=1&heads=2&ctx=8&seqlen=4&syms=6&bs=8&steps=4&sweep=${sweep}`;
  const { alone, stacked, worst } = await stackedAgainstAlone(link, 4);
  t.diagnostic(`dispatches for the whole sweep: ${alone.dispatch} unstacked, ${stacked.dispatch} stacked`);
  t.diagnostic(`largest relative difference of a loss: ${worst.toExponential(1)}`);
  // Four runs' steps (and evaluations) in about one run's launches.
  assert.ok(stacked.dispatch * 2 < alone.dispatch, `${stacked.dispatch} stacked against ${alone.dispatch}`);
});

test("a stacked WebGPU quantization sweep scores each run at its own bits", async (t) => {
  // E9's grid in small: PTQ and QAT at 2, 3 and 4 bits, one stack each.
  const sweep = encodeURIComponent("bits:2,3,4;qmode:ptq,qat");
  const { alone, stacked, worst } = await stackedAgainstAlone(`?v=1&backend=webgpu&steps=4&w=16&d=1&sweep=${sweep}`, 6);
  t.diagnostic(`dispatches for the whole sweep: ${alone.dispatch} unstacked, ${stacked.dispatch} stacked`);
  t.diagnostic(`largest relative difference of a loss: ${worst.toExponential(1)}`);
  const ptq = stacked.curves.filter((r) => r.quant_val_loss != null);
  assert.equal(ptq.length, 3, "the PTQ runs report their rounded model's loss");
  assert.ok(stacked.dispatch * 2 < alone.dispatch, `${stacked.dispatch} stacked against ${alone.dispatch}`);
});
