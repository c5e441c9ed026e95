//! The element functions the fused CPU kernels evaluate: e^x, erfc and the normal CDF, written
//! without branches or table look-ups so that the loops calling them vectorise (SSE2 natively,
//! simd128 in the page). Flex's own GELU calls libm's scalar `erff` per element, forward and
//! backward: a quarter of the reference transformer's step natively (#32).
//!
//! Accuracy (the unit tests below, and tests/fused.rs): e^x within 2 ulp on [−87, 88]; erfc within
//! 1.2·10⁻⁷ relative for z ≥ 0 (the bound of its Chebyshev fit) plus f32 rounding.

/// 1.5·2²³: for |v| < 2²², (v + ROUND) − ROUND is v rounded to the nearest integer, and the
/// bits of v + ROUND hold that integer in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;
/// ln 2 in two parts: the high part has 15 significant bits, so n·LN2_HI is exact for |n| ≤ 2⁸.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Where e^x leaves f32's normal range: arguments are clamped to it (`exp` is only ever called
/// with arguments ≤ 0 here; below −87 the result is ≈ 10⁻³⁸, as good as 0 for what uses it).
const EXP_MIN: f32 = -87.0;
const EXP_MAX: f32 = 88.0;

/// e^a for a ≤ 88 (clamped below at −87), NaN for NaN. Range reduction a = n·ln 2 + r with
/// |r| ≤ ln 2 / 2, then the degree-7 Taylor polynomial of e^r (its truncation error,
/// r⁸/8! ≤ 5·10⁻⁹, is below f32's rounding) and 2ⁿ built from its exponent bits.
#[inline(always)]
pub fn exp(a: f32) -> f32 {
    // Comparisons rather than `max`/`min`, which would turn a NaN into the bound.
    let a = if a < EXP_MIN { EXP_MIN } else { a };
    let a = if a > EXP_MAX { EXP_MAX } else { a };
    let shifted = a * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = a - n * LN2_HI - n * LN2_LO;
    let mut p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // n ∈ [−126, 127], so n + 127 is a normal exponent.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    p * f32::from_bits(((n_bits + 127) as u32) << 23)
}

/// erfc(z) for z ≥ 0: the Chebyshev fit of Press et al., *Numerical Recipes* (2nd ed., §6.2,
/// `erfcc`), erfc(z) ≈ t·exp(−z² + P(t)) with t = 1/(1 + z/2), fractional error below 1.2·10⁻⁷
/// everywhere, so small tails keep their relative accuracy (a GELU at x ≪ 0 is x·erfc(…)/2).
#[inline(always)]
#[allow(clippy::excessive_precision)] // the coefficients as published
fn erfc_nonneg(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * z);
    let mut p = 0.170_872_77;
    p = p * t - 0.822_152_23;
    p = p * t + 1.488_515_87;
    p = p * t - 1.135_203_98;
    p = p * t + 0.278_868_07;
    p = p * t - 0.186_288_06;
    p = p * t + 0.096_784_18;
    p = p * t + 0.374_091_96;
    p = p * t + 1.000_023_68;
    p = p * t - 1.265_512_23;
    t * exp(p - z * z)
}

/// Φ(x), the standard normal CDF: 1 − erfc(x/√2)/2 for x ≥ 0 and erfc(−x/√2)/2 below, so
/// both tails are accurate.
#[inline(always)]
pub fn normal_cdf(x: f32) -> f32 {
    let half_tail = 0.5 * erfc_nonneg(x.abs() * std::f32::consts::FRAC_1_SQRT_2);
    if x >= 0.0 { 1.0 - half_tail } else { half_tail }
}

/// φ(x) = e^(−x²/2)/√(2π), the standard normal density.
#[inline(always)]
pub fn normal_pdf(x: f32) -> f32 {
    /// 1/√(2π)
    const INV_SQRT_TAU: f32 = 0.398_942_3;
    INV_SQRT_TAU * exp(-0.5 * x * x)
}

/// Σ f(v_i) in a fixed order: eight interleaved partial sums, combined pairwise, then the
/// tail. It vectorises (one 8-lane add per 8 values), rounds less than one running sum, and
/// gives the same bits on every instruction set.
#[inline(always)]
pub fn sum_by(v: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = v.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f(x);
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &x in tail {
        s += f(x);
    }
    s
}

/// Σ a_i·b_i in [`sum_by`]'s order.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((s, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (&x, &y) in ta.iter().zip(tb) {
        s += x * y;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ulp distance between two finite floats of one sign.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exp_is_within_two_ulp_on_its_range() {
        let mut worst = 0;
        for i in 0..=200_000 {
            let a = -87.0 + 175.0 * i as f32 / 200_000.0;
            let want = (a as f64).exp() as f32;
            worst = worst.max(ulps(exp(a), want));
        }
        assert!(worst <= 2, "worst {worst} ulp");
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn the_normal_cdf_keeps_both_tails() {
        // Φ(−5) = 2.866515718791939e-7, Φ(−1) = 0.15865525393145707, Φ(2) = 0.9772498680518208
        for (x, want) in [
            (-5.0f32, 2.866_515_7e-7f64),
            (-1.0, 0.158_655_253_931_457_07),
            (2.0, 0.977_249_868_051_820_8),
        ] {
            let got = normal_cdf(x) as f64;
            assert!(((got - want) / want).abs() < 1e-6, "Φ({x}) = {got}, want {want}");
        }
        assert_eq!(normal_cdf(0.0), 0.5);
    }
}
