//! Applies `page::view` to the DOM: texts, buttons, the sweep's bar and table, the deck's bar,
//! the messages and the `data-*` attributes, every one written only when it changed; and the
//! charts, drawn again when their revision moved (or the window did). It decides nothing: what
//! shows is the view's. Its one memory is what it applied last and where the loss chart's
//! points were drawn, for the hover tip.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlButtonElement, HtmlCanvasElement, MouseEvent};

use super::bus::Bus;
use super::{canvas, dom};
use crate::keys;
use crate::page::{State, ViewModel, view};
use crate::plot::HoverPoint;
use crate::report::{self, Chart, Figures, Results};

thread_local! {
    /// The view last applied (`None`: draw everything, as after a resize).
    static APPLIED: RefCell<Option<ViewModel>> = const { RefCell::new(None) };
    /// Points of the loss chart under the pointer's reach, in canvas pixels.
    static HOVER: RefCell<Vec<HoverPoint>> = const { RefCell::new(Vec::new()) };
    /// A render is asked for the next animation frame.
    static PENDING: Cell<bool> = const { Cell::new(false) };
}

/// Shows the bus's state now (a person's action: the page answers in the same event).
pub fn now(bus: &Rc<Bus>) {
    PENDING.with(|p| p.set(false));
    render(&bus.state());
}

/// Shows the bus's state at the next animation frame: many messages in one frame (a worker's
/// report, its frame count, a control's edit) make one render, and the page never shows a
/// state the display cannot refresh.
pub fn request(bus: &Rc<Bus>) {
    if PENDING.with(|p| p.replace(true)) {
        return;
    }
    let bus = bus.clone();
    let frame = Closure::once_into_js(move || {
        PENDING.with(|p| p.set(false));
        render(&bus.state());
    });
    let asked = web_sys::window().map(|w| w.request_animation_frame(frame.unchecked_ref()));
    if !matches!(asked, Some(Ok(_))) {
        // No animation frames here: show it now.
        PENDING.with(|p| p.set(false));
    }
}

/// Shows `s`: its view, applied where it differs from what is on the page.
pub fn render(s: &State) {
    let now = view(s, crate::web::frame::now_ms());
    let last = APPLIED.with(|a| a.borrow_mut().take());
    apply(s, &now, last.as_ref());
    APPLIED.with(|a| *a.borrow_mut() = Some(now));
}

/// Forgets what was applied, so the next render draws every chart again (the window changed
/// size, so the canvases did).
pub fn invalidate() {
    APPLIED.with(|a| *a.borrow_mut() = None);
}

/// The main figure, for the PNG and SVG buttons.
pub fn main_chart() -> Chart {
    APPLIED.with(|a| a.borrow().as_ref().map_or(Chart::Loss, |v| v.main_chart))
}

fn apply(s: &State, v: &ViewModel, last: Option<&ViewModel>) {
    for (key, value) in &v.data {
        dom::set_data(key, value);
    }
    dom::set_text("status", &v.status);
    dom::set_text("progress", &v.progress);
    dom::set_text("speed", &v.speed);
    dom::set_text("params", &v.params);
    show_buttons(v);
    show_mode(v);
    show_sweep(v, last);
    if last.is_none_or(|l| l.messages != v.messages) {
        dom::show_messages(&v.messages);
    }
    show_lines(v);
    if last.is_none_or(|l| l.preview != v.preview) {
        show_preview(v.preview.as_ref());
    }
    // The charts: which show and which leads, then the drawing where the picture moved.
    for c in &v.charts {
        let fig = format!("fig-{}", c.chart.name());
        dom::set_hidden(&fig, !c.shown);
        dom::set_class(&fig, "lead", c.lead);
    }
    dom::set_text("sweep-caption", &v.sweep_caption);
    // The loss chart needs only the runs; the side charts' summaries are built again only when
    // they are drawn (the view built them once to choose what shows).
    if last.is_none_or(|l| l.loss_revision != v.loss_revision) {
        draw_loss(s.results());
    }
    if last.is_none_or(|l| l.side_revision != v.side_revision || l.charts != v.charts) {
        draw_side(v, &Figures::of(s.results()));
    }
}

fn show_buttons(v: &ViewModel) {
    let b = &v.buttons;
    let train: HtmlButtonElement = dom::el("train-button");
    let pause: HtmlButtonElement = dom::el("pause");
    let cancel: HtmlButtonElement = dom::el("cancel");
    dom::set_text("train-button", b.train);
    train.set_disabled(!b.train_enabled);
    pause.set_disabled(!b.pause_enabled);
    cancel.set_hidden(!b.cancel_shown);
    cancel.set_disabled(!b.cancel_enabled);
    // Weights (#35): the file a run starts from, and the last run's to download.
    dom::set_text("weights-status", v.weights_in.as_deref().unwrap_or(""));
    dom::set_hidden("weights-status", v.weights_in.is_none());
    dom::set_hidden("weights-forget", v.weights_in.is_none());
    dom::el::<HtmlButtonElement>("download-weights").set_disabled(!v.weights_out);
}

/// Presenter and embed mode's frame: the page's classes (the style sheet does the layout), the
/// charts' type scaled with the screen (axis labels 24 px at 1080p), the keys' list, the deck.
fn show_mode(v: &ViewModel) {
    dom::set_class("app", keys::PRESENT.name, v.present);
    dom::set_class("app", keys::EMBED.name, v.embed);
    dom::set_hidden("keys", !v.keys_shown);
    let height = web_sys::window()
        .and_then(|w| w.inner_height().ok())
        .and_then(|h| h.as_f64())
        .unwrap_or(900.0);
    let zoom = if v.present { (height / 490.0).max(1.0) } else { 1.0 };
    canvas::set_zoom(zoom);
    // The CSS pixels of the charts' axis labels (11 px at zoom 1), for the tests.
    dom::set_data("chartFont", &format!("{:.1}", 11.0 * zoom));
    dom::set_class("app", keys::DECK.name, v.deck.is_some());
    dom::set_hidden("deck-bar", v.deck.is_none());
    if let Some(d) = &v.deck {
        dom::set_text("deck-count", &d.count);
        dom::set_text("deck-title", &d.title);
        dom::set_text("deck-claim", &d.claim);
        dom::el::<HtmlButtonElement>("deck-prev").set_disabled(!d.previous);
        dom::el::<HtmlButtonElement>("deck-next").set_disabled(!d.next);
    }
}

fn show_sweep(v: &ViewModel, last: Option<&ViewModel>) {
    dom::set_hidden("sweep-bar", v.sweep.is_none());
    dom::set_hidden("runs-table", v.sweep.is_none());
    if let Some(bar) = &v.sweep {
        // Attributes rather than HtmlProgressElement: one more web-sys feature rebuilds wgpu.
        let el: web_sys::Element = dom::el("sweep-progress");
        let _ = el.set_attribute("max", &bar.total.to_string());
        let _ = el.set_attribute("value", &bar.done.to_string());
        dom::set_text("sweep-text", &bar.text);
    }
    if v.sweep.is_some() && last.is_none_or(|l| l.table != v.table) {
        let rows: Vec<(String, Vec<String>)> = v
            .table
            .iter()
            .map(|r| (r.status.to_string(), r.cells.clone()))
            .collect();
        dom::set_table_rows(&rows);
    }
}

/// The knobs in words, and the transformer's answers or sample (as text, never HTML).
fn show_lines(v: &ViewModel) {
    for (id, text) in [("adapt", &v.adapt), ("lrs", &v.rates), ("quant", &v.quant)] {
        dom::set_hidden(id, text.is_none());
        dom::set_text(id, text.as_deref().unwrap_or(""));
    }
    dom::set_hidden("fig-answers", v.answers.is_none());
    if let Some((caption, text)) = &v.answers {
        dom::set_text("answers-caption", caption);
        dom::set_text("seq-answers", text);
    }
}

/// The loss chart, and the hover targets it leaves. With many runs it is the costliest drawing,
/// so in a sweep its revision moves at most ten times a second.
fn draw_loss(results: Results) {
    let mut hover = Vec::new();
    let drawn = canvas::draw("loss-canvas", |root, style| {
        hover = report::draw_loss(&results, root, style)?;
        Ok(())
    });
    if let Err(e) = drawn {
        web_sys::console::warn_1(&e.into());
    }
    HOVER.with(|h| *h.borrow_mut() = hover);
}

/// Every side chart on screen, in the page's order; the first failure stops the rest.
fn draw_side(v: &ViewModel, figures: &Figures) {
    let drawn = v.charts.iter().filter(|c| c.shown).try_for_each(|c| {
        canvas::draw(&format!("{}-canvas", c.chart.name()), |root, style| {
            figures.draw(c.chart, root, style)
        })
    });
    if let Err(e) = drawn {
        web_sys::console::warn_1(&e.into());
    }
}

/// Names the loss-chart point nearest the pointer (within 24 CSS pixels).
pub fn show_hover(e: &MouseEvent) {
    let Some(canvas) = e.target().and_then(|t| t.dyn_into::<HtmlCanvasElement>().ok()) else {
        return;
    };
    let scale = f64::from(canvas.width()) / f64::from(canvas.client_width().max(1));
    let (x, y) = (f64::from(e.offset_x()) * scale, f64::from(e.offset_y()) * scale);
    let nearest = HOVER.with(|hover| {
        hover
            .borrow()
            .iter()
            .map(|h| ((f64::from(h.px) - x).hypot(f64::from(h.py) - y), h.clone()))
            .min_by(|p, q| p.0.total_cmp(&q.0))
            .filter(|(d, _)| *d <= 24.0 * scale)
    });
    let tip: web_sys::HtmlElement = dom::el("hover");
    match nearest {
        Some((_, h)) => {
            // Next to the point, in CSS pixels relative to the chart's figure.
            let left = f64::from(canvas.offset_left()) + f64::from(h.px) / scale + 12.0;
            let top = f64::from(canvas.offset_top()) + f64::from(h.py) / scale - 28.0;
            let style = tip.style();
            let _ = style.set_property("left", &format!("{left:.0}px"));
            let _ = style.set_property("top", &format!("{top:.0}px"));
            tip.set_text_content(Some(&h.text));
            tip.set_hidden(false);
        }
        None => {
            tip.set_text_content(None);
            tip.set_hidden(true);
        }
    }
}

/// The table file's preview (#35): its first rows as text cells (never HTML), the target column
/// and what it holds as the selects show them.
fn show_preview(p: Option<&crate::page::TablePreview>) {
    dom::set_hidden("data-preview", p.is_none());
    let Some(p) = p else { return };
    let doc = dom::document();
    let cell = |tag: &str, text: &str, target: bool| {
        let el = doc.create_element(tag).ok()?;
        el.set_text_content(Some(text));
        if target {
            el.set_class_name("target-column");
        }
        Some(el)
    };
    let table: web_sys::Element = dom::el("preview-table");
    table.set_text_content(None);
    let mut lines = vec![(p.columns.clone(), "th")];
    lines.extend(p.rows.iter().map(|r| (r.clone(), "td")));
    for (cells, tag) in lines {
        let Ok(tr) = doc.create_element("tr") else { return };
        for (c, text) in cells.iter().enumerate() {
            if let Some(el) = cell(tag, text, c == p.target) {
                let _ = tr.append_child(&el);
            }
        }
        let _ = table.append_child(&tr);
    }
    let target: web_sys::HtmlSelectElement = dom::el("preview-target");
    target.set_text_content(None);
    for (i, name) in p.columns.iter().enumerate() {
        if let Ok(option) = web_sys::HtmlOptionElement::new_with_text_and_value(name, &i.to_string()) {
            let _ = target.append_child(&option);
        }
    }
    target.set_value(&p.target.to_string());
    dom::el::<web_sys::HtmlSelectElement>("preview-kind").set_value(p.kind);
    dom::el::<web_sys::HtmlInputElement>("preview-points").set_checked(p.plane);
    dom::set_text("preview-summary", &p.summary);
}
