// Refreshes the README screenshots from the built page: node scripts/screenshot.mjs
import { serve, launch, open, waitForState } from "../tests/browser/harness.mjs";

const shots = [
  // The first screen at 1280×800: the controls beside the charts.
  { file: "www/screenshot.png", query: "?v=1&steps=400", viewport: { width: 1280, height: 800 } },
  {
    file: "www/sweep.png",
    query: "?v=1&backend=cpu&steps=300&sweep=" + encodeURIComponent("lr:2^-12..2^-3*2;w:16,64,256"),
    selector: "#charts",
  },
  {
    file: "www/staircase.png",
    query: "?v=1&backend=cpu&task=planted&n=4096&bs=256&steps=1500&lr=0.003&sweep=" + encodeURIComponent("r:0,1,2,3,4,8,16"),
    selector: "#charts",
  },
  {
    file: "www/transfer.png",
    query:
      "?v=1&backend=cpu&task=digits&bs=128&steps=40&rzero=1&metric=best&sweep=" +
      encodeURIComponent("lr:2^-14..2^-2*2;w:64,128,256,512,1024;param:sp,mup"),
    selector: "#charts",
  },
  {
    file: "www/coord.png",
    query:
      "?v=1&backend=cpu&task=digits&steps=5&lr=0.01&coord=5&rzero=1&sweep=" +
      encodeURIComponent("w:64,128,256,512,1024;param:sp,mup"),
    selector: "#fig-coord",
  },
  {
    file: "www/transformer.png",
    query: "?v=1&backend=cpu&task=reverse&w=32&d=2&heads=2&ctx=8&steps=300&lr=0.003&bs=32&seqlen=4&syms=6",
    selector: "#charts",
  },
  {
    file: "www/charlm.png",
    query: "?v=1&backend=cpu&task=text&w=64&d=2&heads=4&ctx=64&steps=300&bs=32&lr=0.003&n=2048",
    selector: "#charts",
  },
];
// Only the named files (e.g. `node scripts/screenshot.mjs www/staircase.png`), or all of them.
const wanted = process.argv.slice(2);
const srv = await serve();
const browser = await launch({ webgpu: true });
try {
  for (const s of shots.filter((s) => wanted.length === 0 || wanted.includes(s.file))) {
    const { page } = await open(browser, srv.base, s.query, s.viewport ? { viewport: s.viewport } : {});
    await waitForState(page, ["done", "diverged"], 1_200_000);
    if (s.selector) await page.locator(s.selector).screenshot({ path: s.file });
    else await page.screenshot({ path: s.file, fullPage: s.fullPage });
    await page.close();
  }
} finally {
  await browser.close();
  srv.server.close();
}
