//! GELU, x·Φ(x) (the exact form, PyTorch's default), on flex tensors: `tinytune_kernels::gelu`.

use burn_flex::FlexTensor;
use tinytune_kernels::gelu;

use super::flex::{contiguous, tensor, values};

/// y = x·Φ(x), elementwise; any shape.
pub fn forward(x: FlexTensor) -> FlexTensor {
    let x = contiguous(x);
    let mut y = vec![0f32; values(&x).len()];
    gelu::forward(values(&x), &mut y);
    tensor(y, x.layout().shape().clone())
}

/// dL/dx = g·(Φ(x) + x·φ(x)), elementwise; `x` and `grad` of one shape.
pub fn backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
    let (x, grad) = (contiguous(x), contiguous(grad));
    assert_eq!(x.layout().shape(), grad.layout().shape(), "gelu: shapes differ");
    let mut dx = vec![0f32; values(&x).len()];
    gelu::backward(values(&x), values(&grad), &mut dx);
    tensor(dx, x.layout().shape().clone())
}
