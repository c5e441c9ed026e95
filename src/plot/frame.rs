//! What every chart shares: its style (sizes, colours), the framed axes and legend, and how
//! numbers are written on them.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Presentation settings shared by every chart.
#[derive(Clone, Copy, Debug)]
pub struct ChartStyle {
    /// Device pixels per CSS pixel: fonts and strokes scale with it so canvases stay sharp.
    pub scale: f64,
    /// The backend copies a bitmap in one call (the page's canvas), so a grid of cells is filled
    /// as one image rather than a rectangle each: a 48×48 boundary was 2,304 canvas calls a
    /// redraw. SVG keeps its rectangles.
    pub raster: bool,
}

impl Default for ChartStyle {
    fn default() -> Self {
        Self {
            scale: 1.0,
            raster: false,
        }
    }
}

impl ChartStyle {
    pub(crate) fn px(&self, v: f64) -> u32 {
        (v * self.scale).round().max(1.0) as u32
    }

    pub(crate) fn font(&self, size: f64) -> FontDesc<'static> {
        FontDesc::new(FontFamily::SansSerif, size * self.scale, FontStyle::Normal)
    }
}

/// Class colours (colour-blind-safe Tableau hues), shared by the boundary and its points.
pub const CLASS_COLORS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];
pub(crate) const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
pub(crate) const VAL_COLOR: RGBColor = RGBColor(214, 39, 40);

pub(crate) fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    format!("drawing failed: {e}")
}

pub(crate) type Chart<'a, DB, X, Y> = ChartContext<
    'a,
    DB,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

/// A linear axis whose ticks are given values only (a sweep's few values): plotters' own
/// `WithKeyPoints` has no formatter for `f64`, and the mesh asks for one even where the chart
/// passes its own labels.
pub(crate) struct ValueTicks {
    range: RangedCoordf64,
    ticks: Vec<f64>,
}

impl ValueTicks {
    pub(crate) fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Self {
        Self {
            range: range.into(),
            ticks,
        }
    }
}

impl Ranged for ValueTicks {
    type ValueType = f64;
    type FormatOption = NoDefaultFormatting;

    fn range(&self) -> std::ops::Range<f64> {
        self.range.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Bold lines at the values; no light lines between them.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
}

impl ValueFormatter<f64> for ValueTicks {
    fn format(value: &f64) -> String {
        format_x(*value)
    }
}

/// Tick labels of one axis.
pub(crate) type Labels<'l> = &'l dyn Fn(&f64) -> String;

/// The frame every line chart shares: margins, light grid, axis titles and tick labels.
pub(crate) fn framed<'a, DB, X, Y>(
    root: &'a DrawingArea<DB, Shift>,
    x: X,
    y: Y,
    (x_desc, y_desc): (&str, &str),
    (x_labels, y_labels): (Labels, Labels),
    style: ChartStyle,
) -> Result<Chart<'a, DB, X, Y>, String>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(root)
        .margin(style.px(10.0))
        .x_label_area_size(style.px(36.0))
        .y_label_area_size(style.px(56.0))
        .build_cartesian_2d(x, y)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(style.font(12.0))
        .axis_desc_style(style.font(13.0))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(220, 220, 220))
        .y_label_formatter(y_labels)
        .x_label_formatter(x_labels)
        .draw()
        .map_err(draw_err)?;
    Ok(chart)
}

pub(crate) fn legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    at: SeriesLabelPosition,
    style: ChartStyle,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(at)
        .label_font(style.font(12.0))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(draw_err)
}

/// A log axis over whole decades around the positive finite `values` (`empty` when there are
/// none), with headroom below the lowest so a curve at a noise floor does not lie on the axis.
pub(crate) fn decades(values: impl Iterator<Item = f64>, empty: (f64, f64)) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|y| y.is_finite() && *y > 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
    if !lo.is_finite() {
        return empty;
    }
    let lo = 10f64.powf((lo / 1.5).log10().floor());
    (lo, 10f64.powf(hi.log10().ceil()).max(lo * 10.0))
}

/// Tick labels that stay readable from 10 down to 1e-4.
/// The `i`-th of `n` settings in hue `c`: the first lightest, the last full (the pruning and
/// intrinsic-dimension figures shade each method's curves by setting).
pub(crate) fn shade(c: RGBColor, i: usize, n: usize) -> RGBColor {
    let t = if n <= 1 {
        1.0
    } else {
        0.35 + 0.65 * i as f64 / (n - 1) as f64
    };
    let mix = |v: u8| (255.0 + (f64::from(v) - 255.0) * t).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// "300", "1.2 k", "26 k", "1.5 M": a count (parameters, a batch) on a log axis.
pub(crate) fn format_count(v: f64) -> String {
    // The unit with its space: " k" thousands, " M" millions.
    let trimmed = |x: f64, unit: &str| {
        let s = format!("{x:.1}");
        format!("{}{unit}", s.trim_end_matches('0').trim_end_matches('.'))
    };
    if v >= 1e6 {
        trimmed(v / 1e6, " M")
    } else if v >= 1e3 {
        trimmed(v / 1e3, " k")
    } else {
        format!("{}", v.round())
    }
}

pub(crate) fn format_loss(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 0.01 {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.0e}")
    }
}

/// Light → dark ramp for the i-th of n curves (papers draw narrow models light, wide ones dark).
pub fn ramp(i: usize, n: usize) -> RGBColor {
    let t = if n <= 1 { 1.0 } else { i as f64 / (n - 1) as f64 };
    let (a, b) = ((158.0, 202.0, 225.0), (8.0, 48.0, 107.0));
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// "2^-7" for small powers of two (the μP papers label learning rates as 2^k), plain numbers
/// otherwise (widths read 64, 128, …).
pub(crate) fn format_x(v: f64) -> String {
    // A tick computed as a sum of float steps lands near 0, not on it.
    if v.abs() < 1e-12 {
        return "0".into();
    }
    let k = v.log2();
    if v > 0.0 && (k - k.round()).abs() < 1e-9 && k <= -2.0 {
        format!("2^{}", k.round() as i64)
    } else {
        format_loss(v)
    }
}
