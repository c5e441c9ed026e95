//! Charts, drawn with plotters on any `DrawingBackend`: a canvas in the page, SVG natively (the CLI
//! and the tests). Nothing here knows about the trainer or the DOM.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use crate::data::{EXTENT, Points2d};
use crate::metrics::Run;

/// Presentation settings shared by every chart.
#[derive(Clone, Copy, Debug)]
pub struct ChartStyle {
    /// Device pixels per CSS pixel: fonts and strokes scale with it so canvases stay sharp.
    pub scale: f64,
}

impl Default for ChartStyle {
    fn default() -> Self {
        Self { scale: 1.0 }
    }
}

impl ChartStyle {
    fn px(&self, v: f64) -> u32 {
        (v * self.scale).round().max(1.0) as u32
    }

    fn font(&self, size: f64) -> FontDesc<'static> {
        FontDesc::new(FontFamily::SansSerif, size * self.scale, FontStyle::Normal)
    }
}

/// Class colours (colour-blind-safe Tableau hues), shared by the boundary and its points.
pub const CLASS_COLORS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];
const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const VAL_COLOR: RGBColor = RGBColor(214, 39, 40);

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

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    format!("drawing failed: {e}")
}

/// y-range covering every finite loss, padded; `None` when there is nothing to show.
fn loss_range(runs: &[Run], log_y: bool) -> Option<(f64, f64)> {
    let vals = runs.iter().flat_map(|r| {
        r.reports
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
    root.fill(&WHITE).map_err(draw_err)?;
    let last_step = runs
        .iter()
        .filter_map(|r| r.reports.last())
        .map(|s| s.step + 1)
        .max();
    let x_max = opts.total_steps.max(last_step.unwrap_or(1)).max(1) as f64;
    let y_desc = if opts.log_y { "loss (log)" } else { "loss" };
    let range = loss_range(runs, opts.log_y);
    let (lo, hi) = range.unwrap_or((0.1, 1.0));
    let hover = match (opts.log_x, opts.log_y) {
        (false, false) => draw_curves_in(root, runs, opts, 0.0..x_max, lo..hi, style, y_desc)?,
        (false, true) => draw_curves_in(root, runs, opts, 0.0..x_max, (lo..hi).log_scale(), style, y_desc)?,
        (true, false) => draw_curves_in(
            root,
            runs,
            opts,
            (1.0..x_max + 1.0).log_scale(),
            lo..hi,
            style,
            y_desc,
        )?,
        (true, true) => draw_curves_in(
            root,
            runs,
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

/// Legend entries beyond this many would hide the chart; hovering still names every run.
const MAX_LEGEND: usize = 12;

#[allow(clippy::too_many_arguments)]
fn draw_curves_in<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
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
    let mut chart = framed(root, x, y, (x_desc, y_desc), &|v| format!("{v:.0}"), style)?;

    let x_of = |step: usize| {
        if opts.log_x {
            step as f64 + 1.0
        } else {
            step as f64
        }
    };
    let single = runs.len() == 1 && runs[0].knobs.is_empty();
    // Colour by the last swept knob (in a width × learning-rate sweep, one hue per width, light →
    // dark, as in the papers); the legend lists that knob's values once each.
    let colour_key = runs
        .first()
        .and_then(|r| r.knobs.iter().rev().find(|(k, _)| *k != "seed"))
        .map(|(k, _)| *k);
    let colour_value = |r: &Run| {
        r.knobs
            .iter()
            .find(|(k, _)| Some(*k) == colour_key)
            .map(|(_, v)| v.clone())
    };
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
        let finite: Vec<(usize, f64)> = run
            .reports
            .iter()
            .filter(|s| s.train_loss.is_finite())
            .map(|s| (s.step, f64::from(s.train_loss)))
            .collect();
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
                (Some(v), Some(k)) if !single => format!("{k}={v}"),
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

type Chart<'a, DB, X, Y> = ChartContext<
    'a,
    DB,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

/// The frame every line chart shares: margins, light grid, axis titles, loss labels on y.
fn framed<'a, DB, X, Y>(
    root: &'a DrawingArea<DB, Shift>,
    x: X,
    y: Y,
    (x_desc, y_desc): (&str, &str),
    x_labels: &dyn Fn(&f64) -> String,
    style: ChartStyle,
) -> Result<Chart<'a, DB, X, Y>, String>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(root)
        .margin(style.px(10.0))
        .x_label_area_size(style.px(36.0))
        .y_label_area_size(style.px(56.0))
        .build_cartesian_2d(x, y)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(style.font(12.0))
        .axis_desc_style(style.font(13.0))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(220, 220, 220))
        .y_label_formatter(&|v| format_loss(*v))
        .x_label_formatter(x_labels)
        .draw()
        .map_err(draw_err)?;
    Ok(chart)
}

fn legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    at: SeriesLabelPosition,
    style: ChartStyle,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(at)
        .label_font(style.font(12.0))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(draw_err)
}

/// Tick labels that stay readable from 10 down to 1e-4.
fn format_loss(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 0.01 {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.0e}")
    }
}

/// The model's class probabilities on a grid, as read back from `Trainer::predict_grid`.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundaryGrid {
    pub res: usize,
    pub classes: usize,
    /// [res·res·classes], rows from the top (y = +EXTENT) down.
    pub probs: Vec<f32>,
}

/// Background tinted by the predicted class (stronger where the model is confident), with the
/// training points on top.
pub fn draw_boundary<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    grid: Option<&BoundaryGrid>,
    points: &Points2d,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let e = f64::from(EXTENT);
    let mut chart = ChartBuilder::on(root)
        .margin(style.px(8.0))
        .x_label_area_size(style.px(24.0))
        .y_label_area_size(style.px(32.0))
        .build_cartesian_2d(-e..e, -e..e)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .label_style(style.font(11.0))
        .x_labels(5)
        .y_labels(5)
        .draw()
        .map_err(draw_err)?;

    if let Some(g) = grid.filter(|g| g.res > 0 && g.classes > 0 && g.probs.len() == g.res * g.res * g.classes)
    {
        let cell = 2.0 * e / g.res as f64;
        let k = g.classes;
        let cells = (0..g.res * g.res).map(|c| {
            let (row, col) = (c / g.res, c % g.res);
            let p = &g.probs[c * k..(c + 1) * k];
            let (best, pmax) = p
                .iter()
                .enumerate()
                .fold((0, f32::MIN), |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc });
            // Confidence above chance, 0..1, mapped to tint strength.
            let chance = 1.0 / k as f32;
            let conf = ((pmax - chance) / (1.0 - chance)).clamp(0.0, 1.0);
            let color = tint(
                CLASS_COLORS[best % CLASS_COLORS.len()],
                0.15 + 0.45 * f64::from(conf),
            );
            let x0 = -e + col as f64 * cell;
            let y1 = e - row as f64 * cell;
            Rectangle::new([(x0, y1), (x0 + cell, y1 - cell)], color.filled())
        });
        chart.draw_series(cells).map_err(draw_err)?;
    }

    let r = style.px(3.0);
    let dots = (0..points.len()).map(|i| {
        let c = CLASS_COLORS[points.labels[i] as usize % CLASS_COLORS.len()];
        let (x, y) = (f64::from(points.xy[2 * i]), f64::from(points.xy[2 * i + 1]));
        EmptyElement::at((x, y))
            + Circle::new((0, 0), r, c.filled())
            + Circle::new((0, 0), r, WHITE.stroke_width(style.px(0.8)))
    });
    chart.draw_series(dots).map_err(draw_err)?;
    Ok(())
}

/// `c` blended towards white: `amount` = 1 is the full colour, 0 is white.
fn tint(c: RGBColor, amount: f64) -> RGBColor {
    let mix = |v: u8| (255.0 - (255.0 - f64::from(v)) * amount).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// One curve of a sweep chart: the final loss at each x (`None` = the run diverged).
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSeries {
    pub label: String,
    pub points: Vec<(f64, Option<f64>)>,
}

/// Groups sweep runs into curves: x = the first swept knob, one curve per value of the second, the
/// final validation loss averaged over seeds (a point is diverged when every seed diverged).
/// `None` when the first knob is not numeric (categorical sweeps have no x axis to draw on).
pub fn sweep_series(runs: &[Run]) -> Option<(String, Vec<SweepSeries>)> {
    let first = runs.first()?;
    let (x_key, _) = first.knobs.iter().find(|(k, _)| *k != "seed")?;
    let series_key = first
        .knobs
        .iter()
        .map(|(k, _)| *k)
        .find(|k| k != x_key && *k != "seed");
    let value = |r: &Run, key: &str| r.knobs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    let mut series: Vec<SweepSeries> = Vec::new();
    for run in runs {
        let label = series_key
            .map(|k| format!("{k}={}", value(run, k).unwrap_or_default()))
            .unwrap_or_default();
        let x: f64 = crate::config::parse_number(&value(run, x_key)?).ok()?;
        if !run.diverged && run.final_val_loss().is_none() {
            continue; // not started yet (or cancelled before its first evaluation): no point
        }
        let loss = if run.diverged {
            None
        } else {
            run.final_val_loss().map(f64::from)
        };
        let s = match series.iter_mut().find(|s| s.label == label) {
            Some(s) => s,
            None => {
                series.push(SweepSeries {
                    label,
                    points: Vec::new(),
                });
                series.last_mut().expect("just pushed")
            }
        };
        s.points.push((x, loss));
    }
    // Average seeds: several points at the same x.
    for s in &mut series {
        let mut merged: Vec<(f64, Vec<Option<f64>>)> = Vec::new();
        for &(x, l) in &s.points {
            match merged.iter_mut().find(|(mx, _)| *mx == x) {
                Some((_, ls)) => ls.push(l),
                None => merged.push((x, vec![l])),
            }
        }
        s.points = merged
            .into_iter()
            .map(|(x, ls)| {
                let ok: Vec<f64> = ls.into_iter().flatten().collect();
                (
                    x,
                    (!ok.is_empty()).then(|| ok.iter().sum::<f64>() / ok.len() as f64),
                )
            })
            .collect();
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    Some((x_key.to_string(), series))
}

/// Light → dark ramp for the i-th of n curves (papers draw narrow models light, wide ones dark).
pub fn ramp(i: usize, n: usize) -> RGBColor {
    let t = if n <= 1 { 1.0 } else { i as f64 / (n - 1) as f64 };
    let (a, b) = ((158.0, 202.0, 225.0), (8.0, 48.0, 107.0));
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// "2^-7" for small powers of two (the μP papers label learning rates as 2^k), plain numbers
/// otherwise (widths read 64, 128, …).
fn format_x(v: f64) -> String {
    let k = v.log2();
    if v > 0.0 && (k - k.round()).abs() < 1e-9 && k <= -2.0 {
        format!("2^{}", k.round() as i64)
    } else {
        format_loss(v)
    }
}

/// Final loss vs the swept knob: log2 x when the values span a factor of 4 or more, log y, one
/// curve per series with its best point ringed; diverged points drawn as × on the top edge.
pub fn draw_sweep<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    x_key: &str,
    series: &[SweepSeries],
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let xs: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1))
        .filter(|y| y.is_finite() && *y > 0.0)
        .collect();
    let (x_lo, x_hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
        (a.min(x), b.max(x))
    });
    if !x_lo.is_finite() {
        return draw_sweep_in(root, x_key, series, 0.0..1.0, (0.1..1.0).log_scale(), style);
    }
    let (y_lo, y_hi) = ys.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| {
        (a.min(y), b.max(y))
    });
    let (y_lo, y_hi) = if y_lo.is_finite() {
        let lo = 10f64.powf(y_lo.log10().floor());
        (lo, 10f64.powf(y_hi.log10().ceil()).max(lo * 10.0))
    } else {
        (0.1, 1.0)
    };
    let y = (y_lo..y_hi).log_scale();
    if x_lo > 0.0 && x_hi / x_lo >= 4.0 {
        let x = (x_lo / 1.4..x_hi * 1.4).log_scale().base(2.0);
        draw_sweep_in(root, x_key, series, x, y, style)
    } else {
        let pad = ((x_hi - x_lo) * 0.05).max(0.5);
        draw_sweep_in(root, x_key, series, x_lo - pad..x_hi + pad, y, style)
    }
}

fn draw_sweep_in<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    x_key: &str,
    series: &[SweepSeries],
    x: X,
    y: Y,
    style: ChartStyle,
) -> Result<(), String>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = framed(
        root,
        x,
        y,
        (x_key, "final validation loss (log)"),
        &|v| format_x(*v),
        style,
    )?;
    let top = chart.y_range().end;
    let r = style.px(3.5);
    for (i, s) in series.iter().enumerate() {
        let color = ramp(i, series.len());
        let ok: Vec<(f64, f64)> = s.points.iter().filter_map(|&(x, y)| y.map(|y| (x, y))).collect();
        let lw = style.px(2.0);
        let drawn = chart
            .draw_series(LineSeries::new(ok.clone(), color.stroke_width(lw)).point_size(r))
            .map_err(draw_err)?;
        if !s.label.is_empty() {
            drawn
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(lw)));
        }
        if let Some(best) = ok.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1)) {
            chart
                .draw_series(std::iter::once(Circle::new(
                    best,
                    r * 2,
                    BLACK.stroke_width(style.px(1.5)),
                )))
                .map_err(draw_err)?;
        }
        let diverged = s.points.iter().filter(|p| p.1.is_none()).map(|p| (p.0, top));
        chart
            .draw_series(diverged.map(|p| Cross::new(p, r * 2, color.stroke_width(style.px(2.5)))))
            .map_err(draw_err)?;
    }
    if series.iter().any(|s| !s.label.is_empty()) {
        legend(&mut chart, SeriesLabelPosition::LowerLeft, style)?;
    }
    Ok(())
}

/// Final loss over a two-knob sweep, for the heatmap: `cells[row·xs.len() + col]`, rows = `ys`.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    pub x_key: String,
    pub y_key: String,
    pub xs: Vec<String>,
    pub ys: Vec<String>,
    pub cells: Vec<Cell>,
}

/// One heatmap cell: the final validation loss averaged over seeds that did not diverge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    /// No result yet (queued, or cancelled before its first evaluation).
    Empty,
    /// Every seed diverged.
    Diverged,
    Loss(f64),
}

/// The heatmap of a sweep over two knobs (plus seeds), or `None` for fewer knobs.
pub fn sweep_heatmap(runs: &[Run]) -> Option<Heatmap> {
    let keys: Vec<&str> = runs
        .first()?
        .knobs
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| *k != "seed")
        .collect();
    let [x_key, y_key] = keys[..] else { return None };
    let value = |r: &Run, key: &str| r.knobs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    let mut xs: Vec<String> = Vec::new();
    let mut ys: Vec<String> = Vec::new();
    for r in runs {
        let (x, y) = (value(r, x_key)?, value(r, y_key)?);
        if !xs.contains(&x) {
            xs.push(x);
        }
        if !ys.contains(&y) {
            ys.push(y);
        }
    }
    // (sum of losses, runs with a loss, diverged runs) per cell
    let mut sums = vec![(0.0, 0usize, 0usize); xs.len() * ys.len()];
    for r in runs {
        let (Some(x), Some(y)) = (value(r, x_key), value(r, y_key)) else {
            continue;
        };
        let col = xs.iter().position(|v| *v == x)?;
        let cell = &mut sums[ys.iter().position(|v| *v == y)? * xs.len() + col];
        if r.diverged {
            cell.2 += 1;
        } else if let Some(l) = r.final_val_loss().filter(|l| l.is_finite()) {
            cell.0 += f64::from(l);
            cell.1 += 1;
        }
    }
    let cells = sums
        .into_iter()
        .map(|(sum, n, diverged)| match (n, diverged) {
            (0, 0) => Cell::Empty,
            (0, _) => Cell::Diverged,
            _ => Cell::Loss(sum / n as f64),
        })
        .collect();
    Some(Heatmap {
        x_key: x_key.into(),
        y_key: y_key.into(),
        xs,
        ys,
        cells,
    })
}

/// Viridis, by five stops: dark purple (low) → yellow (high).
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Cells coloured by log loss (viridis: dark = low), values written in, the best cell outlined,
/// diverged cells grey with ×.
pub fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    hm: &Heatmap,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let (nx, ny) = (hm.xs.len().max(1), hm.ys.len().max(1));
    let mut chart = ChartBuilder::on(root)
        .margin(style.px(10.0))
        .x_label_area_size(style.px(36.0))
        .y_label_area_size(style.px(56.0))
        .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)
        .map_err(draw_err)?;
    let xs = hm.xs.clone();
    let ys = hm.ys.clone();
    let pick = |labels: &[String], v: f64| {
        let text = labels.get(v.floor() as usize).cloned().unwrap_or_default();
        // Powers of two read as 2^k, as on the sweep chart; other values as given.
        match crate::config::parse_number(&text) {
            Ok(x) if format_x(x).starts_with("2^") => format_x(x),
            _ => text,
        }
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(hm.x_key.as_str())
        .y_desc(hm.y_key.as_str())
        .label_style(style.font(12.0))
        .axis_desc_style(style.font(13.0))
        .x_labels(nx * 2 + 1)
        .y_labels(ny * 2 + 1)
        .x_label_formatter(&|v| {
            if v.fract() == 0.5 {
                pick(&xs, *v)
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|v| {
            if v.fract() == 0.5 {
                pick(&ys, *v)
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(draw_err)?;
    let logs: Vec<f64> = hm
        .cells
        .iter()
        .filter_map(|c| match c {
            Cell::Loss(v) if *v > 0.0 => Some(v.log10()),
            _ => None,
        })
        .collect();
    let (lo, hi) = logs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let best = hm
        .cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Cell::Loss(v) => Some((i, *v)),
            _ => None,
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i);
    for (i, cell) in hm.cells.iter().enumerate() {
        let (col, row) = ((i % nx) as f64, (i / nx) as f64);
        let rect = [(col, row), (col + 1.0, row + 1.0)];
        match cell {
            Cell::Empty => {}
            Cell::Loss(v) => {
                let t = if hi > lo {
                    (v.max(1e-12).log10() - lo) / (hi - lo)
                } else {
                    0.5
                };
                chart
                    .draw_series(std::iter::once(Rectangle::new(rect, viridis(t).filled())))
                    .map_err(draw_err)?;
                let ink = if t > 0.6 { BLACK } else { WHITE };
                chart
                    .draw_series(std::iter::once(Text::new(
                        format_loss(*v),
                        (col + 0.3, row + 0.6),
                        style.font(11.0).color(&ink),
                    )))
                    .map_err(draw_err)?;
            }
            Cell::Diverged => {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        rect,
                        RGBColor(225, 225, 225).filled(),
                    )))
                    .map_err(draw_err)?;
                chart
                    .draw_series(std::iter::once(Cross::new(
                        (col + 0.5, row + 0.5),
                        style.px(6.0),
                        RGBColor(120, 120, 120).stroke_width(style.px(2.0)),
                    )))
                    .map_err(draw_err)?;
            }
        }
        if Some(i) == best {
            // A path, not a rectangle outline: SVG output drops a rectangle's stroke width.
            let ring = vec![
                (col, row),
                (col + 1.0, row),
                (col + 1.0, row + 1.0),
                (col, row + 1.0),
                (col, row),
            ];
            chart
                .draw_series(std::iter::once(PathElement::new(
                    ring,
                    BLACK.stroke_width(style.px(3.0)),
                )))
                .map_err(draw_err)?;
        }
    }
    Ok(())
}
