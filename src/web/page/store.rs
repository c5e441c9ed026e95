//! Your data kept in this browser under its content hash (#35): one IndexedDB object store whose
//! keys are the hashes and whose values are the bodies as a link writes them inline (uncapped).
//! A link that names data too large for it by hash then runs again after a reload, here.
//!
//! Every call opens the database, does one transaction, waits for it to complete (a quota
//! error aborts the transaction after the request itself succeeded) and closes it, so no
//! connection stays open to block another tab's upgrade.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode};

const DB: &str = "tinytune";
const STORE: &str = "bodies";

/// Keeps `text` (a body written inline) under `hash`.
pub async fn put(hash: &str, text: &str) -> Result<(), String> {
    let db = open().await?;
    let result = async {
        let tx = db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(describe)?;
        tx.object_store(STORE)
            .and_then(|s| s.put_with_key(&JsValue::from_str(text), &JsValue::from_str(hash)))
            .map_err(describe)?;
        completed(&tx).await
    }
    .await;
    db.close();
    result
}

/// The body kept under `hash`, if any.
pub async fn get(hash: &str) -> Result<Option<String>, String> {
    let db = open().await?;
    let result = async {
        let req = db
            .transaction_with_str(STORE)
            .and_then(|t| t.object_store(STORE))
            .and_then(|s| s.get(&JsValue::from_str(hash)))
            .map_err(describe)?;
        Ok(done(&req).await?.as_string())
    }
    .await;
    db.close();
    result
}

/// The database with its store: created on the first open, and mended (one version up) where
/// a database of that name exists without it.
async fn open() -> Result<IdbDatabase, String> {
    let db = open_version(None).await?;
    if db.object_store_names().contains(STORE) {
        return Ok(db);
    }
    let next = db.version() as u32 + 1;
    db.close();
    open_version(Some(next)).await
}

async fn open_version(version: Option<u32>) -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("this browser offers no storage here (IndexedDB)")?;
    let req: IdbOpenDbRequest = match version {
        Some(v) => factory.open_with_u32(DB, v),
        None => factory.open(DB),
    }
    .map_err(describe)?;
    let upgrading = req.clone();
    let on_upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        if let Ok(db) = upgrading.result().and_then(|r| r.dyn_into::<IdbDatabase>())
            && !db.object_store_names().contains(STORE)
        {
            let _ = db.create_object_store(STORE);
        }
    });
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    // Another tab holding an older version open blocks the upgrade: fail rather than wait.
    let blocked = js_sys::Promise::new(&mut |_, reject| {
        let on_blocked = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = reject.call1(
                &JsValue::NULL,
                &JsValue::from_str("another tab holds the storage open"),
            );
        });
        req.set_onblocked(Some(on_blocked.unchecked_ref()));
    });
    let opened = race(&request_promise(&req), &blocked).await;
    req.set_onupgradeneeded(None);
    req.set_onblocked(None);
    drop(on_upgrade);
    let db = opened?.dyn_into::<IdbDatabase>().map_err(describe)?;
    // Close when another tab upgrades, rather than block it.
    let closing = db.clone();
    let on_change = Closure::once_into_js(move |_: web_sys::Event| closing.close());
    db.set_onversionchange(Some(on_change.unchecked_ref()));
    Ok(db)
}

/// A request's result, once it succeeds.
async fn done(req: &IdbRequest) -> Result<JsValue, String> {
    let promise = request_promise(req);
    let result = JsFuture::from(promise).await.map_err(describe);
    req.set_onsuccess(None);
    req.set_onerror(None);
    result
}

/// A promise of a request's result (its handlers are cleared by the caller once it settles).
fn request_promise(req: &IdbRequest) -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, reject| {
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
    })
}

/// A transaction's end: complete, or aborted (a quota error among them).
async fn completed(tx: &IdbTransaction) -> Result<(), String> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let on_complete = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let failed = tx.clone();
        let on_abort = Closure::once_into_js(move |_: web_sys::Event| {
            let why = failed
                .error()
                .map_or_else(|| "the transaction was aborted".to_string(), |e| e.message());
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&why));
        });
        tx.set_oncomplete(Some(on_complete.unchecked_ref()));
        tx.set_onabort(Some(on_abort.unchecked_ref()));
    });
    JsFuture::from(promise).await.map(|_| ()).map_err(describe)
}

async fn race(a: &js_sys::Promise, b: &js_sys::Promise) -> Result<JsValue, String> {
    JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(a, b)))
        .await
        .map_err(describe)
}

fn describe(e: JsValue) -> String {
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{e:?}"))
}
