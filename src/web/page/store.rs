//! Your data kept in this browser under its content hash (#35): one IndexedDB object store whose
//! keys are the hashes and whose values are the bodies as a link writes them inline (uncapped).
//! A link that names data too large for it by hash then runs again after a reload, here.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransactionMode};

const DB: &str = "tinytune";
const STORE: &str = "data";

/// Keeps `text` (a body written inline) under `hash`.
pub async fn put(hash: &str, text: &str) -> Result<(), String> {
    let db = open().await?;
    let store = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .and_then(|t| t.object_store(STORE))
        .map_err(describe)?;
    let req = store
        .put_with_key(&JsValue::from_str(text), &JsValue::from_str(hash))
        .map_err(describe)?;
    done(&req).await.map(|_| ())
}

/// The body kept under `hash`, if any.
pub async fn get(hash: &str) -> Result<Option<String>, String> {
    let db = open().await?;
    let store = db
        .transaction_with_str(STORE)
        .and_then(|t| t.object_store(STORE))
        .map_err(describe)?;
    let req = store.get(&JsValue::from_str(hash)).map_err(describe)?;
    Ok(done(&req).await?.as_string())
}

async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("this browser offers no storage here (IndexedDB)")?;
    let req = factory.open_with_u32(DB, 1).map_err(describe)?;
    // The first open creates the store.
    let upgrading = req.clone();
    let on_upgrade = Closure::once_into_js(move |_: web_sys::Event| {
        if let Ok(db) = upgrading.result().and_then(|r| r.dyn_into::<IdbDatabase>())
            && !db.object_store_names().contains(STORE)
        {
            let _ = db.create_object_store(STORE);
        }
    });
    req.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    done(&req).await?.dyn_into::<IdbDatabase>().map_err(describe)
}

/// A request's result, once it succeeds.
async fn done(req: &IdbRequest) -> Result<JsValue, String> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let ok = req.clone();
        let on_success = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::NULL, &ok.result().unwrap_or(JsValue::UNDEFINED));
        });
        let failed = req.clone();
        let on_error = Closure::once_into_js(move |_: web_sys::Event| {
            let why = failed
                .error()
                .ok()
                .flatten()
                .map_or_else(|| "the request failed".to_string(), |e| e.message());
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&why));
        });
        req.set_onsuccess(Some(on_success.unchecked_ref()));
        req.set_onerror(Some(on_error.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(describe)
}

fn describe(e: JsValue) -> String {
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{e:?}"))
}
