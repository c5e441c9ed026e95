//! The planted-rank teacher–student task of RESEARCH.md E1–E3: a linear teacher
//! y = (W0 + ΔW*)ᵀx + ε whose change from the "pretrained" W0 has a known rank r*. The student
//! starts at W0, so fine-tuning has to find ΔW*, and the best a rank-r adapter can do is known in
//! closed form (Eckart–Young): that floor is what the rank staircase is checked against.

use crate::config::Named;
use crate::data::{Dataset, Rng, Samples, Targets, streams};

/// How the planted singular values fall off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SvProfile {
    /// σ_i = 4·(r* − i + 1)/r*: (4, 3, 2, 1) for r* = 4.
    #[default]
    Linear,
    /// σ_i = 4/i: a power law, as in RESEARCH.md E2.
    Power,
}

impl Named for SvProfile {
    const WHAT: &'static str = "singular-value profile";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (SvProfile::Linear, "lin", "linear: 4, 3, 2, 1 for r* = 4"),
        (SvProfile::Power, "pow", "power law: 4/i"),
    ];
}

/// The knobs of the planted task (link keys `pr`, `dim`, `noise`, `k`, `sv`).
#[derive(Clone, Debug, PartialEq)]
pub struct PlantedConfig {
    /// r*: rank of the planted change ΔW*.
    pub rank: usize,
    /// d: input and output dimension.
    pub dim: usize,
    /// Standard deviation of the label noise ε.
    pub noise: f64,
    /// Inputs confined to a random k-dimensional subspace (E3); `None` = all of R^d.
    pub k: Option<usize>,
    pub sv: SvProfile,
}

impl Default for PlantedConfig {
    fn default() -> Self {
        Self {
            rank: 4,
            dim: 64,
            noise: 0.01,
            k: None,
            sv: SvProfile::Linear,
        }
    }
}

pub mod limits {
    pub const DIM: (usize, usize) = (2, 512);
    pub const NOISE: (f64, f64) = (0.0, 10.0);
}

impl PlantedConfig {
    /// The planted singular values σ_1 ≥ … ≥ σ_r*.
    pub fn sigma(&self) -> Vec<f64> {
        let r = self.rank as f64;
        (1..=self.rank)
            .map(|i| match self.sv {
                SvProfile::Linear => 4.0 * (r - i as f64 + 1.0) / r,
                SvProfile::Power => 4.0 / i as f64,
            })
            .collect()
    }

    /// The input subspace's dimension (d when inputs fill R^d).
    pub fn k(&self) -> usize {
        self.k.unwrap_or(self.dim)
    }
}

/// Orthonormal vectors: the Q of a Householder QR of `m` Gaussian vectors of length `d` (m ≤ d),
/// signs chosen so R's diagonal is positive: the basis Gram–Schmidt would give, computed stably.
fn orthonormal(m: usize, d: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let cols: Vec<f64> = (0..m * d).map(|_| rng.normal()).collect();
    // Column j of the d×m matrix is the j-th drawn vector.
    let qr = nalgebra::DMatrix::from_column_slice(d, m, &cols).qr();
    let (q, r) = (qr.q(), qr.r());
    (0..m)
        .map(|j| {
            let sign = if r[(j, j)] < 0.0 { -1.0 } else { 1.0 };
            q.column(j).iter().map(|x| sign * x).collect()
        })
        .collect()
}

/// The teacher of one seed: W0, ΔW* and the input subspace, all `[in, out]` row-major as Burn
/// stores linear weights.
#[derive(Clone, Debug)]
pub struct Teacher {
    pub cfg: PlantedConfig,
    /// The "pretrained" weight the student starts from.
    pub w0: Vec<f32>,
    /// The planted change, Σ σ_i u_i v_iᵀ.
    pub delta: Vec<f64>,
    /// Orthonormal basis of the input subspace, `[d, k]`; `None` = all of R^d.
    pub basis: Option<Vec<Vec<f64>>>,
}

impl Teacher {
    pub fn new(cfg: &PlantedConfig, seed: u64) -> Self {
        let d = cfg.dim;
        let mut rng = Rng::stream(seed, streams::TEACHER);
        let std = 1.0 / (d as f64).sqrt();
        let w0 = (0..d * d).map(|_| (rng.normal() * std) as f32).collect();
        let u = orthonormal(cfg.rank, d, &mut rng);
        let v = orthonormal(cfg.rank, d, &mut rng);
        let mut delta = vec![0.0; d * d];
        for ((s, u), v) in cfg.sigma().iter().zip(&u).zip(&v) {
            for i in 0..d {
                for o in 0..d {
                    delta[i * d + o] += s * u[i] * v[o];
                }
            }
        }
        let basis = cfg.k.filter(|&k| k < d).map(|k| orthonormal(k, d, &mut rng));
        Self {
            cfg: cfg.clone(),
            w0,
            delta,
            basis,
        }
    }

    /// Singular values of the part of ΔW* the inputs can reveal: of Qᵀ·ΔW* when inputs live in the
    /// subspace spanned by Q, else of ΔW* itself (the planted σ).
    pub fn visible_sigma(&self) -> Vec<f64> {
        let d = self.cfg.dim;
        match &self.basis {
            None => self.cfg.sigma(),
            Some(q) => {
                let k = q.len();
                let mut m = vec![0.0; k * d];
                for (j, qj) in q.iter().enumerate() {
                    for (i, &qji) in qj.iter().enumerate() {
                        for o in 0..d {
                            m[j * d + o] += qji * self.delta[i * d + o];
                        }
                    }
                }
                crate::spectrum::singular_values(&m, k, d)
            }
        }
    }

    /// The lowest expected loss (MSE over the d outputs) a student can reach when its change from
    /// W0 has rank at most `rank` (`None` = unrestricted): noise² + Σ_{i>r} s_i² / d
    /// (Eckart–Young), with s the visible singular values.
    pub fn floor(&self, rank: Option<usize>) -> f64 {
        let s = self.visible_sigma();
        let r = rank.unwrap_or(usize::MAX);
        let rest: f64 = s.iter().skip(r).map(|x| x * x).sum();
        self.cfg.noise * self.cfg.noise + rest / self.cfg.dim as f64
    }

    fn sample(&self, n: usize, rng: &mut Rng) -> Samples {
        let d = self.cfg.dim;
        let mut x = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n * d);
        let mut xi = vec![0.0f64; d];
        for _ in 0..n {
            match &self.basis {
                None => xi.iter_mut().for_each(|v| *v = rng.normal()),
                Some(q) => {
                    xi.iter_mut().for_each(|v| *v = 0.0);
                    for qj in q {
                        let z = rng.normal();
                        xi.iter_mut().zip(qj).for_each(|(v, b)| *v += z * b);
                    }
                }
            }
            for o in 0..d {
                let clean: f64 = (0..d)
                    .map(|i| xi[i] * (f64::from(self.w0[i * d + o]) + self.delta[i * d + o]))
                    .sum();
                y.push((clean + self.cfg.noise * rng.normal()) as f32);
            }
            x.extend(xi.iter().map(|&v| v as f32));
        }
        Samples {
            x,
            dim: d,
            targets: Targets::Values { y, dim: d },
        }
    }

    /// `n` training and `n` validation samples from independent streams.
    pub fn dataset(&self, n: usize, seed: u64) -> Dataset {
        Dataset {
            task: crate::config::Task::Planted,
            classes: 0,
            train: self.sample(n, &mut Rng::stream(seed, streams::TRAIN_DATA)),
            val: self.sample(n, &mut Rng::stream(seed, streams::VAL_DATA)),
        }
    }
}
