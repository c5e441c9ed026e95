//! The loss's per-row log-probability on CubeCL (#32): log p(y) and log Z of each row of logits in
//! one kernel, the gradient of log p(y) in another (log Z is a statistic here, not differentiated).
//! Burn's composition launched the log-softmax's reductions, the slices for log Z, the gather and
//! its scatter backward apart: measured on lavapipe, these two kernels took a reference step from
//! 180 launches to 173.

use burn_cubecl::kernel::{into_contiguous, untile};
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::{f32_type, launch_grid, scalar_like};

/// logp = logit_y − log Z and log Z of each row of logits [n, v], a thread per row.
#[cube(launch)]
fn forward_kernel<F: Float, I: Numeric>(
    logits: &Tensor<F>,
    y: &Tensor<I>,
    logp: &mut Tensor<F>,
    log_z: &mut Tensor<F>,
    #[define(F, I)] _dtypes: [ElemType; 2],
) {
    let row = ABSOLUTE_POS;
    let v = logits.shape(1);
    if row >= logits.shape(0) {
        terminate!();
    }
    let base = row * v;
    let mut m = logits[base];
    for j in 1..v {
        m = F::max(m, logits[base + j]);
    }
    let mut sum = F::new(0.0);
    for j in 0..v {
        sum += (logits[base + j] - m).exp();
    }
    let z = m + sum.ln();
    // A target past the vocabulary (none is: the datasets' targets are tokens) reads the last
    // logit rather than another row's.
    let mut target = u32::cast_from(y[row]) as usize;
    if target >= v {
        target = v - 1;
    }
    logp[row] = logits[base + target] - z;
    log_z[row] = z;
}

/// dlogits_ij = g_i·([j = y_i] − p_ij) with p_ij = e^(logit_ij − log Z_i), a thread per element.
#[cube(launch)]
fn backward_kernel<F: Float, I: Numeric>(
    logits: &Tensor<F>,
    y: &Tensor<I>,
    log_z: &Tensor<F>,
    grad: &Tensor<F>,
    dlogits: &mut Tensor<F>,
    #[define(F, I)] _dtypes: [ElemType; 2],
) {
    let pos = ABSOLUTE_POS;
    if pos >= logits.len() {
        terminate!();
    }
    let v = logits.shape(1);
    let row = pos / v;
    let j = pos % v;
    let g = grad[row * grad.stride(0)];
    let mut d = -g * (logits[pos] - log_z[row]).exp();
    if j == u32::cast_from(y[row]) as usize {
        d += g;
    }
    dlogits[pos] = d;
}

/// The kernels' element type for an index tensor of `dtype`, if they take it.
pub fn index_type(dtype: burn::tensor::DType) -> Option<ElemType> {
    use burn::tensor::DType;
    use cubecl::ir::{IntKind, UIntKind};
    match dtype {
        DType::I32 => Some(ElemType::Int(IntKind::I32)),
        DType::I64 => Some(ElemType::Int(IntKind::I64)),
        DType::U32 => Some(ElemType::UInt(UIntKind::U32)),
        _ => None,
    }
}

/// Rows read as one contiguous buffer.
fn dense(x: CubeTensor) -> CubeTensor {
    into_contiguous(untile(x))
}

/// (logp, log Z), each [n, 1], from logits [n, v] and targets y [n, 1].
pub(super) fn forward(logits: CubeTensor, y: CubeTensor) -> (CubeTensor, CubeTensor) {
    let (logits, y) = (dense(logits), dense(y));
    let n = logits.meta.shape()[0];
    let logp = scalar_like(&logits, [n, 1].into());
    let log_z = scalar_like(&logits, [n, 1].into());
    let index = index_type(y.dtype).expect("an index type the kernel takes");
    let (count, dim) = launch_grid(&logits, n);
    forward_kernel::launch(
        &logits.client.clone(),
        count,
        dim,
        logits.into_tensor_arg(),
        y.into_tensor_arg(),
        logp.clone().into_tensor_arg(),
        log_z.clone().into_tensor_arg(),
        [f32_type(), index],
    );
    (logp, log_z)
}

/// dL/dlogits [n, v] from the forward's logits, y and log Z, and dL/dlogp [n, 1].
pub(super) fn backward(logits: CubeTensor, y: CubeTensor, log_z: CubeTensor, grad: CubeTensor) -> CubeTensor {
    let (logits, y, grad) = (dense(logits), dense(y), untile(grad));
    let dlogits = scalar_like(&logits, logits.meta.shape().clone());
    let index = index_type(y.dtype).expect("an index type the kernel takes");
    let (count, dim) = launch_grid(&logits, logits.meta.num_elements());
    backward_kernel::launch(
        &logits.client.clone(),
        count,
        dim,
        logits.into_tensor_arg(),
        y.into_tensor_arg(),
        log_z.into_tensor_arg(),
        grad.into_tensor_arg(),
        dlogits.clone().into_tensor_arg(),
        [f32_type(), index],
    );
    dlogits
}
