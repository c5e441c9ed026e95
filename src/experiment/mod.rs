//! What an experiment (`knobs::ExperimentConfig`) builds and costs, whether it is valid, the
//! rates it trains at and its description in words; what each model family builds is its own
//! file (`family`, `mlp`, `planted`, `gpt`).

mod config;
pub mod cost;
pub mod describe;
pub mod factor;
pub mod family;
mod gpt;
mod mlp;
mod planted;
pub mod pool;
pub mod rates;
mod shape;
pub mod stack;
mod validate;

pub use cost::limits;
pub use family::Architecture;
pub use shape::EVAL_EVERY;
pub use validate::{validate, validate_text};
