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
    pub const DEPTH: (usize, usize) = (1, 16);
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
    /// Page-only preference, carried in the link so a shared link picks the same backend.
    pub backend: BackendChoice,
    /// Page-only preference: loss axis on a log scale.
    pub log_y: bool,
    /// Page-only preference: step axis on a log scale.
    pub log_x: bool,
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
            backend: BackendChoice::Auto,
            log_y: true,
            log_x: false,
            sweep: crate::sweep::Sweep::default(),
            lora: crate::lora::LoraConfig::default(),
            adapt_steps: 500,
            shift: crate::data::Shift::Rotate,
            planted: crate::planted::PlantedConfig::default(),
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
        self.validate_lora(&mut errs);
        self.validate_planted(&mut errs);
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

    /// FLOPs of one training step: forward + backward ≈ 6 × parameters × examples.
    pub fn step_flops(&self) -> f64 {
        6.0 * self.parameter_estimate() as f64 * self.batch.min(self.points) as f64
    }

    /// Parameters of the model this config builds (weights and biases of every layer).
    pub fn parameter_estimate(&self) -> usize {
        if self.task == Task::Planted {
            return self.planted.dim * self.planted.dim;
        }
        let (w, k) = (self.width, self.outputs());
        let input = self.input_dim() * w + w;
        let hidden = self.depth.saturating_sub(1) * (w * w + w);
        input + hidden + w * k + k
    }

    /// Features per sample.
    pub fn input_dim(&self) -> usize {
        match self.task {
            Task::Planted => self.planted.dim,
            Task::Digits => crate::digits::PIXELS,
            _ => 2,
        }
    }

    /// Model outputs: classes, or the planted task's d.
    pub fn outputs(&self) -> usize {
        match self.task {
            Task::Planted => self.planted.dim,
            _ => self.classes(),
        }
    }

    /// Linear layers of the model (what LoRA's `target` indexes).
    pub fn layer_count(&self) -> usize {
        if self.task == Task::Planted {
            1
        } else {
            self.depth + 1
        }
    }

    /// The model's name for layer `i` (as `Mlp::layers` names it).
    pub fn layer_name(&self, i: usize) -> String {
        let last = self.layer_count() - 1;
        match i {
            _ if i == last => "readout".into(),
            0 => "input".into(),
            _ => format!("hidden.{i}"),
        }
    }

    /// (in, out) of every linear layer, in forward order.
    pub fn layer_dims(&self) -> Vec<(usize, usize)> {
        if self.task == Task::Planted {
            return vec![(self.planted.dim, self.planted.dim)];
        }
        let w = self.width;
        let mut v = vec![(self.input_dim(), w)];
        v.extend((1..self.depth).map(|_| (w, w)));
        v.push((w, self.outputs()));
        v
    }

    /// Scalars the adaptation phase trains (the whole model without one, or for rank 0):
    /// r·(in + out) per adapted layer with both factors.
    pub fn trainable_params(&self) -> usize {
        match self.lora.rank {
            None | Some(0) => self.parameter_estimate(),
            Some(r) => self
                .layer_dims()
                .iter()
                .enumerate()
                .filter(|(i, _)| self.lora.target.includes(*i))
                .map(|(_, &(i, o))| crate::lora::adapter_params(i, o, r, self.lora.train))
                .sum(),
        }
    }

    /// The planted task's Eckart–Young floor for this run's rank (full training when no rank or
    /// rank 0); `None` for the other tasks, whose best loss has no closed form.
    pub fn loss_floor(&self) -> Option<f64> {
        (self.task == Task::Planted).then(|| {
            crate::planted::Teacher::new(&self.planted, self.seed).floor(self.lora.rank.filter(|&r| r > 0))
        })
    }

    /// Steps before the adaptation phase begins (all of them when there is none).
    pub fn pretrain_steps(&self) -> usize {
        match (self.lora.rank, self.task) {
            (None, _) => self.steps,
            (Some(_), Task::Planted) => 0,
            (Some(_), _) => self.steps,
        }
    }

    /// Steps of the whole run, pre-training and adaptation.
    pub fn total_steps(&self) -> usize {
        match (self.lora.rank, self.task) {
            (Some(_), t) if t != Task::Planted => self.steps + self.adapt_steps,
            _ => self.steps,
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

    /// What going from `self` to `new` requires: view-only keys never throw a run away.
    pub fn change_to(&self, new: &ExperimentConfig) -> Change {
        let view_only = |c: &ExperimentConfig| ExperimentConfig {
            log_y: true,
            log_x: false,
            backend: BackendChoice::Auto,
            ..c.clone()
        };
        if self.backend != new.backend {
            Change::SwitchBackend // which restarts the run on the new device
        } else if view_only(self) != view_only(new) {
            Change::Restart
        } else if self.log_y != new.log_y || self.log_x != new.log_x {
            Change::Redraw
        } else {
            Change::None
        }
    }

    /// Number of output classes of the task.
    pub fn classes(&self) -> usize {
        crate::data::classes(self.task)
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
