// LoRA in the page: the rank-staircase preset on WebGPU, the adaptation readouts and spectrum, the
// preset gallery, and a pre-train → adapt run on the CPU backend.
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

const num = (s) => Number.parseFloat(s);


test("the rank staircase preset runs on WebGPU and draws its chart", async () => {
  const { page: gallery } = await open(browser, srv.base, "?v=1&backend=cpu&steps=1");
  const link = await presetLink(gallery, "e1", {
    backend: "webgpu",
    steps: "6",
    n: "256",
    bs: "64",
    sweep: "r:0,1,2,4",
  });
  await gallery.close();
  const { page, errors } = await open(browser, srv.base, link);
  const data = await waitForState(page, ["done", "failed", "diverged"], 400_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(data.backend, "webgpu");
  assert.equal(data.staircase, "1", "a rank sweep is drawn as the staircase");
  assert.equal(await page.isVisible("#fig-sweep"), true);
  assert.match(await page.textContent("#sweep-caption"), /Eckart–Young/);
  assert.ok((await colouredPixels(page, "sweep-canvas")) > 120, "staircase has its curves");
  assert.ok((await colouredPixels(page, "loss-canvas")) > 200, "one loss curve per rank");
  assert.equal(await page.isVisible("#fig-boundary"), false, "no decision boundary for a regression");
  assert.equal(await page.locator("#runs-table tbody tr").count(), 4);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a LoRA run shows what trains, γ, and the learned ΔW's spectrum", async () => {
  const { page, errors } = await open(
    browser,
    srv.base,
    "?v=1&backend=cpu&task=planted&n=1024&bs=128&steps=400&lr=0.01&r=8&alpha=16",
  );
  const data = await waitForState(page, ["done", "failed", "diverged"], 120_000);
  assert.equal(data.state, "done", errors.join(" | "));
  const adapt = await page.textContent("#adapt");
  assert.match(adapt, /LoRA r=8, γ = α\/r = 2 on readout/, adapt);
  assert.match(adapt, /1024 of 4096 parameters train \(25\.00 %\)/, adapt);
  // The spectra come with the end-of-run readback, a message after the last step's.
  await page.waitForSelector("#fig-spectrum:not([hidden])", { timeout: 30_000 });
  assert.ok((await colouredPixels(page, "spectrum-canvas")) > 50);
  // The planted-task knobs are shown for the planted task (and only there).
  assert.equal(await page.isVisible("#planted-knobs"), true);
  assert.equal(await page.inputValue("#r"), "8");
  assert.ok(num(data.lastVal) < 0.05 * num(data.firstVal), `${data.firstVal} → ${data.lastVal}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the gallery lists every preset, and a preset link states its claim", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&task=spiral&steps=100&r=4&asteps=100");
  await page.waitForSelector("#preset-list li");
  assert.ok((await page.locator("#preset-list li").count()) >= 6);
  const dupes = await page.evaluate(() => {
    const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
    return ids.filter((id, i) => ids.indexOf(id) !== i);
  });
  assert.deepEqual(dupes, [], "every id (a link key for controls) is unique");
  assert.equal(await page.isVisible("#planted-knobs"), false);
  const data = await waitForState(page, ["done", "failed", "diverged"], 120_000);
  assert.equal(data.state, "done", errors.join(" | "));
  // 100 steps of pre-training, then 100 of adaptation to the rotated spirals.
  assert.equal(data.step, "200");
  assert.equal(await page.isVisible("#fig-boundary"), true);
  assert.match(await page.textContent("#adapt"), /LoRA r=4, .* 1552 of 8642 parameters train/);
  assert.equal(await page.isVisible("#preset-note"), false, "not a preset");
  // A preset opens in the page (no reload: the module and the backend stay) and runs.
  await page.evaluate(() => { window.__samePage = true; });
  const before = Number(await page.getAttribute("#app", "data-generation"));
  await page.click('#preset-list a[data-preset="ft-spiral"]');
  await page.waitForFunction(() => !document.getElementById("preset-note").hidden, null, { timeout: 30_000 });
  assert.match(await page.textContent("#preset-note"), /What you should see/);
  assert.equal(await page.evaluate(() => window.__samePage), true, "the page did not reload");
  assert.ok(Number(await page.getAttribute("#app", "data-generation")) > before, "the preset's run started");
  // The preset spells out defaults; the page writes links with defaults omitted, and keeps the
  // view the person chose (here the CPU backend).
  assert.match(page.url(), /\?v=1&r=4&backend=cpu$/);
  // Changing a knob makes it a new experiment: the claim no longer applies.
  await page.fill("#alpha", "32");
  await page.dispatchEvent("#alpha", "change");
  await page.waitForFunction(() => document.getElementById("preset-note").hidden, null, { timeout: 10_000 });
  assert.match(page.url(), /alpha=32/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("bad LoRA values in a link are explained and replaced", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&steps=20&r=-2&scale=%3Cb%3Ex&target=9");
  await waitForState(page, ["done", "failed", "diverged"], 60_000);
  const msgs = await page.textContent("#messages");
  assert.match(msgs, /r: '-2' is not a whole number/);
  assert.match(msgs, /unknown LoRA scale rule '<b>x'/);
  assert.match(msgs, /layer 9 does not exist/);
  assert.equal(await page.locator("#messages b").count(), 0, "user text is never HTML");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a LoRA link replays the same losses on WebGPU and on the CPU", async () => {
  // Seeded adapters (not the device RNG), so both backends start from the same A.
  const q = "?v=1&task=planted&dim=16&pr=2&n=256&bs=64&steps=12&lr=0.01&r=2";
  const last = {};
  for (const backend of ["webgpu", "cpu"]) {
    const { page, errors } = await open(browser, srv.base, `${q}&backend=${backend}`);
    const data = await waitForState(page, ["done", "failed", "diverged"], 300_000);
    assert.equal(data.state, "done", errors.join(" | "));
    assert.equal(data.backend, backend);
    last[backend] = [num(data.firstVal), num(data.lastVal)];
    await page.close();
  }
  for (const i of [0, 1]) {
    const [g, c] = [last.webgpu[i], last.cpu[i]];
    assert.ok(Math.abs(g - c) <= 1e-3 * c, `WebGPU ${g} vs CPU ${c}`);
  }
  assert.ok(last.cpu[1] < last.cpu[0], "and the loss falls");
});
