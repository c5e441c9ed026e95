//! The side charts and the lines that describe the knobs: the decision boundary, the sweep chart
//! (panels, rank staircase) with its best-value chart and heatmap, the coordinate check, the ΔW
//! spectrum and the quantization figure; the LoRA, learning-rate and quantization lines.

use super::{canvas, dom};
use crate::page::State;
use crate::plot;

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
pub fn redraw_side(a: &State) {
    let cfg = &a.study.experiment;
    let sweep = a.is_sweep();
    let metric = a.study.view.metric;
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
    let series_key = a.study.sweep.axes.get(1).map(|ax| ax.key);
    let best = panels
        .as_ref()
        .filter(|_| !staircase)
        .and_then(|(_, p)| plot::best_lines(p))
        .zip(series_key);
    let coord = plot::coord_panels(&a.runs);
    let boundary = !sweep && cfg.has_boundary();
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
        .filter(|_| !sweep && cfg.quant.enabled())
        .and_then(|r| r.weights_figure());
    dom::set_hidden("fig-weights", weights.is_none());
    // The bit-width the figure shows (a PTQ knob re-grids it before the run repeats).
    dom::set_data(
        "weightsBits",
        &weights.map_or(String::new(), |w| w.quant.bits.to_string()),
    );
    // The transformer's views: statistics per step for any run or sweep, the end-of-run pattern
    // and answers (or sample) for one run.
    let seq_stats = plot::has_seq_stats(&a.runs);
    let views = a
        .runs
        .first()
        .and_then(|r| r.seq_views.as_ref())
        .filter(|_| !sweep);
    dom::set_hidden("fig-seq", !seq_stats);
    dom::set_hidden("fig-attn", views.is_none());
    let answers = views.map(answers_text);
    dom::set_hidden("fig-answers", answers.is_none());
    if let Some((caption, text)) = &answers {
        dom::set_text("answers-caption", caption);
        dom::set_text("seq-answers", text);
    }
    let caption = match (staircase, n_panels > 1) {
        (true, _) => STAIRCASE_CAPTION,
        (false, true) => PANELS_CAPTION,
        (false, false) => SWEEP_CAPTION,
    };
    let metric_name = crate::vocab::Named::label(metric);
    dom::set_text("sweep-caption", &caption.replace("{metric}", metric_name));
    dom::set_data("staircase", if staircase { "1" } else { "0" });
    // What the adaptation trains (a rank sweep describes each run in the staircase instead).
    let adapt = crate::experiment::describe::lora(cfg).filter(|_| !a.study.sweep.keys().contains(&"r"));
    dom::set_hidden("adapt", adapt.is_none());
    dom::set_text("adapt", adapt.as_deref().unwrap_or(""));
    // The learning rate each μP group actually gets (a width sweep has one per run: see the table)
    // and how the schedule and weight decay shape it.
    let keys = a.study.sweep.keys();
    let swept = |k: &[&str]| k.iter().any(|k| keys.contains(k));
    let lrs: Vec<String> = [
        crate::experiment::describe::mup(cfg).filter(|_| !swept(&["w", "lr", "param", "bw"])),
        crate::experiment::describe::schedule(cfg).filter(|_| !swept(&["sched", "warm", "wd"])),
    ]
    .into_iter()
    .flatten()
    .collect();
    let lrs = (!lrs.is_empty()).then(|| lrs.join(" · "));
    // What quantization does, and for one finished PTQ run what it cost.
    let native = a
        .backend
        .as_ref()
        .is_some_and(|x| x.kind == crate::page::BackendKind::Cpu);
    let quant = crate::experiment::describe::quant(cfg, crate::model::quant::native::used(cfg, native))
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
            Some((_, s)) if staircase => plot::draw_staircase(root, s, cfg, metric, style),
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
        drawn = canvas::draw("spectrum-canvas", |root, style| {
            plot::draw_spectrum(root, spectra, a.planted_sigma.as_deref(), style)
        });
    }
    if let (Ok(()), Some(weights)) = (&drawn, weights) {
        drawn = canvas::draw("weights-canvas", |root, style| {
            plot::draw_weights(root, weights, style)
        });
    }
    if let (Ok(()), true) = (&drawn, seq_stats) {
        let total = cfg.total_steps();
        drawn = canvas::draw("seq-canvas", |root, style| {
            plot::draw_seq_stats(root, &a.runs, total, style)
        });
    }
    if let (Ok(()), Some(v)) = (&drawn, views) {
        drawn = canvas::draw("attn-canvas", |root, style| plot::draw_attention(root, v, style));
    }
    if let Err(e) = drawn {
        web_sys::console::warn_1(&e.into());
    }
}

/// The caption and text of the answers figure: the char LM's sample, or each validation example's
/// prompt, the model's answer and the right one. Set as text, never as HTML.
fn answers_text(v: &crate::train::sequence_views::SeqViews) -> (String, String) {
    if let Some(s) = &v.sample {
        let caption = if !s.live {
            format!(
                "A sample at temperature 1 when the run ends (step {}): the model continues held-out text \
                 (before the bar) with its own characters (after it).",
                s.steps.1
            )
        } else {
            let steps = if s.steps.0 == s.steps.1 {
                format!("step {}", s.steps.0)
            } else {
                format!("steps {}–{}", s.steps.0, s.steps.1)
            };
            format!(
                "Live: the model writes a sample at temperature 1 as it trains ({steps}), continuing held-out \
                 text (before the bar); each new sample uses the same random draws, so what changes is the weights."
            )
        };
        return (caption, format!("{}│{}", s.prompt, s.text));
    }
    let lines: Vec<String> = v
        .answers
        .iter()
        .map(|a| {
            let mark = if a.exact { "✓" } else { "✗" };
            format!("{mark} {}  →  {}   (right: {})", a.prompt, a.got, a.want)
        })
        .collect();
    (
        "The trained model's answers (argmax at each scored position) on the first validation examples; ✓ = every \
         token right."
            .into(),
        lines.join("\n"),
    )
}
