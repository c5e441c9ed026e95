//! Final loss over two swept knobs.

use super::frame::{ChartStyle, draw_err, format_loss, format_x};
use crate::keys::Key;
use crate::train::metrics::Run;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Final loss over a two-knob sweep, for the heatmap: `cells[row·xs.len() + col]`, rows = `ys`.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    pub x_key: &'static Key,
    pub y_key: &'static Key,
    pub xs: Vec<String>,
    pub ys: Vec<String>,
    pub cells: Vec<Cell>,
}

/// One heatmap cell: the sweep metric (final or best validation loss) averaged over seeds that did not diverge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    /// No result yet (queued, or cancelled before its first evaluation).
    Empty,
    /// Every seed diverged.
    Diverged,
    Loss(f64),
}

/// The heatmap of a sweep over two knobs (plus seeds), or `None` for fewer knobs.
pub fn sweep_heatmap(runs: &[Run], metric: crate::knobs::view::SweepMetric) -> Option<Heatmap> {
    let keys = runs.first()?.swept();
    let [x_key, y_key] = keys[..] else { return None };
    let value = |r: &Run, key: &Key| r.value_of(key).map(str::to_string);
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
        } else if let Some(l) = r.sweep_loss(metric).filter(|l| l.is_finite()) {
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
        x_key,
        y_key,
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
        match crate::vocab::parse_number(&text) {
            Ok(x) if format_x(x).starts_with("2^") => format_x(x),
            _ => text,
        }
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(hm.x_key.name)
        .y_desc(hm.y_key.name)
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
