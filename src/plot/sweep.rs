//! Final loss against the first swept knob, one curve per value of the second.

use super::{ChartStyle, decades, draw_err, format_x, framed, legend, ramp};
use crate::metrics::Run;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

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
    let (x_lo, x_hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
        (a.min(x), b.max(x))
    });
    if !x_lo.is_finite() {
        return draw_sweep_in(root, x_key, series, 0.0..1.0, (0.1..1.0).log_scale(), style);
    }
    let (y_lo, y_hi) = decades(
        series.iter().flat_map(|s| s.points.iter().filter_map(|p| p.1)),
        (0.1, 1.0),
    );
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
