//! Reading and making the CPU backend's (flex) f32 tensors for the fused kernels: a contiguous
//! view of an input, a new tensor from the values a kernel wrote.

use burn::tensor::DType;
use burn_flex::{FlexTensor, Layout};
use burn_std::{Bytes, Shape};

/// `t` laid out contiguously (a view already so is shared, not copied).
pub fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() { t } else { t.to_contiguous() }
}

/// The values of a contiguous f32 tensor, in row-major order.
pub fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("the fused ops are routed to flex for contiguous f32 tensors only")
}

/// A tensor of `shape` holding `values` (row-major), without the zero-fill and copy that
/// `FlexTensor::empty` would add.
pub fn tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(shape), DType::F32)
}
