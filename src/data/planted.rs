//! The planted-rank teacher–student task of docs/EXPERIMENTS.md E1–E3: a linear teacher
//! y = (W0 + ΔW*)ᵀx + ε whose change from the "pretrained" W0 has a known rank r*. The student
//! starts at W0, so fine-tuning has to find ΔW*, and the best a rank-r adapter can do is known in
//! closed form (Eckart–Young): that floor is what the rank staircase is checked against.

use crate::data::{Dataset, Rng, Samples, Targets, streams};
use crate::knobs::ExperimentConfig;
use crate::knobs::task::{PlantedConfig, Task};

/// Orthonormal vectors: the Q of a Householder QR of `m` Gaussian vectors of length `d` (m ≤ d),
/// signs chosen so R's diagonal is positive: the basis Gram–Schmidt would give, computed stably.
/// The sensing task's M* draws its eigenvectors with it too.
pub(crate) fn orthonormal(m: usize, d: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
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
                crate::data::spectrum::singular_values(&m, k, d)
            }
        }
    }

    /// The singular values the loss weighs: those of Λ^½·Qᵀ·ΔW* (Λ the input variances, `xs`),
    /// as the excess loss of a change E is |Λ^½·QᵀE|²/d; the visible ones for isotropic inputs.
    pub fn weighted_sigma(&self) -> Vec<f64> {
        if self.cfg.xs == 0.0 {
            return self.visible_sigma();
        }
        let d = self.cfg.dim;
        let scales = self.cfg.input_scales();
        let k = scales.len();
        let mut m = vec![0.0; k * d];
        for (j, s) in scales.iter().enumerate() {
            for o in 0..d {
                // Row j of QᵀΔW* (of ΔW* itself without a subspace), scaled by its input's std.
                let v = match &self.basis {
                    None => self.delta[j * d + o],
                    Some(q) => q[j]
                        .iter()
                        .enumerate()
                        .map(|(i, qji)| qji * self.delta[i * d + o])
                        .sum(),
                };
                m[j * d + o] = s * v;
            }
        }
        crate::data::spectrum::singular_values(&m, k, d)
    }

    /// The lowest expected loss (MSE over the d outputs) a student can reach when its change from
    /// W0 has rank at most `rank` (`None` = unrestricted): noise² + Σ_{i>r} s_i² / d
    /// (Eckart–Young), with s the singular values the loss weighs ([`Self::weighted_sigma`]).
    pub fn floor(&self, rank: Option<usize>) -> f64 {
        let s = self.weighted_sigma();
        let r = rank.unwrap_or(usize::MAX);
        let rest: f64 = s.iter().skip(r).map(|x| x * x).sum();
        self.cfg.noise * self.cfg.noise + rest / self.cfg.dim as f64
    }

    /// `n` fresh samples of the teacher from `rng`: the training and validation sets, or one
    /// step's batch of a stream.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Samples {
        let d = self.cfg.dim;
        let mut x = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n * d);
        let mut xi = vec![0.0f64; d];
        // Isotropic inputs are scaled by exactly 1 (a multiply that changes no bit).
        let scales = (self.cfg.xs != 0.0).then(|| self.cfg.input_scales());
        let scale = |j: usize| scales.as_ref().map_or(1.0, |s| s[j]);
        for _ in 0..n {
            match &self.basis {
                None => xi
                    .iter_mut()
                    .enumerate()
                    .for_each(|(j, v)| *v = rng.normal() * scale(j)),
                Some(q) => {
                    xi.iter_mut().for_each(|v| *v = 0.0);
                    for (j, qj) in q.iter().enumerate() {
                        let z = rng.normal() * scale(j);
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
            task: crate::knobs::task::Task::Planted,
            classes: 0,
            train: self.sample(n, &mut Rng::stream(seed, streams::TRAIN_DATA)),
            val: self.sample(n, &mut Rng::stream(seed, streams::VAL_DATA)),
        }
    }
}

/// The planted task's Eckart–Young floor for this run's rank (full training when no rank or
/// rank 0); `None` for the other tasks, whose best loss has no closed form.
pub fn loss_floor(cfg: &ExperimentConfig) -> Option<f64> {
    (cfg.task == Task::Planted).then(|| Teacher::new(&cfg.planted, cfg.seed).floor(cfg.lora.rank.adapter()))
}
