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
    /// x-axis extent (the run's planned steps), so the axis does not jump while training.
    pub total_steps: usize,
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

/// Loss vs step: train (per step) and validation (every few steps) for each run, with a legend.
pub fn draw_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    opts: CurveOptions,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let x_max = opts
        .total_steps
        .max(
            runs.iter()
                .filter_map(|r| r.reports.last())
                .map(|s| s.step + 1)
                .max()
                .unwrap_or(1),
        )
        .max(1) as f64;
    match loss_range(runs, opts.log_y) {
        None => {
            // Empty chart: the axes with a hint, so the page never shows a blank box.
            draw_curves_in(root, runs, 0.0..x_max, 0.0..1.0, style, "loss")?;
            let (w, h) = root.dim_in_pixel();
            root.draw(&Text::new(
                "no steps yet — press Train",
                (w as i32 / 2 - style.px(80.0) as i32, h as i32 / 2),
                style.font(14.0).color(&RGBColor(120, 120, 120)),
            ))
            .map_err(draw_err)
        }
        Some((lo, hi)) if opts.log_y => {
            draw_curves_in(root, runs, 0.0..x_max, (lo..hi).log_scale(), style, "loss (log)")
        }
        Some((lo, hi)) => draw_curves_in(root, runs, 0.0..x_max, lo..hi, style, "loss"),
    }
}

fn draw_curves_in<DB, Y>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    x: std::ops::Range<f64>,
    y: Y,
    style: ChartStyle,
    y_desc: &str,
) -> Result<(), String>
where
    DB: DrawingBackend,
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
        .x_desc("step")
        .y_desc(y_desc)
        .label_style(style.font(12.0))
        .axis_desc_style(style.font(13.0))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(220, 220, 220))
        .y_label_formatter(&|v| format_loss(*v))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(draw_err)?;

    let many = runs.len() > 1;
    for run in runs {
        let suffix = if many {
            format!(" · {}", run.label())
        } else {
            String::new()
        };
        let train: Vec<(f64, f64)> = run
            .reports
            .iter()
            .filter(|s| s.train_loss.is_finite())
            .map(|s| (s.step as f64, f64::from(s.train_loss)))
            .collect();
        let val: Vec<(f64, f64)> = run
            .reports
            .iter()
            .filter_map(|s| {
                s.val_loss
                    .filter(|v| v.is_finite())
                    .map(|v| (s.step as f64, f64::from(v)))
            })
            .collect();
        let lw = style.px(1.5);
        chart
            .draw_series(LineSeries::new(train, TRAIN_COLOR.stroke_width(lw)))
            .map_err(draw_err)?
            .label(format!("train{suffix}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], TRAIN_COLOR.stroke_width(lw)));
        let lw2 = style.px(2.0);
        chart
            .draw_series(LineSeries::new(val, VAL_COLOR.stroke_width(lw2)))
            .map_err(draw_err)?
            .label(format!("validation{suffix}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], VAL_COLOR.stroke_width(lw2)));
        if let (true, Some(last)) = (run.diverged, run.reports.last()) {
            chart
                .draw_series(std::iter::once(Text::new(
                    "diverged (NaN/Inf)",
                    (last.step as f64, chart.y_range().end),
                    style.font(13.0).color(&VAL_COLOR),
                )))
                .map_err(draw_err)?;
        }
    }
    if !runs.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(style.font(12.0))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
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
    let mut chart = ChartBuilder::on(root)
        .margin(style.px(10.0))
        .x_label_area_size(style.px(36.0))
        .y_label_area_size(style.px(56.0))
        .build_cartesian_2d(x, y)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(x_key)
        .y_desc("final validation loss (log)")
        .label_style(style.font(12.0))
        .axis_desc_style(style.font(13.0))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(220, 220, 220))
        .x_label_formatter(&|v| format_x(*v))
        .y_label_formatter(&|v| format_loss(*v))
        .draw()
        .map_err(draw_err)?;
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
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .label_font(style.font(12.0))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}
