//! Share and export: copy the link, download CSV / JSON of every run, PNG of a chart.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, HtmlInputElement};

use super::dom;
use crate::page::Level;
use crate::train::export;
use crate::train::metrics::Run;

pub fn copy_link() {
    let Some(window) = web_sys::window() else { return };
    let href = window.location().href().unwrap_or_default();
    let fallback: HtmlInputElement = dom::el("link-fallback");
    let show_fallback = move |fallback: &HtmlInputElement, href: &str| {
        // No clipboard (plain-http host, embedded page): show the link, selected, to copy by hand.
        fallback.set_value(href);
        fallback.set_hidden(false);
        fallback.select();
        dom::push_message(Level::Info, "Copy the selected link below.");
    };
    // `navigator.clipboard` is undefined outside secure contexts; calling into it would throw.
    let has_clipboard = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard"))
        .map(|c| !c.is_undefined() && !c.is_null())
        .unwrap_or(false);
    if !has_clipboard {
        show_fallback(&fallback, &href);
        return;
    }
    let promise = window.navigator().clipboard().write_text(&href);
    wasm_bindgen_futures::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => {
                fallback.set_hidden(true);
                dom::push_message(Level::Info, "Link copied to the clipboard.");
            }
            Err(_) => show_fallback(&fallback, &href),
        }
    });
}

fn save(name: &str, href: &str) -> Result<(), JsValue> {
    let a: web_sys::HtmlAnchorElement = dom::document().create_element("a")?.dyn_into()?;
    a.set_href(href);
    a.set_download(name);
    a.click();
    Ok(())
}

fn save_text(name: &str, mime: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)?;
    let href = web_sys::Url::create_object_url_with_blob(&blob)?;
    save(name, &href)?;
    web_sys::Url::revoke_object_url(&href)
}

fn report(what: &str, r: Result<(), JsValue>) {
    if let Err(e) = r {
        dom::push_message(Level::Error, &format!("Could not export {what}: {e:?}"));
    }
}

pub fn csv(runs: &[Run]) {
    report(
        "CSV",
        save_text("tinytune-runs.csv", "text/csv", &export::to_csv(runs)),
    );
}

pub fn json(runs: &[Run]) {
    report(
        "JSON",
        save_text("tinytune-runs.json", "application/json", &export::to_json(runs)),
    );
}

pub fn png(canvas_id: &str) {
    let canvas: HtmlCanvasElement = dom::el(canvas_id);
    report(
        "PNG",
        canvas
            .to_data_url_with_type("image/png")
            .and_then(|url| save("tinytune-chart.png", &url)),
    );
}
