//! `ExperimentConfig`: everything that defines one training run, with validation whose messages say
//! what to change. A link (`link::Study`) holds one, with the sweep and view around it; the trainer
//! only consumes it, so a link and a CLI call with the same query string run the same experiment.

use std::fmt;

use crate::knobs::arch::Activation;
use crate::knobs::optim::OptimizerKind;
use crate::knobs::task::Task;
use crate::vocab::{Named, format_number};

/// One training run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExperimentConfig {
    pub task: Task,
    /// Training points drawn from the task (validation gets the same number of fresh points).
    pub points: usize,
    /// Hidden width of the MLP.
    pub width: usize,
    /// Number of hidden layers.
    pub depth: usize,
    pub act: Activation,
    pub opt: OptimizerKind,
    pub lr: f64,
    pub batch: usize,
    pub steps: usize,
    pub seed: u64,
    /// Learning-rate schedule over each phase, its warm-up steps, and weight decay.
    pub sched: crate::knobs::schedule::Schedule,
    pub warm: usize,
    pub wd: f64,
    /// Plain MLP or residual blocks, and the residual branch multiplier.
    pub residual: crate::knobs::arch::Residual,
    /// Coordinate check: record mean |output| of every layer after each of the first `coord`
    /// steps (0 = off).
    pub coord: usize,
    /// The adaptation phase (LoRA or full fine-tuning); `lora.rank == None` = none.
    pub lora: crate::knobs::lora::LoraConfig,
    /// Steps of the adaptation phase after pre-training (the planted task has no pre-training: its
    /// student starts at the teacher's W0 and `steps` is the adaptation).
    pub adapt_steps: usize,
    /// How the adaptation task differs from the pre-training task.
    pub shift: crate::knobs::task::Shift,
    pub planted: crate::knobs::task::PlantedConfig,
    /// The model family, the transformer's shape and the sequence tasks' knobs (#13).
    pub model: crate::knobs::arch::Family,
    pub gpt: crate::knobs::gpt::GptConfig,
    pub seq: crate::knobs::sequence::SeqConfig,
    /// Standard parameterization or μP, and μP's base width and multipliers.
    pub mup: crate::knobs::mup::MupConfig,
    /// Weight quantization: bits, format, scale granularity, clipping and mode.
    pub quant: crate::knobs::quant::QuantConfig,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            task: Task::Spiral,
            points: 256,
            width: 64,
            depth: 3,
            act: Activation::Relu,
            opt: OptimizerKind::Adam,
            lr: 0.01,
            batch: 64,
            steps: 500,
            seed: 1,
            sched: crate::knobs::schedule::Schedule::Const,
            warm: 0,
            wd: 0.0,
            residual: crate::knobs::arch::Residual::None,
            coord: 0,
            lora: crate::knobs::lora::LoraConfig::default(),
            adapt_steps: 500,
            shift: crate::knobs::task::Shift::Rotate,
            planted: crate::knobs::task::PlantedConfig::default(),
            model: crate::knobs::arch::Family::Auto,
            gpt: crate::knobs::gpt::GptConfig::default(),
            seq: crate::knobs::sequence::SeqConfig::default(),
            mup: crate::knobs::mup::MupConfig::default(),
            quant: crate::knobs::quant::QuantConfig::default(),
        }
    }
}

/// A value a person gave that cannot be used, with the link/CLI key it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    pub key: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ExperimentConfig {
    /// Whether the transformer trains (`model=gpt`, or `auto` on a sequence task).
    pub fn is_transformer(&self) -> bool {
        use crate::knobs::arch::Family;
        match self.model {
            Family::Gpt => true,
            Family::Mlp => false,
            Family::Auto => self.task.is_sequence(),
        }
    }

    /// A short legend label naming the model and optimizer.
    pub fn label(&self) -> String {
        if self.task == Task::Planted {
            return format!(
                "planted d={} r*={} · {} lr={} bs={}",
                self.planted.dim,
                self.planted.rank,
                self.opt.key(),
                format_number(self.lr),
                self.batch
            );
        }
        if self.is_transformer() {
            return format!(
                "{} · gpt w{} d{} h{} · {} lr={} bs={}",
                self.task.key(),
                self.width,
                self.depth,
                self.gpt.heads,
                self.opt.key(),
                format_number(self.lr),
                self.batch
            );
        }
        format!(
            "{} · w{} d{} {} · {} lr={} bs={}",
            self.task.key(),
            self.width,
            self.depth,
            self.act.key(),
            self.opt.key(),
            format_number(self.lr),
            self.batch
        )
    }

    /// Whether `self` and `other` train the very same weights: equal experiments apart from
    /// post-training quantization, which only acts once training is over. The page then keeps the
    /// finished run's weights on screen while the new one runs, so the histogram and its grid
    /// follow the bit knob at once.
    pub fn same_training(&self, other: &ExperimentConfig) -> bool {
        use crate::knobs::quant::QMode;
        let post_hoc = |c: &ExperimentConfig| !c.quant.enabled() || c.quant.mode == QMode::Ptq;
        let strip = |c: &ExperimentConfig| ExperimentConfig {
            quant: crate::knobs::quant::QuantConfig::default(),
            ..c.clone()
        };
        post_hoc(self) && post_hoc(other) && strip(self) == strip(other)
    }
}
