//! Canvas sizing for sharp charts on high-DPI screens, and drawing through plotters-canvas, with
//! bitmaps copied in one call.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind};
use plotters_canvas::CanvasBackend;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use super::dom;
use crate::plot::ChartStyle;

thread_local! {
    /// Type and strokes × this on every chart: presenter mode's large print (1 otherwise).
    static ZOOM: std::cell::Cell<f64> = const { std::cell::Cell::new(1.0) };
}

/// Sets the charts' zoom (presenter mode scales it with the screen).
pub fn set_zoom(zoom: f64) {
    ZOOM.with(|z| z.set(zoom.clamp(1.0, 4.0)));
}

/// Sizes `id`'s backing store to its CSS size × devicePixelRatio and draws into it with `draw`.
pub fn draw(
    id: &str,
    draw: impl FnOnce(&DrawingArea<Canvas, Shift>, ChartStyle) -> Result<(), String>,
) -> Result<(), String> {
    let canvas: HtmlCanvasElement = dom::el(id);
    let dpr = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .max(1.0);
    let css_w = f64::from(canvas.client_width().max(1));
    let css_h = f64::from(canvas.client_height().max(1));
    let (w, h) = ((css_w * dpr).round() as u32, (css_h * dpr).round() as u32);
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    let ctx = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
        .ok_or("canvas has no 2-D context")?;
    let inner = CanvasBackend::with_canvas_object(canvas).ok_or("canvas has no 2-D context")?;
    let root = Canvas { inner, ctx }.into_drawing_area();
    draw(&root, style())?;
    root.present().map_err(|e| e.to_string())
}

/// The style the page's charts are drawn in now (the screen's pixel ratio, presenter's zoom).
pub fn style() -> ChartStyle {
    let dpr = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .max(1.0);
    ChartStyle {
        scale: dpr * ZOOM.with(std::cell::Cell::get),
        raster: true,
    }
}

/// plotters-canvas with one change: a bitmap is copied with one `putImageData` (plotters-canvas
/// draws it a pixel at a time, a canvas call each: 200,000 for a boundary's plotting area).
pub struct Canvas {
    inner: CanvasBackend,
    ctx: CanvasRenderingContext2d,
}

type CanvasError = <CanvasBackend as DrawingBackend>::ErrorType;

impl DrawingBackend for Canvas {
    type ErrorType = CanvasError;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.fill_polygon(vert, style)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.inner.draw_text(text, style, pos)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<CanvasError>> {
        self.inner.estimate_text_size(text, style)
    }

    /// `src` is RGB, row-major, `iw`×`ih` (plotters' bitmap layout); the canvas takes RGBA.
    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (iw, ih): (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        if iw == 0 || ih == 0 || src.len() < 3 * (iw * ih) as usize {
            return Ok(());
        }
        let mut rgba = Vec::with_capacity(4 * (iw * ih) as usize);
        for px in src.chunks_exact(3).take((iw * ih) as usize) {
            rgba.extend([px[0], px[1], px[2], 255]);
        }
        let copied = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), iw, ih)
            .and_then(|img| self.ctx.put_image_data(&img, f64::from(pos.0), f64::from(pos.1)));
        match copied {
            Ok(()) => Ok(()),
            // Not expected; the pixel-by-pixel copy still draws it.
            Err(_) => self.inner.blit_bitmap(pos, (iw, ih), src),
        }
    }
}
