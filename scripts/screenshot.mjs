// Refreshes the README screenshot from the built page: node scripts/screenshot.mjs [query]
import { serve, launch, open, waitForState } from "../tests/browser/harness.mjs";

const query = process.argv[2] || "?v=1&steps=400";
const srv = await serve();
const browser = await launch({ webgpu: true });
try {
  const { page } = await open(browser, srv.base, query);
  await waitForState(page, "done", 300_000);
  await page.screenshot({ path: "www/screenshot.png", fullPage: true });
} finally {
  await browser.close();
  srv.server.close();
}
