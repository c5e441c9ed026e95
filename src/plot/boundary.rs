//! The decision boundary of a 2-D classifier with its training points.

use super::cells::Cells;
use super::frame::{CLASS_COLORS, ChartStyle, draw_err};
use crate::data::{EXTENT, Samples};
use plotters::coord::ReverseCoordTranslate;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// The model's class probabilities on a grid, as read back from `Trainer::predict_grid`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BoundaryGrid {
    pub res: usize,
    pub classes: usize,
    /// [res·res·classes], rows from the top (y = +EXTENT) down.
    pub probs: Vec<f32>,
}

/// Background tinted by the predicted class (stronger where the model is confident), with the
/// training points on top.
pub fn draw_boundary<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    grid: Option<&BoundaryGrid>,
    points: &Samples,
    style: ChartStyle,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(draw_err)?;
    let e = f64::from(EXTENT);
    let mut chart = plane(root, style)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .label_style(style.font(11.0))
        .x_labels(5)
        .y_labels(5)
        .draw()
        .map_err(draw_err)?;

    if let Some(g) = grid.filter(|g| g.res > 0 && g.classes > 0 && g.probs.len() == g.res * g.res * g.classes)
    {
        // Rows from the top (y = +EXTENT) down, as the grid is read.
        Cells {
            rows: g.res,
            cols: g.res,
            colors: (0..g.res * g.res).map(|c| cell_color(g, c)).collect(),
            a: (-e, e),
            b: (e, -e),
        }
        .draw(&mut chart, style)?;
    }

    let r = style.px(3.0);
    // Only 2-D points can be placed; other tasks draw the regions alone.
    let n = if points.dim == 2 {
        points.labels().len().min(points.len())
    } else {
        0
    };
    let dots = (0..n).map(|i| {
        let c = CLASS_COLORS[points.labels()[i] as usize % CLASS_COLORS.len()];
        let (x, y) = (f64::from(points.x[2 * i]), f64::from(points.x[2 * i + 1]));
        EmptyElement::at((x, y))
            + Circle::new((0, 0), r, c.filled())
            + Circle::new((0, 0), r, WHITE.stroke_width(style.px(0.8)))
    });
    chart.draw_series(dots).map_err(draw_err)?;
    Ok(())
}

/// The plane's axes on `root`: the layout the chart is drawn in and a click is read in.
fn plane<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    style: ChartStyle,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let e = f64::from(EXTENT);
    ChartBuilder::on(root)
        .margin(style.px(8.0))
        .x_label_area_size(style.px(24.0))
        .y_label_area_size(style.px(32.0))
        .build_cartesian_2d(-e..e, -e..e)
        .map_err(draw_err)
}

/// The point of the plane under `pixel` on a boundary chart of `size` pixels drawn with `style`
/// (a click that places a point, #35); `None` outside the plotting area.
pub fn point_at(size: (u32, u32), style: ChartStyle, pixel: (i32, i32)) -> Option<(f32, f32)> {
    // Only the layout is computed: nothing is drawn into the string.
    let mut unused = String::new();
    let root = SVGBackend::with_string(&mut unused, size).into_drawing_area();
    let chart = plane(&root, style).ok()?;
    let (x, y) = chart.as_coord_spec().reverse_translate(pixel)?;
    let e = f64::from(EXTENT);
    let inside = (-e..=e).contains(&x) && (-e..=e).contains(&y);
    inside.then_some((x as f32, y as f32))
}

/// Cell `c`'s colour: the predicted class, stronger where the model is confident.
fn cell_color(g: &BoundaryGrid, c: usize) -> RGBColor {
    let k = g.classes;
    let p = &g.probs[c * k..(c + 1) * k];
    let (best, pmax) = p
        .iter()
        .enumerate()
        .fold((0, f32::MIN), |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc });
    // Confidence above chance, 0..1, mapped to tint strength.
    let chance = 1.0 / k as f32;
    let conf = ((pmax - chance) / (1.0 - chance)).clamp(0.0, 1.0);
    tint(
        CLASS_COLORS[best % CLASS_COLORS.len()],
        0.15 + 0.45 * f64::from(conf),
    )
}

/// `c` blended towards white: `amount` = 1 is the full colour, 0 is white.
fn tint(c: RGBColor, amount: f64) -> RGBColor {
    let mix = |v: u8| (255.0 - (255.0 - f64::from(v)) * amount).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_reads_back_the_point_drawn_under_it() {
        let style = ChartStyle {
            scale: 2.0,
            raster: true,
        };
        let size = (640, 560);
        let mut unused = String::new();
        let root = SVGBackend::with_string(&mut unused, size).into_drawing_area();
        let chart = plane(&root, style).unwrap();
        for (x, y) in [(0.0, 0.0), (1.2, -0.7), (-1.5, 1.5)] {
            let pixel = chart.backend_coord(&(x, y));
            let (bx, by) = point_at(size, style, pixel).unwrap();
            // Within a pixel of the plane (3.2 units over ~570 pixels).
            assert!(
                (f64::from(bx) - x).abs() < 0.01 && (f64::from(by) - y).abs() < 0.01,
                "{x},{y} → {bx},{by}"
            );
        }
        assert_eq!(point_at(size, style, (2, 2)), None, "the margin is not the plane");
        assert_eq!(point_at(size, style, (630, 10)), None);
    }
}
