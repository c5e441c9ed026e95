//! Quantization applied: the scalar reference, the tensor fake-quantizer (and a stack's, each run
//! at its bits), Burn's native path and the weight-error figure. The settings are `knobs::quant`.

pub mod native;
pub mod round;
pub mod scalar;
pub mod stacked;
pub mod tensor;
pub mod weights;
