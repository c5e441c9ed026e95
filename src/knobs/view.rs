//! How a study's results are shown: the backend (a page preference carried in the link so a shared
//! link picks the same device), the axis scales and what sweep charts compare. Changing a view
//! setting redraws; it never retrains.

use crate::vocab::Named;

/// Which Burn backend runs the training. `Auto` picks WebGPU on a hardware adapter and the CPU
/// backend otherwise (a software WebGPU adapter is ~70× slower than the CPU backend for small MLPs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum BackendChoice {
    #[default]
    Auto,
    Webgpu,
    Cpu,
}

impl Named for BackendChoice {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (BackendChoice::Auto, "auto", "Auto"),
        (BackendChoice::Webgpu, "webgpu", "WebGPU"),
        (BackendChoice::Cpu, "cpu", "CPU"),
    ];
}

/// How many training workers a sweep's runs spread over (link key `jobs`, #33): the page's pool
/// of Web Workers on the CPU backend, the CLI's threads. Each run trains as it would alone, so
/// this changes how long a sweep takes, never its curves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Jobs {
    /// As many as there are cores to spare (the page keeps one for itself and the charts), at
    /// most one a run, within the memory cap (`experiment::pool`).
    #[default]
    Auto,
    /// This many at most (still one a run at most, within the memory cap).
    Count(usize),
}

/// The most workers a link may ask for: more than a laptop's cores only queue.
pub const MAX_JOBS: usize = 16;

impl Jobs {
    /// `auto` or a whole number in 1..=[`MAX_JOBS`].
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("auto") {
            return Ok(Jobs::Auto);
        }
        match t.parse::<usize>() {
            Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(Jobs::Count(n)),
            Ok(n) => Err(format!("{n} workers is outside 1–{MAX_JOBS} (or auto)")),
            Err(_) => Err(format!(
                "'{}' is not a number of workers (1–{MAX_JOBS} or auto)",
                crate::vocab::clip(t)
            )),
        }
    }

    /// As a link writes it.
    pub fn text(self) -> String {
        match self {
            Jobs::Auto => "auto".into(),
            Jobs::Count(n) => n.to_string(),
        }
    }
}

/// Whether a sweep's same-shape runs train as one stacked model (link key `stack`, #33): every
/// parameter with a leading run axis, one batched product for K runs, each run's rates in the
/// optimizer (`experiment::stack` groups them, `train::stack` trains them). A run's curve equals
/// its unstacked curve within float tolerance, so this changes how long a sweep takes, never
/// what it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Stack {
    /// Where it is measured faster: on a GPU (`experiment::stack::auto_on`).
    #[default]
    Auto,
    /// Every run alone (`0`; `1` says the same).
    Off,
    /// Stacks of at most this many runs, on any device.
    Count(usize),
}

/// The most runs one stack holds: a step's per-run rates are one 256-byte row of the optimizer's
/// table (`train::stack`), 64 floats.
pub const MAX_STACK: usize = 64;

impl Stack {
    /// `auto`, `0` (or `1`): off, or a whole number up to [`MAX_STACK`].
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("auto") {
            return Ok(Stack::Auto);
        }
        match t.parse::<usize>() {
            Ok(0 | 1) => Ok(Stack::Off),
            Ok(n) if n <= MAX_STACK => Ok(Stack::Count(n)),
            Ok(n) => Err(format!("{n} runs a stack is outside 0–{MAX_STACK} (or auto)")),
            Err(_) => Err(format!(
                "'{}' is not a number of runs a stack (0–{MAX_STACK} or auto)",
                crate::vocab::clip(t)
            )),
        }
    }

    /// As a link writes it.
    pub fn text(self) -> String {
        match self {
            Stack::Auto => "auto".into(),
            Stack::Off => "0".into(),
            Stack::Count(n) => n.to_string(),
        }
    }
}

/// What a sweep chart, heatmap and best-value plot compare runs by (link key `metric`, a view
/// setting: changing it redraws, never retrains).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SweepMetric {
    /// Validation loss at the last evaluation.
    #[default]
    Final,
    /// Lowest validation loss of the (last) phase: early stopping. On a small data set a wide
    /// model memorises its training set within a few epochs, and the final loss then measures
    /// over-fitting noise rather than how well a learning rate trained.
    Best,
}

impl Named for SweepMetric {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (SweepMetric::Final, "final", "final validation loss"),
        (SweepMetric::Best, "best", "best validation loss"),
    ];
}

/// The figure presenter and embed mode put beside the loss curves (link key `fig`): by default
/// the first shown of what a study is about (its coordinate check, its sweep chart, …); a preset
/// whose claim is about another figure names it (grokking: the accuracy curves, `seq`). The
/// names are the charts' own (`report::figures::Chart::name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lead {
    #[default]
    Auto,
    Sweep,
    Coord,
    Heatmap,
    Seq,
    Boundary,
    Weights,
    Spectrum,
    Attention,
    BestValue,
    Norms,
    Sensing,
    Scaling,
    Pruning,
    Intrinsic,
    NoiseScale,
    Critical,
}

impl Named for Lead {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Lead::Auto, "auto", "what the study is about"),
        (Lead::Sweep, "sweep", "the sweep chart"), // not a link key: the chart's id
        (Lead::Coord, "coord", "the coordinate check"), // not a link key: the chart's id
        (Lead::Heatmap, "heatmap", "the heatmap"),
        (Lead::Seq, "seq", "accuracy and the instability proxies"),
        (Lead::Boundary, "boundary", "the decision boundary"),
        (Lead::Weights, "weights", "the quantized weights"),
        (Lead::Spectrum, "spectrum", "ΔW's singular values"),
        (Lead::Attention, "attn", "an attention head and the samples"),
        (Lead::BestValue, "bestlr", "the best value per width"),
        (Lead::Norms, "gradnorm", "the gradient and update norms"),
        (Lead::Sensing, "sensing", "the recovery error and σ(M)"),
        (Lead::Scaling, "scaling", "the scaling-law fit"),
        (Lead::Pruning, "pruning", "loss against the weights kept"),
        (
            Lead::Intrinsic,
            "intrinsic",
            "accuracy against parameters trained",
        ),
        (Lead::NoiseScale, "noisescale", "the gradient noise scale"),
        (Lead::Critical, "critical", "the critical batch"),
    ];
}

/// At most this many knobs on a presenter's bar: more would not be read from the back of a room.
pub const MAX_KNOBS: usize = 4;

/// The view keys of a link (`backend`, `jobs`, `stack`, `ylog`, `xlog`, `metric`, `fig`, `present`, `knobs`,
/// `embed`, `deck`, `slide`).
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub backend: BackendChoice,
    /// Training workers for a sweep (#33).
    pub jobs: Jobs,
    /// Same-shape runs of a sweep stacked into one model (#33).
    pub stack: Stack,
    /// Loss axis on a log scale.
    pub log_y: bool,
    /// Step axis on a log scale.
    pub log_x: bool,
    pub metric: SweepMetric,
    /// The validation loss the critical-batch figure counts steps to; `None`: its own choice
    /// (`train::critical::auto_target`).
    pub reach: Option<f64>,
    /// The figure beside the loss curves in presenter and embed mode.
    pub lead: Lead,
    /// Presenter mode (#14): the charts fill the screen in large type and the controls give way to
    /// the bar of `knobs`.
    pub present: bool,
    /// The knobs presenter mode shows, as link keys (`link::ladder`).
    pub knobs: Vec<String>,
    /// Embed mode, for an iframe in slides or a blog post: the charts and a compact knob bar.
    pub embed: bool,
    /// A talk's slides, each a preset id or a link's query (`link::deck`); empty: no deck.
    pub deck: Vec<String>,
    /// The slide on screen, from 1.
    pub slide: usize,
}

impl Default for View {
    fn default() -> Self {
        Self {
            backend: BackendChoice::Auto,
            jobs: Jobs::Auto,
            stack: Stack::Auto,
            log_y: true,
            log_x: false,
            metric: SweepMetric::Final,
            reach: None,
            lead: Lead::Auto,
            present: false,
            knobs: Vec::new(),
            embed: false,
            deck: Vec::new(),
            slide: 1,
        }
    }
}
