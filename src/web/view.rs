//! What the page shows: status texts, the sweep progress and table, and the charts, drawn from
//! the page state. It never changes that state; its one memory of its own is where the loss
//! chart's points were drawn, for the hover tip (written only when the chart is drawn).

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use web_sys::{HtmlButtonElement, HtmlCanvasElement, MouseEvent};

use super::{canvas, dom, frame, side};
use crate::page::{BackendKind, Chart, Render, RunState, State};
use crate::plot::HoverPoint;

thread_local! {
    /// Points of the loss chart under the pointer's reach, in canvas pixels.
    static HOVER: RefCell<Vec<HoverPoint>> = const { RefCell::new(Vec::new()) };
}

/// Draws what `what` names.
pub fn render(s: &State, what: Render) {
    if what.texts {
        redraw_texts(s);
    }
    if what.frames {
        let (g, frames) = s.runner_frames;
        dom::set_data("runnerFrames", &format!("{g}:{frames}"));
    }
    if what.loss {
        redraw_loss(s);
    }
    if what.side {
        side::redraw_side(s);
    }
    if what.table {
        redraw_table(s);
    }
}

/// The figure a person is looking at, for the PNG and SVG buttons: the sweep chart, else the
/// heatmap, else the curves.
pub fn main_chart() -> Chart {
    let visible = |id: &str| !dom::el::<web_sys::HtmlElement>(id).hidden();
    if visible("fig-sweep") {
        Chart::Sweep
    } else if visible("fig-heatmap") {
        Chart::Heatmap
    } else {
        Chart::Loss
    }
}

fn show_backend(s: &State) {
    match &s.backend {
        Some(b) => {
            dom::set_text("status", &format!("Backend: {}", b.summary));
            dom::set_data(
                crate::keys::BACKEND.name,
                if b.kind == BackendKind::Webgpu {
                    "webgpu"
                } else {
                    "cpu"
                },
            );
        }
        None => dom::set_text("status", "Checking for WebGPU…"),
    }
    // No selection pending once every one asked for has answered (the tests wait on it).
    dom::set_data("backendAsked", &s.backend_asked.to_string());
    dom::set_data("backendAnswered", &s.backend_answered.to_string());
}

fn fmt_loss(v: Option<f32>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "–".into())
}

fn show_buttons(a: &State) {
    dom::set_data("state", a.run_state.key());
    // Which restart the state belongs to, so a test can wait for the run a change started.
    dom::set_data("generation", &a.generation.to_string());
    let train: HtmlButtonElement = dom::el("train-button");
    let pause: HtmlButtonElement = dom::el("pause");
    let cancel: HtmlButtonElement = dom::el("cancel");
    train.set_text_content(Some(match a.run_state {
        RunState::Paused => "Resume",
        RunState::Done | RunState::Diverged | RunState::Cancelled | RunState::Failed => "Train again",
        _ => "Train",
    }));
    train.set_disabled(a.run_state == RunState::Running);
    pause.set_disabled(a.run_state != RunState::Running);
    cancel.set_hidden(!a.is_sweep());
    cancel.set_disabled(!matches!(a.run_state, RunState::Running | RunState::Paused));
}

/// Status of run `i` in words, for the table.
fn run_status(a: &State, i: usize) -> &'static str {
    let r = &a.runs[i];
    if r.diverged {
        "diverged"
    } else if r.reports.len() >= r.config.total_steps() {
        "done"
    } else if a.run_state == RunState::Cancelled {
        "cancelled"
    } else if r.reports.is_empty() {
        "queued"
    } else {
        "running"
    }
}

fn show_sweep_progress(a: &State) {
    dom::set_hidden("sweep-bar", !a.is_sweep());
    dom::set_hidden("runs-table", !a.is_sweep());
    if !a.is_sweep() {
        return;
    }
    let (done, total) = (a.runs_finished(), a.runs.len());
    // Attributes rather than HtmlProgressElement: one more web-sys feature rebuilds wgpu.
    let bar: web_sys::Element = dom::el("sweep-progress");
    let _ = bar.set_attribute("max", &total.max(1).to_string());
    let _ = bar.set_attribute("value", &done.to_string());
    let (steps, all) = (a.steps_done(), a.total_steps().max(1));
    let mut text = format!("{done} / {total} runs");
    if let (RunState::Running, Some(started)) = (a.run_state, a.started_ms)
        && steps > 0
        && steps < all
    {
        let elapsed = frame::now_ms() - started;
        let eta = elapsed / steps as f64 * (all - steps) as f64 / 1000.0;
        text.push_str(&format!(" · ETA {}", fmt_duration(eta)));
    }
    let diverged = a.runs.iter().filter(|r| r.diverged).count();
    if diverged > 0 {
        text.push_str(&format!(" · {diverged} diverged"));
    }
    if a.run_state == RunState::Cancelled {
        text.push_str(" · cancelled");
    }
    dom::set_text("sweep-text", &text);
    dom::set_data("runsDone", &done.to_string());
    dom::set_data("runsTotal", &total.to_string());
}

/// The runs table: one row per run. Rebuilt a few times a second, not every frame.
fn redraw_table(a: &State) {
    if !a.is_sweep() {
        return;
    }
    let rows: Vec<(String, Vec<String>)> = (0..a.runs.len())
        .map(|i| {
            let r = &a.runs[i];
            let speed = if a.run_ms[i] > 0.0 {
                format!("{:.0}", r.reports.len() as f64 / (a.run_ms[i] / 1000.0))
            } else {
                "–".into()
            };
            let status = run_status(a, i);
            (
                status.to_string(),
                vec![
                    i.to_string(),
                    r.label(),
                    fmt_loss(r.final_train_loss()),
                    fmt_loss(r.final_val_loss()),
                    fmt_loss(r.best_val_loss()),
                    speed,
                    status.to_string(),
                ],
            )
        })
        .collect();
    dom::set_table_rows(&rows);
}

fn fmt_duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else {
        format!("{:.0} min", secs / 60.0)
    }
}

/// Texts, buttons, progress and table: cheap enough for every frame.
/// Presenter mode's frame: the page's class (the style sheet does the layout), the charts' type
/// scaled with the screen (axis labels 24 px at 1080p), the keys' list.
fn show_mode(a: &State) {
    let present = a.study.view.present;
    dom::set_class("app", crate::keys::PRESENT.name, present);
    show_deck(a);
    dom::set_class("app", crate::keys::EMBED.name, a.study.view.embed && !present);
    dom::set_hidden("keys", !a.show_keys);
    let height = web_sys::window()
        .and_then(|w| w.inner_height().ok())
        .and_then(|h| h.as_f64())
        .unwrap_or(900.0);
    let zoom = if present { (height / 490.0).max(1.0) } else { 1.0 };
    canvas::set_zoom(zoom);
    // The CSS pixels of the charts' axis labels (11 px at zoom 1), for the tests.
    dom::set_data("chartFont", &format!("{:.1}", 11.0 * zoom));
}

/// The deck's bar: "2 / 5", the slide's title and claim; hidden without a deck.
fn show_deck(a: &State) {
    let view = &a.study.view;
    let deck = !view.deck.is_empty();
    dom::set_class("app", crate::keys::DECK.name, deck);
    dom::set_hidden("deck-bar", !deck);
    dom::set_data(
        crate::keys::SLIDE.name,
        &if deck {
            view.slide.to_string()
        } else {
            String::new()
        },
    );
    let Some(item) = view.slide.checked_sub(1).and_then(|i| view.deck.get(i)) else {
        return;
    };
    let n = view.deck.len();
    dom::set_text("deck-count", &format!("{} / {n}", view.slide));
    let label = a.study.experiment.label();
    dom::set_text("deck-title", &crate::link::deck::title(item, &label));
    dom::set_text("deck-claim", crate::link::deck::claim(item).unwrap_or(""));
    let prev: HtmlButtonElement = dom::el("deck-prev");
    let next: HtmlButtonElement = dom::el("deck-next");
    prev.set_disabled(view.slide <= 1);
    next.set_disabled(view.slide >= n);
}

fn redraw_texts(a: &State) {
    {
        show_mode(a);
        show_backend(a);
        show_buttons(a);
        show_sweep_progress(a);
        let done = a.steps_done();
        let mut progress = if a.is_sweep() {
            format!("step {done} / {} over {} runs", a.total_steps(), a.runs.len())
        } else {
            format!("step {done} / {}", a.study.experiment.total_steps())
        };
        if let (false, Some(run)) = (a.is_sweep(), a.runs.first()) {
            if let Some(last) = run.reports.last() {
                progress.push_str(&format!(" · train {:.4}", last.train_loss));
            }
            if let Some(v) = run.final_val_loss() {
                progress.push_str(&format!(" · val {v:.4}"));
            }
            // The schedule's current rate (the base group's; μP groups keep their ratios to it).
            let cfg = &a.study.experiment;
            if cfg.sched != crate::knobs::schedule::Schedule::Const && done < cfg.total_steps() {
                let lr = cfg.lr * crate::experiment::rates::lr_factor_at(cfg, done);
                progress.push_str(&format!(" · lr now {lr:.3e}"));
            }
            if run.diverged {
                progress.push_str(" · diverged (NaN/Inf or loss far above its start)");
            }
        }
        dom::set_text("progress", &progress);
        let speed = if a.steps_per_s > 0.0 {
            format!("{:.1} steps/s", a.steps_per_s)
        } else {
            String::new()
        };
        dom::set_text("speed", &speed);
        dom::set_text("params", &a.params_text);
        dom::set_data("step", &done.to_string());
        if let Some(run) = a.runs.first() {
            if let Some(first) = run.reports.first() {
                dom::set_data("firstLoss", &first.train_loss.to_string());
            }
            if let Some(v) = run.reports.first().and_then(|r| r.val_loss) {
                dom::set_data("firstVal", &v.to_string());
            }
            if let Some(v) = run.final_val_loss() {
                dom::set_data("lastVal", &v.to_string());
            }
        }
        dom::set_data("stepsPerS", &format!("{:.2}", a.steps_per_s));
        if let Some(ms) = a.first_point_ms {
            dom::set_data("firstPointMs", &format!("{ms:.0}"));
        }
        if let (Some(end), Some(start)) = (a.finished_ms, a.started_ms) {
            dom::set_data("trainMs", &format!("{:.0}", end - start));
        }
        if let Some(g) = a.runner_stopped {
            dom::set_data("runnerStopped", &g.to_string());
        }
    }
}

/// The loss chart, and the hover targets it leaves. With many runs it is the costliest drawing, so
/// the runner calls it at most ten times a second during a sweep.
fn redraw_loss(a: &State) {
    // What the faint curve is (the tests read it: the chart's legend is pixels).
    dom::set_data(
        "before",
        a.before.as_ref().map_or("", |(_, label)| label.as_str()),
    );
    let mut hover = Vec::new();
    let drawn = canvas::draw("loss-canvas", |root, style| {
        hover = crate::page::draw_loss(a, root, style)?;
        Ok(())
    });
    if let Err(e) = drawn {
        web_sys::console::warn_1(&e.into());
    }
    HOVER.with(|h| *h.borrow_mut() = hover);
}

/// Names the loss-chart point nearest the pointer (within 24 CSS pixels).
pub fn show_hover(e: &MouseEvent) {
    let Some(canvas) = e.target().and_then(|t| t.dyn_into::<HtmlCanvasElement>().ok()) else {
        return;
    };
    let scale = f64::from(canvas.width()) / f64::from(canvas.client_width().max(1));
    let (x, y) = (f64::from(e.offset_x()) * scale, f64::from(e.offset_y()) * scale);
    let nearest = HOVER.with(|hover| {
        hover
            .borrow()
            .iter()
            .map(|h| ((f64::from(h.px) - x).hypot(f64::from(h.py) - y), h.clone()))
            .min_by(|p, q| p.0.total_cmp(&q.0))
            .filter(|(d, _)| *d <= 24.0 * scale)
    });
    let tip: web_sys::HtmlElement = dom::el("hover");
    match nearest {
        Some((_, h)) => {
            // Next to the point, in CSS pixels relative to the chart's figure.
            let left = f64::from(canvas.offset_left()) + f64::from(h.px) / scale + 12.0;
            let top = f64::from(canvas.offset_top()) + f64::from(h.py) / scale - 28.0;
            let style = tip.style();
            let _ = style.set_property("left", &format!("{left:.0}px"));
            let _ = style.set_property("top", &format!("{top:.0}px"));
            tip.set_text_content(Some(&h.text));
            tip.set_hidden(false);
        }
        None => {
            tip.set_text_content(None);
            tip.set_hidden(true);
        }
    }
}
