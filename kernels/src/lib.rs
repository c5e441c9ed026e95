//! tinytune's fused CPU kernels (#32) as loops over f32 slices: GELU, attention's causal softmax
//! and largest logit, the log-softmax, LayerNorm and a linear layer's bias gradient, forward and
//! backward. tinytune's `model::fused` wraps them as Burn ops on its CPU backend.
//!
//! Every loop is plain Rust compiled for the widest SIMD the CPU has (macerator's run-time
//! dispatch natively, simd128 in the page) without fused multiply-adds (Rust never contracts
//! a·b + c), so every instruction set gives the same bits; natively the rows are spread over the
//! cores in chunks whose sums are added in chunk order (`parallel`), so every thread count does.

pub mod gelu;
pub mod layer_norm;
pub mod math;
mod parallel;
pub mod softmax;

/// Σ over the rows of `x` (rows of `d`) into `out` [d]: a linear layer's bias gradient.
pub fn column_sums(x: &[f32], d: usize, out: &mut [f32]) {
    column_sums_simd(x, d, out);
}

#[macerator::with_simd]
// `S`, the instruction set, is what macerator compiles the body for; the body never names it.
#[allow(clippy::extra_unused_type_parameters)]
fn column_sums_simd<'a, S: macerator::Simd>(x: &'a [f32], d: usize, out: &'a mut [f32]) {
    out.fill(0.0);
    for row in x.chunks_exact(d) {
        for (s, &v) in out.iter_mut().zip(row) {
            *s += v;
        }
    }
}
