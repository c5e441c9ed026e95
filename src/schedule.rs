//! Learning-rate schedules and weight decay (link keys `sched`, `warm`, `wd`).
//!
//! A schedule is a pure factor f(t) ∈ (0, 1] on every group's peak learning rate, so μP's
//! per-group ratios and LoRA+'s λ hold at every step. Each parameter group gets its own
//! [`Scheduled`], a Burn `LrScheduler`, inside the trainer's `ModuleLrScheduler`. Burn's own
//! linear and cosine schedulers refuse learning rates above 1 (μP's SGD rule multiplies by the
//! width) and a warm-up from 0, so the shape lives here; the stepping is Burn's.

use burn::optim::LearningRate;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};

use crate::config::{ExperimentConfig, Named, OptimizerKind, format_number};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Schedule {
    /// The peak learning rate throughout.
    #[default]
    Const,
    /// Linear warm-up over `warm` steps, then constant.
    Warmup,
    /// Linear warm-up over `warm` steps (none when 0), then cosine decay to 0 at the last step.
    Cosine,
}

impl Named for Schedule {
    const WHAT: &'static str = "schedule";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Schedule::Const, "const", "constant"),
        (Schedule::Warmup, "warmup", "linear warm-up"),
        (Schedule::Cosine, "cosine", "cosine decay"),
    ];
}

pub mod limits {
    /// Weight decay: decoupled decay removes lr·wd of a weight per step, so wd·lr ≥ 1 would zero
    /// weights in one step at ordinary learning rates.
    pub const WD: (f64, f64) = (0.0, 10.0);
}

/// The factor on the peak learning rate at step `t` (0-based) of a phase of `total` steps.
/// Warm-up rises linearly to 1 at step `warm` − 1, so the first step already moves (t + 1)/warm
/// instead of wasting a step at 0; cosine then falls as ½(1 + cos π·i/n) over the n steps left,
/// as PyTorch's `CosineAnnealingLR` with η_min = 0.
pub fn factor(kind: Schedule, warm: usize, total: usize, t: usize) -> f64 {
    let warm = if kind == Schedule::Const { 0 } else { warm };
    if t < warm {
        return (t + 1) as f64 / warm as f64;
    }
    match kind {
        Schedule::Const | Schedule::Warmup => 1.0,
        Schedule::Cosine => {
            let n = total.saturating_sub(warm).max(1) as f64;
            let i = (t - warm) as f64;
            0.5 * (1.0 + (std::f64::consts::PI * i / n).cos())
        }
    }
}

/// The factor in force at step `t` (0-based, counted over the whole run) of `cfg`: each phase
/// (pre-training, then adaptation) runs its own schedule, as the trainer sets them up.
pub fn factor_at(cfg: &ExperimentConfig, t: usize) -> f64 {
    let pre = cfg.pretrain_steps();
    let (t, total) = match cfg.lora.rank {
        Some(_) if pre > 0 && t >= pre => (t - pre, cfg.total_steps() - pre),
        Some(_) if pre > 0 => (t, pre),
        _ => (t, cfg.total_steps()),
    };
    factor(cfg.sched, cfg.warm, total, t)
}

/// One parameter group's learning rate: `peak` × [`factor`], stepped by Burn's optimizer loop.
#[derive(Clone, Debug)]
pub struct Scheduled {
    peak: f64,
    kind: Schedule,
    warm: usize,
    total: usize,
    /// Steps taken so far.
    t: usize,
}

impl Scheduled {
    pub fn new(peak: f64, kind: Schedule, warm: usize, total: usize) -> Self {
        Self {
            peak,
            kind,
            warm,
            total,
            t: 0,
        }
    }
}

impl LrScheduler for Scheduled {
    fn step(&mut self) -> LearningRate {
        let lr = self.peak * factor(self.kind, self.warm, self.total, self.t);
        self.t += 1;
        lr
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new().with_scalar("t", self.t as u64)
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Some(t) = record.scalar::<u64>("t") {
            self.t = t as usize;
        }
    }
}

/// How weight decay is applied with `opt`, in words PyTorch users know.
pub fn decay_kind(opt: OptimizerKind) -> &'static str {
    match opt {
        OptimizerKind::Adam => "decoupled, as AdamW: w −= lr·wd·w",
        OptimizerKind::Sgd => "L2, as torch SGD: g += wd·w",
    }
}

/// The schedule and decay in words, or `None` for a constant rate without decay.
pub fn describe(cfg: &ExperimentConfig) -> Option<String> {
    let mut parts = Vec::new();
    match cfg.sched {
        Schedule::Const => {}
        Schedule::Warmup => parts.push(format!("linear warm-up over {} steps, then constant", cfg.warm)),
        Schedule::Cosine if cfg.warm > 0 => parts.push(format!(
            "linear warm-up over {} steps, then cosine decay to 0",
            cfg.warm
        )),
        Schedule::Cosine => parts.push("cosine decay to 0".to_string()),
    }
    if cfg.wd > 0.0 {
        parts.push(format!(
            "weight decay {} ({})",
            format_number(cfg.wd),
            decay_kind(cfg.opt)
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
