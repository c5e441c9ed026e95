//! The coordinate check (Tensor Programs V, `mup.coord_check`): mean |output| of every linear
//! layer after each of the first steps, against width on log–log axes, one line per layer and one
//! panel per step; a second swept knob (usually `param`) gives one row of panels per value.

use super::frame::{ChartStyle, decades, draw_err, format_loss, format_x, legend};
use crate::keys::Key;
use crate::train::metrics::Run;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One panel: after `step` updates, each layer's statistic at every width.
#[derive(Clone, Debug, PartialEq)]
pub struct CoordPanel {
    /// The row's knob value ("μP"), empty without a second knob.
    pub row: String,
    pub step: usize,
    /// (layer name, (width, mean |output|) sorted by width), in forward order.
    pub lines: Vec<(String, Vec<(f64, f64)>)>,
}

/// (row, steps taken, layer name, x): one point of one line of one panel.
type CellKey = (String, usize, String, f64);

/// The runs' coordinate checks as rows × steps panels, with the x knob's key; `None` when no run
/// has a coordinate check yet or the first swept knob is not a number.
pub fn coord_panels(runs: &[Run]) -> Option<(&'static Key, Vec<Vec<CoordPanel>>)> {
    let first = runs.iter().find(|r| !r.coords().is_empty())?;
    let keys = first.swept();
    let x_key = *keys.first()?;
    let row_key = keys.get(1).copied();
    let mut rows: Vec<String> = Vec::new();
    // (row, step, layer, x) → (sum, count): seeds are averaged.
    let mut acc: Vec<(CellKey, (f64, usize))> = Vec::new();
    for r in runs {
        let x = crate::vocab::parse_number(r.value_of(x_key)?).ok()?;
        let row = row_key
            .and_then(|k| r.value_of(k).map(|v| super::sweep::panel_title(k, v)))
            .unwrap_or_default();
        if !rows.contains(&row) {
            rows.push(row.clone());
        }
        let names = r.config.coord_names();
        for (step, values) in r.coords() {
            for (name, &v) in names.iter().zip(values.iter()) {
                if !v.is_finite() {
                    continue;
                }
                let key = (row.clone(), step, name.clone(), x);
                match acc.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, (s, n))) => {
                        *s += f64::from(v);
                        *n += 1;
                    }
                    None => acc.push((key, (f64::from(v), 1))),
                }
            }
        }
    }
    let mut steps: Vec<usize> = acc.iter().map(|((_, s, _, _), _)| *s).collect();
    steps.sort_unstable();
    steps.dedup();
    let panels = rows
        .iter()
        .map(|row| {
            steps
                .iter()
                .map(|&step| {
                    let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
                    for ((r, s, layer, x), (sum, n)) in &acc {
                        if r != row || *s != step {
                            continue;
                        }
                        let point = (*x, sum / *n as f64);
                        match lines.iter_mut().find(|(name, _)| name == layer) {
                            Some((_, pts)) => pts.push(point),
                            None => lines.push((layer.clone(), vec![point])),
                        }
                    }
                    for (_, pts) in &mut lines {
                        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    }
                    CoordPanel {
                        row: row.clone(),
                        step,
                        lines,
                    }
                })
                .collect()
        })
        .collect();
    Some((x_key, panels))
}

/// Layer colours: the input layer light, hidden layers in the middle, the readout dark red, so
/// the layers that grow under SP (hidden, readout) stand out.
fn layer_color(name: &str, i: usize) -> RGBColor {
    const HIDDEN: [RGBColor; 4] = [
        RGBColor(44, 160, 44),
        RGBColor(31, 119, 180),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    match name {
        "input" => RGBColor(255, 127, 14),
        "readout" => RGBColor(214, 39, 40),
        _ => HIDDEN[i % HIDDEN.len()],
    }
}

/// The panels in a grid (rows × steps) on shared log–log axes; the legend sits in the first.
pub fn draw_coord<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    x_key: &Key,
    panels: &[Vec<CoordPanel>],
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let all = || {
        panels
            .iter()
            .flatten()
            .flat_map(|p| p.lines.iter().flat_map(|(_, v)| v.iter()))
    };
    let (x_lo, x_hi) = all()
        .map(|p| p.0)
        .filter(|x| *x > 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    if !x_lo.is_finite() {
        return Ok(());
    }
    let (y_lo, y_hi) = decades(all().map(|p| p.1), (0.1, 1.0));
    let cols = panels.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let areas = root.split_evenly((panels.len().max(1), cols));
    for (i, panel) in panels.iter().flatten().enumerate() {
        let title = if panel.row.is_empty() {
            format!("step {}", panel.step)
        } else {
            format!("{} · step {}", panel.row, panel.step)
        };
        let area = areas[i].titled(&title, style.font(13.0)).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(style.px(6.0))
            .x_label_area_size(style.px(38.0))
            .y_label_area_size(style.px(44.0))
            .build_cartesian_2d(
                (x_lo / 1.3..x_hi * 1.3).log_scale().base(2.0),
                (y_lo..y_hi).log_scale(),
            )
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(x_key.name)
            .y_desc(if i % cols == 0 { "mean |output|" } else { "" })
            .label_style(style.font(11.0))
            .axis_desc_style(style.font(12.0))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(220, 220, 220))
            .x_labels(4)
            .x_label_formatter(&|v| format_x(*v))
            .y_label_formatter(&|v| format_loss(*v))
            .draw()
            .map_err(draw_err)?;
        let lw = style.px(1.8);
        for (j, (name, pts)) in panel.lines.iter().enumerate() {
            let color = layer_color(name, j);
            let drawn = chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(lw)).point_size(style.px(2.5)))
                .map_err(draw_err)?;
            if i == 0 {
                drawn.label(name.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(lw))
                });
            }
        }
        if i == 0 {
            legend(&mut chart, SeriesLabelPosition::UpperLeft, style)?;
        }
    }
    Ok(())
}
