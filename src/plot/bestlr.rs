//! The transfer plot: the best value of the first swept knob (a learning rate) against the
//! second (a width), one line per panel (SP, μP). A flat line means the optimum transfers.

use super::frame::{ChartStyle, draw_err, format_x, framed, legend};
use super::sweep::SweepPanel;
use crate::keys::Key;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One panel's optimum per curve: (curve's knob value, best x, its loss), in curve order.
#[derive(Clone, Debug, PartialEq)]
pub struct BestLine {
    pub label: String,
    pub points: Vec<(f64, f64, f64)>,
}

/// The best x of every curve of every panel; `None` when the curves are not named by numbers
/// (no second knob, or a categorical one) or no curve has a finite loss yet.
pub fn best_lines(panels: &[SweepPanel]) -> Option<Vec<BestLine>> {
    let mut lines = Vec::new();
    for p in panels {
        let mut points = Vec::new();
        for s in &p.series {
            let v = crate::vocab::parse_number(&s.value).ok()?;
            let best = s
                .points
                .iter()
                .filter_map(|&(x, l)| l.filter(|l| l.is_finite()).map(|l| (x, l)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((x, l)) = best {
                points.push((v, x, l));
            }
        }
        lines.push(BestLine {
            label: if p.title.is_empty() {
                "best".into()
            } else {
                p.title.clone()
            },
            points,
        });
    }
    lines.iter().any(|l| !l.points.is_empty()).then_some(lines)
}

/// Colours of the panels' lines: SP's drifting optimum in orange, μP's in blue (the order of
/// `param:sp,mup`), further panels in the Tableau cycle.
const LINE_COLORS: [RGBColor; 4] = [
    RGBColor(230, 97, 1),
    RGBColor(33, 102, 172),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// Best x (log2) against the curves' knob (log2), one line per panel.
pub fn draw_best<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x_key, series_key): (&Key, &Key),
    lines: &[BestLine],
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let range = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
        lines
            .iter()
            .flat_map(|l| l.points.iter().map(f))
            .filter(|v| *v > 0.0)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            })
    };
    let (w_lo, w_hi) = range(&|p| p.0);
    let (b_lo, b_hi) = range(&|p| p.1);
    if !w_lo.is_finite() || !b_lo.is_finite() {
        return Ok(());
    }
    // At least a ×16 span on y so a one-step drift does not fill the chart.
    let mid = (b_lo * b_hi).sqrt();
    let (b_lo, b_hi) = (b_lo.min(mid / 4.0) / 1.5, b_hi.max(mid * 4.0) * 1.5);
    let x = (w_lo / 1.3..w_hi * 1.3).log_scale().base(2.0);
    let y = (b_lo..b_hi).log_scale().base(2.0);
    let y_desc = format!("best {} (log2)", x_key.name);
    let pow2 = |v: &f64| format_x(*v);
    let mut chart = framed(root, x, y, (series_key.name, &y_desc), (&pow2, &pow2), style)?;
    let lw = style.px(2.0);
    for (i, l) in lines.iter().enumerate() {
        let color = LINE_COLORS[i % LINE_COLORS.len()];
        let pts: Vec<(f64, f64)> = l.points.iter().map(|p| (p.0, p.1)).collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(lw)).point_size(style.px(4.0)))
            .map_err(draw_err)?
            .label(l.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(lw)));
    }
    legend(&mut chart, SeriesLabelPosition::LowerLeft, style)
}
