//! The loss's masked cross-entropy on CubeCL (#32): from logits, targets and a mask to the mean
//! cross-entropy over the scored rows and their mean log-partition (a statistic, not
//! differentiated) in one kernel, and the logits' gradient in one more. Burn's composition
//! launched the log-softmax's reductions, the gather, three masked sums (each a zero-fill and a
//! reduction), the divisions and their backward apart: measured on lavapipe, these two kernels
//! (with the layers' largest logits taken pairwise and the positions' whole table used as it
//! is) took a reference step from 145 launches to 127; an earlier pair, log p(y) and log Z of
//! each row with the sums left to Burn, had taken it from 180 to 173.
//!
//! The forward is one cube of [`THREADS`] threads: each scores rows `THREADS` apart and keeps
//! three partial sums (Σ m·log p(y), Σ m·log Z, Σ m), which a tree in shared memory adds up. A
//! loss has a few thousand rows of a few hundred logits: one cube is enough, and it saves the
//! second launch (or the atomics) a grid would need to combine its cubes.

use burn_cubecl::kernel::{into_contiguous, untile};
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;
use cubecl::{CubeCount, CubeDim};

use super::{f32_type, launch_grid, scalar_like};

/// Threads of the forward's one cube (WebGPU's guaranteed most), a power of two for its tree.
const THREADS: usize = 256;
/// log₂ [`THREADS`]: the tree's levels.
const LEVELS: usize = 8;

/// loss = −Σ m_i·(logit_{i,y_i} − log Z_i) / S and mean_z = Σ m_i·log Z_i / S with
/// S = max(Σ m_i, 1), over the rows of logits [n, v] with targets y and mask m ([n, 1] each);
/// `saved` [n + 1] keeps each row's log Z and then S for the backward.
#[cube(launch)]
fn forward_kernel<F: Float, I: Numeric>(
    logits: &Tensor<F>,
    y: &Tensor<I>,
    mask: &Tensor<F>,
    loss: &mut Tensor<F>,
    mean_z: &mut Tensor<F>,
    saved: &mut Tensor<F>,
    #[define(F, I)] _dtypes: [ElemType; 2],
) {
    let tid = UNIT_POS as usize;
    let n = logits.shape(0);
    let v = logits.shape(1);
    let mut logp_sum = F::new(0.0);
    let mut z_sum = F::new(0.0);
    let mut scored = F::new(0.0);
    // Rows tid, tid + THREADS, …: every thread runs the loop, so the barriers below are reached
    // by all (WGSL requires it).
    let rows = (n + THREADS - 1 - tid) / THREADS;
    for r in 0..rows {
        let row = tid + r * THREADS;
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
        // A target past the vocabulary (none is: the datasets' targets are tokens) reads the
        // last logit rather than another row's.
        let mut target = u32::cast_from(y[row]) as usize;
        if target >= v {
            target = v - 1;
        }
        let w = mask[row];
        logp_sum += w * (logits[base + target] - z);
        z_sum += w * z;
        scored += w;
        saved[row] = z;
    }
    let mut s_logp = Shared::<[F]>::new_slice(THREADS);
    let mut s_z = Shared::<[F]>::new_slice(THREADS);
    let mut s_scored = Shared::<[F]>::new_slice(THREADS);
    s_logp[tid] = logp_sum;
    s_z[tid] = z_sum;
    s_scored[tid] = scored;
    sync_cube();
    for level in 0..LEVELS {
        // A value at run time (a constant's would be fixed when the kernel is built).
        let half = THREADS >> (level + 1);
        if tid < half {
            let logp = s_logp[tid] + s_logp[tid + half];
            let z = s_z[tid] + s_z[tid + half];
            let scored = s_scored[tid] + s_scored[tid + half];
            s_logp[tid] = logp;
            s_z[tid] = z;
            s_scored[tid] = scored;
        }
        sync_cube();
    }
    if tid == 0 {
        let s = F::max(s_scored[0], F::new(1.0));
        loss[0] = -s_logp[0] / s;
        mean_z[0] = s_z[0] / s;
        saved[n] = s;
    }
}

/// dlogits_ij = −g·m_i/S·([j = y_i] − p_ij) with p_ij = e^(logit_ij − log Z_i) and g = dL/dloss,
/// a thread per element.
#[cube(launch)]
fn backward_kernel<F: Float, I: Numeric>(
    logits: &Tensor<F>,
    y: &Tensor<I>,
    mask: &Tensor<F>,
    saved: &Tensor<F>,
    grad: &Tensor<F>,
    dlogits: &mut Tensor<F>,
    #[define(F, I)] _dtypes: [ElemType; 2],
) {
    let pos = ABSOLUTE_POS;
    if pos >= logits.len() {
        terminate!();
    }
    let n = logits.shape(0);
    let v = logits.shape(1);
    let row = pos / v;
    let j = pos % v;
    let g = -grad[0] * mask[row] / saved[n];
    let mut d = -g * (logits[pos] - saved[row]).exp();
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

/// (loss [1], mean log Z [1], saved [n + 1]) from logits [n, v], targets y [n, 1] and mask
/// [n, 1].
pub(super) fn forward(
    logits: CubeTensor,
    y: CubeTensor,
    mask: CubeTensor,
) -> (CubeTensor, CubeTensor, CubeTensor) {
    let (logits, y, mask) = (dense(logits), dense(y), dense(mask));
    let n = logits.meta.shape()[0];
    let loss = scalar_like(&logits, [1].into());
    let mean_z = scalar_like(&logits, [1].into());
    let saved = scalar_like(&logits, [n + 1].into());
    let index = index_type(y.dtype).expect("an index type the kernel takes");
    forward_kernel::launch(
        &logits.client.clone(),
        CubeCount::Static(1, 1, 1),
        CubeDim::new_1d(THREADS as u32),
        logits.into_tensor_arg(),
        y.into_tensor_arg(),
        mask.into_tensor_arg(),
        loss.clone().into_tensor_arg(),
        mean_z.clone().into_tensor_arg(),
        saved.clone().into_tensor_arg(),
        [f32_type(), index],
    );
    (loss, mean_z, saved)
}

/// dL/dlogits [n, v] from the forward's inputs, what it saved and dL/dloss [1].
pub(super) fn backward(
    logits: CubeTensor,
    y: CubeTensor,
    mask: CubeTensor,
    saved: CubeTensor,
    grad: CubeTensor,
) -> CubeTensor {
    let (logits, y, mask, grad) = (dense(logits), dense(y), dense(mask), untile(grad));
    let dlogits = scalar_like(&logits, logits.meta.shape().clone());
    let index = index_type(y.dtype).expect("an index type the kernel takes");
    let (count, dim) = launch_grid(&logits, logits.meta.num_elements());
    backward_kernel::launch(
        &logits.client.clone(),
        count,
        dim,
        logits.into_tensor_arg(),
        y.into_tensor_arg(),
        mask.into_tensor_arg(),
        saved.into_tensor_arg(),
        grad.into_tensor_arg(),
        dlogits.clone().into_tensor_arg(),
        [f32_type(), index],
    );
    dlogits
}
