//! Causal attention's core on CubeCL (#32): softmax(scale·q·kᵀ, causal)·v in one kernel, its
//! backward in two, reading q, k and v in place from the one projection's [batch, time,
//! 3·heads, dh] rows (any strides), writing the heads' outputs already merged and the gradient
//! of all three as one tensor like the input (so it reaches the product whole: split into
//! three, autodiff would zero-fill and scatter each part and add them up). Burn's composition is
//! about forty launches a layer under autodiff: the head-major copies for each product, the
//! two products and four backward, the mask, the softmax and its backward (measured on lavapipe:
//! these three kernels took a reference step from 262 launches to 180, two layers).
//!
//! A thread owns a query row forward (an online softmax over j ≤ i, FlashAttention's
//! recurrence, keeping only the row's log-sum-exp for the backward), then a query row for dq
//! and a key row for dk and dv backward (both recompute p from the log-sum-exp: nothing of
//! size t×t is stored). Rows are short here (the context and the head width are small), so
//! one thread keeps its row and accumulators in registers; the head width is a compile-time
//! size (one shader per width).

use burn_cubecl::kernel::untile;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::{f32_type, launch_grid, scalar_like};

/// Heads wider than this take Burn's composition (the kernel keeps three rows of this many
/// values per thread in registers).
pub const MAX_HEAD_DIM: usize = crate::knobs::gpt::KERNEL_HEAD_DIM;

/// The thread's (b, head, row) for one thread per row of [batch, heads, time] (the log-sum-exp's
/// layout), with qkv [batch, time, 3·heads, dh].
#[cube]
fn thread_row<F: Float>(qkv: &Tensor<F>, pos: usize) -> (usize, usize, usize) {
    let t = qkv.shape(1);
    let heads = qkv.shape(2) / 3;
    (pos / (t * heads), (pos / t) % heads, pos % t)
}

/// The offset of element [b, i, head, 0] of a contiguous [batch, time, `width` heads, dh]
/// tensor (the output, `width` = heads; the gradient, `width` = 3·heads).
#[cube]
fn packed_start(t: usize, width: usize, b: usize, i: usize, head: usize, #[comptime] dh: usize) -> usize {
    ((b * t + i) * width + head) * dh
}

/// The offset of element [b, i, head, 0] of a [batch, time, heads, dh] tensor of any strides.
#[cube]
fn row_start<F: Float>(x: &Tensor<F>, b: usize, i: usize, head: usize) -> usize {
    b * x.stride(0) + i * x.stride(1) + head * x.stride(2)
}

/// o_i = Σ_{j≤i} p_ij·v_j with p_i = softmax_j(scale·q_i·k_j); lse_i = log Σ_j e^{scale·q_i·k_j};
/// largest_i = max_j scale·q_i·k_j (the instability proxy's row maxima, for free). Head `head`'s
/// query, key and value are qkv's heads `head`, heads + `head` and 2·heads + `head`.
#[cube(launch)]
fn forward_kernel<F: Float>(
    qkv: &Tensor<F>,
    o: &mut Tensor<F>,
    lse: &mut Tensor<F>,
    largest: &mut Tensor<F>,
    scale: f32,
    #[comptime] dh: usize,
    #[define(F)] _dtype: ElemType,
) {
    let scale = F::cast_from(scale);
    // lse and largest are [batch, heads, time]: the thread's (b, head, i).
    let pos = ABSOLUTE_POS;
    if pos >= lse.len() {
        terminate!();
    }
    let (b, head, i) = thread_row::<F>(qkv, pos);
    let (t, heads, cs) = (qkv.shape(1), qkv.shape(2) / 3, qkv.stride(3));
    let q0 = row_start::<F>(qkv, b, i, head);
    let mut qi = Array::<F>::new(dh);
    let mut acc = Array::<F>::new(dh);
    #[unroll]
    for c in 0..dh {
        qi[c] = qkv[q0 + c * cs] * scale;
        acc[c] = F::new(0.0);
    }
    // The running max starts at the first score (j = 0 is always attended): WGSL has no −∞.
    let mut m = F::new(0.0);
    let mut l = F::new(0.0);
    for j in 0..i + 1 {
        let k0 = row_start::<F>(qkv, b, j, heads + head);
        let mut s = F::new(0.0);
        #[unroll]
        for c in 0..dh {
            s += qi[c] * qkv[k0 + c * cs];
        }
        if j == 0 {
            m = s;
        }
        let m_new = F::max(m, s);
        let correction = (m - m_new).exp();
        let p = (s - m_new).exp();
        l = l * correction + p;
        let v0 = row_start::<F>(qkv, b, j, 2 * heads + head);
        #[unroll]
        for c in 0..dh {
            acc[c] = acc[c] * correction + p * qkv[v0 + c * cs];
        }
        m = m_new;
    }
    let inv = F::new(1.0) / l;
    // o is contiguous [batch, time, heads, dh].
    let o0 = packed_start(t, heads, b, i, head, dh);
    #[unroll]
    for c in 0..dh {
        o[o0 + c] = acc[c] * inv;
    }
    lse[pos] = m + l.ln();
    largest[pos] = m;
}

/// dq_i = scale·Σ_{j≤i} p_ij·(do_i·v_j − δ_i)·k_j with δ_i = do_i·o_i, kept for the keys' pass;
/// dq goes to the gradient's query heads.
#[cube(launch)]
fn dq_kernel<F: Float>(
    qkv: &Tensor<F>,
    o: &Tensor<F>,
    lse: &Tensor<F>,
    dout: &Tensor<F>,
    dqkv: &mut Tensor<F>,
    delta: &mut Tensor<F>,
    scale: f32,
    #[comptime] dh: usize,
    #[define(F)] _dtype: ElemType,
) {
    let scale = F::cast_from(scale);
    let pos = ABSOLUTE_POS;
    if pos >= lse.len() {
        terminate!();
    }
    let (b, head, i) = thread_row::<F>(qkv, pos);
    let (t, heads, cs, ds) = (qkv.shape(1), qkv.shape(2) / 3, qkv.stride(3), dout.stride(3));
    let q0 = row_start::<F>(qkv, b, i, head);
    let d0 = row_start::<F>(dout, b, i, head);
    let o0 = packed_start(t, heads, b, i, head, dh);
    let mut qi = Array::<F>::new(dh);
    let mut gi = Array::<F>::new(dh);
    let mut acc = Array::<F>::new(dh);
    let mut d = F::new(0.0);
    #[unroll]
    for c in 0..dh {
        qi[c] = qkv[q0 + c * cs] * scale;
        gi[c] = dout[d0 + c * ds];
        d += gi[c] * o[o0 + c];
        acc[c] = F::new(0.0);
    }
    let lse_i = lse[pos];
    for j in 0..i + 1 {
        let k0 = row_start::<F>(qkv, b, j, heads + head);
        let v0 = row_start::<F>(qkv, b, j, 2 * heads + head);
        let mut s = F::new(0.0);
        let mut dp = F::new(0.0);
        #[unroll]
        for c in 0..dh {
            s += qi[c] * qkv[k0 + c * cs];
            dp += gi[c] * qkv[v0 + c * cs];
        }
        let g = (s - lse_i).exp() * (dp - d);
        #[unroll]
        for c in 0..dh {
            acc[c] += g * qkv[k0 + c * cs];
        }
    }
    let g0 = packed_start(t, 3 * heads, b, i, head, dh);
    #[unroll]
    for c in 0..dh {
        dqkv[g0 + c] = acc[c] * scale;
    }
    delta[pos] = d;
}

/// dv_j = Σ_{i≥j} p_ij·do_i and dk_j = scale·Σ_{i≥j} p_ij·(do_i·v_j − δ_i)·q_i, to the
/// gradient's key and value heads.
#[cube(launch)]
fn dkv_kernel<F: Float>(
    qkv: &Tensor<F>,
    lse: &Tensor<F>,
    delta: &Tensor<F>,
    dout: &Tensor<F>,
    dqkv: &mut Tensor<F>,
    scale: f32,
    #[comptime] dh: usize,
    #[define(F)] _dtype: ElemType,
) {
    let scale = F::cast_from(scale);
    // The thread's key row j of (b, head); lse and delta are [batch, heads, time].
    let pos = ABSOLUTE_POS;
    if pos >= lse.len() {
        terminate!();
    }
    let (b, head, j) = thread_row::<F>(qkv, pos);
    let row = pos - j;
    let (t, heads, cs, ds) = (qkv.shape(1), qkv.shape(2) / 3, qkv.stride(3), dout.stride(3));
    let k0 = row_start::<F>(qkv, b, j, heads + head);
    let v0 = row_start::<F>(qkv, b, j, 2 * heads + head);
    let mut kj = Array::<F>::new(dh);
    let mut vj = Array::<F>::new(dh);
    let mut dk_acc = Array::<F>::new(dh);
    let mut dv_acc = Array::<F>::new(dh);
    #[unroll]
    for c in 0..dh {
        kj[c] = qkv[k0 + c * cs];
        vj[c] = qkv[v0 + c * cs];
        dk_acc[c] = F::new(0.0);
        dv_acc[c] = F::new(0.0);
    }
    for i in j..t {
        let q0 = row_start::<F>(qkv, b, i, head);
        let d0 = row_start::<F>(dout, b, i, head);
        let mut s = F::new(0.0);
        let mut dp = F::new(0.0);
        #[unroll]
        for c in 0..dh {
            s += qkv[q0 + c * cs] * kj[c];
            dp += dout[d0 + c * ds] * vj[c];
        }
        let p = (s * scale - lse[row + i]).exp();
        let g = p * (dp - delta[row + i]);
        #[unroll]
        for c in 0..dh {
            dv_acc[c] += p * dout[d0 + c * ds];
            dk_acc[c] += g * qkv[q0 + c * cs];
        }
    }
    let k_out = packed_start(t, 3 * heads, b, j, heads + head, dh);
    let v_out = packed_start(t, 3 * heads, b, j, 2 * heads + head, dh);
    #[unroll]
    for c in 0..dh {
        dqkv[k_out + c] = dk_acc[c] * scale;
        dqkv[v_out + c] = dv_acc[c];
    }
}

/// (o, lse, largest): qkv [batch, time, 3·heads, dh] (queries', keys' then values' heads; any
/// strides) → o contiguous [batch, time, heads, dh], the rows' log-sum-exp and their largest
/// scaled logit [batch, heads, time].
pub(super) fn forward(qkv: CubeTensor, scale: f32) -> (CubeTensor, CubeTensor, CubeTensor) {
    let qkv = untile(qkv);
    let [b, t, h3, dh] = qkv.meta.shape().dims::<4>();
    let h = h3 / 3;
    let o = scalar_like(&qkv, [b, t, h, dh].into());
    let lse = scalar_like(&qkv, [b, h, t].into());
    let largest = scalar_like(&qkv, [b, h, t].into());
    let (count, dim) = launch_grid(&qkv, b * h * t);
    forward_kernel::launch(
        &qkv.client.clone(),
        count,
        dim,
        qkv.into_tensor_arg(),
        o.clone().into_tensor_arg(),
        lse.clone().into_tensor_arg(),
        largest.clone().into_tensor_arg(),
        scale,
        dh,
        f32_type(),
    );
    (o, lse, largest)
}

/// d(qkv), contiguous [batch, time, 3·heads, dh], from the forward's input and outputs and
/// dL/do [batch, time, heads, dh].
pub(super) fn backward(
    qkv: CubeTensor,
    o: CubeTensor,
    lse: CubeTensor,
    dout: CubeTensor,
    scale: f32,
) -> CubeTensor {
    let (qkv, dout) = (untile(qkv), untile(dout));
    let [b, t, h3, dh] = qkv.meta.shape().dims::<4>();
    let h = h3 / 3;
    let client = qkv.client.clone();
    let dqkv = scalar_like(&qkv, [b, t, h3, dh].into());
    let delta = scalar_like(&qkv, [b, h, t].into());
    let (count, dim) = launch_grid(&qkv, b * h * t);
    dq_kernel::launch(
        &client,
        count.clone(),
        dim,
        qkv.clone().into_tensor_arg(),
        o.into_tensor_arg(),
        lse.clone().into_tensor_arg(),
        dout.clone().into_tensor_arg(),
        dqkv.clone().into_tensor_arg(),
        delta.clone().into_tensor_arg(),
        scale,
        dh,
        f32_type(),
    );
    dkv_kernel::launch(
        &client,
        count,
        dim,
        qkv.into_tensor_arg(),
        lse.into_tensor_arg(),
        delta.into_tensor_arg(),
        dout.into_tensor_arg(),
        dqkv.clone().into_tensor_arg(),
        scale,
        dh,
        f32_type(),
    );
    dqkv
}
