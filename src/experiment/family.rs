//! What each model family builds and costs, worked out from the experiment before any model
//! exists: its linear layers, parameters, the work and memory of a step, its own relations between
//! keys and its words in a legend. The experiment's sizes, caps, validation and descriptions ask
//! the family (`ExperimentConfig::arch`, the one place that picks it), so a family's arithmetic
//! lives in its own file beside the Burn model that it describes (`model::Family`):
//! `experiment/mlp.rs`, `experiment/planted.rs` (the MLP's linear student of the planted task)
//! and `experiment/gpt.rs`.

use crate::keys::{ConfigError, Key};
use crate::knobs::ExperimentConfig;

/// One item of a run's memory: what it is, its bytes and the link key that sizes it most.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryItem {
    pub what: &'static str,
    pub bytes: f64,
    pub key: &'static Key,
    /// Held only while a step (or an evaluation) runs: runs that take turns on one worker
    /// share it, and each worker of a pool holds its own (#33).
    pub step: bool,
    /// Held on a GPU too; not where only the CPU's path holds it (the attention scores, which
    /// the GPU's attention kernel never stores: it keeps each row's log-sum-exp).
    pub gpu: bool,
}

/// A model family's arithmetic.
pub trait Architecture: Sync {
    /// Every linear layer in forward order: its name, fan-in and fan-out (what LoRA's `target`
    /// selects, by index or name, and quantization rounds).
    fn linears(&self, cfg: &ExperimentConfig) -> Vec<(String, usize, usize)>;

    /// What the coordinate check records, in forward order: every linear layer's output (and the
    /// transformer's embedding and attention logits).
    fn coord_names(&self, cfg: &ExperimentConfig) -> Vec<String> {
        self.linears(cfg).into_iter().map(|(n, _, _)| n).collect()
    }

    /// Parameters of the whole model (weights, biases, embeddings, norms).
    fn parameters(&self, cfg: &ExperimentConfig) -> usize;

    /// Features of a sample (tokens of an example for a sequence task).
    fn input_dim(&self, cfg: &ExperimentConfig) -> usize;

    /// Outputs of the model: classes, a vocabulary, or the planted task's d.
    fn outputs(&self, cfg: &ExperimentConfig) -> usize;

    /// Positions an example's matrix products run over: its tokens; 1 for a vector.
    fn positions(&self, _cfg: &ExperimentConfig) -> usize {
        1
    }

    /// Work of a training step per example beyond the 6·parameters·positions of its matrix
    /// products (attention's products of queries and keys, and of probabilities and values).
    fn mixing_flops(&self, _cfg: &ExperimentConfig) -> f64 {
        0.0
    }

    /// Attention scores of one training example (0 without attention).
    fn scores(&self, _cfg: &ExperimentConfig) -> f64 {
        0.0
    }

    /// Positions a validation pass runs over (examples × positions).
    fn val_positions(&self, cfg: &ExperimentConfig) -> f64 {
        match cfg.own_table() {
            Some(t) => crate::knobs::own::split(t.rows()).1 as f64,
            None => cfg.points as f64,
        }
    }

    /// The weights quantization rounds beyond the linear layers', as (in, out) (the token
    /// embedding with `qemb`).
    fn extra_quantized(&self, _cfg: &ExperimentConfig) -> Vec<(usize, usize)> {
        Vec::new()
    }

    /// Whether an outlier channel (`qout`) keeps this model's function, so that its rounding
    /// applies one: a family that does not say so refuses the key rather than ignore it.
    fn outlier_channel(&self, _cfg: &ExperimentConfig) -> bool {
        false
    }

    /// Whether the model has a token embedding for `qemb` to round.
    fn has_token_embedding(&self) -> bool {
        false
    }

    /// What a training step holds in memory beside the weights and their optimizer state, for
    /// `batch` examples (bytes, f32): activations, scores, data.
    fn step_memory(&self, cfg: &ExperimentConfig, batch: f64) -> Vec<MemoryItem>;

    /// The model in words, and the knobs that size it (for the cap messages).
    fn sized_by(&self, cfg: &ExperimentConfig) -> (String, &'static str);

    /// The key that sizes the model most.
    fn size_key(&self) -> &'static Key;

    /// Why the family cannot read the experiment's task (the link's `model` chose it for
    /// one it does not read), with what to set instead; `None` when it reads it.
    fn refuses(&self, cfg: &ExperimentConfig) -> Option<String>;

    /// The family's own relations between keys (the transformer's heads divide the width, …).
    fn validate(&self, _cfg: &ExperimentConfig, _errs: &mut Vec<ConfigError>) {}

    /// The model in a legend: "w64 d3 relu", "gpt w64 d1 h4".
    fn describe(&self, cfg: &ExperimentConfig) -> String;

    /// Whether the model has a width that μP scales (the planted task's student has none).
    fn has_width(&self) -> bool {
        true
    }
}
