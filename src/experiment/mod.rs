//! What an experiment (`knobs::ExperimentConfig`) builds and costs, whether it is valid, the
//! rates it trains at and its description in words.

mod config;
pub mod cost;
pub mod describe;
pub mod rates;
mod shape;
mod validate;

pub use cost::limits;
pub use shape::EVAL_EVERY;
pub use validate::validate;
