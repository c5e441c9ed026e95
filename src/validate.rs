//! Validation of a config: every field against its limits, all problems at once, each with the
//! link key it belongs to and a message that says what to change.

use std::fmt;

use crate::config::{ConfigError, ExperimentConfig, Task, limits};

fn range_error<T: fmt::Display>(key: &'static str, what: &str, v: T, lo: T, hi: T) -> ConfigError {
    ConfigError {
        key,
        message: format!("{what} must be between {lo} and {hi}, got {v}"),
    }
}

impl ExperimentConfig {
    /// Checks every field; returns all problems at once so a person can fix them in one go.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut errs = Vec::new();
        let (lo, hi) = limits::WIDTH;
        if !(lo..=hi).contains(&self.width) {
            errs.push(range_error("w", "width", self.width, lo, hi));
        }
        let (lo, hi) = limits::DEPTH;
        if !(lo..=hi).contains(&self.depth) {
            errs.push(range_error("d", "hidden layers", self.depth, lo, hi));
        }
        let (lo, hi) = limits::LR;
        if !self.lr.is_finite() || !(lo..=hi).contains(&self.lr) {
            errs.push(range_error("lr", "learning rate", self.lr, lo, hi));
        }
        let (lo, hi) = limits::BATCH;
        if !(lo..=hi).contains(&self.batch) {
            errs.push(range_error("bs", "batch size", self.batch, lo, hi));
        }
        let (lo, hi) = limits::STEPS;
        if !(lo..=hi).contains(&self.steps) {
            errs.push(range_error("steps", "steps", self.steps, lo, hi));
        }
        let (lo, hi) = limits::POINTS;
        if !(lo..=hi).contains(&self.points) {
            errs.push(range_error("n", "training points", self.points, lo, hi));
        }
        let (lo, hi) = limits::STEPS;
        if !(lo..=hi).contains(&self.adapt_steps) {
            errs.push(range_error(
                "asteps",
                "adaptation steps",
                self.adapt_steps,
                lo,
                hi,
            ));
        }
        self.validate_schedule(&mut errs);
        self.validate_lora(&mut errs);
        self.validate_mup(&mut errs);
        self.validate_planted(&mut errs);
        self.validate_quant(&mut errs);
        if errs.is_empty() {
            // Only meaningful once the sizes themselves are in range.
            let params = self.parameter_estimate();
            let step_gflop = self.step_flops() / 1e9;
            if params > limits::PARAMS || step_gflop > limits::STEP_GFLOP {
                errs.push(ConfigError {
                    key: if self.task == Task::Planted { "dim" } else { "w" },
                    message: format!(
                        "a {}-wide, {}-layer model has {params} parameters and a step of batch {} costs {step_gflop:.1} \
                         GFLOP; the limits are {} parameters and {} GFLOP a step: lower the width, depth or batch size",
                        self.width,
                        self.depth,
                        self.batch.min(self.points),
                        limits::PARAMS,
                        limits::STEP_GFLOP
                    ),
                });
            }
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }

    fn validate_lora(&self, errs: &mut Vec<ConfigError>) {
        use crate::lora::limits;
        let l = &self.lora;
        if let Some(r) = l.rank
            && r > limits::RANK
        {
            errs.push(range_error("r", "LoRA rank", r, 0, limits::RANK));
        }
        let (lo, hi) = limits::ALPHA;
        if !l.alpha.is_finite() || !(lo..=hi).contains(&l.alpha) {
            errs.push(range_error("alpha", "LoRA α", l.alpha, lo, hi));
        }
        let (lo, hi) = limits::LPLUS;
        if !l.lplus.is_finite() || !(lo..=hi).contains(&l.lplus) {
            errs.push(range_error("lplus", "LoRA+ ratio λ", l.lplus, lo, hi));
        }
        let layers = self.layer_count();
        if let crate::lora::Target::Layers(v) = &l.target
            && let Some(bad) = v.iter().find(|&&i| i >= layers)
        {
            errs.push(ConfigError {
                key: "target",
                message: format!(
                    "layer {bad} does not exist: this model's layers are numbered 0 (first) to {} (readout)",
                    layers - 1
                ),
            });
        }
    }

    fn validate_schedule(&self, errs: &mut Vec<ConfigError>) {
        use crate::schedule::{Schedule, limits};
        let (lo, hi) = limits::WD;
        if !self.wd.is_finite() || !(lo..=hi).contains(&self.wd) {
            errs.push(range_error("wd", "weight decay", self.wd, lo, hi));
        }
        // Warm-up counts steps of a phase; the shortest phase bounds it.
        let phase = match self.lora.rank {
            Some(_) if self.pretrain_steps() > 0 => self.steps.min(self.adapt_steps),
            _ => self.steps,
        };
        let message = match self.sched {
            Schedule::Const if self.warm > 0 => Some(
                "warm-up steps need a schedule: choose sched=warmup or sched=cosine, or set warm=0"
                    .to_string(),
            ),
            Schedule::Warmup if self.warm == 0 => {
                Some("sched=warmup needs warm ≥ 1 warm-up steps (or choose sched=const)".to_string())
            }
            _ if self.warm > phase => Some(format!(
                "warm-up ({} steps) must not be longer than a training phase ({phase} steps)",
                self.warm
            )),
            _ => None,
        };
        if let Some(message) = message {
            errs.push(ConfigError { key: "warm", message });
        }
        let (lo, hi) = crate::config::limits::COORD;
        if !(lo..=hi).contains(&self.coord) {
            errs.push(range_error("coord", "coordinate-check steps", self.coord, lo, hi));
        }
    }

    fn validate_mup(&self, errs: &mut Vec<ConfigError>) {
        use crate::mup::limits;
        let p = &self.mup;
        let (lo, hi) = limits::BASE_WIDTH;
        if !(lo..=hi).contains(&p.base_width) {
            errs.push(range_error("bw", "base width", p.base_width, lo, hi));
        }
        let (lo, hi) = limits::MULT;
        for (key, what, v) in [
            ("ain", "input multiplier α_in", p.alpha_in),
            ("aout", "output multiplier α_out", p.alpha_out),
        ] {
            if !v.is_finite() || !(lo..=hi).contains(&v) {
                errs.push(range_error(key, what, v, lo, hi));
            }
        }
    }

    fn validate_quant(&self, errs: &mut Vec<ConfigError>) {
        use crate::config::Named;
        use crate::quant::{QMode, limits};
        let q = &self.quant;
        let (lo, hi) = limits::BITS;
        if q.bits != 32 && !(lo..=hi).contains(&q.bits) {
            errs.push(ConfigError {
                key: "bits",
                message: format!(
                    "bit-width must be between {lo} and {hi}, or 32 for float; got {}",
                    q.bits
                ),
            });
        } else if q.enabled() && q.fmt.fixed_width() && q.bits != q.fmt.width(q.bits) {
            errs.push(ConfigError {
                key: "bits",
                message: format!(
                    "{} stores {} bits a weight: set bits={} (or choose qfmt=int or uint for {} bits)",
                    q.fmt.label(),
                    q.fmt.width(q.bits),
                    q.fmt.width(q.bits),
                    q.bits
                ),
            });
        }
        let (lo, hi) = limits::GROUP;
        if !(lo..=hi).contains(&q.group) {
            errs.push(range_error("qgs", "group size", q.group, lo, hi));
        }
        let (lo, hi) = limits::OUTLIER;
        if !q.outlier.is_finite() || !(lo..=hi).contains(&q.outlier) {
            errs.push(range_error("qout", "outlier factor", q.outlier, lo, hi));
        } else if q.outlier != 1.0
            && (self.act != crate::config::Activation::Relu
                || self.residual != crate::model::Residual::None
                || self.task == Task::Planted)
        {
            errs.push(ConfigError {
                key: "qout",
                message: "an outlier channel keeps the model's function only in a plain ReLU MLP: set act=relu and \
                          res=none (or qout=1)"
                    .into(),
            });
        }
        if q.enabled() && q.mode == QMode::Qlora && self.lora.rank.is_none_or(|r| r == 0) {
            errs.push(ConfigError {
                key: "qmode",
                message: "a quantized base under LoRA needs adapters: set a LoRA rank r ≥ 1 (or choose qmode=ptq or qat)"
                    .into(),
            });
        }
    }

    fn validate_planted(&self, errs: &mut Vec<ConfigError>) {
        use crate::planted::limits;
        let p = &self.planted;
        let (lo, hi) = limits::NOISE;
        if !p.noise.is_finite() || !(lo..=hi).contains(&p.noise) {
            errs.push(range_error("noise", "noise std", p.noise, lo, hi));
        }
        let (lo, hi) = limits::DIM;
        if !(lo..=hi).contains(&p.dim) {
            errs.push(range_error("dim", "planted dimension", p.dim, lo, hi));
            return; // the rank and subspace are bounded by the dimension
        }
        if !(1..=p.dim).contains(&p.rank) {
            errs.push(range_error("pr", "planted rank", p.rank, 1, p.dim));
        }
        if let Some(k) = p.k
            && !(1..=p.dim).contains(&k)
        {
            errs.push(range_error("k", "input subspace", k, 1, p.dim));
        }
    }
}
