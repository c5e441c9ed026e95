//! The planted task's student (docs/EXPERIMENTS.md E1): the MLP family's linear map d → d, one bias-free
//! `readout` of no width, starting at the teacher's W0.

use super::family::{Architecture, MemoryItem};
use super::mlp::vector_step_memory;
use crate::keys::{self, Key};
use crate::knobs::ExperimentConfig;

pub struct Planted;

impl Architecture for Planted {
    fn linears(&self, cfg: &ExperimentConfig) -> Vec<(String, usize, usize)> {
        let d = cfg.planted.dim;
        vec![("readout".to_string(), d, d)]
    }

    fn parameters(&self, cfg: &ExperimentConfig) -> usize {
        cfg.planted.dim * cfg.planted.dim
    }

    fn input_dim(&self, cfg: &ExperimentConfig) -> usize {
        cfg.planted.dim
    }

    fn outputs(&self, cfg: &ExperimentConfig) -> usize {
        cfg.planted.dim
    }

    fn step_memory(&self, cfg: &ExperimentConfig, batch: f64) -> Vec<MemoryItem> {
        vector_step_memory(cfg, batch)
    }

    fn refuses(&self, _cfg: &ExperimentConfig) -> Option<String> {
        None
    }

    fn sized_by(&self, cfg: &ExperimentConfig) -> (String, &'static str) {
        let d = cfg.planted.dim;
        (
            format!("the planted task's {d}×{d} student"),
            "the dimension or batch size",
        )
    }

    fn size_key(&self) -> &'static Key {
        &keys::DIM
    }

    fn describe(&self, cfg: &ExperimentConfig) -> String {
        format!(
            "planted {} r*={}",
            keys::DIM.is(&cfg.planted.dim.to_string()),
            cfg.planted.rank
        )
    }

    fn has_width(&self) -> bool {
        false
    }
}
