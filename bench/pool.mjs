// Browser half of the pool benchmark (#33): a sweep's wall time on one training worker and on a
// pool, interleaved (jobs=1, then jobs=N, case by case), on the CPU backend in headless Chromium.
// Prints one JSON line per run. Usage: node bench/pool.mjs N case…   where a case is a gallery
// preset's id or `name=link` (a link's query without `?`).
import { serve, launch, open, waitForState } from "../tests/browser/harness.mjs";

const [pool, ...cases] = process.argv.slice(2);
const srv = await serve();
const browser = await launch({ webgpu: true });
try {
  const { page: gallery } = await open(browser, srv.base, "?v=1&backend=cpu&steps=1");
  await gallery.waitForSelector("#preset-list a");
  const presets = Object.fromEntries(
    await gallery.evaluate(() => [...document.querySelectorAll("#preset-list a")].map((a) => [a.dataset.preset, a.getAttribute("href")])),
  );
  await gallery.close();
  for (const c of cases) {
    const [name, link] = c.includes("=") ? [c.slice(0, c.indexOf("=")), `?${c.slice(c.indexOf("=") + 1)}`] : [c, presets[c]];
    if (!link) throw new Error(`no preset ${c}`);
    for (const jobs of [1, Number(pool)]) {
      // No service worker: storing the build for offline use would take CPU from the timed run.
      const { page } = await open(browser, srv.base, `${link}&backend=cpu&jobs=${jobs}`, { serviceWorkers: "block" });
      const data = await waitForState(page, ["done", "failed", "diverged"], 1_800_000);
      console.log(
        JSON.stringify({ case: name, jobs, workers: Number(data.pool), state: data.state, steps: Number(data.step), train_s: Number(data.trainMs) / 1000 }),
      );
      await page.close();
    }
  }
} finally {
  await browser.close();
  srv.server.close();
}
