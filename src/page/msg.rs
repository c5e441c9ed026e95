//! What the page hears and what it asks for: the messages `update` takes (a person's action, a
//! browser answer, a runner's report) and the effects it returns for the shell to carry out; and
//! what the page asks of the training worker ([`ToWorker`]), which answers with `Msg`s.

use super::state::{ActiveBackend, RunState};
use crate::data::Samples;
use crate::knobs::ExperimentConfig;
use crate::knobs::view::BackendChoice;
use crate::plot::BoundaryGrid;
use crate::train::Analysis;
use crate::train::metrics::StepReport;

/// One frame of training, as the runner read it back.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FrameReport {
    pub generation: u64,
    /// The share of the runs (the pool's worker, #33) that sent it.
    pub share: usize,
    /// `counts[j] = (run, n)`: the next `n` reports belong to `run`.
    pub counts: Vec<(usize, usize)>,
    pub reports: Vec<StepReport>,
    /// When the frame's work began and its readback ended (ms since navigation), and when the
    /// previous frame's readback ended.
    pub started_ms: f64,
    pub ended_ms: f64,
    pub previous_end_ms: f64,
    /// The decision boundary, when the runner read it (side charts due, or a run ended), with
    /// the training points of the phase it belongs to.
    pub grid: Option<(BoundaryGrid, Samples)>,
    /// A single transformer run's attention pattern and answers, read with the side charts while
    /// it trains (the char LM's sample waits for the end).
    pub views: Option<crate::train::sequence_views::SeqViews>,
}

/// How the worker's refusal of loaded weights begins (`page::update` sets them aside).
pub const WEIGHTS_REFUSED: &str = "the weights do not fit this run";

/// Something that happened: a person's action, a browser answer, or a runner's report.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Msg {
    /// The page loaded with this query string.
    Boot {
        query: String,
        /// Logical processors the browser reports (`navigator.hardwareConcurrency`), which a
        /// pool of training workers spreads a sweep over (#33).
        cores: usize,
    },
    /// The controls changed: their values as (key, value) pairs, read like a link on top of the
    /// current study, so a typo in one box keeps that box's previous value.
    Edit(Vec<(String, String)>),
    /// A preset of the gallery was picked.
    Preset(String),
    /// A data file was chosen in the Data group (#35): its name, size and bytes, read here as
    /// the CLI's `--data` reads a file. A file over the cap arrives unread (no bytes).
    DataFile {
        name: String,
        size: u64,
        bytes: Vec<u8>,
    },
    /// The table file's preview chose how to read it: the target column (an index), what it
    /// holds, whether its rows are points on the plane.
    ReadTable {
        target: usize,
        kind: crate::data::read_table::TargetKind,
        plane: bool,
    },
    /// Points pasted in the Data group: x, y, class a line (#35).
    PastePoints(String),
    /// A click on the decision boundary at (`x`, `y`) on the plane adds a point of `class`.
    AddPoint {
        x: f32,
        y: f32,
        class: u16,
    },
    /// A weights file was chosen (#35: safetensors, as the CLI's `--save-weights` writes them): a
    /// single run starts from them. A file over the cap arrives unread (no bytes).
    WeightsFile {
        name: String,
        size: u64,
        bytes: Vec<u8>,
    },
    /// Back to the seeded initialisation.
    ForgetWeights,
    /// A single run of `generation` ended: its weights as safetensors, and its adapters apart.
    Weights {
        generation: u64,
        base: Vec<u8>,
        adapters: Option<Vec<u8>>,
    },
    /// The browser's storage failed (read at start-up, or keeping your data): what happened.
    StorageFailed(String),
    /// The browser's storage holds the data a link names by hash (read at start-up, before
    /// `Boot`): its body as a link writes it inline, uncapped.
    DataKept {
        text: String,
    },
    Train,
    Pause,
    Cancel,
    Reset,
    /// A keyboard shortcut (never sent while a person types in a field).
    Shortcut(Shortcut),
    /// "Add to deck": the experiment on screen becomes the deck's last slide.
    AddToDeck,
    /// The backend selection of ticket `ticket` finished.
    BackendReady {
        ticket: u64,
        backend: ActiveBackend,
    },
    /// `auto` timed the CPU and the GPU on `generation`'s heaviest run (`device::probe`) and
    /// trains it on `backend`, which says what it measured.
    BackendPicked {
        generation: u64,
        backend: ActiveBackend,
    },
    /// The runner built its trainers; `now_ms` is when it began building them.
    RunnerStarted {
        generation: u64,
        now_ms: f64,
    },
    /// The runner of `generation` began a frame.
    RunnerFrame {
        generation: u64,
    },
    /// The trainer refused the run (validation passed, so a resource limit or a bug).
    RunnerRefused {
        generation: u64,
        error: String,
    },
    /// The device failed mid-run (a failed readback: a lost GPU surfaces this way).
    DeviceFailed {
        generation: u64,
        error: String,
    },
    Frame(FrameReport),
    /// The single run's end-of-run readback.
    Analysed {
        generation: u64,
        analysis: Analysis,
    },
    /// A PTQ knob moved on a finished run: training is the same, so the worker shows the last
    /// run's weights under the new setting at once, before the run repeats to measure its loss.
    Regridded {
        generation: u64,
        figure: crate::model::quant::weights::WeightsFigure,
    },
    /// The runner saw Cancel and returned (every worker's, in a pool).
    RunnerStopped {
        generation: u64,
    },
    /// A worker of a pooled sweep failed (`error`); its share of the runs starts again from the
    /// first step on a fresh worker, and the other workers go on (#33).
    ShareRestarted {
        generation: u64,
        share: usize,
        error: String,
    },
    /// The fresh worker of that share failed too: its runs are marked failed, the sweep goes on.
    ShareFailed {
        generation: u64,
        share: usize,
        error: String,
    },
    /// The training worker failed (a trap, out of memory, a script error) or stopped answering;
    /// the shell has already started a fresh one.
    WorkerFailed {
        error: String,
    },
    /// A message between the page and the worker could not be sent or read (`page::codec`):
    /// what it was and why.
    MessageLost {
        error: String,
    },
    Export(Export),
}

impl Msg {
    /// Whether the training worker sent it (a report, an answer) rather than a person: the
    /// page shows the worker's news at its next animation frame, coalesced, and a person's
    /// action at once.
    pub fn from_worker(&self) -> bool {
        matches!(
            self,
            Msg::BackendReady { .. }
                | Msg::BackendPicked { .. }
                | Msg::RunnerStarted { .. }
                | Msg::RunnerFrame { .. }
                | Msg::RunnerRefused { .. }
                | Msg::DeviceFailed { .. }
                | Msg::Frame(_)
                | Msg::Analysed { .. }
                | Msg::Regridded { .. }
                | Msg::RunnerStopped { .. }
                | Msg::ShareRestarted { .. }
                | Msg::ShareFailed { .. }
                | Msg::WorkerFailed { .. }
        )
    }
}

/// The page's keys (#14), the same in presenter mode and out of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Shortcut {
    /// Space: train, or pause a run in progress (and go on after a pause).
    TrainPause,
    /// R: reset.
    Reset,
    /// P: presenter mode on or off (the link follows).
    Present,
    /// F: full screen on or off.
    FullScreen,
    /// ?: the list of keys on or off (Escape closes it).
    Keys,
    CloseKeys,
    /// → or PageDown (a presentation clicker): the deck's next slide.
    NextSlide,
    /// ← or PageUp: the deck's previous slide.
    PreviousSlide,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Export {
    CopyLink,
    /// The `<iframe>` snippet of the experiment in embed mode.
    CopyEmbed,
    Csv,
    Json,
    /// The experiment and its data as one file (`link::bundle`).
    Experiment,
    /// The last single run's weights (and adapters) as safetensors.
    Weights,
    /// A chart as the image on screen.
    Png(crate::report::Chart),
    /// A chart drawn again as SVG, for slides and papers.
    Svg(crate::report::Chart),
}

/// What the shell must do after a transition, in order (besides showing `page::view` of the
/// new state, which it always does).
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Replace the address bar's query (`history.replaceState`).
    WriteUrl(String),
    /// Write the study into the controls.
    WriteControls,
    /// Pick the device for `choice`, then answer with `Msg::BackendReady { ticket, .. }`.
    ChooseBackend {
        ticket: u64,
        choice: BackendChoice,
    },
    /// WebGPU is gone for this page (CubeCL cannot start it again).
    MarkGpuLost,
    /// Start a runner for the current points on the current backend: one a share of the runs
    /// (indices into the study's runs; one share unless a sweep trains on a pool, #33).
    StartRunner {
        generation: u64,
        shares: Vec<Vec<usize>>,
    },
    Export(Export),
    /// Full screen on or off (the Fullscreen API; the browser may refuse).
    ToggleFullScreen,
    /// Keep your data, too large for a link, in the browser's storage under its hash (#35), so a
    /// link naming it runs again after a reload. `text`: the body inline, uncapped.
    KeepData {
        hash: String,
        text: String,
    },
}

/// What the page asks of the training worker (#16). The worker owns the Burn device, the
/// trainers and the runner; it answers with `Msg`s (`BackendReady`, `RunnerStarted`, `Frame`, …)
/// that go through `update` as any other message. Sent as bytes (`page::codec`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ToWorker {
    /// Pick the device for `choice`; answer `Msg::BackendReady { ticket, .. }`.
    ChooseBackend {
        ticket: u64,
        choice: crate::knobs::view::BackendChoice,
    },
    /// The WebGPU device was lost: the worker stays on the CPU from now on.
    MarkGpuLost,
    /// The page could not load the WebGPU module (`reason`): a worker on the CPU module answers
    /// choices that need WebGPU with the CPU, saying why.
    NoWebgpuModule { reason: String },
    /// Train these runs as `generation` (a sweep when `sweep`: no side charts while it runs); an
    /// older runner stops at its next frame. `runs[j]` is the study's index of `configs[j]`, and
    /// `share` which share of a pool they are (#33); the worker's reports name them so. `stack`
    /// says which same-shape runs train as one stacked model (`experiment::stack`, on the
    /// worker's device).
    Start {
        generation: u64,
        configs: Vec<ExperimentConfig>,
        runs: Vec<usize>,
        share: usize,
        sweep: bool,
        stack: crate::knobs::view::Stack,
        /// Weights a single run starts from (safetensors bytes, #35), checked by the worker
        /// against the run's model.
        weights: Option<Vec<u8>>,
    },
    /// The page's run state: Pause, Train again, Cancel, or a newer generation.
    Steer { generation: u64, run_state: RunState },
}

/// What the training worker says: a message for the page's `update`, or that it took the page's
/// message number `seq` (it is between rounds, not stuck in a step).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum FromWorker {
    Page(Box<Msg>),
    Heard(u64),
    /// The worker could not read a message of the page's, or could not send one of its own:
    /// why. The page shows it and stops the run.
    Unreadable {
        error: String,
    },
    /// The choice `ticket` needs WebGPU and this worker runs the CPU module: the page replaces it
    /// with a worker on the WebGPU module (`web::remote`), which takes the choice again.
    NeedsWebgpu {
        ticket: u64,
    },
}
