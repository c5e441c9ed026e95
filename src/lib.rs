//! tinytune: train small networks in the browser on WebGPU (Burn), and turn the knobs of modern
//! training and fine-tuning while the curves respond.
//!
//! Data flows one way (docs/ARCHITECTURE.md §2):
//!
//! ```text
//!  link / CLI arg ──link::url──▶ Study { experiment, sweep, view } ──train::Trainer::new──▶ Trainer
//!                                    ▲                                 (model, optimizer, data on
//!  page controls ──Msg──▶ page::update (State) ──Effect──▶ web shell    the device) │ step(): queues
//!                                    ▲                                              ▼ work
//!  canvas / SVG ◀──plot── train::metrics::Run ◀── read_reports().await (ONE batched readback)
//! ```
//!
//! Everything outside `web` is backend-agnostic and tested natively on Burn's CPU backend (flex);
//! `web` is the thin wasm-only shell: it turns DOM events and the runner's reports into messages
//! for `page::update` and carries out the effects that returns.

// The layers, bottom to top: each module uses only the ones listed before it (`tests/layers.rs`
// reads this list and fails the tests on an import against it or on any import cycle).

/// Named choices and numbers as links write them.
pub mod vocab;

/// Each knob's settings as plain data, with closed-form maths that needs no model; the
/// experiment and view settings they make up.
pub mod knobs;

/// The link keys, one row each: the only place a key's name, field, range and help are written.
pub mod keys;

/// The aggregate of the knobs: validation, sizes and costs, rates, descriptions.
pub mod experiment;

/// The link: study (experiment, sweep, view), the query-string codec, presets, decks.
pub mod link;

/// Seeded data sets and their upload to a device.
pub mod data;

/// Models on Burn: the MLP, LoRA adapters, quantization applied, devices.
pub mod model;

/// The trainer (one for every family), its optimizer groups, the loop over runs with its one
/// readback, results.
pub mod train;

/// Which device trains a study: `auto`'s timed probe of the CPU against a GPU.
pub mod device;

/// Charts, on any plotters backend.
pub mod plot;

/// What a study's results become: its figures (one policy for the page and the CLI) and its
/// tables (CSV, JSON).
pub mod report;

/// The page as a pure state machine: `update(&mut State, Msg) -> Vec<Effect>`.
pub mod page;

/// The browser shell: runs the page's effects on the DOM and the runner.
#[cfg(target_family = "wasm")]
pub mod web;
