// Browser half of the preset benchmark: every gallery preset on the CPU backend in headless
// Chromium, its wall time and final validation loss. Prints one JSON line per preset.
// Usage: node bench/presets.mjs [backend] [id …]   (default cpu, every preset; webgpu on a
// software adapter is slow)
import { serve, launch, open, waitForState } from "../tests/browser/harness.mjs";

const backend = process.argv[2] || "cpu";
const only = process.argv.slice(3);
const srv = await serve();
const browser = await launch({ webgpu: true });
try {
  const { page: gallery } = await open(browser, srv.base, "?v=1&backend=cpu&steps=1");
  await gallery.waitForSelector("#preset-list a");
  const presets = await gallery.evaluate(() =>
    [...document.querySelectorAll("#preset-list a")].map((a) => [a.dataset.preset, a.getAttribute("href")]),
  );
  await gallery.close();
  for (const [id, href] of presets.filter(([id]) => only.length === 0 || only.includes(id))) {
    // No service worker: storing the build for offline use would take CPU from the timed run.
    const { page } = await open(browser, srv.base, `${href}&backend=${backend}`, { serviceWorkers: "block" });
    const data = await waitForState(page, ["done", "failed", "diverged"], 1_800_000);
    console.log(
      JSON.stringify({
        id,
        state: data.state,
        status: await page.textContent("#status"),
        steps: Number(data.step),
        train_ms: Number(data.trainMs),
      }),
    );
    await page.close();
  }
} finally {
  await browser.close();
  srv.server.close();
}
