//! The learned change's singular values, small: σ_i of ΔW = γ·A·B (or W − W0 for full
//! fine-tuning) per adapted layer, log y, with the planted σ* for reference. The number of bars
//! above the noise is the rank the adaptation actually used.

use super::frame::{ChartStyle, draw_err, format_loss, legend, ramp};
use crate::data::spectrum::LayerSpectrum;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Values below this fraction of the largest are drawn on the bottom edge (numerically zero).
const FLOOR_REL: f64 = 1e-4;

/// `planted`: the teacher's σ* (planted task), drawn as hollow rings.
pub fn draw_spectrum<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spectra: &[LayerSpectrum],
    planted: Option<&[f64]>,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let top = spectra
        .iter()
        .flat_map(|s| s.singular.iter().copied())
        .chain(planted.into_iter().flatten().copied())
        .fold(0.0f64, f64::max);
    let top = if top > 0.0 { top } else { 1.0 };
    let n = spectra
        .iter()
        .map(|s| s.singular.len())
        .chain(planted.map(<[f64]>::len))
        .max()
        .unwrap_or(1)
        .clamp(1, 64);
    let y_hi = 10f64.powf(top.log10().ceil());
    let y_lo = y_hi * FLOOR_REL / 10.0;
    let mut chart = ChartBuilder::on(root)
        .margin(style.px(8.0))
        .x_label_area_size(style.px(30.0))
        .y_label_area_size(style.px(48.0))
        .build_cartesian_2d(0.5..n as f64 + 0.5, (y_lo..y_hi).log_scale())
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("index i")
        .y_desc("σ_i of ΔW (log)")
        .label_style(style.font(11.0))
        .axis_desc_style(style.font(12.0))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(220, 220, 220))
        .x_labels(n.min(16))
        .x_label_formatter(&|v| format!("{}", v.round()))
        .y_label_formatter(&|v| format_loss(*v))
        .draw()
        .map_err(draw_err)?;
    let r = style.px(3.0);
    let layers = spectra.len();
    for (j, s) in spectra.iter().enumerate() {
        let color = if layers == 1 {
            RGBColor(31, 119, 180)
        } else {
            ramp(j, layers)
        };
        let pts: Vec<(f64, f64)> = s
            .singular
            .iter()
            .take(n)
            .enumerate()
            .map(|(i, &v)| ((i + 1) as f64, v.max(y_lo)))
            .collect();
        let label = format!("{} (rank {})", s.name, s.effective_rank());
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, r, color.filled())))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| Circle::new((x + 9, y), 4, color.filled()));
    }
    if let Some(p) = planted {
        let ring = BLACK.stroke_width(style.px(1.2));
        chart
            .draw_series(
                p.iter()
                    .take(n)
                    .enumerate()
                    .map(|(i, &v)| Circle::new(((i + 1) as f64, v.max(y_lo)), r * 2, ring)),
            )
            .map_err(draw_err)?
            .label("planted σ*")
            .legend(move |(x, y)| Circle::new((x + 9, y), 5, ring));
    }
    if !spectra.is_empty() || planted.is_some() {
        legend(&mut chart, SeriesLabelPosition::UpperRight, style)?;
    }
    Ok(())
}
