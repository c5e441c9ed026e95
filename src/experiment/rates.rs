//! Rates in force: each tensor's peak learning rate and decay under μP and LoRA+, and the
//! schedule's factor at a step. The trainer's optimizer groups and the page's lines read these.

use crate::knobs::ExperimentConfig;
use crate::knobs::mup::{Part, Role, Rule};
use crate::knobs::schedule::{DecayOn, factor};

/// The peak learning rate and weight decay (absolute, not factors) of `part` of a `role` layer
/// under `cfg`: μP's rule on η and wd, and LoRA+'s λ on B factors, set before μP splits the groups
/// as peft's `create_loraplus_optimizer` handing its groups to MuAdam does.
pub fn rate(cfg: &ExperimentConfig, role: Role, part: Part) -> Rule {
    let rule = cfg.mup.rule(role, part, cfg.opt, cfg.width);
    let plus = if part == Part::LoraB { cfg.lora.lplus } else { 1.0 };
    // Biases and norm gains (`Part::Bias`) are the one-dimensional tensors nanoGPT exempts.
    let decays = !(cfg.decay == DecayOn::Matrices && part == Part::Bias);
    Rule {
        lr: cfg.lr * plus * rule.lr,
        wd: if decays { cfg.wd * rule.wd } else { 0.0 },
    }
}

/// The factor in force at step `t` (0-based, counted over the whole run) of `cfg`: each phase
/// (pre-training, then adaptation) runs its own schedule, as the trainer sets them up.
pub fn lr_factor_at(cfg: &ExperimentConfig, t: usize) -> f64 {
    let pre = cfg.pretrain_steps();
    let two_phases = cfg.lora.rank.adapts() && pre > 0;
    let (t, total) = match two_phases {
        true if t >= pre => (t - pre, cfg.total_steps() - pre),
        true => (t, pre),
        false => (t, cfg.total_steps()),
    };
    factor(cfg.sched, cfg.warm, total, t)
}
