//! Loss against step: one run (train EMA over faint raw, validation) or a sweep's runs.

use super::frame::{ChartStyle, TRAIN_COLOR, VAL_COLOR, draw_err, format_loss, framed, legend, ramp};
use crate::train::metrics::Run;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

/// What the loss chart needs besides the runs.
#[derive(Clone, Copy, Debug)]
pub struct CurveOptions {
    pub log_y: bool,
    /// Step axis on a log scale (steps are drawn at step + 1 so step 0 has a place).
    pub log_x: bool,
    /// x-axis extent (the run's planned steps), so the axis does not jump while training.
    pub total_steps: usize,
    /// EMA factor for the training loss (0 = raw only); the raw line stays faint behind it.
    pub smoothing: f64,
}

impl CurveOptions {
    pub fn new(log_y: bool, total_steps: usize) -> Self {
        Self {
            log_y,
            log_x: false,
            total_steps,
            smoothing: 0.9,
        }
    }
}

/// A drawn data point in canvas pixels, for the page's hover readout.
#[derive(Clone, Debug, PartialEq)]
pub struct HoverPoint {
    pub px: i32,
    pub py: i32,
    pub text: String,
}

/// y-range covering every finite loss, padded; `None` when there is nothing to show. A diverged
/// run's last report is the blow-up that stopped it: it is left out, so one run at 1e6 does not
/// flatten every other curve (its line leaves the chart at the top, where its × is drawn).
fn loss_range(runs: &[Run], log_y: bool) -> Option<(f64, f64)> {
    let vals = runs.iter().flat_map(|r| {
        let shown = r.reports.len() - usize::from(r.diverged && r.reports.len() > 1);
        r.reports[..shown]
            .iter()
            .flat_map(|s| std::iter::once(s.train_loss).chain(s.val_loss))
    });
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals
        .map(f64::from)
        .filter(|v| v.is_finite() && (!log_y || *v > 0.0))
    {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return None;
    }
    if log_y {
        // Whole decades, as in the papers' figures: every axis gets labelled powers of ten and the
        // axis does not creep while the loss falls within a decade.
        let lo = 10f64.powf(lo.max(1e-8).log10().floor());
        let hi = 10f64.powf(hi.log10().ceil()).max(lo * 10.0);
        Some((lo, hi))
    } else {
        let pad = ((hi - lo) * 0.05).max(1e-3);
        Some(((lo - pad).max(0.0), hi + pad))
    }
}

/// Loss vs step. One run: mini-batch training loss (EMA-smoothed over a faint raw line) and
/// validation loss. Several runs (a sweep): one smoothed training curve per run, coloured light →
/// dark in run order, the legend naming the swept values. Returns the drawn points for hovering.
pub fn draw_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    opts: CurveOptions,
    style: ChartStyle,
) -> Result<Vec<HoverPoint>, String> {
    draw_curves_after(root, runs, None, opts, style)
}

/// [`draw_curves`] with the run a presenter's knob move replaced (`before`, with what its knobs
/// were) drawn faint behind, on the same axes, so the audience sees what the knob changed.
pub fn draw_curves_after<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    before: Option<(&Run, &str)>,
    opts: CurveOptions,
    style: ChartStyle,
) -> Result<Vec<HoverPoint>, String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let last_step = runs
        .iter()
        .filter_map(|r| r.reports.last())
        .map(|s| s.step + 1)
        .max();
    let x_max = opts.total_steps.max(last_step.unwrap_or(1)).max(1) as f64;
    let y_desc = if opts.log_y { "loss (log)" } else { "loss" };
    let range = match (
        loss_range(runs, opts.log_y),
        before.and_then(|(b, _)| loss_range(std::slice::from_ref(b), opts.log_y)),
    ) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, b) => a.or(b),
    };
    let (lo, hi) = range.unwrap_or((0.1, 1.0));
    let hover = match (opts.log_x, opts.log_y) {
        (false, false) => draw_curves_in(root, runs, before, opts, 0.0..x_max, lo..hi, style, y_desc)?,
        (false, true) => draw_curves_in(
            root,
            runs,
            before,
            opts,
            0.0..x_max,
            (lo..hi).log_scale(),
            style,
            y_desc,
        )?,
        (true, false) => draw_curves_in(
            root,
            runs,
            before,
            opts,
            (1.0..x_max + 1.0).log_scale(),
            lo..hi,
            style,
            y_desc,
        )?,
        (true, true) => draw_curves_in(
            root,
            runs,
            before,
            opts,
            (1.0..x_max + 1.0).log_scale(),
            (lo..hi).log_scale(),
            style,
            y_desc,
        )?,
    };
    if range.is_none() {
        // Empty chart: the axes with a hint, so the page never shows a blank box.
        let (w, h) = root.dim_in_pixel();
        root.draw(&Text::new(
            "no steps yet — press Train",
            (w as i32 / 2 - style.px(80.0) as i32, h as i32 / 2),
            style.font(14.0).color(&RGBColor(120, 120, 120)),
        ))
        .map_err(draw_err)?;
    }
    Ok(hover)
}

/// Exponential moving average, seeded with the first value (no bias towards 0 at the start).
pub fn ema(values: &[f64], factor: f64) -> Vec<f64> {
    let f = factor.clamp(0.0, 0.999);
    let mut out = Vec::with_capacity(values.len());
    let mut acc = None;
    for &v in values {
        let next = match acc {
            None => v,
            Some(a) => f * a + (1.0 - f) * v,
        };
        acc = Some(next);
        out.push(next);
    }
    out
}

const MAX_LINE_POINTS: usize = 1500;

/// A run's finite training losses as (step, loss).
fn finite_train(run: &Run) -> Vec<(usize, f64)> {
    run.reports
        .iter()
        .filter(|s| s.train_loss.is_finite())
        .map(|s| (s.step, f64::from(s.train_loss)))
        .collect()
}

/// Legend entries beyond this many would hide the chart; hovering still names every run.
const MAX_LEGEND: usize = 12;

#[allow(clippy::too_many_arguments)]
fn draw_curves_in<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    before: Option<(&Run, &str)>,
    opts: CurveOptions,
    x: X,
    y: Y,
    style: ChartStyle,
    y_desc: &str,
) -> Result<Vec<HoverPoint>, String>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let x_desc = if opts.log_x { "step (log)" } else { "step" };
    let (steps, loss) = (|v: &f64| format!("{v:.0}"), |v: &f64| format_loss(*v));
    let mut chart = framed(root, x, y, (x_desc, y_desc), (&steps, &loss), style)?;

    let x_of = |step: usize| {
        if opts.log_x {
            step as f64 + 1.0
        } else {
            step as f64
        }
    };
    // Pre-training → adaptation: a dashed line where the task shifts and the adapters attach.
    if let Some(start) = runs.iter().find_map(Run::adaptation_start) {
        let (y0, y1) = (chart.y_range().start, chart.y_range().end);
        let xs = x_of(start);
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(xs, y0), (xs, y1)],
                style.px(6.0),
                style.px(4.0),
                grey.stroke_width(style.px(1.5)),
            ))
            .map_err(draw_err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                " adaptation →",
                (xs, y1),
                style.font(12.0).color(&grey),
            )))
            .map_err(draw_err)?;
    }
    if let Some((run, label)) = before {
        // Grey, behind: the smoothed training loss and the validation loss of the run before.
        let grey = RGBColor(150, 150, 150);
        let finite = finite_train(run);
        let raw: Vec<f64> = finite.iter().map(|p| p.1).collect();
        let thin = (finite.len() / MAX_LINE_POINTS).max(1);
        let smooth: Vec<(f64, f64)> = finite
            .iter()
            .zip(ema(&raw, opts.smoothing))
            .map(|(p, v)| (x_of(p.0), v))
            .step_by(thin)
            .collect();
        let lw = style.px(2.0);
        chart
            .draw_series(LineSeries::new(smooth, grey.mix(0.8).stroke_width(lw)))
            .map_err(draw_err)?
            .label(format!("before: {label}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(lw)));
        let val = run.reports.iter().filter_map(|s| {
            s.val_loss
                .filter(|v| v.is_finite())
                .map(|v| (x_of(s.step), f64::from(v)))
        });
        chart
            .draw_series(DashedLineSeries::new(
                val,
                style.px(6.0),
                style.px(4.0),
                grey.mix(0.8).stroke_width(lw),
            ))
            .map_err(draw_err)?;
    }
    let single = runs.len() == 1 && runs[0].knobs.is_empty();
    // Colour by the last swept knob (in a width × learning-rate sweep, one hue per width, light →
    // dark, as in the papers); the legend lists that knob's values once each.
    let colour_key = runs.first().and_then(|r| r.swept().last().copied());
    let colour_value = |r: &Run| colour_key.and_then(|k| r.value_of(k)).map(str::to_string);
    let mut values: Vec<String> = Vec::new();
    for r in runs {
        if let Some(v) = colour_value(r).filter(|v| !values.contains(v)) {
            values.push(v);
        }
    }
    let mut in_legend: Vec<String> = Vec::new();
    let mut hover = Vec::new();
    for run in runs {
        let name = run.label();
        let finite = finite_train(run);
        let raw_y: Vec<f64> = finite.iter().map(|p| p.1).collect();
        let smooth: Vec<(f64, f64)> = finite
            .iter()
            .zip(ema(&raw_y, opts.smoothing))
            .map(|(p, v)| (x_of(p.0), v))
            .collect();
        // Long runs are drawn from at most ~1500 points a line: a canvas has fewer pixels than
        // that across, and drawing 100k-point lines every frame would stall the page.
        let thin = (finite.len() / MAX_LINE_POINTS).max(1);
        let value = colour_value(run);
        let index = value
            .as_ref()
            .and_then(|v| values.iter().position(|x| x == v))
            .unwrap_or(0);
        let color = if single {
            TRAIN_COLOR
        } else {
            ramp(index, values.len())
        };
        let lw = style.px(if single { 1.5 } else { 2.0 });
        if opts.smoothing > 0.0 {
            let raw = finite.iter().step_by(thin).map(|p| (x_of(p.0), p.1));
            chart
                .draw_series(LineSeries::new(raw, color.mix(0.22).stroke_width(style.px(1.0))))
                .map_err(draw_err)?;
        }
        let label = if single {
            "train (EMA)".to_string()
        } else {
            name.clone()
        };
        let drawn = chart
            .draw_series(LineSeries::new(
                smooth.iter().step_by(thin).chain(smooth.last()).copied(),
                color.stroke_width(lw),
            ))
            .map_err(draw_err)?;
        let new_value = value.filter(|v| !in_legend.contains(v));
        if single || (new_value.is_some() && in_legend.len() < MAX_LEGEND) {
            let label = match (&new_value, colour_key) {
                (Some(v), Some(k)) if !single => k.is(v),
                _ => label,
            };
            in_legend.extend(new_value);
            drawn
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(lw)));
        }
        // Hover targets: the smoothed curve, thinned to about 400 points a run.
        let stride = (smooth.len() / 400).max(1);
        for (k, &(x, v)) in smooth.iter().enumerate().step_by(stride) {
            let (px, py) = chart.backend_coord(&(x, v));
            let step = finite[k].0;
            let what = if single {
                "train loss (EMA)".to_string()
            } else {
                name.clone()
            };
            hover.push(HoverPoint {
                px,
                py,
                text: format!("step {step} · {} · {what}", format_loss(v)),
            });
        }
        if single {
            let val: Vec<(f64, f64)> = run
                .reports
                .iter()
                .filter_map(|s| {
                    s.val_loss
                        .filter(|v| v.is_finite())
                        .map(|v| (x_of(s.step), f64::from(v)))
                })
                .collect();
            for &(x, v) in &val {
                let (px, py) = chart.backend_coord(&(x, v));
                let step = if opts.log_x { x - 1.0 } else { x };
                hover.push(HoverPoint {
                    px,
                    py,
                    text: format!("step {step} · {} · validation loss", format_loss(v)),
                });
            }
            let lw2 = style.px(2.0);
            chart
                .draw_series(LineSeries::new(val, VAL_COLOR.stroke_width(lw2)))
                .map_err(draw_err)?
                .label("validation")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], VAL_COLOR.stroke_width(lw2))
                });
        }
        if let (true, Some(last)) = (run.diverged, run.reports.last()) {
            let at = (x_of(last.step), chart.y_range().end);
            if single {
                chart
                    .draw_series(std::iter::once(Text::new(
                        "diverged",
                        at,
                        style.font(12.0).color(&VAL_COLOR),
                    )))
                    .map_err(draw_err)?;
            } else {
                // Many runs: a × in the run's colour where it stopped; hovering names it.
                chart
                    .draw_series(std::iter::once(Cross::new(
                        at,
                        style.px(6.0),
                        color.stroke_width(style.px(2.5)),
                    )))
                    .map_err(draw_err)?;
                let (px, py) = chart.backend_coord(&at);
                hover.push(HoverPoint {
                    px,
                    py,
                    text: format!("step {} · diverged · {name}", last.step),
                });
            }
        }
    }
    if !runs.is_empty() {
        legend(&mut chart, SeriesLabelPosition::UpperRight, style)?;
    }
    Ok(hover)
}
