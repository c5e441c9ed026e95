// The transformer in the page (#13): a small model on a sequence task trains on WebGPU and on the
// CPU backend from the same link and reaches the same losses; its knobs are controls of the page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState } from "./harness.mjs";

let srv, browser;
before(async () => {
  srv = await serve();
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  srv?.server.close();
});

const num = (s) => Number.parseFloat(s);

test("a small transformer gives the same losses on WebGPU and on the CPU", async () => {
  // Few steps: the software adapter here needs about half a second a step.
  const q = "?v=1&task=reverse&w=16&d=1&heads=2&ctx=8&seqlen=4&syms=6&n=64&bs=16&steps=11&lr=0.003";
  const seen = {};
  for (const backend of ["webgpu", "cpu"]) {
    const { page, errors } = await open(browser, srv.base, `${q}&backend=${backend}`);
    const data = await waitForState(page, ["done", "failed", "diverged"], 300_000);
    assert.equal(data.state, "done", errors.join(" | "));
    assert.equal(data.backend, backend);
    assert.equal(data.step, "11");
    seen[backend] = [num(data.firstVal), num(data.lastVal)];
    if (backend === "cpu") {
      // The transformer's knobs are the page's controls, filled from the link.
      assert.equal(await page.inputValue("#heads"), "2");
      assert.equal(await page.inputValue("#model"), "auto");
      assert.equal(await page.isVisible("#fig-boundary"), false, "no decision boundary for sequences");
      assert.match(await page.textContent("#progress"), /step 11 \/ 11/);
    }
    assert.deepEqual(errors, []);
    await page.close();
  }
  // Same seed, same data and init on both devices: f32 kernels differ only in rounding.
  for (const i of [0, 1]) {
    const [g, c] = [seen.webgpu[i], seen.cpu[i]];
    assert.ok(Math.abs(g - c) <= 1e-3 * c, `WebGPU ${g} vs CPU ${c}`);
  }
  assert.ok(seen.cpu[1] < seen.cpu[0], `and the loss falls: ${seen.cpu}`);
});

test("LoRA adapts the transformer in the page and its views show what it learned", async () => {
  const q =
    "?v=1&backend=cpu&task=reverse&w=32&d=1&heads=3&ctx=8&seqlen=4&syms=6&n=128&bs=32&steps=40&asteps=40" +
    "&lr=0.003&r=2&target=q,v";
  const { page, errors } = await open(browser, srv.base, q);
  const data = await waitForState(page, ["done", "failed", "diverged"], 120_000);
  assert.equal(data.state, "done", errors.join(" | "));
  // A bad value is explained and replaced; LoRA itself runs.
  const messages = await page.textContent("#messages");
  assert.match(messages, /w=32 is not a multiple of heads=3: choose heads dividing the width; using 4/);
  assert.doesNotMatch(messages, /LoRA/);
  assert.equal(await page.inputValue("#heads"), "4");
  assert.match(await page.textContent("#adapt"), /block\.0\.attn\.q/);
  // The end of the run: ΔW spectra of the two adapted layers, the accuracy and stability chart,
  // one head's pattern and the answers (as text, one line per validation example).
  await page.waitForSelector("#fig-spectrum:not([hidden])", { timeout: 30_000 });
  for (const fig of ["#fig-attn", "#fig-seq", "#fig-answers"]) {
    assert.equal(await page.isVisible(fig), true, fig);
  }
  const answers = (await page.textContent("#seq-answers")).split("\n");
  assert.equal(answers.length, 4);
  for (const line of answers) assert.match(line, /^[✓✗] .* \| +→ .+\(right: .+\)$/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the char LM trains in the page and writes a sample", async () => {
  const q = "?v=1&backend=cpu&task=text&w=32&d=1&heads=2&ctx=32&n=256&bs=16&steps=20&lr=0.003";
  const { page, errors } = await open(browser, srv.base, q);
  const data = await waitForState(page, ["done", "failed", "diverged"], 120_000);
  assert.equal(data.state, "done", errors.join(" | "));
  // The live sample shows while it trains; the final one comes with the end-of-run readback.
  await page.waitForFunction(
    () => /when the run ends/.test(document.getElementById("answers-caption").textContent),
    null,
    { timeout: 30_000 },
  );
  const sample = await page.textContent("#seq-answers");
  const [prompt, written] = sample.split("│");
  assert.equal([...prompt].length, 24, sample);
  assert.equal([...written].length, 160, sample);
  assert.match(await page.textContent("#answers-caption"), /temperature 1 when the run ends \(step 20\)/);
  assert.ok(num(data.lastVal) < num(data.firstVal), `the loss falls: ${data.firstVal} → ${data.lastVal}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the char LM writes its sample live while it trains", async () => {
  const q = "?v=1&backend=cpu&task=text&w=32&d=1&heads=2&ctx=32&n=256&bs=16&steps=5000&lr=0.003";
  const { page, errors } = await open(browser, srv.base, q);
  await page.waitForSelector("#fig-answers:not([hidden])", { timeout: 60_000 });
  assert.match(await page.textContent("#answers-caption"), /^Live: .*\(steps? \d+(–\d+)?\)/);
  const written = async () => (await page.textContent("#seq-answers")).split("│")[1];
  const first = await written();
  assert.ok([...first].length > 0 && [...first].length <= 160, first);
  // The next refresh writes more characters with the weights of later steps, or, once the sample
  // is whole (160), starts a new one.
  await page.waitForFunction(
    (old) => document.getElementById("seq-answers").textContent.split("│")[1] !== old,
    first,
    { timeout: 30_000 },
  );
  const next = await written();
  if ([...next].length > [...first].length) {
    assert.ok(next.startsWith(first), `a live sample grows, it is not redrawn: ${first} → ${next}`);
  } else {
    assert.equal([...first].length, 160, `only a whole sample starts over: ${first} → ${next}`);
    assert.equal([...next].length, 16);
  }
  const data = await page.evaluate(() => ({ ...document.getElementById("app").dataset }));
  assert.equal(data.state, "running");
  await page.click("#pause");
  await waitForState(page, "paused", 5_000);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the attention pattern and the answers update while the transformer trains", async () => {
  const q = "?v=1&backend=cpu&task=reverse&w=32&d=1&heads=2&ctx=8&seqlen=4&syms=6&n=128&bs=32&steps=5000&lr=0.003";
  const { page, errors } = await open(browser, srv.base, q);
  await page.waitForSelector("#fig-attn:not([hidden])", { timeout: 60_000 });
  const data = await page.evaluate(() => ({ ...document.getElementById("app").dataset }));
  assert.equal(data.state, "running", "the views appear before the run ends");
  assert.ok(Number(data.step) < 5000);
  assert.equal((await page.textContent("#seq-answers")).split("\n").length, 4);
  await page.click("#pause");
  await waitForState(page, "paused", 5_000);
  assert.deepEqual(errors, []);
  await page.close();
});
