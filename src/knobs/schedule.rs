//! Learning-rate schedules and weight decay (link keys `sched`, `warm`, `wd`, `decay`).
//!
//! A schedule is a pure factor f(t) ∈ (0, 1] on every group's peak learning rate, so μP's
//! per-group ratios and LoRA+'s λ hold at every step. Each parameter group gets its own
//! `train::schedule::Scheduled`, a Burn `LrScheduler`, inside the trainer's `ModuleLrScheduler`. Burn's own
//! linear and cosine schedulers refuse learning rates above 1 (μP's SGD rule multiplies by the
//! width) and a warm-up from 0, so the shape lives here; the stepping is Burn's.

use crate::knobs::optim::OptimizerKind;
use crate::vocab::Named;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Schedule::Const, "const", "constant"),
        (Schedule::Warmup, "warmup", "linear warm-up"),
        (Schedule::Cosine, "cosine", "cosine decay"),
    ];
}

/// Which tensors weight decay acts on (link key `decay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum DecayOn {
    /// Every tensor (torch's optimizers given all parameters in one group).
    #[default]
    All,
    /// Weight matrices, embeddings and LoRA factors only; none on biases and norm gains — the
    /// tensors with one dimension, as nanoGPT's `configure_optimizers` splits them.
    Matrices,
}

impl Named for DecayOn {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (DecayOn::All, "all", "every tensor"),
        (DecayOn::Matrices, "matrices", "matrices only (nanoGPT)"),
    ];
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

/// How weight decay is applied with `opt`, in words PyTorch users know.
pub fn decay_kind(opt: OptimizerKind) -> &'static str {
    match opt {
        OptimizerKind::Adam => "decoupled, as AdamW: w −= lr·wd·w",
        OptimizerKind::Sgd => "L2, as torch SGD: g += wd·w",
    }
}
