//! Causal attention's core on CubeCL (#32): softmax(scale·q·kᵀ, causal)·v in one kernel, its
//! backward in two, reading q, k and v in place from the projections' [batch, time, heads, dh]
//! rows (any strides) and writing the heads' outputs already merged. Burn's composition is
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
pub const MAX_HEAD_DIM: usize = 128;

/// The thread's (b, head, row) for one thread per row of [batch, heads, time] (the log-sum-exp's
/// layout), with q [batch, time, heads, dh].
#[cube]
fn thread_row<F: Float>(q: &Tensor<F>, pos: usize) -> (usize, usize, usize) {
    let t = q.shape(1);
    let heads = q.shape(2);
    (pos / (t * heads), (pos / t) % heads, pos % t)
}

/// The offset of element [b, i, head, 0] of a contiguous [batch, time, heads, dh] output.
#[cube]
fn merged_start<F: Float>(q: &Tensor<F>, b: usize, i: usize, head: usize, #[comptime] dh: usize) -> usize {
    ((b * q.shape(1) + i) * q.shape(2) + head) * dh
}

/// The offset of element [b, i, head, 0] of a [batch, time, heads, dh] tensor.
#[cube]
fn row_start<F: Float>(x: &Tensor<F>, b: usize, i: usize, head: usize) -> usize {
    b * x.stride(0) + i * x.stride(1) + head * x.stride(2)
}

/// o_i = Σ_{j≤i} p_ij·v_j with p_i = softmax_j(scale·q_i·k_j); lse_i = log Σ_j e^{scale·q_i·k_j};
/// largest_i = max_j scale·q_i·k_j (the instability proxy's row maxima, for free).
#[cube(launch)]
fn forward_kernel<F: Float>(
    q: &Tensor<F>,
    k: &Tensor<F>,
    v: &Tensor<F>,
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
    let (b, head, i) = thread_row::<F>(q, pos);
    let (qs, ks, vs) = (q.stride(3), k.stride(3), v.stride(3));
    let q0 = row_start::<F>(q, b, i, head);
    let mut qi = Array::<F>::new(dh);
    let mut acc = Array::<F>::new(dh);
    #[unroll]
    for c in 0..dh {
        qi[c] = q[q0 + c * qs] * scale;
        acc[c] = F::new(0.0);
    }
    // The running max starts at the first score (j = 0 is always attended): WGSL has no −∞.
    let mut m = F::new(0.0);
    let mut l = F::new(0.0);
    for j in 0..i + 1 {
        let k0 = row_start::<F>(k, b, j, head);
        let mut s = F::new(0.0);
        #[unroll]
        for c in 0..dh {
            s += qi[c] * k[k0 + c * ks];
        }
        if j == 0 {
            m = s;
        }
        let m_new = F::max(m, s);
        let correction = (m - m_new).exp();
        let p = (s - m_new).exp();
        l = l * correction + p;
        let v0 = row_start::<F>(v, b, j, head);
        #[unroll]
        for c in 0..dh {
            acc[c] = acc[c] * correction + p * v[v0 + c * vs];
        }
        m = m_new;
    }
    let inv = F::new(1.0) / l;
    // o is contiguous [batch, time, heads, dh].
    let o0 = merged_start::<F>(q, b, i, head, dh);
    #[unroll]
    for c in 0..dh {
        o[o0 + c] = acc[c] * inv;
    }
    lse[pos] = m + l.ln();
    largest[pos] = m;
}

/// dq_i = scale·Σ_{j≤i} p_ij·(do_i·v_j − δ_i)·k_j with δ_i = do_i·o_i, kept for the keys' pass.
#[cube(launch)]
fn dq_kernel<F: Float>(
    q: &Tensor<F>,
    k: &Tensor<F>,
    v: &Tensor<F>,
    o: &Tensor<F>,
    lse: &Tensor<F>,
    dout: &Tensor<F>,
    dq: &mut Tensor<F>,
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
    let (b, head, i) = thread_row::<F>(q, pos);
    let (qs, ks, vs, ds) = (q.stride(3), k.stride(3), v.stride(3), dout.stride(3));
    let q0 = row_start::<F>(q, b, i, head);
    let d0 = row_start::<F>(dout, b, i, head);
    let o0 = merged_start::<F>(q, b, i, head, dh);
    let mut qi = Array::<F>::new(dh);
    let mut gi = Array::<F>::new(dh);
    let mut acc = Array::<F>::new(dh);
    let mut d = F::new(0.0);
    #[unroll]
    for c in 0..dh {
        qi[c] = q[q0 + c * qs] * scale;
        gi[c] = dout[d0 + c * ds];
        d += gi[c] * o[o0 + c];
        acc[c] = F::new(0.0);
    }
    let lse_i = lse[pos];
    for j in 0..i + 1 {
        let k0 = row_start::<F>(k, b, j, head);
        let v0 = row_start::<F>(v, b, j, head);
        let mut s = F::new(0.0);
        let mut dp = F::new(0.0);
        #[unroll]
        for c in 0..dh {
            s += qi[c] * k[k0 + c * ks];
            dp += gi[c] * v[v0 + c * vs];
        }
        let g = (s - lse_i).exp() * (dp - d);
        #[unroll]
        for c in 0..dh {
            acc[c] += g * k[k0 + c * ks];
        }
    }
    #[unroll]
    for c in 0..dh {
        dq[o0 + c] = acc[c] * scale;
    }
    delta[pos] = d;
}

/// dv_j = Σ_{i≥j} p_ij·do_i and dk_j = scale·Σ_{i≥j} p_ij·(do_i·v_j − δ_i)·q_i.
#[cube(launch)]
fn dkv_kernel<F: Float>(
    q: &Tensor<F>,
    k: &Tensor<F>,
    v: &Tensor<F>,
    lse: &Tensor<F>,
    delta: &Tensor<F>,
    dout: &Tensor<F>,
    dk: &mut Tensor<F>,
    dv: &mut Tensor<F>,
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
    let (b, head, j) = thread_row::<F>(q, pos);
    let row = pos - j;
    let (qs, ks, vs, ds) = (q.stride(3), k.stride(3), v.stride(3), dout.stride(3));
    let k0 = row_start::<F>(k, b, j, head);
    let v0 = row_start::<F>(v, b, j, head);
    let mut kj = Array::<F>::new(dh);
    let mut vj = Array::<F>::new(dh);
    let mut dk_acc = Array::<F>::new(dh);
    let mut dv_acc = Array::<F>::new(dh);
    #[unroll]
    for c in 0..dh {
        kj[c] = k[k0 + c * ks];
        vj[c] = v[v0 + c * vs];
        dk_acc[c] = F::new(0.0);
        dv_acc[c] = F::new(0.0);
    }
    for i in j..q.shape(1) {
        let q0 = row_start::<F>(q, b, i, head);
        let d0 = row_start::<F>(dout, b, i, head);
        let mut s = F::new(0.0);
        let mut dp = F::new(0.0);
        #[unroll]
        for c in 0..dh {
            s += q[q0 + c * qs] * kj[c];
            dp += dout[d0 + c * ds] * vj[c];
        }
        let p = (s * scale - lse[row + i]).exp();
        let g = p * (dp - delta[row + i]);
        #[unroll]
        for c in 0..dh {
            dv_acc[c] += p * dout[d0 + c * ds];
            dk_acc[c] += g * q[q0 + c * qs];
        }
    }
    let o0 = merged_start::<F>(q, b, j, head, dh);
    #[unroll]
    for c in 0..dh {
        dk[o0 + c] = dk_acc[c] * scale;
        dv[o0 + c] = dv_acc[c];
    }
}

/// (o, lse, largest): q, k, v [batch, time, heads, dh] (any strides) → o contiguous [batch,
/// time, heads, dh], the rows' log-sum-exp and their largest scaled logit [batch, heads, time].
pub(super) fn forward(
    q: CubeTensor,
    k: CubeTensor,
    v: CubeTensor,
    scale: f32,
) -> (CubeTensor, CubeTensor, CubeTensor) {
    let (q, k, v) = (untile(q), untile(k), untile(v));
    let [b, t, h, dh] = q.meta.shape().dims::<4>();
    let o = scalar_like(&q, [b, t, h, dh].into());
    let lse = scalar_like(&q, [b, h, t].into());
    let largest = scalar_like(&q, [b, h, t].into());
    let (count, dim) = launch_grid(&q, b * h * t);
    forward_kernel::launch(
        &q.client.clone(),
        count,
        dim,
        q.into_tensor_arg(),
        k.into_tensor_arg(),
        v.into_tensor_arg(),
        o.clone().into_tensor_arg(),
        lse.clone().into_tensor_arg(),
        largest.clone().into_tensor_arg(),
        scale,
        dh,
        f32_type(),
    );
    (o, lse, largest)
}

/// (dq, dk, dv), each contiguous [batch, time, heads, dh], from the forward's inputs and
/// outputs and dL/do.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    q: CubeTensor,
    k: CubeTensor,
    v: CubeTensor,
    o: CubeTensor,
    lse: CubeTensor,
    dout: CubeTensor,
    scale: f32,
) -> (CubeTensor, CubeTensor, CubeTensor) {
    let (q, k, v, dout) = (untile(q), untile(k), untile(v), untile(dout));
    let [b, t, h, dh] = q.meta.shape().dims::<4>();
    let client = q.client.clone();
    let shape: burn::tensor::Shape = [b, t, h, dh].into();
    let (dq, dk, dv) = (
        scalar_like(&q, shape.clone()),
        scalar_like(&q, shape.clone()),
        scalar_like(&q, shape),
    );
    let delta = scalar_like(&q, [b, h, t].into());
    let (count, dim) = launch_grid(&q, b * h * t);
    dq_kernel::launch(
        &client,
        count.clone(),
        dim,
        q.clone().into_tensor_arg(),
        k.clone().into_tensor_arg(),
        v.clone().into_tensor_arg(),
        o.into_tensor_arg(),
        lse.clone().into_tensor_arg(),
        dout.clone().into_tensor_arg(),
        dq.clone().into_tensor_arg(),
        delta.clone().into_tensor_arg(),
        scale,
        dh,
        f32_type(),
    );
    dkv_kernel::launch(
        &client,
        count,
        dim,
        q.into_tensor_arg(),
        k.into_tensor_arg(),
        v.into_tensor_arg(),
        lse.into_tensor_arg(),
        delta.into_tensor_arg(),
        dout.into_tensor_arg(),
        dk.clone().into_tensor_arg(),
        dv.clone().into_tensor_arg(),
        scale,
        dh,
        f32_type(),
    );
    (dq, dk, dv)
}
