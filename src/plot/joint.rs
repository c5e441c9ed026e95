//! The joint scaling-law figure (docs/EXPERIMENTS.md E14), for a sweep over the seed, one knob that
//! sizes the model and the training examples `n`: one law L(N, D) = E + A·N^(−α) + B·D^(−β)
//! (Hoffmann et al. 2022) fitted through every run. Left: the loss against the parameters N, a
//! colour per data size D, every seed a dot, their mean ringed, and the law's curve at that D;
//! right: the same runs against D, a colour per N. The fit's exponents carry 95 % bootstrap
//! intervals over the seeds, and a second fit without the largest N predicts it at every D (the
//! extrapolation check). D is the number of distinct training examples, each read many times: the
//! law measures what data a model is short of, not Chinchilla's compute-optimal split of one
//! pass, so no frontier of C = 6·N·D is drawn here (the single-knob figure draws it).

use super::frame::{ChartStyle, draw_err, format_loss, framed, legend, ramp};
use super::scaling::{mean, sparse_count, training_examples, two_digits};
use crate::data::joint_law::{self, JointLaw, Point, distinct};
use crate::knobs::view::SweepMetric;
use crate::train::metrics::Run;
use plotters::coord::Shift;
use plotters::prelude::*;

/// What the joint figure draws.
#[derive(Clone, Debug, PartialEq)]
pub struct Joint {
    /// (N, D, loss) of every run with a finite loss.
    pub points: Vec<Point>,
    pub law: JointLaw,
    pub held_out: Option<HeldOut>,
}

/// The extrapolation check: the law fitted without the largest N, and what the runs measured there.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldOut {
    pub law: JointLaw,
    /// The largest N.
    pub n: f64,
    /// (D, the mean loss measured at the largest N and that D), for every D.
    pub at: Vec<(f64, f64)>,
}

/// The joint figure of a sweep over exactly two knobs besides the seed, one of them `n`, where
/// the model's trainable parameters and the data each take at least three values; `None` otherwise.
pub fn joint(runs: &[Run], metric: SweepMetric) -> Option<Joint> {
    let first = runs.first()?;
    let swept = first.swept();
    let seeded = first.knobs.iter().any(|(k, _)| **k == crate::keys::SEED);
    if swept.len() != 2 || !swept.iter().any(|k| **k == crate::keys::N) || !seeded {
        return None;
    }
    let points: Vec<Point> = runs
        .iter()
        .filter(|r| !r.diverged)
        .filter_map(|r| {
            let l = f64::from(r.sweep_loss(metric)?);
            Some((
                r.config.trainable_params() as f64,
                training_examples(&r.config),
                l,
            ))
        })
        .filter(|p| p.2.is_finite() && p.2 > 0.0)
        .collect();
    let law = joint_law::fit(&points)?;
    let sizes = distinct(&points, |p| p.0);
    let largest = *sizes.last()?;
    let held_out = (sizes.len() >= 4)
        .then(|| {
            let rest: Vec<Point> = points.iter().copied().filter(|p| p.0 != largest).collect();
            let at: Vec<(f64, f64)> = distinct(&points, |p| p.1)
                .into_iter()
                .filter_map(|d| {
                    let here = points.iter().filter(|p| p.0 == largest && p.1 == d);
                    (here.clone().count() > 0).then(|| (d, mean(here.map(|p| p.2))))
                })
                .collect();
            joint_law::fit(&rest).map(|law| HeldOut { law, n: largest, at })
        })
        .flatten();
    Some(Joint {
        points,
        law,
        held_out,
    })
}

impl Joint {
    /// The 95 % bootstrap intervals of α and β, worked out when the figure is drawn (200 fits).
    pub fn intervals(&self) -> Option<((f64, f64), (f64, f64))> {
        joint_law::intervals(&self.points, 1)
    }

    /// The held-out fit's prediction and the measured mean at the largest N and D.
    pub fn corner(&self) -> Option<(f64, f64, f64, f64)> {
        let h = self.held_out.as_ref()?;
        let &(d, measured) = h.at.last()?;
        Some((h.n, d, h.law.at(h.n, d), measured))
    }
}

/// An exponent with its interval; undetermined ("–") where its term's coefficient is 0 (the fit
/// is then flat in it).
fn exponent(value: f64, coefficient: f64, interval: Option<(f64, f64)>) -> String {
    if coefficient <= 0.0 {
        return "– (its term is 0)".into();
    }
    match interval {
        Some((lo, hi)) => format!("{value:.2} ({lo:.2}–{hi:.2})"),
        None => format!("{value:.2}"),
    }
}

/// Which axis a panel draws along; the other one colours its groups.
#[derive(Clone, Copy, PartialEq)]
enum Along {
    N,
    D,
}

impl Along {
    fn x(self, p: &Point) -> f64 {
        match self {
            Along::N => p.0,
            Along::D => p.1,
        }
    }

    fn group(self, p: &Point) -> f64 {
        match self {
            Along::N => p.1,
            Along::D => p.0,
        }
    }

    /// The law at `x` along this axis for the group's value `g`.
    fn law(self, f: &JointLaw, x: f64, g: f64) -> f64 {
        match self {
            Along::N => f.at(x, g),
            Along::D => f.at(g, x),
        }
    }
}

/// Both panels side by side.
pub fn draw_joint<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &Joint,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let f = s.law;
    let exps = s.intervals();
    let coefficient = |v: f64| {
        if v >= 100.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.3}")
        }
    };
    // The legend's lines are kept short: the box sits in the panel's empty lower left.
    let notes = [
        "fit: L = E + A·N^−α + B·D^−β".to_string(),
        format!(
            "α = {}, β = {}{}",
            exponent(f.alpha, f.a, exps.map(|e| e.0)),
            exponent(f.beta, f.b, exps.map(|e| e.1)),
            if exps.is_some() {
                " (95 % over the seeds)"
            } else {
                ""
            },
        ),
        format!(
            "E = {}, A = {}, B = {}",
            format_loss(f.e),
            coefficient(f.a),
            coefficient(f.b)
        ),
    ];
    panel(&left, s, Along::N, &notes, false, style)?;
    panel(&right, s, Along::D, &[], true, style)
}

/// One panel: the loss against N (groups by D) or D (groups by N), the law's curve for each group,
/// the held-out fit's predictions as triangles (named in the legend where `name_held_out`), and
/// `notes` as legend lines.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &Joint,
    along: Along,
    notes: &[String],
    name_held_out: bool,
    style: ChartStyle,
) -> Result<(), String> {
    let xs = distinct(&s.points, |p| along.x(p));
    let groups = distinct(&s.points, |p| along.group(p));
    let (x_lo, x_hi) = (xs[0] / 1.5, xs[xs.len() - 1] * 1.5);
    // (x, the loss predicted there) at the largest N, one a data size.
    let predictions: Vec<(f64, f64)> = s.held_out.as_ref().map_or(Vec::new(), |h| {
        h.at.iter()
            .map(|&(d, _)| {
                let x = if along == Along::N { h.n } else { d };
                (x, h.law.at(h.n, d))
            })
            .collect()
    });
    let (lo, hi) = super::frame::decades(
        s.points
            .iter()
            .map(|p| p.2)
            .chain(predictions.iter().map(|p| p.1)),
        (1e-3, 1.0),
    );
    let (x_desc, g_name) = match along {
        Along::N => ("parameters that train N (log)", "D"),
        Along::D => ("training examples D (log)", "N"),
    };
    let mut chart = framed(
        area,
        (x_lo..x_hi).log_scale(),
        (lo..hi).log_scale(),
        (x_desc, "validation loss (log)"),
        (&sparse_count, &|v| format_loss(*v)),
        style,
    )?;
    let k = groups.len();
    for (j, &g) in groups.iter().enumerate() {
        let c = ramp(j, k);
        let mine: Vec<&Point> = s.points.iter().filter(|p| along.group(p) == g).collect();
        chart
            .draw_series(
                mine.iter()
                    .map(|p| Circle::new((along.x(p), p.2), style.px(2.0), c.mix(0.6).filled())),
            )
            .map_err(draw_err)?;
        chart
            .draw_series(xs.iter().filter_map(|&x| {
                let here = mine.iter().filter(|p| along.x(p) == x);
                (here.clone().count() > 0).then(|| {
                    Circle::new(
                        (x, mean(here.map(|p| p.2))),
                        style.px(4.5),
                        c.stroke_width(style.px(1.5)),
                    )
                })
            }))
            .map_err(draw_err)?;
        chart
            .draw_series(LineSeries::new(
                (0..=48).map(|i| {
                    let x = x_lo * (x_hi / x_lo).powf(i as f64 / 48.0);
                    (x, along.law(&s.law, x, g))
                }),
                c.stroke_width(style.px(1.8)),
            ))
            .map_err(draw_err)?
            .label(format!("{g_name} = {g:.0}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    let red = RGBColor(214, 39, 40);
    let drawn = chart
        .draw_series(
            predictions
                .iter()
                .map(|&(x, l)| TriangleMarker::new((x, l), style.px(5.0), red.stroke_width(style.px(1.5)))),
        )
        .map_err(draw_err)?;
    if let Some((n, d, predicted, measured)) = s.corner().filter(|_| name_held_out) {
        drawn
            .label(format!(
                "fit without N = {n:.0}: {} at D = {d:.0}, measured {}",
                two_digits(predicted),
                two_digits(measured)
            ))
            .legend(move |(x, y)| TriangleMarker::new((x + 9, y), 4, red.stroke_width(1)));
    }
    for note in notes {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(draw_err)?
            .label(note.as_str())
            .legend(|(x, y)| EmptyElement::at((x, y)));
    }
    // The points fall from the upper left to the lower right in both panels, and the law's
    // curves flatten to the right: the lower left stays free.
    legend(&mut chart, SeriesLabelPosition::LowerLeft, style)
}
