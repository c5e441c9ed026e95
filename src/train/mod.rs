//! Training: one generic trainer (`Trainer`) over a model family's objective (`vector` for the
//! MLP's tasks, `sequence` for the transformer's), its optimizer groups and schedules, the loop
//! over runs with its one readback, and the results (`metrics::Run`).

pub mod adam;
pub mod adapt;
pub mod clip;
pub mod critical;
mod device_seqs;
pub mod drive;
pub mod groups;
pub mod job;
pub mod live_sample;
pub mod metrics;
#[cfg(feature = "webgpu")]
pub mod multi_adam;
pub mod noise;
pub mod norms;
pub mod objective;
pub mod prune;
pub mod schedule;
pub mod sensing;
pub mod sequence;
pub mod sequence_views;
pub mod stack;
pub mod stack_optim;
pub mod stack_readback;
mod stack_sequence;
mod stack_vector;
mod stack_walks;
mod trainer;
pub mod vector;

pub use adapt::Adaptation;
#[cfg(not(target_family = "wasm"))]
pub use drive::train_sweep_pooled;
pub use drive::{
    Analysis, Weights, read_analysis, read_weights, train_run, train_run_from, train_sweep,
    train_sweep_stacked,
};
pub use job::{GptTrainer, Job, MlpTrainer, Training};
pub use trainer::*;
