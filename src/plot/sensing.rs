//! Matrix sensing's figure (docs/EXPERIMENTS.md E11), as Xiong, Ding and Du (2023) and Li, Ma and
//! Zhang (2018) draw it. Left: the recovery error ‖M − M*‖_F / ‖M*‖_F against step on a log axis
//! (semilog-y; log–log with `xlog`), one colour per run: a straight line on semilog-y is linear
//! convergence. Right: the singular values of M against step, every σᵢ a line, for the run that
//! recovered M* best (solid) and, in a sweep, the one that recovered it worst (dashed), with M*'s
//! own σ* dotted: small init keeps the k − r* extra values near zero, large init grows them.

use super::frame::{ChartStyle, draw_err, format_loss, framed, legend, ramp};
use crate::train::metrics::Run;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Whether any run has matrix-sensing spectra to draw.
pub fn has_sensing(runs: &[Run]) -> bool {
    runs.iter()
        .any(|r| r.reports.iter().any(|s| s.singular.is_some()))
}

/// A run's recovery error ‖M − M*‖_F / ‖M*‖_F at each evaluation: the square root of its
/// validation loss (the relative squared error, `train::sensing`), as (step, error).
pub fn recovery_errors(run: &Run) -> Vec<(usize, f64)> {
    run.reports
        .iter()
        .filter_map(|s| Some((s.step, f64::from(s.val_loss?).sqrt())))
        .filter(|p| p.1.is_finite() && p.1 > 0.0)
        .collect()
}

/// Singular values below this fraction of the largest σ* sit on the axis's floor: float32's
/// products leave the unused directions at about 1e-7 of the matrix, and a few decades below
/// σ* already read as zero.
const FLOOR: f64 = 1e-6;

/// Both panels side by side; `log_x` puts the left panel's steps on a log axis (steps taken).
pub fn draw_sensing<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    total_steps: usize,
    log_x: bool,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let errors: Vec<Vec<(usize, f64)>> = runs.iter().map(recovery_errors).collect();
    let (lo, hi) = super::frame::decades(errors.iter().flatten().map(|p| p.1), (1e-6, 1.0));
    let y_desc = "‖M − M*‖F / ‖M*‖F (log)";
    if log_x {
        let chart = framed(
            &left,
            (1.0..total_steps.max(2) as f64).log_scale(),
            (lo..hi).log_scale(),
            ("steps taken (log)", y_desc),
            (&|v| format!("{v:.0}"), &|v| format_loss(*v)),
            style,
        )?;
        // Steps taken after the evaluation's step, so the start sits at 1 on a log axis.
        error_lines(chart, runs, &errors, &|s| s as f64 + 1.0, style)?;
    } else {
        let chart = framed(
            &left,
            0.0..total_steps.max(2) as f64,
            (lo..hi).log_scale(),
            ("step", y_desc),
            (&|v| format!("{v:.0}"), &|v| format_loss(*v)),
            style,
        )?;
        error_lines(chart, runs, &errors, &|s| s as f64, style)?;
    }
    draw_singular(&right, runs, &errors, total_steps, style)
}

/// The left panel's lines: each run's recovery error.
fn error_lines<'a, DB: DrawingBackend + 'a, X>(
    mut chart: ChartContext<'a, DB, Cartesian2d<X, plotters::coord::combinators::LogCoord<f64>>>,
    runs: &[Run],
    errors: &[Vec<(usize, f64)>],
    x: &dyn Fn(usize) -> f64,
    style: ChartStyle,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
{
    let n = runs.len();
    for (i, (r, pts)) in runs.iter().zip(errors).enumerate() {
        let c = if n == 1 { RGBColor(214, 39, 40) } else { ramp(i, n) };
        let label = if n == 1 {
            "recovery error".to_string()
        } else {
            r.label()
        };
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|&(s, e)| (x(s), e)),
                c.stroke_width(style.px(1.5)),
            ))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, style)
}

/// M's singular values at one evaluation step: (step, σ largest first).
type Spectrum = (f64, Vec<f64>);

/// The right panel: σᵢ(M) against step for the best and the worst recovery, M*'s σ* dotted.
fn draw_singular<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    runs: &[Run],
    errors: &[Vec<(usize, f64)>],
    total_steps: usize,
    style: ChartStyle,
) -> Result<(), String> {
    // Runs ranked by their last recovery error; one with none yet ranks last.
    let last = |i: usize| errors[i].last().map_or(f64::INFINITY, |p| p.1);
    let mut order: Vec<usize> = (0..runs.len()).filter(|&i| has_sensing(&runs[i..=i])).collect();
    order.sort_by(|&a, &b| last(a).total_cmp(&last(b)));
    let shown: Vec<usize> = match (order.first(), order.last()) {
        (Some(&best), Some(&worst)) if best != worst => vec![best, worst],
        (Some(&best), _) => vec![best],
        _ => Vec::new(),
    };
    let target = runs.first().map(|r| r.config.planted.sigma()).unwrap_or_default();
    let top = target.iter().copied().fold(1.0, f64::max);
    let floor = top * FLOOR;
    let traces: Vec<(usize, Vec<Spectrum>)> = shown
        .iter()
        .map(|&i| {
            let pts = runs[i]
                .reports
                .iter()
                .filter_map(|s| {
                    let sv = s.singular.as_ref()?;
                    Some((
                        s.step as f64,
                        sv.iter().map(|&v| f64::from(v).max(floor)).collect(),
                    ))
                })
                .collect();
            (i, pts)
        })
        .collect();
    let values = traces
        .iter()
        .flat_map(|(_, t)| t.iter().flat_map(|p| p.1.clone()));
    let (lo, hi) = super::frame::decades(values.chain(target.iter().copied()), (floor, top));
    let mut chart = framed(
        area,
        0.0..total_steps.max(2) as f64,
        (lo.max(floor)..hi).log_scale(),
        ("step", "singular values σᵢ of M (log)"),
        (&|v| format!("{v:.0}"), &|v| format_loss(*v)),
        style,
    )?;
    let x_hi = total_steps.max(2) as f64;
    let grey = RGBColor(120, 120, 120);
    for (j, &s) in target.iter().enumerate() {
        let series = chart
            .draw_series(DashedLineSeries::new(
                [(0.0, s), (x_hi, s)],
                style.px(2.0),
                style.px(3.0),
                grey.stroke_width(style.px(1.0)),
            ))
            .map_err(draw_err)?;
        if j == 0 {
            series
                .label("σ* of M* (dotted)")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(1)));
        }
    }
    let n = runs.len();
    for (rank, (i, pts)) in traces.iter().enumerate() {
        let c = if n == 1 {
            RGBColor(148, 103, 189)
        } else {
            ramp(*i, n)
        };
        let values = pts.first().map_or(0, |p| p.1.len());
        let which = match (shown.len(), rank) {
            (1, _) => String::new(),
            (_, 0) => " · best (solid)".to_string(),
            _ => " · worst (dashed)".to_string(),
        };
        let label = if n == 1 {
            format!("σᵢ(M){which}")
        } else {
            format!("{}{which}", runs[*i].label())
        };
        for v in 0..values {
            let line = pts.iter().map(|p| (p.0, p.1[v]));
            let stroke = c.stroke_width(style.px(1.5));
            let drawn = if rank == 0 {
                chart
                    .draw_series(LineSeries::new(line, stroke))
                    .map_err(draw_err)?
            } else {
                chart
                    .draw_series(DashedLineSeries::new(line, style.px(5.0), style.px(3.0), stroke))
                    .map_err(draw_err)?
            };
            if v == 0 {
                drawn
                    .label(label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
            }
        }
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight, style)
}
