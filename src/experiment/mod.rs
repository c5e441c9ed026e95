//! The experiment: the aggregate of every knob (`ExperimentConfig`), its validation, what it
//! builds and costs, its rates and its description in words.

mod config;
pub mod cost;
pub mod describe;
pub mod rates;
mod shape;
mod validate;

pub use config::*;
pub use cost::limits;
pub use shape::EVAL_EVERY;
