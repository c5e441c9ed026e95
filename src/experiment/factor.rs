//! The matrix-sensing task's factorised model (docs/EXPERIMENTS.md E11, `model::Factor`): the
//! factors X (and G) of an n×n matrix, each [n, k], reading measurements of n·n entries.

use super::family::{Architecture, MemoryItem};
use crate::keys::{self, ConfigError, Key};
use crate::knobs::ExperimentConfig;
use crate::knobs::arch::Family;
use crate::knobs::task::Task;
use crate::vocab::Named;

pub struct Factor;

/// The largest matrix side the sensing task takes: a measurement is n² numbers and every
/// evaluation takes an SVD of M on the CPU (64×64: well under a millisecond).
pub const MAX_SIDE: usize = 64;

impl Architecture for Factor {
    fn linears(&self, cfg: &ExperimentConfig) -> Vec<(String, usize, usize)> {
        let (n, s) = (cfg.planted.dim, &cfg.sensing);
        let k = s.k(n);
        let mut v = vec![("x".to_string(), n, k)];
        if !s.symmetric {
            v.push(("g".to_string(), n, k));
        }
        v
    }

    fn parameters(&self, cfg: &ExperimentConfig) -> usize {
        let (n, s) = (cfg.planted.dim, &cfg.sensing);
        s.factors() * n * s.k(n)
    }

    fn input_dim(&self, cfg: &ExperimentConfig) -> usize {
        cfg.planted.dim * cfg.planted.dim
    }

    fn outputs(&self, _cfg: &ExperimentConfig) -> usize {
        1
    }

    /// A measurement's inner product ⟨A, M⟩ over n² numbers, its gradient Σ rᵢ·Aᵢ and the
    /// product's other operand: 6·n² a measurement, beyond the factors' 6·n·k.
    fn mixing_flops(&self, cfg: &ExperimentConfig) -> f64 {
        6.0 * (cfg.planted.dim * cfg.planted.dim) as f64
    }

    /// No validation examples: an evaluation forms M (2·n·k·n multiply-adds, as n examples
    /// through the [n, k] factor would) and compares it with M*.
    fn val_positions(&self, cfg: &ExperimentConfig) -> f64 {
        cfg.planted.dim as f64
    }

    /// The n×n product M and its gradient, the batch's inner products; and the sensing
    /// matrices themselves, m·n² numbers held for the whole run.
    fn step_memory(&self, cfg: &ExperimentConfig, batch: f64) -> Vec<MemoryItem> {
        let f = 4.0;
        let nn = self.input_dim(cfg) as f64;
        vec![
            MemoryItem {
                what: "the matrix and its gradient",
                bytes: f * (4.0 * nn + 3.0 * batch),
                key: &keys::DIM,
                step: true,
                gpu: true,
            },
            MemoryItem {
                what: "sensing matrices",
                bytes: f * cfg.points as f64 * (nn + 1.0),
                key: &keys::N,
                step: false,
                gpu: true,
            },
        ]
    }

    fn sized_by(&self, cfg: &ExperimentConfig) -> (String, &'static str) {
        let n = cfg.planted.dim;
        (
            format!("the {n}×{n} matrix's factorisation"),
            "the dimension or the number of measurements",
        )
    }

    fn size_key(&self) -> &'static Key {
        &keys::DIM
    }

    fn refuses(&self, cfg: &ExperimentConfig) -> Option<String> {
        (cfg.task != Task::Sense).then(|| {
            format!(
                "the factorised matrix reads matrix sensing only: set {} (or {} for {})",
                keys::TASK.is(Task::Sense.key()),
                keys::MODEL.is(Family::Auto.key()),
                keys::TASK.is(cfg.task.key())
            )
        })
    }

    /// The factors fit the matrix, no adapters, and nothing that measures widths.
    fn validate(&self, cfg: &ExperimentConfig, errs: &mut Vec<ConfigError>) {
        let n = cfg.planted.dim;
        if n > MAX_SIDE {
            errs.push(ConfigError::new(
                &keys::DIM,
                format!(
                    "matrix sensing takes matrices up to {MAX_SIDE}×{MAX_SIDE}: set {} ≤ {MAX_SIDE} (got {n})",
                    keys::DIM.name
                ),
            ));
        }
        if let Some(k) = cfg.sensing.rank
            && !(1..=n).contains(&k)
        {
            errs.push(ConfigError::new(
                &keys::FK,
                format!(
                    "the factors' rank must be between 1 and {} = {n} ({} is full rank), got {k}",
                    keys::DIM.name,
                    keys::FK.is(&n.to_string())
                ),
            ));
        }
        if cfg.lora.rank.adapts() {
            errs.push(ConfigError::new(
                &keys::R,
                format!(
                    "the factorised matrix is itself the low-rank model: set its rank with {} and remove {}",
                    keys::FK.name,
                    keys::R.name
                ),
            ));
        }
        if cfg.coord > 0 {
            errs.push(ConfigError::new(
                &keys::COORD,
                format!(
                    "the coordinate check compares widths; the factors have none: set {}",
                    keys::COORD.is("0")
                ),
            ));
        }
    }

    fn describe(&self, cfg: &ExperimentConfig) -> String {
        let (n, s) = (cfg.planted.dim, &cfg.sensing);
        let form = if s.symmetric { "X·Xᵀ" } else { "F·Gᵀ" };
        format!(
            "sense {form} {n}×{n} r*={} {} {}",
            cfg.planted.rank,
            keys::FK.is(&s.k(n).to_string()),
            keys::FINIT.is(&crate::vocab::format_number(s.init))
        )
    }

    fn has_width(&self) -> bool {
        false
    }
}
