//! The knobs as plain data: each setting a link names, its choices and limits, and the closed-form
//! maths that needs no model (γ, μP's rules, schedule factors, number formats); the experiment
//! that aggregates them (`ExperimentConfig`) and the view settings beside it. Above `vocab`,
//! below everything else.

pub mod arch;
pub mod deck;
pub mod experiment;
pub mod gpt;
pub mod lora;
pub mod mup;
pub mod optim;
pub mod own;
pub mod prune;
pub mod quant;
pub mod schedule;
pub mod sensing;
pub mod sequence;
pub mod task;
pub mod view;

pub use experiment::ExperimentConfig;
