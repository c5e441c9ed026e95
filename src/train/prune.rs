//! Pruning's end-of-run scores (docs/EXPERIMENTS.md E13, link key `prune`): every method of
//! `knobs::prune` at every level, each cut copy scored on the validation examples — queued on the
//! device at the last step (`PruneOutput`) and read back with the step's losses (`Pruned`).

use burn::prelude::*;

use super::objective::Objective;
use crate::knobs::ExperimentConfig;
use crate::knobs::prune::{LEVELS, Method};
use crate::model::Family;
use crate::model::prune::Pruner;

/// What the last step queued: the validation loss of each cut copy, method-major
/// [methods · levels], and the share of each layer global magnitude pruning keeps, layer-major
/// [layers · levels].
pub struct PruneOutput {
    pub methods: Vec<Method>,
    pub losses: Tensor<1>,
    pub layers: Vec<(String, usize)>,
    pub density: Tensor<1>,
}

impl PruneOutput {
    /// Every copy of `model` cut by each method at each level, scored by `objective`; `base` is
    /// each linear layer's weight when the adaptation phase began (the Δ methods need it).
    /// `None` when the task has no validation examples to score on.
    pub fn queue<O: Objective>(
        objective: &O,
        cfg: &ExperimentConfig,
        model: &O::Model,
        base: Option<&[Tensor<2>]>,
    ) -> Option<Self> {
        let pruner = Pruner::new(model, base, cfg.seed);
        let methods = pruner.methods();
        let mut losses = Vec::with_capacity(methods.len() * LEVELS.len());
        for &m in &methods {
            for j in 0..LEVELS.len() {
                losses.push(objective.evaluate(cfg, &pruner.pruned(m, j)?)?.loss);
            }
        }
        let names = model.linears().into_iter().map(|(n, _)| n);
        Some(Self {
            methods,
            losses: Tensor::cat(losses, 0),
            layers: names.zip(pruner.layer_sizes()).collect(),
            density: pruner.densities(),
        })
    }

    /// The shape of what comes back, to unpack it by.
    pub fn shape(&self) -> PruneShape {
        PruneShape {
            methods: self.methods.clone(),
            layers: self.layers.clone(),
        }
    }

    /// Its tensors, in the order [`PruneShape::read`] takes them.
    pub fn tensors(self) -> [Tensor<1>; 2] {
        [self.losses, self.density]
    }
}

/// How a queued [`PruneOutput`] is unpacked.
#[derive(Clone, Debug)]
pub struct PruneShape {
    methods: Vec<Method>,
    layers: Vec<(String, usize)>,
}

impl PruneShape {
    /// The report from `take`, which hands out the next values of the readback.
    pub fn read(self, take: &mut impl FnMut(usize) -> Vec<f32>) -> Pruned {
        let l = LEVELS.len();
        let curves = self.methods.into_iter().map(|m| (m, take(l))).collect();
        let layers = self
            .layers
            .into_iter()
            .map(|(name, size)| PrunedLayer {
                name,
                size,
                kept: take(l),
            })
            .collect();
        Pruned {
            levels: LEVELS.to_vec(),
            curves,
            layers,
        }
    }
}

/// Pruning's scores, read back (the last step's report).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pruned {
    /// The sparsities p, ascending (`knobs::prune::LEVELS` when the run trained).
    pub levels: Vec<f32>,
    /// Each method's validation loss at every level.
    pub curves: Vec<(Method, Vec<f32>)>,
    /// Each linear layer with its weight count and the share of it global magnitude pruning
    /// keeps at every level.
    pub layers: Vec<PrunedLayer>,
}

/// One layer under global magnitude pruning.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrunedLayer {
    pub name: String,
    pub size: usize,
    pub kept: Vec<f32>,
}

impl Pruned {
    /// The losses of `method`, when the run scored it.
    pub fn curve(&self, method: Method) -> Option<&[f32]> {
        self.curves
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, c)| c.as_slice())
    }
}
