//! The figures of a study, one policy for the page and the CLI: which charts a study's results
//! show, which one leads (presenter and embed mode put it beside the loss curves), which is its
//! main figure (the page's PNG and SVG buttons, the CLI's `--svg` file), their captions, and each
//! one's drawing on any plotters backend — the page's canvas, or SVG (the page's export of a
//! chart, #14, and the CLI), so what a person saves is the very chart on screen.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::data::Samples;
use crate::keys::Key;
use crate::link::study::Study;
use crate::plot::{self, BestLine, BoundaryGrid, ChartStyle, CoordPanel, CurveOptions, Heatmap, HoverPoint};
use crate::plot::{SweepPanel, SweepSeries};
use crate::train::metrics::Run;
use crate::vocab::Named;

/// The planted teacher's visible singular values, which the spectrum chart draws beside the
/// learned ΔW's (the planted task only).
pub fn planted_sigma(cfg: &crate::knobs::ExperimentConfig) -> Option<Vec<f64>> {
    (cfg.task == crate::knobs::task::Task::Planted)
        .then(|| crate::data::planted::Teacher::new(&cfg.planted, cfg.seed).visible_sigma())
}

/// What a study's figures are drawn from: its runs and what the page or the CLI read back.
#[derive(Clone, Copy)]
pub struct Results<'a> {
    pub study: &'a Study,
    pub runs: &'a [Run],
    /// The single run's decision boundary (2-D tasks), and the training points it is drawn with.
    pub grid: Option<&'a BoundaryGrid>,
    pub points: &'a Samples,
    /// The planted teacher's visible singular values, for the spectrum chart.
    pub planted_sigma: Option<&'a [f64]>,
    /// Presenter mode: the run a knob move replaced, with what the knobs were.
    pub before: Option<(&'a Run, &'a str)>,
}

/// One chart of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Chart {
    Loss,
    Sweep,
    BestValue,
    Coord,
    Heatmap,
    Boundary,
    Spectrum,
    Weights,
    SeqStats,
    Attention,
    Norms,
    Sensing,
    Scaling,
    Pruning,
    Intrinsic,
    NoiseScale,
    Critical,
}

const PANELS_CAPTION: &str = "One panel per value of the third swept knob on a shared loss axis: the {metric} against \
     the first knob, one curve per value of the second (light → dark), seeds averaged; the best point of each curve is \
     ringed, diverged runs are × on the top edge.";
const SWEEP_CAPTION: &str = "The {metric} against the first swept knob, one curve per value of the second \
     (light → dark), seeds averaged; the best point of each curve is ringed, diverged runs are × on the top edge.";
const STAIRCASE_CAPTION: &str = "The rank staircase: the {metric} against LoRA rank (log2), the analytic \
     Eckart–Young floor dashed (planted task), full fine-tuning (r = 0) as the red line, and the trainable \
     parameters on the right axis.";

impl Chart {
    pub const ALL: [Chart; 17] = [
        Chart::Loss,
        Chart::Sweep,
        Chart::BestValue,
        Chart::Coord,
        Chart::Heatmap,
        Chart::Boundary,
        Chart::Spectrum,
        Chart::Weights,
        Chart::SeqStats,
        Chart::Attention,
        Chart::Norms,
        Chart::Sensing,
        Chart::Scaling,
        Chart::Pruning,
        Chart::Intrinsic,
        Chart::NoiseScale,
        Chart::Critical,
    ];

    /// Which side chart presenter and embed mode show beside the loss curves, the first shown
    /// of these: what a sweep or a coordinate check is about before the picture of one run.
    pub const PRESENTER_ORDER: [Chart; 16] = [
        Chart::Coord,
        Chart::Critical,
        Chart::Sensing,
        Chart::Intrinsic,
        Chart::Scaling,
        Chart::Pruning,
        Chart::Sweep,
        Chart::Heatmap,
        Chart::SeqStats,
        Chart::Boundary,
        Chart::Weights,
        Chart::Spectrum,
        Chart::Attention,
        Chart::NoiseScale,
        Chart::Norms,
        Chart::BestValue,
    ];

    /// The short name: the canvas is `<name>-canvas`, its figure `fig-<name>`, a saved file
    /// `tinytune-<name>.svg`.
    pub fn name(self) -> &'static str {
        match self {
            Chart::Loss => "loss",
            Chart::Sweep => "sweep", // not a link key: the chart's id
            Chart::BestValue => "bestlr",
            Chart::Coord => "coord", // not a link key: the chart's id
            Chart::Heatmap => "heatmap",
            Chart::Boundary => "boundary",
            Chart::Spectrum => "spectrum",
            Chart::Weights => "weights",
            Chart::SeqStats => "seq",
            Chart::Attention => "attn",
            Chart::Norms => "gradnorm",
            Chart::Sensing => "sensing",
            Chart::Scaling => "scaling",
            Chart::Pruning => "pruning",
            Chart::Intrinsic => "intrinsic",
            Chart::NoiseScale => "noisescale",
            Chart::Critical => "critical",
        }
    }

    pub fn from_name(name: &str) -> Option<Chart> {
        Chart::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The size the CLI writes it at, in pixels, for `figures` (panels and rows widen it).
    pub fn svg_size(self, figures: &Figures) -> (u32, u32) {
        match self {
            Chart::Coord => {
                let (rows, cols) = figures.coord_grid();
                (240 * cols.max(3) as u32, 230 * rows.max(1) as u32)
            }
            Chart::Sweep => (420 * figures.panel_count().max(2) as u32 + 160, 480),
            Chart::Weights => (1300, 500),
            Chart::Attention | Chart::Boundary => (600, 600),
            Chart::Sensing | Chart::Scaling | Chart::Pruning | Chart::Intrinsic | Chart::Critical => {
                (1100, 480)
            }
            _ => (900, 540),
        }
    }

    /// The chart's title (its canvas's label, and the `<title>` of its SVG).
    pub fn title(self) -> &'static str {
        match self {
            Chart::Loss => "Loss curves",
            Chart::Sweep => "Loss against the swept knob",
            Chart::BestValue => "Best value of the swept knob",
            Chart::Coord => "Coordinate check",
            Chart::Heatmap => "Loss over both swept knobs",
            Chart::Boundary => "Decision boundary",
            Chart::Spectrum => "Singular values of the learned weight change",
            Chart::Weights => "Weight error against bits, and a layer's weights with the quantization grid",
            Chart::SeqStats => "Accuracy and the instability proxies against step",
            Chart::Attention => "One attention head's pattern on a validation example",
            Chart::Norms => "Gradient and update norms against step",
            Chart::Sensing => "Recovery error and the singular values of M against step",
            Chart::Scaling => "A fitted scaling law: the loss against parameters, data and compute",
            Chart::Pruning => "Validation loss against the share of weights kept, by pruning method",
            Chart::Intrinsic => {
                "Validation accuracy against the parameters that train: random subspace, LoRA, biases"
            }
            Chart::NoiseScale => "The gradient noise scale B_simple against the training loss",
            Chart::Critical => {
                "Steps to reach a loss and the best learning rate against the batch size: the critical batch"
            }
        }
    }
}

/// What a study's charts show, computed once per redraw.
pub struct Figures<'a> {
    results: Results<'a>,
    /// The sweep chart: the first knob's key and its panels, the series of a single panel, and
    /// whether it is the rank staircase.
    panels: Option<(&'static Key, Vec<SweepPanel>)>,
    series: Option<Vec<SweepSeries>>,
    staircase: bool,
    best: Option<(Vec<BestLine>, &'static Key)>,
    coord: Option<(&'static Key, Vec<Vec<CoordPanel>>)>,
    heatmap: Option<Heatmap>,
    scaling: Option<plot::Scaling>,
    /// The law of parameters and data together, for a sweep over a size and `n` (the same chart).
    joint: Option<plot::Joint>,
}

impl<'a> Figures<'a> {
    pub fn of(a: Results<'a>) -> Self {
        let sweep = a.study.is_sweep();
        let metric = a.study.view.metric;
        // No numeric first knob (a categorical or seed-only sweep): the table and heatmap carry it.
        let panels = if sweep {
            plot::sweep_panels(a.runs, metric)
        } else {
            None
        };
        let series = panels
            .as_ref()
            .filter(|(_, p)| p.len() == 1)
            .map(|(_, p)| p[0].series.clone());
        let staircase = series.is_some() && panels.as_ref().is_some_and(|(k, _)| plot::is_rank_sweep(k));
        // The best value of the first knob per value of the second (the transfer plot).
        let series_key = a.study.sweep.axes.get(1).map(|ax| ax.key);
        let best = panels
            .as_ref()
            .filter(|_| !staircase)
            .and_then(|(_, p)| plot::best_lines(p))
            .zip(series_key);
        Self {
            results: a,
            heatmap: if sweep {
                plot::sweep_heatmap(a.runs, metric)
            } else {
                None
            },
            coord: plot::coord_panels(a.runs),
            // A study of what trains (subspaces, biases, LoRA side by side) has no one law.
            scaling: if sweep && !plot::is_intrinsic(a.runs) {
                plot::scaling(a.runs, metric)
            } else {
                None
            },
            joint: if sweep && !plot::is_intrinsic(a.runs) {
                plot::joint(a.runs, metric)
            } else {
                None
            },
            panels,
            series,
            staircase,
            best,
        }
    }

    /// The number of panels of the sweep chart (0 without one).
    pub fn panel_count(&self) -> usize {
        self.panels.as_ref().map_or(0, |(_, p)| p.len())
    }

    /// The rows of the coordinate check (0 without one).
    pub fn coord_rows(&self) -> usize {
        self.coord.as_ref().map_or(0, |(_, p)| p.len())
    }

    /// The coordinate check's rows and its panels a row.
    fn coord_grid(&self) -> (usize, usize) {
        self.coord
            .as_ref()
            .map_or((0, 0), |(_, p)| (p.len(), p.first().map_or(0, Vec::len)))
    }

    /// The charts shown, in the page's order.
    pub fn shown_charts(&self) -> Vec<Chart> {
        Chart::ALL.into_iter().filter(|&c| self.shown(c)).collect()
    }

    /// The chart presenter and embed mode put beside the loss curves: the first shown of
    /// [`Chart::PRESENTER_ORDER`], what the study is about.
    /// A link's `fig` names it when that chart is shown.
    pub fn lead(&self) -> Option<Chart> {
        let named = Chart::from_name(self.results.study.view.lead.key()).filter(|&c| self.shown(c));
        named.or_else(|| Chart::PRESENTER_ORDER.into_iter().find(|&c| self.shown(c)))
    }

    /// The study's main figure: what the page's PNG and SVG buttons save and the CLI's `--svg`
    /// file holds: the coordinate check when there is one, else the critical batch, else matrix
    /// sensing's figure, else intrinsic dimension's, else the scaling fit, else pruning's curves,
    /// else the sweep chart, else the heatmap, else the loss curves.
    pub fn main(&self) -> Chart {
        [
            Chart::Coord,
            Chart::Critical,
            Chart::Sensing,
            Chart::Intrinsic,
            Chart::Scaling,
            Chart::Pruning,
            Chart::Sweep,
            Chart::Heatmap,
        ]
        .into_iter()
        .find(|&c| self.shown(c))
        .unwrap_or(Chart::Loss)
    }

    /// The sweep chart's caption.
    pub fn sweep_caption(&self) -> String {
        let metric = self.results.study.view.metric.label();
        let caption = if self.staircase {
            STAIRCASE_CAPTION
        } else if self.panel_count() > 1 {
            PANELS_CAPTION
        } else {
            SWEEP_CAPTION
        };
        caption.replace("{metric}", metric)
    }

    pub fn is_staircase(&self) -> bool {
        self.staircase
    }

    /// Whether `chart` has something to show now.
    pub fn shown(&self, chart: Chart) -> bool {
        let a = &self.results;
        let single = !a.study.is_sweep();
        let first = a.runs.first();
        match chart {
            Chart::Loss => true,
            Chart::Sweep => self.panels.is_some(),
            Chart::BestValue => self.best.is_some(),
            Chart::Coord => self.coord.is_some(),
            Chart::Heatmap => self.heatmap.is_some(),
            Chart::Boundary => single && a.study.experiment.has_boundary(),
            Chart::Spectrum => single && first.is_some_and(|r| !r.spectra.is_empty()),
            Chart::Weights => {
                single
                    && a.study.experiment.quant.enabled()
                    && first.and_then(|r| r.weights_figure()).is_some()
            }
            Chart::SeqStats => plot::has_seq_stats(a.runs),
            Chart::Attention => single && first.is_some_and(|r| r.seq_views.is_some()),
            Chart::Norms => plot::has_norms(a.runs),
            Chart::Sensing => plot::has_sensing(a.runs),
            Chart::Scaling => self.scaling.is_some() || self.joint.is_some(),
            Chart::Pruning => plot::has_pruning(a.runs),
            Chart::Intrinsic => plot::has_intrinsic(a.runs),
            Chart::NoiseScale => plot::has_noise_scale(a.runs),
            Chart::Critical => a.study.is_sweep() && plot::has_critical(a.runs, a.study.view.reach),
        }
    }

    /// Draws `chart` on `root`; a chart with nothing to show is an error.
    pub fn draw<DB: DrawingBackend>(
        &self,
        chart: Chart,
        root: &DrawingArea<DB, Shift>,
        style: ChartStyle,
    ) -> Result<(), String> {
        if !self.shown(chart) {
            return Err(format!("the {} chart has nothing to show", chart.name()));
        }
        let a = &self.results;
        let cfg = &a.study.experiment;
        let metric = a.study.view.metric;
        let first = a.runs.first();
        let missing = || format!("the {} chart has nothing to show", chart.name());
        match chart {
            Chart::Loss => draw_loss(a, root, style).map(|_| ()),
            Chart::Sweep => {
                let (x_key, p) = self.panels.as_ref().ok_or_else(missing)?;
                match &self.series {
                    Some(s) if self.staircase => plot::draw_staircase(root, s, cfg, metric, style),
                    _ => plot::draw_sweep_panels(root, x_key, p, metric, style),
                }
            }
            Chart::BestValue => {
                let ((lines, series_key), (x_key, _)) =
                    self.best.as_ref().zip(self.panels.as_ref()).ok_or_else(missing)?;
                plot::draw_best(root, (x_key, series_key), lines, style)
            }
            Chart::Coord => {
                let (x_key, p) = self.coord.as_ref().ok_or_else(missing)?;
                plot::draw_coord(root, x_key, p, style)
            }
            Chart::Heatmap => plot::draw_heatmap(root, self.heatmap.as_ref().ok_or_else(missing)?, style),
            Chart::Boundary => plot::draw_boundary(root, a.grid, a.points, style),
            Chart::Spectrum => {
                let spectra = &first.ok_or_else(missing)?.spectra;
                plot::draw_spectrum(root, spectra, a.planted_sigma, style)
            }
            Chart::Weights => {
                let fig = first.and_then(|r| r.weights_figure()).ok_or_else(missing)?;
                plot::draw_weights(root, fig, style)
            }
            Chart::SeqStats => plot::draw_seq_stats(root, a.runs, cfg.total_steps(), style),
            Chart::Attention => {
                let views = first.and_then(|r| r.seq_views.as_ref()).ok_or_else(missing)?;
                plot::draw_attention(root, views, style)
            }
            Chart::Norms => plot::draw_norms(root, a.runs, cfg.total_steps(), style),
            Chart::Sensing => plot::draw_sensing(root, a.runs, cfg.total_steps(), a.study.view.log_x, style),
            Chart::Scaling => match (&self.scaling, &self.joint) {
                (Some(s), _) => plot::draw_scaling(root, s, style),
                (None, Some(j)) => plot::draw_joint(root, j, style),
                (None, None) => Err(missing()),
            },
            Chart::Pruning => plot::draw_pruning(root, a.runs, style),
            Chart::Intrinsic => plot::draw_intrinsic(root, a.runs, style),
            Chart::NoiseScale => plot::draw_noise_scale(root, a.runs, style),
            Chart::Critical => plot::draw_critical(root, a.runs, a.study.view.reach, style),
        }
    }
}

/// The loss chart of `a`, with the "before" curve of presenter mode; returns the points the
/// pointer can name. Apart from [`Figures`]: the page draws it ten times a second in a sweep,
/// and it needs none of the side charts' summaries.
pub fn draw_loss<DB: DrawingBackend>(
    a: &Results,
    root: &DrawingArea<DB, Shift>,
    style: ChartStyle,
) -> Result<Vec<HoverPoint>, String> {
    let mut opts = CurveOptions::new(
        a.study.view.log_y,
        a.runs.iter().map(|r| r.config.total_steps()).max().unwrap_or(1),
    );
    opts.log_x = a.study.view.log_x;
    plot::draw_curves_after(root, a.runs, a.before, opts, style)
}

/// `chart` as a stand-alone SVG document of `size` CSS pixels, titled with the chart's name and
/// described by `desc` (its caption and the link that reproduces it).
pub fn svg(charts: &Figures, chart: Chart, size: (u32, u32), desc: &str) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        charts.draw(chart, &root, ChartStyle::default())?;
        root.present().map_err(|e| e.to_string())?;
    }
    // The title and description go first inside <svg>: viewers show the title, and a figure
    // pasted into a paper keeps the link it came from.
    let head = format!(
        "<title>{}</title>\n<desc>{}</desc>\n",
        xml_text(chart.title()),
        xml_text(desc)
    );
    let at = out
        .find("<svg")
        .and_then(|i| out[i..].find('>').map(|j| i + j + 1))
        .ok_or("the SVG backend wrote no <svg> element")?;
    out.insert_str(at, &format!("\n{head}"));
    Ok(out)
}

/// Text for an XML element: `&`, `<` and `>` escaped (user text never becomes markup).
fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
