//! The browser shell (wasm32 only): two programs from one module. `page` runs on the main
//! thread: it binds the DOM to the page's state machine and draws. `worker` runs in the training
//! worker (the page's module, or the WebGPU module built from this same library with Burn's wgpu
//! backend, #15/#16): it picks the backend and runs the trainers. `frame` is their one clock.
//! Everything they show or train comes from the core.

mod frame;
mod page;
mod worker;

use wasm_bindgen::prelude::*;

unsafe extern "C" {
    /// Synthesized by wasm-ld: runs the static constructors (Burn/CubeCL register kernels with
    /// `inventory`). Unless the module calls it itself, wasm-ld wraps EVERY export in a call to it,
    /// and every JS→wasm call (each closure, each future wake-up) re-ran thousands of
    /// constructors: measured at >50 % of the page's time and ~1 training step/s instead of ~100.
    fn __wasm_call_ctors();
}

/// Entry point, called by the wasm-bindgen glue once the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    // SAFETY: called once, first thing after instantiation, before any code that needs the
    // constructors' registrations; inventory's constructors are idempotent anyway.
    unsafe { __wasm_call_ctors() };
    console_error_panic_hook::set_once();
    // The worker starts when `www/worker.js` calls `worker_start`; only the page boots the shell.
    if !worker::in_worker() {
        page::boot();
    }
}
