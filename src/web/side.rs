//! The side charts and the lines that describe the knobs: the decision boundary, the sweep chart
//! (panels, rank staircase) with its best-value chart and heatmap, the coordinate check, the ΔW
//! spectrum and the quantization figure; the LoRA, learning-rate and quantization lines.

use super::{canvas, dom};
use crate::keys::{self, Key};
use crate::page::{Chart, Charts, State};

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
    let charts = Charts::of(a);
    for chart in Chart::ALL.into_iter().filter(|&c| c != Chart::Loss) {
        dom::set_hidden(&format!("fig-{}", chart.name()), !charts.shown(chart));
    }
    // Presenter and embed mode show one chart beside the loss curves: the one the study is about.
    let lead = Chart::PRESENTER_ORDER.into_iter().find(|&c| charts.shown(c));
    for chart in Chart::ALL.into_iter().filter(|&c| c != Chart::Loss) {
        dom::set_class(&format!("fig-{}", chart.name()), "lead", Some(chart) == lead);
    }
    let n_panels = charts.panel_count();
    dom::set_data("panels", &n_panels.to_string());
    dom::set_data("coordRows", &charts.coord_rows().to_string());
    // The bit-width the figure shows (a PTQ knob re-grids it before the run repeats).
    let weights = a
        .runs
        .first()
        .filter(|_| charts.shown(Chart::Weights))
        .and_then(|r| r.weights_figure());
    dom::set_data(
        "weightsBits",
        &weights.map_or(String::new(), |w| w.quant.bits.to_string()),
    );
    // The transformer's views: statistics per step for any run or sweep, the end-of-run pattern
    // and answers (or sample) for one run.
    let views = a
        .runs
        .first()
        .and_then(|r| r.seq_views.as_ref())
        .filter(|_| !sweep);
    let answers = views.map(answers_text);
    dom::set_hidden("fig-answers", answers.is_none());
    if let Some((caption, text)) = &answers {
        dom::set_text("answers-caption", caption);
        dom::set_text("seq-answers", text);
    }
    let caption = match (charts.is_staircase(), n_panels > 1) {
        (true, _) => STAIRCASE_CAPTION,
        (false, true) => PANELS_CAPTION,
        (false, false) => SWEEP_CAPTION,
    };
    let metric_name = crate::vocab::Named::label(metric);
    dom::set_text("sweep-caption", &caption.replace("{metric}", metric_name));
    dom::set_data("staircase", if charts.is_staircase() { "1" } else { "0" });
    // What the adaptation trains (a rank sweep describes each run in the staircase instead).
    let adapt = crate::experiment::describe::lora(cfg).filter(|_| !a.study.sweep.keys().contains(&&keys::R));
    dom::set_hidden("adapt", adapt.is_none());
    dom::set_text("adapt", adapt.as_deref().unwrap_or(""));
    // The learning rate each μP group actually gets (a width sweep has one per run: see the table)
    // and how the schedule and weight decay shape it.
    let keys = a.study.sweep.keys();
    let swept = |k: &[&Key]| k.iter().any(|k| keys.contains(k));
    let lrs: Vec<String> = [
        crate::experiment::describe::mup(cfg)
            .filter(|_| !swept(&[&keys::W, &keys::LR, &keys::PARAM, &keys::BW])),
        crate::experiment::describe::schedule(cfg)
            .filter(|_| !swept(&[&keys::SCHED, &keys::WARM, &keys::WD])),
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
        .filter(|_| {
            !swept(&[
                &keys::BITS,
                &keys::QFMT,
                &keys::QGRAN,
                &keys::QGS,
                &keys::QCLIP,
                &keys::QMODE,
            ])
        });
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
    // Every side chart on screen, in the page's order; the first failure stops the rest.
    let drawn = Chart::ALL
        .into_iter()
        .filter(|&c| c != Chart::Loss && charts.shown(c))
        .try_for_each(|c| {
            canvas::draw(&format!("{}-canvas", c.name()), |root, style| {
                charts.draw(c, root, style)
            })
        });
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
