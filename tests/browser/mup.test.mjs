// μP in the page: the parameterization controls follow the link, and the learning rate each
// parameter group gets is shown.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState } from "./harness.mjs";

let srv, browser;
before(async () => {
  srv = await serve();
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
  srv?.server.close();
});

test("μP shows its per-group learning rates and follows the controls", async () => {
  const { page, errors } = await open(browser, srv.base, "?v=1&w=128&param=mup&bw=32&rzero=1&steps=40&lr=0.004");
  const data = await waitForState(page, ["done", "failed", "diverged"], 60_000);
  assert.equal(data.state, "done", errors.join(" | "));
  assert.equal(await page.inputValue("#param"), "mup");
  assert.equal(await page.isChecked("#rzero"), true);
  const lrs = await page.textContent("#lrs");
  assert.match(lrs, /μP, m = 128\/32 = 4: lr input 0\.004 · hidden 0\.001 · readout 0\.004/, lrs);
  await page.selectOption("#param", "sp");
  await page.waitForFunction(() => document.getElementById("lrs").hidden, null, { timeout: 10_000 });
  assert.doesNotMatch(page.url(), /param=/);
  assert.deepEqual(errors, []);
  await page.close();
});
