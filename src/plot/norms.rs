//! The norm traces (`norms=1`): every step's global gradient norm (before clipping; solid) and
//! update norm ‖Δθ‖ (dashed) against step, one colour per run, on a log axis — norms span
//! decades between the first steps and the last.

use super::frame::{
    ChartStyle, TRAIN_COLOR, VAL_COLOR, decades, draw_err, format_loss, framed, legend, ramp,
};
use crate::train::metrics::Run;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Whether any run has norms to draw.
pub fn has_norms(runs: &[Run]) -> bool {
    runs.iter().any(|r| r.reports.iter().any(|s| s.norms.is_some()))
}

/// Both norms of every run against step, on one log axis.
pub fn draw_norms<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    total_steps: usize,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    // (step, gradient norm, update norm) of each run; a non-finite norm (a diverging step) is
    // left out, a zero one (a frozen step) cannot sit on a log axis.
    let traces: Vec<Vec<(f64, f64, f64)>> = runs
        .iter()
        .map(|r| {
            r.reports
                .iter()
                .filter_map(|s| {
                    s.norms
                        .map(|n| (s.step as f64, f64::from(n.grad), f64::from(n.update)))
                })
                .filter(|p| p.1.is_finite() && p.2.is_finite() && p.1 > 0.0 && p.2 > 0.0)
                .collect()
        })
        .collect();
    let (lo, hi) = decades(traces.iter().flatten().flat_map(|p| [p.1, p.2]), (1e-3, 1.0));
    let mut chart = framed(
        root,
        0.0..total_steps.max(2) as f64,
        (lo..hi).log_scale(),
        ("step", "global gradient norm · update norm ‖Δθ‖ (log)"),
        (&|v| format!("{v:.0}"), &|v| format_loss(*v)),
        style,
    )?;
    let n = runs.len();
    for (i, (r, pts)) in runs.iter().zip(&traces).enumerate() {
        let (cg, cu) = if n == 1 {
            (TRAIN_COLOR, VAL_COLOR)
        } else {
            (ramp(i, n), ramp(i, n))
        };
        let label = |what: &str| {
            if n == 1 {
                what.to_string()
            } else {
                format!("{} · {what}", r.label())
            }
        };
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.0, p.1)),
                cg.stroke_width(style.px(1.5)),
            ))
            .map_err(draw_err)?
            .label(label("gradient norm"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], cg.stroke_width(2)));
        chart
            .draw_series(DashedLineSeries::new(
                pts.iter().map(|p| (p.0, p.2)),
                style.px(5.0),
                style.px(3.0),
                cu.stroke_width(style.px(1.5)),
            ))
            .map_err(draw_err)?
            .label(label("update norm"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], cu.stroke_width(1)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, style)
}
