// The normal page, tidied (#14): the loss chart in view at 1280×800, no cut-off choices, knobs
// that change nothing disabled with the reason, the groups a study uses open, charts first on a
// phone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState } from "./harness.mjs";

let srv, browser;
before(async () => {
  srv = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  srv?.server.close();
});

const openAt = (width, height, query) => open(browser, srv.base, query, { viewport: { width, height } });

const isOpen = (page, id) => page.$eval(`#${id}`, (d) => d.open);

test("at 1280×800 the loss chart is in view without scrolling, and no choice is cut off", async () => {
  for (const query of [
    "?v=1&backend=cpu&steps=50",
    "?v=1&backend=cpu&task=planted&r=4&bits=4&steps=50",
    "?v=1&backend=cpu&task=modadd&r=4&steps=2",
    "?v=1&backend=cpu&task=text&r=4&steps=2&asteps=2",
  ]) {
    const { page, errors } = await openAt(1280, 800, query);
    await waitForState(page, ["running", "done"], 60_000);
    const box = await page.$eval("#loss-canvas", (c) => {
      const r = c.getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, height: r.height, scrolled: scrollY };
    });
    assert.equal(box.scrolled, 0);
    assert.ok(box.height > 250 && box.top >= 0 && box.bottom <= 800, `${query}: loss chart at ${JSON.stringify(box)}`);
    // Every visible select is as wide as its longest choice plus its padding.
    const cut = await page.evaluate(() => {
      const ctx = document.createElement("canvas").getContext("2d");
      const out = [];
      for (const s of document.querySelectorAll("select")) {
        if (!s.offsetParent) continue;
        const cs = getComputedStyle(s);
        ctx.font = cs.font;
        const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 16;
        for (const o of s.options) {
          const need = ctx.measureText(o.textContent).width;
          if (need > room + 0.5) out.push(`${s.id}: "${o.textContent}" needs ${need.toFixed(0)} px of ${room.toFixed(0)}`);
        }
      }
      return out;
    });
    assert.deepEqual(cut, [], "cut-off labels");
    assert.deepEqual(errors, []);
    await page.close(); // a run still going stops with its page
  }
});

test("knobs that change nothing are disabled with the reason; the groups the study uses are open", async () => {
  const { page, errors } = await openAt(1280, 800, "?v=1&backend=cpu&task=planted&r=4&steps=50");
  await waitForState(page, ["done"], 60_000);
  assert.equal(await page.isDisabled("#w"), true, "width on the planted task");
  assert.match(await page.$eval("#w", (i) => i.closest("label").title), /linear layer/);
  assert.equal(await isOpen(page, "group-model"), false, "nothing in Model acts: closed");
  assert.match(await page.textContent("#group-model .group-why"), /Width, Hidden layers, .*: the planted task trains one linear layer/);
  assert.equal(await isOpen(page, "planted-knobs"), true);
  assert.equal(await isOpen(page, "group-lora"), true, "r is set");
  assert.equal(await isOpen(page, "group-quant"), false);
  assert.equal(await page.isVisible("#group-gpt"), false, "no transformer here");
  assert.equal(await page.isDisabled("#r"), false);

  // A group opened by hand stays open while the task stays; a knob moved in it acts at once.
  await page.click("#group-quant > summary");
  assert.equal(await isOpen(page, "group-quant"), true);
  assert.equal(await page.isDisabled("#qfmt"), true, "float weights: the format changes nothing");
  await page.selectOption("#bits", "4");
  await page.waitForFunction(() => !document.getElementById("qfmt").disabled);
  assert.equal(await isOpen(page, "group-quant"), true);
  // Another task: its own groups open, the rest close.
  await page.selectOption("#task", "copy");
  await page.waitForFunction(() => !document.getElementById("group-gpt").hidden);
  assert.equal(await isOpen(page, "group-gpt"), true);
  assert.equal(await isOpen(page, "group-model"), true);
  assert.equal(await page.isVisible("#planted-knobs"), false);
  assert.equal(await page.isDisabled("#act"), true, "the transformer's MLP is GELU");
  assert.deepEqual(errors, []);
  await page.close();
});

test("on a phone the charts come first", async () => {
  const { page, errors } = await openAt(390, 844, "?v=1&backend=cpu&steps=30");
  await waitForState(page, ["done"], 60_000);
  const [chart, controls] = await page.evaluate(() => [
    document.getElementById("loss-canvas").getBoundingClientRect().top,
    document.querySelector(".controls").getBoundingClientRect().top,
  ]);
  assert.ok(chart < controls && chart < 844, `chart at ${chart}, controls at ${controls}`);
  assert.equal(
    await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
    true,
    "nothing wider than the phone",
  );
  assert.deepEqual(errors, []);
  await page.close();
});
