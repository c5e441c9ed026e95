//! The browser shell (wasm32 only): binds the DOM to an `ExperimentConfig`, picks the backend,
//! and runs the trainer one animation frame at a time. Everything it shows comes from the core.

mod bus;
mod canvas;
mod dom;
mod export;
mod frame;
mod gpu;
mod runner;
mod shell;
mod side;
mod view;

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
    shell::boot();
}
