//! The step's global norms (link key `norms`, docs/KNOBS.md §5): the gradient's, ‖g‖ = √(Σ g²)
//! over every parameter that trains, before any clipping (what `clip_grad_norm_` returns), and
//! the update's, ‖Δθ‖ = √(Σ (θ_after − θ_before)²) over the same parameters (the optimizer's whole
//! step, weight decay included). Both stay on the device until the step's one readback. Each is
//! one reduction per tensor, so they are measured only when asked for (the page's WebGPU step
//! budget, #32).

use std::collections::{HashMap, HashSet};

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// The global norm of `grads` over `model`'s parameters that have one (`[1]`, on the device);
/// `None` when nothing trains. Frozen parameters are left out, as torch leaves out those whose
/// `.grad` is `None`.
pub fn gradient_norm<M: Module>(model: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    let mut squares = Squares {
        grads,
        seen: HashSet::new(),
        sums: Vec::new(),
    };
    model.visit(&mut squares);
    (!squares.sums.is_empty()).then(|| Tensor::cat(squares.sums, 0).sum().sqrt())
}

/// Σ g² of each gradient, once per parameter.
struct Squares<'a> {
    grads: &'a GradientsParams,
    seen: HashSet<ParamId>,
    sums: Vec<Tensor<1>>,
}

impl ModuleVisitor for Squares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.seen.insert(param.id)
            && let Some(g) = self.grads.get::<D>(param.id)
        {
            self.sums.push(g.square().sum());
        }
    }
}

/// The values of the parameters that train this step, before the update, by id (flattened,
/// off the autodiff graph; a clone shares the buffer, so this copies nothing).
pub struct Before(HashMap<ParamId, Tensor<1>>);

impl Before {
    /// The parameters of `model` that have a gradient in `grads`.
    pub fn of<M: Module>(model: &M, grads: &GradientsParams) -> Self {
        let mut v = Keep {
            grads,
            kept: HashMap::new(),
        };
        model.visit(&mut v);
        Self(v.kept)
    }

    /// ‖θ_after − θ_before‖ over the kept parameters (`[1]`); `None` when none trained.
    pub fn update_norm<M: Module>(self, after: &M) -> Option<Tensor<1>> {
        let mut d = Differences {
            before: self.0,
            sums: Vec::new(),
        };
        after.visit(&mut d);
        (!d.sums.is_empty()).then(|| Tensor::cat(d.sums, 0).sum().sqrt())
    }
}

struct Keep<'a> {
    grads: &'a GradientsParams,
    kept: HashMap<ParamId, Tensor<1>>,
}

impl ModuleVisitor for Keep<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.grads.get::<D>(param.id).is_some() && !self.kept.contains_key(&param.id) {
            let v = param.val().detach();
            let n = v.shape().num_elements();
            self.kept.insert(param.id, v.reshape([n]));
        }
    }
}

struct Differences {
    before: HashMap<ParamId, Tensor<1>>,
    sums: Vec<Tensor<1>>,
}

impl ModuleVisitor for Differences {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(old) = self.before.remove(&param.id) {
            let v = param.val().detach();
            let n = v.shape().num_elements();
            self.sums.push((v.reshape([n]) - old).square().sum());
        }
    }
}
