//! The char LM's texts in the page (#15): not compiled into the module but fetched by the
//! training worker from `text/` beside the page, the first time a text run starts
//! (`data::corpus` says why; `www/worker.js` does the fetching, `www/sw.js` keeps them offline).

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::data::corpus;
use crate::knobs::ExperimentConfig;
use crate::knobs::sequence::SeqKind;

/// Whether any of `configs` trains the char LM.
pub fn needed(configs: &[ExperimentConfig]) -> bool {
    // Your own text needs none of them (#35).
    configs
        .iter()
        .any(|c| c.task.sequence() == Some(SeqKind::Text) && c.own_text().is_none())
}

fn js_text(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Fetches the texts (once per worker) and gives them to `data::corpus`.
pub async fn load() -> Result<(), String> {
    if corpus::loaded() {
        return Ok(());
    }
    let fetch: Function = Reflect::get(&js_sys::global(), &"tinytuneFetchTexts".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("the worker's loader cannot fetch texts")?;
    let names: Array = corpus::FILES.iter().map(|n| JsValue::from_str(n)).collect();
    let promise: Promise = fetch
        .call1(&JsValue::NULL, &names)
        .map_err(js_text)?
        .dyn_into()
        .map_err(js_text)?;
    let texts: Array = JsFuture::from(promise)
        .await
        .map_err(js_text)?
        .dyn_into()
        .map_err(js_text)?;
    corpus::install(texts.iter().map(|t| t.as_string().unwrap_or_default()).collect())
}
