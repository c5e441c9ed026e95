//! Time and pacing, on the page and in the training worker: one clock (milliseconds since the
//! page's navigation start, in both) and the ways a loop yields to its event loop.

use std::cell::Cell;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

thread_local! {
    /// The worker's clock minus the page's (ms): the worker's `performance.now()` counts from its
    /// own start, and every time in a message must be on the page's clock. 0 on the page.
    static OFFSET: Cell<f64> = const { Cell::new(0.0) };
}

fn performance() -> Option<web_sys::Performance> {
    Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| p.dyn_into().ok())
}

/// The page's time origin (ms since the epoch), which the worker is told at start-up.
pub fn time_origin() -> f64 {
    performance().map(|p| p.time_origin()).unwrap_or(0.0)
}

/// In the worker: puts its clock on the page's, whose time origin is `page_origin`.
pub fn align_to(page_origin: f64) {
    OFFSET.with(|o| o.set(time_origin() - page_origin));
}

/// Milliseconds since the page's navigation start (`performance.now()` on the page).
pub fn now_ms() -> f64 {
    performance().map(|p| p.now()).unwrap_or(0.0) + OFFSET.with(Cell::get)
}

thread_local! {
    /// One channel for every `yield_now`, and the promises waiting on it, first in first out:
    /// each posted message answers the oldest waiter (a channel per call could be collected
    /// before its message arrives).
    static CHANNEL: Option<web_sys::MessageChannel> = web_sys::MessageChannel::new().ok().inspect(|c| {
        let answer = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(|| {
            if let Some(resolve) = WAITING.with(|w| w.borrow_mut().pop_front()) {
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        c.port1().set_onmessage(Some(answer.as_ref().unchecked_ref()));
        answer.forget(); // lives as long as the worker
    });
    static WAITING: std::cell::RefCell<std::collections::VecDeque<Function>> =
        const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
}

/// Yields to the event loop at once, so the worker's pending messages (Pause, Cancel) are handled
/// before its next chunk of steps. A message posted to a `MessageChannel` is a new task without
/// the ≥ 4 ms clamp that nested `setTimeout(0)` calls get.
pub async fn yield_now() {
    let promise = Promise::new(&mut |resolve, _reject| {
        let posted = CHANNEL.with(|c| {
            c.as_ref().is_some_and(|c| {
                WAITING.with(|w| w.borrow_mut().push_back(resolve.clone()));
                c.port2().post_message(&JsValue::NULL).is_ok()
            })
        });
        if !posted {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Resolves after `ms` milliseconds (`setTimeout`, on the page or in the worker).
pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _reject| {
        let set_timeout = Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        match set_timeout {
            Some(f) => {
                let _ = f.call2(&JsValue::NULL, &resolve, &JsValue::from(ms));
            }
            None => {
                let _ = resolve.call0(&JsValue::NULL);
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}
