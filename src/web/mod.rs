//! The browser shell (wasm32 only): binds the DOM to an `ExperimentConfig`, picks the backend,
//! and runs the trainer one animation frame at a time. Everything it shows comes from the core.

mod app;
mod canvas;
mod dom;
mod frame;
mod gpu;
mod runner;

use wasm_bindgen::prelude::*;

/// Entry point, called by the wasm-bindgen glue once the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(app::boot());
}
