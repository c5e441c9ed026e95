//! Reading and making the CPU backend's (flex) f32 tensors for the fused kernels: a contiguous
//! view of an input, a new tensor from the values a kernel wrote.

use burn::tensor::DType;
use burn_flex::{FlexTensor, Layout};
use burn_std::{Bytes, Shape};
use macerator::Simd;

use super::parallel::ELEMENTS;
use super::parallel::prelude::*;

/// `t` laid out contiguously (a view already so is shared, not copied).
pub fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() { t } else { t.to_contiguous() }
}

/// The values of a contiguous f32 tensor, in row-major order.
pub fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("the fused ops are routed to flex for contiguous f32 tensors only")
}

/// A tensor of `shape` holding `values` (row-major), without the zero-fill and copy that
/// `FlexTensor::empty` would add.
pub fn tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(shape), DType::F32)
}

/// f applied to every element of `x`.
pub fn map(x: FlexTensor, f: impl Fn(f32) -> f32 + Sync + Copy) -> FlexTensor {
    let x = contiguous(x);
    let src = values(&x);
    // A zeroed buffer written in a loop over two slices: this form vectorises (collecting
    // from a mapped iterator did not).
    let mut out = vec![0f32; src.len()];
    let chunks = out.par_chunks_mut(ELEMENTS).zip(src.par_chunks(ELEMENTS));
    // `f` by value: a call through a reference would not inline into the SIMD loop.
    chunks.for_each(|(o, s)| map_into(s, o, f));
    tensor(out, x.layout().shape().clone())
}

/// f applied to every pair of elements of `a` and `b` (one shape).
pub fn zip_map(a: FlexTensor, b: FlexTensor, f: impl Fn(f32, f32) -> f32 + Sync + Copy) -> FlexTensor {
    let (a, b) = (contiguous(a), contiguous(b));
    assert_eq!(a.layout().shape(), b.layout().shape(), "zip_map: shapes differ");
    let mut out = vec![0f32; values(&a).len()];
    let inputs = values(&a)
        .par_chunks(ELEMENTS)
        .zip(values(&b).par_chunks(ELEMENTS));
    out.par_chunks_mut(ELEMENTS)
        .zip(inputs)
        .for_each(|(o, (x, y))| zip_into(x, y, o, f));
    tensor(out, a.layout().shape().clone())
}

/// out_i = f(src_i), compiled for the widest SIMD the CPU has (chosen at run time). The loop is
/// plain Rust that the compiler vectorises under those features; without fused multiply-adds
/// (Rust never contracts a·b + c), every instruction set gives the same bits.
#[macerator::with_simd]
// `S`, the instruction set, is what macerator compiles the body for; the body never names it.
#[allow(clippy::extra_unused_type_parameters)]
fn map_into<S: Simd, F: Fn(f32) -> f32>(src: &[f32], out: &mut [f32], f: F) {
    for (o, &v) in out.iter_mut().zip(src) {
        *o = f(v);
    }
}

/// out_i = f(a_i, b_i), as [`map_into`].
#[macerator::with_simd]
// `S`, the instruction set, is what macerator compiles the body for; the body never names it.
#[allow(clippy::extra_unused_type_parameters)]
fn zip_into<S: Simd, F: Fn(f32, f32) -> f32>(a: &[f32], b: &[f32], out: &mut [f32], f: F) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}
