//! Whether an experiment can run, in one place ([`validate`]): each key's own range (its row),
//! then the checks that relate keys to each other (a warm-up needs its schedule, a planted rank
//! fits its dimension, QLoRA needs adapters, …), then the cost caps (`cost`), each with the key it
//! belongs to and a message that says what to change. The trainer runs it before it builds
//! anything; the link runs it to say what it replaced.

use std::fmt;

use crate::keys::{self, ConfigError, Key};
use crate::knobs::ExperimentConfig;
use crate::knobs::arch::{Activation, Residual};
use crate::knobs::lora::{OUTPUT, Selector, Target};
use crate::knobs::quant::QMode;
use crate::knobs::schedule::Schedule;
use crate::knobs::task::Task;
use crate::vocab::Named;

/// Everything wrong with `cfg`: the key table's ranges, then (once sizes are in range) the
/// relations between keys and the size caps.
pub fn validate(cfg: &ExperimentConfig) -> Result<(), Vec<ConfigError>> {
    let mut errs = keys::check_ranges(cfg);
    errs.extend(cfg.validate_relations(errs.is_empty()));
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// [`validate`] as the trainers report it: every error in one line, `; ` between them.
pub fn validate_text(cfg: &ExperimentConfig) -> Result<(), String> {
    validate(cfg).map_err(|errs| {
        errs.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

fn range_error<T: fmt::Display>(key: &'static Key, what: &str, v: T, lo: T, hi: T) -> ConfigError {
    ConfigError::new(key, format!("{what} must be between {lo} and {hi}, got {v}"))
}

impl ExperimentConfig {
    /// Every relation between keys, all problems at once so a person can fix them in one go.
    /// `sizes_in_range` says the keys' own ranges hold: the size caps are only meaningful then.
    fn validate_relations(&self, sizes_in_range: bool) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        self.validate_data(&mut errs);
        if !errs.is_empty() {
            // Without its data the task has no shape to check the rest against.
            return errs;
        }
        self.validate_family(&mut errs);
        if !errs.is_empty() {
            // A family that cannot read the task makes every other relation moot.
            return errs;
        }
        self.validate_schedule(&mut errs);
        self.validate_phase_kind(sizes_in_range, &mut errs);
        self.validate_gns(&mut errs);
        self.validate_lora(&mut errs);
        if sizes_in_range {
            // The rank and subspace are bounded by the dimension, once it is in range.
            self.validate_planted(&mut errs);
        }
        self.validate_quant(&mut errs);
        self.validate_sparse(&mut errs);
        if sizes_in_range && errs.is_empty() {
            self.validate_costs(&mut errs);
        }
        errs
    }

    /// The model family fits the task, and the family's own relations hold
    /// (`Architecture::validate`).
    fn validate_family(&self, errs: &mut Vec<ConfigError>) {
        if let Some(why) = self.arch().refuses(self) {
            errs.push(ConfigError::new(&keys::MODEL, why));
            return;
        }
        self.arch().validate(self, errs);
    }

    fn validate_lora(&self, errs: &mut Vec<ConfigError>) {
        let layers = self.layer_names();
        let selectors = match &self.lora.target {
            Target::Layers(selectors) => selectors,
            Target::AllLinear if self.lora.rank.adapter().is_some() && layers.iter().all(|l| l == OUTPUT) => {
                let message = format!(
                    "all-linear leaves the output layer out, and this model has no other: use {}",
                    keys::TARGET.is("all")
                );
                errs.push(ConfigError::new(&keys::TARGET, message));
                return;
            }
            _ => return,
        };
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
        errs.push(ConfigError::new(&keys::TARGET, message));
    }

    fn validate_schedule(&self, errs: &mut Vec<ConfigError>) {
        // Warm-up counts steps of a phase; the shortest phase bounds it.
        let phase = if self.lora.rank.adapts() && self.pretrain_steps() > 0 {
            self.steps.min(self.adapt_steps)
        } else {
            self.steps
        };
        let (sched, warm) = (&keys::SCHED, &keys::WARM);
        let message = match self.sched {
            Schedule::Const if self.warm > 0 => Some(format!(
                "warm-up steps need a schedule: choose {} or {}, or set {}",
                sched.is(Schedule::Warmup.key()),
                sched.is(Schedule::Cosine.key()),
                warm.is("0")
            )),
            Schedule::Warmup if self.warm == 0 => Some(format!(
                "{} needs {} ≥ 1 warm-up steps (or choose {})",
                sched.is(Schedule::Warmup.key()),
                warm.name,
                sched.is(Schedule::Const.key())
            )),
            _ if self.warm > phase => Some(format!(
                "warm-up ({} steps) must not be longer than a training phase ({phase} steps)",
                self.warm
            )),
            _ => None,
        };
        if let Some(message) = message {
            errs.push(ConfigError::new(warm, message));
        }
    }

    fn validate_quant(&self, errs: &mut Vec<ConfigError>) {
        use crate::knobs::quant::{QFormat, limits};
        let q = &self.quant;
        let (lo, hi) = limits::BITS;
        let bits = &keys::BITS;
        if q.bits != 32 && !(lo..=hi).contains(&q.bits) {
            errs.push(ConfigError::new(
                bits,
                format!(
                    "bit-width must be between {lo} and {hi}, or 32 for float; got {}",
                    q.bits
                ),
            ));
        } else if q.enabled() && q.fmt.fixed_width() && q.bits != q.fmt.width(q.bits) {
            let fixed = q.fmt.width(q.bits);
            errs.push(ConfigError::new(
                bits,
                format!(
                    "{} stores {fixed} bits a weight: set {} (or choose {} or {} for {} bits)",
                    q.fmt.label(),
                    bits.is(&fixed.to_string()),
                    keys::QFMT.is(QFormat::Int.key()),
                    QFormat::UInt.key(),
                    q.bits
                ),
            ));
        }
        if q.outlier != 1.0 && !self.arch().outlier_channel(self) {
            errs.push(ConfigError::new(
                &keys::QOUT,
                format!(
                    "an outlier channel keeps the model's function only in a plain ReLU MLP: set {} and {} (or {})",
                    keys::ACT.is(Activation::Relu.key()),
                    keys::RES.is(Residual::None.key()),
                    keys::QOUT.is("1")
                ),
            ));
        }
        if q.embed && !self.arch().has_token_embedding() {
            errs.push(ConfigError::new(
                &keys::QEMB,
                format!(
                    "only the transformer has a token embedding: remove {} (or set {} on a sequence task)",
                    keys::QEMB.name,
                    keys::MODEL.is(crate::knobs::arch::Family::Gpt.key())
                ),
            ));
        }
        if q.enabled() && q.mode == QMode::Qlora && self.lora.rank.adapter().is_none() {
            errs.push(ConfigError::new(
                &keys::QMODE,
                format!(
                    "a quantized base under LoRA needs adapters: set a LoRA rank {} ≥ 1 (or choose {} or {})",
                    keys::R.name,
                    keys::QMODE.is(QMode::Ptq.key()),
                    QMode::Qat.key()
                ),
            ));
        }
    }

    /// The noise scale compares a batch with its first quarter: a batch of two at least.
    fn validate_gns(&self, errs: &mut Vec<ConfigError>) {
        if self.gns && self.batch_examples() < 2 {
            errs.push(ConfigError::new(
                &keys::GNS,
                format!(
                    "the noise scale compares a batch with its first quarter: it needs {} of at least 2",
                    keys::BS.name
                ),
            ));
        }
    }

    /// Bias-only tuning needs biases the estimate can count (the MLP's); a subspace's d is at
    /// most the model's D (checked once the sizes are in range: D is a product of them; beyond
    /// the dense cap P is the Fastfood map, so no other bound).
    fn validate_phase_kind(&self, sizes_in_range: bool, errs: &mut Vec<ConfigError>) {
        use crate::knobs::arch::Family;
        use crate::knobs::lora::Rank;
        match self.lora.rank {
            Rank::Bias if self.family() != Family::Mlp || self.task == Task::Planted => {
                errs.push(ConfigError::new(
                    &keys::R,
                    format!(
                        "bias-only tuning ({}) is built for the MLP on the 2-D, digit and power-law tasks: the \
                         planted task's student and the sensing factors have no biases, and the transformer's \
                         are not counted yet",
                        keys::R.is("bias")
                    ),
                ));
            }
            Rank::Subspace(d) if sizes_in_range => {
                let (d, total) = (d.get(), self.parameter_estimate());
                if d > total {
                    errs.push(ConfigError::new(
                        &keys::R,
                        format!(
                            "a subspace of {d} dimensions in a model of {total} parameters: choose d ≤ {total} \
                             ({} trains them all)",
                            keys::R.is("0")
                        ),
                    ));
                }
            }
            _ => {}
        }
    }

    /// A sparse run cuts within its one phase, and rewinds to a step before the cut.
    fn validate_sparse(&self, errs: &mut Vec<ConfigError>) {
        use crate::knobs::prune::Start;
        let sp = &self.sparse;
        if !sp.enabled() {
            return;
        }
        if self.lora.rank.adapts() {
            errs.push(ConfigError::new(
                &keys::PKEEP,
                format!(
                    "a sparse run trains one phase, not an adaptation: remove {} (or set {})",
                    keys::R.name,
                    keys::PKEEP.is("1")
                ),
            ));
        }
        if sp.at >= self.total_steps() {
            errs.push(ConfigError::new(
                &keys::PAT,
                format!(
                    "the cut at step {} comes after the last step ({}): choose {} below {}",
                    sp.at,
                    self.total_steps(),
                    keys::PAT.name,
                    keys::STEPS.name
                ),
            ));
        }
        if sp.at < self.total_steps() && self.total_steps() - sp.at < sp.rounds {
            errs.push(ConfigError::new(
                &keys::PROUNDS,
                format!(
                    "{} cuts need a step each after step {}: choose {} at most {}",
                    sp.rounds,
                    sp.at,
                    keys::PROUNDS.name,
                    self.total_steps() - sp.at
                ),
            ));
        }
        if sp.from == Start::Rewind && sp.rewind > sp.at {
            errs.push(ConfigError::new(
                &keys::PREW,
                format!(
                    "a ticket rewinds to a step before its cut: choose {} at most {}",
                    keys::PREW.name,
                    keys::PAT.is(&sp.at.to_string())
                ),
            ));
        }
    }

    /// A table task has its table here; data is a table for `task=table`, a text for `task=text`;
    /// a rotation needs 2-D inputs.
    fn validate_data(&self, errs: &mut Vec<ConfigError>) {
        use crate::knobs::own::Body;
        let body = self.data.as_ref().map(|d| (d, d.body()));
        let err = match (self.task, body) {
            (Task::Table, None) => Some(format!(
                "{} trains on your data: load points, a CSV or paste them (the CLI's --data FILE)",
                keys::TASK.is("table")
            )),
            (Task::Table | Task::Text, Some((d, None))) => Some(format!(
                "this link's data is kept in the browser that made it ({}): give its file to run it (in the page: Data › Your file, or drop it on the page; the CLI: --data FILE)",
                d.link_text()
            )),
            (Task::Table, Some((_, Some(Body::Text(_))))) => Some(format!(
                "the data is a text: it trains the char LM ({})",
                keys::TASK.is("text")
            )),
            (Task::Text, Some((_, Some(Body::Table(_))))) => Some(format!(
                "the data is a table: it trains with {}",
                keys::TASK.is("table")
            )),
            (Task::Text, Some((d, Some(Body::Text(_)))))
                if d.chars() - (d.chars() as f64 * crate::knobs::sequence::TEXT_TRAIN_SHARE) as usize
                    <= self.gpt.ctx =>
            {
                errs.push(ConfigError::new(
                    &keys::CTX,
                    format!(
                        "your text has {} characters: its held-out tenth must hold a window of ctx + 1 = {}; lower ctx or give a longer text",
                        d.chars(),
                        self.gpt.ctx + 1
                    ),
                ));
                None
            }
            (Task::Text, Some((_, Some(Body::Text(_))))) if self.lora.rank.adapts() && self.pretrains() => {
                errs.push(ConfigError::new(
                    &keys::SHIFT,
                    format!(
                        "your text has no shifted version to adapt to: use {} (the adaptation phase trains on it from the start)",
                        keys::SHIFT.is("none")
                    ),
                ));
                None
            }
            (Task::Table, Some((_, Some(Body::Table(t)))))
                if t.classes() == 0
                    && self.shift == crate::knobs::task::Shift::Flip
                    && self.lora.rank.adapts() =>
            {
                errs.push(ConfigError::new(
                    &keys::SHIFT,
                    format!(
                        "reversed labels need classes and this table's target is numbers: use {}",
                        keys::SHIFT.is("none")
                    ),
                ));
                None
            }
            (Task::Table, Some((_, Some(Body::Table(t)))))
                if t.dim() != 2
                    && self.shift == crate::knobs::task::Shift::Rotate
                    && self.lora.rank.adapts() =>
            {
                errs.push(ConfigError::new(
                    &keys::SHIFT,
                    format!(
                        "a quarter turn needs 2-D points and this table has {} features: use {} or {}",
                        t.dim(),
                        keys::SHIFT.is("flip"),
                        keys::SHIFT.is("none")
                    ),
                ));
                None
            }
            _ => None,
        };
        if let Some(e) = err {
            errs.push(ConfigError::new(&keys::DATA, e));
        }
    }

    fn validate_planted(&self, errs: &mut Vec<ConfigError>) {
        let p = &self.planted;
        if !(1..=p.dim).contains(&p.rank) {
            errs.push(range_error(&keys::PR, "planted rank", p.rank, 1, p.dim));
        }
        if let Some(k) = p.k
            && !(1..=p.dim).contains(&k)
        {
            errs.push(range_error(&keys::K, "input subspace", k, 1, p.dim));
        }
    }
}
