//! Quantization applied: the scalar reference, the tensor fake-quantizer, Burn's native path and
//! the weight-error figure. The settings are `knobs::quant`.

pub mod native;
pub mod round;
pub mod scalar;
pub mod tensor;
pub mod weights;
