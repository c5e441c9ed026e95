//! The page's program (the main thread): it builds the controls, turns DOM events into
//! messages for `page::update`, carries out the effects, applies `page::view` to the DOM and
//! draws the charts, and talks to the training worker (`remote`). It trains nothing.

mod bus;
mod canvas;
mod dom;
mod export;
mod knobs;
mod lanes;
mod remote;
mod render;
mod shell;
mod store;
mod webgpu_module;

pub use shell::boot;
