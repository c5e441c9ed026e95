//! Quantization applied: the scalar reference, the tensor fake-quantizer, Burn's native path and
//! the weight-error figure. The settings are `knobs::quant`.

pub mod native;
pub mod scalar;
pub mod tensor;
pub mod weights;

use crate::knobs::quant::QuantConfig;
use crate::model::Mlp;

/// `model` as it is quantized: with the outlier channel when asked for.
pub fn prepare(q: &QuantConfig, model: &Mlp) -> Mlp {
    if q.outlier == 1.0 {
        model.clone()
    } else {
        model.with_outlier(q.outlier)
    }
}
