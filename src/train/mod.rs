//! Training: the trainer and its optimizer groups and schedules, the loop over runs with its one
//! readback, the results (`metrics::Run`) and their export.

pub mod drive;
pub mod export;
pub mod groups;
pub mod metrics;
pub mod schedule;
mod trainer;

pub use drive::{Analysis, read_analysis, train_run, train_sweep};
pub use trainer::*;
