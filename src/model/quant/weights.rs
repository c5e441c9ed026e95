//! What quantization does to a trained model's weights, computed on the CPU from the weights read
//! back once at the end of a run: the weight error at every bit-width (the −6 dB/bit law) and a
//! histogram of one layer with its quantization grid.

use super::scalar;
use crate::knobs::quant::{Granularity, QFormat, QuantConfig};

/// One linear layer's weights, `[d_in, d_out]` row-major.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerWeights {
    pub name: String,
    pub d_in: usize,
    pub d_out: usize,
    pub values: Vec<f32>,
}

/// Mean squared weight error of the whole model at each bit-width, for one granularity.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MseCurve {
    pub label: String,
    /// (bits, MSE), bits ascending.
    pub points: Vec<(u32, f64)>,
}

/// Bit-widths the error curve covers.
pub const CURVE_BITS: std::ops::RangeInclusive<u32> = 2..=8;

/// Each layer's weights by output channel, `[d_out, d_in]`: a channel's blocks are then
/// contiguous, in the order the reference quantizer gathers them.
fn by_channel(layers: &[LayerWeights]) -> Vec<Vec<f32>> {
    layers
        .iter()
        .map(|l| {
            let mut t = vec![0.0; l.values.len()];
            for (i, row) in l.values.chunks(l.d_out.max(1)).enumerate() {
                for (j, &v) in row.iter().enumerate() {
                    t[j * l.d_in + i] = v;
                }
            }
            t
        })
        .collect()
}

/// One block's squared error in f64 under the rounding the quantizer picks for it.
fn block_sse(xs: &[f32], q: &QuantConfig) -> f64 {
    let r = scalar::block_rounder(xs, q);
    xs.iter().map(|&x| f64::from(x - r.round(x)).powi(2)).sum()
}

/// The mean squared error of quantizing every layer under `q`: the error of
/// `scalar::quantize`'s copy, measured block by block without building it (the figure
/// quantizes the whole model 22 times, 16× more with the MSE search). `cols` is [`by_channel`].
fn model_mse(layers: &[LayerWeights], cols: &[Vec<f32>], q: &QuantConfig) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for (l, t) in layers.iter().zip(cols) {
        let d_in = l.d_in.max(1);
        sum += match q.gran {
            Granularity::Tensor => block_sse(&l.values, q),
            Granularity::Channel => t.chunks(d_in).map(|c| block_sse(c, q)).sum(),
            Granularity::Group => t
                .chunks(d_in)
                .flat_map(|c| c.chunks(q.group.max(1)))
                .map(|g| block_sse(g, q))
                .sum(),
        };
        n += l.values.len();
    }
    sum / n.max(1) as f64
}

/// The weight error against bits for every granularity, in `q`'s integer format (symmetric INT
/// when `q` uses a fixed-width format, whose own error is [`format_point`]).
pub fn mse_curves(layers: &[LayerWeights], q: &QuantConfig) -> Vec<MseCurve> {
    let cols = by_channel(layers);
    let fmt = if q.fmt.fixed_width() { QFormat::Int } else { q.fmt };
    [Granularity::Tensor, Granularity::Channel, Granularity::Group]
        .into_iter()
        .map(|gran| {
            let label = match gran {
                Granularity::Group => format!("per group of {}", q.group),
                g => crate::vocab::Named::label(g).to_string(),
            };
            let points = CURVE_BITS
                .map(|bits| {
                    let c = QuantConfig {
                        bits,
                        fmt,
                        gran,
                        ..q.clone()
                    };
                    (bits, model_mse(layers, &cols, &c))
                })
                .collect();
            MseCurve { label, points }
        })
        .collect()
}

/// The configured fixed-width format's own (bits, MSE), to place against the integer curves.
pub fn format_point(layers: &[LayerWeights], q: &QuantConfig) -> Option<(u32, f64)> {
    q.fmt
        .fixed_width()
        .then(|| (q.fmt.width(q.bits), model_mse(layers, &by_channel(layers), q)))
}

/// A histogram: `counts[i]` values in [lo + i·w, lo + (i+1)·w), w = (hi − lo)/bins.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<usize>,
}

pub fn histogram(values: &[f32], bins: usize) -> Histogram {
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (-1.0, 1.0)
    };
    let mut counts = vec![0; bins.max(1)];
    let w = (hi - lo) / counts.len() as f32;
    for v in values.iter().filter(|v| v.is_finite()) {
        let i = (((v - lo) / w) as usize).min(counts.len() - 1);
        counts[i] += 1;
    }
    Histogram { lo, hi, counts }
}

/// The grid of `layer` under `q`: with one scale per tensor the whole layer's grid, else the
/// grid of its widest block (the one whose scale the outliers set).
pub fn layer_grid(layer: &LayerWeights, q: &QuantConfig) -> Vec<f32> {
    let blocks = scalar::blocks(layer.d_in, layer.d_out, q.gran, q.group);
    let widest = blocks
        .iter()
        .map(|b| b.iter().map(|&i| layer.values[i]).collect::<Vec<f32>>())
        .max_by(|a, b| {
            let r = |xs: &Vec<f32>| xs.iter().fold(0f32, |m, x| m.max(x.abs()));
            r(a).total_cmp(&r(b))
        })
        .unwrap_or_default();
    scalar::levels(&widest, q)
}

/// Everything the quantization figure of one run draws, computed once per run and setting: the
/// page redraws its side charts four times a second, and the error curves quantize the whole
/// model at every bit-width and granularity (21 times, 16× more with MSE clipping).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WeightsFigure {
    /// The setting it was computed for (the figure's labels come from it).
    pub quant: QuantConfig,
    pub curves: Vec<MseCurve>,
    /// The configured fixed-width format's own (bits, MSE), when it has one.
    pub own: Option<(u32, f64)>,
    /// The layer whose histogram is drawn: the first hidden layer, or the only one.
    pub layer: String,
    pub count: usize,
    pub histogram: Histogram,
    /// That layer's grid under `quant`.
    pub grid: Vec<f32>,
}

/// The figure's data for `layers` under `q`; `None` without weights.
pub fn figure(layers: &[LayerWeights], q: &QuantConfig) -> Option<WeightsFigure> {
    let layer = layers.get(1).or_else(|| layers.first())?;
    Some(WeightsFigure {
        quant: q.clone(),
        curves: mse_curves(layers, q),
        own: format_point(layers, q),
        layer: layer.name.clone(),
        count: layer.values.len(),
        histogram: histogram(&layer.values, 80),
        grid: layer_grid(layer, q),
    })
}
