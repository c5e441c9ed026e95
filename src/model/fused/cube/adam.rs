//! Adam over several tensors a launch on CubeCL (#32): PyTorch's update (`train::adam`) of up to
//! three parameters in one kernel, each updated in place, their moments packed in one buffer the
//! optimizer keeps for them. Burn's fusion made each parameter's update one kernel: 39 of a
//! reference transformer step's launches. One kernel over every parameter would need them packed
//! in one buffer, which Burn's modules and autodiff do not give; what a launch can take is bound
//! by the adapter's storage buffers: a parameter and its gradient are two bindings, the moments
//! and the step count two more and CubeCL's metadata one, so three parameters take 9 — what
//! SwiftShader and most GPUs offer a stage (10, less the one wgpu keeps) — and an adapter with
//! WebGPU's minimum of 8 gets two launches for three.
//!
//! A stack of runs (#33, `train::stack_optim`) updates its `[K, …]` parameters with the same
//! kernels: each run's η/b₁ and 1 − η·wd are read from the optimizer's table of rates (bound where
//! a single run binds its step count, so the bindings are the same) at the element's run, and
//! s = √(1 − β₂ᵗ) is a scalar — the update the stack's element-wise ops made, in the same order,
//! three parameters a launch instead of one.

use burn::backend::backend_extension;
use burn::backend::tensor::FloatTensor;
use burn_cubecl::kernel::untile;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::{f32_type, launch_grid};

/// Parameters one op updates.
pub const SLOTS: usize = 3;

/// What an update of three tensors needs besides them: the hyper-parameters (as f32, rounded from
/// PyTorch's doubles as `train::adam` rounds them) and each slot's rate, decay and place.
#[derive(Clone, Debug)]
pub struct AdamScalars {
    /// β₁, 1 − β₁, β₂, 1 − β₂, ln β₁, ln β₂, ε.
    pub beta_1: f32,
    pub one_minus_beta_1: f32,
    pub beta_2: f32,
    pub one_minus_beta_2: f32,
    pub ln_beta_1: f32,
    pub ln_beta_2: f32,
    pub epsilon: f32,
    /// Each slot's learning rate η and kept share 1 − η·wd (decoupled decay).
    pub lr: [f32; SLOTS],
    pub keep: [f32; SLOTS],
    /// Each slot's elements (0: an empty slot, whose tensors are not read) and where its first
    /// moment starts in the moments' buffer; the second moments start `half` further.
    pub len: [usize; SLOTS],
    pub at: [usize; SLOTS],
    pub half: usize,
    /// Slots a launch takes at most (besides what the adapter's bindings allow): [`SLOTS`]
    /// but in tests of the smaller launches an adapter with fewer bindings gets.
    pub per_launch: usize,
    /// A stack's rates (then `lr` and `keep` are not read, and the op's last tensor is the
    /// table of rates, not the step count).
    pub stack: Option<StackRates>,
}

/// Where a stack's per-run rates are (#33): each slot's η/b₁ for run k at `table[lr_at + k]`
/// and its 1 − η·wd at `table[keep_at + k]` (none: the slot does not decay), a run being
/// `per_run` consecutive elements of the slot's `[K, …]` parameter; s = √(1 − β₂ᵗ).
#[derive(Clone, Debug)]
pub struct StackRates {
    pub s: f32,
    pub lr_at: [usize; SLOTS],
    pub keep_at: [Option<usize>; SLOTS],
    pub per_run: [usize; SLOTS],
}

/// The optimizer's op (not differentiated: it runs on the parameters' values).
#[backend_extension(Cube, Fusion)]
pub trait CubeAdam: burn::backend::Backend {
    /// One Adam step of up to three parameters p (any shape) with gradients g: moments [2·half]
    /// (first moments, then second), t the step count [1] (from 1) or a stack's table of rates
    /// (`scalars.stack`) → (p₀, p₁, p₂, moments), each updated in place where it is not shared (a
    /// copy first where it is).
    #[allow(clippy::too_many_arguments)]
    #[fusion(meta = |p0, p1, p2, _g0, _g1, _g2, m, _t, _s| (p0.clone(), p1.clone(), p2.clone(), m.clone()))]
    fn cube_adam(
        p0: FloatTensor<Self>,
        p1: FloatTensor<Self>,
        p2: FloatTensor<Self>,
        g0: FloatTensor<Self>,
        g1: FloatTensor<Self>,
        g2: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        t: FloatTensor<Self>,
        scalars: AdamScalars,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );
}

/// Element `i` of x in row-major order, through x's strides (a gradient may be a view).
#[cube]
fn strided<F: Float>(x: &Tensor<F>, i: usize) -> usize {
    let rank = x.rank();
    let mut rest = i;
    let mut offset = 0;
    for k in 0..rank {
        let d = rank - 1 - k;
        let size = x.shape(d);
        offset += (rest % size) * x.stride(d);
        rest /= size;
    }
    offset
}

/// The step's corrections from its count t: (1/b₁, s) with b₁ = 1 − β₁ᵗ and s = √(1 − β₂ᵗ), as
/// `train::adam` computes them on a device (1 − e^{t·ln β₂} by its series near 0, where `exp`
/// would cancel).
#[cube]
fn corrections<F: Float>(t: F, ln_beta_1: F, ln_beta_2: F) -> (F, F) {
    let x = t * ln_beta_2;
    let mut sum = x * F::new(0.125) + F::new(1.0);
    // k = 7, 6, …, 2 of the series' Horner form (train::adam's SERIES_TERMS = 8).
    for j in 0..6u32 {
        let k = F::cast_from(7 - j);
        sum = sum * x * (F::new(1.0) / k) + F::new(1.0);
    }
    let series = -(sum * x);
    let direct = F::new(1.0) - x.exp();
    let mut s2 = direct;
    if x > F::new(-0.5) {
        s2 = series;
    }
    let inv_b1 = F::new(1.0) / (F::new(1.0) - (t * ln_beta_1).exp());
    (inv_b1, s2.sqrt())
}

/// The hyper-parameters every slot of a launch shares, as its kernel's arguments gave them.
#[derive(CubeType, Clone)]
struct Hyper {
    beta_1: f32,
    one_minus_beta_1: f32,
    beta_2: f32,
    one_minus_beta_2: f32,
    ln_beta_1: f32,
    ln_beta_2: f32,
    epsilon: f32,
    /// Where the second moments start in the moments' buffer.
    half: u32,
    /// 1: a stack's update (rates from the table, s given), 0: one run's.
    stacked: u32,
    s: f32,
}

/// One slot's rates: one run's η and 1 − η·wd, or where a stack's are in the table (`keep_at`
/// one past, 0 where the slot does not decay).
#[derive(CubeType, Clone)]
struct Rates {
    lr: f32,
    keep: f32,
    lr_at: u32,
    keep_at: u32,
    per_run: u32,
}

/// Element `i` of one slot: p ← p·keep − (η/b₁)·m / (√v / s + ε) in PyTorch's order, its
/// moments at `at + i` and `at + i + half`; p is contiguous. `aux` is one run's step count
/// (b₁ and s from it, on the device) or a stack's table (η/b₁ and keep of the element's run).
#[cube]
// `rate` is set on both branches; CubeCL's `if` takes no value, so it starts as a placeholder.
#[allow(clippy::too_many_arguments, unused_assignments)]
fn update<F: Float>(
    p: &mut Tensor<F>,
    g: &Tensor<F>,
    moments: &mut Tensor<F>,
    aux: &Tensor<F>,
    i: usize,
    at: u32,
    r: &Rates,
    h: &Hyper,
) {
    let mut rate = F::new(0.0);
    let mut keep = F::new(1.0);
    let mut s = F::cast_from(h.s);
    if h.stacked == 1 {
        let run = i / r.per_run as usize;
        rate = aux[r.lr_at as usize + run];
        // keep_at is the index + 1 (0: no decay, the rate alone).
        if r.keep_at > 0 {
            keep = aux[(r.keep_at - 1) as usize + run];
        }
    } else {
        let (inv_b1, s1) = corrections::<F>(aux[0], F::cast_from(h.ln_beta_1), F::cast_from(h.ln_beta_2));
        rate = inv_b1 * F::cast_from(r.lr);
        keep = F::cast_from(r.keep);
        s = s1;
    }
    let m_at = at as usize + i;
    let v_at = m_at + h.half as usize;
    let grad = g[strided::<F>(g, i)];
    let m = moments[m_at] * F::cast_from(h.beta_1) + grad * F::cast_from(h.one_minus_beta_1);
    let v = moments[v_at] * F::cast_from(h.beta_2) + grad * grad * F::cast_from(h.one_minus_beta_2);
    moments[m_at] = m;
    moments[v_at] = v;
    let den = v.sqrt() / s + F::cast_from(h.epsilon);
    let step = m / den * rate;
    p[i] = p[i] * keep - step;
}

/// Adam on one tensor, a thread an element.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn adam1_kernel<F: Float>(
    p0: &mut Tensor<F>,
    g0: &Tensor<F>,
    moments: &mut Tensor<F>,
    aux: &Tensor<F>,
    beta_1: f32,
    one_minus_beta_1: f32,
    beta_2: f32,
    one_minus_beta_2: f32,
    ln_beta_1: f32,
    ln_beta_2: f32,
    epsilon: f32,
    half: u32,
    stacked: u32,
    s: f32,
    lr0: f32,
    keep0: f32,
    len0: u32,
    at0: u32,
    lr_at0: u32,
    keep_at0: u32,
    per_run0: u32,
    #[define(F)] _dtype: ElemType,
) {
    let pos = ABSOLUTE_POS;
    let h = Hyper {
        beta_1,
        one_minus_beta_1,
        beta_2,
        one_minus_beta_2,
        ln_beta_1,
        ln_beta_2,
        epsilon,
        half,
        stacked,
        s,
    };
    let r0 = Rates {
        lr: lr0,
        keep: keep0,
        lr_at: lr_at0,
        keep_at: keep_at0,
        per_run: per_run0,
    };
    if pos < len0 as usize {
        update::<F>(p0, g0, moments, aux, pos, at0, &r0, &h);
    }
}

/// Adam on two tensors laid end to end, a thread an element.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn adam2_kernel<F: Float>(
    p0: &mut Tensor<F>,
    p1: &mut Tensor<F>,
    g0: &Tensor<F>,
    g1: &Tensor<F>,
    moments: &mut Tensor<F>,
    aux: &Tensor<F>,
    beta_1: f32,
    one_minus_beta_1: f32,
    beta_2: f32,
    one_minus_beta_2: f32,
    ln_beta_1: f32,
    ln_beta_2: f32,
    epsilon: f32,
    half: u32,
    stacked: u32,
    s: f32,
    lr0: f32,
    keep0: f32,
    len0: u32,
    at0: u32,
    lr_at0: u32,
    keep_at0: u32,
    per_run0: u32,
    lr1: f32,
    keep1: f32,
    len1: u32,
    at1: u32,
    lr_at1: u32,
    keep_at1: u32,
    per_run1: u32,
    #[define(F)] _dtype: ElemType,
) {
    let pos = ABSOLUTE_POS;
    let h = Hyper {
        beta_1,
        one_minus_beta_1,
        beta_2,
        one_minus_beta_2,
        ln_beta_1,
        ln_beta_2,
        epsilon,
        half,
        stacked,
        s,
    };
    let r0 = Rates {
        lr: lr0,
        keep: keep0,
        lr_at: lr_at0,
        keep_at: keep_at0,
        per_run: per_run0,
    };
    let r1 = Rates {
        lr: lr1,
        keep: keep1,
        lr_at: lr_at1,
        keep_at: keep_at1,
        per_run: per_run1,
    };
    // Slot 1 starts where slot 0 ends.
    let end0 = len0 as usize;
    if pos < end0 {
        update::<F>(p0, g0, moments, aux, pos, at0, &r0, &h);
    } else if pos < end0 + len1 as usize {
        update::<F>(p1, g1, moments, aux, pos - end0, at1, &r1, &h);
    }
}

/// Adam on three tensors laid end to end, a thread an element.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn adam3_kernel<F: Float>(
    p0: &mut Tensor<F>,
    p1: &mut Tensor<F>,
    p2: &mut Tensor<F>,
    g0: &Tensor<F>,
    g1: &Tensor<F>,
    g2: &Tensor<F>,
    moments: &mut Tensor<F>,
    aux: &Tensor<F>,
    beta_1: f32,
    one_minus_beta_1: f32,
    beta_2: f32,
    one_minus_beta_2: f32,
    ln_beta_1: f32,
    ln_beta_2: f32,
    epsilon: f32,
    half: u32,
    stacked: u32,
    s: f32,
    lr0: f32,
    keep0: f32,
    len0: u32,
    at0: u32,
    lr_at0: u32,
    keep_at0: u32,
    per_run0: u32,
    lr1: f32,
    keep1: f32,
    len1: u32,
    at1: u32,
    lr_at1: u32,
    keep_at1: u32,
    per_run1: u32,
    lr2: f32,
    keep2: f32,
    len2: u32,
    at2: u32,
    lr_at2: u32,
    keep_at2: u32,
    per_run2: u32,
    #[define(F)] _dtype: ElemType,
) {
    let pos = ABSOLUTE_POS;
    let h = Hyper {
        beta_1,
        one_minus_beta_1,
        beta_2,
        one_minus_beta_2,
        ln_beta_1,
        ln_beta_2,
        epsilon,
        half,
        stacked,
        s,
    };
    let r0 = Rates {
        lr: lr0,
        keep: keep0,
        lr_at: lr_at0,
        keep_at: keep_at0,
        per_run: per_run0,
    };
    let r1 = Rates {
        lr: lr1,
        keep: keep1,
        lr_at: lr_at1,
        keep_at: keep_at1,
        per_run: per_run1,
    };
    let r2 = Rates {
        lr: lr2,
        keep: keep2,
        lr_at: lr_at2,
        keep_at: keep_at2,
        per_run: per_run2,
    };
    // Each slot starts where the one before ends.
    let end0 = len0 as usize;
    let end1 = end0 + len1 as usize;
    if pos < end0 {
        update::<F>(p0, g0, moments, aux, pos, at0, &r0, &h);
    } else if pos < end1 {
        update::<F>(p1, g1, moments, aux, pos - end0, at1, &r1, &h);
    } else if pos < end1 + len2 as usize {
        update::<F>(p2, g2, moments, aux, pos - end1, at2, &r2, &h);
    }
}

/// `x` where it can be written in place as a contiguous run (not shared), else a copy of it.
fn writable(x: CubeTensor) -> CubeTensor {
    let x = untile(x);
    if x.can_mut() && x.is_contiguous() {
        x
    } else {
        x.copy()
    }
}

impl CubeAdam for burn_cubecl::CubeBackend {
    fn cube_adam(
        p0: CubeTensor,
        p1: CubeTensor,
        p2: CubeTensor,
        g0: CubeTensor,
        g1: CubeTensor,
        g2: CubeTensor,
        moments: CubeTensor,
        aux: CubeTensor,
        s: AdamScalars,
    ) -> (CubeTensor, CubeTensor, CubeTensor, CubeTensor) {
        let moments = writable(moments);
        let client = moments.client.clone();
        // Slots that take part, written in place; an empty slot passes its tensor through.
        let mut params = [p0, p1, p2].map(Some);
        let grads = [g0, g1, g2].map(untile);
        for (k, p) in params.iter_mut().enumerate() {
            if s.len[k] > 0 {
                *p = p.take().map(writable);
            }
        }
        // Bindings: two a slot, the moments, t (or the table) and CubeCL's metadata.
        let max_bindings = client.properties().hardware.max_bindings as usize;
        let per_launch = (max_bindings.saturating_sub(3) / 2).clamp(1, s.per_launch.clamp(1, SLOTS));
        let active: Vec<usize> = (0..SLOTS).filter(|&k| s.len[k] > 0).collect();
        // A stack's table places (keep one past: 0 where a slot does not decay), or one run's.
        let (stacked, s_arg, lr_at, keep_at, per_run) = match &s.stack {
            Some(st) => (
                1u32,
                st.s,
                st.lr_at.map(|n| n as u32),
                st.keep_at.map(|k| k.map_or(0, |n| n as u32 + 1)),
                st.per_run.map(|n| n.max(1) as u32),
            ),
            None => (0, 1.0, [0; SLOTS], [0; SLOTS], [1; SLOTS]),
        };
        for chunk in active.chunks(per_launch) {
            let total: usize = chunk.iter().map(|&k| s.len[k]).sum();
            let (count, dim) = launch_grid(&moments, total);
            let p = |k: usize| {
                params[k]
                    .clone()
                    .expect("a parameter in every slot")
                    .into_tensor_arg()
            };
            let g = |k: usize| grads[k].clone().into_tensor_arg();
            let (m, x) = (moments.clone().into_tensor_arg(), aux.clone().into_tensor_arg());
            let (lr, keep, len, at) = (s.lr, s.keep, s.len.map(|n| n as u32), s.at.map(|n| n as u32));
            let (b1, c1, b2, c2, l1, l2, eps, half) = (
                s.beta_1,
                s.one_minus_beta_1,
                s.beta_2,
                s.one_minus_beta_2,
                s.ln_beta_1,
                s.ln_beta_2,
                s.epsilon,
                s.half as u32,
            );
            match *chunk {
                [a] => adam1_kernel::launch(
                    &client,
                    count,
                    dim,
                    p(a),
                    g(a),
                    m,
                    x,
                    b1,
                    c1,
                    b2,
                    c2,
                    l1,
                    l2,
                    eps,
                    half,
                    stacked,
                    s_arg,
                    lr[a],
                    keep[a],
                    len[a],
                    at[a],
                    lr_at[a],
                    keep_at[a],
                    per_run[a],
                    f32_type(),
                ),
                [a, b] => adam2_kernel::launch(
                    &client,
                    count,
                    dim,
                    p(a),
                    p(b),
                    g(a),
                    g(b),
                    m,
                    x,
                    b1,
                    c1,
                    b2,
                    c2,
                    l1,
                    l2,
                    eps,
                    half,
                    stacked,
                    s_arg,
                    lr[a],
                    keep[a],
                    len[a],
                    at[a],
                    lr_at[a],
                    keep_at[a],
                    per_run[a],
                    lr[b],
                    keep[b],
                    len[b],
                    at[b],
                    lr_at[b],
                    keep_at[b],
                    per_run[b],
                    f32_type(),
                ),
                [a, b, c] => adam3_kernel::launch(
                    &client,
                    count,
                    dim,
                    p(a),
                    p(b),
                    p(c),
                    g(a),
                    g(b),
                    g(c),
                    m,
                    x,
                    b1,
                    c1,
                    b2,
                    c2,
                    l1,
                    l2,
                    eps,
                    half,
                    stacked,
                    s_arg,
                    lr[a],
                    keep[a],
                    len[a],
                    at[a],
                    lr_at[a],
                    keep_at[a],
                    per_run[a],
                    lr[b],
                    keep[b],
                    len[b],
                    at[b],
                    lr_at[b],
                    keep_at[b],
                    per_run[b],
                    lr[c],
                    keep[c],
                    len[c],
                    at[c],
                    lr_at[c],
                    keep_at[c],
                    per_run[c],
                    f32_type(),
                ),
                _ => unreachable!("chunks of one to three slots"),
            }
        }
        let [p0, p1, p2] = params.map(|p| p.expect("a parameter in every slot"));
        (p0, p1, p2, moments)
    }
}
