//! GELU, x·Φ(x) (the exact form, PyTorch's default), in one vectorised pass forward and one
//! backward on the CPU backend.

use burn_flex::FlexTensor;

use super::flex::{map, zip_map};
use super::math::{normal_cdf, normal_pdf};

/// y = x·Φ(x), elementwise; any shape.
pub fn forward(x: FlexTensor) -> FlexTensor {
    map(x, |x| x * normal_cdf(x))
}

/// dL/dx = g·(Φ(x) + x·φ(x)), elementwise; `x` and `grad` of one shape.
pub fn backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
    zip_map(x, grad, |x, g| g * (normal_cdf(x) + x * normal_pdf(x)))
}
