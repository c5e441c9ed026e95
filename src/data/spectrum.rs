//! Singular values on the CPU, for the small matrices tinytune inspects: the planted ΔW* (the
//! Eckart–Young floor) and a learned ΔW = γ·A·B (its effective rank), read back from the trainer
//! through a [`DeltaProbe`]. The linear algebra is nalgebra's (Golub–Kahan SVD, Householder QR)
//! in f64, the same on wasm and native.

use nalgebra::DMatrix;

/// Singular values of the `rows`×`cols` row-major matrix `m`, largest first (min(rows, cols) of
/// them).
pub fn singular_values(m: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    assert_eq!(m.len(), rows * cols, "matrix data does not match its shape");
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    let mut s: Vec<f64> = DMatrix::from_row_slice(rows, cols, m)
        .singular_values()
        .iter()
        .copied()
        .collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s
}

/// Singular values of γ·A·B without forming the `d_in`×`d_out` product: with A = Q·R (thin QR),
/// σ(γ·A·B) = σ(γ·R·B), a matrix of at most r rows. `a` is `[d_in, r]`, `b` is `[r, d_out]`,
/// both row-major. Returns r values, largest first (zeros where the rank is below r).
pub fn low_rank_singular_values(
    a: &[f32],
    b: &[f32],
    d_in: usize,
    r: usize,
    d_out: usize,
    gamma: f64,
) -> Vec<f64> {
    let to64 = |v: &[f32]| v.iter().map(|x| f64::from(*x)).collect::<Vec<f64>>();
    let a = DMatrix::from_row_slice(d_in, r, &to64(a));
    let b = DMatrix::from_row_slice(r, d_out, &to64(b));
    // A zero column (A-only LoRA starts at A = 0) gives a zero row of R: exactly its contribution.
    let rb = a.qr().r() * b * gamma; // [min(d_in, r), d_out]
    let mut s: Vec<f64> = rb.singular_values().iter().copied().collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s.resize(r, 0.0);
    s
}

/// Numerical rank: singular values above `rel` × the largest (the learned ΔW's effective rank).
pub fn effective_rank(s: &[f64], rel: f64) -> usize {
    let top = s.first().copied().unwrap_or(0.0);
    if top <= 0.0 {
        return 0;
    }
    s.iter().filter(|&&v| v > rel * top).count()
}

/// Fully fine-tuned layers larger than this many weights get no spectrum: the CPU SVD of a dense
/// 256×256 ΔW takes a fraction of a second, a 1024×1024 one far too long for a page.
pub const DENSE_SPECTRUM_MAX: usize = 256 * 256;

/// The singular values of one layer's learned ΔW, largest first.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerSpectrum {
    pub name: String,
    pub singular: Vec<f64>,
}

impl LayerSpectrum {
    /// Singular values above 1 % of the largest: the rank the change actually uses.
    pub fn effective_rank(&self) -> usize {
        effective_rank(&self.singular, 0.01)
    }
}

#[derive(Clone, Debug, PartialEq)]
struct ProbeLayer {
    name: String,
    d_in: usize,
    d_out: usize,
    /// (r, γ) for a LoRA layer (two tensors: A, B); `None` for a dense W − W0 (one tensor).
    lora: Option<(usize, f64)>,
}

/// How to read the tensors of `Trainer::delta_probe` back into spectra.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeltaProbe {
    layers: Vec<ProbeLayer>,
}

impl DeltaProbe {
    pub(crate) fn push(&mut self, name: &str, d_in: usize, d_out: usize, lora: Option<(usize, f64)>) {
        self.layers.push(ProbeLayer {
            name: name.to_string(),
            d_in,
            d_out,
            lora,
        });
    }

    /// Spectra from the read-back values, in the order the tensors were queued.
    pub fn spectra(&self, values: &[Vec<f32>]) -> Vec<LayerSpectrum> {
        let mut values = values.iter();
        let mut out = Vec::new();
        for l in &self.layers {
            let singular = match l.lora {
                Some((r, g)) => match (values.next(), values.next()) {
                    (Some(a), Some(b)) => low_rank_singular_values(a, b, l.d_in, r, l.d_out, g),
                    _ => break,
                },
                None => match values.next() {
                    Some(m) => {
                        let m: Vec<f64> = m.iter().map(|&v| f64::from(v)).collect();
                        singular_values(&m, l.d_in, l.d_out)
                    }
                    None => break,
                },
            };
            out.push(LayerSpectrum {
                name: l.name.clone(),
                singular,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_and_rank_one() {
        let s = singular_values(&[3.0, 0.0, 0.0, -5.0], 2, 2);
        assert!((s[0] - 5.0).abs() < 1e-12 && (s[1] - 3.0).abs() < 1e-12);
        // u vᵀ with |u| = √5, |v| = √2 (wide orientation).
        let m = [1.0, 1.0, 2.0, 2.0];
        let s = singular_values(&m, 1, 4);
        assert!((s[0] - 10f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn low_rank_matches_the_dense_product() {
        let (d_in, r, d_out) = (7, 3, 5);
        let a: Vec<f32> = (0..d_in * r)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0)
            .collect();
        let b: Vec<f32> = (0..r * d_out)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) / 2.0)
            .collect();
        let mut ab = vec![0.0; d_in * d_out];
        for i in 0..d_in {
            for o in 0..d_out {
                ab[i * d_out + o] = 0.5
                    * (0..r)
                        .map(|k| f64::from(a[i * r + k]) * f64::from(b[k * d_out + o]))
                        .sum::<f64>();
            }
        }
        let dense = singular_values(&ab, d_in, d_out);
        let low = low_rank_singular_values(&a, &b, d_in, r, d_out, 0.5);
        for k in 0..r {
            assert!((dense[k] - low[k]).abs() < 1e-9, "{dense:?} vs {low:?}");
        }
        assert!(dense[r..].iter().all(|v| v.abs() < 1e-9));
    }
}
