//! The page's WebGPU module (#15) as the page gets it: fetched and compiled while it streams,
//! with a time limit, and handed to the service worker to keep for offline use. `web::remote`
//! decides when (a worker on the page's module needs WebGPU) and boots workers on it.

use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// How long the WebGPU module may take to arrive and compile (18 MB, 2.3 MB of Brotli: about
/// 20 s at 1 Mbit/s).
const LOAD_TIMEOUT_MS: i32 = 60_000;

/// The WebGPU module, compiled.
pub struct Loaded {
    pub glue: String,
    pub wasm: String,
    pub module: JsValue,
}

/// Fetches the WebGPU module and compiles it while it streams. Its files are named by the build
/// (`scripts/webgpu-module.mjs` writes them into `<meta name="tinytune-webgpu">`).
pub async fn load() -> Result<Loaded, String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let meta = document
        .query_selector("meta[name=tinytune-webgpu]")
        .ok()
        .flatten();
    let named = |attr: &str| {
        meta.as_ref()
            .and_then(|m| m.get_attribute(attr))
            .filter(|v| !v.is_empty())
    };
    let (Some(glue), Some(wasm)) = (named("content"), named("data-wasm")) else {
        return Err("this build of the page has none".into());
    };
    // Absolute: the worker imports the glue from its own script's URL (a blob in the bench).
    let base = document.base_uri().ok().flatten().unwrap_or_default();
    let absolute = |rel: &str| {
        web_sys::Url::new_with_base(rel, &base)
            .map(|u| u.href())
            .map_err(|_| format!("{rel} is not a URL"))
    };
    let (glue, wasm) = (absolute(&glue)?, absolute(&wasm)?);
    let window = web_sys::window().ok_or("no window")?;
    let response = window.fetch_with_str(&wasm);
    // A stalled download would hold the backend choice (the page waits for its answer) for good:
    // after LOAD_TIMEOUT_MS it counts as failed and the CPU trains.
    let timeout = js_sys::Promise::new(&mut |_, reject| {
        let message = JsValue::from_str(&format!("no module after {} s", LOAD_TIMEOUT_MS / 1000));
        let fail = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &message);
        });
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(fail.unchecked_ref(), LOAD_TIMEOUT_MS);
    });
    let compiled = js_sys::WebAssembly::compile_streaming(&response);
    let module = JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(&compiled, &timeout)))
        .await
        .map_err(|e| {
            let text = Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .or_else(|| e.as_string())
                .unwrap_or_else(|| format!("{e:?}"));
            format!("{wasm}: {text}")
        })?;
    Ok(Loaded { glue, wasm, module })
}

/// Asks the service worker (`www/sw.js`) to store these files with the build, so a page that
/// trained on WebGPU once does so offline too (index.html defines `tinytuneKeepOffline`).
pub fn keep_offline(urls: &[&str]) {
    let Some(window) = web_sys::window() else { return };
    let keep = Reflect::get(&window, &"tinytuneKeepOffline".into()).unwrap_or(JsValue::UNDEFINED);
    if let Some(keep) = keep.dyn_ref::<js_sys::Function>() {
        let list: js_sys::Array = urls.iter().map(|u| JsValue::from_str(u)).collect();
        let _ = keep.call1(&JsValue::NULL, &list);
    }
}
