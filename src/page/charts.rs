//! The page's charts by name: which of them the state shows, and each one's drawing on any
//! plotters backend — the page's canvas, or SVG for the export of a single chart (#14), so what
//! a person saves is the very chart on screen.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::state::State;
use crate::keys::Key;
use crate::plot::{self, BestLine, ChartStyle, CoordPanel, CurveOptions, Heatmap, HoverPoint};
use crate::plot::{SweepPanel, SweepSeries};

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
}

impl Chart {
    pub const ALL: [Chart; 10] = [
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
    ];

    /// Which side chart presenter and embed mode show beside the loss curves, the first shown
    /// of these: what a sweep or a coordinate check is about before the picture of one run.
    pub const PRESENTER_ORDER: [Chart; 9] = [
        Chart::Coord,
        Chart::Sweep,
        Chart::Heatmap,
        Chart::SeqStats,
        Chart::Boundary,
        Chart::Weights,
        Chart::Spectrum,
        Chart::Attention,
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
        }
    }

    pub fn from_name(name: &str) -> Option<Chart> {
        Chart::ALL.into_iter().find(|c| c.name() == name)
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
        }
    }
}

/// What the state's charts show, computed once per redraw.
pub struct Charts<'a> {
    state: &'a State,
    /// The sweep chart: the first knob's key and its panels, the series of a single panel, and
    /// whether it is the rank staircase.
    panels: Option<(&'static Key, Vec<SweepPanel>)>,
    series: Option<Vec<SweepSeries>>,
    staircase: bool,
    best: Option<(Vec<BestLine>, &'static Key)>,
    coord: Option<(&'static Key, Vec<Vec<CoordPanel>>)>,
    heatmap: Option<Heatmap>,
}

impl<'a> Charts<'a> {
    pub fn of(a: &'a State) -> Self {
        let sweep = a.is_sweep();
        let metric = a.study.view.metric;
        // No numeric first knob (a categorical or seed-only sweep): the table and heatmap carry it.
        let panels = if sweep {
            plot::sweep_panels(&a.runs, metric)
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
            state: a,
            heatmap: if sweep {
                plot::sweep_heatmap(&a.runs, metric)
            } else {
                None
            },
            coord: plot::coord_panels(&a.runs),
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

    pub fn is_staircase(&self) -> bool {
        self.staircase
    }

    /// Whether `chart` has something to show now.
    pub fn shown(&self, chart: Chart) -> bool {
        let a = self.state;
        let single = !a.is_sweep();
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
            Chart::SeqStats => plot::has_seq_stats(&a.runs),
            Chart::Attention => single && first.is_some_and(|r| r.seq_views.is_some()),
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
        let a = self.state;
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
            Chart::Boundary => plot::draw_boundary(root, a.grid.as_ref(), &a.data, style),
            Chart::Spectrum => {
                let spectra = &first.ok_or_else(missing)?.spectra;
                plot::draw_spectrum(root, spectra, a.planted_sigma.as_deref(), style)
            }
            Chart::Weights => {
                let fig = first.and_then(|r| r.weights_figure()).ok_or_else(missing)?;
                plot::draw_weights(root, fig, style)
            }
            Chart::SeqStats => plot::draw_seq_stats(root, &a.runs, cfg.total_steps(), style),
            Chart::Attention => {
                let views = first.and_then(|r| r.seq_views.as_ref()).ok_or_else(missing)?;
                plot::draw_attention(root, views, style)
            }
        }
    }
}

/// The loss chart of `a`, with the "before" curve of presenter mode; returns the points the
/// pointer can name. Apart from [`Charts`]: it is drawn ten times a second in a sweep and needs
/// none of the side charts' summaries.
pub fn draw_loss<DB: DrawingBackend>(
    a: &State,
    root: &DrawingArea<DB, Shift>,
    style: ChartStyle,
) -> Result<Vec<HoverPoint>, String> {
    let mut opts = CurveOptions::new(
        a.study.view.log_y,
        a.points.iter().map(|p| p.config.total_steps()).max().unwrap_or(1),
    );
    opts.log_x = a.study.view.log_x;
    let before = a.before.as_ref().map(|(run, label)| (run, label.as_str()));
    plot::draw_curves_after(root, &a.runs, before, opts, style)
}

/// `chart` as a stand-alone SVG document of `size` CSS pixels, titled with the chart's name and
/// described by `desc` (its caption and the link that reproduces it).
pub fn svg(charts: &Charts, chart: Chart, size: (u32, u32), desc: &str) -> Result<String, String> {
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
