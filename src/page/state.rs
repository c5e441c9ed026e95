//! The page's state: the study on screen, its runs and their results, the run state, the backend,
//! the messages. Only `page::update` writes it; `page::view` says what it shows.

use crate::data::{self, Samples, Targets};
use crate::knobs::ExperimentConfig;
use crate::link::study::Study;
use crate::link::sweep::SweepPoint;
use crate::plot::BoundaryGrid;
use crate::report::Results;
use crate::train::metrics::Run;

/// How often the decision boundary and the side charts are refreshed while training.
pub const SIDE_EVERY_MS: f64 = 250.0;
/// A sweep's loss chart (many curves) is redrawn at most this often.
pub const LOSS_CHART_EVERY_MS: f64 = 100.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RunState {
    Idle,
    Running,
    Paused,
    Done,
    Diverged,
    Cancelled,
    Failed,
}

impl RunState {
    /// The name the page publishes (`data-state`), which the tests and the benchmark wait on.
    pub fn key(self) -> &'static str {
        match self {
            RunState::Idle => "idle",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Done => "done",
            RunState::Diverged => "diverged",
            RunState::Cancelled => "cancelled",
            RunState::Failed => "failed",
        }
    }

    /// A state no more training follows.
    pub fn is_over(self) -> bool {
        matches!(
            self,
            RunState::Done | RunState::Diverged | RunState::Cancelled | RunState::Failed
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BackendKind {
    Webgpu,
    Cpu,
}

/// The backend training runs on, with the sentence the status line shows. The device itself
/// lives in the training worker, which owns it (#16).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActiveBackend {
    pub kind: BackendKind,
    pub summary: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub level: Level,
    pub text: String,
}

/// What tests and the benchmark read of a run besides what a person sees: kept apart from the
/// page's own state, which never branches on it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Telemetry {
    /// Navigation to the first curve point, once.
    pub first_point_ms: Option<f64>,
    /// When the last run ended: with `State::started_ms`, the wall time of the whole study,
    /// set-up included.
    pub finished_ms: Option<f64>,
    /// Frames the current runner has begun (its generation, the count), and the generation of
    /// the last runner that stopped on Cancel: what the tests wait on instead of fixed times.
    pub runner_frames: (u64, u64),
    pub runner_stopped: Option<u64>,
}

/// How far the charts follow the runs: each count moves when new results are due on screen
/// (the loss chart at most every [`LOSS_CHART_EVERY_MS`] in a sweep, the side charts every
/// [`SIDE_EVERY_MS`] and when a run's end-of-run figures arrive). `page::view` turns them into
/// the charts' revisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    pub loss: u64,
    pub side: u64,
}

/// Everything the page shows and the runner needs.
#[derive(Clone, Debug)]
pub struct State {
    pub study: Study,
    pub backend: Option<ActiveBackend>,
    /// The runs of the study: one, or every point of its sweep.
    pub points: Vec<SweepPoint>,
    pub runs: Vec<Run>,
    /// Wall time attributed to each run (for its steps/s in the table).
    pub run_ms: Vec<f64>,
    pub grid: Option<BoundaryGrid>,
    /// The points the decision-boundary chart shows (the current phase's training set).
    pub data: Samples,
    /// Bumped by every restart; messages from a runner of another generation are ignored.
    pub generation: u64,
    /// Logical processors the browser reports (a pool of workers takes all but one).
    pub cores: usize,
    /// The runs each training worker of this generation trains (indices into `runs`): one share
    /// unless a sweep trains on a pool (#33); and each share's live steps/s.
    pub shares: Vec<Vec<usize>>,
    pub share_rates: Vec<f64>,
    /// Runs that train stacked, and in how many stacks (#33; `page::pool::stacked`).
    pub stacked: (usize, usize),
    pub run_state: RunState,
    pub steps_per_s: f64,
    /// When the runner of this generation started (ms since navigation), for the ETA.
    pub started_ms: Option<f64>,
    /// The planted teacher's visible σ for the spectrum chart, computed once per study.
    pub planted_sigma: Option<Vec<f64>>,
    /// When the side charts and the loss chart last took new results during training.
    pub side_drawn_ms: f64,
    pub loss_drawn_ms: f64,
    pub shown: Shown,
    /// The single run's end-of-run readback has arrived.
    pub analysed: bool,
    /// Backend selections asked for and answered (`data-backend-asked/-answered`); at most one
    /// is in flight, and a choice made meanwhile is asked for when it answers.
    pub backend_asked: u64,
    pub backend_answered: u64,
    pub backend_rechoose: bool,
    pub messages: Vec<Message>,
    /// The list of keys is shown (`?`).
    pub show_keys: bool,
    /// In presenter mode, the run a knob move replaced, with what the knobs were: the loss chart
    /// keeps it as a faint "before" curve so the audience sees what the knob changed.
    pub before: Option<(Run, String)>,
    /// Your data this page holds (#35): the last file read, or what the browser's storage kept
    /// under the hash a link names. A link naming it by hash runs with it.
    pub held: Option<crate::knobs::own::OwnData>,
    /// A link whose data this page does not hold (named by hash, kept by another browser): its
    /// hash and the link, opened again when a file with that hash is given.
    pub wanted: Option<(String, String)>,
    /// Weights a single run starts from (#35), and the weights the last single run ended with.
    pub weights_in: Option<LoadedWeights>,
    /// The last table file read (#35): its text, how it was read and the data that gave, and
    /// its first rows, where the page chooses the target column and what it holds.
    pub table_file: Option<TableFile>,
    pub weights_out: Option<TrainedWeights>,
    pub telemetry: Telemetry,
}

/// A table file the page read, to read again with other options.
#[derive(Clone, Debug, PartialEq)]
pub struct TableFile {
    pub name: String,
    pub text: std::sync::Arc<str>,
    pub opts: crate::data::read_table::TableOptions,
    /// The hash of the data these options gave: the preview shows while it is the study's.
    pub hash: String,
    pub preview: crate::data::read_table::Preview,
}

/// A weights file the page holds: a single run starts from it until it is forgotten.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedWeights {
    pub name: String,
    pub bytes: std::sync::Arc<Vec<u8>>,
    /// "12 tensors, 30 steps of task=moons…": what the file says it is.
    pub about: String,
}

/// The weights a single run ended with, as safetensors (the adapters apart), to download.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedWeights {
    pub base: Vec<u8>,
    pub adapters: Option<Vec<u8>>,
}

impl State {
    /// The page before its link is read.
    pub fn new() -> Self {
        let study = Study::default();
        Self {
            data: boundary_points(&study.experiment),
            study,
            backend: None,
            points: Vec::new(),
            runs: Vec::new(),
            run_ms: Vec::new(),
            grid: None,
            generation: 0,
            cores: 1,
            shares: Vec::new(),
            share_rates: Vec::new(),
            stacked: (0, 0),
            run_state: RunState::Idle,
            steps_per_s: 0.0,
            started_ms: None,
            planted_sigma: None,
            side_drawn_ms: f64::NEG_INFINITY,
            loss_drawn_ms: f64::NEG_INFINITY,
            shown: Shown::default(),
            analysed: false,
            backend_asked: 0,
            backend_answered: 0,
            backend_rechoose: false,
            messages: Vec::new(),
            show_keys: false,
            before: None,
            held: None,
            wanted: None,
            weights_in: None,
            table_file: None,
            weights_out: None,
            telemetry: Telemetry::default(),
        }
    }

    pub fn is_sweep(&self) -> bool {
        self.study.is_sweep()
    }

    pub fn total_steps(&self) -> usize {
        self.points.iter().map(|p| p.config.total_steps()).sum()
    }

    pub fn steps_done(&self) -> usize {
        self.runs.iter().map(|r| r.reports.len()).sum()
    }

    /// A run is finished when it trained all its steps or diverged.
    pub fn run_finished(&self, i: usize) -> bool {
        self.runs[i].finished()
    }

    pub fn runs_finished(&self) -> usize {
        (0..self.runs.len()).filter(|&i| self.run_finished(i)).count()
    }

    /// Training workers this generation runs on.
    pub fn workers(&self) -> usize {
        self.shares.len().max(1)
    }

    /// When every run has finished (trained all its steps, diverged, or failed with its
    /// worker), the study is over: Done, Diverged when every run that trained diverged, Failed
    /// when none trained. `ended_ms` is the last frame's end (a frame settles whatever the run
    /// state: finished is finished, even if Pause or Cancel came during its readback); without
    /// one, a study already over stays as it is. Returns whether every run has finished.
    pub fn settle(&mut self, ended_ms: Option<f64>) -> bool {
        let finished = !self.runs.is_empty() && self.runs_finished() == self.runs.len();
        if finished && (ended_ms.is_some() || !self.run_state.is_over()) {
            self.telemetry.finished_ms = ended_ms.or(self.telemetry.finished_ms);
            let trained: Vec<&Run> = self.runs.iter().filter(|r| r.failed.is_none()).collect();
            self.run_state = if trained.is_empty() {
                RunState::Failed
            } else if trained.iter().all(|r| r.diverged) {
                RunState::Diverged
            } else {
                RunState::Done
            };
        }
        finished
    }

    /// Whether the runner of `generation` should step now.
    pub fn should_step(&self, generation: u64) -> bool {
        self.generation == generation && self.run_state == RunState::Running
    }

    /// Whether the side charts are due for new data at `now_ms` (the runner then also reads the
    /// decision boundary back with the frame's losses).
    pub fn side_due(&self, now_ms: f64) -> bool {
        now_ms - self.side_drawn_ms >= SIDE_EVERY_MS
    }

    /// Whether the runner of `generation` still owes the end-of-run readback of a single run.
    pub fn wants_analysis(&self, generation: u64) -> bool {
        self.generation == generation
            && self.run_state == RunState::Done
            && !self.is_sweep()
            && !self.analysed
    }

    /// What the study's figures are drawn from (`report::Figures`).
    pub fn results(&self) -> Results<'_> {
        Results {
            study: &self.study,
            runs: &self.runs,
            grid: self.grid.as_ref(),
            points: &self.data,
            planted_sigma: self.planted_sigma.as_deref(),
            before: self.before.as_ref().map(|(run, label)| (run, label.as_str())),
        }
    }

    /// The messages of one level, in order.
    pub fn messages_of(&self, level: Level) -> impl Iterator<Item = &str> {
        self.messages
            .iter()
            .filter(move |m| m.level == level)
            .map(|m| m.text.as_str())
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

/// The training points the decision-boundary chart shows before the first readback (2-D tasks
/// only; the runner replaces them with the current phase's).
pub fn boundary_points(cfg: &ExperimentConfig) -> Samples {
    if cfg.has_boundary() {
        data::generate(cfg).train
    } else {
        Samples {
            x: Vec::new(),
            dim: cfg.input_dim(),
            targets: Targets::Labels(Vec::new()),
        }
    }
}

/// The CPU backend, with the reason it is the one in use.
pub fn cpu_backend(reason: &str) -> ActiveBackend {
    ActiveBackend {
        kind: BackendKind::Cpu,
        summary: format!("{} in WebAssembly — {reason}", crate::model::backend::CPU_NAME),
    }
}
