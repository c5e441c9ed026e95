//! The critical-batch figure of a batch-size sweep (docs/EXPERIMENTS.md E6 (b); McCandlish et
//! al. 2018, Figs. 4–5; Shallue et al. 2018, Fig. 1): left, the steps to reach the target loss
//! against the batch (each batch at its best learning rate; seeds' mean, their range as a bar),
//! on log–log axes with perfect scaling S ∝ 1/B dotted from the smallest batch and the fitted
//! S_min·(1 + B_crit/B); right, the examples E = B·S against the batch with E_min·(1 + B/B_crit).
//! B_crit is a vertical line in both, and beside it the gradient noise scale B_simple measured at
//! the same loss (`gns`), the paper's prediction of it.

use super::frame::{ChartStyle, TRAIN_COLOR, VAL_COLOR, draw_err, format_count, format_loss, framed, legend};
use crate::train::critical::{Critical, critical};
use crate::train::metrics::Run;
use plotters::chart::SeriesAnno;
use plotters::coord::Shift;
use plotters::coord::combinators::LogCoord;
use plotters::prelude::*;

/// A panel of this figure: log–log.
type LogChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>;

const NOISE_COLOR: RGBColor = RGBColor(230, 120, 20);
const GUIDE: RGBColor = RGBColor(150, 150, 150);

/// Whether `runs` are a batch sweep the figure can read at `target` (`None`: auto).
pub fn has_critical(runs: &[Run], target: Option<f64>) -> bool {
    crate::train::critical::is_batch_sweep(runs) && critical(runs, target).is_some()
}

/// The figure (see the module); an error when the sweep has fewer than three batch sizes that
/// reach the target.
pub fn draw_critical<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    target: Option<f64>,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let c = critical(runs, target).ok_or("fewer than three batch sizes reach the target loss")?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    draw_panel(&left, &c, Panel::Steps, style)?;
    draw_panel(&right, &c, Panel::Examples, style)
}

#[derive(Clone, Copy, PartialEq)]
enum Panel {
    Steps,
    Examples,
}

impl Panel {
    /// The panel's y value for `steps` at batch `b`.
    fn y(self, b: f64, steps: f64) -> f64 {
        match self {
            Panel::Steps => steps,
            Panel::Examples => b * steps,
        }
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Critical,
    panel: Panel,
    style: ChartStyle,
) -> Result<(), String> {
    let pts: Vec<(f64, f64, f64, f64)> = c
        .batches
        .iter()
        .filter(|b| b.mean() > 0.0)
        .map(|b| {
            let x = b.batch as f64;
            let (lo, hi) = b.range();
            (x, panel.y(x, b.mean()), panel.y(x, lo.max(1e-3)), panel.y(x, hi))
        })
        .collect();
    if pts.is_empty() {
        // A log axis over no points would have no range.
        return Err("no batch size reaches the target loss".into());
    }
    let (bmin, bmax) = pts
        .iter()
        .fold((f64::INFINITY, 0f64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let (xlo, xhi) = (bmin / 1.6, bmax * 1.6);
    let mut ys: Vec<f64> = pts.iter().flat_map(|p| [p.2, p.3]).collect();
    if let Some(l) = c.law {
        ys.extend([panel.y(xlo, l.steps(xlo)), panel.y(xhi, l.steps(xhi))]);
    }
    let (ylo, yhi) = super::frame::decades(ys.into_iter(), (1.0, 1e3));
    let (x_desc, y_desc) = match panel {
        Panel::Steps => ("batch size B (log)", "steps to reach the target (log)"),
        Panel::Examples => ("batch size B (log)", "examples B·S to reach it (log)"),
    };
    let mut chart = framed(
        area,
        (xlo..xhi).log_scale(),
        (ylo..yhi).log_scale(),
        (x_desc, y_desc),
        (&|v| format_count(*v), &|v| format_count(*v)),
        style,
    )?;
    // Perfect scaling from the smallest batch: S ∝ 1/B (E constant).
    if let Some(first) = pts.first() {
        let ideal = |b: f64| panel.y(b, (first.0 * first.1 / panel.y(first.0, 1.0)) / b);
        chart
            .draw_series(DashedLineSeries::new(
                [(xlo, ideal(xlo)), (xhi, ideal(xhi))],
                style.px(2.0),
                style.px(3.0),
                GUIDE.stroke_width(style.px(1.2)),
            ))
            .map_err(draw_err)?
            .label("perfect scaling (S ∝ 1/B)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], GUIDE.stroke_width(1)));
    }
    if let Some(l) = c.law {
        let curve = (0..=60).map(|i| {
            let b = xlo * (xhi / xlo).powf(f64::from(i) / 60.0);
            (b, panel.y(b, l.steps(b)))
        });
        let spread = c.seed_range.map_or(String::new(), |(lo, hi)| {
            format!(", seeds {}–{}", format_count(lo), format_count(hi))
        });
        let label = match panel {
            Panel::Steps => format!(
                "S_min(1 + B_crit/B): S_min {:.2}, B_crit {}{spread}",
                l.s_min,
                format_count(l.b_crit)
            ),
            Panel::Examples => format!("E_min(1 + B/B_crit): E_min {}", format_count(l.e_min())),
        };
        chart
            .draw_series(LineSeries::new(curve, VAL_COLOR.stroke_width(style.px(1.6))))
            .map_err(draw_err)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], VAL_COLOR.stroke_width(2)));
        vertical(&mut chart, l.b_crit, (ylo, yhi), VAL_COLOR, style)?;
    }
    if let Some((median, lo, hi, n)) = c.b_simple {
        let series = vertical(&mut chart, median, (ylo, yhi), NOISE_COLOR, style)?;
        if panel == Panel::Steps {
            series
                .label(format!(
                    "B_simple at the target {} (quartiles {}–{}, {n} runs)",
                    format_count(median),
                    format_count(lo),
                    format_count(hi)
                ))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], NOISE_COLOR.stroke_width(2)));
        }
    }
    // Each batch's seed range, then its mean.
    chart
        .draw_series(pts.iter().map(|&(x, _, lo, hi)| {
            PathElement::new(vec![(x, lo), (x, hi)], TRAIN_COLOR.stroke_width(style.px(1.4)))
        }))
        .map_err(draw_err)?;
    let target = format!(
        "at its best rate, to loss {}{}",
        format_loss(c.target),
        if c.auto { " (auto)" } else { "" }
    );
    chart
        .draw_series(
            pts.iter()
                .map(|&(x, y, _, _)| Circle::new((x, y), style.px(3.5), TRAIN_COLOR.filled())),
        )
        .map_err(draw_err)?
        .label(match panel {
            Panel::Steps => format!("steps S {target}"),
            Panel::Examples => "examples E = B·S".to_string(),
        })
        .legend(|(x, y)| Circle::new((x + 9, y), 3, TRAIN_COLOR.filled()));
    let at = match panel {
        // The steps fall from the upper left: the lower left is free.
        Panel::Steps => SeriesLabelPosition::LowerLeft,
        // The examples rise to the upper right.
        Panel::Examples => SeriesLabelPosition::UpperLeft,
    };
    legend(&mut chart, at, style)
}

/// A dashed vertical line at batch `b` across the panel.
fn vertical<'a, 'b, DB: DrawingBackend + 'a>(
    chart: &'b mut LogChart<'a, DB>,
    b: f64,
    (ylo, yhi): (f64, f64),
    colour: RGBColor,
    style: ChartStyle,
) -> Result<&'b mut SeriesAnno<'a, DB>, String> {
    chart
        .draw_series(DashedLineSeries::new(
            [(b, ylo), (b, yhi)],
            style.px(5.0),
            style.px(3.0),
            colour.stroke_width(style.px(1.2)),
        ))
        .map_err(draw_err)
}
