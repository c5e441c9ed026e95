//! Low-rank matrix sensing (docs/EXPERIMENTS.md E11): a PSD matrix M* ∈ R^{n×n} of rank r*,
//! M* = Σ σᵢ uᵢuᵢᵀ with orthonormal uᵢ and the planted task's σ (`sv`), seen only through m
//! random linear measurements yᵢ = ⟨Aᵢ, M*⟩ + ε, each Aᵢ an n×n matrix of independent N(0, 1)
//! entries. Because E⟨A, Δ⟩² = ‖Δ‖²_F for such an A, the expected loss on a fresh measurement is
//! the recovery error itself: the validation loss is computed from M* exactly, not sampled.

use super::planted::orthonormal;
use crate::data::{Rng, streams};
use crate::knobs::ExperimentConfig;

/// The matrix to recover and its measurements, one seed's.
#[derive(Clone, Debug, PartialEq)]
pub struct Sensing {
    /// n: the matrix is n×n.
    pub n: usize,
    /// M*, `[n, n]` row-major.
    pub target: Vec<f64>,
    /// The sensing matrices, `[m, n·n]`: row i is Aᵢ row-major.
    pub a: Vec<f32>,
    /// The measurements yᵢ = ⟨Aᵢ, M*⟩ + noise·εᵢ, `[m]`.
    pub y: Vec<f32>,
}

impl Sensing {
    /// M* from the run's teacher stream (`dim` = n, `pr` = r*, `sv`), then `points` = m
    /// measurements with noise `noise` from its training-data stream: a seed gives the same
    /// matrix and measurements on every backend.
    pub fn new(cfg: &ExperimentConfig) -> Self {
        let p = &cfg.planted;
        let n = p.dim;
        let mut rng = Rng::stream(cfg.seed, streams::TEACHER);
        let u = orthonormal(p.rank.min(n), n, &mut rng);
        let mut target = vec![0.0; n * n];
        for (s, u) in p.sigma().iter().zip(&u) {
            for i in 0..n {
                for j in 0..n {
                    target[i * n + j] += s * u[i] * u[j];
                }
            }
        }
        let m = cfg.points;
        let mut rng = Rng::stream(cfg.seed, streams::TRAIN_DATA);
        let mut a = Vec::with_capacity(m * n * n);
        let mut y = Vec::with_capacity(m);
        for _ in 0..m {
            let mut inner = 0.0;
            for t in &target {
                let e = rng.normal();
                inner += e * t;
                a.push(e as f32);
            }
            y.push((inner + p.noise * rng.normal()) as f32);
        }
        Self { n, target, a, y }
    }

    /// The measurements as samples: sensing matrices [m, n·n] with their yᵢ [m, 1]; no
    /// validation samples (the recovery error is computed from M*).
    pub fn dataset(&self) -> crate::data::Dataset {
        use crate::data::{Samples, Targets};
        let train = Samples {
            x: self.a.clone(),
            dim: self.n * self.n,
            targets: Targets::Values {
                y: self.y.clone(),
                dim: 1,
            },
        };
        let val = Samples {
            x: Vec::new(),
            dim: self.n * self.n,
            targets: Targets::Values {
                y: Vec::new(),
                dim: 1,
            },
        };
        crate::data::Dataset {
            task: crate::knobs::task::Task::Sense,
            classes: 0,
            train,
            val,
        }
    }

    /// Number of measurements m.
    pub fn measurements(&self) -> usize {
        self.y.len()
    }

    /// ‖M*‖²_F: the losses are divided by it, so that they read as relative squared errors and
    /// one learning rate serves every n, r* and σ.
    pub fn norm2(&self) -> f64 {
        self.target.iter().map(|t| t * t).sum()
    }

    /// ‖M − M*‖_F / ‖M*‖_F of `m` (`[n, n]` row-major): the recovery error the figure draws.
    pub fn relative_error(&self, m: &[f64]) -> f64 {
        let d2: f64 = m.iter().zip(&self.target).map(|(a, b)| (a - b) * (a - b)).sum();
        (d2 / self.norm2()).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::task::Task;

    fn cfg(seed: u64) -> ExperimentConfig {
        let mut c = ExperimentConfig {
            task: Task::Sense,
            points: 50,
            seed,
            ..ExperimentConfig::default()
        };
        c.planted.dim = 6;
        c.planted.rank = 2;
        c.planted.noise = 0.0;
        c
    }

    #[test]
    fn the_target_is_psd_of_the_planted_rank_and_spectrum() {
        let s = Sensing::new(&cfg(3));
        let sv = crate::data::spectrum::singular_values(&s.target, 6, 6);
        // σ = (4, 2) for r* = 2 on the linear profile; the rest vanish.
        assert!((sv[0] - 4.0).abs() < 1e-9 && (sv[1] - 2.0).abs() < 1e-9, "{sv:?}");
        assert!(sv[2..].iter().all(|v| v.abs() < 1e-9), "{sv:?}");
        // Symmetric, and PSD: its trace is the sum of its singular values.
        for i in 0..6 {
            for j in 0..6 {
                assert!((s.target[i * 6 + j] - s.target[j * 6 + i]).abs() < 1e-12);
            }
        }
        let trace: f64 = (0..6).map(|i| s.target[i * 6 + i]).sum();
        assert!((trace - 6.0).abs() < 1e-9);
        assert!((s.norm2() - 20.0).abs() < 1e-9);
    }

    #[test]
    fn measurements_are_seeded_and_are_inner_products_with_the_target() {
        let (s, again, other) = (
            Sensing::new(&cfg(3)),
            Sensing::new(&cfg(3)),
            Sensing::new(&cfg(4)),
        );
        assert_eq!(s, again);
        assert_ne!(s.a, other.a);
        assert_eq!((s.measurements(), s.a.len()), (50, 50 * 36));
        for (i, &y) in s.y.iter().enumerate() {
            let inner: f64 = (0..36).map(|j| f64::from(s.a[i * 36 + j]) * s.target[j]).sum();
            assert!(
                (f64::from(y) - inner).abs() < 1e-4 * (1.0 + inner.abs()),
                "{i}: {y} vs {inner}"
            );
        }
        // Standard normal entries.
        let mean = s.a.iter().map(|&v| f64::from(v)).sum::<f64>() / s.a.len() as f64;
        let var = s.a.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / s.a.len() as f64;
        assert!(mean.abs() < 0.1 && (var - 1.0).abs() < 0.1, "{mean} {var}");
    }

    #[test]
    fn the_relative_error_is_frobenius_over_the_target_norm() {
        let s = Sensing::new(&cfg(3));
        assert!(s.relative_error(&s.target).abs() < 1e-12);
        assert!((s.relative_error(&vec![0.0; 36]) - 1.0).abs() < 1e-12);
        let twice: Vec<f64> = s.target.iter().map(|t| 2.0 * t).collect();
        assert!((s.relative_error(&twice) - 1.0).abs() < 1e-12);
    }
}
