//! Training: the MLP's trainer and the transformer's (`sequence`), one `Job` over both, their
//! optimizer groups and schedules, the loop over runs with its one
//! readback, the results (`metrics::Run`) and their export.

pub mod adam;
pub mod adapt;
pub mod drive;
pub mod export;
pub mod groups;
pub mod job;
pub mod live_sample;
pub mod metrics;
pub mod probe;
pub mod schedule;
pub mod sequence;
pub mod sequence_views;
mod trainer;

pub use adapt::Adaptation;
pub use drive::{Analysis, read_analysis, train_run, train_sweep};
pub use job::Job;
pub use trainer::*;
