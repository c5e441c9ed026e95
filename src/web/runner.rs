//! The frame-paced runner: each animation frame it queues about k steps spread over the unfinished
//! runs (round-robin, so every curve of a sweep grows together), awaits ONE batched readback for
//! all of them and sends the results as a message, then adapts k so a frame's work stays near
//! 12 ms. It owns the trainers and only reads the page state; a restart starts a new generation
//! and this runner returns at its next frame.

use std::rc::Rc;

use super::bus::Bus;
use super::frame;
use crate::page::{BackendKind, FrameReport, Msg, RunState};
use crate::plot::BoundaryGrid;
use crate::train::live_sample::{LiveSample, live_chars};
use crate::train::metrics::read_reports;
use crate::train::{Job, StepOutput, read_analysis};

/// Grid resolution of the decision-boundary plot.
const GRID_RES: usize = 48;
/// Main-thread work per frame the runner aims for (leaves room for drawing within 16 ms).
const FRAME_BUDGET_MS: f64 = 12.0;
const MAX_STEPS_PER_FRAME: f64 = 256.0;

pub async fn run(bus: Rc<Bus>, generation: u64) {
    let (points, device, gpu) = {
        let s = bus.state();
        let Some(backend) = s.backend.as_ref() else { return };
        let gpu = backend.kind == BackendKind::Webgpu;
        (s.points.clone(), backend.device.clone(), gpu)
    };
    let started = frame::now_ms();
    let mut trainers = Vec::with_capacity(points.len());
    for p in &points {
        match Job::new(&p.config, &device) {
            Ok(t) => trainers.push(t),
            Err(error) => {
                // A config the trainer refuses is not a device failure: leave the GPU alone.
                bus.send(Msg::RunnerRefused { generation, error });
                return;
            }
        }
    }
    bus.send(Msg::RunnerStarted {
        generation,
        now_ms: started,
        // The base model's size; the adaptation line says what trains (adapters are extra).
        params: trainers.iter().map(|t| t.config().parameter_estimate()).collect(),
    });

    // The char LM writes a sample as it trains (a single run only, as the other side charts).
    let mut live = (trainers.len() == 1)
        .then(|| trainers[0].sequence().and_then(LiveSample::of))
        .flatten();
    let mut k = 1.0_f64;
    let mut cursor = 0; // the run that goes first in the next frame
    let mut last_end = frame::now_ms();
    loop {
        frame::next().await;
        let run_state = {
            let s = bus.state();
            if s.generation != generation {
                return;
            }
            s.run_state
        };
        // Frames this runner has begun: once it has begun two while paused, no step queued
        // before the pause can still land (the tests wait on this instead of a fixed time).
        bus.send(Msg::RunnerFrame { generation });
        match run_state {
            RunState::Paused => {
                last_end = frame::now_ms();
                continue;
            }
            RunState::Running => {}
            RunState::Cancelled => {
                bus.send(Msg::RunnerStopped { generation });
                return;
            }
            _ => return,
        }
        let t0 = frame::now_ms();
        // Which runs step this frame, and how many steps each.
        let (active, want_side) = {
            let s = bus.state();
            let active: Vec<usize> = (0..trainers.len())
                .map(|j| (cursor + j) % trainers.len())
                .filter(|&i| !s.run_finished(i))
                .collect();
            (active, s.side_due(t0) && !s.is_sweep())
        };
        let chunk = ((k / active.len().max(1) as f64).round() as usize).max(1);
        let budget = (k.round() as usize).max(chunk);
        let mut outs: Vec<StepOutput> = Vec::new();
        let mut counts: Vec<(usize, usize)> = Vec::new(); // (run, steps queued)
        for &i in &active {
            if outs.len() >= budget {
                break;
            }
            let before = outs.len();
            outs.extend((0..chunk).map_while(|_| trainers[i].step()));
            counts.push((i, outs.len() - before));
            cursor = (i + 1) % trainers.len();
        }
        let n = outs.len();
        // The decision boundary rides along with the losses when it is due or a run just ended.
        let single = trainers.len() == 1;
        let single_done = single && trainers[0].is_done();
        let grid = trainers[0]
            .vector_mut()
            .filter(|t| single && t.config().has_boundary() && (want_side || single_done))
            .map(|t| t.predict_grid(GRID_RES));
        let with_grid = grid.is_some();
        // A transformer's pattern and answers ride along with the side charts while it trains.
        let views = (single && want_side && !single_done)
            .then(|| trainers[0].view_probe(false))
            .flatten();
        let chars = live_chars(n, gpu);
        let chunk = match (&views, live.as_mut(), trainers[0].sequence()) {
            (Some(_), Some(live), Some(t)) if chars > 0 => Some(live.queue(t, chars)),
            _ => None,
        };
        let with_chunk = chunk.is_some();
        let mut extra: Vec<_> = grid.into_iter().collect();
        extra.extend(views.as_ref().map(|(_, t)| t.clone()).unwrap_or_default());
        extra.extend(chunk);
        let result = read_reports(outs, extra).await;
        let t1 = frame::now_ms();
        if bus.state().generation != generation {
            return;
        }
        let (reports, extras) = match result {
            Ok(r) => r,
            Err(error) => {
                bus.send(Msg::DeviceFailed { generation, error });
                return;
            }
        };
        if let (true, Some(live), Some(tokens)) = (with_chunk, live.as_mut(), extras.last()) {
            live.read(tokens);
        }
        let views = views
            .and_then(|(probe, _)| probe.read(&extras[usize::from(with_grid)..]))
            .map(|mut v| {
                v.sample = live.as_ref().and_then(LiveSample::view);
                v
            });
        let grid = extras
            .into_iter()
            .next()
            .filter(|_| with_grid)
            .zip(trainers[0].vector())
            .map(|(probs, t)| {
                (
                    BoundaryGrid {
                        res: GRID_RES,
                        classes: t.dataset().classes,
                        probs,
                    },
                    t.dataset().train.clone(),
                )
            });
        bus.send(Msg::Frame(FrameReport {
            generation,
            counts,
            reports,
            started_ms: t0,
            ended_ms: t1,
            previous_end_ms: last_end,
            grid,
            views,
        }));
        last_end = t1;
        // Size k by the whole round trip per step: on the CPU that is main-thread compute, on a GPU
        // it is queueing plus device time, so a slow (software) adapter stays at one step a frame
        // and Pause answers quickly.
        if n > 0 {
            let per_step = ((t1 - t0) / n as f64).max(0.05);
            let ideal = (FRAME_BUDGET_MS / per_step).clamp(1.0, MAX_STEPS_PER_FRAME);
            k = (0.5 * k + 0.5 * ideal).max(1.0);
        }
        if bus.state().wants_analysis(generation) {
            // The end of the run (ΔW spectra, quantization figures): one readback, once.
            match read_analysis(&trainers[0]).await {
                Ok(analysis) => bus.send(Msg::Analysed { generation, analysis }),
                Err(e) => web_sys::console::warn_1(&e.into()),
            }
        }
        if bus.state().run_state.is_over() {
            return;
        }
    }
}
