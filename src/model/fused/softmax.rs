//! Softmax rows on flex tensors: attention's causal, scaled softmax (scale, mask and
//! normalisation in one pass over the lower triangle, where Burn runs a multiply, a mask fill
//! and five reductions and maps, each with its own backward), its largest logit, and the
//! log-softmax of the loss (`tinytune_kernels::softmax`).

use burn_flex::FlexTensor;
use tinytune_kernels::softmax;

use super::flex::{contiguous, tensor, values};

/// The last axis' length, checked to be the second last's too: a [..., t, t] score tensor.
fn square_rows(x: &FlexTensor) -> usize {
    let dims = x.layout().shape();
    let n = dims.len();
    assert!(
        n >= 2 && dims[n - 1] == dims[n - 2],
        "causal softmax: scores must be [..., t, t]"
    );
    dims[n - 1]
}

/// The last axis' length.
fn row_len(x: &FlexTensor) -> usize {
    *x.layout().shape().last().expect("softmax: a scalar has no rows")
}

/// Scores [..., t, t] → weights: softmax over j ≤ i of `scale`·x_ij, 0 above the diagonal.
pub fn causal_forward(x: FlexTensor, scale: f32) -> FlexTensor {
    let x = contiguous(x);
    let mut y = vec![0f32; values(&x).len()];
    softmax::causal_forward(values(&x), &mut y, square_rows(&x), scale);
    tensor(y, x.layout().shape().clone())
}

/// dL/dx from the forward's output `y` and dL/dy (`grad`, y's shape).
pub fn causal_backward(y: FlexTensor, grad: FlexTensor, scale: f32) -> FlexTensor {
    let (y, grad) = (contiguous(y), contiguous(grad));
    let mut dx = vec![0f32; values(&y).len()];
    softmax::causal_backward(values(&y), values(&grad), &mut dx, square_rows(&y), scale);
    tensor(dx, y.layout().shape().clone())
}

/// The largest attended logit of scores [..., t, t] times `scale`: [1].
pub fn causal_max(x: FlexTensor, scale: f32) -> FlexTensor {
    let x = contiguous(x);
    let max = softmax::causal_max(values(&x), square_rows(&x), scale);
    tensor(vec![max], vec![1].into())
}

/// log softmax over the last axis; any shape [..., n].
pub fn log_forward(x: FlexTensor) -> FlexTensor {
    let x = contiguous(x);
    let mut y = vec![0f32; values(&x).len()];
    softmax::log_forward(values(&x), &mut y, row_len(&x));
    tensor(y, x.layout().shape().clone())
}

/// dL/dx from the forward's output `y` and dL/dy (`grad`, y's shape).
pub fn log_backward(y: FlexTensor, grad: FlexTensor) -> FlexTensor {
    let (y, grad) = (contiguous(y), contiguous(grad));
    let mut dx = vec![0f32; values(&y).len()];
    softmax::log_backward(values(&y), values(&grad), &mut dx, row_len(&y));
    tensor(dx, y.layout().shape().clone())
}
