//! Softmax rows on the CPU backend: attention's causal, scaled softmax (scale, mask and
//! normalisation in one pass over the lower triangle, where Burn runs a multiply, a mask fill
//! and five reductions and maps, each with its own backward) and the log-softmax of the loss.

use burn_flex::FlexTensor;
use macerator::Simd;

use super::parallel::ROWS;
use super::parallel::prelude::*;

use super::flex::{contiguous, tensor, values};
use super::math::{dot, exp, sum_by};

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

/// Row i of a [..., t, t] score matrix attends to columns j ≤ i: y_ij = softmax_j(c·x_ij)
/// over j ≤ i, and 0 above the diagonal. Forward: x → y, same shape.
pub fn causal_forward(x: FlexTensor, scale: f32) -> FlexTensor {
    let x = contiguous(x);
    let t = square_rows(&x);
    let mut y = vec![0f32; values(&x).len()];
    // One task per [t, t] matrix: a row's place in its matrix is its index modulo t.
    let chunks = y.par_chunks_mut(t * t).zip(values(&x).par_chunks(t * t));
    chunks.for_each(|(y, x)| causal_forward_rows(x, y, t, scale));
    tensor(y, x.layout().shape().clone())
}

/// [`causal_forward`]'s rows of length `t`, with the CPU's widest SIMD (as `flex::map_into`).
#[macerator::with_simd]
// `S`, the instruction set, is what macerator compiles the body for; the body never names it.
#[allow(clippy::extra_unused_type_parameters)]
fn causal_forward_rows<S: Simd>(x: &[f32], y: &mut [f32], t: usize, scale: f32) {
    for (row, (xr, yr)) in x.chunks_exact(t).zip(y.chunks_exact_mut(t)).enumerate() {
        let seen = row % t + 1;
        let (xr, yr) = (&xr[..seen], &mut yr[..seen]);
        // c > 0, so max_j(c·x_j) = c·max_j(x_j); a NaN passes to every output through the sum.
        let max = xr
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
            * scale;
        for (y, &x) in yr.iter_mut().zip(xr) {
            *y = exp(x * scale - max);
        }
        let sum = sum_by(yr, |v| v);
        for y in yr.iter_mut() {
            *y /= sum;
        }
    }
}

/// dL/dx_ij = c·y_ij·(g_ij − Σ_k g_ik·y_ik): the softmax's Jacobian times the scale, 0 above
/// the diagonal (y is 0 there). `y` is the forward's output; `grad` of its shape.
pub fn causal_backward(y: FlexTensor, grad: FlexTensor, scale: f32) -> FlexTensor {
    let (y, grad) = (contiguous(y), contiguous(grad));
    let t = square_rows(&y);
    let mut dx = vec![0f32; values(&y).len()];
    let inputs = values(&y).par_chunks(t * t).zip(values(&grad).par_chunks(t * t));
    let chunks = dx.par_chunks_mut(t * t).zip(inputs);
    chunks.for_each(|(dx, (y, g))| causal_backward_rows(y, g, dx, t, scale));
    tensor(dx, y.layout().shape().clone())
}

/// [`causal_backward`]'s rows of length `t`.
#[macerator::with_simd]
// `S`, the instruction set, is what macerator compiles the body for; the body never names it.
#[allow(clippy::extra_unused_type_parameters)]
fn causal_backward_rows<S: Simd>(y: &[f32], grad: &[f32], dx: &mut [f32], t: usize, scale: f32) {
    let rows = y.chunks_exact(t).zip(grad.chunks_exact(t));
    for (row, ((yr, gr), dr)) in rows.zip(dx.chunks_exact_mut(t)).enumerate() {
        let seen = row % t + 1;
        let (yr, gr, dr) = (&yr[..seen], &gr[..seen], &mut dr[..seen]);
        let dot = dot(yr, gr);
        for ((d, &y), &g) in dr.iter_mut().zip(yr).zip(gr) {
            *d = scale * y * (g - dot);
        }
    }
}

/// The largest attended logit, max over i and j ≤ i of c·x_ij (NaN if any is NaN): [1].
pub fn causal_max(x: FlexTensor, scale: f32) -> FlexTensor {
    let x = contiguous(x);
    let t = square_rows(&x);
    let mut max = f32::NEG_INFINITY;
    for (row, xr) in values(&x).chunks_exact(t).enumerate() {
        for &v in &xr[..row % t + 1] {
            if v > max || v.is_nan() {
                max = v;
            }
            if max.is_nan() {
                break;
            }
        }
    }
    tensor(vec![max * scale], vec![1].into())
}

/// log softmax over the last axis: y = x − m − ln Σ_j e^(x_j − m), m the row's max (detached,
/// as Burn's own). Any shape [..., n].
pub fn log_forward(x: FlexTensor) -> FlexTensor {
    let x = contiguous(x);
    let n = *x
        .layout()
        .shape()
        .last()
        .expect("log softmax: a scalar has no rows");
    let mut y = vec![0f32; values(&x).len()];
    let chunks = y.par_chunks_mut(ROWS * n).zip(values(&x).par_chunks(ROWS * n));
    chunks.for_each(|(y, x)| log_forward_rows(x, y, n));
    tensor(y, x.layout().shape().clone())
}

/// [`log_forward`]'s rows of length `n`.
#[macerator::with_simd]
// `S`, the instruction set, is what macerator compiles the body for; the body never names it.
#[allow(clippy::extra_unused_type_parameters)]
fn log_forward_rows<S: Simd>(x: &[f32], y: &mut [f32], n: usize) {
    for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
        let max = xr
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
        for (y, &x) in yr.iter_mut().zip(xr) {
            *y = exp(x - max);
        }
        let log_sum = sum_by(yr, |v| v).ln();
        for (y, &x) in yr.iter_mut().zip(xr) {
            *y = (x - max) - log_sum;
        }
    }
}

/// dL/dx_j = g_j − e^(y_j)·Σ_k g_k, from the forward's output y; `grad` of its shape.
pub fn log_backward(y: FlexTensor, grad: FlexTensor) -> FlexTensor {
    let (y, grad) = (contiguous(y), contiguous(grad));
    let n = *y
        .layout()
        .shape()
        .last()
        .expect("log softmax: a scalar has no rows");
    let mut dx = vec![0f32; values(&y).len()];
    let inputs = values(&y)
        .par_chunks(ROWS * n)
        .zip(values(&grad).par_chunks(ROWS * n));
    let chunks = dx.par_chunks_mut(ROWS * n).zip(inputs);
    chunks.for_each(|(dx, (y, g))| log_backward_rows(y, g, dx, n));
    tensor(dx, y.layout().shape().clone())
}

/// [`log_backward`]'s rows of length `n`.
#[macerator::with_simd]
// `S`, the instruction set, is what macerator compiles the body for; the body never names it.
#[allow(clippy::extra_unused_type_parameters)]
fn log_backward_rows<S: Simd>(y: &[f32], grad: &[f32], dx: &mut [f32], n: usize) {
    let rows = y.chunks_exact(n).zip(grad.chunks_exact(n));
    for ((yr, gr), dr) in rows.zip(dx.chunks_exact_mut(n)) {
        let total = sum_by(gr, |v| v);
        for ((d, &y), &g) in dr.iter_mut().zip(yr).zip(gr) {
            *d = g - exp(y) * total;
        }
    }
}
