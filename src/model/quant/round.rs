//! A family's quantized copy, for any family: PTQ's model and QLoRA's frozen base. The weights
//! rounded are the family's linear layers' (`Family::linears`) and what it adds
//! (`Family::extra_rounded`), found by parameter id, so no family lists its layers again.

use std::collections::HashMap;

use burn::module::{ModuleMapper, Param, ParamId};
use burn::prelude::*;

use crate::model::Family;

/// Replaces each target weight by its rounding; every other tensor passes unchanged.
struct Rounding<'a> {
    /// Weight id → rounded as [out, in] (one scale per row of the stored [in, out] matrix).
    targets: HashMap<ParamId, bool>,
    round: &'a dyn Fn(Tensor<2>) -> Tensor<2>,
}

impl ModuleMapper for Rounding<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(&transposed) = self.targets.get(&param.id) else {
            return param;
        };
        // A family names only weight matrices; a tensor of another rank is left as it is.
        debug_assert_eq!(D, 2, "a rounded weight is a matrix");
        if D != 2 {
            return param;
        }
        // The same parameter (its id and training state kept), its value rounded.
        param.map(|w| {
            let dims = w.dims();
            let w: Tensor<2> = w.detach().reshape([dims[0], dims[1]]);
            let r = if transposed {
                (self.round)(w.transpose()).transpose()
            } else {
                (self.round)(w)
            };
            r.reshape(dims).detach()
        })
    }
}

/// A copy of `model` with LoRA merged (a LoRA layer's merged weight is what gets rounded), every
/// weight the family quantizes replaced by `round` of it (given [in, out]; biases, norms and
/// positions stay float), and no fake quantization left in its forward.
pub fn rounded<M: Family>(
    model: &M,
    q: &crate::knobs::quant::QuantConfig,
    round: &dyn Fn(Tensor<2>) -> Tensor<2>,
) -> M {
    let mut targets: HashMap<ParamId, bool> = model
        .linears()
        .iter()
        .map(|(_, l)| (l.weight.id, false))
        .collect();
    targets.extend(model.extra_rounded(q).into_iter().map(|id| (id, true)));
    let mut mapper = Rounding { targets, round };
    model.clone().materialize().map(&mut mapper).with_qat(None)
}
