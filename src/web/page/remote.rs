//! The page's side of the training worker (#16): it starts the worker (`www/worker.js`, handed
//! the page's own module compiled, so nothing is downloaded or compiled twice), posts it the shell's
//! effects as [`ToWorker`] messages and passes what it says to the bus. It also keeps the page's
//! promise that Cancel, Reset and a knob change land within 200 ms: a worker that has not taken
//! such a message within [`WATCHDOG_MS`] is in the middle of a long step, so it is terminated and
//! a fresh one gets the backend choice and the current run. A worker that fails (a trap, out of
//! memory) is replaced the same way, and the page says what failed.
//!
//! A sweep on the CPU may train on a pool (#33): one worker a share of its runs
//! (`experiment::pool`), the first being the page's own worker; each is watched and replaced as
//! that one is, and Pause, Cancel and a new run reach every one.
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
use super::lanes::{self, Lane};
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

/// The ticket of a pool worker's backend choice: the CPU, which the page does not wait on.
const POOL_TICKET: u64 = 0;

pub struct Remote {
    bus: Rc<Bus>,
    webgpu: RefCell<WebgpuModule>,
    lanes: RefCell<Vec<Lane>>,
    /// What a fresh worker needs to carry on: the backend choice (its answer is then not news to
    /// the page, which already has it), whether WebGPU was lost, the page's run state.
    backend: Cell<Option<(u64, BackendChoice)>>,
    /// Whether the page has the answer to that choice (else a fresh worker's answer is news).
    backend_answered: Cell<bool>,
    replayed_ticket: Cell<Option<u64>>,
    gpu_lost: Cell<bool>,
    steer: Cell<Option<(u64, RunState)>>,
    /// The generation every worker follows (`data-worker-at`, which the tests wait on), and the
    /// rounds every worker of a generation has begun, as told to the page.
    worker_at: Cell<u64>,
    frames_told: Cell<(u64, u64)>,
    /// Workers started so far (`data-workers` on the page, which the tests read).
    spawned: Cell<u32>,
}

impl Remote {
    pub fn new(bus: Rc<Bus>) -> Rc<Self> {
        let remote = Rc::new(Self {
            bus,
            webgpu: RefCell::new(WebgpuModule::Unneeded),
            lanes: RefCell::new(vec![Lane::default()]),
            backend: Cell::new(None),
            backend_answered: Cell::new(false),
            replayed_ticket: Cell::new(None),
            gpu_lost: Cell::new(false),
            steer: Cell::new(None),
            worker_at: Cell::new(0),
            frames_told: Cell::new((0, 0)),
            spawned: Cell::new(0),
        });
        remote.spawn(0);
        remote
    }

    /// Posts `msg` to worker `lane` as bytes (`page::codec`); returns its number. A message that
    /// cannot be written or posted is said on the page, and the run it belonged to stops.
    fn post(&self, lane: usize, msg: &ToWorker) -> u64 {
        let (seq, worker) = {
            let mut lanes = self.lanes.borrow_mut();
            let Some(l) = lanes.get_mut(lane) else { return 0 };
            l.posted += 1;
            (l.posted, l.worker.clone())
        };
        let Some(worker) = worker else { return seq };
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

    fn lane_count(&self) -> usize {
        self.lanes.borrow().len()
    }

    pub fn choose_backend(&self, ticket: u64, choice: BackendChoice) {
        self.backend.set(Some((ticket, choice)));
        self.backend_answered.set(false);
        self.post(0, &ToWorker::ChooseBackend { ticket, choice });
    }

    pub fn mark_gpu_lost(&self) {
        self.gpu_lost.set(true);
        self.post(0, &ToWorker::MarkGpuLost);
    }

    /// Starts a run: each share of `shares` (indices into `configs`) on a worker of its own,
    /// starting pool workers as needed and letting go of those the run does not use (#33). A
    /// worker still busy with the last run is replaced if it does not hear this.
    pub fn start(
        self: &Rc<Self>,
        generation: u64,
        configs: &[crate::knobs::ExperimentConfig],
        sweep: bool,
        stack: crate::knobs::view::Stack,
        shares: Vec<Vec<usize>>,
        weights: Option<Vec<u8>>,
    ) {
        let shares = if shares.is_empty() {
            vec![(0..configs.len()).collect()]
        } else {
            shares
        };
        // Workers the run does not use are stopped now: they would go on with the old run's
        // arithmetic until they heard of the new one.
        let extra: Vec<Lane> = {
            let mut lanes = self.lanes.borrow_mut();
            let keep = shares.len().max(1);
            if lanes.len() > keep {
                lanes.split_off(keep)
            } else {
                Vec::new()
            }
        };
        for lane in extra {
            if let Some(w) = lane.worker {
                w.terminate();
            }
        }
        while self.lane_count() < shares.len() {
            let lane = self.lane_count();
            self.lanes.borrow_mut().push(Lane {
                at: self.worker_at.get(),
                ..Lane::default()
            });
            self.spawn(lane);
            self.post(lane, &Self::pool_choice());
        }
        for (k, share) in shares.iter().enumerate() {
            let msg = ToWorker::Start {
                generation,
                configs: share.iter().filter_map(|&i| configs.get(i).cloned()).collect(),
                runs: share.clone(),
                share: k,
                sweep,
                stack,
                weights: weights.clone(),
            };
            {
                let mut lanes = self.lanes.borrow_mut();
                let l = &mut lanes[k];
                l.start = Some(msg.clone());
                l.retried = false;
                l.stopped = None;
            }
            let seq = self.post(k, &msg);
            self.lanes.borrow_mut()[k].unheard.push((seq, generation));
            self.watch(k, seq);
        }
    }

    /// A pool worker's backend: the CPU, whatever the page's choice (a pool trains on the CPU).
    fn pool_choice() -> ToWorker {
        ToWorker::ChooseBackend {
            ticket: POOL_TICKET,
            choice: BackendChoice::Cpu,
        }
    }

    /// Tells every worker the page's run state when it changed. A Cancel or a new generation
    /// (Reset, a knob change) must reach each within the watchdog's time; a Pause waits for the
    /// step.
    pub fn steer(self: &Rc<Self>, generation: u64, run_state: RunState) {
        let last = self.steer.get();
        if last == Some((generation, run_state)) {
            return;
        }
        self.steer.set(Some((generation, run_state)));
        let new_generation = last.is_some_and(|(g, _)| g != generation);
        for lane in 0..self.lane_count() {
            let seq = self.post(
                lane,
                &ToWorker::Steer {
                    generation,
                    run_state,
                },
            );
            // A new generation without a Start (Reset) must free the worker of the old run; with
            // a Start, the Start is watched, and the worker may be building the new run's
            // trainers.
            let started = {
                let mut lanes = self.lanes.borrow_mut();
                lanes[lane].unheard.push((seq, generation));
                lanes[lane].start_generation() == Some(generation)
            };
            if run_state == RunState::Cancelled || (new_generation && !started) {
                self.watch(lane, seq);
            }
        }
    }

    /// Worker `lane` follows `generation` now; the page hears (`data-worker-at`, which the tests
    /// wait on) once every worker does.
    fn follow(&self, lane: usize, generation: u64) {
        let every = lanes::follow(&mut self.lanes.borrow_mut(), lane, generation);
        if every > self.worker_at.get() {
            self.worker_at.set(every);
            super::dom::set_data("workerAt", &every.to_string());
        }
    }

    /// Replaces worker `lane` unless it has heard message `seq` within [`WATCHDOG_MS`]. Not while
    /// the page's backend is being chosen: starting WebGPU takes seconds on a software adapter,
    /// and a fresh worker would only start over.
    fn watch(self: &Rc<Self>, lane: usize, seq: u64) {
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
            let stuck = me
                .lanes
                .borrow()
                .get(lane)
                .is_some_and(|l| l.booted && l.heard < seq && l.posted >= seq);
            if stuck {
                me.replace(lane, None);
            }
        });
    }

    /// Terminates worker `lane` and starts a fresh one that carries on where the page is;
    /// `failure` says what went wrong when it failed, `None` when it was only busy. A single run
    /// (or a sweep on one worker) that loses its worker stops, and the page says so; a pool's
    /// worker that fails has its share started again once on a fresh worker, then marked failed,
    /// while the other workers go on (#33).
    fn replace(self: &Rc<Self>, lane: usize, failure: Option<String>) {
        let steer = self.steer.get();
        let (start, generation, retried, pooled) = {
            let mut lanes = self.lanes.borrow_mut();
            let pooled = lanes.len() > 1;
            let Some(l) = lanes.get_mut(lane) else { return };
            if let Some(w) = l.worker.take() {
                w.terminate();
            }
            // The old worker, and the runs it held, are gone: nothing follows an older generation.
            l.unheard.clear();
            (l.start.clone(), l.start_generation(), l.retried, pooled)
        };
        if let Some((g, _)) = steer {
            self.follow(lane, g);
        }
        self.spawn(lane);
        if lane == 0 {
            if self.gpu_lost.get() {
                self.post(0, &ToWorker::MarkGpuLost);
            }
            let failed = match &*self.webgpu.borrow() {
                WebgpuModule::Failed(reason) => Some(reason.clone()),
                _ => None,
            };
            if let Some(reason) = failed {
                self.post(0, &ToWorker::NoWebgpuModule { reason });
            }
            if let Some((ticket, choice)) = self.backend.get() {
                // The answer is swallowed only if the page already had it.
                self.replayed_ticket
                    .set(self.backend_answered.get().then_some(ticket));
                self.post(0, &ToWorker::ChooseBackend { ticket, choice });
            }
        } else {
            self.post(lane, &Self::pool_choice());
        }
        let training = steer
            .is_some_and(|(g, s)| Some(g) == generation && matches!(s, RunState::Running | RunState::Paused));
        if let Some(error) = failure {
            match (pooled && training, generation) {
                (true, Some(generation)) if !retried => {
                    self.lanes.borrow_mut()[lane].retried = true;
                    self.carry_on(lane, start, steer);
                    self.bus.send(Msg::ShareRestarted {
                        generation,
                        share: lane,
                        error,
                    });
                }
                (true, Some(generation)) => {
                    // The fresh worker idles: its share is marked failed, the others go on.
                    self.lanes.borrow_mut()[lane].start = None;
                    self.bus.send(Msg::ShareFailed {
                        generation,
                        share: lane,
                        error,
                    });
                }
                _ => self.bus.send(Msg::WorkerFailed { error }),
            }
            return;
        }
        // Only busy: the current run starts again on the fresh worker (from its first step, as a
        // restart does), or a cancelled one is reported stopped.
        match (generation, steer) {
            (Some(generation), Some((g, RunState::Cancelled))) if generation == g => {
                self.stopped(lane, generation)
            }
            _ => self.carry_on(lane, start, steer),
        }
    }

    /// A fresh worker `lane` takes up `start` (unless a newer generation replaced it) and the
    /// page's run state.
    fn carry_on(self: &Rc<Self>, lane: usize, start: Option<ToWorker>, steer: Option<(u64, RunState)>) {
        if let Some(start @ ToWorker::Start { generation, .. }) = start
            && steer.is_none_or(|(g, _)| g <= generation)
        {
            self.post(lane, &start);
        }
        if let Some((g, s)) = steer {
            self.post(
                lane,
                &ToWorker::Steer {
                    generation: g,
                    run_state: s,
                },
            );
        }
    }

    /// Worker `lane`'s runner of `generation` stopped on Cancel: the page hears once every
    /// worker with a share of it has.
    fn stopped(&self, lane: usize, generation: u64) {
        let all = lanes::stop(&mut self.lanes.borrow_mut(), lane, generation);
        if all {
            self.bus.send(Msg::RunnerStopped { generation });
        }
    }

    /// Worker `lane` began a round of `generation`: the page counts a round once every worker with
    /// a share of it has begun one more (the tests wait on rounds, e.g. two after a Pause).
    fn frame_begun(&self, lane: usize, generation: u64) {
        let every = lanes::begin_round(&mut self.lanes.borrow_mut(), lane, generation);
        let (g, told) = self.frames_told.get();
        let told = if g == generation { told } else { 0 };
        for n in told..every {
            self.frames_told.set((generation, n + 1));
            self.bus.send(Msg::RunnerFrame { generation });
        }
    }

    fn spawn(self: &Rc<Self>, lane: usize) {
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
            me.hear(lane, e.data());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget(); // one per worker; a worker lives until it fails or is replaced
        let me = self.clone();
        let on_error = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
            e.prevent_default();
            let what = e.message();
            me.replace(
                lane,
                Some(if what.is_empty() {
                    "the worker stopped".into()
                } else {
                    what
                }),
            );
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
        let mut lanes = self.lanes.borrow_mut();
        let Some(l) = lanes.get_mut(lane) else {
            worker.terminate();
            return;
        };
        l.worker = Some(worker);
        // A fresh worker has heard nothing yet; older numbers are not waited on.
        l.heard = l.posted;
        l.booted = false;
    }

    fn hear(self: &Rc<Self>, lane: usize, data: JsValue) {
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
        let first = match self.lanes.borrow_mut().get_mut(lane) {
            Some(l) => !std::mem::replace(&mut l.booted, true),
            None => return, // a worker let go of
        };
        match msg {
            FromWorker::Heard(seq) => {
                let heard = lanes::heard(&mut self.lanes.borrow_mut(), lane, seq);
                if let Some(g) = heard {
                    self.follow(lane, g);
                }
            }
            FromWorker::NeedsWebgpu { ticket } if lane == 0 => self.need_webgpu(ticket),
            FromWorker::NeedsWebgpu { .. } => {}
            FromWorker::Unreadable { error } => self.bus.send(Msg::MessageLost { error }),
            FromWorker::Page(msg) => match *msg {
                Msg::WorkerFailed { error } => {
                    // A worker on the WebGPU module that cannot start (its glue not fetched, no
                    // memory for the larger module) would fail again on every replacement: the
                    // next ones run the page's module, and choices that need WebGPU get the CPU.
                    if first && lane == 0 && matches!(&*self.webgpu.borrow(), WebgpuModule::Ready { .. }) {
                        *self.webgpu.borrow_mut() = WebgpuModule::Failed(error.clone());
                    }
                    self.replace(lane, Some(error))
                }
                // A pool worker's CPU choice is not the page's.
                Msg::BackendReady { .. } if lane > 0 => {}
                Msg::BackendReady { ticket, .. } if self.replayed_ticket.get() == Some(ticket) => {
                    // A fresh worker took the page's backend choice again: not news to the page.
                    self.replayed_ticket.set(None);
                }
                Msg::RunnerFrame { generation } => self.frame_begun(lane, generation),
                Msg::RunnerStopped { generation } => self.stopped(lane, generation),
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

    /// The first worker, on the page's module, has a WebGPU adapter for the choice `ticket`: load
    /// the WebGPU module and replace the worker with one on it, or tell it the module failed so
    /// that it answers with the CPU.
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
                wasm_bindgen_futures::spawn_local(async move { me.replace(0, None) });
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
                    me.replace(0, None);
                }
                Err(reason) => {
                    web_sys::console::warn_1(&format!("tinytune: the WebGPU module: {reason}").into());
                    *me.webgpu.borrow_mut() = WebgpuModule::Failed(reason.clone());
                    me.post(0, &ToWorker::NoWebgpuModule { reason });
                    if let Some((ticket, choice)) = me.backend.get() {
                        me.post(0, &ToWorker::ChooseBackend { ticket, choice });
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
