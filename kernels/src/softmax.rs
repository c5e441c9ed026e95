//! Softmax rows: attention's causal, scaled softmax (scale, mask and normalisation in one pass
//! over the lower triangle of each [t, t] score matrix) and its largest logit, and the
//! log-softmax of the loss, forward and backward.

use macerator::Simd;

use crate::math::{dot, exp, sum_by};
use crate::parallel::ROWS;
use crate::parallel::prelude::*;

/// Row i of each [t, t] matrix of `x` attends to columns j ≤ i: y_ij = softmax_j(c·x_ij) over
/// j ≤ i, 0 above the diagonal (c = `scale` > 0). `x` and `y` hold whole matrices.
pub fn causal_forward(x: &[f32], y: &mut [f32], t: usize, scale: f32) {
    assert!(
        t > 0 && x.len() == y.len() && x.len().is_multiple_of(t * t),
        "causal softmax: [..., t, t]"
    );
    // One task per matrix: a row's place in its matrix is its index modulo t.
    let chunks = y.par_chunks_mut(t * t).zip(x.par_chunks(t * t));
    chunks.for_each(|(y, x)| causal_forward_rows(x, y, t, scale));
}

/// dL/dx_ij = c·y_ij·(g_ij − Σ_k g_ik·y_ik), 0 above the diagonal, from the forward's output y
/// and dL/dy = `grad`.
pub fn causal_backward(y: &[f32], grad: &[f32], dx: &mut [f32], t: usize, scale: f32) {
    assert!(t > 0 && y.len() == dx.len() && grad.len() == dx.len() && y.len().is_multiple_of(t * t));
    let inputs = y.par_chunks(t * t).zip(grad.par_chunks(t * t));
    let chunks = dx.par_chunks_mut(t * t).zip(inputs);
    chunks.for_each(|(dx, (y, g))| causal_backward_rows(y, g, dx, t, scale));
}

/// The largest attended logit, max over i and j ≤ i of c·x_ij of every [t, t] matrix of `x`
/// (NaN if any is NaN).
pub fn causal_max(x: &[f32], t: usize, scale: f32) -> f32 {
    assert!(t > 0 && x.len().is_multiple_of(t * t), "causal max: [..., t, t]");
    let mut max = f32::NEG_INFINITY;
    for (row, xr) in x.chunks_exact(t).enumerate() {
        for &v in &xr[..row % t + 1] {
            if v > max || v.is_nan() {
                max = v;
            }
        }
        if max.is_nan() {
            break;
        }
    }
    max * scale
}

/// log softmax over rows of `n`: y = x − m − ln Σ_j e^(x_j − m), m the row's max.
pub fn log_forward(x: &[f32], y: &mut [f32], n: usize) {
    assert!(
        n > 0 && x.len() == y.len() && x.len().is_multiple_of(n),
        "log softmax: rows of n"
    );
    let chunks = y.par_chunks_mut(ROWS * n).zip(x.par_chunks(ROWS * n));
    chunks.for_each(|(y, x)| log_forward_rows(x, y, n));
}

/// dL/dx_j = g_j − e^(y_j)·Σ_k g_k per row, from the forward's output y and dL/dy = `grad`.
pub fn log_backward(y: &[f32], grad: &[f32], dx: &mut [f32], n: usize) {
    assert!(n > 0 && y.len() == dx.len() && grad.len() == dx.len() && y.len().is_multiple_of(n));
    let inputs = y.par_chunks(ROWS * n).zip(grad.par_chunks(ROWS * n));
    let chunks = dx.par_chunks_mut(ROWS * n).zip(inputs);
    chunks.for_each(|(dx, (y, g))| log_backward_rows(y, g, dx, n));
}

/// [`causal_forward`] on whole [t, t] matrices, with the CPU's widest SIMD.
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

/// [`causal_backward`] on whole [t, t] matrices.
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

/// [`log_forward`] on rows of `n`.
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

/// [`log_backward`] on rows of `n`.
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
