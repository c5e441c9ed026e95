//! GELU, x·Φ(x) (the exact form, PyTorch's default), one pass forward and one backward.

use macerator::Simd;

use crate::math::{normal_cdf, normal_pdf};
use crate::parallel::ELEMENTS;
use crate::parallel::prelude::*;

/// out = x·Φ(x), elementwise (`x` and `out` of one length).
pub fn forward(x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "gelu: lengths differ");
    let chunks = out.par_chunks_mut(ELEMENTS).zip(x.par_chunks(ELEMENTS));
    chunks.for_each(|(o, x)| forward_simd(x, o));
}

/// out = g·(Φ(x) + x·φ(x)), elementwise: dL/dx from dL/dy = `grad`.
pub fn backward(x: &[f32], grad: &[f32], out: &mut [f32]) {
    assert!(
        x.len() == out.len() && grad.len() == out.len(),
        "gelu: lengths differ"
    );
    let inputs = x.par_chunks(ELEMENTS).zip(grad.par_chunks(ELEMENTS));
    let chunks = out.par_chunks_mut(ELEMENTS).zip(inputs);
    chunks.for_each(|(o, (x, g))| backward_simd(x, g, o));
}

/// [`forward`] on one chunk, with the CPU's widest SIMD.
#[macerator::with_simd]
// `S`, the instruction set, is what macerator compiles the body for; the body never names it.
#[allow(clippy::extra_unused_type_parameters)]
fn forward_simd<'a, S: Simd>(x: &'a [f32], out: &'a mut [f32]) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = x * normal_cdf(x);
    }
}

/// [`backward`] on one chunk.
#[macerator::with_simd]
#[allow(clippy::extra_unused_type_parameters)]
fn backward_simd<'a, S: Simd>(x: &'a [f32], grad: &'a [f32], out: &'a mut [f32]) {
    for ((o, &x), &g) in out.iter_mut().zip(x).zip(grad) {
        *o = g * (normal_cdf(x) + x * normal_pdf(x));
    }
}
