//! The training worker's program (#16): a dedicated Web Worker runs the page's wasm module
//! (handed over compiled by `www/worker.js`), or the WebGPU module once a choice needed it (#15,
//! `web::page::remote`), owns the Burn device and the runner, and talks to the page only in
//! messages: [`ToWorker`] in, `Msg` out (through [`FromWorker`]). The page's main thread keeps
//! the DOM, the link and drawing.

mod gpu;
mod runner;
mod texts;

use std::cell::RefCell;
use std::rc::Rc;

use burn::prelude::Device;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::DedicatedWorkerGlobalScope;

use super::frame;
use crate::device::probe::{self, Pick, ProbeError};
use crate::knobs::ExperimentConfig;
use crate::page::{ActiveBackend, BackendKind, FromWorker, Msg, ToWorker, codec, cpu_backend};
use runner::{Control, Outbox};

/// The worker's one port to the page, its control and its device.
struct Port {
    scope: DedicatedWorkerGlobalScope,
    control: Control,
    /// The device the last `ChooseBackend` picked, and whether it is WebGPU; `None` while a
    /// choice is in flight.
    device: RefCell<Option<(Device, bool)>>,
    /// The last single quantized run's weights (see [`runner::Kept`]).
    kept: RefCell<Option<runner::Kept>>,
    /// `auto` on a hardware adapter: the GPU's name and the decisions made so far.
    auto: RefCell<Option<Auto>>,
}

/// `auto`'s state while both devices are candidates (`device::probe`).
struct Auto {
    gpu_name: String,
    /// Decisions by `probe::probe_key`: a study with the same work a step is not timed again.
    picks: Vec<((usize, u64), Pick, ActiveBackend)>,
}

impl Port {
    /// Posts `msg` to the page as bytes (`page::codec`). One that cannot be written or posted is
    /// replaced by a message that says so, which the page shows.
    fn post(&self, msg: &FromWorker) {
        let sent = codec::encode(msg).and_then(|bytes| self.post_bytes(&bytes));
        if let Err(why) = sent {
            let error = format!("the worker's {}: {why}", what(msg));
            let said = codec::encode(&FromWorker::Unreadable { error }).and_then(|b| self.post_bytes(&b));
            if let Err(e) = said {
                web_sys::console::error_1(&format!("tinytune worker: {e}").into());
            }
        }
    }

    fn post_bytes(&self, bytes: &[u8]) -> Result<(), String> {
        self.scope
            .post_message(&js_sys::Uint8Array::from(bytes))
            .map_err(|e| format!("the browser refused it ({e:?})"))
    }
}

/// What a message of the worker's is, for a message that it was lost.
fn what(msg: &FromWorker) -> &'static str {
    match msg {
        FromWorker::Page(m) => match **m {
            Msg::Frame(_) => "report of a round of steps",
            Msg::Analysed { .. } => "end-of-run figures",
            _ => "message",
        },
        FromWorker::Heard(_) | FromWorker::NeedsWebgpu { .. } => "message",
        FromWorker::Unreadable { .. } => "report of a lost message",
    }
}

impl Outbox for Port {
    fn send(&self, msg: Msg) {
        self.post(&FromWorker::Page(Box::new(msg)));
    }

    fn control(&self) -> &Control {
        &self.control
    }
}

thread_local! {
    static PORT: RefCell<Option<Rc<Port>>> = const { RefCell::new(None) };
}

fn port() -> Option<Rc<Port>> {
    PORT.with(|p| p.borrow().clone())
}

/// Whether this instance runs in a worker (no window): the page's start-up is skipped there.
pub fn in_worker() -> bool {
    js_sys::global().dyn_into::<web_sys::Window>().is_err()
}

/// Called by `www/worker.js` once the module is instantiated in the worker; `page_origin` is the
/// page's `performance.timeOrigin`, so the times in reports are on the page's clock.
#[wasm_bindgen]
pub fn worker_start(page_origin: f64) {
    let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() else {
        return;
    };
    frame::align_to(page_origin);
    PORT.with(|p| {
        *p.borrow_mut() = Some(Rc::new(Port {
            scope,
            control: Control::default(),
            device: RefCell::new(None),
            kept: RefCell::new(None),
            auto: RefCell::new(None),
        }))
    });
}

/// Called by `www/worker.js` for every message from the page: `(seq, ToWorker)` as bytes. One
/// it cannot read goes back to the page as `FromWorker::Unreadable`, which stops the run.
#[wasm_bindgen]
pub fn worker_message(data: JsValue) {
    let Some(port) = port() else { return };
    let read = match data.dyn_ref::<js_sys::Uint8Array>() {
        Some(bytes) => codec::decode::<codec::Envelope>(&bytes.to_vec()),
        None => Err("it is not bytes".into()),
    };
    let (seq, msg) = match read {
        Ok(m) => m,
        Err(why) => {
            let error = format!("a message from the page to the worker: {why}");
            port.post(&FromWorker::Unreadable { error });
            return;
        }
    };
    // Heard between rounds: the page's watchdog knows the worker is not stuck in a step.
    port.post(&FromWorker::Heard(seq));
    match msg {
        ToWorker::ChooseBackend { ticket, choice } => {
            *port.device.borrow_mut() = None;
            *port.auto.borrow_mut() = None;
            wasm_bindgen_futures::spawn_local(async move {
                let chosen = match gpu::choose(choice).await {
                    gpu::Choice::Ready(chosen) => chosen,
                    // The page answers with a worker on the WebGPU module; this one is let go.
                    gpu::Choice::NeedsWebgpuModule => {
                        port.post(&FromWorker::NeedsWebgpu { ticket });
                        return;
                    }
                };
                let is_gpu = chosen.backend.kind == BackendKind::Webgpu;
                *port.device.borrow_mut() = Some((chosen.device, is_gpu));
                *port.auto.borrow_mut() = chosen.auto.map(|gpu_name| Auto {
                    gpu_name,
                    picks: Vec::new(),
                });
                port.send(Msg::BackendReady {
                    ticket,
                    backend: chosen.backend,
                });
            });
        }
        ToWorker::NoWebgpuModule { reason } => gpu::no_webgpu_module(reason),
        ToWorker::MarkGpuLost => {
            // The page now shows the CPU backend and restarts the run: the device follows.
            gpu::mark_lost();
            *port.device.borrow_mut() = Some((crate::model::backend::cpu(), false));
            *port.auto.borrow_mut() = None;
        }
        ToWorker::Start {
            generation,
            configs,
            runs,
            share,
            sweep,
            stack,
            weights,
        } => {
            port.control.state.set((generation, None));
            wasm_bindgen_futures::spawn_local(async move {
                // A fresh worker may get Start while its backend is still being chosen.
                let (device, is_gpu) = loop {
                    if let Some(d) = port.device.borrow().clone() {
                        break d;
                    }
                    if port.control.state.get().0 != generation {
                        return;
                    }
                    frame::sleep(10).await;
                };
                if texts::needed(&configs) {
                    let loaded = texts::load().await;
                    if port.control.state.get().0 != generation {
                        return;
                    }
                    if let Err(e) = loaded {
                        let error = format!("the char LM's texts could not be fetched ({e})");
                        port.send(Msg::RunnerRefused { generation, error });
                        return;
                    }
                }
                let Some((device, is_gpu)) = pick(&port, generation, &configs, device, is_gpu).await else {
                    return; // a newer study took over while this one was timed
                };
                regrid(&port, generation, &configs);
                let start = match weights
                    .as_deref()
                    .map(crate::model::checkpoint::Checkpoint::from_bytes)
                {
                    Some(Err(error)) => {
                        port.send(Msg::RunnerRefused { generation, error });
                        return;
                    }
                    Some(Ok(ck)) => Some(ck),
                    None => None,
                };
                let mine = runner::Share {
                    runs,
                    share,
                    stack,
                    start,
                };
                if let Some(kept) =
                    runner::run(&*port, device, is_gpu, configs, mine, sweep, generation).await
                {
                    *port.kept.borrow_mut() = Some(kept);
                }
            });
        }
        ToWorker::Steer {
            generation,
            run_state,
        } => {
            let (g, _) = port.control.state.get();
            if generation >= g {
                port.control.state.set((generation, Some(run_state)));
            }
        }
    }
}

/// `auto` on a hardware adapter: the device that trains `configs` faster, timed on their
/// heaviest run (once per amount of work a step), said to the page. Elsewhere `device` as chosen.
/// `None` when the study changed while it was timed.
async fn pick(
    port: &Port,
    generation: u64,
    configs: &[ExperimentConfig],
    device: Device,
    is_gpu: bool,
) -> Option<(Device, bool)> {
    let Some(gpu_name) = port.auto.borrow().as_ref().map(|a| a.gpu_name.clone()) else {
        return Some((device, is_gpu));
    };
    let Some(heaviest) = probe::heaviest(configs) else {
        return Some((device, is_gpu));
    };
    let key = probe::probe_key(heaviest);
    let known = port.auto.borrow().as_ref().and_then(|a| {
        a.picks
            .iter()
            .find(|(k, ..)| *k == key)
            .map(|(_, p, b)| (*p, b.clone()))
    });
    let (pick, backend) = match known {
        Some(known) => known,
        None => {
            let cpu = crate::model::backend::cpu();
            let decided = probe::decide(heaviest, &cpu, &device).await;
            if port.control.state.get().0 != generation {
                return None;
            }
            let (pick, backend) = match decided {
                Ok(d) if d.pick == Pick::Gpu => (
                    Pick::Gpu,
                    ActiveBackend {
                        kind: BackendKind::Webgpu,
                        summary: format!("{gpu_name} (auto: {})", d.measured("WebGPU")),
                    },
                ),
                Ok(d) => (Pick::Cpu, cpu_backend(&format!("auto: {}", d.measured("WebGPU")))),
                // The experiment cannot run at all: the runner refuses it with its reason.
                Err(ProbeError::Cpu(_)) => return Some((device, is_gpu)),
                Err(ProbeError::Gpu(e)) => {
                    // A device that fails while it is timed is not used again (CubeCL poisons it).
                    gpu::mark_lost();
                    *port.auto.borrow_mut() = None;
                    *port.device.borrow_mut() = Some((cpu, false));
                    let backend = cpu_backend(&format!("auto: WebGPU failed while it was timed ({e})"));
                    port.send(Msg::BackendPicked { generation, backend });
                    return Some((crate::model::backend::cpu(), false));
                }
            };
            if let Some(a) = port.auto.borrow_mut().as_mut() {
                a.picks.push((key, pick, backend.clone()));
            }
            (pick, backend)
        }
    };
    port.send(Msg::BackendPicked { generation, backend });
    Some(match pick {
        Pick::Gpu => (device, true),
        Pick::Cpu => (crate::model::backend::cpu(), false),
    })
}

/// A PTQ knob moved on a finished run: the training is the same, so the kept weights under the
/// new setting are the figure the new run will end with; send it before the run repeats (to
/// measure the new setting's loss), so the figure follows the knob at once.
fn regrid(port: &Port, generation: u64, configs: &[crate::knobs::ExperimentConfig]) {
    let [cfg] = configs else { return };
    let figure = port
        .kept
        .borrow()
        .as_ref()
        .filter(|(old, _)| cfg.quant.enabled() && old.same_training(cfg))
        .and_then(|(_, weights)| crate::model::quant::weights::figure(weights, &cfg.quant));
    if let Some(figure) = figure {
        port.send(Msg::Regridded { generation, figure });
    }
}
