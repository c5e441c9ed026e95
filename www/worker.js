// The training worker (#16). The page hands it a wasm-bindgen glue's URL and that module compiled:
// the page's own (so it is neither downloaded nor compiled a second time), or the WebGPU module the
// page fetched once a worker needed it (#15, src/web/page/remote.rs). The Rust side (src/web/worker/)
// owns the Burn device and the runner from then on.
let handle = null;
let exports = null;
let panic = null;
const early = [];

// A Rust panic is a trap (panic = abort on wasm): its message reaches only the console, through
// console_error_panic_hook, so keep the last one to say what failed.
const consoleError = console.error.bind(console);
console.error = (...args) => {
  panic = args.map(String).join(" ").split("\n")[0];
  consoleError(...args);
};

// What failed, in words: running out of memory (an allocation that could not grow the memory
// aborts with a bare "unreachable"), a panic with its message, or the error itself.
function describe(what) {
  const text = String(what?.message || what || "the worker stopped");
  const memory = exports?.memory;
  if (memory && /unreachable|memory/i.test(text)) {
    try {
      memory.grow(16); // 1 MiB: it still grows, so this was not the memory
    } catch {
      const gib = (memory.buffer.byteLength / 2 ** 30).toFixed(1);
      return `out of memory: its WebAssembly memory is full at ${gib} GiB`;
    }
  }
  return panic ? `${text}: ${panic}` : text;
}
let failed = false;
const fail = (what) => {
  if (failed) return; // the first failure is the cause; what follows is its echo
  failed = true;
  // Rust's messages are bytes (src/page/codec.rs); this one the page reads as an object.
  self.postMessage({ failed: describe(what) });
};
// An uncaught error: said once, as a message, instead of the page's bare error event.
self.addEventListener("error", (e) => {
  e.preventDefault();
  fail(e.error || e.message);
});
// A trap inside a Rust future surfaces as an unhandled rejection, which a worker does not pass on
// to the page by itself.
self.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  fail(e.reason);
});
// The char LM's texts (src/data/corpus.rs, src/web/texts.rs): fetched from text/ beside the page
// the first time a text run starts, not compiled into the module.
let pageBase = self.location.href;
self.tinytuneFetchTexts = (names) =>
  Promise.all(
    names.map(async (name) => {
      const url = new URL(`text/${name}`, pageBase);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`text/${name}: HTTP ${response.status}`);
      return response.text();
    }),
  );
self.onmessage = async (e) => {
  const d = e.data;
  if (handle) return handle(d);
  if (d && d.boot) {
    try {
      pageBase = d.boot.glue; // the page's folder (the bench loads this script from a blob)
      const glue = await import(d.boot.glue);
      exports = await glue.default({ module_or_path: d.boot.module });
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
