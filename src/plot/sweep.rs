//! Final loss against the first swept knob, one curve per value of the second, and one panel per
//! value of a third (the transfer figure: SP | μP side by side on a shared loss axis).

use super::frame::{ChartStyle, ValueTicks, decades, draw_err, format_loss, format_x, framed, legend, ramp};
use crate::keys::{self, Key};
use crate::knobs::view::SweepMetric;
use crate::train::metrics::Run;
use crate::vocab::Named;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

/// One curve of a sweep chart: the final loss at each x (`None` = the run diverged).
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSeries {
    pub label: String,
    /// The second knob's value (link text) shared by the curve; empty without a second knob.
    pub value: String,
    /// Bytes of each run's stored model by x (a bit-width sweep labels its axis with them).
    pub bytes: Vec<(f64, usize)>,
    pub points: Vec<(f64, Option<f64>)>,
}

/// One panel of a sweep chart: the runs that share a value of the third swept knob.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPanel {
    /// "μP", "param=sp", …; empty when the sweep has no third knob.
    pub title: String,
    pub series: Vec<SweepSeries>,
}

/// The swept knobs of a sweep's runs, seeds left out, in run order.
fn swept_keys(runs: &[Run]) -> Vec<&'static Key> {
    runs.first().map(Run::swept).unwrap_or_default()
}

/// A panel's title: the value's own label where the knob has named values (param=mup → "μP").
pub(crate) fn panel_title(key: &Key, value: &str) -> String {
    key.value_label(value)
        .map_or_else(|| key.is(value), str::to_string)
}

/// [`sweep_series`] per value of the third swept knob (one untitled panel without one), in run
/// order. `None` when the first knob is not numeric.
pub fn sweep_panels(runs: &[Run], metric: SweepMetric) -> Option<(&'static Key, Vec<SweepPanel>)> {
    let keys = swept_keys(runs);
    let Some(&panel_key) = keys.get(2) else {
        let (x_key, series) = sweep_series(runs, metric)?;
        let title = String::new();
        return Some((x_key, vec![SweepPanel { title, series }]));
    };
    let value = |r: &Run| r.value_of(panel_key).map(str::to_string);
    let mut values: Vec<String> = Vec::new();
    for v in runs.iter().filter_map(value) {
        if !values.contains(&v) {
            values.push(v);
        }
    }
    let mut x_key = None;
    let mut panels = Vec::new();
    for v in values {
        let mine: Vec<&Run> = runs.iter().filter(|r| value(r).as_ref() == Some(&v)).collect();
        let (k, series) = sweep_series(mine, metric)?;
        x_key = Some(k);
        panels.push(SweepPanel {
            title: panel_title(panel_key, &v),
            series,
        });
    }
    Some((x_key?, panels))
}

/// Groups sweep runs into curves: x = the first swept knob, one curve per value of the second, the
/// `metric` (final or best validation loss) averaged over seeds (a point is diverged when every seed diverged).
/// `None` when the first knob is not numeric (categorical sweeps have no x axis to draw on).
pub fn sweep_series<'r>(
    runs: impl IntoIterator<Item = &'r Run>,
    metric: SweepMetric,
) -> Option<(&'static Key, Vec<SweepSeries>)> {
    let mut runs = runs.into_iter().peekable();
    let swept = runs.peek()?.swept();
    let x_key = *swept.first()?;
    let series_key = swept.get(1).copied();
    let mut series: Vec<SweepSeries> = Vec::new();
    for run in runs {
        let v = series_key
            .and_then(|k| run.value_of(k))
            .unwrap_or_default()
            .to_string();
        let label = series_key.map(|k| k.is(&v)).unwrap_or_default();
        let x: f64 = crate::vocab::parse_number(run.value_of(x_key)?).ok()?;
        if !run.diverged && run.sweep_loss(metric).is_none() {
            continue; // not started yet (or cancelled before its first evaluation): no point
        }
        let loss = if run.diverged {
            None
        } else {
            run.sweep_loss(metric).map(f64::from)
        };
        let s = match series.iter_mut().find(|s| s.label == label) {
            Some(s) => s,
            None => {
                series.push(SweepSeries {
                    label,
                    value: v,
                    points: Vec::new(),
                    bytes: Vec::new(),
                });
                series.last_mut().expect("just pushed")
            }
        };
        s.points.push((x, loss));
        s.bytes.push((x, run.config.model_bytes()));
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
    Some((x_key, series))
}

/// Swept values a linear axis shows as its only ticks.
const FEW_TICKS: usize = 8;

/// Final loss vs the swept knob: log2 x when the values span a factor of 4 or more, log y, one
/// curve per series with its best point ringed; diverged points drawn as × on the top edge.
pub fn draw_sweep<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    x_key: &Key,
    series: &[SweepSeries],
    metric: SweepMetric,
    style: ChartStyle,
) -> Result<(), String> {
    let panel = SweepPanel {
        title: String::new(),
        series: series.to_vec(),
    };
    draw_sweep_panels(root, x_key, std::slice::from_ref(&panel), metric, style)
}

/// [`draw_sweep`] for each panel side by side, on one x range and one loss axis so the panels
/// compare at a glance (the Tensor Programs V layout).
pub fn draw_sweep_panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    x_key: &Key,
    panels: &[SweepPanel],
    metric: SweepMetric,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    // A bit-width sweep scores the quantized model.
    let bits = *x_key == keys::BITS;
    let y_desc = if bits {
        "validation loss of the quantized model (log)".to_string()
    } else {
        format!("{} (log)", metric.label())
    };
    let axes = (x_key, y_desc.as_str());
    let all = || panels.iter().flat_map(|p| p.series.iter());
    // A bit-width sweep draws float (bits = 32) as a dashed reference, not as a point far right.
    let on_axis = |x: f64| !(bits && x >= 32.0);
    let (x_lo, x_hi) = all()
        .flat_map(|s| s.points.iter().map(|p| p.0).filter(|&x| on_axis(x)))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    let (y_lo, y_hi) = decades(
        all().flat_map(|s| s.points.iter().filter_map(|p| p.1)),
        (0.1, 1.0),
    );
    let areas = root.split_evenly((1, panels.len().max(1)));
    // One legend is enough when panels share their curves; above the valley of a learning-rate
    // sweep it hides no point (the wide curves' low-rate ends sit in the lower left).
    let legend_at = || {
        if bits {
            SeriesLabelPosition::UpperRight // a bit-width sweep's losses sit low, at float's line
        } else if panels.len() > 1 {
            SeriesLabelPosition::UpperMiddle
        } else {
            SeriesLabelPosition::LowerLeft
        }
    };
    for (i, (area, panel)) in areas.iter().zip(panels).enumerate() {
        let axes = (axes.0, axes.1, (i == 0).then(legend_at));
        let area = if panel.title.is_empty() {
            area.clone()
        } else {
            area.titled(&panel.title, style.font(14.0)).map_err(draw_err)?
        };
        let y = (y_lo..y_hi).log_scale();
        let float_refs: Vec<(usize, f64)> = panel
            .series
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.points
                    .iter()
                    .find(|p| !on_axis(p.0))
                    .and_then(|p| p.1)
                    .map(|l| (i, l))
            })
            .collect();
        let trimmed: Vec<SweepSeries> = panel
            .series
            .iter()
            .map(|s| SweepSeries {
                points: s.points.iter().copied().filter(|p| on_axis(p.0)).collect(),
                ..s.clone()
            })
            .collect();
        let series = (trimmed.as_slice(), float_refs.as_slice());
        // On a linear axis a few swept values are its only ticks: ticks between them would name
        // values no run had (and print float noise, "-6e-17", for 0).
        let mut values: Vec<f64> = all()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .filter(|&x| on_axis(x))
            .collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        let few = values.len() <= FEW_TICKS;
        if !x_lo.is_finite() {
            draw_sweep_in(&area, axes, series, 0.0..1.0, y, style)?;
        } else if bits {
            let x = ValueTicks::new(x_lo - 0.5..x_hi + 0.5, values);
            draw_sweep_in(&area, axes, series, x, y, style)?;
        } else if x_lo > 0.0 && x_hi / x_lo >= 4.0 {
            let x = (x_lo / 1.4..x_hi * 1.4).log_scale().base(2.0);
            draw_sweep_in(&area, axes, series, x, y, style)?;
        } else {
            let pad = ((x_hi - x_lo) * 0.05).max(0.5);
            let x = x_lo - pad..x_hi + pad;
            if few {
                draw_sweep_in(&area, axes, series, ValueTicks::new(x, values), y, style)?;
            } else {
                draw_sweep_in(&area, axes, series, x, y, style)?;
            }
        }
    }
    Ok(())
}

fn draw_sweep_in<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    (x_key, y_desc, legend_at): (&Key, &str, Option<SeriesLabelPosition>),
    (series, float_refs): (&[SweepSeries], &[(usize, f64)]),
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
    // A bit-width axis names what each width stores: "4 · 14.0 kB".
    let size = |x: f64| {
        series
            .first()
            .and_then(|s| s.bytes.iter().find(|(b, _)| (b - x).abs() < 1e-9))
            .map(|&(_, bytes)| format!("{} · {:.1} kB", format_x(x), bytes as f64 / 1000.0))
    };
    let bits = *x_key == keys::BITS;
    let label = |v: &f64| {
        if bits {
            size(*v).unwrap_or_else(|| format_x(*v))
        } else {
            format_x(*v)
        }
    };
    let loss = |v: &f64| format_loss(*v);
    let mut chart = framed(root, x, y, (x_key.name, y_desc), (&label, &loss), style)?;
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
        if let Some(&(_, loss)) = float_refs.iter().find(|(j, _)| *j == i) {
            let (x0, x1) = (chart.x_range().start, chart.x_range().end);
            let dashed = DashedLineSeries::new(
                [(x0, loss), (x1, loss)],
                style.px(6.0),
                style.px(4.0),
                color.stroke_width(style.px(1.5)),
            );
            let drawn = chart.draw_series(dashed).map_err(draw_err)?;
            if i == 0 {
                drawn
                    .label("float (32 bits)")
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(1)));
            }
        }
    }
    if let Some(at) = legend_at
        && series.iter().any(|s| !s.label.is_empty())
    {
        legend(&mut chart, at, style)?;
    }
    Ok(())
}
