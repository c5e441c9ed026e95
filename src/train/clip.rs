//! Gradient clipping by the global norm, as `torch.nn.utils.clip_grad_norm_` does it (link key
//! `clip`, docs/KNOBS.md §5): the norm of every gradient of the step taken together,
//! ‖g‖ = √(Σ g²), and every gradient multiplied by min(1, c / (‖g‖ + 1e-6)). Burn's own
//! `GradientClipping::Norm` clips each tensor by its own norm, which is not what a PyTorch user
//! means by clipping. The factor stays on the device (no read-back, so no stall on WebGPU).

use std::collections::HashSet;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;

use super::norms::gradient_norm;

/// torch's guard against a zero norm, added to it before dividing.
pub(super) const EPS: f64 = 1e-6;

/// Scales `grads` (the gradients of `model`'s parameters that train) so that their global norm
/// is at most `max_norm`, and returns them with that norm before clipping (`[1]`, on the
/// device). Parameters without a gradient (frozen ones) are left out of the norm, as torch
/// leaves out parameters whose `.grad` is `None`.
pub fn clip_global_norm<M: Module>(
    model: &M,
    mut grads: GradientsParams,
    max_norm: f64,
) -> (GradientsParams, Option<Tensor<1>>) {
    let Some(norm) = gradient_norm(model, &grads) else {
        return (grads, None);
    };
    // min(1, c / (‖g‖ + ε)), as torch clamps its clip coefficient.
    let factor = (norm.clone() + EPS).recip().mul_scalar(max_norm).clamp_max(1.0);
    let mut scale = Scale {
        grads: &mut grads,
        seen: HashSet::new(),
        factor,
    };
    model.visit(&mut scale);
    (grads, Some(norm))
}

/// Multiplies each gradient by the clip factor, once per parameter.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    seen: HashSet<ParamId>,
    /// `[1]`.
    factor: Tensor<1>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.seen.insert(param.id)
            && let Some(g) = self.grads.remove::<D>(param.id)
        {
            let factor = self.factor.clone().unsqueeze::<D>(); // [1, …, 1]
            self.grads.register(param.id, g * factor);
        }
    }
}
