//! Bias-only tuning (BitFit: Ben Zaken, Ravfogel, Goldberg 2021, arXiv:2106.10199): the
//! adaptation phase trains every additive bias term — each linear layer's bias and each norm's
//! β — and freezes everything else: weight matrices, embeddings and the norms' gains. The
//! cheapest point of E10's "how many parameters it takes": a coordinate subspace, where a random
//! subspace (`model::subspace`) mixes every parameter.

use burn::module::{ModuleMapper, Param, ParamId};
use burn::prelude::*;

use crate::model::Family;

/// Whether a tensor named `name` ("hidden.1.bias", "block.0.ln1.beta") is a bias term.
pub fn is_bias(name: &str) -> bool {
    name.ends_with(".bias") || name.ends_with(".beta")
}

/// The ids of `model`'s bias terms.
pub fn biases<M: Family>(model: &M) -> Vec<ParamId> {
    model
        .param_specs()
        .into_iter()
        .filter(|s| is_bias(&s.name))
        .map(|s| s.id)
        .collect()
}

struct Freeze {
    keep: Vec<ParamId>,
}

impl ModuleMapper for Freeze {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.keep.contains(&param.id) {
            param
        } else {
            param.set_require_grad(false)
        }
    }
}

/// `model` with only its bias terms trainable, and how many scalars train.
pub fn attach<M: Family>(model: M) -> (M, usize) {
    let keep = biases(&model);
    let mut count = 0;
    let mut sizes = Sizes {
        keep: &keep,
        count: &mut count,
    };
    model.visit(&mut sizes);
    (model.map(&mut Freeze { keep }), count)
}

struct Sizes<'a> {
    keep: &'a [ParamId],
    count: &'a mut usize,
}

impl burn::module::ModuleVisitor for Sizes<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.keep.contains(&param.id) {
            *self.count += param.lazy_shape().num_elements();
        }
    }
}
