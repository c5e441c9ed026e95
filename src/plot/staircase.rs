//! The rank staircase (docs/EXPERIMENTS.md E1): final loss against LoRA rank on a log2 axis, the analytic
//! Eckart–Young floor as a dashed staircase, full fine-tuning as a horizontal line, and the
//! trainable-parameter count on a second (right) axis.

use super::frame::{ChartStyle, decades, draw_err, format_loss, ramp};
use super::sweep::SweepSeries;
use crate::keys::{self, Key};
use crate::knobs::ExperimentConfig;
use plotters::coord::Shift;
use plotters::prelude::*;

const FLOOR_COLOR: RGBColor = RGBColor(90, 90, 90);
const FULL_COLOR: RGBColor = RGBColor(214, 39, 40);
const PARAMS_COLOR: RGBColor = RGBColor(150, 150, 150);

/// Whether a sweep's figure is the staircase: its first swept knob is the LoRA rank.
pub fn is_rank_sweep(x_key: &Key) -> bool {
    *x_key == keys::R
}

/// Draws `series` (from `sweep_series`, x = rank, 0 = full fine-tuning) with `base`'s floor
/// (planted task only) and trainable-parameter counts.
pub fn draw_staircase<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[SweepSeries],
    base: &ExperimentConfig,
    metric: crate::knobs::view::SweepMetric,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let ranks: Vec<usize> = {
        let mut r: Vec<usize> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0 as usize))
            .filter(|&r| r > 0)
            .collect();
        r.sort_unstable();
        r.dedup();
        r
    };
    let (r_lo, r_hi) = match (ranks.first(), ranks.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (1, 16),
    };
    let with_rank = |r: usize| ExperimentConfig {
        lora: crate::knobs::lora::LoraConfig {
            rank: crate::knobs::lora::Rank::of(r),
            ..base.lora.clone()
        },
        ..base.clone()
    };
    // The floor at every whole rank in view, so the staircase has all its steps.
    let floor: Vec<(usize, f64)> = (r_lo..=r_hi)
        .filter_map(|r| crate::data::planted::loss_floor(&with_rank(r)).map(|f| (r, f)))
        .collect();
    let full_floor = crate::data::planted::loss_floor(&with_rank(0));
    let ys = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1))
        .chain(floor.iter().map(|f| f.1))
        .chain(full_floor);
    let (y_lo, y_hi) = decades(ys, (1e-4, 1.0));
    let x_range = (r_lo as f64 / 1.5..r_hi as f64 * 1.5).log_scale().base(2.0);
    let params: Vec<(f64, f64)> = ranks
        .iter()
        .map(|&r| (r as f64, with_rank(r).trainable_params() as f64))
        .collect();
    let p_hi = params
        .iter()
        .map(|p| p.1)
        .fold(1.0, f64::max)
        .max(base.parameter_estimate() as f64);
    let p_lo = params.iter().map(|p| p.1).fold(p_hi, f64::min);
    let p_range = (10f64.powf(p_lo.log10().floor())..10f64.powf(p_hi.log10().ceil() + 0.01)).log_scale();

    let mut chart = ChartBuilder::on(root)
        .margin(style.px(10.0))
        .x_label_area_size(style.px(36.0))
        .y_label_area_size(style.px(56.0))
        .right_y_label_area_size(style.px(56.0))
        .build_cartesian_2d(x_range.clone(), (y_lo..y_hi).log_scale())
        .map_err(draw_err)?
        .set_secondary_coord(x_range, p_range);
    chart
        .configure_mesh()
        .x_desc("LoRA rank r (log2)")
        .y_desc(format!("{} (log)", crate::vocab::Named::label(metric)))
        .label_style(style.font(12.0))
        .axis_desc_style(style.font(13.0))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(220, 220, 220))
        .y_label_formatter(&|v| format_loss(*v))
        .x_label_formatter(&|v| format!("{}", v.round()))
        .draw()
        .map_err(draw_err)?;
    chart
        .configure_secondary_axes()
        .y_desc("trainable parameters (log)")
        .label_style(style.font(12.0).color(&PARAMS_COLOR))
        .axis_desc_style(style.font(13.0).color(&PARAMS_COLOR))
        .y_label_formatter(&|v| super::frame::format_count(*v))
        .draw()
        .map_err(draw_err)?;

    let lw = style.px(2.0);
    // Trainable parameters: grey squares on the right axis, behind the losses.
    chart
        .draw_secondary_series(LineSeries::new(
            params.clone(),
            PARAMS_COLOR.stroke_width(style.px(1.0)),
        ))
        .map_err(draw_err)?
        .label("trainable parameters (right axis)")
        .legend(move |(x, y)| Rectangle::new([(x + 5, y - 4), (x + 13, y + 4)], PARAMS_COLOR.filled()));
    let sq = style.px(4.0) as i32;
    chart
        .draw_secondary_series(
            params.iter().map(|&p| {
                EmptyElement::at(p) + Rectangle::new([(-sq, -sq), (sq, sq)], PARAMS_COLOR.filled())
            }),
        )
        .map_err(draw_err)?;

    // The floor: flat from r to r + 1, stepping down where a planted direction is captured.
    if !floor.is_empty() {
        let mut path = Vec::new();
        for (i, &(r, f)) in floor.iter().enumerate() {
            let next = floor.get(i + 1).map_or(r_hi as f64 * 1.5, |n| n.0 as f64);
            path.push((r as f64, f));
            path.push((next, f));
        }
        path.insert(0, (r_lo as f64 / 1.5, floor[0].1));
        chart
            .draw_series(DashedLineSeries::new(
                path,
                style.px(7.0),
                style.px(4.0),
                FLOOR_COLOR.stroke_width(lw),
            ))
            .map_err(draw_err)?
            .label("Eckart–Young floor (best rank-r loss)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], FLOOR_COLOR.stroke_width(lw)));
    }

    let (x_lo, x_hi) = (r_lo as f64 / 1.5, r_hi as f64 * 1.5);
    let r = style.px(4.0);
    for (i, s) in series.iter().enumerate() {
        let color = if series.len() == 1 {
            RGBColor(31, 119, 180)
        } else {
            ramp(i, series.len())
        };
        let ok: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p.0 >= 1.0)
            .filter_map(|&(x, y)| y.map(|y| (x, y)))
            .collect();
        let label = if s.label.is_empty() {
            "LoRA, final val loss".to_string()
        } else {
            s.label.clone()
        };
        chart
            .draw_series(LineSeries::new(ok.clone(), color.stroke_width(lw)).point_size(r))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(lw)));
        let top = chart.y_range().end;
        chart
            .draw_series(
                s.points
                    .iter()
                    .filter(|p| p.0 >= 1.0 && p.1.is_none())
                    .map(|p| Cross::new((p.0, top), r * 2, color.stroke_width(style.px(2.5)))),
            )
            .map_err(draw_err)?;
        // Rank 0 = full fine-tuning: a horizontal reference, as wide as the rank axis.
        if let Some(&(_, Some(full))) = s.points.iter().find(|p| p.0 == 0.0) {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x_lo, full), (x_hi, full)],
                    style.px(2.0),
                    style.px(3.0),
                    FULL_COLOR.stroke_width(lw),
                ))
                .map_err(draw_err)?
                .label(format!("full fine-tuning ({})", format_loss(full)))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], FULL_COLOR.stroke_width(lw))
                });
        }
    }
    // Middle left is where the staircase leaves room: high losses sit top left, few parameters
    // bottom left.
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleLeft)
        .label_font(style.font(12.0))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(draw_err)
}
