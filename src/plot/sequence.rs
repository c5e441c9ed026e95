//! The transformer's charts (#13): accuracy (exact match; per character and bits per character
//! for the char LM) and the instability proxies (largest attention logit, output log Z) against
//! step, one colour per run; and one attention head's pattern on a validation example.

use super::cells::Cells;
use super::frame::{ChartStyle, TRAIN_COLOR, VAL_COLOR, draw_err, format_loss, framed, legend, ramp};
use crate::train::metrics::Run;
use crate::train::sequence_views::SeqViews;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One run's colour: train blue / validation red for a single run, the light → dark ramp in a
/// sweep.
fn colour(i: usize, n: usize, val: bool) -> RGBColor {
    match (n, val) {
        (1, false) => TRAIN_COLOR,
        (1, true) => VAL_COLOR,
        _ => ramp(i, n),
    }
}

/// Whether any run has transformer statistics to draw.
pub fn has_seq_stats(runs: &[Run]) -> bool {
    runs.iter().any(|r| r.reports.iter().any(|s| s.seq.is_some()))
}

/// Two panels side by side: accuracy against step (validation solid, training dashed; for the
/// char LM the validation loss in bits per character instead), and the largest attention logit
/// (solid) with the output log Z (dashed).
pub fn draw_seq_stats<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    total_steps: usize,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let text = runs
        .first()
        .is_some_and(|r| r.config.task == crate::knobs::task::Task::Text);
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let x_hi = total_steps.max(2) as f64;
    let n = runs.len();
    let step = |s: usize| s as f64;
    let label = |r: &Run, what: &str| {
        if n == 1 {
            what.to_string()
        } else {
            format!("{} · {what}", r.label())
        }
    };

    // Left: accuracy, or bits per character for text.
    if text {
        let bits: Vec<Vec<(f64, f64)>> = runs
            .iter()
            .map(|r| {
                r.reports
                    .iter()
                    .filter_map(|s| {
                        s.val_loss
                            .map(|v| (step(s.step), f64::from(v) / std::f64::consts::LN_2))
                    })
                    .filter(|p| p.1.is_finite())
                    .collect()
            })
            .collect();
        let hi = bits.iter().flatten().map(|p| p.1).fold(1.0f64, f64::max).min(8.0);
        let mut chart = framed(
            &left,
            0.0..x_hi,
            0.0..hi * 1.05,
            ("step", "validation bits per character"),
            (&|v| format!("{v:.0}"), &|v| format_loss(*v)),
            style,
        )?;
        for (i, (r, pts)) in runs.iter().zip(&bits).enumerate() {
            let c = colour(i, n, true);
            chart
                .draw_series(LineSeries::new(
                    pts.iter().copied(),
                    c.stroke_width(style.px(2.0)),
                ))
                .map_err(draw_err)?
                .label(label(r, "bits/char"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, style)?;
    } else {
        let mut chart = framed(
            &left,
            0.0..x_hi,
            0.0..1.02,
            ("step", "exact-match accuracy"),
            (&|v| format!("{v:.0}"), &|v| format!("{:.0} %", 100.0 * v)),
            style,
        )?;
        for (i, r) in runs.iter().enumerate() {
            let pick = |f: fn(&crate::train::metrics::SeqStats) -> Option<f32>| -> Vec<(f64, f64)> {
                r.reports
                    .iter()
                    .filter_map(|s| s.seq.as_ref().and_then(f).map(|a| (step(s.step), f64::from(a))))
                    .collect()
            };
            let (val, train) = (pick(|s| s.val_acc), pick(|s| s.train_acc));
            let (cv, ct) = (colour(i, n, true), colour(i, n, false));
            chart
                .draw_series(LineSeries::new(val, cv.stroke_width(style.px(2.0))))
                .map_err(draw_err)?
                .label(label(r, "validation"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], cv.stroke_width(2)));
            chart
                .draw_series(DashedLineSeries::new(
                    train,
                    style.px(5.0),
                    style.px(3.0),
                    ct.stroke_width(style.px(1.5)),
                ))
                .map_err(draw_err)?
                .label(label(r, "training"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], ct.stroke_width(1)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, style)?;
    }

    // Right: the instability proxies, every step, and with a z-loss its term in the training
    // loss (the validation loss is cross-entropy alone: the z-loss is shown here, beside it).
    let stats: Vec<Vec<Proxies>> = per_step(runs, |t, q| {
        let p = (t, f64::from(q.max_logit), f64::from(q.log_z));
        (p.1.is_finite() && p.2.is_finite()).then_some(p)
    });
    let z_terms: Vec<Vec<(f64, f64)>> = per_step(runs, |t, q| {
        let z = f64::from(q.z_loss?);
        (z.is_finite() && z > 0.0).then_some((t, z))
    });
    let (lo, hi) = stats
        .iter()
        .flatten()
        .flat_map(|p| [p.1, p.2])
        .chain(z_terms.iter().flatten().map(|p| p.1))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let z = z_terms.iter().any(|t| !t.is_empty());
    let y_desc = if z {
        "largest attention logit · log Z · z-loss term"
    } else {
        "largest attention logit · log Z"
    };
    // Logits that grow a hundredfold (the instability preset) need a log axis to keep the calm
    // runs readable; values ≤ 0 (a log Z can be) keep it linear.
    if lo > 0.0 && hi / lo > 20.0 {
        let values = stats.iter().flatten().flat_map(|p| [p.1, p.2]);
        let (lo, hi) =
            super::frame::decades(values.chain(z_terms.iter().flatten().map(|p| p.1)), (1.0, 10.0));
        let chart = framed(
            &right,
            0.0..x_hi,
            (lo..hi).log_scale(),
            ("step", &format!("{y_desc} (log)")),
            (&|v| format!("{v:.0}"), &|v| format_loss(*v)),
            style,
        )?;
        return stability_lines(chart, runs, &stats, &z_terms, &label, style);
    }
    let (lo, hi) = if lo.is_finite() {
        (lo.min(0.0), hi.max(1.0))
    } else {
        (0.0, 1.0)
    };
    let chart = framed(
        &right,
        0.0..x_hi,
        lo..hi * 1.05,
        ("step", y_desc),
        (&|v| format!("{v:.0}"), &|v| format_loss(*v)),
        style,
    )?;
    stability_lines(chart, runs, &stats, &z_terms, &label, style)
}

/// `point` of each step that has transformer statistics, per run (step as f64).
fn per_step<T>(
    runs: &[Run],
    point: impl Fn(f64, &crate::train::metrics::SeqStats) -> Option<T>,
) -> Vec<Vec<T>> {
    runs.iter()
        .map(|r| {
            r.reports
                .iter()
                .filter_map(|s| point(s.step as f64, s.seq.as_ref()?))
                .collect()
        })
        .collect()
}

/// One step's instability proxies: (step, largest attention logit, log Z).
type Proxies = (f64, f64, f64);

/// The right panel's lines: each run's largest attention logit (solid), log Z (dashed) and, with
/// a z-loss, its term in the training loss (dotted).
fn stability_lines<'a, DB: DrawingBackend + 'a, Y>(
    mut chart: ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    runs: &[Run],
    stats: &[Vec<Proxies>],
    z_terms: &[Vec<(f64, f64)>],
    label: &dyn Fn(&Run, &str) -> String,
    style: ChartStyle,
) -> Result<(), String>
where
    Y: Ranged<ValueType = f64>,
{
    let n = runs.len();
    for (i, (r, pts)) in runs.iter().zip(stats).enumerate() {
        let (c, cz) = if n == 1 {
            (RGBColor(148, 103, 189), RGBColor(255, 127, 14))
        } else {
            (ramp(i, n), ramp(i, n))
        };
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.0, p.1)),
                c.stroke_width(style.px(1.5)),
            ))
            .map_err(draw_err)?
            .label(label(r, "max attention logit"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(DashedLineSeries::new(
                pts.iter().map(|p| (p.0, p.2)),
                style.px(5.0),
                style.px(3.0),
                cz.stroke_width(style.px(1.5)),
            ))
            .map_err(draw_err)?
            .label(label(r, "log Z"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], cz.stroke_width(1)));
        let zs = &z_terms[i];
        if !zs.is_empty() {
            let ck = if n == 1 { RGBColor(44, 160, 44) } else { ramp(i, n) };
            chart
                .draw_series(DashedLineSeries::new(
                    zs.iter().copied(),
                    style.px(1.5),
                    style.px(3.0),
                    ck.stroke_width(style.px(1.5)),
                ))
                .map_err(draw_err)?
                .label(label(r, "z-loss term"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], ck.stroke_width(1)));
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, style)
}

/// The pattern of one head: query position down, key position across, darker = more attention
/// (each row sums to 1 over the positions it may see); the tokens label both axes.
pub fn draw_attention<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    views: &SeqViews,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let t = views.t.max(1);
    let title = format!("block {} · head 1 · validation example 1", views.block + 1);
    let root = root.titled(&title, style.font(13.0)).map_err(draw_err)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(style.px(8.0))
        .x_label_area_size(style.px(36.0))
        .y_label_area_size(style.px(36.0))
        .build_cartesian_2d(0.0..t as f64, t as f64..0.0)
        .map_err(draw_err)?;
    // Tick labels are the tokens, drawn at the cells' centres below: plotters' own ticks fall on
    // round numbers, not on positions.
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .x_desc("attends to (key position)")
        .y_desc("query position")
        .axis_desc_style(style.font(12.0))
        .draw()
        .map_err(draw_err)?;
    // Every position while they fit, else every k-th.
    let every = t.div_ceil(32).max(1);
    let shown = |i: usize| -> String {
        match views.labels.get(i).map(String::as_str) {
            Some("\n") => "⏎".into(),
            Some(" ") => "␣".into(),
            Some(s) => s.to_string(),
            None => String::new(),
        }
    };
    let font = style.font(11.0);
    let centre = TextStyle::from(font.clone()).pos(Pos::new(HPos::Center, VPos::Top));
    let right = TextStyle::from(font).pos(Pos::new(HPos::Right, VPos::Center));
    let gap = style.px(4.0) as i32;
    // `backend_coord` is in the backend's pixels; `root` (below the title) draws relative to its
    // own corner.
    let (ox, oy) = root.get_base_pixel();
    for i in (0..t).step_by(every) {
        let mid = i as f64 + 0.5;
        let (x, y) = chart.backend_coord(&(mid, t as f64));
        root.draw(&Text::new(shown(i), (x - ox, y - oy + gap), centre.clone()))
            .map_err(draw_err)?;
        let (x, y) = chart.backend_coord(&(0.0, mid));
        root.draw(&Text::new(shown(i), (x - ox - gap, y - oy), right.clone()))
            .map_err(draw_err)?;
    }
    // Query i down, key j across; the future (j > i) is masked, never attended.
    let colors = (0..t * t)
        .map(|k| {
            let (i, j) = (k / t, k % t);
            let p = views.pattern.get(k).copied().unwrap_or(0.0).clamp(0.0, 1.0);
            let shade = (255.0 * (1.0 - f64::from(p))).round() as u8;
            if j > i {
                RGBColor(245, 245, 245)
            } else {
                RGBColor(shade, shade, 255)
            }
        })
        .collect();
    Cells {
        rows: t,
        cols: t,
        colors,
        a: (0.0, 0.0),
        b: (t as f64, t as f64),
    }
    .draw(&mut chart, style)
}
