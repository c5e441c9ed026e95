//! The quantizer in tensor operations, so it runs where the model lives (WebGPU included) and
//! inside the autodiff graph: [`fake_quant`] rounds a weight to its format and back to f32, and
//! [`straight_through`] makes that differentiable for QAT. It computes what `quant::scalar` does
//! (the tests compare them), blockwise on a `[blocks, block_len]` view of the weight.

use burn::prelude::*;

use super::scalar::clip_ratios;
use crate::knobs::quant::format::{NF4, QFormat};
use crate::knobs::quant::{Clip, Granularity, QuantConfig};

/// The weight as rows of one block each, with a 0/1 mask of real entries (a channel's last group
/// is padded with copies of its last input, which change no block's min or max).
struct Blocked {
    x: Tensor<2>,
    mask: Tensor<2>,
    d_in: usize,
    d_out: usize,
    padded_in: usize,
}

fn to_blocks(w: Tensor<2>, cfg: &QuantConfig) -> Blocked {
    let [d_in, d_out] = w.dims();
    let device = w.device();
    let ones = |shape: [usize; 2]| Tensor::<2>::ones(shape, &device);
    match cfg.gran {
        Granularity::Tensor => Blocked {
            x: w.reshape([1, d_in * d_out]),
            mask: ones([1, d_in * d_out]),
            d_in,
            d_out,
            padded_in: d_in,
        },
        Granularity::Channel => Blocked {
            x: w.transpose(), // [out, in]
            mask: ones([d_out, d_in]),
            d_in,
            d_out,
            padded_in: d_in,
        },
        Granularity::Group => {
            let g = cfg.group.max(1);
            let groups = d_in.div_ceil(g);
            let padded_in = groups * g;
            let t = w.transpose(); // [out, in]
            let (t, mask) = if padded_in > d_in {
                let last = t.clone().narrow(1, d_in - 1, 1); // [out, 1]
                let pad = last.repeat_dim(1, padded_in - d_in); // [out, pad]
                let mask = Tensor::cat(
                    vec![
                        ones([d_out, d_in]),
                        Tensor::zeros([d_out, padded_in - d_in], &device),
                    ],
                    1,
                );
                (Tensor::cat(vec![t, pad], 1), mask)
            } else {
                (t, ones([d_out, d_in]))
            };
            Blocked {
                x: t.reshape([d_out * groups, g]),
                mask: mask.reshape([d_out * groups, g]),
                d_in,
                d_out,
                padded_in,
            }
        }
    }
}

fn from_blocks(q: Tensor<2>, b: &Blocked, gran: Granularity) -> Tensor<2> {
    match gran {
        Granularity::Tensor => q.reshape([b.d_in, b.d_out]),
        Granularity::Channel => q.transpose(),
        Granularity::Group => q.reshape([b.d_out, b.padded_in]).narrow(1, 0, b.d_in).transpose(),
    }
}

/// `t` with zeros replaced by ones, so a scale of an all-zero block divides safely (its values
/// are zero and stay zero).
fn nonzero(t: Tensor<2>) -> Tensor<2> {
    let zero = t.clone().equal_elem(0.0);
    t.mask_fill(zero, 1.0)
}

/// The largest integer level of `cfg`'s integer formats at `bits`: 2^(b−1) − 1 for INT
/// (symmetric), 2^b − 1 for UINT (its grid's top); 0 for the formats whose bits are fixed.
pub(super) fn top_level(fmt: QFormat, bits: u32) -> f32 {
    match fmt {
        QFormat::Int => ((1u64 << (bits.clamp(1, 33) - 1)) - 1) as f32,
        QFormat::UInt => ((1u64 << bits.min(32)) - 1) as f32,
        _ => 0.0,
    }
}

/// Each row of `x` ([blocks, len]) quantized with its range scaled by `ratio`, with each row's
/// top integer level given (`levels`, `[blocks, 1]`: a stack's rows
/// each at their run's bits, `quant::stacked`) instead of `cfg.bits`'. The same operations:
/// dividing by a level or by the same number as a scalar rounds alike.
pub(super) fn rows_at(x: &Tensor<2>, cfg: &QuantConfig, ratio: f32, levels: Option<&Tensor<2>>) -> Tensor<2> {
    let absmax = x.clone().abs().max_dim(1).mul_scalar(ratio); // [blocks, 1]
    let top = top_level(cfg.fmt, cfg.bits);
    // x's values clamped to [lo, the level] (a row's own where given).
    let clamp = |y: Tensor<2>, lo: Option<f32>| match levels {
        None => y.clamp(lo.unwrap_or(-top), top),
        Some(l) => {
            let l = l.clone().expand(y.dims());
            let low = match lo {
                Some(lo) => y.clamp_min(lo),
                None => y.max_pair(l.clone().neg()),
            };
            low.min_pair(l)
        }
    };
    let per_level = |t: Tensor<2>| match levels {
        None => t.div_scalar(top),
        Some(l) => t.div(l.clone()),
    };
    match cfg.fmt {
        QFormat::Int => {
            let s = nonzero(per_level(absmax));
            clamp(x.clone().div(s.clone()).round(), None).mul(s)
        }
        QFormat::UInt => {
            let lo = x.clone().min_dim(1).clamp_max(0.0).mul_scalar(ratio);
            let hi = x.clone().max_dim(1).clamp_min(0.0).mul_scalar(ratio);
            let s = nonzero(per_level(hi - lo.clone()));
            let z = lo.neg().div(s.clone()).round();
            clamp(x.clone().div(s.clone()).round().add(z.clone()), Some(0.0))
                .sub(z)
                .mul(s)
        }
        QFormat::Nf4 => {
            let a = nonzero(absmax);
            let y = x.clone().div(a.clone());
            // Index of the nearest level = how many midpoints between levels lie below y.
            let mut idx = Tensor::<2, Int>::zeros(y.dims(), &y.device());
            for pair in NF4.windows(2) {
                idx = idx + y.clone().greater_elem((pair[0] + pair[1]) / 2.0).int();
            }
            let levels = Tensor::<1>::from_floats(NF4, &y.device());
            let [r, c] = y.dims();
            levels.select(0, idx.reshape([r * c])).reshape([r, c]).mul(a)
        }
        QFormat::E4m3 | QFormat::E5m2 | QFormat::E2m1 => {
            let mf = cfg.fmt.minifloat().expect("a minifloat format");
            let s = nonzero(absmax.div_scalar(mf.max));
            let y = x.clone().div(s.clone());
            let ay = y.clone().abs();
            // The spacing of |y|'s binade (subnormals share the smallest normal one's), counted
            // as how many binade edges 2^e lie at or below |y| and looked up in a table of exact
            // powers of two: a log/exp estimate is off by an ulp at E5M2's large exponents and
            // then rounds a tie the wrong way. Dividing by a power of two is exact, so `round`
            // (half to even) lands on the even mantissa, as the casts do.
            let emin = 1 - mf.bias;
            let emax = (mf.max.log2().floor()) as i32;
            let mut idx = Tensor::<2, Int>::zeros(ay.dims(), &ay.device());
            for e in emin + 1..=emax {
                idx = idx + ay.clone().greater_equal_elem(2f32.powi(e)).int();
            }
            let steps: Vec<f32> = (emin..=emax).map(|e| 2f32.powi(e - mf.man_bits as i32)).collect();
            let n = steps.len();
            let steps = Tensor::<1>::from_data(TensorData::new(steps, [n]), &ay.device());
            let [r, c] = ay.dims();
            let step = steps.select(0, idx.reshape([r * c])).reshape([r, c]);
            let q = ay.div(step.clone()).round().mul(step).clamp_max(mf.max);
            q.mul(y.sign()).mul(s)
        }
    }
}

/// `w` ([d_in, d_out]) rounded to the configured format and back to f32. No gradient flows
/// through the rounding: use [`straight_through`] to train through it.
pub fn fake_quant(w: Tensor<2>, cfg: &QuantConfig) -> Tensor<2> {
    let b = to_blocks(w, cfg);
    let q = blocks(&b.x, &b.mask, cfg, None);
    from_blocks(q, &b, cfg.gran)
}

/// Blocks `x` ([blocks, len], `mask` its real entries) rounded under `cfg`'s clipping rule,
/// each row at its level where `levels` gives them ([`rows_at`]).
pub(super) fn blocks(
    x: &Tensor<2>,
    mask: &Tensor<2>,
    cfg: &QuantConfig,
    levels: Option<&Tensor<2>>,
) -> Tensor<2> {
    match cfg.clip {
        Clip::Max => rows_at(x, cfg, 1.0, levels),
        Clip::Mse => {
            let mut best: Option<(Tensor<2>, Tensor<2>)> = None; // (error [blocks, 1], values)
            for r in clip_ratios() {
                let q = rows_at(x, cfg, r, levels);
                let err = (q.clone() - x.clone())
                    .powi_scalar(2)
                    .mul(mask.clone())
                    .sum_dim(1);
                best = Some(match best {
                    None => (err, q),
                    Some((be, bq)) => {
                        let better = err.clone().lower(be.clone()); // [blocks, 1]
                        let wide = better.clone().expand(q.dims());
                        (be.mask_where(better, err), bq.mask_where(wide, q))
                    }
                });
            }
            best.map(|(_, q)| q).expect("at least one clip ratio")
        }
    }
}

/// QAT's weight: the quantized values in the forward pass, the identity in the backward pass
/// (w + detach(q(w) − w)).
pub fn straight_through(w: Tensor<2>, cfg: &QuantConfig) -> Tensor<2> {
    let q = fake_quant(w.clone().detach(), cfg);
    let delta = (q - w.clone().detach()).detach();
    w + delta
}
