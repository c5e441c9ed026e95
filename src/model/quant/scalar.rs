//! The reference quantizer: plain loops over a weight's values, written for clarity and used as
//! the tests' oracle for the tensor implementation (`quant::tensor`) that trains on the device.
//!
//! A weight is `[d_in, d_out]` row-major (Burn's layout, y = x·W): output channel j is column j.
//! Blocks share a scale: the whole tensor, one output channel, or `group` consecutive inputs of
//! one output channel (the last group of a channel may be shorter).

use crate::knobs::quant::format::{Minifloat, NF4, QFormat};
use crate::knobs::quant::{Clip, Granularity, QuantConfig};

/// Clip ratios the MSE search tries, largest first (ties keep the larger range).
pub fn clip_ratios() -> impl Iterator<Item = f32> {
    (0..16).map(|k| 1.0 - 0.05 * k as f32)
}

/// Indices of each block of a `[d_in, d_out]` weight, in a fixed order.
pub fn blocks(d_in: usize, d_out: usize, gran: Granularity, group: usize) -> Vec<Vec<usize>> {
    match gran {
        Granularity::Tensor => vec![(0..d_in * d_out).collect()],
        Granularity::Channel => (0..d_out)
            .map(|j| (0..d_in).map(|i| i * d_out + j).collect())
            .collect(),
        Granularity::Group => {
            let g = group.max(1);
            let mut out = Vec::new();
            for j in 0..d_out {
                for start in (0..d_in).step_by(g) {
                    out.push((start..(start + g).min(d_in)).map(|i| i * d_out + j).collect());
                }
            }
            out
        }
    }
}

/// The nearest value of an ascending `book`; a tie goes to the lower value, as bitsandbytes'
/// argmin over NF4's table does.
fn nearest(book: &[f32], x: f32) -> f32 {
    let mut best = 0;
    for (i, &v) in book.iter().enumerate() {
        if (x - v).abs() < (x - book[best]).abs() {
            best = i;
        }
    }
    book[best]
}

/// `x` rounded to a minifloat whose non-negative values are `book` (ascending): the magnitude
/// to the nearest value, a tie to the even *encoding* (round half to even, as torch's float8
/// casts and OCP's E2M1): a non-negative value's code is its index in `book`, so its last
/// mantissa bit is the index's parity. The sign is kept, as the sign bit is separate.
fn nearest_minifloat(book: &[f32], x: f32) -> f32 {
    let a = x.abs();
    let mut best = 0;
    for (i, &v) in book.iter().enumerate() {
        let (d, db) = ((a - v).abs(), (a - book[best]).abs());
        if d < db || (d == db && i % 2 == 0 && best % 2 == 1) {
            best = i;
        }
    }
    book[best].copysign(x)
}

/// A minifloat's full signed codebook, ascending (for drawing its grid).
fn signed_book(mf: &Minifloat) -> Vec<f32> {
    let pos = mf.codebook();
    let mut book: Vec<f32> = pos.iter().rev().filter(|v| **v > 0.0).map(|v| -v).collect();
    book.extend(pos);
    book
}

/// One block's rounding with its scale (and zero point) fixed from the block's values and the
/// clip ratio: [`Rounder::round`] is then a function of one value, so the figures can measure a
/// block's error without building its quantized copy.
#[derive(Clone, Debug)]
pub enum Rounder {
    /// A block of zeros (or, asymmetric, of one value): every value rounds to 0.
    Zero,
    Int {
        s: f32,
        qmax: f32,
    },
    UInt {
        s: f32,
        z: f32,
        top: f32,
    },
    Nf4 {
        absmax: f32,
    },
    Minifloat {
        book: Vec<f32>,
        s: f32,
    },
}

impl Rounder {
    /// The rounding of the block `xs` with the range scaled by `ratio` (1 = max).
    pub fn new(xs: &[f32], spec: &QuantConfig, ratio: f32) -> Self {
        let absmax = xs.iter().fold(0f32, |m, x| m.max(x.abs())) * ratio;
        match spec.fmt {
            QFormat::Int => {
                let qmax = ((1u32 << (spec.bits - 1)) - 1) as f32;
                if absmax == 0.0 {
                    return Rounder::Zero;
                }
                Rounder::Int {
                    s: absmax / qmax,
                    qmax,
                }
            }
            QFormat::UInt => {
                let lo = xs.iter().fold(0f32, |m, x| m.min(*x)) * ratio;
                let hi = xs.iter().fold(0f32, |m, x| m.max(*x)) * ratio;
                let top = ((1u32 << spec.bits) - 1) as f32;
                if hi == lo {
                    return Rounder::Zero;
                }
                let s = (hi - lo) / top;
                let z = (-lo / s).round_ties_even();
                Rounder::UInt { s, z, top }
            }
            QFormat::Nf4 => {
                if absmax == 0.0 {
                    return Rounder::Zero;
                }
                Rounder::Nf4 { absmax }
            }
            QFormat::E4m3 | QFormat::E5m2 | QFormat::E2m1 => {
                let mf = spec.fmt.minifloat().expect("a minifloat format");
                if absmax == 0.0 {
                    return Rounder::Zero;
                }
                Rounder::Minifloat {
                    book: mf.codebook(),
                    s: absmax / mf.max,
                }
            }
        }
    }

    /// The value `x` of the block after quantization (dequantized back to f32).
    pub fn round(&self, x: f32) -> f32 {
        match self {
            Rounder::Zero => 0.0,
            Rounder::Int { s, qmax } => (x / s).round_ties_even().clamp(-qmax, *qmax) * s,
            Rounder::UInt { s, z, top } => (((x / s).round_ties_even() + z).clamp(0.0, *top) - z) * s,
            Rounder::Nf4 { absmax } => nearest(&NF4, x / absmax) * absmax,
            Rounder::Minifloat { book, s } => nearest_minifloat(book, x / s) * s,
        }
    }

    /// The block's squared error under this rounding, in f32 (the clip search's criterion).
    pub fn sse(&self, xs: &[f32]) -> f32 {
        xs.iter()
            .map(|&x| {
                let d = x - self.round(x);
                d * d
            })
            .sum()
    }
}

/// Quantizes the values `xs` of one block with the range scaled by `ratio` (1 = max).
fn block_values(xs: &[f32], spec: &QuantConfig, ratio: f32) -> Vec<f32> {
    let r = Rounder::new(xs, spec, ratio);
    xs.iter().map(|&x| r.round(x)).collect()
}

/// The rounding the block `xs` gets under `spec`: absmax, or the clip ratio with the least
/// squared error (ties keep the larger range), as [`quantize`] picks it.
pub fn block_rounder(xs: &[f32], spec: &QuantConfig) -> Rounder {
    match spec.clip {
        Clip::Max => Rounder::new(xs, spec, 1.0),
        Clip::Mse => {
            let mut best: Option<(f32, Rounder)> = None;
            for r in clip_ratios() {
                let rounder = Rounder::new(xs, spec, r);
                let e = rounder.sse(xs);
                if best.as_ref().is_none_or(|(b, _)| e < *b) {
                    best = Some((e, rounder));
                }
            }
            best.map(|(_, r)| r).expect("at least one clip ratio")
        }
    }
}

fn sse(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The quantized copy of a `[d_in, d_out]` weight (dequantized back to f32: "fake" quantization).
pub fn quantize(w: &[f32], d_in: usize, d_out: usize, spec: &QuantConfig) -> Vec<f32> {
    let mut out = w.to_vec();
    for block in blocks(d_in, d_out, spec.gran, spec.group) {
        let xs: Vec<f32> = block.iter().map(|&i| w[i]).collect();
        let q = match spec.clip {
            Clip::Max => block_values(&xs, spec, 1.0),
            Clip::Mse => {
                let mut best: Option<(f32, Vec<f32>)> = None;
                for r in clip_ratios() {
                    let q = block_values(&xs, spec, r);
                    let e = sse(&xs, &q);
                    if best.as_ref().is_none_or(|(b, _)| e < *b) {
                        best = Some((e, q));
                    }
                }
                best.map(|(_, q)| q).unwrap_or(xs)
            }
        };
        for (&i, v) in block.iter().zip(q) {
            out[i] = v;
        }
    }
    out
}

/// The clip ratio a block gets: 1 for absmax, else the MSE search's pick (ties keep the larger).
pub fn block_ratio(xs: &[f32], spec: &QuantConfig) -> f32 {
    match spec.clip {
        Clip::Max => 1.0,
        Clip::Mse => {
            let mut best = (f32::INFINITY, 1.0);
            for r in clip_ratios() {
                let e = sse(xs, &block_values(xs, spec, r));
                if e < best.0 {
                    best = (e, r);
                }
            }
            best.1
        }
    }
}

/// Every value a block can take after quantization (its grid), ascending: the scale times the
/// integer levels, NF4's table or the minifloat codebook. For drawing the grid over a histogram.
pub fn levels(xs: &[f32], spec: &QuantConfig) -> Vec<f32> {
    let ratio = block_ratio(xs, spec);
    let absmax = xs.iter().fold(0f32, |m, x| m.max(x.abs())) * ratio;
    let mut out: Vec<f32> = match spec.fmt {
        QFormat::Int => {
            let qmax = (1i32 << (spec.bits - 1)) - 1;
            let s = absmax / qmax as f32;
            (-qmax..=qmax).map(|k| k as f32 * s).collect()
        }
        QFormat::UInt => {
            let lo = xs.iter().fold(0f32, |m, x| m.min(*x)) * ratio;
            let hi = xs.iter().fold(0f32, |m, x| m.max(*x)) * ratio;
            let top = (1u32 << spec.bits) - 1;
            if hi == lo {
                return vec![0.0];
            }
            let s = (hi - lo) / top as f32;
            let z = (-lo / s).round_ties_even();
            (0..=top).map(|q| (q as f32 - z) * s).collect()
        }
        QFormat::Nf4 => NF4.iter().map(|v| v * absmax).collect(),
        QFormat::E4m3 | QFormat::E5m2 | QFormat::E2m1 => {
            let mf = spec.fmt.minifloat().expect("a minifloat format");
            let s = absmax / mf.max;
            signed_book(&mf).iter().map(|v| v * s).collect()
        }
    };
    out.dedup();
    out
}
