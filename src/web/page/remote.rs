//! The page's side of the training worker (#16): it starts the worker (`www/worker.js`, handed
//! the page's own module compiled, so nothing is downloaded or compiled twice), posts it the shell's
//! effects as [`ToWorker`] messages and passes what it says to the bus. It also keeps the page's
//! promise that Cancel, Reset and a knob change land within 200 ms: a worker that has not taken
//! such a message within [`WATCHDOG_MS`] is in the middle of a long step, so it is terminated and
//! a fresh one gets the backend choice and the current run. A worker that fails (a trap, out of
//! memory) is replaced the same way, and the page says what failed.
//!
//! Workers start on the page's own module, which has no WebGPU (#15). When one says a choice
//! needs WebGPU, the page fetches and compiles the WebGPU module (once: it is kept compiled) and
//! replaces that worker with one on it; every later worker runs the WebGPU module too.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use super::bus::Bus;
use super::webgpu_module;
use crate::knobs::view::BackendChoice;
use crate::page::codec;
use crate::page::{FromWorker, Msg, RunState, ToWorker};
use crate::web::frame;

/// How long a worker may take to hear a Cancel or a restart before it is replaced (leaves the
/// fresh worker's start-up inside the 200 ms the page promises on the CPU backend).
pub const WATCHDOG_MS: i32 = 100;

/// The page's WebGPU module (`webgpu/`, #15) as far as the page has it.
enum WebgpuModule {
    /// No worker needed it yet: workers run the page's own module.
    Unneeded,
    Loading,
    /// Fetched and compiled: workers run it, from its glue at `glue` (an absolute URL).
    Ready {
        glue: String,
        module: JsValue,
    },
    /// It could not be loaded: workers stay on the page's module and are told why.
    Failed(String),
}

pub struct Remote {
    bus: Rc<Bus>,
    webgpu: RefCell<WebgpuModule>,
    worker: RefCell<Option<Worker>>,
    /// Numbers of the messages posted and of the last one the worker said it took.
    posted: Cell<u64>,
    heard: Cell<u64>,
    /// Whether the current worker has said anything yet: until then it is loading the module,
    /// and the watchdog leaves it alone (it takes its messages in order once it runs).
    booted: Cell<bool>,
    /// What a fresh worker needs to carry on: the backend choice (its answer is then not news to
    /// the page, which already has it), whether WebGPU was lost, the last run and run state.
    backend: Cell<Option<(u64, BackendChoice)>>,
    /// Whether the page has the answer to that choice (else a fresh worker's answer is news).
    backend_answered: Cell<bool>,
    replayed_ticket: Cell<Option<u64>>,
    gpu_lost: Cell<bool>,
    start: RefCell<Option<ToWorker>>,
    steer: Cell<Option<(u64, RunState)>>,
    /// The generation the worker follows: the newest whose Start or Steer it has heard (or the
    /// page's, once a busy worker was replaced), as `data-worker-at` says; and the numbers of the
    /// Starts and Steers not heard yet, with their generations.
    worker_at: Cell<u64>,
    unheard: RefCell<Vec<(u64, u64)>>,
    /// Workers started so far (`data-workers` on the page, which the tests read).
    spawned: Cell<u32>,
}

impl Remote {
    pub fn new(bus: Rc<Bus>) -> Rc<Self> {
        let remote = Rc::new(Self {
            bus,
            webgpu: RefCell::new(WebgpuModule::Unneeded),
            worker: RefCell::new(None),
            posted: Cell::new(0),
            heard: Cell::new(0),
            booted: Cell::new(false),
            backend: Cell::new(None),
            backend_answered: Cell::new(false),
            replayed_ticket: Cell::new(None),
            gpu_lost: Cell::new(false),
            start: RefCell::new(None),
            steer: Cell::new(None),
            worker_at: Cell::new(0),
            unheard: RefCell::new(Vec::new()),
            spawned: Cell::new(0),
        });
        remote.spawn();
        remote
    }

    /// Posts `msg` to the worker as bytes (`page::codec`); returns its number. A message that
    /// cannot be written or posted is said on the page, and the run it belonged to stops.
    fn post(&self, msg: &ToWorker) -> u64 {
        let seq = self.posted.get() + 1;
        self.posted.set(seq);
        let Some(worker) = self.worker.borrow().clone() else {
            return seq;
        };
        let posted = codec::to_worker(seq, msg).and_then(|bytes| {
            worker
                .post_message(&js_sys::Uint8Array::from(bytes.as_slice()))
                .map_err(|e| format!("the browser refused it ({})", js_text(&e)))
        });
        if let Err(why) = posted {
            self.lost(format!("the page's {} to the worker: {why}", what(msg)));
        }
        seq
    }

    /// Says on the page that a message was lost (after the current event: the page may be in
    /// the middle of a transition).
    fn lost(&self, error: String) {
        let bus = self.bus.clone();
        wasm_bindgen_futures::spawn_local(async move { bus.send(Msg::MessageLost { error }) });
    }

    pub fn choose_backend(&self, ticket: u64, choice: BackendChoice) {
        self.backend.set(Some((ticket, choice)));
        self.backend_answered.set(false);
        self.post(&ToWorker::ChooseBackend { ticket, choice });
    }

    pub fn mark_gpu_lost(&self) {
        self.gpu_lost.set(true);
        self.post(&ToWorker::MarkGpuLost);
    }

    /// Starts a run; a worker still busy with the last one is replaced if it does not hear this.
    pub fn start(self: &Rc<Self>, msg: ToWorker) {
        *self.start.borrow_mut() = Some(msg.clone());
        let seq = self.post(&msg);
        if let ToWorker::Start { generation, .. } = msg {
            self.unheard.borrow_mut().push((seq, generation));
        }
        self.watch(seq);
    }

    /// Tells the worker the page's run state when it changed. A Cancel or a new generation (Reset,
    /// a knob change) must reach it within the watchdog's time; a Pause waits for the step.
    pub fn steer(self: &Rc<Self>, generation: u64, run_state: RunState) {
        let last = self.steer.get();
        if last == Some((generation, run_state)) {
            return;
        }
        self.steer.set(Some((generation, run_state)));
        let seq = self.post(&ToWorker::Steer {
            generation,
            run_state,
        });
        self.unheard.borrow_mut().push((seq, generation));
        // A new generation without a Start (Reset) must free the worker of the old run; with a
        // Start, the Start is watched, and the worker may be building the new run's trainers.
        let started =
            matches!(&*self.start.borrow(), Some(ToWorker::Start { generation: g, .. }) if *g == generation);
        let new_generation = last.is_some_and(|(g, _)| g != generation);
        if run_state == RunState::Cancelled || (new_generation && !started) {
            self.watch(seq);
        }
    }

    /// The worker follows `generation` now (`data-worker-at`, which the tests wait on).
    fn follow(&self, generation: u64) {
        if generation > self.worker_at.get() {
            self.worker_at.set(generation);
            super::dom::set_data("workerAt", &generation.to_string());
        }
    }

    /// Replaces the worker unless it has heard message `seq` within [`WATCHDOG_MS`]. Not while it
    /// is choosing a device: starting WebGPU takes seconds on a software adapter, and a fresh
    /// worker would only start over.
    fn watch(self: &Rc<Self>, seq: u64) {
        if !self.backend_answered.get() {
            return;
        }
        let me = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let t0 = frame::now_ms();
            frame::sleep(WATCHDOG_MS).await;
            // A page busy past the deadline (drawing) may not have taken the worker's answer yet,
            // though it came in time: look again once the messages queued meanwhile are handled.
            if frame::now_ms() - t0 > f64::from(WATCHDOG_MS) + 10.0 {
                frame::sleep(10).await;
            }
            if me.booted.get() && me.heard.get() < seq && me.posted.get() >= seq {
                me.replace(None);
            }
        });
    }

    /// Terminates the worker and starts a fresh one that carries on where the page is; `failure`
    /// says what went wrong when it failed (the page is told), `None` when it was only busy.
    fn replace(self: &Rc<Self>, failure: Option<String>) {
        if let Some(w) = self.worker.borrow_mut().take() {
            w.terminate();
        }
        // The old worker, and the runs it held, are gone: nothing follows an older generation.
        self.unheard.borrow_mut().clear();
        if let Some((g, _)) = self.steer.get() {
            self.follow(g);
        }
        self.spawn();
        if self.gpu_lost.get() {
            self.post(&ToWorker::MarkGpuLost);
        }
        let failed = match &*self.webgpu.borrow() {
            WebgpuModule::Failed(reason) => Some(reason.clone()),
            _ => None,
        };
        if let Some(reason) = failed {
            self.post(&ToWorker::NoWebgpuModule { reason });
        }
        if let Some((ticket, choice)) = self.backend.get() {
            // The answer is swallowed only if the page already had it.
            self.replayed_ticket
                .set(self.backend_answered.get().then_some(ticket));
            self.post(&ToWorker::ChooseBackend { ticket, choice });
        }
        let steer = self.steer.get();
        let start = self.start.borrow().clone();
        if let Some(error) = failure {
            self.bus.send(Msg::WorkerFailed { error });
            return;
        }
        // Carry on: the current run starts again on the fresh worker (from its first step, as a
        // restart does), or a cancelled one is reported stopped.
        match (start, steer) {
            (Some(ToWorker::Start { generation, .. }), Some((g, RunState::Cancelled))) if generation == g => {
                self.bus.send(Msg::RunnerStopped { generation })
            }
            (Some(start @ ToWorker::Start { generation, .. }), steer) => {
                if steer.is_none_or(|(g, _)| g <= generation) {
                    self.post(&start);
                }
                if let Some((g, s)) = steer {
                    self.post(&ToWorker::Steer {
                        generation: g,
                        run_state: s,
                    });
                }
            }
            _ => {}
        }
    }

    fn spawn(self: &Rc<Self>) {
        self.spawned.set(self.spawned.get() + 1);
        super::dom::set_data("workers", &self.spawned.get().to_string());
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = match Worker::new_with_options("./worker.js", &options) {
            Ok(w) => w,
            Err(e) => {
                web_sys::console::error_1(&e);
                return;
            }
        };
        let me = self.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            me.hear(e.data());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget(); // one per worker; a worker lives until it fails or is replaced
        let me = self.clone();
        let on_error = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
            e.prevent_default();
            let what = e.message();
            me.replace(Some(if what.is_empty() {
                "the worker stopped".into()
            } else {
                what
            }));
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        // The boot message: where the glue is, the compiled module, and the page's clock.
        let (glue, module) = match &*self.webgpu.borrow() {
            WebgpuModule::Ready { glue, module } => (glue.clone(), module.clone()),
            _ => (glue_url(), wasm_bindgen::module()),
        };
        let boot = Object::new();
        let _ = Reflect::set(&boot, &"glue".into(), &glue.into());
        let _ = Reflect::set(&boot, &"module".into(), &module);
        let _ = Reflect::set(&boot, &"origin".into(), &frame::time_origin().into());
        let msg = Object::new();
        let _ = Reflect::set(&msg, &"boot".into(), &boot);
        if let Err(e) = worker.post_message(&msg) {
            web_sys::console::error_1(&e);
        }
        *self.worker.borrow_mut() = Some(worker);
        // A fresh worker has heard nothing yet; older numbers are not waited on.
        self.heard.set(self.posted.get());
        self.booted.set(false);
    }

    fn hear(self: &Rc<Self>, data: JsValue) {
        let msg: FromWorker = if let Some(bytes) = data.dyn_ref::<js_sys::Uint8Array>() {
            match codec::from_worker(&bytes.to_vec()) {
                Ok(m) => m,
                Err(why) => {
                    self.lost(format!("a message from the worker: {why}"));
                    return;
                }
            }
        } else if let Some(error) = Reflect::get(&data, &"failed".into())
            .ok()
            .and_then(|f| f.as_string())
        {
            // `www/worker.js` says the worker itself failed, before or beside the Rust side.
            FromWorker::Page(Box::new(Msg::WorkerFailed { error }))
        } else {
            self.lost("a message from the worker that is not one".into());
            return;
        };
        // Its first word: a worker that fails before it has said anything failed to start.
        let first = !self.booted.replace(true);
        match msg {
            FromWorker::Heard(seq) => {
                self.heard.set(self.heard.get().max(seq));
                let heard: Vec<u64> = {
                    let mut unheard = self.unheard.borrow_mut();
                    let g = unheard
                        .iter()
                        .filter(|&&(s, _)| s <= seq)
                        .map(|&(_, g)| g)
                        .collect();
                    unheard.retain(|&(s, _)| s > seq);
                    g
                };
                if let Some(g) = heard.into_iter().max() {
                    self.follow(g);
                }
            }
            FromWorker::NeedsWebgpu { ticket } => self.need_webgpu(ticket),
            FromWorker::Unreadable { error } => self.bus.send(Msg::MessageLost { error }),
            FromWorker::Page(msg) => match *msg {
                Msg::WorkerFailed { error } => {
                    // A worker on the WebGPU module that cannot start (its glue not fetched, no
                    // memory for the larger module) would fail again on every replacement: the
                    // next ones run the page's module, and choices that need WebGPU get the CPU.
                    if first && matches!(&*self.webgpu.borrow(), WebgpuModule::Ready { .. }) {
                        *self.webgpu.borrow_mut() = WebgpuModule::Failed(error.clone());
                    }
                    self.replace(Some(error))
                }
                Msg::BackendReady { ticket, .. } if self.replayed_ticket.get() == Some(ticket) => {
                    // A fresh worker took the page's backend choice again: not news to the page.
                    self.replayed_ticket.set(None);
                }
                msg => {
                    if let Msg::BackendReady { ticket, .. } = &msg
                        && self.backend.get().is_some_and(|(t, _)| t == *ticket)
                    {
                        self.backend_answered.set(true);
                    }
                    self.bus.send(msg)
                }
            },
        }
    }

    /// The worker, on the page's module, has a WebGPU adapter for the choice `ticket`: load the
    /// WebGPU module and replace the worker with one on it, or tell it the module failed so that
    /// it answers with the CPU.
    fn need_webgpu(self: &Rc<Self>, ticket: u64) {
        if self.backend.get().is_none_or(|(t, _)| t != ticket) {
            return; // an older choice's answer
        }
        match &*self.webgpu.borrow() {
            WebgpuModule::Unneeded => {}
            WebgpuModule::Loading | WebgpuModule::Failed(_) => return,
            // Workers spawned since run it; this one cannot have been: start one that does.
            WebgpuModule::Ready { .. } => {
                let me = self.clone();
                wasm_bindgen_futures::spawn_local(async move { me.replace(None) });
                return;
            }
        }
        *self.webgpu.borrow_mut() = WebgpuModule::Loading;
        let me = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match webgpu_module::load().await {
                Ok(webgpu_module::Loaded { glue, wasm, module }) => {
                    webgpu_module::keep_offline(&[&glue, &wasm]);
                    *me.webgpu.borrow_mut() = WebgpuModule::Ready { glue, module };
                    me.replace(None);
                }
                Err(reason) => {
                    web_sys::console::warn_1(&format!("tinytune: the WebGPU module: {reason}").into());
                    *me.webgpu.borrow_mut() = WebgpuModule::Failed(reason.clone());
                    me.post(&ToWorker::NoWebgpuModule { reason });
                    if let Some((ticket, choice)) = me.backend.get() {
                        me.post(&ToWorker::ChooseBackend { ticket, choice });
                    }
                }
            }
        });
    }
}

/// The URL of the wasm-bindgen glue this page loaded (Trunk preloads it as a module).
fn glue_url() -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("link[rel=modulepreload]").ok().flatten())
        // The `href` property is the absolute URL (the attribute may be relative).
        .and_then(|l| Reflect::get(&l, &"href".into()).ok())
        .and_then(|h| h.as_string())
        .unwrap_or_default()
}

/// What a message to the worker is, for a message that it was lost.
fn what(msg: &ToWorker) -> &'static str {
    match msg {
        ToWorker::ChooseBackend { .. } => "backend choice",
        ToWorker::MarkGpuLost => "news of the lost GPU",
        ToWorker::NoWebgpuModule { .. } => "news of the WebGPU module",
        ToWorker::Start { .. } => "run",
        ToWorker::Steer { .. } => "run state",
    }
}

/// A JavaScript error as text.
fn js_text(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "no reason given".into())
}
