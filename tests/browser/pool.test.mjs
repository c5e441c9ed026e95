// A sweep on a pool of training workers (#33): the same curves as on one worker, Cancel reaching
// every worker within the page's 200 ms, and a worker that dies losing only its own share (started
// again once, then marked failed) while the others go on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState, animationFrames, curves } from "./harness.mjs";

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


test("a sweep on two workers gives every run the curve it has on one", async () => {
  const sweep = encodeURIComponent("lr:0.003,0.01,0.03,9;w:8,32");
  // Unstacked (stack=0): a stack's curves depend on which runs share it (within float
  // tolerance, stack.test.mjs), and the pool is to change nothing to the bit.
  const link = `?v=1&backend=cpu&steps=60&d=1&stack=0&sweep=${sweep}`;
  const results = {};
  for (const jobs of [1, 2]) {
    const { page, errors } = await open(browser, srv.base, `${link}&jobs=${jobs}`);
    const done = await waitForState(page, ["done", "diverged", "failed"], 120_000);
    assert.equal(done.state, "done", await page.textContent("#messages"));
    assert.equal(done.pool, String(jobs), "the runs spread over the workers asked for");
    const status = await page.textContent("#status");
    if (jobs === 2) assert.match(status, /· 2 training workers/);
    else assert.doesNotMatch(status, /training workers/);
    results[jobs] = await curves(page);
    assert.deepEqual(errors, []);
    await page.close();
  }
  assert.equal(results[2].length, 8);
  assert.ok(results[2].some((r) => r.diverged), "lr = 9 diverges on its worker and the others go on");
  assert.deepEqual(results[2], results[1], "each run's curve is the same on either pool");
});

// Every key in range and a step of about a second on this machine's CPU backend (as the worker
// tests' heavy link): both workers are mid-step when Cancel comes.
const HEAVY = "?v=1&backend=cpu&w=2048&d=2&bs=190&steps=200&lr=0.0003";

test("Cancel stops every worker of a pooled sweep within 200 ms, mid-step", async (t) => {
  const sweep = encodeURIComponent("lr:0.001,0.002");
  const { page, errors } = await open(browser, srv.base, `${HEAVY}&jobs=2&sweep=${sweep}`);
  // Both runs have taken a step: both workers train.
  await page.waitForFunction(
    () => [...document.querySelectorAll("#runs-table tbody tr")].filter((tr) => tr.children[6]?.textContent === "running").length === 2,
    null,
    { timeout: 120_000, polling: 20 },
  );
  const running = await data(page);
  assert.equal(running.pool, "2");
  const cancelAfter = await page.evaluate(
    () =>
      new Promise((done) => {
        const app = document.getElementById("app");
        const t0 = performance.now();
        const check = () => {
          const d = app.dataset;
          if (d.workerAt === d.generation && d.runnerStopped === d.generation) done(performance.now() - t0);
          else requestAnimationFrame(check);
        };
        document.getElementById("cancel").click();
        check();
      }),
  );
  t.diagnostic(`Cancel stopped both workers in ${cancelAfter.toFixed(0)} ms`);
  assert.ok(cancelAfter <= 200, `Cancel took ${cancelAfter.toFixed(0)} ms`);
  const after = await data(page);
  assert.equal(after.state, "cancelled");
  // A worker mid-step is replaced; one whose step had just ended hears Cancel itself (a step
  // takes about a second here, so now and then one of the two has): either way within 200 ms,
  // and never more than one fresh worker for each.
  const replaced = Number(after.workers) - Number(running.workers);
  t.diagnostic(`workers replaced: ${replaced} of 2`);
  assert.ok(replaced >= 0 && replaced <= 2, `${replaced} workers replaced`);
  const stopped = after.step;
  await animationFrames(page, 30);
  assert.equal((await data(page)).step, stopped, "nothing trains after Cancel");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a pool's worker that dies loses only its share: started again once, then marked failed", async () => {
  const sweep = encodeURIComponent("lr:0.001,0.003,0.01,0.03");
  const { page, errors } = await open(browser, srv.base, `?v=1&backend=cpu&w=64&steps=4000&jobs=2&sweep=${sweep}`);
  await page.waitForFunction(() => Number(document.getElementById("app").dataset.step) > 200, null, {
    timeout: 60_000,
  });
  const training = await data(page);
  assert.equal(training.pool, "2");
  const kill = async () => {
    // The pool's second worker: the newest one the page started.
    const worker = page.workers().at(-1);
    await worker.evaluate(() =>
      setTimeout(() => {
        throw new Error("killed by the test");
      }),
    );
  };
  await kill();
  await page.waitForFunction(() => /started again on a fresh worker/.test(document.getElementById("messages").textContent), null, {
    timeout: 10_000,
  });
  const said = (await page.textContent("#messages")).match(
    /A training worker failed \(.*killed by the test\); its 2 runs \((lr=[\d.]+), (lr=[\d.]+)\) started again on a fresh worker\./,
  );
  assert.ok(said, await page.textContent("#messages"));
  const restarted = await data(page);
  assert.equal(restarted.state, "running", "the sweep goes on");
  assert.equal(Number(restarted.workers), Number(training.workers) + 1, "a fresh worker took the share");
  // The fresh worker trains the share from its first step; then it dies too.
  await page.waitForFunction(
    (names) =>
      [...document.querySelectorAll("#runs-table tbody tr")].filter(
        (tr) => names.includes(tr.children[1]?.textContent) && tr.children[6]?.textContent === "running",
      ).length === 2,
    [said[1], said[2]],
    { timeout: 60_000, polling: 20 },
  );
  await kill();
  const done = await waitForState(page, ["done", "failed", "diverged"], 120_000);
  assert.equal(done.state, "done", "the other worker's runs finished");
  const messages = await page.textContent("#messages");
  assert.match(messages, /A training worker failed twice \(.*killed by the test\); its 2 runs \(.*\) are marked failed, and the other runs go on\./);
  const rows = await page.$$eval("#runs-table tbody tr", (trs) =>
    trs.map((tr) => [tr.children[1].textContent, tr.children[6].textContent]),
  );
  for (const [name, status] of rows) {
    assert.equal(status, [said[1], said[2]].includes(name) ? "failed" : "done", name);
  }
  assert.match(await page.textContent("#sweep-text"), /4 \/ 4 runs · 2 failed/);
  assert.deepEqual(errors, []);
  await page.close();
});
