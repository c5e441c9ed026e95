//! The gradient noise scale's figure (docs/EXPERIMENTS.md E6; McCandlish et al. 2018): B_simple
//! = tr(Σ)/|G|², smoothed over steps (`train::noise`), against the smoothed training loss — both
//! on log axes, the loss falling from left to right as training goes on — one curve per run, each
//! run's batch size dashed in its colour. Where B_simple is above the batch, a larger batch would
//! still have cut the steps almost in proportion; below it, it would mostly have cost examples.

use super::frame::{ChartStyle, draw_err, format_count, format_loss, framed, legend, ramp};
use crate::train::metrics::Run;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Whether any run measured the noise scale.
pub fn has_noise_scale(runs: &[Run]) -> bool {
    runs.iter().any(|r| !r.noise_scale().is_empty())
}

/// Every run's B_simple against its training loss, with its batch dashed (see the module).
pub fn draw_noise_scale<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    // The first tenth of each run is left out: its averages are still filling.
    let curves: Vec<(&Run, Vec<(f64, f64)>)> = runs
        .iter()
        .map(|r| {
            let s = r.noise_scale();
            let skip = s.len() / 10;
            let pts = s
                .into_iter()
                .skip(skip)
                .filter(|&(_, l, b)| l > 0.0 && b > 0.0)
                .map(|(_, l, b)| (l, b))
                .collect();
            (r, pts)
        })
        .filter(|(_, p): &(&Run, Vec<(f64, f64)>)| !p.is_empty())
        .collect();
    let xs = curves.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
    let ys = curves
        .iter()
        .flat_map(|(r, p)| p.iter().map(|q| q.1).chain([r.config.batch_examples() as f64]));
    let (xlo, xhi) = super::frame::decades(xs, (0.01, 10.0));
    let (ylo, yhi) = super::frame::decades(ys, (1.0, 1e4));
    let mut chart = framed(
        root,
        (xhi..xlo).log_scale(),
        (ylo..yhi).log_scale(),
        (
            "training loss, smoothed (log; training goes left to right)",
            "B_simple = tr(Σ)/|G|² (log)",
        ),
        (&|v| format_loss(*v), &|v| format_count(*v)),
        style,
    )?;
    let n = curves.len();
    for (i, (run, pts)) in curves.iter().enumerate() {
        let colour = ramp(i, n);
        let b = run.config.batch_examples() as f64;
        let last = pts.last().map_or(0.0, |p| p.1);
        let label = if run.knobs.is_empty() {
            format!("B_simple (last {})", format_count(last))
        } else {
            format!("{} (last {})", run.label(), format_count(last))
        };
        chart
            .draw_series(LineSeries::new(
                pts.iter().copied(),
                colour.stroke_width(style.px(1.8)),
            ))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        let dashed = chart
            .draw_series(DashedLineSeries::new(
                [(xhi, b), (xlo, b)],
                style.px(4.0),
                style.px(3.0),
                colour.stroke_width(style.px(1.0)),
            ))
            .map_err(draw_err)?;
        if i + 1 == n {
            dashed.label("the run's batch (dashed)").legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 6, y), (x + 10, y), (x + 16, y)],
                    colour.stroke_width(1),
                )
            });
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, style)
}
