// The training worker (#16). The page hands it the wasm-bindgen glue's URL and the page's own
// compiled WebAssembly.Module, so the module is neither downloaded nor compiled a second time;
// the Rust side (src/web/worker.rs) owns the Burn device and the runner from then on.
let handle = null;
const early = [];
const fail = (what) => self.postMessage({ Page: { WorkerFailed: { error: String(what) } } });
// A trap inside a Rust future surfaces as an unhandled rejection, which a worker does not pass on
// to the page by itself (an uncaught error does: the page's onerror sees it).
self.addEventListener("unhandledrejection", (e) => fail(e.reason?.message || e.reason));
self.onmessage = async (e) => {
  const d = e.data;
  if (handle) return handle(d);
  if (d && d.boot) {
    try {
      const glue = await import(d.boot.glue);
      await glue.default({ module_or_path: d.boot.module });
      glue.worker_start(d.boot.origin);
      handle = glue.worker_message;
      for (const m of early.splice(0)) handle(m);
    } catch (err) {
      fail(`the training worker could not start: ${err?.message || err}`);
    }
    return;
  }
  early.push(d);
};
