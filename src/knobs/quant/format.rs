//! Number formats a weight can be stored in: integers (symmetric and asymmetric), NF4 and the
//! OCP minifloats FP8 E4M3, FP8 E5M2 and FP4 E2M1, with their codebooks.

use crate::vocab::Named;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum QFormat {
    /// Symmetric integer: 2^b − 1 levels −(2^(b−1) − 1) … 2^(b−1) − 1 times a scale.
    #[default]
    Int,
    /// Asymmetric integer: 2^b levels 0 … 2^b − 1 with a zero point.
    UInt,
    /// QLoRA's 4-bit NormalFloat: 16 quantiles of N(0, 1), scaled by the block's absmax.
    Nf4,
    /// FP8, 4 exponent and 3 mantissa bits (OCP "E4M3FN": no infinities, max 448).
    E4m3,
    /// FP8, 5 exponent and 2 mantissa bits (IEEE-like, max 57344).
    E5m2,
    /// FP4, 2 exponent and 1 mantissa bit (OCP MX: ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}).
    E2m1,
}

impl Named for QFormat {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (QFormat::Int, "int", "INT (symmetric)"),
        (QFormat::UInt, "uint", "INT (asymmetric, zero point)"),
        (QFormat::Nf4, "nf4", "NF4"),
        (QFormat::E4m3, "e4m3", "FP8 E4M3"),
        (QFormat::E5m2, "e5m2", "FP8 E5M2"),
        (QFormat::E2m1, "e2m1", "FP4 E2M1"),
    ];
}

/// The layout of a minifloat.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Minifloat {
    pub exp_bits: u32,
    pub man_bits: u32,
    pub bias: i32,
    /// Largest finite value.
    pub max: f32,
}

/// QLoRA's NF4 levels (bitsandbytes' table), ascending, exactly 0 at index 7.
pub const NF4: [f32; 16] = [
    -1.0,
    -0.696_192_8,
    -0.525_073_05,
    -0.394_917_5,
    -0.284_441_38,
    -0.184_773_43,
    -0.091_050_036,
    0.0,
    0.079_580_3,
    0.160_930_2,
    0.246_112_3,
    0.337_915_24,
    0.440_709_83,
    0.562_617,
    0.722_956_84,
    1.0,
];

impl QFormat {
    /// Bits per stored value: the format's own width, or `bits` for the integer formats.
    pub fn width(self, bits: u32) -> u32 {
        match self {
            QFormat::Int | QFormat::UInt => bits,
            QFormat::Nf4 | QFormat::E2m1 => 4,
            QFormat::E4m3 | QFormat::E5m2 => 8,
        }
    }

    /// How an integer grid of `bits` is named where it is shown: symmetric INT2 has three
    /// levels (−1, 0, 1 × scale), ternary rather than the four levels GPTQ and bitsandbytes mean
    /// by 2 bits (their grids have a zero point: `uint`). `None` for the other formats.
    pub fn int_name(self, bits: u32) -> Option<String> {
        match self {
            QFormat::Int if bits == 2 => Some("INT2 (symmetric: ternary, 3 levels)".into()),
            QFormat::Int => Some(format!("INT{bits} (symmetric, {} levels)", (1u64 << bits) - 1)),
            QFormat::UInt => Some(format!(
                "INT{bits} (asymmetric, zero point, {} levels)",
                1u64 << bits
            )),
            _ => None,
        }
    }

    /// Whether the bit-width is fixed by the format (NF4 and the minifloats).
    pub fn fixed_width(self) -> bool {
        !matches!(self, QFormat::Int | QFormat::UInt)
    }

    pub fn minifloat(self) -> Option<Minifloat> {
        match self {
            QFormat::E4m3 => Some(Minifloat {
                exp_bits: 4,
                man_bits: 3,
                bias: 7,
                max: 448.0,
            }),
            QFormat::E5m2 => Some(Minifloat {
                exp_bits: 5,
                man_bits: 2,
                bias: 15,
                max: 57344.0,
            }),
            QFormat::E2m1 => Some(Minifloat {
                exp_bits: 2,
                man_bits: 1,
                bias: 1,
                max: 6.0,
            }),
            _ => None,
        }
    }
}

impl Minifloat {
    /// Every finite non-negative value, ascending, from the bit patterns (subnormals included;
    /// E4M3's NaN pattern and E5M2's infinities and NaNs left out).
    pub fn codebook(&self) -> Vec<f32> {
        let mut v = Vec::new();
        let top = (1u32 << self.exp_bits) - 1;
        for e in 0..=top {
            for m in 0..(1u32 << self.man_bits) {
                let frac = m as f32 / (1u32 << self.man_bits) as f32;
                let value = if e == 0 {
                    2f32.powi(1 - self.bias) * frac
                } else {
                    2f32.powi(e as i32 - self.bias) * (1.0 + frac)
                };
                if value <= self.max {
                    v.push(value);
                }
            }
        }
        v
    }
}
