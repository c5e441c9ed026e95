//! Share and export: copy the link, download CSV / JSON of every run, PNG or SVG of a chart.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, HtmlInputElement};

use super::dom;
use crate::page::{Level, State};
use crate::report::export;
use crate::report::{Chart, Figures};
use crate::train::metrics::Run;

pub fn copy_link() {
    let Some(window) = web_sys::window() else { return };
    copy_text(&window.location().href().unwrap_or_default(), "Link");
}

/// The `<iframe>` snippet of this experiment in embed mode, for slides and blog posts.
pub fn copy_embed(study: &crate::link::study::Study) {
    let Some(window) = web_sys::window() else { return };
    let location = window.location();
    let mut embedded = study.clone();
    embedded.view.embed = true;
    embedded.view.present = false;
    let src = format!(
        "{}{}?{}",
        location.origin().unwrap_or_default(),
        location.pathname().unwrap_or_default(),
        crate::link::url::to_query(&embedded)
    );
    // The link is URL-encoded (no quotes or angle brackets); `&` is escaped for the attribute.
    let code = format!(
        "<iframe src=\"{}\" width=\"800\" height=\"480\" style=\"border:0\" loading=\"lazy\" title=\"tinytune\"></iframe>",
        src.replace('&', "&amp;")
    );
    copy_text(&code, "Embed code");
}

/// Puts `text` on the clipboard, or, where there is none (a plain-http host, an embedded page),
/// shows it selected below the charts to copy by hand. `what` names it in the message.
fn copy_text(text: &str, what: &'static str) {
    let Some(window) = web_sys::window() else { return };
    let fallback: HtmlInputElement = dom::el("link-fallback");
    let text = text.to_string();
    let show_fallback = move |fallback: &HtmlInputElement, text: &str| {
        fallback.set_value(text);
        fallback.set_hidden(false);
        fallback.select();
        dom::push_message(Level::Info, &format!("{what}: copy the selected text below."));
    };
    // `navigator.clipboard` is undefined outside secure contexts; calling into it would throw.
    let has_clipboard = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard"))
        .map(|c| !c.is_undefined() && !c.is_null())
        .unwrap_or(false);
    if !has_clipboard {
        show_fallback(&fallback, &text);
        return;
    }
    let promise = window.navigator().clipboard().write_text(&text);
    wasm_bindgen_futures::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => {
                fallback.set_hidden(true);
                dom::push_message(Level::Info, &format!("{what} copied to the clipboard."));
            }
            Err(_) => show_fallback(&fallback, &text),
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

fn save_bytes(name: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts)?;
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

/// The experiment with its data as one file (`link::bundle`), which opens the same on another
/// machine: dropped on the page, or with the CLI's `--open`.
pub fn experiment(study: &crate::link::study::Study) {
    let name = format!("tinytune-experiment.{}", crate::link::bundle::EXTENSION);
    report(
        "the experiment",
        save_text(&name, "text/plain", &crate::link::bundle::write(study)),
    );
}

/// The last single run's weights as safetensors, and its LoRA adapters as a second file.
pub fn weights(state: &State) {
    let Some(w) = &state.weights_out else { return };
    use crate::vocab::Named;
    let name = format!("tinytune-{}", state.study.experiment.task.key());
    report("the weights", save_bytes(&format!("{name}.safetensors"), &w.base));
    if let Some(adapters) = &w.adapters {
        report(
            "the adapters",
            save_bytes(&format!("{name}-adapters.safetensors"), adapters),
        );
    }
}

pub fn png(chart: Chart) {
    let canvas: HtmlCanvasElement = dom::el(&format!("{}-canvas", chart.name()));
    report(
        "PNG",
        canvas
            .to_data_url_with_type("image/png")
            .and_then(|url| save(&format!("tinytune-{}.png", chart.name()), &url)),
    );
}

/// `chart` drawn again as SVG at its size on screen, with its title, its caption and the link
/// that reproduces it inside the file.
pub fn svg(state: &State, chart: Chart) {
    let canvas: HtmlCanvasElement = dom::el(&format!("{}-canvas", chart.name()));
    let size = (
        canvas.client_width().max(320) as u32,
        canvas.client_height().max(200) as u32,
    );
    let caption = dom::document()
        .query_selector(&format!("#fig-{} figcaption", chart.name()))
        .ok()
        .flatten()
        .and_then(|c| c.text_content())
        .unwrap_or_default();
    let link = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default();
    let desc = format!("{} Made with tinytune: {link}", caption.trim());
    let text = crate::report::svg(&Figures::of(state.results()), chart, size, &desc);
    let saved = text
        .map_err(|e| JsValue::from_str(&e))
        .and_then(|text| save_text(&format!("tinytune-{}.svg", chart.name()), "image/svg+xml", &text));
    report("SVG", saved);
}
