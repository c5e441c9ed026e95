//! Page state and the event handlers that change it. The link is read once at start-up; after that
//! every change of a control rewrites the link (`history.replaceState`) and restarts the run.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlButtonElement, HtmlElement, HtmlInputElement};

use super::dom::{self, Level};
use super::gpu::{self, Active, Kind};
use super::{canvas, frame, runner};
use crate::config::{Change, ExperimentConfig};
use crate::data::{self, Points2d};
use crate::metrics::{self, Run};
use crate::plot::{self, BoundaryGrid, CurveOptions};
use crate::url;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Idle,
    Running,
    Paused,
    Done,
    Diverged,
    Failed,
}

impl RunState {
    fn key(self) -> &'static str {
        match self {
            RunState::Idle => "idle",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Done => "done",
            RunState::Diverged => "diverged",
            RunState::Failed => "failed",
        }
    }
}

pub struct App {
    pub cfg: ExperimentConfig,
    pub active: Option<Active>,
    pub run: Run,
    pub grid: Option<BoundaryGrid>,
    pub points: Points2d,
    /// Bumped by every restart; a runner whose generation is stale stops at its next frame.
    pub generation: u64,
    pub state: RunState,
    pub steps_per_s: f64,
    pub param_count: usize,
    pub first_point_reported: bool,
}

pub type Shared = Rc<RefCell<App>>;

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
    if !cfg.sweep.is_empty() {
        dom::push_message(
            Level::Info,
            &format!(
                "This link defines a sweep of {} runs over {}. This version of the page trains only the base \
                 configuration; the command-line program runs the whole sweep: tinytune '{}' --summary --svg sweep.svg",
                cfg.sweep.run_count(),
                cfg.sweep.keys().join(", "),
                url::to_query(&cfg)
            ),
        );
    }
    dom::write_controls(&cfg);
    let points = data::generate(cfg.task, cfg.points, cfg.seed).train;
    let app: Shared = Rc::new(RefCell::new(App {
        run: Run::new(cfg.clone()),
        cfg,
        active: None,
        grid: None,
        points,
        generation: 0,
        state: RunState::Idle,
        steps_per_s: 0.0,
        param_count: 0,
        first_point_reported: false,
    }));
    write_url(&app.borrow().cfg);
    wire_events(&app);
    redraw_all(&app);
    select_backend(&app).await;
    restart(&app, true);
}

/// (Re)chooses the backend from the config's `backend` key and shows why.
async fn select_backend(app: &Shared) {
    let choice = app.borrow().cfg.backend;
    dom::set_text("status", "Checking for WebGPU…");
    let active = gpu::choose(choice).await;
    show_backend(&active);
    app.borrow_mut().active = Some(active);
}

fn show_backend(active: &Active) {
    dom::set_text("status", &format!("Backend: {}", active.summary));
    dom::set_data(
        "backend",
        if active.kind == Kind::Webgpu {
            "webgpu"
        } else {
            "cpu"
        },
    );
}

fn write_url(cfg: &ExperimentConfig) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let query = url::to_query(cfg);
    let path = window.location().pathname().unwrap_or_default();
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("{path}?{query}")));
    }
}

/// Throws away the current run and starts a fresh one (running if `autorun`).
pub fn restart(app: &Shared, autorun: bool) {
    let generation = {
        let mut a = app.borrow_mut();
        a.generation += 1;
        a.run = Run::new(a.cfg.clone());
        a.grid = None;
        a.points = data::generate(a.cfg.task, a.cfg.points, a.cfg.seed).train;
        a.steps_per_s = 0.0;
        a.first_point_reported = false;
        a.state = if autorun {
            RunState::Running
        } else {
            RunState::Idle
        };
        a.generation
    };
    redraw_all(app);
    if autorun {
        wasm_bindgen_futures::spawn_local(runner::run(app.clone(), generation));
    }
}

pub fn set_state(app: &Shared, state: RunState) {
    app.borrow_mut().state = state;
    show_state(&app.borrow());
}

fn show_state(a: &App) {
    dom::set_data("state", a.state.key());
    let train: HtmlButtonElement = dom::el("train");
    let pause: HtmlButtonElement = dom::el("pause");
    train.set_text_content(Some(match a.state {
        RunState::Paused => "Resume",
        RunState::Done | RunState::Diverged | RunState::Failed => "Train again",
        _ => "Train",
    }));
    train.set_disabled(a.state == RunState::Running);
    pause.set_disabled(a.state != RunState::Running);
}

/// Text readouts and the loss chart; cheap enough for every frame.
pub fn redraw_progress(app: &Shared) {
    let a = app.borrow();
    show_state(&a);
    let done = a.run.reports.len();
    let mut progress = format!("step {done} / {}", a.cfg.steps);
    if let Some(last) = a.run.reports.last() {
        progress.push_str(&format!(" · train {:.4}", last.train_loss));
    }
    if let Some(v) = a.run.final_val_loss() {
        progress.push_str(&format!(" · val {v:.4}"));
    }
    if a.run.diverged {
        progress.push_str(" · diverged (NaN/Inf loss)");
    }
    dom::set_text("progress", &progress);
    dom::set_text(
        "speed",
        &if a.steps_per_s > 0.0 {
            format!("{:.1} steps/s", a.steps_per_s)
        } else {
            String::new()
        },
    );
    dom::set_text(
        "params",
        &if a.param_count > 0 {
            format!("{} parameters", a.param_count)
        } else {
            String::new()
        },
    );
    dom::set_data("step", &done.to_string());
    if let Some(first) = a.run.reports.first() {
        dom::set_data("firstLoss", &first.train_loss.to_string());
    }
    if let Some(v) = a.run.reports.first().and_then(|r| r.val_loss) {
        dom::set_data("firstVal", &v.to_string());
    }
    if let Some(v) = a.run.final_val_loss() {
        dom::set_data("lastVal", &v.to_string());
    }
    dom::set_data("stepsPerS", &format!("{:.2}", a.steps_per_s));
    let opts = CurveOptions::new(a.cfg.log_y, a.cfg.steps);
    let run = std::slice::from_ref(&a.run);
    if let Err(e) = canvas::draw("loss-canvas", |root, style| {
        plot::draw_curves(root, run, opts, style).map(|_| ())
    }) {
        web_sys::console::warn_1(&e.into());
    }
}

pub fn redraw_boundary(app: &Shared) {
    let a = app.borrow();
    if let Err(e) = canvas::draw("boundary-canvas", |root, style| {
        plot::draw_boundary(root, a.grid.as_ref(), &a.points, style)
    }) {
        web_sys::console::warn_1(&e.into());
    }
}

pub fn redraw_all(app: &Shared) {
    redraw_progress(app);
    redraw_boundary(app);
}

/// Records the time from navigation start to the first curve point (read by the benchmark).
pub fn note_first_point(app: &Shared) {
    let mut a = app.borrow_mut();
    if !a.first_point_reported && !a.run.reports.is_empty() {
        a.first_point_reported = true;
        dom::set_data("firstPointMs", &format!("{:.0}", frame::now_ms()));
    }
}

/// The controls changed: validate them like a link, rewrite the link, then redraw or restart.
fn on_controls_changed(app: &Shared) {
    let pairs = dom::read_controls();
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let parsed = url::parse(&query);
    dom::clear_messages();
    for issue in &parsed.issues {
        dom::push_message(Level::Warning, &issue.message);
    }
    let old = app.borrow().cfg.clone();
    // The sweep has no controls yet; keep it so the link keeps describing the same experiment.
    let new = ExperimentConfig {
        sweep: old.sweep.clone(),
        ..parsed.config
    };
    dom::write_controls(&new);
    write_url(&new);
    app.borrow_mut().cfg = new.clone();
    match old.change_to(&new) {
        Change::None => {}
        Change::Redraw => redraw_progress(app),
        Change::SwitchBackend => {
            let app = app.clone();
            app.borrow_mut().generation += 1; // stop the old runner before the device changes
            wasm_bindgen_futures::spawn_local(async move {
                select_backend(&app).await;
                restart(&app, true);
            });
        }
        Change::Restart => restart(app, true),
    }
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
        show_backend(&active);
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
    on_click("train", app, |app| {
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
    on_click("reset", app, |app| restart(app, false));
    on_click("copy-link", app, |_| copy_link());
    on_click("download-csv", app, |app| {
        let csv = metrics::to_csv(std::slice::from_ref(&app.borrow().run));
        if let Err(e) = download("tinytune-run.csv", &csv) {
            dom::push_message(Level::Error, &format!("Could not export CSV: {e:?}"));
        }
    });
    let resize_app = app.clone();
    let cb = Closure::<dyn FnMut()>::new(move || redraw_all(&resize_app));
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback("resize", cb.as_ref().unchecked_ref());
    }
    cb.forget();
}

fn copy_link() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let href = window.location().href().unwrap_or_default();
    let fallback: HtmlInputElement = dom::el("link-fallback");
    let promise = window.navigator().clipboard().write_text(&href);
    wasm_bindgen_futures::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => {
                fallback.set_hidden(true);
                dom::push_message(Level::Info, "Link copied to the clipboard.");
            }
            Err(_) => {
                // No clipboard permission (e.g. an embedded page): show the link, selected, to copy by hand.
                fallback.set_value(&href);
                fallback.set_hidden(false);
                fallback.select();
                dom::push_message(Level::Info, "Copy the selected link below.");
            }
        }
    });
}

fn download(name: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/csv");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)?;
    let href = web_sys::Url::create_object_url_with_blob(&blob)?;
    let a: web_sys::HtmlAnchorElement = dom::document().create_element("a")?.dyn_into()?;
    a.set_href(&href);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&href)
}
