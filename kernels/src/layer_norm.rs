//! LayerNorm over rows: statistics, normalisation and the affine map in one pass per row
//! forward, and the closed-form backward in one more.

use macerator::Simd;

use crate::math::{dot, sum_by};
use crate::parallel::ROWS;
use crate::parallel::prelude::*;

/// Three outputs a row kernel writes.
type Rows<'a> = (&'a mut [f32], &'a mut [f32], &'a mut [f32]);
/// The backward's inputs: x̂, 1/σ, γ and dL/dy.
type Inputs<'a> = (&'a [f32], &'a [f32], &'a [f32], &'a [f32]);

/// y = γ·(x − μ)/√(var + ε) + β over rows of `d` (biased variance, as torch's and Burn's);
/// also writes x̂ = (x − μ)/σ (x's length) and 1/σ per row, what the backward needs.
pub fn forward(x: &[f32], (gamma, beta): (&[f32], &[f32]), (y, xhat, inv_std): Rows<'_>, eps: f32) {
    let d = gamma.len();
    assert!(
        d > 0 && beta.len() == d && x.len().is_multiple_of(d),
        "layer norm: rows of γ's length"
    );
    assert!(y.len() == x.len() && xhat.len() == x.len() && inv_std.len() == x.len() / d);
    let outputs = y.par_chunks_mut(ROWS * d).zip(xhat.par_chunks_mut(ROWS * d));
    let chunks = outputs
        .zip(inv_std.par_chunks_mut(ROWS))
        .zip(x.par_chunks(ROWS * d));
    chunks.for_each(|(((y, h), inv), x)| forward_rows(x, (gamma, beta), (y, h, inv), d, eps));
}

/// Gradients from dL/dy (`dy`): dx = (1/σ)·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·γ, and
/// dγ = Σ_rows dy·x̂, dβ = Σ_rows dy (each task sums its rows; the tasks' sums are added in order).
pub fn backward(inputs: Inputs<'_>, (dx, dgamma, dbeta): Rows<'_>) {
    let (xhat, inv_std, gamma, dy) = inputs;
    let d = gamma.len();
    assert!(
        d > 0 && dgamma.len() == d && dbeta.len() == d && dx.len() == xhat.len() && dy.len() == xhat.len()
    );
    let rows = xhat
        .par_chunks(ROWS * d)
        .zip(inv_std.par_chunks(ROWS))
        .zip(dy.par_chunks(ROWS * d));
    let partial: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(ROWS * d)
        .zip(rows)
        .map(|(dx, ((h, inv), dy))| {
            let (mut pg, mut pb) = (vec![0f32; d], vec![0f32; d]);
            backward_rows((h, inv, gamma, dy), (dx, &mut pg, &mut pb), d);
            (pg, pb)
        })
        .collect();
    dgamma.fill(0.0);
    dbeta.fill(0.0);
    for (pg, pb) in &partial {
        for ((a, b), (x, y)) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(pg.iter().zip(pb)) {
            *a += x;
            *b += y;
        }
    }
}

/// [`forward`] on rows of `d`: y, x̂ and 1/σ from x, γ and β.
#[macerator::with_simd]
// `S`, the instruction set, is what macerator compiles the body for; the body never names it.
#[allow(clippy::extra_unused_type_parameters)]
fn forward_rows<'a, S: Simd>(xs: &'a [f32], gb: (&'a [f32], &'a [f32]), out: Rows<'a>, d: usize, eps: f32) {
    let ((g, b), (y, xhat, inv_std)) = (gb, out);
    let rows = xs
        .chunks_exact(d)
        .zip(y.chunks_exact_mut(d))
        .zip(xhat.chunks_exact_mut(d));
    for (((xr, yr), hr), inv) in rows.zip(inv_std.iter_mut()) {
        let mean = sum_by(xr, |v| v) / d as f32;
        let var = sum_by(xr, |v| (v - mean) * (v - mean)) / d as f32;
        let r = 1.0 / (var + eps).sqrt();
        *inv = r;
        for ((h, yv), ((&xv, &gv), &bv)) in hr.iter_mut().zip(yr.iter_mut()).zip(xr.iter().zip(g).zip(b)) {
            *h = (xv - mean) * r;
            *yv = *h * gv + bv;
        }
    }
}

/// [`backward`] on rows of `d`: dx, and dγ and dβ summed over these rows.
#[macerator::with_simd]
// `S`, the instruction set, is what macerator compiles the body for; the body never names it.
#[allow(clippy::extra_unused_type_parameters)]
fn backward_rows<'a, S: Simd>(inputs: Inputs<'a>, out: Rows<'a>, d: usize) {
    let ((xhat, inv_std, g, dy), (dx, dgamma, dbeta)) = (inputs, out);
    let mut scaled = vec![0f32; d];
    let rows = xhat
        .chunks_exact(d)
        .zip(dy.chunks_exact(d))
        .zip(dx.chunks_exact_mut(d));
    for (((hr, gr), dr), &r) in rows.zip(inv_std) {
        for (s, (&dyv, &gv)) in scaled.iter_mut().zip(gr.iter().zip(g)) {
            *s = dyv * gv;
        }
        let mean = sum_by(&scaled, |v| v) / d as f32;
        let mean_h = dot(&scaled, hr) / d as f32;
        for ((dv, &s), &h) in dr.iter_mut().zip(&scaled).zip(hr) {
            *dv = r * (s - mean - h * mean_h);
        }
        for ((dg, db), (&dyv, &h)) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(gr.iter().zip(hr)) {
            *dg += dyv * h;
            *db += dyv;
        }
    }
}
