//! Learning-rate scaling, the second knob (DESIGN.md §5): standard parameterization vs μP, as
//! small pure functions of a layer's role and the width multiplier m = width / base width. The
//! model asks them for init scales and forward multipliers, the trainer for per-group learning
//! rates (Burn parameter groups in a `ModuleLrScheduler`).
//!
//! μP follows the `mup` package: with Adam, matrix-like (hidden) weights get η/m; with SGD,
//! vector-like parameters (input weights, biases, the readout) get η·m; in both the readout's
//! output is multiplied by α_out/m (MuReadout) and the input layer's by α_in. With m = 1 and
//! α_in = α_out = 1 every factor is 1, so μP at the base width is SP exactly.

use crate::config::{Named, OptimizerKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Parameterization {
    /// One learning rate for all, fan-in init, no multipliers.
    #[default]
    Standard,
    /// Maximal-update parameterization (Tensor Programs V).
    MuP,
}

impl Named for Parameterization {
    const WHAT: &'static str = "parameterization";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Parameterization::Standard, "sp", "standard (SP)"),
        (Parameterization::MuP, "mup", "μP"),
    ];
}

/// The μP knobs (link keys `param`, `bw`, `ain`, `aout`, `rzero`).
#[derive(Clone, Debug, PartialEq)]
pub struct MupConfig {
    pub param: Parameterization,
    /// The width at which μP and SP coincide (where a learning rate was tuned).
    pub base_width: usize,
    /// α_in: multiplier on the input layer's output.
    pub alpha_in: f64,
    /// α_out: multiplier on the readout's output (divided by m under μP).
    pub alpha_out: f64,
    /// Start the readout at zero (μP's recommended option).
    pub readout_zero: bool,
}

impl Default for MupConfig {
    fn default() -> Self {
        Self {
            param: Parameterization::Standard,
            base_width: 64,
            alpha_in: 1.0,
            alpha_out: 1.0,
            readout_zero: false,
        }
    }
}

pub mod limits {
    pub const BASE_WIDTH: (usize, usize) = (1, 4096);
    pub const MULT: (f64, f64) = (1e-6, 1e6);
}

/// What a parameter is to μP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Input weights (fan-in = the data's dimension).
    Input,
    /// Width × width weights.
    Hidden,
    /// Readout weights (fan-out = the outputs).
    Readout,
    /// Any bias.
    Bias,
}

impl MupConfig {
    fn mup(&self) -> bool {
        self.param == Parameterization::MuP
    }

    /// m = width / base width under μP; 1 under SP.
    pub fn width_mult(&self, width: usize) -> f64 {
        if self.mup() {
            width as f64 / self.base_width.max(1) as f64
        } else {
            1.0
        }
    }

    /// Init standard deviation of a weight with `fan_in` inputs (biases start at 0).
    pub fn init_std(&self, role: Role, fan_in: usize) -> f64 {
        match role {
            Role::Bias => 0.0,
            Role::Readout if self.mup() && self.readout_zero => 0.0,
            _ => 1.0 / (fan_in.max(1) as f64).sqrt(),
        }
    }

    /// Factor on the base learning rate η for a parameter of `role`.
    pub fn lr_mult(&self, role: Role, opt: OptimizerKind, width: usize) -> f64 {
        let m = self.width_mult(width);
        match (opt, role) {
            (OptimizerKind::Adam, Role::Hidden) => 1.0 / m,
            (OptimizerKind::Adam, _) => 1.0,
            (OptimizerKind::Sgd, Role::Hidden) => 1.0,
            (OptimizerKind::Sgd, _) => m,
        }
    }

    /// Factor on a layer's output in the forward pass (biases have none of their own).
    pub fn forward_mult(&self, role: Role, width: usize) -> f64 {
        if !self.mup() {
            return 1.0;
        }
        match role {
            Role::Input => self.alpha_in,
            Role::Readout => self.alpha_out / self.width_mult(width),
            Role::Hidden | Role::Bias => 1.0,
        }
    }
}

/// The learning rates each group actually gets, for the page and the CLI.
pub fn describe(cfg: &crate::config::ExperimentConfig) -> Option<String> {
    let p = &cfg.mup;
    if !p.mup() {
        return None;
    }
    let (w, opt, lr) = (cfg.width, cfg.opt, cfg.lr);
    let f = |role| crate::config::format_number(lr * p.lr_mult(role, opt, w));
    Some(format!(
        "μP, m = {}/{} = {}: lr input {} · hidden {} · readout {} · biases {}; output × {}",
        w,
        p.base_width,
        crate::config::format_number(p.width_mult(w)),
        f(Role::Input),
        f(Role::Hidden),
        f(Role::Readout),
        f(Role::Bias),
        crate::config::format_number(p.forward_mult(Role::Readout, w)),
    ))
}
