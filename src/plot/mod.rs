//! Charts, drawn with plotters on any `DrawingBackend`: a canvas in the page, SVG natively (the CLI
//! and the tests). Nothing here knows about the trainer or the DOM.
//!
//! One file per chart; `frame` holds what they share: style, frame, legend, colours, tick labels.

mod bestlr;
mod boundary;
mod cells;
mod coord;
mod critical;
mod curves;
mod frame;
mod heatmap;
mod intrinsic;
mod joint;
mod noise;
mod norms;
mod prune;
mod quant;
mod scaling;
mod sensing;
mod sequence;
mod spectrum;
mod staircase;
mod sweep;

pub use bestlr::{BestLine, best_lines, draw_best};
pub use boundary::{BoundaryGrid, draw_boundary, point_at};
pub use coord::{CoordPanel, coord_panels, draw_coord};
pub use critical::{draw_critical, has_critical};
pub use curves::{CurveOptions, HoverPoint, draw_curves, draw_curves_after, ema};
pub use frame::{CLASS_COLORS, ChartStyle, ramp};
pub use heatmap::{Cell, Heatmap, draw_heatmap, sweep_heatmap};
pub use intrinsic::{
    Kind as IntrinsicKind, Setting as IntrinsicSetting, draw_intrinsic, has_intrinsic, intrinsic,
    is_intrinsic,
};
pub use joint::{HeldOut, Joint, draw_joint, joint};
pub use noise::{draw_noise_scale, has_noise_scale};
pub use norms::{draw_norms, has_norms};
pub use prune::{PruneCurve, draw_pruning, has_pruning, prune_curves};
pub use quant::draw_weights;
pub use scaling::{Scaling, Size as ScalingSize, draw_scaling, frontier, scaling};
pub use sensing::{draw_sensing, has_sensing, recovery_errors};
pub use sequence::{draw_attention, draw_seq_stats, has_seq_stats};
pub use spectrum::draw_spectrum;
pub use staircase::{draw_staircase, is_rank_sweep};
pub use sweep::{SweepPanel, SweepSeries, draw_sweep, draw_sweep_panels, sweep_panels, sweep_series};
