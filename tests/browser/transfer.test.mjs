// Learning-rate scaling in the page: the width-transfer preset on WebGPU (reduced grid) drawn as
// SP | μP panels with the best-learning-rate plot, the coordinate check, and the schedule, decay
// and residual controls.
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


test("the transfer preset runs a reduced grid on WebGPU and draws both panels", async () => {
  const { page: gallery } = await open(browser, srv.base, "?v=1&backend=cpu&steps=1");
  const link = await presetLink(gallery, "e4", {
    backend: "webgpu",
    steps: "3",
    bs: "32",
    sweep: "lr:2^-8,2^-5;w:32,64;param:sp,mup",
  });
  await gallery.close();
  const { page, errors } = await open(browser, srv.base, link);
  const data = await waitForState(page, ["done", "failed", "diverged"], 400_000);
  assert.equal(data.state, "done", `state ${data.state}; errors: ${errors.join(" | ")}`);
  assert.equal(data.backend, "webgpu");
  assert.equal(data.panels, "2", "param is the third knob: one panel each for SP and μP");
  assert.equal(await page.isVisible("#fig-sweep"), true);
  const caption = await page.textContent("#sweep-caption");
  assert.match(caption, /One panel per value/);
  assert.match(caption, /best validation loss/, "the preset compares best validation losses");
  // Both halves of the chart carry curves (the panels share one loss axis).
  assert.ok((await colouredPixels(page, "sweep-canvas", [0, 0.5])) > 100, "SP panel has curves");
  assert.ok((await colouredPixels(page, "sweep-canvas", [0.5, 1])) > 100, "μP panel has curves");
  assert.equal(await page.isVisible("#fig-bestlr"), true, "best learning rate against width");
  assert.ok((await colouredPixels(page, "bestlr-canvas")) > 50);
  assert.equal(await page.locator("#runs-table tbody tr").count(), 8);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the coordinate check draws a row of panels per parameterization", async () => {
  const { page, errors } = await open(
    browser,
    srv.base,
    "?v=1&task=digits&steps=2&coord=2&lr=0.01&rzero=1&backend=cpu&sweep=w:16,32,64;param:sp,mup",
  );
  const data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", errors.join(" | "));
  assert.equal(data.coordRows, "2");
  assert.equal(await page.isVisible("#fig-coord"), true);
  assert.ok((await colouredPixels(page, "coord-canvas")) > 300, "one line per layer in every panel");
  assert.equal(await page.inputValue("#coord"), "2");
  assert.deepEqual(errors, []);
  await page.close();
});

test("schedule, weight decay and residual blocks follow the link and are described", async () => {
  const { page, errors } = await open(
    browser,
    srv.base,
    "?v=1&task=xor&d=4&res=isqrt&steps=30&sched=cosine&warm=10&wd=0.01&backend=cpu",
  );
  const data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", errors.join(" | "));
  assert.equal(await page.inputValue("#sched"), "cosine");
  assert.equal(await page.inputValue("#res"), "isqrt");
  assert.equal(await page.inputValue("#warm"), "10");
  const lrs = await page.textContent("#lrs");
  assert.match(lrs, /linear warm-up over 10 steps, then cosine decay to 0/, lrs);
  assert.match(lrs, /weight decay 0\.01 \(decoupled, as AdamW/, lrs);
  // A warm-up without a schedule is refused with its reason, as text.
  await page.goto(srv.base + "?v=1&warm=5&steps=20&backend=cpu");
  await page.waitForSelector("#messages li");
  const messages = await page.textContent("#messages");
  assert.match(messages, /warm-up steps need a schedule/, messages);
  await page.close();
});
