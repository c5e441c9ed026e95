// The built page in real headless Chromium: backend choice, training, links, hostile input.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState, colouredPixels } from "./harness.mjs";

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
  assert.deepEqual([...first.errors, ...second.errors], []);
  await first.page.close();
  await second.page.close();
});

test("pause stops training mid-run and resume continues", async () => {
  const { page } = await open(browser, srv.base, "?v=1&backend=cpu&steps=100000");
  await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) > 20, null, { timeout: 60_000 });
  await page.click("#pause");
  await waitForState(page, "paused", 5_000);
  // A frame already in flight when Pause was pressed may still land; after that, nothing moves.
  await page.waitForTimeout(200);
  const step = () => page.evaluate(() => document.getElementById("app").dataset.step);
  const paused = { step: await step() };
  await page.waitForTimeout(500);
  assert.equal(await step(), paused.step, "no steps while paused");
  await page.click("#train");
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
  // Keep a handle on the device the page creates, so the test can destroy it: a destroyed
  // device is reported through the same device-lost path as a driver reset.
  await page.addInitScript(() => {
    const request = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const device = await request.apply(this, args);
      window.__devices = [...(window.__devices || []), device];
      return device;
    };
  });
  await page.goto(srv.base + "?v=1&backend=webgpu&steps=120&w=16&d=1");
  await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) >= 2, null, {
    timeout: 180_000,
  });
  await page.evaluate(() => window.__devices.forEach((d) => d.destroy()));
  const data = await waitForState(page, ["done", "failed", "crashed"], 120_000);
  assert.equal(data.state, "done", errors.join(" | "));
  assert.equal(data.backend, "cpu");
  assert.equal(data.step, "120");
  const messages = await page.$$eval("#messages li", (lis) => lis.map((li) => li.textContent).join("\n"));
  assert.match(messages, /^The GPU stopped responding \(reading results from the device failed: [^\n]+\)\. Training restarted on the CPU backend\.$/m);
  assert.match(await page.textContent("#status"), /lost during training/);
  await page.close();
});

test("a sweep link says the page trains its base config and keeps the sweep in the link", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&backend=cpu&steps=30&sweep=lr%3A0.001%2C0.01%3Bw%3A16%2C32");
  await waitForState(page, "done");
  const messages = await page.$$eval("#messages li", (lis) => lis.map((li) => li.textContent).join("\n"));
  assert.match(messages, /sweep of 4 runs over lr, w/);
  assert.match(messages, /tinytune 'v=1&steps=30&backend=cpu&sweep=lr%3A0.001%2C0.01%3Bw%3A16%2C32' --summary/);
  await page.fill("#seed", "3");
  await page.dispatchEvent("#seed", "change");
  const search = await page.evaluate(() => location.search);
  assert.match(search, /seed=3/);
  assert.match(search, /sweep=lr%3A0.001%2C0.01%3Bw%3A16%2C32/);
  assert.deepEqual(errors, []);
  await page.close();
});
