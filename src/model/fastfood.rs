//! A structured random projection for subspaces too large for a dense P (Li et al. 2018 §2 use the
//! same; Le, Sarlós and Smola 2013, "Fastfood"): P's D rows are blocks of d' = 2^k rows
//! (d' ≥ d, z padded with zeros to d'), block i being
//!
//!   V_i = c · H · G_i · Π_i · H · B_i,
//!
//! with H the d'×d' Walsh–Hadamard matrix (entries ±1), B_i random signs, Π_i a random
//! permutation, G_i Gaussian entries rescaled so that ‖G_i‖² = d' exactly (g·√d'/‖g‖), and
//! c = 1/(d'·√(D/d')). Each block maps a unit vector e_j to a unit vector times 1/√(D/d') exactly
//! (H·B·e_j has entries ±1, so G_i scales its norm by exactly √d'; H/√d' is orthogonal), so P's
//! columns have unit length when D is a multiple of d' and unit length in expectation otherwise
//! (the last block truncated), as the dense P's do. Stored: 3·D numbers instead of D·d, and
//! P·z costs two Hadamard transforms a block, each two matrix products by the Kronecker factors
//! H = H_a ⊗ H_b (a + b = k): 4·D·(2^a + 2^b) multiply-adds instead of 2·D·d.

use burn::module::Module;
use burn::prelude::*;

use crate::data::Rng;

/// The Walsh–Hadamard matrix of order 2^k (Sylvester's construction), row-major, entries ±1.
pub fn hadamard(k: u32) -> Vec<f32> {
    let n = 1usize << k;
    (0..n * n)
        .map(|i| {
            let (r, c) = (i / n, i % n);
            if (r & c).count_ones() % 2 == 0 { 1.0 } else { -1.0 }
        })
        .collect()
}

/// The random draws behind every block of P: for D rows and d columns, `blocks` = ⌈D/d'⌉ blocks
/// of d' = 2^k ≥ d rows, each with its signs, permutation and scaled Gaussians.
#[derive(Clone, Debug)]
pub struct Draws {
    pub k: u32,
    pub blocks: usize,
    /// [blocks·d'] each.
    pub signs: Vec<f32>,
    pub perm: Vec<usize>,
    pub gauss: Vec<f32>,
    /// c = 1/(d'·√(D/d')).
    pub scale: f32,
}

impl Draws {
    pub fn new(total: usize, d: usize, rng: &mut Rng) -> Self {
        let k = d.max(2).next_power_of_two().trailing_zeros();
        let n = 1usize << k;
        let blocks = total.div_ceil(n).max(1);
        let mut signs = Vec::with_capacity(blocks * n);
        let mut perm = Vec::with_capacity(blocks * n);
        let mut gauss = Vec::with_capacity(blocks * n);
        for _ in 0..blocks {
            signs.extend((0..n).map(|_| if rng.below(2) == 0 { 1.0f32 } else { -1.0 }));
            // Fisher–Yates.
            let mut p: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                p.swap(i, rng.below(i + 1));
            }
            perm.extend(p);
            let g: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-30);
            gauss.extend(g.iter().map(|v| (v * (n as f64).sqrt() / norm) as f32));
        }
        let scale = (1.0 / (n as f64 * (total as f64 / n as f64).sqrt())) as f32;
        Self {
            k,
            blocks,
            signs,
            perm,
            gauss,
            scale,
        }
    }

    pub fn order(&self) -> usize {
        1 << self.k
    }

    /// P·z for rows `start..start + len` on the host, in f64 (the reference the tests compare
    /// the tensors' map with; also what P's columns are, one e_j at a time).
    pub fn apply_host(&self, z: &[f64], start: usize, len: usize) -> Vec<f64> {
        let n = self.order();
        let mut out = Vec::with_capacity(len);
        let (first, last) = (start / n, (start + len).div_ceil(n));
        for b in first..last {
            let at = b * n;
            let mut x: Vec<f64> = (0..n)
                .map(|i| z.get(i).copied().unwrap_or(0.0) * f64::from(self.signs[at + i]))
                .collect();
            fwht(&mut x);
            let mut y: Vec<f64> = (0..n)
                .map(|i| x[self.perm[at + i]] * f64::from(self.gauss[at + i]))
                .collect();
            fwht(&mut y);
            for (i, v) in y.into_iter().enumerate() {
                let row = at + i;
                if row >= start && row < start + len {
                    out.push(v * f64::from(self.scale));
                }
            }
        }
        out
    }
}

/// The fast Walsh–Hadamard transform in place (unnormalised, Sylvester order).
fn fwht(x: &mut [f64]) {
    let mut h = 1;
    while h < x.len() {
        for i in (0..x.len()).step_by(2 * h) {
            for j in i..i + h {
                let (a, b) = (x[j], x[j + h]);
                x[j] = a + b;
                x[j + h] = a - b;
            }
        }
        h *= 2;
    }
}

/// One tensor's rows of P as tensors: the blocks its rows fall in, and where in them it starts.
#[derive(Module, Debug)]
pub struct FastfoodRows {
    /// [blocks, d'] each: the signs B and the scaled Gaussians c·G (c folded in).
    signs: Tensor<2>,
    gauss: Tensor<2>,
    /// Π as indices into the flattened [blocks·d'] vector (each block's own permutation); not a
    /// float tensor, so kept out of the module's parameters and records.
    #[module(skip)]
    perm: Tensor<1, Int>,
    /// H's Kronecker factors H_a [2^a, 2^a] and H_b [2^b, 2^b].
    ha: Tensor<2>,
    hb: Tensor<2>,
    /// The tensor's first row within its first block, and its row count.
    offset: usize,
    rows: usize,
}

impl FastfoodRows {
    /// Rows `start..start + rows` of the P `draws` describe, on `device`.
    pub fn new(draws: &Draws, start: usize, rows: usize, device: &Device) -> Self {
        let n = draws.order();
        let (first, last) = (start / n, (start + rows).div_ceil(n));
        let span = first * n..last * n;
        let blocks = last - first;
        let signs = draws.signs[span.clone()].to_vec();
        let gauss: Vec<f32> = draws.gauss[span.clone()]
            .iter()
            .map(|g| g * draws.scale)
            .collect();
        // Block b's permutation, as indices into the tensor's own blocks.
        let perm: Vec<i64> = draws.perm[span]
            .iter()
            .enumerate()
            .map(|(i, &p)| ((i / n) * n + p) as i64)
            .collect();
        let (a, b) = (draws.k / 2, draws.k - draws.k / 2);
        let square = |k: u32| Tensor::<2>::from_data(TensorData::new(hadamard(k), [1 << k, 1 << k]), device);
        Self {
            signs: Tensor::from_data(TensorData::new(signs, [blocks, n]), device),
            gauss: Tensor::from_data(TensorData::new(gauss, [blocks, n]), device),
            perm: Tensor::from_data(TensorData::new(perm, [blocks * n]), device),
            ha: square(a),
            hb: square(b),
            offset: start - first * n,
            rows,
        }
    }

    /// H applied to each row of x [blocks, d'] → [blocks, d']: row-major, a row is a 2^a × 2^b
    /// matrix X and H·vec(X) = vec(H_a·X·H_b) (both factors symmetric).
    fn hadamard(&self, x: Tensor<2>) -> Tensor<2> {
        let [blocks, n] = x.dims();
        let (sa, sb) = (self.ha.dims()[0], self.hb.dims()[0]);
        // X·H_b on every row of every block: [blocks·2^a, 2^b].
        let right = x.reshape([blocks * sa, sb]).matmul(self.hb.clone());
        // H_a·X: transpose each block's X, multiply on the right, transpose back.
        let t = right
            .reshape([blocks, sa, sb])
            .swap_dims(1, 2)
            .reshape([blocks * sb, sa]);
        t.matmul(self.ha.clone())
            .reshape([blocks, sb, sa])
            .swap_dims(1, 2)
            .reshape([blocks, n])
    }

    /// z [d] → this tensor's rows of P·z, [rows].
    pub fn apply(&self, z: Tensor<1>) -> Tensor<1> {
        let [blocks, n] = self.signs.dims();
        let d = z.dims()[0];
        let device = z.device();
        let padded = if d < n {
            Tensor::cat(vec![z, Tensor::zeros([n - d], &device)], 0)
        } else {
            z
        };
        let x = padded.reshape([1, n]).expand([blocks, n]) * self.signs.clone(); // [blocks, d']
        let x = self
            .hadamard(x)
            .reshape([blocks * n])
            .select(0, self.perm.clone());
        let y = self.hadamard(x.reshape([blocks, n]) * self.gauss.clone()); // [blocks, d']
        y.reshape([blocks * n])
            .slice(self.offset..self.offset + self.rows)
    }
}
