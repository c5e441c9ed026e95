//! tinytune: train small networks in the browser on WebGPU (Burn), and turn the knobs of modern
//! training and fine-tuning while the curves respond.
//!
//! Data flows one way (DESIGN.md §4):
//!
//! ```text
//!  link / CLI arg ──url──▶ ExperimentConfig ──train::Trainer::new──▶ Trainer (model, optimizer,
//!                               ▲                                     data on the device)
//!  page controls ──web::state───┘                                          │ step(): queues work,
//!                                                                          ▼ returns tensors
//!  canvas / SVG ◀──plot── metrics::Run ◀── metrics::read_reports().await (ONE batched readback)
//! ```
//!
//! Everything outside `web` is backend-agnostic and tested natively on Burn's CPU backend (flex);
//! `web` is the thin wasm-only shell (DOM, frame-paced runner, backend choice).

pub mod backend;
pub mod config;
pub mod data;
pub mod device_data;
pub mod digits;
pub mod drive;
pub mod export;
pub mod groups;
pub mod lora;
pub mod metrics;
pub mod model;
pub mod mup;
pub mod planted;
pub mod plot;
pub mod presets;
pub mod quant;
pub mod schedule;
pub mod shape;
pub mod spectrum;
pub mod sweep;
pub mod train;
pub mod url;
pub mod validate;

#[cfg(target_family = "wasm")]
pub mod web;
