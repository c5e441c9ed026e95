//! The checks that relate keys to each other (a warm-up needs its schedule, a planted rank fits its
//! dimension, QLoRA needs adapters, …), then the cost caps (`cost`), each with the link key it
//! belongs to and a message that says what to change. Each key's own range is checked from the link's key table
//! (`link::keys::validate` runs both).

use std::fmt;

use crate::experiment::{ConfigError, ExperimentConfig};
use crate::knobs::arch::{Activation, Residual};
use crate::knobs::lora::{Selector, Target};
use crate::knobs::quant::QMode;
use crate::knobs::schedule::Schedule;
use crate::knobs::task::Task;
use crate::vocab::Named;

fn range_error<T: fmt::Display>(key: &'static str, what: &str, v: T, lo: T, hi: T) -> ConfigError {
    ConfigError {
        key,
        message: format!("{what} must be between {lo} and {hi}, got {v}"),
    }
}

impl ExperimentConfig {
    /// Every relation between keys, all problems at once so a person can fix them in one go.
    /// `sizes_in_range` says the keys' own ranges hold: the size caps are only meaningful then.
    pub fn validate_relations(&self, sizes_in_range: bool) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        self.validate_family(&mut errs);
        if !errs.is_empty() {
            // A family that cannot read the task makes every other relation moot.
            return errs;
        }
        self.validate_schedule(&mut errs);
        self.validate_lora(&mut errs);
        if sizes_in_range {
            // The rank and subspace are bounded by the dimension, once it is in range.
            self.validate_planted(&mut errs);
        }
        self.validate_quant(&mut errs);
        if sizes_in_range && errs.is_empty() {
            self.validate_costs(&mut errs);
        }
        errs
    }

    /// The model family fits the task, the transformer's shape is consistent, and the knobs not
    /// yet built for the transformer are refused with what to change (#13 adds them).
    fn validate_family(&self, errs: &mut Vec<ConfigError>) {
        use crate::knobs::arch::Family;
        use crate::knobs::gpt::Pos;
        let err = |key: &'static str, message: String| ConfigError { key, message };
        let task = self.task.key();
        if self.model == Family::Gpt && !self.task.is_sequence() {
            errs.push(err(
                "model",
                format!(
                    "the transformer reads token sequences and task={task} is not one: choose task=copy, reverse, \
                     sort or modadd, or model=mlp"
                ),
            ));
            return;
        }
        if self.model == Family::Mlp && self.task.is_sequence() {
            errs.push(err(
                "model",
                format!("task={task} is a sequence task for the transformer: set model=gpt (or auto)"),
            ));
            return;
        }
        if !self.is_transformer() {
            return;
        }
        let g = &self.gpt;
        if !self.width.is_multiple_of(g.heads.max(1)) {
            errs.push(err(
                "heads",
                format!(
                    "w={} is not a multiple of heads={}: choose heads dividing the width",
                    self.width, g.heads
                ),
            ));
        } else if g.pos == Pos::Rope && !g.head_dim(self.width).is_multiple_of(2) {
            errs.push(err(
                "pos",
                format!(
                    "RoPE rotates pairs of coordinates, and a head is {} wide (w/heads): make it even, or pos=learned",
                    g.head_dim(self.width)
                ),
            ));
        }
        let t = self.input_dim();
        if g.ctx < t {
            errs.push(err(
                "ctx",
                format!("task={task} reads {t} tokens an example; ctx must be at least {t}"),
            ));
        }
        // The knobs the transformer does not take yet, each with the change that makes the link run.
        let not_yet = [
            (
                self.residual != Residual::None,
                "res",
                "the transformer always has residual blocks; res applies to the MLP: remove it",
            ),
            (
                self.act != Activation::Relu,
                "act",
                "the transformer's MLP uses GELU; act applies to the MLP: remove it",
            ),
        ];
        for (on, key, message) in not_yet {
            if on {
                errs.push(err(key, message.into()));
            }
        }
    }

    fn validate_lora(&self, errs: &mut Vec<ConfigError>) {
        let Target::Layers(selectors) = &self.lora.target else {
            return;
        };
        let layers: Vec<String> = (0..self.layer_count()).map(|i| self.layer_name(i)).collect();
        // Every entry must pick at least one layer, or it is a typo.
        let unmatched = selectors
            .iter()
            .find(|s| !layers.iter().enumerate().any(|(i, name)| s.matches(i, name)));
        let message = match unmatched {
            Some(Selector::Index(bad)) => format!(
                "layer {bad} does not exist: this model's layers are numbered 0 (first) to {} (readout)",
                layers.len() - 1
            ),
            Some(Selector::Name(bad)) => format!(
                "no layer is called '{}': this model's layers are {}",
                crate::vocab::clip(bad),
                layers.join(", ")
            ),
            None => return,
        };
        errs.push(ConfigError {
            key: "target",
            message,
        });
    }

    fn validate_schedule(&self, errs: &mut Vec<ConfigError>) {
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
    }

    fn validate_quant(&self, errs: &mut Vec<ConfigError>) {
        use crate::knobs::quant::limits;
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
        if q.outlier != 1.0
            && (self.act != Activation::Relu
                || self.residual != Residual::None
                || self.task == Task::Planted
                || self.is_transformer())
        {
            errs.push(ConfigError {
                key: "qout",
                message: "an outlier channel keeps the model's function only in a plain ReLU MLP: set act=relu and \
                          res=none (or qout=1)"
                    .into(),
            });
        }
        if q.embed && !self.is_transformer() {
            errs.push(ConfigError {
                key: "qemb",
                message: "only the transformer has a token embedding: remove qemb (or set model=gpt on a sequence task)"
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
        let p = &self.planted;
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
