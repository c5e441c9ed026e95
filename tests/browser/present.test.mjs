// Presenter mode and the keys (#14): the charts fill the screen in large type with only the
// named knobs shown; a knob move restarts the run and keeps the run before as a faint curve; the
// keys work everywhere but in a field.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState, waitForNewRun } from "./harness.mjs";

let srv, browser;
before(async () => {
  srv = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  srv?.server.close();
});

const data = (page) => page.evaluate(() => ({ ...document.getElementById("app").dataset }));

const openAt = (width, height, query) => open(browser, srv.base, query, { viewport: { width, height } });

// The share of the viewport the visible charts cover.
const chartsCover = (page) =>
  page.evaluate(() => {
    let area = 0;
    for (const c of document.querySelectorAll("canvas")) {
      const r = c.getBoundingClientRect();
      if (r.width && r.height && c.offsetParent) area += r.width * r.height;
    }
    return area / (innerWidth * innerHeight);
  });

// Grey pixels (the "before" curve is drawn in rgb(150,150,150) over white).
const greyPixels = (page, id) =>
  page.evaluate((id) => {
    const c = document.getElementById(id);
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      if (Math.abs(r - g) < 8 && Math.abs(g - b) < 8 && r > 135 && r < 185) n++;
    }
    return n;
  }, id);

for (const [width, height] of [
  [1920, 1080],
  [1280, 720],
]) {
  test(`presenter mode fills a ${width}×${height} screen in large type with only the named knobs`, async () => {
    const { page, errors } = await openAt(width, height, "?v=1&backend=cpu&steps=300&present=1&knobs=lr,w");
    await waitForState(page, ["done"], 60_000);
    assert.equal(await page.evaluate(() => document.getElementById("app").classList.contains("present")), true);
    assert.equal(await page.isVisible(".controls"), false, "the controls give way");
    assert.equal(await page.isVisible(".gallery"), false);
    assert.equal(await page.isVisible("#knob-bar"), true);
    assert.deepEqual(
      await page.$$eval("#knob-bar input[type=range]", (xs) => xs.map((x) => x.id)),
      ["knob-lr", "knob-w"],
    );
    assert.equal(await page.textContent("#knob-lr-value"), "0.01");
    const px = (sel) => page.$eval(sel, (e) => parseFloat(getComputedStyle(e).fontSize));
    const chartFont = Number((await data(page)).chartFont);
    if (height === 1080) {
      assert.ok((await px("#status")) >= 24, `body text ${await px("#status")} px`);
      assert.ok((await px(".knob")) >= 24, "the knob labels");
      assert.ok(chartFont >= 24, `axis labels ${chartFont} px`);
    } else {
      assert.ok(chartFont >= 16 && (await px("#status")) >= 16, "scaled to the screen");
    }
    // The visible charts cover most of the screen.
    const covered = await chartsCover(page);
    assert.ok(covered > 0.6, `charts cover ${(100 * covered).toFixed(0)} % of the screen`);
    assert.ok(
      (await page.evaluate(() => document.documentElement.scrollHeight)) <= height * 1.02,
      "nothing to scroll to",
    );
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test("a knob move restarts the run at once and keeps the run before as a faint curve", async () => {
  const { page, errors } = await openAt(1280, 720, "?v=1&backend=cpu&steps=200&present=1&knobs=lr");
  const first = await waitForState(page, ["done"], 60_000);
  assert.equal(first.before, "", "no before curve yet");
  const at = Number(await page.inputValue("#knob-lr"));
  await page.locator("#knob-lr").fill(String(at + 1)); // one ×2 step up, released
  const second = await waitForNewRun(page, first.generation, 60_000);
  assert.match(await page.evaluate(() => location.search), /lr=0\.02/);
  assert.equal(second.before, "lr=0.01", "the run before is named by its knob");
  assert.equal(await page.textContent("#knob-lr-value"), "0.02");
  assert.equal(Number(await page.inputValue("#knob-lr")), at + 1, "the thumb stays where it was moved");
  assert.ok((await greyPixels(page, "loss-canvas")) > 300, "the faint before curve is drawn");
  assert.notEqual(second.lastVal, first.lastVal, "a new run for the new rate");
  assert.deepEqual(errors, []);
  await page.close();
});

test("the keys: Space, P, ? and Esc work, and not while typing in a field", async () => {
  const { page, errors } = await openAt(1280, 800, "?v=1&backend=cpu&steps=100000");
  await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) > 10, null, {
    timeout: 60_000,
  });
  await page.keyboard.press("Space");
  await waitForState(page, ["paused"], 5_000);
  await page.keyboard.press("Space");
  await waitForState(page, ["running"], 5_000);
  await page.keyboard.press("?");
  assert.equal(await page.isVisible("#keys"), true, "? shows the keys");
  await page.keyboard.press("Escape");
  assert.equal(await page.isVisible("#keys"), false);
  // Typing a P into a field types it.
  await page.focus("#sweep");
  await page.keyboard.type("p");
  assert.equal(await page.evaluate(() => document.getElementById("app").classList.contains("present")), false);
  await page.keyboard.press("Backspace");
  // On a focused button the letter keys still work (Train is disabled while it runs).
  await page.focus("#pause");
  await page.keyboard.press("p");
  await page.waitForFunction(() => /present=1/.test(location.search));
  assert.equal(await page.isVisible(".controls"), false, "P turned presenter mode on");
  await page.keyboard.press("P");
  await page.waitForFunction(() => !/present=1/.test(location.search));
  assert.equal(await page.isVisible(".controls"), true, "and off again");
  await page.keyboard.press("r");
  await waitForState(page, ["idle"], 5_000);
  assert.deepEqual(errors, []);
  await page.close();
});

// The venue's network drops (#14): after one visit, a reload with the browser offline still
// loads the page and trains; the stored files are this build's.
test("after one visit the page loads and trains offline", async () => {
  const { page, errors } = await openAt(1280, 800, "?v=1&backend=cpu&steps=50");
  await waitForState(page, ["done"], 60_000);
  const stored = await page.evaluate(async () => {
    // Active means its install finished storing the files; it then claims this page.
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((r) => navigator.serviceWorker.addEventListener("controllerchange", r, { once: true }));
    }
    const keys = await caches.keys();
    const files = (await (await caches.open(keys[0])).keys()).map((r) => new URL(r.url).pathname);
    return { keys, files };
  });
  assert.equal(stored.keys.length, 1);
  assert.match(stored.keys[0], /^tinytune-\w+$/);
  for (const f of ["/", "/worker.js", "/text/hamlet_gut.txt", "/text/paradise_regained_gut.txt"]) {
    assert.ok(stored.files.includes(f), `${f} in ${stored.files}`);
  }
  assert.ok(stored.files.some((f) => /^\/style-\w+\.css$/.test(f)), "the styles");
  assert.ok(stored.files.some((f) => /^\/tinytune-\w+_bg\.wasm$/.test(f)), "the module");
  await page.context().setOffline(true);
  await page.goto(srv.base + "?v=1&backend=cpu&steps=40&task=xor");
  const offline = await waitForState(page, ["done"], 60_000);
  assert.equal(offline.step, "40", "it trained offline");
  assert.match(await page.evaluate(() => location.search), /task=xor/, "the link's own experiment");
  // The char LM's texts are not in the module (#15): the worker fetches them, from the store now.
  await page.goto(srv.base + "?v=1&backend=cpu&task=text&w=32&d=1&heads=2&ctx=32&n=256&bs=16&steps=5");
  const text = await waitForState(page, ["done", "failed"], 60_000);
  assert.equal(text.state, "done", await page.textContent("#messages"));
  assert.equal(text.step, "5", "the char LM trained offline");
  await page.context().setOffline(false);
  assert.deepEqual(errors, []);
  await page.close();
});

// The WebGPU module (#15) is not stored at install, since a visit on the CPU never fetches it: a visit that
// trained on WebGPU asks the service worker to store it, and the next offline visit trains on
// WebGPU from the store.
test("after one visit on WebGPU the WebGPU module is stored too, and trains offline", async () => {
  const query = "?v=1&backend=webgpu&steps=3&w=16&d=1&bs=256";
  const { page, errors } = await openAt(1280, 800, query);
  const online = await waitForState(page, ["done", "failed"], 240_000);
  assert.equal(online.backend, "webgpu", errors.join(" | "));
  const stored = await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    const webgpu = (names) => names.filter((n) => /^\/tinytune-webgpu-\w+(_bg\.wasm|\.js)$/.test(n));
    // The store is written as the page asks (after its install): wait for it.
    for (;;) {
      const keys = await caches.keys();
      const names = keys.length ? (await (await caches.open(keys[0])).keys()).map((r) => new URL(r.url).pathname) : [];
      if (webgpu(names).length === 2) return webgpu(names);
      await new Promise((r) => requestAnimationFrame(r));
    }
  });
  assert.equal(stored.length, 2, JSON.stringify(stored));
  await page.context().setOffline(true);
  await page.goto(srv.base + query + "&seed=2");
  const offline = await waitForState(page, ["done", "failed"], 240_000);
  assert.equal(offline.state, "done", await page.textContent("#messages"));
  assert.equal(offline.backend, "webgpu", await page.textContent("#status"));
  assert.equal(offline.step, "3");
  await page.context().setOffline(false);
  assert.deepEqual(errors, []);
  await page.close();
});

// Embed mode (#14): in an iframe-sized page the charts and a compact knob bar only; the page's
// "Copy embed code" gives the <iframe> snippet of the experiment in embed mode.
test("embed mode fits an iframe, and the page gives its embed code", async () => {
  const { page, errors } = await openAt(1280, 800, "?v=1&backend=cpu&steps=60&knobs=lr");
  await waitForState(page, ["done"], 60_000);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.click("#copy-embed");
  await page.waitForFunction(() => /Embed code/.test(document.getElementById("messages").textContent));
  const code = (await page.isVisible("#link-fallback"))
    ? await page.inputValue("#link-fallback")
    : await page.evaluate(() => navigator.clipboard.readText());
  const m = code.match(/^<iframe src="([^"]+)" width="800" height="480" style="border:0" loading="lazy" title="tinytune"><\/iframe>$/);
  assert.ok(m, code);
  const src = m[1].replaceAll("&amp;", "&");
  assert.match(src, /embed=1/);
  assert.match(src, /knobs=lr/);
  assert.doesNotMatch(src, /present=1/);
  await page.close();

  const framed = await openAt(800, 480, src.slice(src.indexOf("?")));
  await waitForState(framed.page, ["done"], 60_000);
  const p = framed.page;
  assert.equal(await p.evaluate(() => document.getElementById("app").classList.contains("embed")), true);
  assert.equal(await p.isVisible(".controls"), false);
  assert.equal(await p.isVisible("header"), false);
  assert.equal(await p.isVisible("#knob-lr"), true, "the compact knob bar");
  const covered = await chartsCover(p);
  assert.ok(covered > 0.6, `charts cover ${(100 * covered).toFixed(0)} % of the frame`);
  assert.ok((await p.evaluate(() => document.documentElement.scrollHeight)) <= 480 * 1.02, "nothing to scroll");
  assert.deepEqual([...errors, ...framed.errors], []);
  await p.close();
});

test("the keys, a clicker's PageDown included, step a deck, and the link follows", async () => {
  // Two light links around a preset (the preset's heavy run is left at once).
  const deck = ["task%3Dxor%26steps%3D60", "e1", "task%3Dmoons%26steps%3D60"].join(",");
  const { page, errors } = await openAt(1280, 720, `?v=1&backend=cpu&present=1&deck=${deck}`);
  const first = await waitForState(page, ["done"], 60_000);
  const slide = () =>
    page.evaluate(() => ({
      slide: document.getElementById("app").dataset.slide,
      count: document.getElementById("deck-count").textContent,
      title: document.getElementById("deck-title").textContent,
      claim: document.getElementById("deck-claim").textContent,
      link: location.search,
    }));
  let now = await slide();
  assert.deepEqual([now.slide, now.count], ["1", "1 / 3"]);
  assert.match(now.title, /xor/);
  assert.equal(await page.isVisible("#deck-bar"), true, "the deck's bar shows in presenter mode");
  const titlePx = await page.$eval("#deck-title", (e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok(titlePx >= 24, `the title in large type (${titlePx} px)`);

  await page.keyboard.press("PageDown"); // a clicker
  await page.waitForFunction(() => document.getElementById("app").dataset.slide === "2");
  now = await slide();
  assert.equal(now.title, "E1 · Rank staircase");
  assert.match(now.claim, /Eckart–Young/);
  assert.match(now.link, /slide=2/);
  assert.match(now.link, /deck=/);
  assert.match(now.link, /present=1/);
  assert.equal(await page.inputValue("#task"), "planted", "the slide's own experiment");

  await page.keyboard.press("ArrowRight");
  await page.waitForFunction(() => document.getElementById("app").dataset.slide === "3");
  const third = await waitForNewRun(page, first.generation, 60_000);
  assert.match((await slide()).title, /moons/);
  assert.match(await page.evaluate(() => location.search), /slide=3/);
  await page.keyboard.press("PageDown"); // past the end: it stays
  assert.equal((await data(page)).generation, third.generation);

  await page.keyboard.press("PageUp");
  await page.waitForFunction(() => document.getElementById("app").dataset.slide === "2");
  await page.keyboard.press("ArrowLeft");
  await page.waitForFunction(() => document.getElementById("app").dataset.slide === "1");
  assert.doesNotMatch(await page.evaluate(() => location.search), /slide=/);

  // A bookmarked position opens there.
  await page.goto(srv.base + `?v=1&backend=cpu&present=1&deck=${deck}&slide=3`);
  await page.waitForFunction(() => document.getElementById("app").dataset.slide === "3");
  assert.match((await slide()).title, /moons/);

  // On the normal page PageDown scrolls; the arrows still step the deck.
  await page.goto(srv.base + `?v=1&backend=cpu&deck=${deck}`);
  await waitForState(page, ["done"], 60_000);
  await page.keyboard.press("PageDown");
  await page.waitForFunction(() => scrollY > 0);
  assert.equal((await data(page)).slide, "1", "PageDown scrolled the page");
  await page.keyboard.press("ArrowRight");
  await page.waitForFunction(() => document.getElementById("app").dataset.slide === "2");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a sweep in presenter mode shows its sweep chart beside the loss curves", async () => {
  const sweep = encodeURIComponent("lr:0.01,0.1;w:8,16");
  const { page, errors } = await openAt(1280, 720, `?v=1&backend=cpu&present=1&steps=30&sweep=${sweep}`);
  await waitForState(page, ["done"], 60_000);
  assert.equal(await page.isVisible("#fig-sweep"), true, "the chart the sweep is about");
  assert.equal(await page.isVisible("#fig-bestlr"), false, "one side chart only");
  assert.equal(await page.isVisible("#fig-heatmap"), false);
  assert.equal(await page.isVisible("#loss-canvas"), true);
  assert.deepEqual(errors, []);
  await page.close();
});
