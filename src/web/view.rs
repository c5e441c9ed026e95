//! What the page shows: status texts, the sweep progress and table, and the charts. Reads the app
//! state, never changes it (except caching the loss chart's hover targets).

use wasm_bindgen::JsCast;
use web_sys::{HtmlButtonElement, HtmlCanvasElement, MouseEvent};

use super::app::{App, RunState, Shared};
use super::gpu::{Active, Kind};
use super::{canvas, dom, frame};
use crate::plot::{self, CurveOptions};

pub fn show_backend(active: &Active) {
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

fn fmt_loss(v: Option<f32>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "–".into())
}

fn show_buttons(a: &App) {
    dom::set_data("state", a.state.key());
    let train: HtmlButtonElement = dom::el("train-button");
    let pause: HtmlButtonElement = dom::el("pause");
    let cancel: HtmlButtonElement = dom::el("cancel");
    train.set_text_content(Some(match a.state {
        RunState::Paused => "Resume",
        RunState::Done | RunState::Diverged | RunState::Cancelled | RunState::Failed => "Train again",
        _ => "Train",
    }));
    train.set_disabled(a.state == RunState::Running);
    pause.set_disabled(a.state != RunState::Running);
    cancel.set_hidden(!a.is_sweep());
    cancel.set_disabled(!matches!(a.state, RunState::Running | RunState::Paused));
}

/// Status of run `i` in words, for the table.
fn run_status(a: &App, i: usize) -> &'static str {
    let r = &a.runs[i];
    if r.diverged {
        "diverged"
    } else if r.reports.len() >= r.config.total_steps() {
        "done"
    } else if a.state == RunState::Cancelled {
        "cancelled"
    } else if r.reports.is_empty() {
        "queued"
    } else {
        "running"
    }
}

fn show_sweep_progress(a: &App) {
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
    if a.state == RunState::Running && steps > 0 && steps < all {
        let elapsed = frame::now_ms() - a.started_ms;
        let eta = elapsed / steps as f64 * (all - steps) as f64 / 1000.0;
        text.push_str(&format!(" · ETA {}", fmt_duration(eta)));
    }
    let diverged = a.runs.iter().filter(|r| r.diverged).count();
    if diverged > 0 {
        text.push_str(&format!(" · {diverged} diverged"));
    }
    if a.state == RunState::Cancelled {
        text.push_str(" · cancelled");
    }
    dom::set_text("sweep-text", &text);
    dom::set_data("runsDone", &done.to_string());
    dom::set_data("runsTotal", &total.to_string());
}

/// The runs table: one row per run. Rebuilt a few times a second, not every frame.
pub fn redraw_table(app: &Shared) {
    let a = app.borrow();
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
            let status = run_status(&a, i);
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

/// Texts, buttons, progress, table and the loss chart.
pub fn redraw_progress(app: &Shared) {
    redraw_texts(app);
    redraw_loss(app);
}

/// Texts, buttons, progress and table: cheap enough for every frame.
pub fn redraw_texts(app: &Shared) {
    {
        let a = app.borrow();
        show_buttons(&a);
        show_sweep_progress(&a);
        let done = a.steps_done();
        let mut progress = if a.is_sweep() {
            format!("step {done} / {} over {} runs", a.total_steps(), a.runs.len())
        } else {
            format!("step {done} / {}", a.cfg.total_steps())
        };
        if let (false, Some(run)) = (a.is_sweep(), a.runs.first()) {
            if let Some(last) = run.reports.last() {
                progress.push_str(&format!(" · train {:.4}", last.train_loss));
            }
            if let Some(v) = run.final_val_loss() {
                progress.push_str(&format!(" · val {v:.4}"));
            }
            // The schedule's current rate (the base group's; μP groups keep their ratios to it).
            if a.cfg.sched != crate::schedule::Schedule::Const && done < a.cfg.total_steps() {
                let lr = a.cfg.lr * crate::schedule::factor_at(&a.cfg, done);
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
    }
}

/// The loss chart, and the hover targets it leaves. With many runs it is the costliest drawing, so
/// the runner calls it at most ten times a second during a sweep.
pub fn redraw_loss(app: &Shared) {
    let hover = {
        let a = app.borrow();
        let mut opts = CurveOptions::new(
            a.cfg.log_y,
            a.points.iter().map(|p| p.config.total_steps()).max().unwrap_or(1),
        );
        opts.log_x = a.cfg.log_x;
        let mut hover = Vec::new();
        let drawn = canvas::draw("loss-canvas", |root, style| {
            hover = plot::draw_curves(root, &a.runs, opts, style)?;
            Ok(())
        });
        if let Err(e) = drawn {
            web_sys::console::warn_1(&e.into());
        }
        hover
    };
    app.borrow_mut().hover = hover;
}

const PANELS_CAPTION: &str = "One panel per value of the third swept knob on a shared loss axis: the {metric} against \
     the first knob, one curve per value of the second (light → dark), seeds averaged; the best point of each curve is \
     ringed, diverged runs are × on the top edge.";
const SWEEP_CAPTION: &str = "The {metric} against the first swept knob, one curve per value of the second \
     (light → dark), seeds averaged; the best point of each curve is ringed, diverged runs are × on the top edge.";
const STAIRCASE_CAPTION: &str = "The rank staircase: the {metric} against LoRA rank (log2), the analytic \
     Eckart–Young floor dashed (planted task), full fine-tuning (r = 0) as the red line, and the trainable \
     parameters on the right axis.";

/// The side charts: the decision boundary and ΔW spectrum for one run; the sweep chart (or the
/// rank staircase) and heatmap for a sweep.
pub fn redraw_side(app: &Shared) {
    let a = app.borrow();
    let sweep = a.is_sweep();
    let metric = a.cfg.metric;
    let heatmap = if sweep {
        plot::sweep_heatmap(&a.runs, metric)
    } else {
        None
    };
    // No numeric first knob (a categorical or seed-only sweep): the table and heatmap carry it.
    let panels = if sweep {
        plot::sweep_panels(&a.runs, metric)
    } else {
        None
    };
    let series = panels
        .as_ref()
        .filter(|(_, p)| p.len() == 1)
        .map(|(k, p)| (k.clone(), p[0].series.clone()));
    let staircase = series.as_ref().is_some_and(|(k, _)| plot::is_rank_sweep(k));
    // The best value of the first knob per value of the second (the transfer plot).
    let series_key = a.cfg.sweep.axes.get(1).map(|ax| ax.key);
    let best = panels
        .as_ref()
        .filter(|_| !staircase)
        .and_then(|(_, p)| plot::best_lines(p))
        .zip(series_key);
    let coord = plot::coord_panels(&a.runs);
    let boundary = !sweep && a.cfg.has_boundary();
    let spectra = a
        .runs
        .first()
        .map(|r| &r.spectra)
        .filter(|s| !sweep && !s.is_empty());
    dom::set_hidden("fig-boundary", !boundary);
    dom::set_hidden("fig-sweep", panels.is_none());
    dom::set_hidden("fig-bestlr", best.is_none());
    dom::set_hidden("fig-coord", coord.is_none());
    let n_panels = panels.as_ref().map_or(0, |(_, p)| p.len());
    dom::set_data("panels", &n_panels.to_string());
    dom::set_data(
        "coordRows",
        &coord.as_ref().map_or(0, |(_, p)| p.len()).to_string(),
    );
    dom::set_hidden("fig-heatmap", heatmap.is_none());
    dom::set_hidden("fig-spectrum", spectra.is_none());
    let weights = a
        .runs
        .first()
        .map(|r| &r.weights)
        .filter(|w| !sweep && !w.is_empty() && a.cfg.quant.enabled());
    dom::set_hidden("fig-weights", weights.is_none());
    let caption = match (staircase, n_panels > 1) {
        (true, _) => STAIRCASE_CAPTION,
        (false, true) => PANELS_CAPTION,
        (false, false) => SWEEP_CAPTION,
    };
    let metric_name = crate::config::Named::label(metric);
    dom::set_text("sweep-caption", &caption.replace("{metric}", metric_name));
    dom::set_data("staircase", if staircase { "1" } else { "0" });
    // What the adaptation trains (a rank sweep describes each run in the staircase instead).
    let adapt = crate::lora::describe(&a.cfg).filter(|_| !a.cfg.sweep.keys().contains(&"r"));
    dom::set_hidden("adapt", adapt.is_none());
    dom::set_text("adapt", adapt.as_deref().unwrap_or(""));
    // The learning rate each μP group actually gets (a width sweep has one per run: see the table)
    // and how the schedule and weight decay shape it.
    let keys = a.cfg.sweep.keys();
    let swept = |k: &[&str]| k.iter().any(|k| keys.contains(k));
    let lrs: Vec<String> = [
        crate::mup::describe(&a.cfg).filter(|_| !swept(&["w", "lr", "param", "bw"])),
        crate::schedule::describe(&a.cfg).filter(|_| !swept(&["sched", "warm", "wd"])),
    ]
    .into_iter()
    .flatten()
    .collect();
    let lrs = (!lrs.is_empty()).then(|| lrs.join(" · "));
    // What quantization does, and for one finished PTQ run what it cost.
    let native = a
        .active
        .as_ref()
        .is_some_and(|x| crate::quant::native::on(&x.device));
    let quant = crate::quant::describe(&a.cfg, native)
        .filter(|_| !swept(&["bits", "qfmt", "qgran", "qgs", "qclip", "qmode"]));
    let quant = quant.map(|mut text| {
        if let Some(run) = a.runs.first().filter(|_| !sweep)
            && let (Some(qv), Some(fv)) = (run.quant_val_loss(), run.final_val_loss())
        {
            text.push_str(&format!(" · val loss {fv:.4} in f32 → {qv:.4} quantized"));
        }
        if let Some(bytes) = a.runs.first().and_then(|r| r.packed_bytes).filter(|_| !sweep) {
            text.push_str(&format!(" · Burn stores it in {bytes} bytes"));
        }
        text
    });
    dom::set_hidden("quant", quant.is_none());
    dom::set_text("quant", quant.as_deref().unwrap_or(""));
    dom::set_hidden("lrs", lrs.is_none());
    dom::set_text("lrs", lrs.as_deref().unwrap_or(""));
    let mut drawn = Ok(());
    if let Some((x_key, p)) = &panels {
        drawn = canvas::draw("sweep-canvas", |root, style| match &series {
            Some((_, s)) if staircase => plot::draw_staircase(root, s, &a.cfg, metric, style),
            _ => plot::draw_sweep_panels(root, x_key, p, metric, style),
        });
    }
    if let (Ok(()), Some((lines, series_key)), Some((x_key, _))) = (&drawn, &best, &panels) {
        drawn = canvas::draw("bestlr-canvas", |root, style| {
            plot::draw_best(root, (x_key, series_key), lines, style)
        });
    }
    if let (Ok(()), Some((x_key, p))) = (&drawn, &coord) {
        drawn = canvas::draw("coord-canvas", |root, style| {
            plot::draw_coord(root, x_key, p, style)
        });
    }
    if let (Ok(()), Some(hm)) = (&drawn, &heatmap) {
        drawn = canvas::draw("heatmap-canvas", |root, style| {
            plot::draw_heatmap(root, hm, style)
        });
    }
    if let (Ok(()), true) = (&drawn, boundary) {
        drawn = canvas::draw("boundary-canvas", |root, style| {
            plot::draw_boundary(root, a.grid.as_ref(), &a.data, style)
        });
    }
    if let (Ok(()), Some(spectra)) = (&drawn, spectra) {
        let planted = (a.cfg.task == crate::config::Task::Planted)
            .then(|| crate::planted::Teacher::new(&a.cfg.planted, a.cfg.seed).visible_sigma());
        drawn = canvas::draw("spectrum-canvas", |root, style| {
            plot::draw_spectrum(root, spectra, planted.as_deref(), style)
        });
    }
    if let (Ok(()), Some(weights)) = (&drawn, weights) {
        drawn = canvas::draw("weights-canvas", |root, style| {
            plot::draw_weights(root, weights, &a.runs[0].config.quant, style)
        });
    }
    if let Err(e) = drawn {
        web_sys::console::warn_1(&e.into());
    }
}

pub fn redraw_all(app: &Shared) {
    redraw_progress(app);
    redraw_side(app);
    redraw_table(app);
}

/// Names the loss-chart point nearest the pointer (within 24 CSS pixels).
pub fn show_hover(app: &Shared, e: &MouseEvent) {
    let Some(canvas) = e.target().and_then(|t| t.dyn_into::<HtmlCanvasElement>().ok()) else {
        return;
    };
    let scale = f64::from(canvas.width()) / f64::from(canvas.client_width().max(1));
    let (x, y) = (f64::from(e.offset_x()) * scale, f64::from(e.offset_y()) * scale);
    let a = app.borrow();
    let nearest = a
        .hover
        .iter()
        .map(|h| ((f64::from(h.px) - x).hypot(f64::from(h.py) - y), h))
        .min_by(|p, q| p.0.total_cmp(&q.0))
        .filter(|(d, _)| *d <= 24.0 * scale);
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
