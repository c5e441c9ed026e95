//! Page state and the event handlers that change it. The link is read once at start-up; after that
//! every change of a control rewrites the link (`history.replaceState`) and restarts the runs.
//! A single experiment is a sweep of one run, so one runner and one set of views serve both.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, MouseEvent};

use super::dom::{self, Level};
use super::gpu::{self, Active, Kind};
use super::{export, runner, view};
use crate::config::{Change, ExperimentConfig};
use crate::data::{self, Samples, Targets};
use crate::metrics::Run;
use crate::plot::{BoundaryGrid, HoverPoint};
use crate::sweep::SweepPoint;
use crate::url;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

pub struct App {
    pub cfg: ExperimentConfig,
    pub active: Option<Active>,
    /// The runs of the experiment: one, or every point of its sweep.
    pub points: Vec<SweepPoint>,
    pub runs: Vec<Run>,
    /// Wall time attributed to each run (for its steps/s in the table).
    pub run_ms: Vec<f64>,
    pub grid: Option<BoundaryGrid>,
    pub data: Samples,
    /// Bumped by every restart; a runner whose generation is stale stops at its next frame.
    pub generation: u64,
    pub state: RunState,
    pub steps_per_s: f64,
    /// "8642 parameters", or the range over a sweep's runs.
    pub params_text: String,
    pub first_point_reported: bool,
    /// When the current runs started (ms since navigation), for the ETA.
    pub started_ms: f64,
    /// Points of the loss chart under the pointer's reach, in canvas pixels.
    pub hover: Vec<HoverPoint>,
    /// Bumped by every backend selection; a selection that finds it changed after awaiting the
    /// browser lost a race with a newer one and gives up.
    pub backend_ticket: u64,
    /// Backend selections that have finished (won or lost their race): with `backend_ticket`,
    /// it tells the tests when no selection is pending (`data-backend-asked/-answered`).
    pub backend_answered: u64,
}

impl App {
    pub fn is_sweep(&self) -> bool {
        !self.cfg.sweep.is_empty()
    }

    pub fn total_steps(&self) -> usize {
        self.points.iter().map(|p| p.config.total_steps()).sum()
    }

    pub fn steps_done(&self) -> usize {
        self.runs.iter().map(|r| r.reports.len()).sum()
    }

    /// A run is finished when it trained all its steps or diverged.
    pub fn run_finished(&self, i: usize) -> bool {
        let r = &self.runs[i];
        r.diverged || r.reports.len() >= r.config.total_steps()
    }

    pub fn runs_finished(&self) -> usize {
        (0..self.runs.len()).filter(|&i| self.run_finished(i)).count()
    }
}

pub type Shared = Rc<RefCell<App>>;

/// The runs of `cfg`: its sweep expanded, or the config alone. The link parser has already checked
/// the sweep, so expansion cannot fail here; if it did, the base config still runs.
/// The training points the decision-boundary chart shows before the first readback (2-D tasks
/// only; the runner replaces them with the trainer's current phase).
fn boundary_points(cfg: &ExperimentConfig) -> Samples {
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

fn expand(cfg: &ExperimentConfig) -> Vec<SweepPoint> {
    let single = || {
        vec![SweepPoint {
            config: cfg.clone(),
            knobs: Vec::new(),
        }]
    };
    if cfg.sweep.is_empty() {
        single()
    } else {
        cfg.sweep.expand(cfg).unwrap_or_else(|_| single())
    }
}

/// Start-up: read the link, build the controls, pick the backend, start training.
pub async fn boot() {
    dom::build_controls();
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let parsed = url::parse(&search);
    for issue in &parsed.issues {
        dom::push_message(Level::Warning, &format!("Link: {}", issue.message));
    }
    let cfg = parsed.config;
    dom::write_controls(&cfg);
    let app: Shared = Rc::new(RefCell::new(App {
        points: Vec::new(),
        runs: Vec::new(),
        run_ms: Vec::new(),
        data: boundary_points(&cfg),
        cfg,
        active: None,
        grid: None,
        generation: 0,
        state: RunState::Idle,
        steps_per_s: 0.0,
        params_text: String::new(),
        first_point_reported: false,
        started_ms: 0.0,
        hover: Vec::new(),
        backend_ticket: 0,
        backend_answered: 0,
    }));
    write_url(&app.borrow().cfg);
    wire_events(&app);
    reset_runs(&app, RunState::Idle);
    view::redraw_all(&app);
    if select_backend(&app).await {
        restart(&app, true);
    }
}

/// (Re)chooses the backend from the config's `backend` key and shows why.
/// Returns false when a later selection superseded this one while it awaited the browser.
async fn select_backend(app: &Shared) -> bool {
    let (choice, ticket) = {
        let mut a = app.borrow_mut();
        a.backend_ticket += 1;
        (a.cfg.backend, a.backend_ticket)
    };
    dom::set_data("backendAsked", &ticket.to_string());
    dom::set_text("status", "Checking for WebGPU…");
    let active = gpu::choose(choice).await;
    {
        let mut a = app.borrow_mut();
        a.backend_answered += 1;
        dom::set_data("backendAnswered", &a.backend_answered.to_string());
    }
    if app.borrow().backend_ticket != ticket {
        return false;
    }
    view::show_backend(&active);
    app.borrow_mut().active = Some(active);
    true
}

fn write_url(cfg: &ExperimentConfig) {
    let Some(window) = web_sys::window() else { return };
    let query = url::to_query(cfg);
    let path = window.location().pathname().unwrap_or_default();
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("{path}?{query}")));
    }
}

/// Fresh, empty runs for the current config; returns the new generation.
fn reset_runs(app: &Shared, state: RunState) -> u64 {
    let mut a = app.borrow_mut();
    a.generation += 1;
    a.points = expand(&a.cfg);
    // A PTQ knob moved on a finished run: training is the same, so its weights stay on screen
    // (re-gridded at once) until the new run reads them again.
    let kept = match (a.runs.as_slice(), a.points.as_slice()) {
        ([old], [new]) if !old.weights.is_empty() && old.config.same_training(&new.config) => {
            old.weights.clone()
        }
        _ => Vec::new(),
    };
    a.runs = a
        .points
        .iter()
        .map(|p| Run::with_knobs(p.config.clone(), p.knobs.clone()))
        .collect();
    if let Some(run) = a.runs.first_mut().filter(|_| !kept.is_empty()) {
        run.set_weights(kept);
    }
    a.run_ms = vec![0.0; a.runs.len()];
    a.grid = None;
    a.data = boundary_points(&a.cfg);
    a.steps_per_s = 0.0;
    a.first_point_reported = false;
    a.started_ms = super::frame::now_ms();
    a.hover.clear();
    a.state = state;
    a.generation
}

/// Throws away the current runs and starts fresh ones (running if `autorun`).
pub fn restart(app: &Shared, autorun: bool) {
    let generation = reset_runs(
        app,
        if autorun {
            RunState::Running
        } else {
            RunState::Idle
        },
    );
    view::redraw_all(app);
    if autorun {
        wasm_bindgen_futures::spawn_local(runner::run(app.clone(), generation));
    }
}

pub fn set_state(app: &Shared, state: RunState) {
    app.borrow_mut().state = state;
    view::redraw_progress(app);
}

/// Records the time from navigation start to the first curve point (read by the benchmark).
pub fn note_first_point(app: &Shared) {
    let mut a = app.borrow_mut();
    if !a.first_point_reported && a.runs.iter().any(|r| !r.reports.is_empty()) {
        a.first_point_reported = true;
        dom::set_data("firstPointMs", &format!("{:.0}", super::frame::now_ms()));
    }
}

/// The controls changed: validate them like a link, rewrite the link, then redraw or restart.
fn on_controls_changed(app: &Shared) {
    let pairs = dom::read_controls();
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let current = app.borrow().cfg.clone();
    let parsed = url::parse_onto(&current, &query);
    dom::clear_messages(Level::Warning);
    for issue in &parsed.issues {
        dom::push_message(Level::Warning, &issue.message);
    }
    let old = app.borrow().cfg.clone();
    let new = parsed.config;
    dom::write_controls(&new);
    write_url(&new);
    app.borrow_mut().cfg = new.clone();
    match old.change_to(&new) {
        Change::None => {}
        Change::Redraw => view::redraw_all(app),
        Change::SwitchBackend => {
            let app = app.clone();
            app.borrow_mut().generation += 1; // stop the old runner before the device changes
            wasm_bindgen_futures::spawn_local(async move {
                if select_backend(&app).await {
                    restart(&app, true);
                }
            });
        }
        Change::Restart => restart(app, true),
    }
}

/// Called by the runner when the trainer refuses the config (validation already ran, so this is a
/// bug or a resource limit): say so and stop, without touching the backend.
pub fn on_config_error(app: &Shared, error: &str) {
    dom::push_message(Level::Error, &format!("This experiment cannot run: {error}"));
    set_state(app, RunState::Failed);
}

/// Called by the runner when the device fails mid-run: a lost GPU falls back to the CPU.
pub fn on_device_error(app: &Shared, error: &str) {
    let kind = app.borrow().active.as_ref().map(|a| a.kind);
    if kind == Some(Kind::Webgpu) {
        // CubeCL marks a lost wgpu device as poisoned and fails every later read on it, which is
        // how a lost GPU reaches us: as a failed readback.
        gpu::mark_lost();
        let active = Active::cpu("the GPU device was lost during training; restarted on the CPU");
        dom::push_message(
            Level::Error,
            &format!("The GPU stopped responding ({error}). Training restarted on the CPU backend."),
        );
        view::show_backend(&active);
        app.borrow_mut().active = Some(active);
        restart(app, true);
    } else {
        dom::push_message(Level::Error, &format!("Training failed: {error}"));
        set_state(app, RunState::Failed);
    }
}

fn on_click(id: &str, app: &Shared, f: impl Fn(&Shared) + 'static) {
    let app = app.clone();
    let cb = Closure::<dyn FnMut()>::new(move || f(&app));
    let _ = dom::el::<HtmlElement>(id).add_event_listener_with_callback("click", cb.as_ref().unchecked_ref());
    cb.forget(); // page-lifetime handler
}

fn wire_events(app: &Shared) {
    for key in dom::CONTROL_KEYS {
        let handler = app.clone();
        let cb = Closure::<dyn FnMut()>::new(move || on_controls_changed(&handler));
        let _ = dom::el::<HtmlElement>(key)
            .add_event_listener_with_callback("change", cb.as_ref().unchecked_ref());
        cb.forget();
    }
    on_click("train-button", app, |app| {
        let state = app.borrow().state;
        match state {
            RunState::Paused => set_state(app, RunState::Running),
            RunState::Running => {}
            _ => restart(app, true),
        }
    });
    on_click("pause", app, |app| {
        if app.borrow().state == RunState::Running {
            set_state(app, RunState::Paused);
        }
    });
    on_click("cancel", app, |app| {
        let state = app.borrow().state;
        if matches!(state, RunState::Running | RunState::Paused) {
            // The runner sees the state at its next frame and stops; finished runs keep their results.
            set_state(app, RunState::Cancelled);
            view::redraw_all(app);
        }
    });
    on_click("reset", app, |app| restart(app, false));
    on_click("copy-link", app, |_| export::copy_link());
    on_click("download-csv", app, |app| export::csv(&app.borrow().runs));
    on_click("download-json", app, |app| export::json(&app.borrow().runs));
    on_click("download-png", app, |_| {
        // The figure a person is looking at: the sweep chart, else the heatmap, else the curves.
        let visible = |id: &str| !dom::el::<HtmlElement>(id).hidden();
        let id = if visible("fig-sweep") {
            "sweep-canvas"
        } else if visible("fig-heatmap") {
            "heatmap-canvas"
        } else {
            "loss-canvas"
        };
        export::png(id);
    });

    let hover_app = app.clone();
    let cb = Closure::<dyn FnMut(MouseEvent)>::new(move |e: MouseEvent| view::show_hover(&hover_app, &e));
    let _ = dom::el::<HtmlElement>("loss-canvas")
        .add_event_listener_with_callback("mousemove", cb.as_ref().unchecked_ref());
    cb.forget();

    let cb = Closure::<dyn FnMut()>::new(|| dom::set_hidden("hover", true));
    let _ = dom::el::<HtmlElement>("loss-canvas")
        .add_event_listener_with_callback("mouseleave", cb.as_ref().unchecked_ref());
    cb.forget();

    let resize_app = app.clone();
    let cb = Closure::<dyn FnMut()>::new(move || view::redraw_all(&resize_app));
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback("resize", cb.as_ref().unchecked_ref());
    }
    cb.forget();
}
