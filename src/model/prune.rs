//! Pruning applied (docs/EXPERIMENTS.md E13): copies of a trained model with its linear layers'
//! weights — or the change Δ its adaptation made to them — cut to each sparsity of
//! `knobs::prune::LEVELS` by each `knobs::prune::Method`. Biases, norms and embeddings stay, as
//! in the papers (they are a small share and pruning them breaks little but says nothing).
//!
//! Everything is queued on the device, nothing read back: a magnitude threshold is found by
//! bisection on counts (`thresholds`) rather than by sorting, whose CubeCL kernel reads back and
//! would panic on WebGPU. The random draws come from the run's seeded `PRUNE` stream on the CPU,
//! one per weight, shared by every level, so a weight dropped at p is dropped at every larger p
//! (the curves are nested, as a ticket's masks are).

use std::collections::HashMap;

use burn::module::{ModuleMapper, Param, ParamId};
use burn::prelude::*;

use crate::data::Rng;
use crate::knobs::prune::{LEVELS, Method, kept};
use crate::model::Family;

/// Halvings of the threshold's interval: 2⁻³² of the largest magnitude, below float32's
/// resolution of every threshold that keeps a weight of a typical layer, so the count kept is
/// exact but for ties.
const BISECTIONS: usize = 32;

/// For each count of `keep`, the smallest t with at most that many entries of `a` (≥ 0, [n])
/// above it: the magnitude threshold that keeps the `keep[j]` largest entries. [keep.len()].
pub fn thresholds(a: Tensor<1>, keep: &[usize]) -> Tensor<1> {
    let device = a.device();
    let (n, l) = (a.dims()[0], keep.len());
    let counts: Vec<f32> = keep.iter().map(|&k| k as f32).collect();
    let target = Tensor::<1>::from_data(TensorData::new(counts, [l]), &device);
    let column = a.clone().reshape([n, 1]).expand([n, l]);
    // Invariant: more than keep[j] entries above lo[j] (or lo[j] = 0), at most keep[j] above hi[j].
    let mut lo = Tensor::<1>::zeros([l], &device);
    let mut hi = a.max().repeat_dim(0, l);
    for _ in 0..BISECTIONS {
        let mid = (lo.clone() + hi.clone()) / 2.0;
        // [n, l]: entry i above level j's midpoint, counted down the column.
        let above = column
            .clone()
            .greater(mid.clone().reshape([1, l]).expand([n, l]))
            .float()
            .sum_dim(0)
            .reshape([l]);
        let too_many = above.greater(target.clone());
        lo = lo.mask_where(too_many.clone(), mid.clone());
        hi = hi.mask_where(too_many.bool_not(), mid);
    }
    hi
}

/// One uniform draw in [0, 1) per weight of each layer, from the run's `PRUNE` stream, as
/// tensors shaped like the weights.
fn uniform_draws(shapes: &[[usize; 2]], seed: u64, device: &Device) -> Vec<Tensor<2>> {
    let mut rng = Rng::stream(seed, crate::data::streams::PRUNE);
    shapes
        .iter()
        .map(|&[r, c]| {
            let u: Vec<f32> = (0..r * c).map(|_| rng.uniform() as f32).collect();
            Tensor::<2>::from_data(TensorData::new(u, [r, c]), device)
        })
        .collect()
}

/// Replaces each listed weight by its new value; every other tensor passes unchanged.
struct Replacing {
    by_id: HashMap<ParamId, Tensor<2>>,
    /// Keep a parameter that trains training (a sparse run's cut); otherwise the copies are
    /// detached (the end-of-run scores only measure).
    trainable: bool,
}

impl ModuleMapper for Replacing {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(w) = self.by_id.get(&param.id).cloned() else {
            return param;
        };
        let trainable = self.trainable;
        // Only linear weights are listed, so D = 2 (checked by the reshape's element count).
        param.map(|old| {
            let dims = old.dims();
            let new = w.reshape(dims).detach();
            if trainable && old.is_require_grad() {
                new.require_grad()
            } else {
                new
            }
        })
    }
}

/// `model` with each linear weight of `ids` replaced by `new` (same order), still training.
pub fn with_weights<M: Family>(model: M, ids: &[ParamId], new: Vec<Tensor<2>>) -> M {
    let mut mapper = Replacing {
        by_id: ids.iter().cloned().zip(new).collect(),
        trainable: true,
    };
    model.map(&mut mapper)
}

/// Each linear layer's weight id and value, [in, out], in forward order.
pub fn linear_weights(model: &impl Family) -> (Vec<ParamId>, Vec<Tensor<2>>) {
    model
        .linears()
        .iter()
        .map(|(_, l)| (l.weight.id, l.weight.val().detach()))
        .unzip()
}

/// Every entry's magnitude of `ts`, flattened and joined: [Σ sizes].
fn magnitudes(ts: &[Tensor<2>]) -> Tensor<1> {
    Tensor::cat(ts.iter().map(|t| t.clone().abs().flatten(0, 1)).collect(), 0)
}

/// The magnitude thresholds of `ts` taken together at each sparsity of `ps`: [ps.len()].
fn thresholds_at(ts: &[Tensor<2>], ps: &[f32]) -> Tensor<1> {
    let a = magnitudes(ts);
    let n = a.dims()[0];
    let keep: Vec<usize> = ps.iter().map(|&p| kept(n, p)).collect();
    thresholds(a, &keep)
}

/// `w`'s keep mask under the magnitude threshold `t` ([1]): 1 where |w| > t, 0 elsewhere.
fn above(w: &Tensor<2>, t: Tensor<1>) -> Tensor<2> {
    let dims = w.dims();
    w.clone().abs().greater(t.reshape([1, 1]).expand(dims)).float()
}

/// The keep masks of the draws `u` at sparsity `p`: kept where u ≥ p.
fn drawn(u: &[Tensor<2>], p: f32) -> Vec<Tensor<2>> {
    u.iter()
        .map(|u| u.clone().greater_equal_elem(p).float())
        .collect()
}

/// Each layer's keep mask (1 kept, 0 removed) at sparsity `p` by a method on the weights:
/// the largest magnitudes over all layers (`Global`) or within each (`Layer`), or the run's
/// seeded draws (`Random`, and for the Δ methods the same draws).
pub fn weight_masks(weights: &[Tensor<2>], method: Method, p: f32, seed: u64) -> Vec<Tensor<2>> {
    match method {
        Method::Global | Method::Delta => {
            let t = thresholds_at(weights, &[p]);
            weights.iter().map(|w| above(w, t.clone())).collect()
        }
        Method::Layer => weights
            .iter()
            .map(|w| above(w, thresholds_at(std::slice::from_ref(w), &[p])))
            .collect(),
        Method::Random | Method::Dare | Method::Drop => {
            let shapes: Vec<[usize; 2]> = weights.iter().map(|w| w.dims()).collect();
            let device = weights.first().map(Tensor::device).unwrap_or_default();
            drawn(&uniform_draws(&shapes, seed, &device), p)
        }
    }
}

/// A trained model ready to be cut: its linear weights, their change Δ since the adaptation
/// began (when it did), the draws and every threshold, queued once.
pub struct Pruner<M: Family> {
    /// LoRA merged, so a LoRA layer's weight is the one cut.
    model: M,
    ids: Vec<ParamId>,
    /// Each linear layer's weight, [in, out].
    weights: Vec<Tensor<2>>,
    /// Each layer's weight when the adaptation began, and Δ = W − W_base.
    delta: Option<(Vec<Tensor<2>>, Vec<Tensor<2>>)>,
    draws: Vec<Tensor<2>>,
    /// Magnitude thresholds at every level: over all layers' |W|, each layer's |W|, and all
    /// layers' |Δ|; each [levels].
    global: Tensor<1>,
    per_layer: Vec<Tensor<1>>,
    delta_global: Option<Tensor<1>>,
}

impl<M: Family> Pruner<M> {
    /// `base`: every linear layer's weight when the adaptation phase began (forward order, as
    /// `Family::linears` lists them); `None` for a run without one (no Δ methods then).
    pub fn new(model: &M, base: Option<&[Tensor<2>]>, seed: u64) -> Self {
        let model = model.clone().materialize();
        let (ids, weights) = linear_weights(&model);
        let device = weights.first().map(Tensor::device).unwrap_or_default();
        let shapes: Vec<[usize; 2]> = weights.iter().map(|w| w.dims()).collect();
        let delta = base.filter(|b| b.len() == weights.len()).map(|b| {
            let delta: Vec<Tensor<2>> = weights
                .iter()
                .zip(b)
                .map(|(w, b0)| w.clone() - b0.clone())
                .collect();
            (b.to_vec(), delta)
        });
        let global = thresholds_at(&weights, &LEVELS);
        let per_layer = weights
            .iter()
            .map(|w| thresholds_at(std::slice::from_ref(w), &LEVELS))
            .collect();
        let delta_global = delta.as_ref().map(|(_, d)| thresholds_at(d, &LEVELS));
        Self {
            draws: uniform_draws(&shapes, seed, &device),
            model,
            ids,
            weights,
            delta,
            global,
            per_layer,
            delta_global,
        }
    }

    /// The methods this model can be cut by: the Δ ones only after an adaptation phase.
    pub fn methods(&self) -> Vec<Method> {
        let mut m = Method::WEIGHTS.to_vec();
        if self.delta.is_some() {
            m.extend(Method::DELTA);
        }
        m
    }

    /// Each layer's keep mask (1 kept, 0 removed) of the weights or of Δ at level `j`.
    fn masks(&self, method: Method, j: usize) -> Vec<Tensor<2>> {
        let at = |t: &Tensor<1>| t.clone().slice(j..j + 1);
        match method {
            Method::Global => self.weights.iter().map(|w| above(w, at(&self.global))).collect(),
            Method::Layer => self
                .weights
                .iter()
                .zip(&self.per_layer)
                .map(|(w, t)| above(w, at(t)))
                .collect(),
            Method::Delta => match (&self.delta, &self.delta_global) {
                (Some((_, d)), Some(t)) => d.iter().map(|d| above(d, at(t))).collect(),
                _ => Vec::new(),
            },
            Method::Random | Method::Dare | Method::Drop => drawn(&self.draws, LEVELS[j]),
        }
    }

    /// The model cut by `method` at level `j` of `LEVELS`; `None` for a Δ method without Δ.
    pub fn pruned(&self, method: Method, j: usize) -> Option<M> {
        if method.on_delta() && self.delta.is_none() {
            return None;
        }
        if LEVELS[j] == 0.0 {
            return Some(self.model.clone());
        }
        let masks = self.masks(method, j);
        let new: Vec<Tensor<2>> = match (&self.delta, method) {
            (Some((base, delta)), Method::Dare | Method::Drop | Method::Delta) => {
                // DARE rescales the survivors by 1/(1 − p): E[mask/(1 − p)] = 1, so Δ's
                // expectation is kept; plain drops shrink it by (1 − p).
                let scale = if method == Method::Dare {
                    1.0 / (1.0 - f64::from(LEVELS[j]))
                } else {
                    1.0
                };
                base.iter()
                    .zip(delta)
                    .zip(masks)
                    .map(|((b, d), m)| b.clone() + d.clone() * m * scale)
                    .collect()
            }
            _ => self
                .weights
                .iter()
                .zip(masks)
                .map(|(w, m)| w.clone() * m)
                .collect(),
        };
        let mut mapper = Replacing {
            by_id: self.ids.iter().cloned().zip(new).collect(),
            trainable: false,
        };
        Some(self.model.clone().map(&mut mapper))
    }

    /// The fraction of each layer's weights global magnitude pruning keeps at every level,
    /// layer-major: [layers · levels]. A layer emptied at high sparsity is layer collapse.
    pub fn densities(&self) -> Tensor<1> {
        let per_layer: Vec<Tensor<1>> = self
            .weights
            .iter()
            .map(|w| {
                let [r, c] = w.dims();
                let l = LEVELS.len();
                let a = w.clone().abs().reshape([r * c, 1]).expand([r * c, l]);
                let t = self.global.clone().reshape([1, l]).expand([r * c, l]);
                a.greater(t).float().mean_dim(0).reshape([l])
            })
            .collect();
        Tensor::cat(per_layer, 0)
    }

    /// The linear layers' weight counts, in forward order.
    pub fn layer_sizes(&self) -> Vec<usize> {
        self.weights.iter().map(|w| w.dims().iter().product()).collect()
    }
}
