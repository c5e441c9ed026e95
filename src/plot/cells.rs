//! A grid of coloured cells (the decision boundary, an attention pattern): one image where the
//! backend copies a bitmap in one call (`ChartStyle::raster`, the page's canvas), a rectangle per
//! cell otherwise (SVG). A 64-token attention pattern is 4,096 cells, 4,096 canvas calls a
//! redraw as rectangles.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters_backend::{BackendCoord, DrawingErrorKind};

use super::frame::{ChartStyle, draw_err};

/// `rows`×`cols` colours, row-major. Cell (r, c) spans [a.0 + c·w, a.0 + (c+1)·w] ×
/// [a.1 + r·h, a.1 + (r+1)·h] in chart coordinates, w = (b.0 − a.0)/cols, h = (b.1 − a.1)/rows:
/// `a` is the outer corner of cell (0, 0), `b` that of the last cell (either may be the larger).
pub struct Cells {
    pub rows: usize,
    pub cols: usize,
    pub colors: Vec<RGBColor>,
    pub a: (f64, f64),
    pub b: (f64, f64),
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

impl Cells {
    /// Draws the cells into `chart`'s plotting area.
    pub fn draw<DB: DrawingBackend>(
        &self,
        chart: &mut Chart<'_, DB>,
        style: ChartStyle,
    ) -> Result<(), String> {
        if self.rows == 0 || self.cols == 0 || self.colors.len() < self.rows * self.cols {
            return Ok(());
        }
        if style.raster {
            return self.draw_raster(chart);
        }
        let (w, h) = (
            (self.b.0 - self.a.0) / self.cols as f64,
            (self.b.1 - self.a.1) / self.rows as f64,
        );
        let rects = (0..self.rows * self.cols).map(|i| {
            let (r, c) = (i / self.cols, i % self.cols);
            let (x, y) = (self.a.0 + c as f64 * w, self.a.1 + r as f64 * h);
            Rectangle::new([(x, y), (x + w, y + h)], self.colors[i].filled())
        });
        chart.draw_series(rects).map_err(draw_err)?;
        Ok(())
    }

    /// One image over the cells' pixels: each pixel takes the colour of the cell its centre is in.
    fn draw_raster<DB: DrawingBackend>(&self, chart: &Chart<'_, DB>) -> Result<(), String> {
        let (p, q) = (chart.backend_coord(&self.a), chart.backend_coord(&self.b));
        let (x0, y0) = (p.0.min(q.0), p.1.min(q.1));
        let (w, h) = ((p.0 - q.0).unsigned_abs(), (p.1 - q.1).unsigned_abs());
        if w == 0 || h == 0 {
            return Ok(());
        }
        // Which cell a pixel row/column falls in, measured from cell (0, 0)'s side.
        let index = |pixel: i32, from: i32, to: i32, n: usize| -> usize {
            let f = (f64::from(pixel) + 0.5 - f64::from(from)) / f64::from(to - from);
            ((f * n as f64) as usize).min(n - 1)
        };
        let cols: Vec<usize> = (0..w as i32)
            .map(|x| index(x0 + x, p.0, q.0, self.cols))
            .collect();
        let mut rgb = Vec::with_capacity(3 * (w * h) as usize);
        for y in 0..h as i32 {
            let r = index(y0 + y, p.1, q.1, self.rows);
            for &c in &cols {
                let color = self.colors[r * self.cols + c];
                rgb.extend([color.0, color.1, color.2]);
            }
        }
        let area = chart.plotting_area().strip_coord_spec();
        let base = area.get_base_pixel();
        area.draw(&Image {
            at: (x0 - base.0, y0 - base.1),
            size: (w, h),
            rgb,
        })
        .map_err(draw_err)
    }
}

/// An RGB image at a pixel position of its drawing area, copied with one `blit_bitmap`.
struct Image {
    at: BackendCoord,
    size: (u32, u32),
    rgb: Vec<u8>,
}

impl<'a> plotters::element::PointCollection<'a, BackendCoord> for &'a Image {
    type Point = &'a BackendCoord;
    type IntoIter = std::iter::Once<&'a BackendCoord>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<DB: DrawingBackend> plotters::element::Drawable<DB> for Image {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut points: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        match points.next() {
            Some(pos) => backend.blit_bitmap(pos, self.size, &self.rgb),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters_backend::BackendColor;

    /// An RGB pixel buffer: plotters' defaults draw rectangles and bitmaps through `draw_pixel`.
    struct Pixels {
        w: u32,
        h: u32,
        rgb: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
    }

    impl DrawingBackend for Pixels {
        type ErrorType = std::io::Error;
        fn get_size(&self) -> (u32, u32) {
            (self.w, self.h)
        }
        fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<std::io::Error>> {
            Ok(())
        }
        fn present(&mut self) -> Result<(), DrawingErrorKind<std::io::Error>> {
            Ok(())
        }
        fn draw_pixel(
            &mut self,
            (x, y): BackendCoord,
            c: BackendColor,
        ) -> Result<(), DrawingErrorKind<std::io::Error>> {
            if (0..self.w as i32).contains(&x) && (0..self.h as i32).contains(&y) {
                let i = 3 * (y as usize * self.w as usize + x as usize);
                self.rgb.borrow_mut()[i..i + 3].copy_from_slice(&[c.rgb.0, c.rgb.1, c.rgb.2]);
            }
            Ok(())
        }
    }

    fn drawn(cells: &Cells, y_down: bool, raster: bool) -> Vec<u8> {
        let rgb = std::rc::Rc::new(std::cell::RefCell::new(vec![0; 3 * 130 * 110]));
        let px = Pixels {
            w: 130,
            h: 110,
            rgb: rgb.clone(),
        };
        {
            let root = px.into_drawing_area();
            let y = if y_down { 3.0..0.0 } else { 0.0..3.0 };
            let mut chart = ChartBuilder::on(&root)
                .margin(7)
                .build_cartesian_2d(0.0..4.0, y)
                .unwrap();
            let style = ChartStyle {
                raster,
                ..ChartStyle::default()
            };
            cells.draw(&mut chart, style).unwrap();
        }
        rgb.take()
    }

    /// The one image is the rectangles, pixel for pixel but for the cells' borders (where the
    /// two round a pixel's side differently), on either y direction.
    #[test]
    fn the_image_paints_what_the_rectangles_paint() {
        let cells = Cells {
            rows: 3,
            cols: 4,
            colors: (0..12u8).map(|i| RGBColor(20 * i, 255 - 20 * i, 7 * i)).collect(),
            a: (0.0, 0.0),
            b: (4.0, 3.0),
        };
        let (w, h) = (130i32, 110i32);
        for y_down in [false, true] {
            let (rects, image) = (drawn(&cells, y_down, false), drawn(&cells, y_down, true));
            let at = |v: &[u8], x: i32, y: i32| {
                let i = 3 * (y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) as usize;
                [v[i], v[i + 1], v[i + 2]]
            };
            let painted = rects.chunks(3).filter(|p| p != &[0, 0, 0]).count();
            assert!(painted > 9000, "the cells cover the plotting area: {painted}");
            for y in 0..h {
                for x in 0..w {
                    if at(&rects, x, y) == at(&image, x, y) {
                        continue;
                    }
                    // A pixel may differ only on a border: next to another colour in either.
                    let border = [(-1, 0), (1, 0), (0, -1), (0, 1)].iter().any(|&(dx, dy)| {
                        at(&rects, x + dx, y + dy) != at(&rects, x, y)
                            || at(&image, x + dx, y + dy) != at(&image, x, y)
                    });
                    assert!(
                        border,
                        "pixel ({x}, {y}) differs inside a cell (y down: {y_down})"
                    );
                }
            }
        }
    }
}
