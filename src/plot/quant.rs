//! The quantization figures of one run: weight error against bits on a log axis with the
//! −6 dB/bit law (each bit halves the step, so the rounding error's variance Δ²/12 falls 4×), and
//! one layer's weight histogram with the quantization grid drawn over it.

use super::frame::{ChartStyle, draw_err, format_loss, legend};
use crate::knobs::quant::QFormat;
use crate::model::quant::weights::WeightsFigure;
use plotters::coord::Shift;
use plotters::prelude::*;

const CURVE_COLORS: [RGBColor; 3] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
];
const GRID_COLOR: RGBColor = RGBColor(214, 39, 40);

/// Left: weight MSE vs bits, one curve per granularity, the −6 dB/bit reference dashed (through
/// the per-tensor curve at 4 bits), the configured format's own point ringed. Right: the
/// histogram of the figure's layer with its grid as vertical lines.
pub fn draw_weights<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &WeightsFigure,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let (curves, own, q) = (&fig.curves, fig.own, &fig.quant);
    let ys = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.1))
        .chain(own.map(|p| p.1))
        .filter(|v| *v > 0.0);
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return Ok(());
    }
    let y = (10f64.powf((lo / 2.0).log10().floor())..10f64.powf((hi * 2.0).log10().ceil())).log_scale();
    let mut chart = ChartBuilder::on(&left)
        .margin(style.px(10.0))
        .x_label_area_size(style.px(36.0))
        .y_label_area_size(style.px(56.0))
        .build_cartesian_2d(1.5f64..8.5, y)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(crate::keys::BITS.name)
        .y_desc("weight MSE (log)")
        .label_style(style.font(12.0))
        .axis_desc_style(style.font(13.0))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(220, 220, 220))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(draw_err)?;
    let lw = style.px(2.0);
    for (i, c) in curves.iter().enumerate() {
        let color = CURVE_COLORS[i % CURVE_COLORS.len()];
        let pts: Vec<(f64, f64)> = c.points.iter().map(|&(b, m)| (f64::from(b), m)).collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(lw)).point_size(style.px(3.0)))
            .map_err(draw_err)?
            .label(c.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(lw)));
    }
    if let Some(&(_, at4)) = curves.first().and_then(|c| c.points.iter().find(|p| p.0 == 4)) {
        let reference: Vec<(f64, f64)> = (2..=8).map(|b| (f64::from(b), at4 * 4f64.powi(4 - b))).collect();
        chart
            .draw_series(DashedLineSeries::new(
                reference,
                style.px(6.0),
                style.px(4.0),
                BLACK.stroke_width(1),
            ))
            .map_err(draw_err)?
            .label("−6 dB per bit (÷4)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(1)));
    }
    if let Some((bits, m)) = own {
        let label = crate::vocab::Named::label(q.fmt);
        chart
            .draw_series(std::iter::once(Circle::new(
                (f64::from(bits), m),
                style.px(6.0),
                BLACK.stroke_width(lw),
            )))
            .map_err(draw_err)?
            .label(format!("{label}, {}", crate::vocab::Named::label(q.gran)))
            .legend(|(x, y)| Circle::new((x + 9, y), 4, BLACK.stroke_width(1)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, style)?;

    // The histogram of one layer with the grid its values are rounded to.
    let (h, grid) = (&fig.histogram, &fig.grid);
    let (x_lo, x_hi) = grid.iter().fold((h.lo, h.hi), |(a, b), &g| (a.min(g), b.max(g)));
    let pad = (x_hi - x_lo) * 0.03;
    let top = h.counts.iter().copied().max().unwrap_or(1) as f64 * 1.1;
    // Symmetric INT2's grid is ternary: say so where its three levels are drawn.
    let ternary = if q.fmt == QFormat::Int && q.bits == 2 {
        " (ternary)"
    } else {
        ""
    };
    let title = format!(
        "{}: {} weights and the {}-bit grid{ternary}",
        fig.layer,
        fig.count,
        q.fmt.width(q.bits)
    );
    let right = right.titled(&title, style.font(13.0)).map_err(draw_err)?;
    let mut chart = ChartBuilder::on(&right)
        .margin(style.px(10.0))
        .x_label_area_size(style.px(36.0))
        .y_label_area_size(style.px(48.0))
        .build_cartesian_2d(f64::from(x_lo - pad)..f64::from(x_hi + pad), 0f64..top)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("weight value")
        .y_desc("count")
        .label_style(style.font(12.0))
        .axis_desc_style(style.font(13.0))
        .light_line_style(RGBColor(240, 240, 240))
        .x_label_formatter(&|v| {
            if v.abs() < 1e-9 {
                "0".into()
            } else {
                format_loss(*v)
            }
        })
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(draw_err)?;
    let w = f64::from(h.hi - h.lo) / h.counts.len() as f64;
    chart
        .draw_series(h.counts.iter().enumerate().map(|(i, &c)| {
            let x0 = f64::from(h.lo) + i as f64 * w;
            Rectangle::new(
                [(x0, 0.0), (x0 + w, c as f64)],
                RGBColor(31, 119, 180).mix(0.6).filled(),
            )
        }))
        .map_err(draw_err)?;
    // Over the bars; too many levels to tell apart (8-bit) draw as a band.
    let grid_style = GRID_COLOR
        .mix(if grid.len() > 64 { 0.25 } else { 0.7 })
        .stroke_width(1);
    chart
        .draw_series(
            grid.iter()
                .map(|&g| PathElement::new(vec![(f64::from(g), 0.0), (f64::from(g), top)], grid_style)),
        )
        .map_err(draw_err)?;
    Ok(())
}
