//! Canvas sizing for sharp charts on high-DPI screens, and drawing through plotters-canvas.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::dom;
use crate::plot::ChartStyle;

/// Sizes `id`'s backing store to its CSS size × devicePixelRatio and draws into it with `draw`.
pub fn draw(
    id: &str,
    draw: impl FnOnce(&DrawingArea<CanvasBackend, Shift>, ChartStyle) -> Result<(), String>,
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
    let backend = CanvasBackend::with_canvas_object(canvas).ok_or("canvas has no 2-D context")?;
    let root = backend.into_drawing_area();
    draw(&root, ChartStyle { scale: dpr })?;
    root.present().map_err(|e| e.to_string())
}
