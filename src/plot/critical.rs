//! The critical-batch figure of a batch-size sweep (docs/EXPERIMENTS.md E6 (b); McCandlish et
//! al. 2018, Figs. 4–5; Shallue et al. 2018, Figs. 1 and 8): left, the steps to reach the target
//! loss against the batch (each batch at its best learning rate; seeds' mean, their range as a
//! bar), on log–log axes with perfect scaling S ∝ 1/B dotted from the smallest batch and the
//! fitted S_min·(1 + B_crit/B); right, that best rate against the batch, with linear scaling ε ∝ B
//! dotted and the paper's ε_max/(1 + B_crit/B) (its eq. 2.6) at the same B_crit. B_crit is a
//! vertical line in both, and beside it the gradient noise scale B_simple measured at the same
//! loss (`gns`), the paper's prediction of it.

use super::frame::{
    ChartStyle, TRAIN_COLOR, VAL_COLOR, draw_err, format_count, format_loss, format_x, framed, legend,
};
use crate::train::critical::{Critical, critical, rate_max};
use crate::train::metrics::Run;
use plotters::chart::SeriesAnno;
use plotters::coord::Shift;
use plotters::coord::combinators::LogCoord;
use plotters::prelude::*;

/// A panel of this figure: log–log.
type LogChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>;

const NOISE_COLOR: RGBColor = RGBColor(230, 120, 20);
const GUIDE: RGBColor = RGBColor(150, 150, 150);

/// Whether `runs` are a batch sweep the figure can read at `target` (`None`: auto).
pub fn has_critical(runs: &[Run], target: Option<f64>) -> bool {
    crate::train::critical::is_batch_sweep(runs) && critical(runs, target).is_some()
}

/// The figure (see the module); an error when the sweep has fewer than three batch sizes that
/// reach the target.
pub fn draw_critical<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    target: Option<f64>,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let c = critical(runs, target).ok_or("fewer than three batch sizes reach the target loss")?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 * 11 / 20);
    draw_steps(&left, &c, style)?;
    draw_rates(&right, &c, style)
}

/// One point a batch: (B, the seeds' central value, their lowest, their highest).
type Points = Vec<(f64, f64, f64, f64)>;

/// A panel's x and y ranges, (low, high) each.
type Ranges = ((f64, f64), (f64, f64));

/// The panels' shared frame: log–log over the batches with room either side, the y axis over
/// `ys` (whole decades), ticks by `y_ticks`.
fn frame<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    pts: &Points,
    ys: Vec<f64>,
    (y_desc, y_ticks): (&str, &dyn Fn(&f64) -> String),
    style: ChartStyle,
) -> Result<(LogChart<'a, DB>, Ranges), String> {
    if pts.is_empty() {
        // A log axis over no points would have no range.
        return Err("no batch size reaches the target loss".into());
    }
    let (bmin, bmax) = pts
        .iter()
        .fold((f64::INFINITY, 0f64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let (xlo, xhi) = (bmin / 1.6, bmax * 1.6);
    let (ylo, yhi) = super::frame::decades(ys.into_iter(), (1.0, 1e3));
    let chart = framed(
        area,
        (xlo..xhi).log_scale(),
        (ylo..yhi).log_scale(),
        ("batch size B (log)", y_desc),
        (&|v| format_count(*v), y_ticks),
        style,
    )?;
    Ok((chart, ((xlo, xhi), (ylo, yhi))))
}

fn draw_steps<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Critical,
    style: ChartStyle,
) -> Result<(), String> {
    let pts: Points = c
        .batches
        .iter()
        .map(|b| {
            let (lo, hi) = b.range();
            (b.batch as f64, b.mean(), lo, hi)
        })
        .collect();
    let mut ys: Vec<f64> = pts.iter().flat_map(|p| [p.2, p.3]).collect();
    if let (Some(l), Some(first), Some(last)) = (c.law, pts.first(), pts.last()) {
        ys.extend([l.steps(first.0 / 1.6), l.steps(last.0 * 1.6)]);
    }
    let (mut chart, ((xlo, xhi), (ylo, yhi))) = frame(
        area,
        &pts,
        ys,
        ("steps to reach the target (log)", &|v| format_count(*v)),
        style,
    )?;
    // Perfect scaling from the smallest batch: S ∝ 1/B.
    let first = pts[0];
    let ideal = |b: f64| first.0 * first.1 / b;
    dotted(&mut chart, [(xlo, ideal(xlo)), (xhi, ideal(xhi))], style)?
        .label("perfect scaling (S ∝ 1/B)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], GUIDE.stroke_width(1)));
    if let Some(l) = c.law {
        let spread = c.seed_range.map_or(String::new(), |(lo, hi)| {
            format!(" (seeds {}–{})", format_count(lo), format_count(hi))
        });
        law(&mut chart, (xlo, xhi), |b| l.steps(b), style)?
            .label(format!(
                "S_min(1 + B_crit/B): S_min {:.2}, E_min {}, B_crit {}{spread}",
                l.s_min,
                format_count(l.e_min()),
                format_count(l.b_crit)
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], VAL_COLOR.stroke_width(2)));
        vertical(&mut chart, l.b_crit, (ylo, yhi), VAL_COLOR, style)?;
    }
    if let Some((median, lo, hi, n)) = c.b_simple {
        vertical(&mut chart, median, (ylo, yhi), NOISE_COLOR, style)?
            .label(format!(
                "B_simple at the target {} (quartiles {}–{}, {n} runs)",
                format_count(median),
                format_count(lo),
                format_count(hi)
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], NOISE_COLOR.stroke_width(2)));
    }
    points(&mut chart, &pts, style)?
        .label(format!(
            "steps S at its best rate, to loss {}{}",
            format_loss(c.target),
            if c.auto { " (auto)" } else { "" }
        ))
        .legend(|(x, y)| Circle::new((x + 9, y), 3, TRAIN_COLOR.filled()));
    // The steps fall from the upper left: the lower left is free.
    legend(&mut chart, SeriesLabelPosition::LowerLeft, style)
}

/// The best rate of each batch (the seeds' geometric mean, their range as a bar), linear scaling
/// ε ∝ B dotted from the smallest batch, and ε_max/(1 + B_crit/B) fitted at the steps' B_crit.
fn draw_rates<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Critical,
    style: ChartStyle,
) -> Result<(), String> {
    let pts: Points = c
        .batches
        .iter()
        .map(|b| {
            let (lo, hi) = b.rate_range();
            (b.batch as f64, b.rate(), lo, hi)
        })
        .filter(|p| p.1 > 0.0 && p.1.is_finite())
        .collect();
    let fit = c.law.and_then(|l| Some((l, rate_max(&c.batches, l.b_crit)?)));
    let mut ys: Vec<f64> = pts.iter().flat_map(|p| [p.2 / 2.0, p.3 * 2.0]).collect();
    ys.extend(fit.map(|f| f.1));
    let (mut chart, ((xlo, xhi), (ylo, yhi))) = frame(
        area,
        &pts,
        ys,
        ("best learning rate (log)", &|v| format_x(*v)),
        style,
    )?;
    let first = pts[0];
    let linear = |b: f64| first.1 * b / first.0;
    dotted(&mut chart, [(xlo, linear(xlo)), (xhi, linear(xhi))], style)?
        .label("linear scaling (ε ∝ B)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], GUIDE.stroke_width(1)));
    if let Some((l, eps)) = fit {
        law(&mut chart, (xlo, xhi), |b| eps / (1.0 + l.b_crit / b), style)?
            .label(format!("ε_max/(1 + B_crit/B): ε_max {}", format_x(eps)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], VAL_COLOR.stroke_width(2)));
        vertical(&mut chart, l.b_crit, (ylo, yhi), VAL_COLOR, style)?;
    }
    if let Some((median, ..)) = c.b_simple {
        vertical(&mut chart, median, (ylo, yhi), NOISE_COLOR, style)?;
    }
    points(&mut chart, &pts, style)?
        .label("the fastest run's rate")
        .legend(|(x, y)| Circle::new((x + 9, y), 3, TRAIN_COLOR.filled()));
    // The rates rise to the upper right: the upper left is free.
    legend(&mut chart, SeriesLabelPosition::UpperLeft, style)
}

/// A grey dotted guide through `ends`.
fn dotted<'a, 'b, DB: DrawingBackend + 'a>(
    chart: &'b mut LogChart<'a, DB>,
    ends: [(f64, f64); 2],
    style: ChartStyle,
) -> Result<&'b mut SeriesAnno<'a, DB>, String> {
    chart
        .draw_series(DashedLineSeries::new(
            ends,
            style.px(2.0),
            style.px(3.0),
            GUIDE.stroke_width(style.px(1.2)),
        ))
        .map_err(draw_err)
}

/// A fitted law `f` across the panel, in red.
fn law<'a, 'b, DB: DrawingBackend + 'a>(
    chart: &'b mut LogChart<'a, DB>,
    (xlo, xhi): (f64, f64),
    f: impl Fn(f64) -> f64,
    style: ChartStyle,
) -> Result<&'b mut SeriesAnno<'a, DB>, String> {
    let curve = (0..=60).map(|i| {
        let b = xlo * (xhi / xlo).powf(f64::from(i) / 60.0);
        (b, f(b))
    });
    chart
        .draw_series(LineSeries::new(curve, VAL_COLOR.stroke_width(style.px(1.6))))
        .map_err(draw_err)
}

/// Each batch's seed range as a bar, then its central value.
fn points<'a, 'b, DB: DrawingBackend + 'a>(
    chart: &'b mut LogChart<'a, DB>,
    pts: &Points,
    style: ChartStyle,
) -> Result<&'b mut SeriesAnno<'a, DB>, String> {
    chart
        .draw_series(pts.iter().map(|&(x, _, lo, hi)| {
            PathElement::new(vec![(x, lo), (x, hi)], TRAIN_COLOR.stroke_width(style.px(1.4)))
        }))
        .map_err(draw_err)?;
    chart
        .draw_series(
            pts.iter()
                .map(|&(x, y, _, _)| Circle::new((x, y), style.px(3.5), TRAIN_COLOR.filled())),
        )
        .map_err(draw_err)
}

/// A dashed vertical line at batch `b` across the panel.
fn vertical<'a, 'b, DB: DrawingBackend + 'a>(
    chart: &'b mut LogChart<'a, DB>,
    b: f64,
    (ylo, yhi): (f64, f64),
    colour: RGBColor,
    style: ChartStyle,
) -> Result<&'b mut SeriesAnno<'a, DB>, String> {
    chart
        .draw_series(DashedLineSeries::new(
            [(b, ylo), (b, yhi)],
            style.px(5.0),
            style.px(3.0),
            colour.stroke_width(style.px(1.2)),
        ))
        .map_err(draw_err)
}
