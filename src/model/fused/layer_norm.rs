//! LayerNorm over the last axis on the CPU backend: statistics, normalisation and the affine map
//! in one pass per row forward, and the closed-form backward in one more — where Burn's autodiff
//! decomposes it into a dozen tensor ops, each with its own backward.

use burn_flex::FlexTensor;
use macerator::Simd;

use super::parallel::ROWS;
use super::parallel::prelude::*;

use super::flex::{contiguous, tensor, values};
use super::math::{dot, sum_by};

/// Three outputs a row kernel writes.
type Rows<'a> = (&'a mut [f32], &'a mut [f32], &'a mut [f32]);
/// The backward's inputs: x̂, 1/σ, γ and dL/dy.
type Inputs<'a> = (&'a [f32], &'a [f32], &'a [f32], &'a [f32]);

/// What the backward needs from the forward: x̂ = (x − μ)/σ (the input's shape) and 1/σ per
/// row, σ = √(var + ε).
#[derive(Debug, Clone)]
pub struct Saved {
    pub normalized: FlexTensor,
    pub inv_std: Vec<f32>,
}

/// y = γ·(x − μ)/√(var + ε) + β over the last axis (biased variance, as torch's and Burn's):
/// x [..., d], γ and β [d] → (y [..., d], what the backward needs).
pub fn forward(x: FlexTensor, gamma: &FlexTensor, beta: &FlexTensor, eps: f32) -> (FlexTensor, Saved) {
    let x = contiguous(x);
    let d = *x
        .layout()
        .shape()
        .last()
        .expect("layer norm: a scalar has no rows");
    let (g, b) = (values(gamma), values(beta));
    assert!(
        g.len() == d && b.len() == d,
        "layer norm: γ and β must have the last axis' length"
    );
    let xs = values(&x);
    let mut y = vec![0f32; xs.len()];
    let mut xhat = vec![0f32; xs.len()];
    let mut inv_std = vec![0f32; xs.len() / d.max(1)];
    let outputs = y.par_chunks_mut(ROWS * d).zip(xhat.par_chunks_mut(ROWS * d));
    let chunks = outputs
        .zip(inv_std.par_chunks_mut(ROWS))
        .zip(xs.par_chunks(ROWS * d));
    chunks.for_each(|(((y, h), inv), x)| forward_rows(x, (g, b), (y, h, inv), d, eps));
    let shape = x.layout().shape().clone();
    let saved = Saved {
        normalized: tensor(xhat, shape.clone()),
        inv_std,
    };
    (tensor(y, shape), saved)
}

/// [`forward`]'s rows of length `d`: y, x̂ and 1/σ from x, γ and β.
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

/// Gradients of the input, γ and β from dL/dy (`grad`, the input's shape):
/// dx = (1/σ)·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·γ; dγ = Σ_rows g·x̂; dβ = Σ_rows g.
pub fn backward(saved: Saved, gamma: &FlexTensor, grad: FlexTensor) -> [FlexTensor; 3] {
    let grad = contiguous(grad);
    let shape = saved.normalized.layout().shape().clone();
    let d = *shape.last().expect("layer norm: a scalar has no rows");
    let g = values(gamma);
    let (xhat, dy) = (values(&saved.normalized), values(&grad));
    let mut dx = vec![0f32; dy.len()];
    // Each task sums dγ and dβ over its rows; the tasks' sums are added in order.
    let inputs = xhat
        .par_chunks(ROWS * d)
        .zip(saved.inv_std.par_chunks(ROWS))
        .zip(dy.par_chunks(ROWS * d));
    let partial: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(ROWS * d)
        .zip(inputs)
        .map(|(dx, ((h, inv), dy))| {
            let (mut dgamma, mut dbeta) = (vec![0f32; d], vec![0f32; d]);
            backward_rows((h, inv, g, dy), (dx, &mut dgamma, &mut dbeta), d);
            (dgamma, dbeta)
        })
        .collect();
    let (mut dgamma, mut dbeta) = (vec![0f32; d], vec![0f32; d]);
    for (pg, pb) in &partial {
        for ((a, b), (x, y)) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(pg.iter().zip(pb)) {
            *a += x;
            *b += y;
        }
    }
    let vector = || burn_std::Shape::from(vec![d]);
    [
        tensor(dx, shape),
        tensor(dgamma, vector()),
        tensor(dbeta, vector()),
    ]
}

/// [`backward`]'s rows of length `d`: dx, and dγ and dβ summed over the rows.
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
