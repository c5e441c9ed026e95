//! Which backend trains: WebGPU on a hardware adapter, Burn's CPU backend otherwise, and why.
//!
//! The probe asks the browser for an adapter itself (through `navigator.gpu`) because Burn does not
//! expose whether the adapter is a software fallback; SwiftShader is ~70× slower than the CPU
//! backend for small MLPs (docs/TOOLCHAIN.md), so `auto` avoids it. On a hardware adapter `auto`
//! keeps both devices and lets each study's own steps decide (`device::probe`, in the worker's
//! Start).
//!
//! It runs in the training worker, which owns the device (#16); Chromium offers `navigator.gpu`
//! there as on the page. The page asks for one selection at a time (`page::update` holds a newer
//! choice until the current one answers), so Burn's runtime, which starts once per worker, is
//! never started twice.
//!
//! The page ships two modules (#15): the one it loads itself, built without Burn's wgpu backend
//! (the page and CPU training, a quarter of the size), and the WebGPU module, fetched only when a
//! worker is to train on WebGPU. The CPU module's worker answers a choice that needs WebGPU with
//! [`Choice::NeedsWebgpuModule`]; the page then replaces it with a worker on the WebGPU module
//! (`web::remote`), which has both backends and takes the choice again.

use std::cell::{Cell, RefCell};

use burn::prelude::Device;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::knobs::view::BackendChoice;
use crate::page::{ActiveBackend, cpu_backend};

/// What a backend selection gives the worker.
pub struct Chosen {
    /// What the page shows.
    pub backend: ActiveBackend,
    pub device: Device,
    /// `auto` on a hardware adapter: the name the page shows for the GPU, which is timed against
    /// the CPU on each study before it trains.
    pub auto: Option<String>,
}

/// The CPU backend, with the reason it is the one in use.
fn cpu(reason: &str) -> Chosen {
    Chosen {
        backend: cpu_backend(reason),
        device: crate::model::backend::cpu(),
        auto: None,
    }
}

/// What the browser says about its WebGPU adapter.
#[derive(Clone, Debug)]
pub struct AdapterInfo {
    pub name: String,
    pub is_fallback: bool,
}

#[cfg(feature = "webgpu")]
thread_local! {
    /// Burn's wgpu runtime can be initialised once per worker; later choices reuse it.
    static WGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

thread_local! {
    /// Set once the device is lost: CubeCL then fails every read on it, and the runtime cannot be
    /// initialised a second time, so WebGPU stays off until the page is reloaded (the page tells
    /// a fresh worker too).
    static LOST: Cell<bool> = const { Cell::new(false) };
}

/// Records that the WebGPU device was lost (called when a read from it fails).
pub fn mark_lost() {
    LOST.with(|l| l.set(true));
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn text(obj: &JsValue, key: &str) -> String {
    get(obj, key).as_string().unwrap_or_default()
}

/// Asks `navigator.gpu` for an adapter. `Err` says, in words, why there is none.
pub async fn probe() -> Result<AdapterInfo, String> {
    // The page's or the worker's navigator.
    let gpu = get(&get(&js_sys::global(), "navigator"), "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request: Function = get(&gpu, "requestAdapter")
        .dyn_into()
        .map_err(|_| "this browser's WebGPU has no requestAdapter".to_string())?;
    let promise: Promise = request
        .call0(&gpu)
        .and_then(|p| p.dyn_into().map_err(|_| JsValue::from_str("not a promise")))
        .map_err(|e| format!("requesting a WebGPU adapter failed: {e:?}"))?;
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| format!("requesting a WebGPU adapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("this browser has WebGPU but offers no adapter".into());
    }
    let info = get(&adapter, "info");
    // `isFallbackAdapter` moved from the adapter to its info in recent Chromium; read both.
    let is_fallback = get(&info, "isFallbackAdapter").as_bool().unwrap_or(false)
        || get(&adapter, "isFallbackAdapter").as_bool().unwrap_or(false);
    let description = text(&info, "description");
    let name = if description.is_empty() {
        let parts: Vec<String> = ["vendor", "architecture", "device"]
            .iter()
            .map(|k| text(&info, k))
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            "unnamed adapter".to_string()
        } else {
            parts.join(" ")
        }
    } else {
        description
    };
    Ok(AdapterInfo { name, is_fallback })
}

/// What a backend selection comes to in this module.
pub enum Choice {
    /// A device, ready.
    Ready(Chosen),
    /// WebGPU is wanted and this is the page's CPU module (built without Burn's wgpu backend):
    /// the page starts a worker on the WebGPU module, which takes the same choice again.
    #[cfg_attr(
        feature = "webgpu",
        expect(dead_code, reason = "only the CPU module needs the other")
    )]
    NeedsWebgpuModule,
}

/// Picks the backend for `choice`: what the page shows of it, and the device.
pub async fn choose(choice: BackendChoice) -> Choice {
    if choice == BackendChoice::Cpu {
        return Choice::Ready(cpu("chosen in the Backend selector"));
    }
    if LOST.with(Cell::get) {
        return Choice::Ready(cpu(
            "the WebGPU device was lost earlier; reload the page to use WebGPU again",
        ));
    }
    let adapter = match probe().await {
        Ok(a) => a,
        Err(why) => return Choice::Ready(cpu(&format!("{why}; training on the CPU instead"))),
    };
    if choice == BackendChoice::Auto && adapter.is_fallback {
        return Choice::Ready(cpu(&format!(
            "the WebGPU adapter ({}) is a software fallback, about 70× slower than the CPU backend \
             for small models; choose WebGPU in the Backend selector to use it anyway",
            adapter.name
        )));
    }
    on_webgpu(choice, adapter).await
}

#[cfg(not(feature = "webgpu"))]
thread_local! {
    /// Why the page could not load the WebGPU module, once it has said so.
    static NO_MODULE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The page could not load the WebGPU module (offline before it was stored, a failed fetch):
/// choices that need it train on the CPU, saying why. Only the CPU module is told.
pub fn no_webgpu_module(reason: String) {
    #[cfg(not(feature = "webgpu"))]
    NO_MODULE.with(|m| *m.borrow_mut() = Some(reason));
    #[cfg(feature = "webgpu")]
    let _ = reason;
}

/// The CPU module: WebGPU is wanted and there is an adapter, so the page is to load the module
/// that has Burn's wgpu backend — unless it could not.
#[cfg(not(feature = "webgpu"))]
async fn on_webgpu(_choice: BackendChoice, _adapter: AdapterInfo) -> Choice {
    match NO_MODULE.with(|m| m.borrow().clone()) {
        Some(reason) => Choice::Ready(cpu(&format!(
            "the WebGPU module could not be loaded ({reason}); training on the CPU instead \
             (reload the page to try WebGPU again)"
        ))),
        None => Choice::NeedsWebgpuModule,
    }
}

/// The WebGPU module: Burn's wgpu device on the adapter.
#[cfg(feature = "webgpu")]
async fn on_webgpu(choice: BackendChoice, adapter: AdapterInfo) -> Choice {
    use crate::page::BackendKind;
    let name = format!("WebGPU — {}", adapter.name);
    Choice::Ready(match wgpu_device().await {
        Ok(device) if choice == BackendChoice::Auto => Chosen {
            backend: ActiveBackend {
                kind: BackendKind::Webgpu,
                summary: format!("{name} (auto: timing it against the CPU on this experiment…)"),
            },
            device,
            auto: Some(name),
        },
        Ok(device) => Chosen {
            backend: ActiveBackend {
                kind: BackendKind::Webgpu,
                summary: if adapter.is_fallback {
                    format!("{name} (software adapter: slow)")
                } else {
                    name
                },
            },
            device,
            auto: None,
        },
        Err(why) => cpu(&format!("{why}; training on the CPU instead")),
    })
}

#[cfg(feature = "webgpu")]
async fn wgpu_device() -> Result<Device, String> {
    if let Some(d) = WGPU.with(|w| w.borrow().clone()) {
        return Ok(d);
    }
    crate::model::backend::configure();
    let device = Device::wgpu_options()
        .tasks_max(crate::model::backend::WGPU_TASKS_MAX)
        .init_async()
        .await;
    let device = device.map_err(|e| format!("Burn could not start WebGPU: {e:?}"))?;
    WGPU.with(|w| *w.borrow_mut() = Some(device.clone()));
    Ok(device)
}
