// Quantization in the page: the PTQ preset (reduced) on WebGPU draws loss against bits, and a
// single PTQ run describes what was stored and draws the weight-error and histogram figure.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState, colouredPixels, presetLink } from "./harness.mjs";

let srv, browser;
before(async () => {
  srv = await serve();
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  srv?.server.close();
});

test("the PTQ preset runs on WebGPU and draws loss against bits", async () => {
  const { page: gallery } = await open(browser, srv.base, "?v=1&backend=cpu&steps=1");
  // A software adapter is slow: fewer steps, bit-widths and granularities; every other key is the preset's.
  const link = await presetLink(gallery, "e8", {
    backend: "webgpu",
    steps: "4",
    w: "32",
    sweep: "bits:2,4,8,32;qgran:tensor,channel",
  });
  await gallery.close();
  const { page, errors } = await open(browser, srv.base, link);
  const data = await waitForState(page, ["done", "failed", "diverged"], 400_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(data.backend, "webgpu");
  assert.equal(await page.isVisible("#fig-sweep"), true);
  assert.ok((await colouredPixels(page, "sweep-canvas")) > 150, "one curve per granularity and float dashed");
  const rows = await page.locator("#runs-table tbody tr").count();
  assert.equal(rows, 8);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a PTQ run says what was stored and draws the weights against their grid", async () => {
  const { page, errors } = await open(
    browser,
    srv.base,
    "?v=1&task=digits&w=64&d=2&bs=128&steps=200&lr=0.003&bits=4&qgran=channel&backend=cpu",
  );
  const data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", errors.join(" | "));
  await page.waitForSelector("#fig-weights:not([hidden])", { timeout: 10_000 });
  const text = await page.textContent("#quant");
  assert.match(text, /PTQ \(after training\): weights in INT4 \(symmetric, 15 levels\) per output channel/, text);
  assert.match(text, /Burn's native Q4S quantization/, text);
  assert.match(text, /Burn stores it in \d+ bytes/, text);
  assert.match(text, /val loss [0-9.]+ in f32 → [0-9.]+ quantized/, text);
  assert.ok((await colouredPixels(page, "weights-canvas")) > 500, "curves, histogram and grid");
  assert.equal(await page.inputValue("#bits"), "4");
  assert.equal(await page.getAttribute("#app", "data-weights-bits"), "4");
  // The bit knob moves: training is the same, so the worker re-grids the finished run's weights
  // for 2 bits before the run repeats to measure the 2-bit loss: the figure shows 2 bits while
  // the new run has not finished (its 200 steps take far longer than a re-grid).
  await page.selectOption("#bits", "2");
  await page.waitForFunction(() => document.getElementById("app").dataset.weightsBits === "2", null, {
    timeout: 10_000,
  });
  const during = await page.evaluate(() => ({ ...document.getElementById("app").dataset }));
  assert.match(await page.textContent("#quant"), /INT2 \(symmetric: ternary, 3 levels\)/);
  await waitForState(page, ["done"], 60_000);
  assert.equal(await page.getAttribute("#app", "data-weights-bits"), "2");
  assert.notEqual(during.state, "done", "the re-grid came before the new run ended");
  assert.deepEqual(errors, []);
  await page.close();
});

test("on WebGPU a PTQ run uses the reference rounding and says so", async () => {
  const { page, errors } = await open(
    browser,
    srv.base,
    "?v=1&task=digits&w=32&d=2&bs=64&steps=3&bits=4&qgran=group&qgs=16&backend=webgpu",
  );
  const data = await waitForState(page, ["done", "failed", "diverged"], 120_000);
  assert.equal(data.state, "done", errors.join(" | "));
  assert.equal(data.backend, "webgpu");
  await page.waitForFunction(() => /quantized/.test(document.getElementById("quant").textContent), null, {
    timeout: 30_000,
  });
  const text = await page.textContent("#quant");
  assert.match(text, /fake quantization/, text);
  assert.doesNotMatch(text, /Burn stores it/, text);
  assert.deepEqual(errors, []);
  await page.close();
});
