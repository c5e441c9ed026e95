//! The stacked MLP's side of a stack (#33, `train::stack`): the runs' vector-task examples
//! stacked run after run, each run's batches from its own walk, and each run's loss — mean
//! cross-entropy for labels, mean squared error for values — as its unstacked step measures it.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::stack_walks::Walks;
use crate::data::device::BatchWalk;
use crate::data::{Rng, Samples, Targets, streams};
use crate::knobs::ExperimentConfig;
use crate::knobs::mup::{Part, Role};
use crate::model::stacked::StackedMlp;
use crate::model::{Mlp, VectorFamily};

/// Targets of K runs, stacked: labels `[K·n]` or values `[K·n, d]`.
#[derive(Clone)]
enum StackTargets {
    Labels(Tensor<1, Int>),
    Values(Tensor<2>),
}

impl StackTargets {
    fn select(&self, idx: Tensor<1, Int>) -> Self {
        match self {
            Self::Labels(y) => Self::Labels(y.clone().select(0, idx)),
            Self::Values(y) => Self::Values(y.clone().select(0, idx)),
        }
    }
}

impl Split {
    /// Only the runs at `idx` (`[K']`, positions among the `runs` stacked here).
    fn retain(&mut self, runs: usize, idx: &Tensor<1, Int>) {
        let (n, kept) = (self.n, idx.dims()[0]);
        let dim = self.x.dims()[1];
        let x = self.x.clone().reshape([runs, n, dim]).select(0, idx.clone());
        self.x = x.reshape([kept * n, dim]);
        self.y = match &self.y {
            StackTargets::Labels(y) => {
                let y = y.clone().reshape([runs, n]).select(0, idx.clone());
                StackTargets::Labels(y.reshape([kept * n]))
            }
            StackTargets::Values(y) => {
                let d = y.dims()[1];
                let y = y.clone().reshape([runs, n, d]).select(0, idx.clone());
                StackTargets::Values(y.reshape([kept * n, d]))
            }
        };
    }
}

/// One split of every run, run after run: inputs `[K·n, d]` and targets.
#[derive(Clone)]
struct Split {
    x: Tensor<2>,
    y: StackTargets,
    n: usize,
}

fn upload(splits: &[&Samples], device: &Device) -> Split {
    let n = splits[0].len();
    let dim = splits[0].dim;
    let rows = n * splits.len();
    let x: Vec<f32> = splits.iter().flat_map(|s| s.x.iter().copied()).collect();
    let x = Tensor::<2>::from_data(TensorData::new(x, [rows, dim]), device);
    let y = match &splits[0].targets {
        Targets::Labels(_) => {
            let l: Vec<i64> = splits.iter().flat_map(|s| s.labels().iter().copied()).collect();
            StackTargets::Labels(Tensor::from_data(TensorData::new(l, [rows]), device))
        }
        Targets::Values { dim: d, .. } => {
            let y: Vec<f32> = splits
                .iter()
                .flat_map(|s| match &s.targets {
                    Targets::Values { y, .. } => y.clone(),
                    Targets::Labels(_) => Vec::new(),
                })
                .collect();
            StackTargets::Values(Tensor::from_data(TensorData::new(y, [rows, *d]), device))
        }
    };
    Split { x, y, n }
}

/// The stacked MLP, its runs' examples and their batches.
pub(super) struct VectorStack {
    model: StackedMlp,
    train: Split,
    val: Split,
    walks: Walks,
}

impl VectorStack {
    /// The stack of `cfgs` (valid runs of one shape) on `device` (plain), over `total` steps,
    /// and its initial parameters.
    pub(super) fn new(cfgs: &[ExperimentConfig], total: usize, device: &Device) -> (Self, Vec<Tensor<3>>) {
        let mut models = Vec::with_capacity(cfgs.len());
        let mut walks = Vec::with_capacity(cfgs.len());
        let mut datasets = Vec::with_capacity(cfgs.len());
        for cfg in cfgs {
            // As `Trainer::new` and `Vectors::setup` do for one run: the batch stream first
            // shuffles the walk, the init stream draws the weights.
            let mut batch_rng = Rng::stream(cfg.seed, streams::BATCHES);
            let dataset = crate::data::generate(cfg);
            let walk = BatchWalk::new(dataset.train.len(), total, &mut batch_rng);
            let mut init_rng = Rng::stream(cfg.seed, streams::INIT);
            models.push(Mlp::build(
                cfg,
                cfg.input_dim(),
                cfg.outputs(),
                &mut init_rng,
                device,
            ));
            walks.push((walk, batch_rng));
            datasets.push(dataset);
        }
        let (model, params) = StackedMlp::new(&models, device);
        let train = upload(&datasets.iter().map(|d| &d.train).collect::<Vec<_>>(), device);
        let val = upload(&datasets.iter().map(|d| &d.val).collect::<Vec<_>>(), device);
        let stack = Self {
            model,
            train,
            val,
            walks: Walks::new(walks, cfgs[0].batch.max(1), total),
        };
        (stack, params)
    }

    pub(super) fn roles(&self) -> &[(Role, Part)] {
        &self.model.roles
    }

    /// Keeps only the runs `keep` of the `runs` in the stack (`idx` the same on the device).
    pub(super) fn retain(&mut self, runs: usize, keep: &[usize], idx: &Tensor<1, Int>, device: &Device) {
        self.model.retain(idx);
        self.train.retain(runs, idx);
        self.val.retain(runs, idx);
        self.walks.retain(keep, self.train.n, device);
    }

    /// Every run's mean loss, `[K]`: cross-entropy for labels, MSE over every output for values.
    /// pred: `[K, rows, out]`.
    fn losses(pred: Tensor<3>, y: StackTargets) -> Tensor<1> {
        let [k, rows, _] = pred.dims();
        match y {
            StackTargets::Labels(y) => {
                let picked = log_softmax(pred, 2).gather(2, y.reshape([k, rows, 1])); // [K, rows, 1]
                picked.mean_dim(1).reshape([k]).neg()
            }
            StackTargets::Values(y) => {
                let d = y.dims()[1];
                let err = (pred - y.reshape([k, rows, d])).square(); // [K, rows, d]
                err.reshape([k, rows * d]).mean_dim(1).reshape([k])
            }
        }
    }

    /// Every run's validation loss, `[K]`, with `params` plain (off the autodiff graph).
    pub(super) fn evaluate(&self, params: &[Tensor<3>]) -> Tensor<1> {
        let k = self.model.runs;
        let dim = self.val.x.dims()[1];
        let x = self.val.x.clone().reshape([k, self.val.n, dim]);
        let pred = self.model.forward(params, x); // [K, n, out]
        Self::losses(pred, self.val.y.clone())
    }

    /// Every run's loss on its next batch, `[K]`, on the graph of `leaves` (the parameters as
    /// autodiff leaves).
    pub(super) fn loss(&mut self, leaves: &[Tensor<3>], device: &Device) -> Tensor<1> {
        let k = self.model.runs;
        let dim = self.train.x.dims()[1];
        let (x, y) = match self.walks.next(self.train.n, device) {
            None => (self.train.x.clone(), self.train.y.clone()),
            Some(idx) => (
                self.train.x.clone().select(0, idx.clone()),
                self.train.y.select(idx),
            ),
        };
        let rows = x.dims()[0] / k;
        let x = x.reshape([k, rows, dim]); // [K, batch, d_in]
        let pred = self.model.forward(leaves, x.autodiff()); // [K, batch, out]
        let y = match y {
            StackTargets::Labels(y) => StackTargets::Labels(y.autodiff()),
            StackTargets::Values(y) => StackTargets::Values(y.autodiff()),
        };
        Self::losses(pred, y)
    }
}
