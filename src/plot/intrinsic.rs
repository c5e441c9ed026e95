//! Intrinsic dimension's figure (docs/EXPERIMENTS.md E10), as Li et al. (2018) and Aghajanyan et
//! al. (2020) draw theirs: validation accuracy against the parameters that train (log axis), a
//! curve over the random subspace's d, beside it LoRA over its rank and bias-only tuning as one
//! point; full training's accuracy as a solid line and 90 % of it dashed; d_int90, the smallest d whose
//! accuracy (mean over seeds) reaches that line, ringed. With several settings (widths), a
//! second panel draws d_int90 against the model's parameter count D, log–log, with LoRA's count
//! at the line beside it: the paper's "d_int90 varies little with D".

use super::frame::{ChartStyle, draw_err, format_count, framed, legend, shade};
use crate::knobs::lora::Rank;
use crate::train::metrics::Run;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The share of full training's accuracy that defines d_int90 (Li et al.'s 90 %).
pub const SHARE: f64 = 0.9;

/// What a run's phase trains, for this figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Subspace,
    Lora,
    Bias,
    Full,
}

impl Kind {
    fn of(rank: Rank) -> Option<Kind> {
        match rank {
            Rank::Subspace(_) => Some(Kind::Subspace),
            Rank::Lora(_) => Some(Kind::Lora),
            Rank::Bias => Some(Kind::Bias),
            Rank::Full => Some(Kind::Full),
            Rank::None => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Subspace => "random subspace (d)",
            Kind::Lora => "LoRA (rank r)",
            Kind::Bias => "biases only",
            Kind::Full => "full",
        }
    }

    fn hue(self) -> RGBColor {
        match self {
            Kind::Subspace => RGBColor(31, 119, 180),
            Kind::Lora => RGBColor(255, 127, 14),
            Kind::Bias => RGBColor(44, 160, 44),
            Kind::Full => RGBColor(90, 90, 90),
        }
    }
}

/// One setting's accuracy at one trainable count: the seeds' mean, lowest and highest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub params: usize,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The runs of one setting (the swept values but the seed and `r`).
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// "w=64", or "" without another swept knob.
    pub name: String,
    /// The model's parameters D.
    pub total: usize,
    /// Full training's accuracy (`r=0`), when the setting has it.
    pub full: Option<Point>,
    /// Each kind's points in ascending trainable count.
    pub curves: Vec<(Kind, Vec<Point>)>,
}

impl Setting {
    /// The accuracy d_int90 is read at: 90 % of full training's.
    pub fn threshold(&self) -> Option<f64> {
        self.full.map(|f| SHARE * f.mean)
    }

    /// The smallest trainable count of `kind` whose mean accuracy reaches the threshold: d_int90
    /// for the subspace, LoRA's count at its smallest rank that gets there.
    pub fn reaches(&self, kind: Kind) -> Option<usize> {
        let t = self.threshold()?;
        let (_, pts) = self.curves.iter().find(|(k, _)| *k == kind)?;
        pts.iter().find(|p| p.mean >= t).map(|p| p.params)
    }
}

/// Whether the study compares what trains by how many parameters: a run trains in a random
/// subspace or only its biases. Its runs' trainable counts then belong to different kinds, and
/// no one scaling law runs through them.
pub fn is_intrinsic(runs: &[Run]) -> bool {
    runs.iter()
        .any(|r| matches!(r.config.lora.rank, Rank::Subspace(_) | Rank::Bias))
}

/// Whether the runs hold a subspace or bias-only phase with accuracies to draw.
pub fn has_intrinsic(runs: &[Run]) -> bool {
    is_intrinsic(runs) && runs.iter().any(|r| r.final_val_acc().is_some())
}

fn setting_name(run: &Run) -> String {
    let knobs: Vec<_> = run
        .knobs
        .iter()
        .filter(|(k, _)| **k != crate::keys::SEED && **k != crate::keys::R)
        .cloned()
        .collect();
    crate::link::sweep::describe(&knobs)
}

/// Every setting's points, settings in run order; a run that diverged or has no accuracy yet is
/// left out.
pub fn intrinsic(runs: &[Run]) -> Vec<Setting> {
    let mut out: Vec<Setting> = Vec::new();
    // (setting, kind, params) → the seeds' accuracies.
    let mut cells: Vec<(usize, Kind, usize, Vec<f64>)> = Vec::new();
    for run in runs {
        let (Some(kind), Some(acc)) = (Kind::of(run.config.lora.rank), run.final_val_acc()) else {
            continue;
        };
        if run.diverged {
            continue;
        }
        let name = setting_name(run);
        let s = match out.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                out.push(Setting {
                    name,
                    total: run.config.parameter_estimate(),
                    full: None,
                    curves: Vec::new(),
                });
                out.len() - 1
            }
        };
        let params = run.config.trainable_params();
        match cells
            .iter_mut()
            .find(|c| c.0 == s && c.1 == kind && c.2 == params)
        {
            Some(c) => c.3.push(f64::from(acc)),
            None => cells.push((s, kind, params, vec![f64::from(acc)])),
        }
    }
    for (s, kind, params, accs) in cells {
        let point = Point {
            params,
            mean: accs.iter().sum::<f64>() / accs.len() as f64,
            lo: accs.iter().copied().fold(f64::INFINITY, f64::min),
            hi: accs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        };
        let setting = &mut out[s];
        if kind == Kind::Full {
            setting.full = Some(point);
            continue;
        }
        match setting.curves.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, pts)) => pts.push(point),
            None => setting.curves.push((kind, vec![point])),
        }
    }
    for s in &mut out {
        for (_, pts) in &mut s.curves {
            pts.sort_by_key(|p| p.params);
        }
        s.curves.sort_by_key(|(k, _)| *k as u8);
    }
    out
}

/// The accuracy panel, and d_int90 against D beside it when there are several settings.
pub fn draw_intrinsic<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let settings = intrinsic(runs);
    let reached: Vec<&Setting> = settings
        .iter()
        .filter(|s| s.reaches(Kind::Subspace).is_some())
        .collect();
    if reached.len() >= 2 {
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 * 3 / 5);
        draw_accuracy(&left, &settings, style)?;
        draw_d90(&right, &reached, style)
    } else {
        draw_accuracy(root, &settings, style)
    }
}

fn draw_accuracy<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    settings: &[Setting],
    style: ChartStyle,
) -> Result<(), String> {
    let xs = settings.iter().flat_map(|s| {
        s.curves
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.params as f64))
            .chain(s.full.map(|f| f.params as f64))
    });
    let (lo, hi) = xs.fold((f64::INFINITY, 0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (lo, hi) = if lo.is_finite() {
        (lo / 1.6, hi * 1.6)
    } else {
        (1.0, 10.0)
    };
    let mut chart = framed(
        area,
        (lo..hi).log_scale(),
        0.0..1.0,
        ("parameters that train (log)", "validation accuracy"),
        (&|v| format_count(*v), &|v| format!("{:.0} %", 100.0 * v)),
        style,
    )?;
    let n = settings.len();
    // Every mean, drawn again over the legend: on a small canvas it covers the low-count corner.
    let mut marks: Vec<(f64, f64, RGBColor)> = Vec::new();
    for (i, s) in settings.iter().enumerate() {
        let suffix = if s.name.is_empty() {
            String::new()
        } else {
            format!(" · {}", s.name)
        };
        if let Some(f) = s.full {
            let grey = shade(Kind::Full.hue(), i, n);
            chart
                .draw_series(LineSeries::new(
                    [(lo, f.mean), (hi, f.mean)],
                    grey.stroke_width(style.px(1.2)),
                ))
                .map_err(draw_err)?
                .label(format!(
                    "full training, {}{suffix}: {:.1} %",
                    format_count(f.params as f64),
                    100.0 * f.mean
                ))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(1)));
            let t = SHARE * f.mean;
            chart
                .draw_series(DashedLineSeries::new(
                    [(lo, t), (hi, t)],
                    style.px(3.0),
                    style.px(3.0),
                    grey.stroke_width(style.px(1.0)),
                ))
                .map_err(draw_err)?
                .label(format!("90 % of it{suffix}: {:.1} % (dashed)", 100.0 * t))
                .legend(move |(x, y)| {
                    PathElement::new(
                        vec![(x, y), (x + 6, y), (x + 10, y), (x + 16, y)],
                        grey.stroke_width(1),
                    )
                });
        }
        for (kind, pts) in &s.curves {
            let colour = shade(kind.hue(), i, n);
            let at90 = s.reaches(*kind);
            let mut label = format!("{}{suffix}", kind.label());
            match (kind, at90) {
                (Kind::Subspace, Some(d)) => label += &format!(": d_int90 = {d}"),
                (Kind::Subspace, None) if s.full.is_some() => label += ": never at 90 %",
                (Kind::Lora | Kind::Bias, Some(c)) => {
                    label += &format!(": 90 % at {} trained", format_count(c as f64))
                }
                (Kind::Lora | Kind::Bias, None) if s.full.is_some() => label += ": never at 90 %",
                _ => {}
            }
            // The seeds' spread: a bar from the lowest to the highest.
            chart
                .draw_series(pts.iter().filter(|p| p.hi > p.lo).map(|p| {
                    PathElement::new(
                        vec![(p.params as f64, p.lo), (p.params as f64, p.hi)],
                        colour.stroke_width(style.px(1.0)),
                    )
                }))
                .map_err(draw_err)?;
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.params as f64, p.mean)),
                    colour.stroke_width(style.px(1.8)),
                ))
                .map_err(draw_err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            marks.extend(pts.iter().map(|p| (p.params as f64, p.mean, colour)));
            // The first point at the line, ringed.
            if let Some(p) = at90.and_then(|c| pts.iter().find(|p| p.params == c)) {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (p.params as f64, p.mean),
                        style.px(6.0),
                        colour.stroke_width(style.px(1.5)),
                    )))
                    .map_err(draw_err)?;
            }
        }
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight, style)?;
    chart
        .draw_series(
            marks
                .into_iter()
                .map(|(x, y, c)| Circle::new((x, y), style.px(2.8), c.filled())),
        )
        .map_err(draw_err)?;
    Ok(())
}

/// d_int90 (and LoRA's count at 90 %) against the model's parameters D, log–log.
fn draw_d90<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    settings: &[&Setting],
    style: ChartStyle,
) -> Result<(), String> {
    let points = |kind: Kind| -> Vec<(f64, f64)> {
        settings
            .iter()
            .filter_map(|s| Some((s.total as f64, s.reaches(kind)? as f64)))
            .collect()
    };
    let (sub, lora) = (points(Kind::Subspace), points(Kind::Lora));
    let all = sub.iter().chain(&lora);
    let (xlo, xhi) = all
        .clone()
        .fold((f64::INFINITY, 0f64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let (ylo, yhi) = all.fold((f64::INFINITY, 0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let mut chart = framed(
        area,
        (xlo / 2.0..xhi * 2.0).log_scale(),
        (ylo / 3.0..(yhi * 3.0).max(xhi * 2.0)).log_scale(),
        ("model parameters D (log)", "parameters that train at 90 % (log)"),
        (&|v| format_count(*v), &|v| format_count(*v)),
        style,
    )?;
    let grey = RGBColor(150, 150, 150);
    // d = D: every parameter trains.
    chart
        .draw_series(DashedLineSeries::new(
            [(xlo / 2.0, xlo / 2.0), (xhi * 2.0, xhi * 2.0)],
            style.px(2.0),
            style.px(3.0),
            grey.stroke_width(style.px(1.0)),
        ))
        .map_err(draw_err)?
        .label("all D (dotted)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(1)));
    for (kind, pts) in [(Kind::Subspace, sub), (Kind::Lora, lora)] {
        if pts.is_empty() {
            continue;
        }
        let colour = kind.hue();
        let ratios: Vec<f64> = pts.iter().map(|p| p.0 / p.1).collect();
        let (rlo, rhi) = ratios
            .iter()
            .fold((f64::INFINITY, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let what = match kind {
            Kind::Subspace => "d_int90 of the random subspace",
            _ => "LoRA's count at its first rank at 90 %",
        };
        let label = format!("{what} (D over it: {rlo:.0}–{rhi:.0})");
        chart
            .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(style.px(1.8))))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        chart
            .draw_series(
                pts.iter()
                    .map(|&p| Circle::new(p, style.px(3.0), colour.filled())),
            )
            .map_err(draw_err)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, style)
}
