//! `ExperimentConfig`: everything that defines one training run, with validation whose messages say
//! what to change. The link codec (`url.rs`) and the CLI both produce this type; the trainer only
//! consumes it, so a link and a CLI call with the same query string run the same experiment.

use std::fmt;
use std::str::FromStr;

/// A data set. The 2-D toys are classification tasks with a decision boundary to draw; `Planted`
/// is the linear teacher–student regression of RESEARCH.md E1; `Digits` the bundled 8×8 digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Task {
    #[default]
    Spiral,
    Xor,
    Circles,
    Moons,
    Blobs,
    Planted,
    Digits,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    #[default]
    Relu,
    Tanh,
    Gelu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OptimizerKind {
    #[default]
    Adam,
    Sgd,
}

/// Which Burn backend runs the training. `Auto` picks WebGPU on a hardware adapter and the CPU
/// backend otherwise (a software WebGPU adapter is ~70× slower than the CPU backend for small MLPs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendChoice {
    #[default]
    Auto,
    Webgpu,
    Cpu,
}

/// Names used in links, on the page and in the CLI. One table per enum keeps the three in step.
pub trait Named: Sized + Copy + 'static {
    /// (link value, human label) for every variant, default first.
    const NAMES: &'static [(Self, &'static str, &'static str)];
    /// What the value is called in error messages ("task", "activation").
    const WHAT: &'static str;

    fn key(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::NAMES
            .iter()
            .find(|(v, _, _)| *v == self)
            .map(|(_, k, _)| *k)
            .unwrap_or("?")
    }

    fn label(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::NAMES
            .iter()
            .find(|(v, _, _)| *v == self)
            .map(|(_, _, l)| *l)
            .unwrap_or("?")
    }

    fn parse_key(s: &str) -> Result<Self, String> {
        Self::NAMES
            .iter()
            .find(|(_, k, _)| k.eq_ignore_ascii_case(s))
            .map(|(v, _, _)| *v)
            .ok_or_else(|| {
                let choices: Vec<&str> = Self::NAMES.iter().map(|(_, k, _)| *k).collect();
                format!(
                    "unknown {} '{}' (choose one of: {})",
                    Self::WHAT,
                    s,
                    choices.join(", ")
                )
            })
    }
}

impl Named for Task {
    const WHAT: &'static str = "task";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Task::Spiral, "spiral", "Two spirals"),
        (Task::Xor, "xor", "XOR quadrants"),
        (Task::Circles, "circles", "Concentric circles"),
        (Task::Moons, "moons", "Two moons"),
        (Task::Blobs, "blobs", "Three Gaussian blobs"),
        (Task::Planted, "planted", "Planted-rank teacher (regression)"),
        (Task::Digits, "digits", "Digits 8×8 (UCI)"),
    ];
}

impl Named for Activation {
    const WHAT: &'static str = "activation";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Activation::Relu, "relu", "ReLU"),
        (Activation::Tanh, "tanh", "tanh"),
        (Activation::Gelu, "gelu", "GELU"),
    ];
}

impl Named for OptimizerKind {
    const WHAT: &'static str = "optimizer";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (OptimizerKind::Adam, "adam", "Adam"),
        (OptimizerKind::Sgd, "sgd", "SGD"),
    ];
}

impl Named for BackendChoice {
    const WHAT: &'static str = "backend";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (BackendChoice::Auto, "auto", "Auto"),
        (BackendChoice::Webgpu, "webgpu", "WebGPU"),
        (BackendChoice::Cpu, "cpu", "CPU"),
    ];
}

/// Limits shared by validation, the page's input ranges and the docs. They keep a run small enough
/// to train in a browser tab and keep a link from asking for gigabytes.
pub mod limits {
    pub const WIDTH: (usize, usize) = (1, 4096);
    /// Hidden layers (residual blocks with `res`): E5 goes to 32.
    pub const DEPTH: (usize, usize) = (1, 32);
    /// Coordinate-check steps: the check is about the first few updates.
    pub const COORD: (usize, usize) = (0, 20);
    pub const LR: (f64, f64) = (1e-7, 10.0);
    pub const BATCH: (usize, usize) = (1, 8192);
    pub const STEPS: (usize, usize) = (1, 100_000);
    pub const POINTS: (usize, usize) = (8, 8192);
    /// Parameters of one model: with gradients and Adam's two moments, 5 M parameters take ~80 MB,
    /// comfortable in a browser tab's 32-bit address space.
    pub const PARAMS: usize = 5_000_000;
    /// Work of one training step: a step must not freeze a tab on the CPU backend for seconds.
    pub const STEP_GFLOP: f64 = 5.0;
}

/// One training run.
#[derive(Clone, Debug, PartialEq)]
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
    pub sched: crate::schedule::Schedule,
    pub warm: usize,
    pub wd: f64,
    /// Plain MLP or residual blocks, and the residual branch multiplier.
    pub residual: crate::model::Residual,
    /// Coordinate check: record mean |output| of every layer after each of the first `coord`
    /// steps (0 = off).
    pub coord: usize,
    /// Page-only preference, carried in the link so a shared link picks the same backend.
    pub backend: BackendChoice,
    /// Page-only preference: loss axis on a log scale.
    pub log_y: bool,
    /// Page-only preference: step axis on a log scale.
    pub log_x: bool,
    /// View setting: what sweep charts compare runs by.
    pub metric: crate::metrics::SweepMetric,
    /// Knobs to vary around this config; empty for a single run.
    pub sweep: crate::sweep::Sweep,
    /// The adaptation phase (LoRA or full fine-tuning); `lora.rank == None` = none.
    pub lora: crate::lora::LoraConfig,
    /// Steps of the adaptation phase after pre-training (the planted task has no pre-training: its
    /// student starts at the teacher's W0 and `steps` is the adaptation).
    pub adapt_steps: usize,
    /// How the adaptation task differs from the pre-training task.
    pub shift: crate::data::Shift,
    pub planted: crate::planted::PlantedConfig,
    /// Standard parameterization or μP, and μP's base width and multipliers.
    pub mup: crate::mup::MupConfig,
    /// Weight quantization: bits, format, scale granularity, clipping and mode.
    pub quant: crate::quant::QuantConfig,
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
            sched: crate::schedule::Schedule::Const,
            warm: 0,
            wd: 0.0,
            residual: crate::model::Residual::None,
            coord: 0,
            backend: BackendChoice::Auto,
            log_y: true,
            log_x: false,
            metric: crate::metrics::SweepMetric::Final,
            sweep: crate::sweep::Sweep::default(),
            lora: crate::lora::LoraConfig::default(),
            adapt_steps: 500,
            shift: crate::data::Shift::Rotate,
            planted: crate::planted::PlantedConfig::default(),
            mup: crate::mup::MupConfig::default(),
            quant: crate::quant::QuantConfig::default(),
        }
    }
}

/// What a change of the config asks of the page (DESIGN.md §4's `Effect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing that matters changed.
    None,
    /// Only how the results are shown changed: redraw, keep the run.
    Redraw,
    /// The backend choice changed: pick the device again, then start a new run.
    SwitchBackend,
    /// A knob of the experiment changed: the old curve no longer describes it; start a new run.
    Restart,
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

    /// The experiment alone: this config with the page-only keys (backend, axis scales) at their
    /// defaults, so two configs that train the same runs compare equal.
    pub fn experiment(&self) -> ExperimentConfig {
        ExperimentConfig {
            log_y: true,
            log_x: false,
            metric: crate::metrics::SweepMetric::Final,
            backend: BackendChoice::Auto,
            ..self.clone()
        }
    }

    /// Whether `self` and `other` train the very same weights: equal experiments apart from
    /// post-training quantization, which only acts once training is over. The page then keeps the
    /// finished run's weights on screen while the new one runs, so the histogram and its grid
    /// follow the bit knob at once.
    pub fn same_training(&self, other: &ExperimentConfig) -> bool {
        use crate::quant::QMode;
        let post_hoc = |c: &ExperimentConfig| !c.quant.enabled() || c.quant.mode == QMode::Ptq;
        let strip = |c: &ExperimentConfig| ExperimentConfig {
            quant: crate::quant::QuantConfig::default(),
            ..c.experiment()
        };
        post_hoc(self) && post_hoc(other) && strip(self) == strip(other)
    }

    /// What going from `self` to `new` requires: view-only keys never throw a run away.
    pub fn change_to(&self, new: &ExperimentConfig) -> Change {
        if self.backend != new.backend {
            Change::SwitchBackend // which restarts the run on the new device
        } else if self.experiment() != new.experiment() {
            Change::Restart
        } else if self.log_y != new.log_y || self.log_x != new.log_x || self.metric != new.metric {
            Change::Redraw
        } else {
            Change::None
        }
    }
}

/// Shortest decimal that reads back as the same f64 (Rust's `Display` already does this), so
/// links stay short and exact.
pub fn format_number(x: f64) -> String {
    format!("{x}")
}

/// Parses a number a person typed: plain decimals, exponents (`1e-3`) and powers of two (`2^-7`),
/// the way learning rates are written in the μP papers.
pub fn parse_number(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_prefix("2^") {
        Some(exp) => {
            let e = i32::from_str(exp).map_err(|_| format!("'{s}' is not a number"))?;
            if !(-1000..=1000).contains(&e) {
                return Err(format!("'{s}' is out of range"));
            }
            2f64.powi(e)
        }
        None => f64::from_str(t).map_err(|_| format!("'{s}' is not a number"))?,
    };
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("'{s}' is not a finite number"))
    }
}

/// Parses a whole number, with a message a person can act on.
pub fn parse_count(s: &str) -> Result<usize, String> {
    usize::from_str(s.trim()).map_err(|_| format!("'{s}' is not a whole number"))
}
