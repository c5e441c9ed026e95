//! What a model family trains on and how it is scored: its data of each phase on the device, its
//! batches, its loss, its validation and what it measures besides. The trainer
//! (`train::Trainer`) is written once against this and `model::Family`; a family brings one
//! objective (`vector` for the MLP's tasks, `sequence` for the transformer's).

use burn::prelude::*;

use crate::data::Rng;
use crate::knobs::ExperimentConfig;
use crate::knobs::quant::QuantConfig;
use crate::model::Family;

use super::live_sample::LiveSample;
use super::sequence_views::SeqProbe;

/// A family's model with its data: what the trainer builds a run from.
pub struct Setup<O: Objective> {
    pub objective: O,
    pub model: O::Model,
}

/// One validation pass, queued: the loss [1] and, for families that measure them, the
/// accuracies on training and validation examples [2] and the matrix the model holds.
pub struct Evaluation {
    pub loss: Tensor<1>,
    pub accuracy: Option<Tensor<1>>,
    /// Matrix sensing: the model's M, [n·n] row-major; its singular values are computed as it
    /// is read back (`metrics::read_reports`).
    pub matrix: Option<Tensor<1>>,
    /// A vector classification task: the share of validation examples whose largest logit is
    /// their label, [1].
    pub val_acc: Option<Tensor<1>>,
}

/// A training batch's loss [1], and what the step measures beside it ([2] for the transformer:
/// the largest attention logit and the mean log Z).
pub struct BatchLoss {
    pub loss: Tensor<1>,
    pub stats: Option<Tensor<1>>,
}

/// A family's tasks as the trainer sees them. Every tensor it returns is queued, not read.
pub trait Objective: Sized + 'static {
    type Model: Family;
    /// A training batch: the model's input and what it is scored against.
    type Batch;

    /// The run's data (the pre-training phase's uploaded, the adaptation phase's kept for its
    /// switch when the run adapts) and its model, weights from the run's seeded streams; a
    /// walk over the first phase's examples of `steps` batches from `batch_rng`. `device`
    /// has autodiff on.
    fn setup(
        cfg: &ExperimentConfig,
        steps: usize,
        device: &Device,
        batch_rng: &mut Rng,
    ) -> Result<Setup<Self>, String>;

    /// Whether the adaptation phase's data waits for the switch.
    fn has_pending(&self) -> bool;

    /// Moves to the adaptation phase's data for its `steps` batches.
    fn switch(&mut self, steps: usize, device: &Device, batch_rng: &mut Rng);

    /// The next mini-batch of `batch` examples (all of them when it covers the training set).
    fn next_batch(&mut self, batch: usize, batch_rng: &mut Rng) -> Self::Batch;

    /// The batch's loss on `model` (on the autodiff graph: the step's backward follows).
    fn loss(&self, cfg: &ExperimentConfig, model: &Self::Model, batch: Self::Batch) -> BatchLoss;

    /// Examples in `batch`.
    fn rows(&self, batch: &Self::Batch) -> usize;

    /// The first `rows` examples of `batch` (at most all of them): the gradient noise scale's
    /// small batch (`train::noise`).
    fn head(&self, batch: &Self::Batch, rows: usize) -> Self::Batch;

    /// The validation loss of `model` (and accuracies), off the autodiff graph; `None` when the
    /// task has no validation examples.
    fn evaluate(&self, cfg: &ExperimentConfig, model: &Self::Model) -> Option<Evaluation>;

    /// The coordinate check's statistic: mean |output| of every linear layer on the first
    /// validation examples, [linear layers].
    fn coord(&self, model: &Self::Model) -> Tensor<1>;

    /// The validation loss of `model` with its weights rounded to `q` (PTQ, at the end of a run).
    fn quantized_loss(
        &self,
        cfg: &ExperimentConfig,
        model: &Self::Model,
        q: &QuantConfig,
        native: bool,
    ) -> Option<Tensor<1>>;

    /// The class probabilities on a `res`×`res` grid over the plane, [res·res·classes], for a
    /// 2-D classification task; `None` elsewhere.
    fn grid(&mut self, _model: &Self::Model, _res: usize, _device: &Device) -> Option<Grid> {
        None
    }

    /// The transformer's views (one head's pattern, answers, with `sample` the char LM's
    /// sample), queued; `None` for families without them.
    fn views(
        &self,
        _cfg: &ExperimentConfig,
        _model: &Self::Model,
        _sample: bool,
        _step: usize,
    ) -> Option<(SeqProbe, Vec<Tensor<1>>)> {
        None
    }

    /// The char LM's live sample of this run, when the task writes one.
    fn live_sample(&self, _cfg: &ExperimentConfig) -> Option<LiveSample> {
        None
    }

    /// Continues `context` (tokens) by `n` tokens drawn with `noise` on `model` as it is now:
    /// their tokens, [n]; `None` for families that do not write.
    fn sample(
        &self,
        _cfg: &ExperimentConfig,
        _model: &Self::Model,
        _context: &[i64],
        _noise: Vec<f32>,
        _n: usize,
    ) -> Option<Tensor<1, Int>> {
        None
    }
}

/// Cells per side of the decision boundary's grid.
pub const GRID_RES: usize = 48;

/// The decision boundary read back: class probabilities on the grid, row-major from the top,
/// [res·res·classes], and the training points of the phase it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Boundary {
    pub res: usize,
    pub classes: usize,
    pub probs: Vec<f32>,
    pub points: crate::data::Samples,
}

/// The decision boundary's grid, queued: probabilities [res·res·classes], with the task's
/// classes and the training points of the phase it belongs to.
pub struct Grid {
    pub probs: Tensor<1>,
    pub classes: usize,
    pub points: crate::data::Samples,
}
