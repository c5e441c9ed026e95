//! The scaling-law figure (docs/EXPERIMENTS.md E14), for a sweep over the seed and one knob that
//! sizes the model (`w`, `d`, `r`, `fk`, …) or the data (`n`). Left: the loss against the parameters that
//! train, or the training examples (log–log), every seed a dot and their mean ringed, with L = E + A·N^(−α) fitted through
//! all sizes (solid, its α with a 95 % bootstrap interval over the seeds, and α refitted with E = 0
//! and without the smallest size: the choices move it), and fitted again without the largest size
//! (dashed) to predict it (the extrapolation check). Right: every run's validation loss against
//! its training compute C ≈ 6·N·D (D the examples, or tokens, read so far), log–log, with the
//! compute frontier, the lowest loss any size reached at each C (Kaplan et al. 2020).

use super::frame::{ChartStyle, draw_err, format_loss, framed, legend, ramp};
use crate::data::powerlaw::{self, Floor, PowerLaw};
use crate::knobs::view::SweepMetric;
use crate::train::metrics::Run;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Sizes a fit needs at the least: three parameters, and one more to leave out for the
/// extrapolation check.
pub const MIN_SIZES: usize = 4;

/// What a sweep sizes: the model (the parameters that train, N) or the data (the training
/// examples, D, when `n` is swept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    Params,
    Data,
}

impl Size {
    fn symbol(self) -> &'static str {
        match self {
            Size::Params => "N",
            Size::Data => "D",
        }
    }

    fn axis(self) -> &'static str {
        match self {
            Size::Params => "parameters that train N (log)",
            Size::Data => "training examples D (log)",
        }
    }
}

/// What the figure draws, worked out once per redraw.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaling {
    pub size: Size,
    /// (size, loss) of every run with a finite loss.
    pub points: Vec<(f64, f64)>,
    /// The fit through every size.
    pub all: PowerLaw,
    /// α refitted with E held at 0, and without the smallest size.
    pub alpha_no_floor: Option<f64>,
    pub alpha_no_smallest: Option<f64>,
    /// The fit without the largest size, and that size's N and mean measured loss.
    pub held_out: Option<(PowerLaw, f64, f64)>,
    /// Each run's (size, [(C, validation loss)]) for the compute panel.
    pub compute: Vec<(f64, Vec<(f64, f64)>)>,
}

/// The scaling figure of a sweep over the seed and one other knob that gives at least
/// [`MIN_SIZES`] counts of trainable parameters (a width, a depth, a LoRA rank, the factors'
/// rank), or over the training examples `n` (the loss against data); `None` otherwise. The seeds are asked for: a fit's uncertainty is the spread between
/// them (a single-seed rank sweep, like `e1`'s staircase, keeps its own figure).
pub fn scaling(runs: &[Run], metric: SweepMetric) -> Option<Scaling> {
    let first = runs.first()?;
    let seeded = first.knobs.iter().any(|(k, _)| **k == crate::keys::SEED);
    if first.swept().len() != 1 || !seeded {
        return None;
    }
    let size = if *first.swept()[0] == crate::keys::N {
        Size::Data
    } else {
        Size::Params
    };
    let x_of = |r: &Run| match size {
        Size::Params => r.config.trainable_params() as f64,
        Size::Data => training_examples(&r.config),
    };
    let points: Vec<(f64, f64)> = runs
        .iter()
        .filter(|r| !r.diverged)
        .filter_map(|r| Some((x_of(r), f64::from(r.sweep_loss(metric)?))))
        .filter(|p| p.1.is_finite() && p.1 > 0.0)
        .collect();
    let sizes = distinct(&points);
    if sizes.len() < MIN_SIZES {
        return None;
    }
    let all = powerlaw::fit(&points, Floor::Fitted)?;
    let without = |n: f64| -> Vec<(f64, f64)> { points.iter().copied().filter(|p| p.0 != n).collect() };
    let largest = *sizes.last()?;
    let measured = mean(points.iter().filter(|p| p.0 == largest).map(|p| p.1));
    let held_out = powerlaw::fit(&without(largest), Floor::Fitted).map(|f| (f, largest, measured));
    let compute = runs
        .iter()
        .map(|r| {
            let n = r.config.trainable_params() as f64;
            let per_step = r.config.tokens_per_step() as f64;
            let curve = r
                .reports
                .iter()
                .filter_map(|s| Some((6.0 * n * per_step * (s.step + 1) as f64, f64::from(s.val_loss?))))
                .filter(|p| p.1.is_finite() && p.1 > 0.0)
                .collect();
            (x_of(r), curve)
        })
        .collect();
    Some(Scaling {
        size,
        alpha_no_floor: powerlaw::fit(&points, Floor::Zero).map(|f| f.alpha),
        alpha_no_smallest: powerlaw::fit(&without(sizes[0]), Floor::Fitted).map(|f| f.alpha),
        all,
        held_out,
        compute,
        points,
    })
}

impl Scaling {
    /// The fit's α's 95 % bootstrap interval over the seeds: 200 fits, so worked out when the
    /// figure is drawn, not each time the page's view asks whether it is shown.
    pub fn interval(&self) -> Option<(f64, f64)> {
        powerlaw::alpha_interval(&self.points, Floor::Fitted, 1)
    }
}

fn distinct(points: &[(f64, f64)]) -> Vec<f64> {
    let mut sizes: Vec<f64> = points.iter().map(|p| p.0).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    sizes
}

/// The examples a run trains on: `n`, but the digits train on at most the 1,437 of the bundled
/// set that do not validate.
pub(super) fn training_examples(cfg: &crate::knobs::ExperimentConfig) -> f64 {
    match cfg.task {
        crate::knobs::task::Task::Digits => crate::data::digits::train_count(cfg.points) as f64,
        crate::knobs::task::Task::Table => {
            cfg.own_table()
                .map_or(0, |t| crate::knobs::own::split(t.rows()).0) as f64
        }
        _ => cfg.points as f64,
    }
}

pub(super) fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n.max(1) as f64
}

/// The compute frontier: the lowest loss reached at or before each compute, over all runs.
pub fn frontier(curves: &[(f64, Vec<(f64, f64)>)]) -> Vec<(f64, f64)> {
    let mut all: Vec<(f64, f64)> = curves.iter().flat_map(|(_, c)| c.iter().copied()).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (c, l) in all {
        if out.last().is_none_or(|p| l < p.1) {
            out.push((c, l));
        }
    }
    out
}

/// A log axis's count labels at 1, 2 and 5 of each decade only: the grid lines between would
/// crowd their labels into one another.
pub(super) fn sparse_count(v: &f64) -> String {
    let lead = *v / 10f64.powf(v.log10().floor());
    if [1.0, 2.0, 5.0].iter().any(|d| (lead - d).abs() < 1e-6) {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

/// A loss with two significant digits (the axis's labels keep one below 0.01).
pub(super) fn two_digits(v: f64) -> String {
    if v.abs() < 0.01 {
        format!("{v:.1e}")
    } else {
        format!("{v:.3}")
    }
}

/// Both panels side by side.
pub fn draw_scaling<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &Scaling,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let sizes = distinct(&s.points);
    let (n_lo, n_hi) = (sizes[0] / 1.5, sizes[sizes.len() - 1] * 1.5);
    let predicted = s.held_out.map(|(f, n, _)| f.at(n));
    let (lo, hi) = super::frame::decades(s.points.iter().map(|p| p.1).chain(predicted), (1e-3, 1.0));
    let mut chart = framed(
        &left,
        (n_lo..n_hi).log_scale(),
        (lo..hi).log_scale(),
        (s.size.axis(), "final validation loss (log)"),
        (&sparse_count, &|v| format_loss(*v)),
        style,
    )?;
    let dot = RGBColor(120, 120, 120);
    chart
        .draw_series(
            s.points
                .iter()
                .map(|&(n, l)| Circle::new((n, l), style.px(2.5), dot.filled())),
        )
        .map_err(draw_err)?
        .label("a run (seed)")
        .legend(move |(x, y)| Circle::new((x + 9, y), 3, dot.filled()));
    let means: Vec<(f64, f64)> = sizes
        .iter()
        .map(|&n| (n, mean(s.points.iter().filter(|p| p.0 == n).map(|p| p.1))))
        .collect();
    let black = RGBColor(20, 20, 20);
    chart
        .draw_series(
            means
                .iter()
                .map(|&p| Circle::new(p, style.px(5.0), black.stroke_width(style.px(1.5)))),
        )
        .map_err(draw_err)?
        .label("mean of the seeds")
        .legend(move |(x, y)| Circle::new((x + 9, y), 5, black.stroke_width(1)));
    let curve = |f: PowerLaw| {
        (0..=60).map(move |i| {
            let n = n_lo * (n_hi / n_lo).powf(i as f64 / 60.0);
            (n, f.at(n))
        })
    };
    let red = RGBColor(214, 39, 40);
    let x = s.size.symbol();
    let interval = s
        .interval()
        .map_or(String::new(), |(a, b)| format!(" (95 %: {a:.2}–{b:.2})"));
    chart
        .draw_series(LineSeries::new(
            curve(s.all).filter(|p| p.1 > 0.0),
            red.stroke_width(style.px(2.0)),
        ))
        .map_err(draw_err)?
        .label(format!(
            "L = E + A·{x}^−α: α = {:.2}{interval}, E = {}, A = {:.3}",
            s.all.alpha,
            format_loss(s.all.e),
            s.all.a
        ))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], red.stroke_width(2)));
    let choices = format!(
        "α with E = 0: {} · without the smallest size: {}",
        s.alpha_no_floor.map_or("–".into(), |a| format!("{a:.2}")),
        s.alpha_no_smallest.map_or("–".into(), |a| format!("{a:.2}"))
    );
    chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
        .map_err(draw_err)?
        .label(choices)
        .legend(|(x, y)| EmptyElement::at((x, y)));
    if let Some((f, n, measured)) = s.held_out {
        let blue = RGBColor(31, 119, 180);
        chart
            .draw_series(DashedLineSeries::new(
                curve(f).filter(|p| p.1 > 0.0),
                style.px(6.0),
                style.px(4.0),
                blue.stroke_width(style.px(1.5)),
            ))
            .map_err(draw_err)?
            .label(format!(
                "fit without the largest (α = {:.2}): predicts {} there, measured {}",
                f.alpha,
                two_digits(f.at(n)),
                two_digits(measured)
            ))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], blue.stroke_width(1)));
        chart
            .draw_series(std::iter::once(TriangleMarker::new(
                (n, f.at(n)),
                style.px(6.0),
                blue.filled(),
            )))
            .map_err(draw_err)?;
    }
    // The points fall from the upper left to the lower right: the upper right stays free.
    legend(&mut chart, SeriesLabelPosition::UpperRight, style)?;
    draw_compute(&right, s, &sizes, style)
}

/// The right panel: loss against compute for every run, coloured by size, and the frontier.
fn draw_compute<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &Scaling,
    sizes: &[f64],
    style: ChartStyle,
) -> Result<(), String> {
    let cs = s.compute.iter().flat_map(|(_, c)| c.iter().map(|p| p.0));
    let (c_lo, c_hi) = cs.fold((f64::INFINITY, 0f64), |(a, b), c| (a.min(c), b.max(c)));
    if !c_lo.is_finite() || c_hi <= c_lo {
        return Ok(());
    }
    let (lo, hi) = super::frame::decades(
        s.compute.iter().flat_map(|(_, c)| c.iter().map(|p| p.1)),
        (1e-3, 1.0),
    );
    let mut chart = framed(
        area,
        (c_lo / 1.2..c_hi * 1.2).log_scale(),
        (lo..hi).log_scale(),
        ("training compute C ≈ 6·N·D (FLOP, log)", "validation loss (log)"),
        (&|v| format!("{v:.0e}"), &|v| format_loss(*v)),
        style,
    )?;
    let k = sizes.len();
    for (j, &n) in sizes.iter().enumerate() {
        let c = ramp(j, k);
        let mut first = true;
        for (_, curve) in s.compute.iter().filter(|(m, _)| *m == n) {
            let drawn = chart
                .draw_series(LineSeries::new(
                    curve.iter().copied(),
                    c.stroke_width(style.px(1.2)),
                ))
                .map_err(draw_err)?;
            if first {
                drawn
                    .label(format!("{} = {n:.0}", s.size.symbol()))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
                first = false;
            }
        }
    }
    let black = RGBColor(20, 20, 20);
    chart
        .draw_series(LineSeries::new(
            frontier(&s.compute),
            black.stroke_width(style.px(2.5)),
        ))
        .map_err(draw_err)?
        .label("compute frontier")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], black.stroke_width(3)));
    legend(&mut chart, SeriesLabelPosition::LowerLeft, style)
}
