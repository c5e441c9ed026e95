//! Training in a random subspace (docs/KNOBS.md §2, E10; Li et al. 2018, "Measuring the Intrinsic
//! Dimension of Objective Landscapes"): every parameter of the model, weights, biases, norms and
//! embeddings alike, becomes θ = θ0 + P·z, where θ0 is its value when the phase begins, P is a
//! fixed random D×d matrix (D = every parameter of the model) with unit-length columns, and only
//! z ∈ R^d, starting at 0, trains.
//!
//! P is dense, as in the paper, where it fits (`experiment::limits::SUBSPACE_ENTRIES` entries
//! D·d): entries drawn N(0, 1) from the run's own stream, then each column divided by its norm
//! over all D rows (so ‖P·z‖ ≈ ‖z‖: d random unit vectors in R^D are nearly orthogonal). It is
//! stored a block per parameter tensor, the block's rows being that tensor's entries in row-major
//! order, so each tensor's value is θ0 + reshape(P_block·z) and the projection costs 2·D·d
//! multiply-adds a step (forward and backward). Beyond that size P is the paper's structured
//! Fastfood projection ([`super::fastfood`]), whose columns also have unit length: each tensor
//! holds its rows' share of it.
//!
//! Each tensor's block is a Burn reparameterization ([`SubspaceDelta`]), so the unchanged model
//! computes with θ0 + P·z, and its `z` is one and the same parameter in all of them: every
//! copy holds the same tensor (one autodiff leaf, whose gradient is the sum over the tensors,
//! Pᵀ·∇θ), under the same id (one gradient, one optimizer state). An optimizer writes the new
//! value into the first copy it meets; [`tie`] gives it to the others after each step.

use burn::module::{
    Module, ModuleMapper, ModuleVisitor, Param, ParamId, Reparameterization, Reparameterizer,
};
use burn::prelude::*;

use super::fastfood::{Draws, FastfoodRows};
use crate::data::{Rng, streams};

/// How P is stored: dense, or the structured Fastfood map (for D·d beyond the dense cap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Projection {
    Dense,
    Fastfood,
}

/// One tensor's share of the subspace: θ = θ0 + reshape(P_rows·z).
#[derive(Module, Debug)]
pub struct SubspaceDelta {
    /// The subspace's coordinates, [d]: the same parameter in every tensor's delta.
    pub z: Param<Tensor<1>>,
    /// This tensor's rows of a dense P, [numel, d]; a constant (not a parameter: it never trains).
    pub proj: Option<Tensor<2>>,
    /// Or its rows of the Fastfood map.
    pub fast: Option<FastfoodRows>,
}

impl Reparameterization for SubspaceDelta {
    const NAME: &'static str = "subspace";

    /// base: any shape with numel = P's rows here → the same shape.
    fn apply<const D: usize>(&self, base: Tensor<D>) -> Tensor<D> {
        let delta = match (&self.proj, &self.fast) {
            (Some(p), _) => {
                let d = p.dims()[1];
                p.clone()
                    .matmul(self.z.val().reshape([d, 1]))
                    .reshape(base.shape()) // [numel, 1]
            }
            (None, Some(f)) => f.apply(self.z.val()).reshape(base.shape()),
            (None, None) => return base,
        };
        base + delta
    }
}

/// The projection of a model: each float tensor's id and element count, in traversal order,
/// and its rows of P once drawn.
#[derive(Default)]
struct Tensors {
    ids: Vec<ParamId>,
    numels: Vec<usize>,
}

impl ModuleVisitor for Tensors {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.ids.push(param.id);
        self.numels.push(param.lazy_shape().num_elements());
    }
}

/// P as blocks of rows, one per tensor (row-major [numel, d]), with unit-length columns.
pub fn projection(numels: &[usize], d: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::stream(seed, streams::SUBSPACE);
    let mut blocks: Vec<Vec<f32>> = numels
        .iter()
        .map(|&n| (0..n * d).map(|_| rng.normal() as f32).collect())
        .collect();
    let mut norm2 = vec![0f64; d];
    for block in &blocks {
        for row in block.chunks_exact(d) {
            for (s, &v) in norm2.iter_mut().zip(row) {
                *s += f64::from(v) * f64::from(v);
            }
        }
    }
    let inv: Vec<f32> = norm2
        .iter()
        .map(|&s| (1.0 / s.sqrt().max(1e-30)) as f32)
        .collect();
    for block in &mut blocks {
        for row in block.chunks_exact_mut(d) {
            for (v, &k) in row.iter_mut().zip(&inv) {
                *v *= k;
            }
        }
    }
    blocks
}

/// A tensor's rows of P, handed to it once.
enum Rows {
    Dense(Vec<f32>),
    /// Its first row in P and its row count.
    Fast(usize, usize),
}

struct Attach {
    ids: Vec<ParamId>,
    rows: Vec<Option<Rows>>,
    /// The Fastfood draws, when P is structured.
    draws: Option<Draws>,
    z: Param<Tensor<1>>,
    d: usize,
}

impl Reparameterizer for Attach {
    type Reparam = SubspaceDelta;

    fn reparameterize<const D: usize>(
        &mut self,
        _path: &str,
        param: Param<Tensor<D>>,
    ) -> (Param<Tensor<D>>, Option<SubspaceDelta>) {
        let rows = self
            .ids
            .iter()
            .position(|&id| id == param.id)
            .and_then(|i| self.rows[i].take());
        let device = param.lazy_device();
        let (proj, fast) = match (rows, &self.draws) {
            (Some(Rows::Dense(block)), _) => {
                let rows = block.len() / self.d;
                let proj = Tensor::<2>::from_data(TensorData::new(block, [rows, self.d]), &device);
                (Some(proj), None)
            }
            (Some(Rows::Fast(start, rows)), Some(draws)) => {
                (None, Some(FastfoodRows::new(draws, start, rows, &device)))
            }
            _ => return (param.set_require_grad(false), None),
        };
        let delta = SubspaceDelta {
            z: self.z.clone(),
            proj,
            fast,
        };
        (param.set_require_grad(false), Some(delta))
    }
}

/// `model` with every parameter moved to θ0 + P·z, P drawn (stored as `kind` says) from
/// `seed`'s own stream, z = 0 of dimension `d` the only parameter that trains. Returns the model
/// and z's id (for [`tie`]).
pub fn attach<M: Module>(model: M, d: usize, seed: u64, kind: Projection) -> (M, ParamId) {
    let mut tensors = Tensors::default();
    model.visit(&mut tensors);
    let device = model
        .devices()
        .into_iter()
        .next()
        .expect("a model with parameters has a device");
    let (rows, draws) = match kind {
        Projection::Dense => {
            let blocks = projection(&tensors.numels, d, seed);
            (blocks.into_iter().map(|b| Some(Rows::Dense(b))).collect(), None)
        }
        Projection::Fastfood => {
            let total: usize = tensors.numels.iter().sum();
            let draws = Draws::new(total, d, &mut Rng::stream(seed, streams::SUBSPACE));
            let starts = tensors.numels.iter().scan(0, |at, &n| {
                *at += n;
                Some(*at - n)
            });
            let rows = starts
                .zip(&tensors.numels)
                .map(|(s, &n)| Some(Rows::Fast(s, n)))
                .collect();
            (rows, Some(draws))
        }
    };
    let z = Param::from_tensor(Tensor::<1>::zeros([d], &device));
    let id = z.id;
    let model = model.apply_reparameterization(Attach {
        ids: tensors.ids,
        rows,
        draws,
        z,
        d,
    });
    (model, id)
}

/// Gives every copy of z (id `z`) the value of the first one: the one an optimizer updated.
struct Tie {
    z: ParamId,
    /// The first copy's value, as met (z is a vector: the mapper sees it as a rank-1 tensor).
    first: Option<Box<dyn std::any::Any + Send>>,
}

impl ModuleMapper for Tie {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if param.id != self.z {
            return param;
        }
        let (id, tensor, mapper) = param.consume();
        // The same tensor (the same autodiff leaf), not a reshaped copy of it: a type-level
        // cast only, since this parameter is z's and so of rank 1.
        let first = self.first.get_or_insert_with(|| Box::new(tensor.clone()));
        let value = first.downcast_ref::<Tensor<D>>().cloned().unwrap_or(tensor);
        Param::from_mapped_value(id, value, mapper)
    }
}

/// After an optimizer step: every tensor's delta reads the updated z again.
pub fn tie<M: Module>(model: M, z: ParamId) -> M {
    model.map(&mut Tie { z, first: None })
}
