//! The MLP's arithmetic: `input` (d_in → w), `hidden.{i}` (w → w), `readout` (w → classes).

use super::family::{Architecture, MemoryItem};
use crate::keys::{self, Key};
use crate::knobs::ExperimentConfig;
use crate::knobs::arch::{Activation, Family, Residual};
use crate::knobs::task::{DIGIT_PIXELS, Task};
use crate::vocab::Named;

pub struct Mlp;

impl ExperimentConfig {
    /// Width × width layers: d − 1 in a plain MLP (whose input layer is its first hidden layer),
    /// one per residual block with `res` (d blocks on top of the input layer).
    pub fn hidden_layers(&self) -> usize {
        match self.residual {
            Residual::None => self.depth.saturating_sub(1),
            _ => self.depth,
        }
    }
}

/// A vector model's step memory beside its weights: each layer's activations, kept for the
/// backward pass, and the validation forward over every point with the data itself.
pub fn vector_step_memory(cfg: &ExperimentConfig, batch: f64) -> Vec<MemoryItem> {
    let f = 4.0;
    let dims = cfg.layer_dims();
    let outs: f64 = dims.iter().map(|&(_, o)| o as f64).sum();
    let widest = dims.iter().map(|&(_, o)| o).max().unwrap_or(0) as f64;
    // The validation forward over every point, two layers' outputs alive at a time, and the
    // data itself (training and validation inputs and targets).
    let n = cfg.own_table().map_or(cfg.points, |t| t.rows()) as f64;
    let io = (cfg.input_dim() + cfg.outputs().max(1)) as f64;
    vec![
        MemoryItem {
            what: "activations",
            bytes: f * 3.0 * batch * outs,
            key: &keys::BS,
            step: true,
            gpu: true,
        },
        MemoryItem {
            what: "data and validation",
            bytes: f * (2.0 * n * widest + 2.0 * n * io),
            key: &keys::N,
            step: false,
            gpu: true,
        },
    ]
}

/// A vector family given a sequence task or matrix sensing: what to set instead.
pub fn refuses_sequences(cfg: &ExperimentConfig) -> Option<String> {
    if cfg.task == crate::knobs::task::Task::Sense {
        return Some(format!(
            "matrix sensing trains a factorised matrix: set {} (or {})",
            keys::MODEL.is(Family::Factor.key()),
            Family::Auto.key()
        ));
    }
    cfg.task.is_sequence().then(|| {
        format!(
            "{} is a sequence task for the transformer: set {} (or {})",
            keys::TASK.is(cfg.task.key()),
            keys::MODEL.is(Family::Gpt.key()),
            Family::Auto.key()
        )
    })
}

impl Architecture for Mlp {
    fn linears(&self, cfg: &ExperimentConfig) -> Vec<(String, usize, usize)> {
        let w = cfg.width;
        let mut v = vec![("input".to_string(), self.input_dim(cfg), w)];
        v.extend((1..=cfg.hidden_layers()).map(|i| (format!("hidden.{i}"), w, w)));
        v.push(("readout".to_string(), w, self.outputs(cfg)));
        v
    }

    fn parameters(&self, cfg: &ExperimentConfig) -> usize {
        let (w, k) = (cfg.width, self.outputs(cfg));
        let input = self.input_dim(cfg) * w + w;
        let hidden = cfg.hidden_layers() * (w * w + w);
        input + hidden + w * k + k
    }

    fn input_dim(&self, cfg: &ExperimentConfig) -> usize {
        match cfg.task {
            Task::Digits => DIGIT_PIXELS,
            // Without its table (refused by validation) the shape of the 2-D tasks.
            Task::Table => cfg.own_table().map_or(2, |t| t.dim()),
            _ => 2,
        }
    }

    /// Classes, or one output for a table's numeric target.
    fn outputs(&self, cfg: &ExperimentConfig) -> usize {
        match cfg.classes() {
            0 if cfg.task == Task::Table => 1,
            k => k,
        }
    }

    fn step_memory(&self, cfg: &ExperimentConfig, batch: f64) -> Vec<MemoryItem> {
        vector_step_memory(cfg, batch)
    }

    fn refuses(&self, cfg: &ExperimentConfig) -> Option<String> {
        refuses_sequences(cfg)
    }

    /// ReLU is positively homogeneous: scaling a unit's input weights by k and its outgoing row
    /// by 1/k leaves the function unchanged, which a residual branch would not.
    fn outlier_channel(&self, cfg: &ExperimentConfig) -> bool {
        cfg.act == Activation::Relu && cfg.residual == Residual::None
    }

    fn sized_by(&self, cfg: &ExperimentConfig) -> (String, &'static str) {
        (
            format!("a {}-wide, {}-layer model", cfg.width, cfg.depth),
            "the width, depth or batch size",
        )
    }

    fn size_key(&self) -> &'static Key {
        &keys::W
    }

    fn describe(&self, cfg: &ExperimentConfig) -> String {
        format!(
            "{} · w{} d{} {}",
            cfg.task.key(),
            cfg.width,
            cfg.depth,
            cfg.act.key()
        )
    }
}
