// The built page in real headless Chromium: backend choice, training, links, hostile input.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { serve, launch, open, waitForState, waitForNewRun, waitRunnerFrames, animationFrames, colouredPixels, countGpuWork, download, downloadBytes, curves, DIST } from "./harness.mjs";

let srv, browser, noGpuBrowser;
before(async () => {
  srv = await serve();
  browser = await launch({ webgpu: true });
  noGpuBrowser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
  await noGpuBrowser?.close();
  srv?.server.close();
});

const num = (s) => Number.parseFloat(s);

// A page not yet at any address (routes and init scripts go on first), without the service
// worker, with its page errors collected.
async function blankPage() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, serviceWorkers: "block" });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  return { page, errors };
}

test("forced WebGPU trains a few steps, names the adapter, and draws the chart", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=webgpu&steps=8&w=16&d=1&lr=0.05&bs=256");
  const data = await waitForState(page, ["done", "failed", "diverged"], 240_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(data.backend, "webgpu");
  const status = await page.textContent("#status");
  assert.match(status, /WebGPU — \S+/, status);
  assert.equal(data.step, "8");
  assert.ok(num(data.lastVal) < num(data.firstVal), `val loss ${data.firstVal} → ${data.lastVal}`);
  assert.ok((await colouredPixels(page, "loss-canvas")) > 200, "loss chart has curves");
  assert.ok((await colouredPixels(page, "boundary-canvas")) > 2000, "boundary has regions");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a CSV chosen in the file input trains task=table, rides in the link and draws its boundary; a bad file is named by its line (#35)", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&task=xor&w=8&d=1&steps=20");
  await waitForState(page, ["done", "failed", "diverged"], 60_000);
  let csv = "u,v,ring\n";
  for (let i = 0; i < 80; i++) {
    const r = i % 2 ? 3 : 1;
    csv += `${(10 + r * Math.cos(i * 2.399)).toFixed(3)},${(-5 + r * Math.sin(i * 2.399)).toFixed(3)},${i % 2 ? "outer" : "inner"}\n`;
  }
  await page.setInputFiles("#data-file", { name: "rings.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.waitForFunction(() => location.search.includes("task=table") && location.search.includes("data=z."));
  const data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", await page.textContent("#messages"));
  assert.equal(await page.isHidden("#fig-boundary"), false, "two features and classes: the boundary");
  // The link alone replays the data in a fresh page.
  const link = await page.evaluate(() => location.search);
  const again = await open(browser, srv.base, link);
  const replay = await waitForState(again.page, ["done", "failed", "diverged"], 60_000);
  assert.equal(replay.state, "done", await again.page.textContent("#messages"));
  assert.equal(await again.page.inputValue("#task"), "table");
  await again.page.close();
  // A ragged file: named by its line, and the study stays.
  await page.setInputFiles("#data-file", { name: "ragged.csv", mimeType: "text/csv", buffer: Buffer.from("a,b,c\n1,2,0\n3,4\n") });
  await page.waitForFunction(() => document.getElementById("messages").textContent.includes("line 3 has 2 columns"));
  assert.equal(await page.evaluate(() => location.search), link);
  assert.deepEqual(errors, []);
  await page.close();
});

// A table far past what a link holds inline (6,000 characters: a few hundred points).
function bigCsv() {
  let csv = "x,y,c\n";
  for (let i = 0; i < 3000; i++) csv += `${i}.5,${i * 7}.25,${i % 3}\n`;
  return csv;
}

// Drops a file on the page as a person would drag it there.
async function dropFile(page, name, text) {
  const transfer = await page.evaluateHandle(([name, text]) => {
    const t = new DataTransfer();
    t.items.add(new File([text], name, { type: "text/plain" }));
    return t;
  }, [name, text]);
  await page.dispatchEvent("body", "drop", { dataTransfer: transfer });
}

test("data too large for a link stays in this browser under its hash; elsewhere its link waits for the file, dropped on the page; the experiment file opens it anywhere (#35)", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&task=xor&w=8&d=1&steps=20");
  await waitForState(page, ["done", "failed", "diverged"], 60_000);
  const big = bigCsv();
  const generation = () => page.evaluate(() => document.getElementById("app").dataset.generation);
  let g = await generation();
  await page.setInputFiles("#data-file", { name: "big.csv", mimeType: "text/csv", buffer: Buffer.from(big) });
  await page.waitForFunction(() => location.search.includes("task=table") && location.search.includes("data=h."));
  let data = await waitForNewRun(page, g, 60_000);
  assert.equal(data.state, "done", await page.textContent("#messages"));
  const link = await page.evaluate(() => location.search);
  // Kept: a reload of the same link runs it, with nothing to say.
  const hash = new URLSearchParams(link).get("data").slice(2);
  await page.waitForFunction(async (hash) => {
    const db = await new Promise((ok, no) => {
      const r = indexedDB.open("tinytune");
      r.onsuccess = () => ok(r.result);
      r.onerror = () => no(r.error);
    });
    if (!db.objectStoreNames.contains("bodies")) return false;
    const got = await new Promise((ok) => {
      const r = db.transaction("bodies").objectStore("bodies").get(hash);
      r.onsuccess = () => ok(r.result);
      r.onerror = () => ok(undefined);
    });
    db.close();
    return typeof got === "string" && got.startsWith("z.");
  }, hash, { polling: 100 });
  await page.reload();
  data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", await page.textContent("#messages"));
  assert.equal(await page.evaluate(() => location.search), link);
  assert.equal((await page.textContent("#messages")).trim(), "");
  // The experiment + data file, saved here.
  const file = await download(page, "#download-experiment");
  assert.ok(file.startsWith("# tinytune experiment") && file.includes("data=z."), file.slice(0, 200));

  // Another browser (a fresh context: no storage): the link says so and waits for its file.
  const other = await open(browser, srv.base, link);
  await other.page.waitForFunction(() => document.getElementById("messages").textContent.includes("kept in the browser that made it"));
  g = await other.page.evaluate(() => document.getElementById("app").dataset.generation);
  await dropFile(other.page, "big.csv", big);
  await other.page.waitForFunction((l) => location.search === l, link);
  data = await waitForNewRun(other.page, g, 60_000);
  assert.equal(data.state, "done", await other.page.textContent("#messages"));
  await other.page.close();

  // The experiment file in a fresh page, through the file input: the same link, and it trains.
  const third = await open(browser, srv.base, "?v=1&backend=cpu&steps=5");
  g = (await waitForState(third.page, ["done", "failed", "diverged"], 60_000)).generation;
  await third.page.setInputFiles("#data-file", { name: "tinytune-experiment.tinytune", mimeType: "text/plain", buffer: Buffer.from(file) });
  await third.page.waitForFunction((l) => location.search === l, link);
  data = await waitForNewRun(third.page, g, 60_000);
  assert.equal(data.state, "done", await third.page.textContent("#messages"));
  assert.deepEqual([...errors, ...other.errors, ...third.errors], []);
  await third.page.close();
  await page.close();
});

test("clicks on the decision boundary add points of the chosen class, pasted points replace them, and a CSV's preview picks its target (#35)", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&task=moons&n=40&w=8&d=1&steps=10");
  let data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done");
  const box = await page.locator("#boundary-canvas").boundingBox();
  // Class 3, in the middle of the plane: the task's 40 training points and this one are yours.
  await page.selectOption("#point-class", "2");
  await page.click("#boundary-canvas", { position: { x: box.width / 2, y: box.height / 2 } });
  data = await waitForNewRun(page, data.generation, 60_000);
  assert.equal(data.ownRows, "41x3", await page.textContent("#messages"));
  assert.ok((await page.evaluate(() => location.search)).includes("task=table"));
  await page.selectOption("#point-class", "0");
  await page.click("#boundary-canvas", { position: { x: box.width * 0.8, y: box.height * 0.3 } });
  data = await waitForNewRun(page, data.generation, 60_000);
  assert.equal(data.ownRows, "42x3");
  // A click in the margin is not on the plane: nothing changes.
  await page.click("#boundary-canvas", { position: { x: 2, y: 2 } });
  await animationFrames(page, 3);
  assert.equal((await page.evaluate(() => ({ ...document.getElementById("app").dataset }))).generation, data.generation);
  // Pasted points replace them.
  await page.fill("#data-paste", "0.1, 0.2, 0\n-0.3, 0.4, 1\n0.5, 0.5, 0\n-1, -1, 1\n0, 1, 0\n1, 0, 1\n");
  await page.click("#data-paste-use");
  data = await waitForNewRun(page, data.generation, 60_000);
  assert.equal(data.ownRows, "6x2");
  // A bad paste is named by its line.
  await page.fill("#data-paste", "1, 2, 0\n3\n");
  await page.click("#data-paste-use");
  await page.waitForFunction(() => document.getElementById("messages").textContent.includes("the pasted points: line 2"));
  // A CSV: its first rows shown, the target column chosen in the page.
  let csv = "size,price,kind\n";
  for (let i = 0; i < 60; i++) csv += `${i}.5,${(i * 37) % 101}.25,${i % 3}\n`;
  await page.setInputFiles("#data-file", { name: "shop.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  data = await waitForNewRun(page, data.generation, 60_000);
  assert.equal(await page.isHidden("#data-preview"), false);
  assert.equal(await page.locator("#preview-table tr").count(), 6, "the header and 5 rows");
  assert.equal(await page.textContent("#preview-table th.target-column"), "kind");
  assert.equal(data.ownRows, "60x3");
  await page.selectOption("#preview-target", "0");
  await page.selectOption("#preview-kind", "values");
  data = await waitForNewRun(page, data.generation, 60_000);
  assert.equal(data.ownRows, "60x0", "size, a regression on price and kind");
  assert.equal(await page.textContent("#preview-table th.target-column"), "size");
  assert.match(await page.textContent("#preview-summary"), /^shop\.csv: /);
  assert.deepEqual(errors, []);
  await page.close();
});

// The saved weights, loaded into a fresh page, score at the new run's first evaluation exactly
// what the saving run scores one step later (the CLI's tests/checkpoint.rs, in the browser).
for (const [family, query, steps] of [
  ["the MLP", "task=moons&w=16&d=2", 30],
  ["the transformer", "task=text&w=32&d=1&heads=2&ctx=16&bs=8", 12],
]) {
  test(`${family}'s weights download from the page and a run loaded with them goes on exactly where it stopped (#35)`, async () => {
    const base = `?v=1&backend=cpu&${query}`;
    const saving = await open(browser, srv.base, `${base}&steps=${steps}`);
    let data = await waitForState(saving.page, ["done", "failed", "diverged"], 120_000);
    assert.equal(data.state, "done", await saving.page.textContent("#messages"));
    await saving.page.waitForFunction(() => document.getElementById("app").dataset.weights === "1");
    const weights = await downloadBytes(saving.page, "#download-weights");
    assert.match(weights.name, /\.safetensors$/);
    const longer = await open(browser, srv.base, `${base}&steps=${steps + 1}`);
    data = await waitForState(longer.page, ["done", "failed", "diverged"], 120_000);
    assert.equal(data.state, "done");
    const next = (await curves(longer.page))[0].steps[steps].val_loss;
    // A fresh page of three steps, started from the file.
    const loaded = await open(browser, srv.base, `${base}&steps=3`);
    data = await waitForState(loaded.page, ["done", "failed", "diverged"], 120_000);
    const fresh = (await curves(loaded.page))[0].steps[0].val_loss;
    await loaded.page.setInputFiles("#weights-file", { name: weights.name, mimeType: "application/octet-stream", buffer: weights.buffer });
    data = await waitForNewRun(loaded.page, data.generation, 120_000);
    assert.equal(data.state, "done", await loaded.page.textContent("#messages"));
    assert.match(await loaded.page.textContent("#weights-status"), /Starting from tinytune-\w+\.safetensors/);
    const first = (await curves(loaded.page))[0].steps[0].val_loss;
    assert.equal(first, next, "the first evaluation from the weights is the saving run's next");
    assert.notEqual(fresh, next, "a run from its seed starts elsewhere");
    // Forgotten: back to the seed.
    const g = (await loaded.page.evaluate(() => ({ ...document.getElementById("app").dataset }))).generation;
    await loaded.page.click("#weights-forget");
    await waitForNewRun(loaded.page, g, 120_000);
    assert.equal((await curves(loaded.page))[0].steps[0].val_loss, fresh);
    assert.deepEqual([...saving.errors, ...longer.errors, ...loaded.errors], []);
    for (const p of [saving, longer, loaded]) await p.page.close();
  });
}

test("norms=1 draws every step's gradient and update norms (#31)", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&task=xor&w=8&d=1&steps=30&norms=1");
  const data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(await page.isHidden("#fig-gradnorm"), false, "the norms figure is shown");
  assert.ok((await colouredPixels(page, "gradnorm-canvas")) > 100, "the norms figure has its lines");
  assert.deepEqual(errors, []);
  await page.close();
});

test("matrix sensing (E11) trains its factors and draws the recovery error and M's singular values (#34)", async () => {
  const link = "?v=1&backend=cpu&task=sense&dim=10&pr=2&noise=0&n=100&bs=100&opt=sgd&lr=0.1&steps=300&fk=4&sweep=finit:0.01,1";
  const { page, errors } = await open(browser, srv.base, link);
  const data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(await page.isHidden("#fig-sensing"), false, "the sensing figure is shown");
  assert.ok((await colouredPixels(page, "sensing-canvas")) > 200, "the sensing figure has its lines");
  assert.equal(await page.isHidden("#planted-knobs"), false, "the sensing knobs are shown");
  // The JSON export keeps M's singular values at each evaluation: k = 4 of them, largest first,
  // and the recovery error falls from its start (the validation loss is its square).
  const runs = JSON.parse(await download(page, "#download-json"));
  assert.equal(runs.length, 2);
  for (const r of runs) {
    const evals = r.steps.filter((s) => s.val_loss !== null);
    assert.ok(evals.length >= 31, `${evals.length} evaluations`);
    for (const s of evals) {
      assert.equal(s.singular_values.length, 10);
      assert.ok(s.singular_values.every((v, i) => i === 0 || v <= s.singular_values[i - 1]), "largest first");
      assert.ok(s.singular_values.slice(4).every((v) => v < 1e-4 * s.singular_values[0]), "rank ≤ k = 4");
    }
    assert.ok(evals.at(-1).val_loss < 0.1 * evals[0].val_loss, `${evals[0].val_loss} → ${evals.at(-1).val_loss}`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test("a size sweep with seeds draws the scaling-law fit and the compute frontier (#34)", async () => {
  const link = "?v=1&backend=cpu&task=planted&dim=16&pr=16&sv=pow&n=512&bs=128&steps=40&lr=0.01&sweep=r:1,2,4,8;seed:1,2";
  const { page, errors } = await open(browser, srv.base, link);
  const data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(await page.isHidden("#fig-scaling"), false, "the scaling figure is shown");
  assert.ok((await colouredPixels(page, "scaling-canvas")) > 300, "the scaling figure has its fit and curves");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a sweep over width and data with seeds draws one law L(N, D) and saves it as the main figure (#34)", async () => {
  const link = "?v=1&backend=cpu&task=digits&d=1&bs=64&steps=30&lr=0.01&metric=best&sweep=w:4,8,16,32;n:100,200,400;seed:1,2";
  const { page, errors } = await open(browser, srv.base, link);
  const data = await waitForState(page, ["done", "failed", "diverged"], 90_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(await page.isHidden("#fig-scaling"), false, "the scaling figure is shown");
  // Its blues are light where a few seeds' dots overlap: fewer saturated pixels than the red fit's.
  assert.ok((await colouredPixels(page, "scaling-canvas")) > 100, "the figure has its points and curves");
  // The main figure (before the two knobs' heatmap) is the joint law, with both exponents.
  const svg = await download(page, "#download-svg");
  for (const text of ["fit: L = E + A·N^−α + B·D^−β", "β = ", "fit without N = ", "training examples D"]) {
    assert.ok(svg.includes(text), text);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test("pruning (E13) scores the cut model on the CPU and on WebGPU alike and draws its figure (#34)", async () => {
  // Few steps: SwiftShader is slow. The thresholds are bisected on the device with no readback,
  // so WebGPU must give the CPU's losses (float32 sums in another order: within 1e-3).
  const link = "&task=digits&w=16&d=1&bs=64&steps=6&lr=0.003&r=0&asteps=6&shift=rot&prune=1";
  const scores = {};
  for (const backend of ["cpu", "webgpu"]) {
    const { page, errors } = await open(browser, srv.base, `?v=1&backend=${backend}${link}`);
    const data = await waitForState(page, ["done", "failed", "diverged"], 90_000);
    assert.equal(data.state, "done", `${backend}: state ${data.state}; errors: ${errors.join(" | ")}`);
    assert.equal(await page.isHidden("#fig-pruning"), false, `${backend}: the pruning figure is shown`);
    assert.ok((await colouredPixels(page, "pruning-canvas")) > 300, `${backend}: the figure has its curves`);
    const [run] = JSON.parse(await download(page, "#download-json"));
    assert.deepEqual(run.pruning.sparsity.length, 8);
    assert.deepEqual(Object.keys(run.pruning.val_loss).sort(), ["dare", "delta", "drop", "global", "layer", "random"]);
    scores[backend] = run.pruning.val_loss;
    assert.deepEqual(errors, []);
    await page.close();
  }
  for (const [method, losses] of Object.entries(scores.cpu)) {
    losses.forEach((l, i) => {
      const w = scores.webgpu[method][i];
      assert.ok(Math.abs(w - l) <= 1e-3 * Math.max(1, Math.abs(l)), `${method}[${i}]: WebGPU ${w} vs CPU ${l}`);
    });
  }
});

test("intrinsic dimension (E10): a sweep mixing a subspace, LoRA, biases and full training draws its figure; WebGPU trains a subspace as the CPU does (#34)", async () => {
  const link = "?v=1&backend=cpu&task=digits&w=16&d=1&bs=64&steps=60&lr=0.01&shift=none&sweep=r:0,bias,2,sub50,sub200";
  const { page, errors } = await open(browser, srv.base, link);
  const data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(await page.isHidden("#fig-intrinsic"), false, "the intrinsic-dimension figure is shown");
  // The legend's three coloured swatches alone colour about 110 pixels of the small canvas.
  assert.ok((await colouredPixels(page, "intrinsic-canvas")) > 160, "the figure has its curves");
  assert.equal(await page.isHidden("#fig-scaling"), true, "no scaling law through mixed kinds");
  // The validation accuracy crosses from the worker: every run has one in [0, 1], and full
  // training beats 50 directions.
  const runs = JSON.parse(await download(page, "#download-json"));
  assert.equal(runs.length, 5);
  for (const r of runs) {
    const acc = r.final_val_acc;
    assert.ok(typeof acc === "number" && acc >= 0 && acc <= 1, `${JSON.stringify(r.knobs)}: ${acc}`);
  }
  assert.ok(runs[0].final_val_acc > runs[3].final_val_acc, `full ${runs[0].final_val_acc} vs d = 50 ${runs[3].final_val_acc}`);
  assert.deepEqual(errors, []);
  await page.close();
  // One z in every tensor, updated by the GPU's fused Adam and tied: the CPU's curve.
  const curves = {};
  for (const backend of ["cpu", "webgpu"]) {
    const one = `?v=1&backend=${backend}&task=digits&w=16&d=1&bs=64&steps=6&lr=0.01&shift=none&r=sub64`;
    const { page, errors } = await open(browser, srv.base, one);
    const data = await waitForState(page, ["done", "failed", "diverged"], 90_000);
    assert.equal(data.state, "done", `${backend}: state ${data.state}; errors: ${errors.join(" | ")}`);
    const [run] = JSON.parse(await download(page, "#download-json"));
    curves[backend] = run.steps.map((s) => s.train_loss);
    assert.deepEqual(errors, []);
    await page.close();
  }
  curves.cpu.forEach((l, i) => {
    const w = curves.webgpu[i];
    assert.ok(Math.abs(w - l) <= 1e-3 * Math.max(1, Math.abs(l)), `step ${i}: WebGPU ${w} vs CPU ${l}`);
  });
  assert.ok(curves.cpu.at(-1) < curves.cpu[0], `the subspace learns: ${curves.cpu}`);
});

test("the gradient noise scale (E6) crosses from the worker and draws B_simple against the loss (#34)", async () => {
  const link = "?v=1&backend=cpu&task=digits&w=32&d=1&bs=64&steps=60&lr=0.003&gns=1";
  const { page, errors } = await open(browser, srv.base, link);
  const data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(await page.isHidden("#fig-noisescale"), false, "the noise-scale figure is shown");
  assert.ok((await colouredPixels(page, "noisescale-canvas")) > 100, "the figure has its curve");
  const [run] = JSON.parse(await download(page, "#download-json"));
  assert.equal(run.steps.length, 60);
  for (const s of run.steps) {
    assert.deepEqual([s.grad_sq.b_small, s.grad_sq.b_big], [16, 64]);
    assert.ok(s.grad_sq.small > 0 && s.grad_sq.big > 0, JSON.stringify(s.grad_sq));
  }
  assert.ok(typeof run.noise_scale === "number" && run.noise_scale > 0, `${run.noise_scale}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a batch sweep on the planted stream draws the critical batch; its target loss redraws without training (#34)", async () => {
  const link = "?v=1&backend=cpu&task=planted&dim=32&pr=4&noise=0.5&n=256&stream=1&r=0&opt=sgd&steps=60&gns=1&reach=0.35&sweep=bs:8,32,128;lr:1,4";
  const { page, errors } = await open(browser, srv.base, link);
  const data = await waitForState(page, ["done", "failed", "diverged"], 90_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(await page.isHidden("#fig-critical"), false, "the critical-batch figure is shown");
  assert.ok((await colouredPixels(page, "critical-canvas")) > 100, "the figure has its points and law");
  const runs = JSON.parse(await download(page, "#download-json"));
  assert.equal(runs.length, 6);
  for (const r of runs) {
    // A stream is evaluated every step: the steps to a loss are not rounded to tens.
    assert.equal(r.steps.length, 60);
    assert.ok(r.steps.every((s) => typeof s.val_loss === "number"), JSON.stringify(r.knobs));
  }
  // An unreachable target: nothing to draw, and no new training (a view key).
  await page.fill("#reach", "0.0001");
  await page.dispatchEvent("#reach", "change");
  await page.waitForFunction(() => document.getElementById("fig-critical").hidden, null, { timeout: 10_000 });
  assert.equal(await page.evaluate(() => document.getElementById("app").dataset.generation), data.generation);
  assert.match(await page.evaluate(() => location.search), /&reach=0\.0001/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a steady WebGPU step uploads nothing: no writeBuffer a step once the run is going (#15)", async (t) => {
  // The batch indices of the phase, Adam's step count and every launch's metadata reach the
  // device in the first two steps (the second is the first with optimizer state); after that a
  // step only dispatches. The counts are of the worker's calls, whatever the adapter. CubeCL
  // uploads a launch's metadata whenever it meets words it has not cached, and what meets in one
  // fusion flush depends on timing (the boundary grid's forward rides along at most every
  // 250 ms): now and then one write comes at the first steady evaluation (the readings at step 9
  // or 10, the worker a round ahead), and no other in the window. So the window is 20 steps, two
  // evaluations included, and it may hold that one-off, never a write a step (Burn's Adam wrote 5
  // a step: 100 here).
  const { page, errors } = await blankPage();
  const counts = await countGpuWork(page);
  // The reference MLP at batch 64 (its indices are views of one upload), long enough that the
  // run is still going at the second reading on any adapter.
  await page.goto(srv.base + "?v=1&backend=webgpu&steps=400");
  const at = async (n) => {
    await page.waitForFunction(
      (n) => {
        const d = document.getElementById("app").dataset;
        return Number(d.step || 0) >= n || ["done", "failed", "diverged"].includes(d.state);
      },
      n,
      { timeout: 240_000, polling: 20 },
    );
    const d = await page.evaluate(() => ({ ...document.getElementById("app").dataset }));
    return { step: Number(d.step), state: d.state, ...(await counts()) };
  };
  const a = await at(4);
  // A reading at every step the page shows, so a write is placed (the worker may be a step ahead).
  const readings = [a];
  while (readings.at(-1).step < a.step + 20 && readings.at(-1).state === "running") {
    readings.push(await at(readings.at(-1).step + 1));
  }
  const b = readings.at(-1);
  assert.equal(b.state, "running", `the run ended before the second reading: ${JSON.stringify(b)}; ${errors.join(" | ")}`);
  assert.ok(b.step > a.step && b.dispatch > a.dispatch, `steps and dispatches went on: ${JSON.stringify([a, b])}`);
  const writes = b.write - a.write;
  const where = readings.filter((r, i) => i > 0 && r.write > readings[i - 1].write).map((r) => r.step);
  t.diagnostic(`writeBuffer calls over steps ${a.step}–${b.step}: ${writes} (by the readings at steps ${where.join(", ") || "none"})`);
  assert.ok(writes <= 1, `writeBuffer calls over steps ${a.step}–${b.step}: ${JSON.stringify(readings)}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the module arrives compressed and compiles while it streams (#15)", async () => {
  const page = await noGpuBrowser.newPage({ serviceWorkers: "block" });
  // Which way the glue compiled the module: streaming from the response, or from a whole buffer.
  await page.addInitScript(() => {
    window.__compiled = [];
    const streaming = WebAssembly.instantiateStreaming;
    WebAssembly.instantiateStreaming = function (source, imports) {
      window.__compiled.push("streaming");
      return streaming.call(this, source, imports);
    };
    const whole = WebAssembly.instantiate;
    WebAssembly.instantiate = function (source, imports) {
      if (!(source instanceof WebAssembly.Module)) window.__compiled.push("buffer");
      return whole.call(this, source, imports);
    };
  });
  const wasm = [];
  const texts = [];
  page.on("response", async (r) => {
    const path = new URL(r.url()).pathname;
    if (path.endsWith(".wasm")) wasm.push({ path, headers: await r.allHeaders(), sizes: r.request().sizes() });
    if (path.startsWith("/text/")) texts.push({ path, status: r.status(), headers: await r.allHeaders() });
  });
  await page.goto(srv.base + "?v=1&backend=cpu&steps=5");
  const data = await waitForState(page, "done");
  assert.equal(data.step, "5");
  assert.deepEqual(await page.evaluate(() => window.__compiled), ["streaming"]);
  assert.equal(wasm.length, 1, "the module is downloaded once (the worker gets it compiled)");
  assert.ok(!wasm[0].path.startsWith("/tinytune-webgpu-"), `the CPU path fetches no WebGPU module: ${wasm[0].path}`);
  const { headers } = wasm[0];
  assert.equal(headers["content-type"], "application/wasm");
  assert.ok(["br", "gzip"].includes(headers["content-encoding"]), `content-encoding ${headers["content-encoding"]}`);
  const { responseBodySize } = await wasm[0].sizes;
  const raw = fs.statSync(`${DIST}${wasm[0].path}`).size;
  assert.ok(responseBodySize > 0 && responseBodySize < raw / 3, `${responseBodySize} bytes sent for ${raw}`);
  // The char LM's texts are not in the module: fetched (compressed) only when a text run starts.
  assert.deepEqual(texts, [], "an MLP run downloads no texts");
  await page.goto(srv.base + "?v=1&backend=cpu&task=text&w=32&d=1&heads=2&ctx=32&n=256&bs=16&steps=3");
  const text = await waitForState(page, ["done", "failed"]);
  assert.equal(text.state, "done", await page.textContent("#messages"));
  assert.equal(new Set(texts.map((t) => t.path)).size, 8, JSON.stringify(texts.map((t) => t.path)));
  for (const t of texts) {
    assert.equal(t.status, 200, t.path);
    assert.equal(t.headers["content-encoding"], "br", t.path);
  }
  await page.close();
});

// Two modules (#15): the page's own has no WebGPU; a worker that is to train on WebGPU makes the
// page fetch the WebGPU module (compressed, compiled while it streams) and start a worker on it,
// which every later worker runs too: it is fetched and compiled once.
test("the WebGPU module is fetched only to train on WebGPU, once, compiled while it streams", async () => {
  const { page, errors } = await blankPage();
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.addInitScript(() => {
    window.__compiledStreaming = 0;
    const compile = WebAssembly.compileStreaming;
    WebAssembly.compileStreaming = function (source) {
      window.__compiledStreaming += 1;
      return compile.call(this, source);
    };
  });
  const fetched = [];
  page.on("response", async (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith("/tinytune-webgpu-")) fetched.push({ path, encoding: (await r.allHeaders())["content-encoding"] });
  });
  const runOn = async (backend) => {
    const before = await page.evaluate(() => document.getElementById("app").dataset.generation);
    await page.selectOption("#backend", backend);
    await page.waitForFunction(
      (g) => {
        const d = document.getElementById("app").dataset;
        return d.backendAsked === d.backendAnswered && Number(d.generation) > Number(g) && ["done", "failed"].includes(d.state);
      },
      before,
      { timeout: 240_000 },
    );
    return page.evaluate(() => ({ ...document.getElementById("app").dataset }));
  };
  await page.goto(srv.base + "?v=1&backend=cpu&steps=4&w=16&d=1&bs=256");
  await waitForState(page, "done");
  assert.deepEqual(fetched, [], "a CPU run fetches no WebGPU module");
  const gpu = await runOn("webgpu");
  assert.equal(gpu.state, "done", errors.join(" | "));
  assert.equal(gpu.backend, "webgpu");
  assert.equal(gpu.workers, "2", "the worker on the page's module was replaced by one on the WebGPU module");
  const wasm = fetched.filter((f) => f.path.endsWith("_bg.wasm"));
  assert.equal(wasm.length, 1, JSON.stringify(fetched));
  assert.equal(wasm[0].encoding, "br");
  assert.equal(await page.evaluate(() => window.__compiledStreaming), 1);
  // Back to the CPU and to WebGPU again: the worker on the WebGPU module has both backends.
  assert.equal((await runOn("cpu")).backend, "cpu");
  const again = await runOn("webgpu");
  assert.equal(again.backend, "webgpu");
  assert.equal(again.workers, "2");
  assert.equal(fetched.filter((f) => f.path.endsWith("_bg.wasm")).length, 1, "fetched once");
  assert.equal(await page.evaluate(() => window.__compiledStreaming), 1, "compiled once");
  assert.deepEqual(errors, []);
  await page.close();
});

// The page holds a newer backend choice until the current one answers; the WebGPU module's
// download is part of that answer.
test("choosing the CPU while the WebGPU module downloads ends on the CPU", async () => {
  const { page, errors } = await blankPage();
  let release;
  const held = new Promise((r) => (release = r));
  await page.route(/\/tinytune-webgpu-\w+_bg\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(srv.base + "?v=1&backend=cpu&steps=4&w=16&d=1&bs=256");
  const before = await waitForState(page, "done");
  const asked = page.waitForRequest(/\/tinytune-webgpu-\w+_bg\.wasm$/);
  await page.selectOption("#backend", "webgpu");
  await asked;
  await page.selectOption("#backend", "cpu");
  release();
  await page.waitForFunction(
    (g) => {
      const d = document.getElementById("app").dataset;
      return d.backendAsked === d.backendAnswered && Number(d.generation) > Number(g) && ["done", "failed"].includes(d.state);
    },
    before.generation,
    { timeout: 240_000 },
  );
  const data = await page.evaluate(() => ({ ...document.getElementById("app").dataset }));
  assert.equal(data.state, "done");
  assert.equal(data.backend, "cpu");
  assert.match(await page.evaluate(() => location.search), /backend=cpu/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a WebGPU module that cannot be fetched leaves the CPU, saying why", async () => {
  const { page, errors } = await blankPage();
  await page.route(/\/tinytune-webgpu-\w+_bg\.wasm$/, (route) => route.fulfill({ status: 404, body: "" }));
  await page.goto(srv.base + "?v=1&backend=webgpu&steps=5&w=16&d=1");
  const data = await waitForState(page, ["done", "failed"], 60_000);
  assert.equal(data.state, "done");
  assert.equal(data.backend, "cpu");
  assert.equal(data.step, "5");
  const status = await page.textContent("#status");
  assert.match(status, /the WebGPU module could not be loaded \(.*tinytune-webgpu-\w+_bg\.wasm: .+\); training on the CPU instead/, status);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a worker that cannot start on the WebGPU module leaves the CPU, without starting worker after worker", async () => {
  const { page } = await blankPage();
  // The module compiles on the page; the glue the worker imports is missing.
  await page.route(/\/tinytune-webgpu-\w+\.js$/, (route) => route.fulfill({ status: 404, body: "" }));
  await page.goto(srv.base + "?v=1&backend=webgpu&steps=5&w=16&d=1");
  const data = await waitForState(page, ["done", "failed"], 60_000);
  assert.equal(data.state, "done", await page.textContent("#messages"));
  assert.equal(data.backend, "cpu");
  assert.equal(data.step, "5");
  assert.equal(data.workers, "3", "the page's module, the WebGPU module that failed, the page's module again");
  assert.match(await page.textContent("#status"), /the WebGPU module could not be loaded \(the training worker could not start: .+\); training on the CPU instead/);
  await page.close();
});

test("auto mode avoids a software WebGPU adapter and says why", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&steps=150");
  const data = await waitForState(page, "done");
  const adapter = await page.evaluate(async () => {
    const a = await navigator.gpu?.requestAdapter();
    return a ? { fallback: a.info?.isFallbackAdapter ?? a.isFallbackAdapter ?? false } : null;
  });
  const status = await page.textContent("#status");
  if (adapter === null || adapter.fallback) {
    assert.equal(data.backend, "cpu", status);
    assert.match(status, /CPU .*(software fallback|no adapter|no WebGPU)/, status);
    // The CPU needs no other module: the worker the page started trains.
    assert.equal(data.workers, "1");
    assert.ok(
      !(await page.evaluate(() => performance.getEntriesByType("resource").some((e) => /tinytune-webgpu-/.test(e.name)))),
      "no WebGPU module fetched",
    );
  } else {
    assert.equal(data.backend, "webgpu", status);
  }
  assert.ok(num(data.lastVal) < 0.8 * num(data.firstVal), `val loss ${data.firstVal} → ${data.lastVal}`);
  assert.ok(num(data.stepsPerS) > 0, "speed is shown");
  assert.match(await page.textContent("#speed"), /steps\/s/);
  assert.ok((await colouredPixels(page, "loss-canvas")) > 200);
  assert.deepEqual(errors, []);
  await page.close();
});

test("without WebGPU the page trains on the CPU and says so", async () => {
  const { page, errors } = await open(noGpuBrowser, srv.base, "?v=1&steps=60&task=xor");
  const data = await waitForState(page, "done");
  assert.equal(data.backend, "cpu");
  assert.match(await page.textContent("#status"), /CPU .*(no WebGPU|no adapter)/);
  assert.ok(num(data.lastVal) < num(data.firstVal));
  assert.deepEqual(errors, []);
  await page.close();
});

test("a link restores every control, replays the same curve, and follows changes", async () => {
  const query = "v=1&task=moons&n=128&w=32&d=2&act=tanh&opt=sgd&lr=0.05&bs=32&steps=40&seed=7&backend=cpu&ylog=0";
  const first = await open(browser, srv.base, "?" + query);
  const a = await waitForState(first.page, "done");
  const controls = await first.page.evaluate(() =>
    Object.fromEntries(
      ["task", "n", "w", "d", "act", "opt", "lr", "bs", "steps", "seed", "backend"].map((id) => [
        id,
        document.getElementById(id).value,
      ]).concat([["ylog", document.getElementById("ylog").checked]]),
    ),
  );
  assert.deepEqual(controls, {
    task: "moons", n: "128", w: "32", d: "2", act: "tanh", opt: "sgd", lr: "0.05", bs: "32",
    steps: "40", seed: "7", backend: "cpu", ylog: false,
  });
  assert.equal(await first.page.evaluate(() => location.search), "?" + query, "the link round-trips");

  const second = await open(browser, srv.base, "?" + query);
  const b = await waitForState(second.page, "done");
  assert.equal(b.lastVal, a.lastVal, "same link, same backend → same curve");
  assert.equal(b.firstLoss, a.firstLoss);

  await second.page.selectOption("#task", "xor");
  await second.page.fill("#w", "48");
  await second.page.dispatchEvent("#w", "change");
  const search = await second.page.evaluate(() => location.search);
  assert.match(search, /task=xor/);
  assert.match(search, /w=48/);
  // The change restarted the run: a later generation trains to the end on the new task.
  const c = await waitForNewRun(second.page, b.generation);
  assert.notEqual(c.firstLoss, b.firstLoss, "a new curve for the new task");
  assert.equal(await second.page.textContent("#params"), "2594 parameters", "the 2→48→48→2 MLP");
  assert.deepEqual([...first.errors, ...second.errors], []);
  await first.page.close();
  await second.page.close();
});

test("pause stops training mid-run and resume continues", async () => {
  const { page } = await open(browser, srv.base, "?v=1&backend=cpu&steps=100000");
  await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) > 20, null, { timeout: 60_000 });
  await page.click("#pause");
  await waitForState(page, "paused", 5_000);
  // A frame already in flight when Pause was pressed may still land; once the runner has begun
  // two more frames it has seen the pause, and over the next twenty nothing may move.
  await waitRunnerFrames(page, 2);
  const step = () => page.evaluate(() => document.getElementById("app").dataset.step);
  const paused = { step: await step() };
  await waitRunnerFrames(page, 20);
  assert.equal(await step(), paused.step, "no steps while paused");
  await page.click("#train-button");
  await page.waitForFunction((s) => Number(document.getElementById("app").dataset.step) > Number(s), paused.step, {
    timeout: 10_000,
  });
  await page.close();
});

test("a hostile link shows visible messages and runs no script", async () => {
  const hostile =
    "?v=1&w=abc&lr=-1&d=99&foo=bar&steps=30" +
    "&task=%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E" +
    "&%3Cimg%20src%3Dx%20onerror%3Dwindow.__pwned%3D2%3E=1";
  const { page, errors } = await open(browser, srv.base, hostile);
  const data = await waitForState(page, "done");
  const messages = await page.$$eval("#messages li", (lis) => lis.map((li) => li.textContent));
  const all = messages.join("\n");
  assert.match(all, /w: 'abc' is not a whole number; using 64/);
  assert.match(all, /lr: learning rate must be between .*; using 0\.01/);
  assert.match(all, /unknown key 'foo' was ignored/);
  assert.match(all, /unknown task '<script>window.__pwned=1<\/script>'/);
  assert.ok(await page.isVisible("#messages li"));
  assert.equal(await page.evaluate(() => window.__pwned), undefined, "no injected script ran");
  assert.equal(await page.$$eval("#messages script, #messages img", (n) => n.length), 0);
  assert.equal(data.backend === "cpu" || data.backend === "webgpu", true);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a GPU device lost mid-run falls back to the CPU with a message", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // Keep a handle on the device the training worker creates, so the test can destroy it: a
  // destroyed device is reported through the same device-lost path as a driver reset. The
  // worker's script is wrapped in a module that patches requestDevice as it loads (a static
  // import runs first, and no message reaches the worker before the module has run).
  await page.addInitScript(() => {
    const Real = window.Worker;
    window.Worker = function (url, options) {
      const real = JSON.stringify(new URL(url, location.href).href);
      const source = `import ${real};
        const request = GPUAdapter.prototype.requestDevice;
        GPUAdapter.prototype.requestDevice = async function (...args) {
          const device = await request.apply(this, args);
          self.__devices = [...(self.__devices || []), device];
          return device;
        };`;
      return new Real(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), options);
    };
  });
  await page.goto(srv.base + "?v=1&backend=webgpu&steps=120&w=16&d=1");
  await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) >= 2, null, {
    timeout: 180_000,
  });
  // The last worker: the first, on the page's module, handed over to one on the WebGPU module.
  const worker = page.workers().at(-1);
  await worker.evaluate(() => self.__devices.forEach((d) => d.destroy()));
  const data = await waitForState(page, ["done", "failed", "crashed"], 120_000);
  assert.equal(data.state, "done", errors.join(" | "));
  assert.equal(data.backend, "cpu");
  assert.equal(data.step, "120");
  const messages = await page.$$eval("#messages li", (lis) => lis.map((li) => li.textContent).join("\n"));
  assert.match(messages, /^The GPU stopped responding \(reading results from the device failed: [^\n]+\)\. Training restarted on the CPU backend\.$/m);
  assert.match(await page.textContent("#status"), /lost during training/);
  await page.close();
});

// What the browser's own XML parser makes of an exported SVG.
const parseSvg = (page, text) =>
  page.evaluate((text) => {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    return {
      error: doc.getElementsByTagName("parsererror").length > 0,
      root: root.nodeName,
      title: root.querySelector(":scope > title")?.textContent,
      desc: root.querySelector(":scope > desc")?.textContent,
      width: Number(root.getAttribute("width")),
      shapes: root.querySelectorAll("path, polyline, polygon, rect, circle, line").length,
      texts: [...root.querySelectorAll("text")].map((t) => t.textContent.trim()),
    };
  }, text);

test("each chart saves as a valid SVG with its title, its caption and the link", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&task=xor&steps=120");
  await waitForState(page, ["done"], 60_000);
  const loss = await parseSvg(page, await download(page, "#fig-loss button[data-format=svg]"));
  assert.equal(loss.error, false, "well-formed XML");
  assert.equal(loss.root, "svg");
  assert.equal(loss.title, "Loss curves");
  assert.match(loss.desc, /^Loss per step: .* Made with tinytune: http.*task=xor/);
  assert.ok(loss.width >= 320 && loss.shapes > 5, JSON.stringify(loss).slice(0, 300));
  assert.ok(loss.texts.includes("step"), "the axis title is text, not pixels");
  const boundary = await parseSvg(page, await download(page, "#fig-boundary button[data-format=svg]"));
  assert.equal(boundary.error, false);
  assert.equal(boundary.title, "Decision boundary");
  assert.ok(boundary.shapes > 1000, `the regions are cells (${boundary.shapes})`);
  const png = await page.evaluate(() => document.querySelector("#fig-boundary button[data-format=png]").title);
  assert.match(png, /Decision boundary.* as PNG/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a small sweep on WebGPU finishes its progress bar, draws the sweep chart and exports every run", async () => {
  const sweep = encodeURIComponent("lr:0.01,0.03,0.1;w:8,16");
  const { page, errors } = await open(browser, srv.base, `?v=1&backend=webgpu&steps=4&d=1&bs=256&sweep=${sweep}`);
  const data = await waitForState(page, ["done", "diverged", "failed"], 300_000);
  assert.equal(data.state, "done", errors.join(" | "));
  assert.equal(data.backend, "webgpu");
  assert.equal([data.runsDone, data.runsTotal].join("/"), "6/6");
  const bar = await page.$eval("#sweep-progress", (p) => [p.value, p.max]);
  assert.deepEqual(bar, [6, 6], "the progress bar is full");
  assert.match(await page.textContent("#sweep-text"), /^6 \/ 6 runs/);
  assert.ok(await page.isVisible("#fig-sweep"));
  assert.ok(!(await page.isVisible("#fig-boundary")), "no decision boundary for a sweep");
  assert.ok((await colouredPixels(page, "sweep-canvas")) > 300, "sweep chart has curves");
  assert.ok((await colouredPixels(page, "heatmap-canvas")) > 3000, "heatmap has cells");
  const csv = (await download(page, "#download-csv")).trim().split("\n");
  assert.equal(csv[0], "run,step,train_loss,val_loss");
  for (let run = 0; run < 6; run++) {
    assert.equal(csv.filter((l) => l.startsWith(`${run},`)).length, 4, `run ${run} has every step`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test("a CPU sweep fills the table, marks diverged runs, hovers, exports JSON and can be cancelled", async () => {
  const sweep = encodeURIComponent("lr:0.01,9;d:1,6");
  const { page, errors } = await open(browser, srv.base, `?v=1&backend=cpu&opt=sgd&w=256&steps=150&sweep=${sweep}`);
  const data = await waitForState(page, ["done", "diverged"], 120_000);
  assert.equal(data.runsDone, "4");
  const rows = await page.$$eval("#runs-table tbody tr", (trs) =>
    trs.map((tr) => [...tr.children].map((td) => td.textContent)),
  );
  assert.equal(rows.length, 4);
  assert.equal(rows[0][1], "lr=0.01 d=1");
  assert.equal(rows[0][6], "done");
  assert.ok(rows.some((r) => r[6] === "diverged"), `an lr=9 run diverges: ${JSON.stringify(rows)}`);
  assert.ok(rows.filter((r) => r[1].startsWith("lr=0.01")).every((r) => r[6] === "done"), "the others go on");

  // The chart may sit below the fold (the controls take several rows): bring it into view first.
  await page.locator("#loss-canvas").scrollIntoViewIfNeeded();
  const box = await page.locator("#loss-canvas").boundingBox();
  let hovered = "";
  for (let x = 0.2; x < 0.9 && !hovered; x += 0.05) {
    for (let y = 0.1; y < 0.9 && !hovered; y += 0.05) {
      await page.mouse.move(box.x + box.width * x, box.y + box.height * y);
      hovered = await page.textContent("#hover");
    }
  }
  assert.match(hovered, /^step \d+ · .+ · lr=/, "hovering names a run and its values");

  const json = JSON.parse(await download(page, "#download-json"));
  assert.equal(json.length, 4);
  assert.equal(json[0].knobs.lr, "0.01");
  assert.match(json[0].link, /^v=1&/);
  assert.equal(json[0].steps.length, 150);
  // The main SVG button saves the chart a person looks at: the sweep chart.
  const sweepSvg = await parseSvg(page, await download(page, "#download-svg"));
  assert.equal(sweepSvg.title, "Loss against the swept knob");
  assert.ok(sweepSvg.shapes > 10, `the sweep chart is drawn (${sweepSvg.shapes} shapes)`);

  // Cancel: a long sweep stops where it is and keeps its partial results.
  await page.goto(srv.base + `?v=1&backend=cpu&w=16&steps=20000&sweep=${encodeURIComponent("lr:0.001,0.01")}`);
  await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) > 50);
  await page.click("#cancel");
  const cancelled = await waitForState(page, "cancelled", 5_000);
  // The runner of this generation returns at its next frame; after that nothing can move.
  await page.waitForFunction(
    (g) => document.getElementById("app").dataset.runnerStopped === g,
    cancelled.generation,
    { timeout: 10_000 },
  );
  const stopped = await page.evaluate(() => document.getElementById("app").dataset.step);
  await animationFrames(page, 30);
  assert.equal(await page.evaluate(() => document.getElementById("app").dataset.step), stopped);
  assert.match(await page.textContent("#sweep-text"), /cancelled/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a sweep typed into the page goes into the link; a bad one is explained", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&steps=20");
  await waitForState(page, "done");
  await page.fill("#sweep", "w:8,16");
  await page.dispatchEvent("#sweep", "change");
  const data = await waitForState(page, "done");
  assert.equal(data.runsTotal, "2");
  assert.match(await page.evaluate(() => location.search), /&sweep=w%3A8%2C16$/);
  await page.fill("#sweep", "backend:cpu,auto");
  await page.dispatchEvent("#sweep", "change");
  const messages = await page.$$eval("#messages li", (lis) => lis.map((li) => li.textContent).join("\n"));
  assert.match(messages, /sweep: 'backend' cannot be swept/);
  assert.equal(await page.inputValue("#sweep"), "w:8,16", "a bad sweep keeps the one that runs");
  assert.deepEqual(errors, []);
  await page.close();
});

test("switching the backend quickly ends on the last choice", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&steps=80");
  const before = await waitForState(page, "done");
  await page.selectOption("#backend", "webgpu");
  await page.selectOption("#backend", "cpu");
  // Every selection has answered (the superseded WebGPU one too, which must not win), and the
  // run the last choice started has finished.
  await page.waitForFunction(
    (g) => {
      const d = document.getElementById("app").dataset;
      return d.backendAsked === d.backendAnswered && Number(d.generation) > Number(g) && d.state === "done";
    },
    before.generation,
    { timeout: 60_000 },
  );
  const data = await page.evaluate(() => ({ ...document.getElementById("app").dataset }));
  assert.equal(data.backend, "cpu");
  assert.match(await page.textContent("#status"), /^Backend: CPU/);
  assert.match(await page.evaluate(() => location.search), /backend=cpu/);
  assert.deepEqual(errors, []);
  await page.close();
});
