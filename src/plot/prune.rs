//! Pruning's figure (docs/EXPERIMENTS.md E13), drawn as the lottery-ticket and DARE papers draw
//! theirs: the share of weights (or of the change Δ) kept on a log axis running from 100 % at
//! the left down to 1 %, the validation loss up the side. Left: the methods on the weights, the
//! mean over the seeds with their min–max band, the trained model's loss dotted; beside it, on
//! the same loss axis, the methods on Δ when the run fine-tuned. Right: how global magnitude
//! pruning spreads the cut over the layers — each layer's share kept against the whole model's,
//! the diagonal (every layer cut alike) dotted; a layer falling to zero is layer collapse.

use super::frame::{ChartStyle, draw_err, format_loss, framed, legend, shade};
use crate::knobs::prune::Method;
use crate::train::metrics::Run;
use crate::vocab::Named;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Whether any run has pruning scores to draw.
pub fn has_pruning(runs: &[Run]) -> bool {
    runs.iter().any(|r| r.pruned().is_some())
}

/// One method's curve over the runs of one setting (the seeds averaged).
#[derive(Clone, Debug, PartialEq)]
pub struct PruneCurve {
    pub method: Method,
    /// The swept values but the seed that name the setting ("" without a sweep).
    pub setting: String,
    /// (percent kept, mean loss, lowest, highest) at each level with a finite loss.
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// The setting a run belongs to: its swept values without the seed.
fn setting(run: &Run) -> String {
    let knobs: Vec<_> = run
        .knobs
        .iter()
        .filter(|(k, _)| **k != crate::keys::SEED)
        .cloned()
        .collect();
    crate::link::sweep::describe(&knobs)
}

/// Every setting's curve of every method, settings in run order, methods in `Method`'s order.
pub fn prune_curves(runs: &[Run]) -> Vec<PruneCurve> {
    let mut settings: Vec<String> = Vec::new();
    for r in runs.iter().filter(|r| r.pruned().is_some()) {
        let s = setting(r);
        if !settings.contains(&s) {
            settings.push(s);
        }
    }
    let mut out = Vec::new();
    for s in settings {
        let members: Vec<_> = runs
            .iter()
            .filter(|r| setting(r) == s)
            .filter_map(Run::pruned)
            .collect();
        let Some(first) = members.first() else { continue };
        for (method, _) in &first.curves {
            let points = first
                .levels
                .iter()
                .enumerate()
                .filter_map(|(j, &p)| {
                    let ys: Vec<f64> = members
                        .iter()
                        .filter_map(|m| m.curve(*method)?.get(j).copied())
                        .map(f64::from)
                        .filter(|y| y.is_finite())
                        .collect();
                    if ys.is_empty() {
                        return None;
                    }
                    let mean = ys.iter().sum::<f64>() / ys.len() as f64;
                    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    Some((100.0 * (1.0 - f64::from(p)), mean, lo, hi))
                })
                .collect();
            out.push(PruneCurve {
                method: *method,
                setting: s.clone(),
                points,
            });
        }
    }
    out
}

/// Each method's hue (colour-blind-safe Tableau): the weights' methods cool, Δ's warm.
fn hue(m: Method) -> RGBColor {
    match m {
        Method::Global => RGBColor(31, 119, 180),
        Method::Layer => RGBColor(23, 190, 207),
        Method::Random => RGBColor(127, 127, 127),
        Method::Dare => RGBColor(214, 39, 40),
        Method::Drop => RGBColor(148, 103, 189),
        Method::Delta => RGBColor(255, 127, 14),
    }
}

/// The x axis: percent kept, log, 100 % at the left.
const X_RANGE: std::ops::Range<f64> = 100.0..0.8;

/// The panels side by side: the weights' methods, Δ's methods when a run has an adaptation
/// phase (on the same loss axis), and the layers.
pub fn draw_pruning<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let curves = prune_curves(runs);
    let values = curves
        .iter()
        .flat_map(|c| c.points.iter().flat_map(|p| [p.2, p.3]));
    let y = super::frame::decades(values, (0.01, 10.0));
    let width = root.dim_in_pixel().0;
    let (weights, delta): (Vec<&PruneCurve>, Vec<&PruneCurve>) =
        curves.iter().partition(|c| !c.method.on_delta());
    let layers = if delta.is_empty() {
        let (w, rest) = root.split_horizontally(width * 3 / 5);
        draw_losses(&w, &weights, y, "weights kept, % (log)", style)?;
        rest
    } else {
        let (w, rest) = root.split_horizontally(width * 3 / 8);
        let (d, rest) = rest.split_horizontally(width * 3 / 8);
        draw_losses(&w, &weights, y, "weights kept, % (log)", style)?;
        draw_losses(&d, &delta, y, "entries of Δ kept, % (log)", style)?;
        rest
    };
    draw_layers(&layers, runs, style)
}

/// One panel of loss curves: each setting's methods, the trained model's loss dotted.
fn draw_losses<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    curves: &[&PruneCurve],
    (lo, hi): (f64, f64),
    x_desc: &str,
    style: ChartStyle,
) -> Result<(), String> {
    let mut chart = framed(
        area,
        X_RANGE.log_scale(),
        (lo..hi).log_scale(),
        (x_desc, "validation loss (log)"),
        (&|v| format_loss(*v), &|v| format_loss(*v)),
        style,
    )?;
    let mut settings: Vec<&str> = Vec::new();
    for c in curves {
        if !settings.contains(&c.setting.as_str()) {
            settings.push(&c.setting);
        }
    }
    // The trained model's loss, where every curve of its setting starts: dotted across.
    let grey = RGBColor(120, 120, 120);
    for (i, s) in settings.iter().enumerate() {
        let Some(d) = curves
            .iter()
            .find(|c| c.setting == *s)
            .and_then(|c| c.points.first())
            .map(|p| p.1)
        else {
            continue;
        };
        let line = chart
            .draw_series(DashedLineSeries::new(
                [(X_RANGE.start, d), (X_RANGE.end, d)],
                style.px(2.0),
                style.px(3.0),
                grey.stroke_width(style.px(1.0)),
            ))
            .map_err(draw_err)?;
        if i == 0 {
            line.label("trained, unpruned (dotted)")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(1)));
        }
    }
    for c in curves {
        let i = settings.iter().position(|s| *s == c.setting).unwrap_or(0);
        let colour = shade(hue(c.method), i, settings.len());
        // The seeds' spread: a band between the lowest and the highest loss.
        if c.points.len() > 1 && c.points.iter().any(|p| p.3 > p.2) {
            let band: Vec<(f64, f64)> = c
                .points
                .iter()
                .map(|p| (p.0, p.3))
                .chain(c.points.iter().rev().map(|p| (p.0, p.2)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15).filled())))
                .map_err(draw_err)?;
        }
        let label = if settings.len() > 1 {
            format!("{} · {}", c.method.label(), c.setting)
        } else {
            c.method.label().to_string()
        };
        chart
            .draw_series(LineSeries::new(
                c.points.iter().map(|p| (p.0, p.1)),
                colour.stroke_width(style.px(1.8)),
            ))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        chart
            .draw_series(
                c.points
                    .iter()
                    .map(|p| Circle::new((p.0, p.1), style.px(2.5), colour.filled())),
            )
            .map_err(draw_err)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, style)
}

/// The right panel: each layer's share kept by global magnitude pruning, from the first run
/// that pruned (the seeds cut alike within a few percent).
fn draw_layers<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    runs: &[Run],
    style: ChartStyle,
) -> Result<(), String> {
    let Some(p) = runs.iter().find_map(Run::pruned) else {
        return Ok(());
    };
    let mut chart = framed(
        area,
        X_RANGE.log_scale(),
        (0.1..100.0).log_scale(),
        (
            "whole model kept, % (log)",
            "layer kept by global magnitude, % (log)",
        ),
        (&|v| format_loss(*v), &|v| format_loss(*v)),
        style,
    )?;
    let grey = RGBColor(120, 120, 120);
    chart
        .draw_series(DashedLineSeries::new(
            [(100.0, 100.0), (1.0, 1.0)],
            style.px(2.0),
            style.px(3.0),
            grey.stroke_width(style.px(1.0)),
        ))
        .map_err(draw_err)?
        .label("every layer alike (dotted)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(1)));
    let n = p.layers.len();
    for (i, l) in p.layers.iter().enumerate() {
        let c = super::frame::ramp(i, n);
        // A layer emptied sits on the axis's floor.
        let pts: Vec<(f64, f64)> = p
            .levels
            .iter()
            .zip(&l.kept)
            .map(|(&lv, &k)| (100.0 * (1.0 - f64::from(lv)), (100.0 * f64::from(k)).max(0.1)))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, c.stroke_width(style.px(1.8))))
            .map_err(draw_err)?
            .label(format!("{} ({} weights)", l.name, l.size))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::LowerLeft, style)
}
