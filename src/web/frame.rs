//! Time and frame pacing in the browser.

use wasm_bindgen_futures::JsFuture;

/// Resolves at the next animation frame, so the runner yields to the page between chunks of work.
pub async fn next() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(w) = web_sys::window() {
            // If rAF is unavailable, resolving at once still yields through the microtask queue.
            if w.request_animation_frame(&resolve).is_err() {
                let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Milliseconds since navigation start (`performance.now()`).
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}
