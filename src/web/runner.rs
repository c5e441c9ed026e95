//! The frame-paced runner: each animation frame it queues about k steps spread over the unfinished
//! runs (round-robin, so every curve of a sweep grows together), awaits ONE batched readback for
//! all of them, appends the reports and redraws, then adapts k so a frame's work stays near 12 ms.
//! It owns the trainers; a restart bumps the generation and the stale runner returns at its next
//! frame.

use super::app::{self, RunState, Shared};
use super::{dom, frame, view};
use crate::metrics::{self, read_reports};
use crate::plot::BoundaryGrid;
use crate::train::{self, StepOutput, Trainer};

/// Grid resolution of the decision-boundary plot.
const GRID_RES: usize = 48;
/// How often the boundary and the sweep charts are refreshed while training.
const SIDE_EVERY_MS: f64 = 250.0;
/// Main-thread work per frame the runner aims for (leaves room for drawing within 16 ms).
const FRAME_BUDGET_MS: f64 = 12.0;
const MAX_STEPS_PER_FRAME: f64 = 256.0;
/// A sweep's loss chart (many curves) is redrawn at most this often.
const LOSS_CHART_EVERY_MS: f64 = 100.0;

fn is_current(app: &Shared, generation: u64) -> bool {
    app.borrow().generation == generation
}

pub async fn run(app: Shared, generation: u64) {
    let (points, device, sweep) = {
        let a = app.borrow();
        let Some(active) = a.active.as_ref() else { return };
        (a.points.clone(), active.device.clone(), a.is_sweep())
    };
    let started = frame::now_ms();
    let mut trainers = Vec::with_capacity(points.len());
    for p in &points {
        match Trainer::new(&p.config, &device) {
            Ok(t) => trainers.push(t),
            Err(e) => {
                // A config the trainer refuses is not a device failure: leave the GPU alone.
                app::on_config_error(&app, &e);
                return;
            }
        }
    }
    // The base model's size; the adaptation line says what trains (adapters are extra).
    let counts: Vec<usize> = trainers.iter().map(|t| t.config().parameter_estimate()).collect();
    let (lo, hi) = (
        counts.iter().min().copied().unwrap_or(0),
        counts.iter().max().copied().unwrap_or(0),
    );
    app.borrow_mut().params_text = if lo == hi {
        format!("{lo} parameters")
    } else {
        format!("{lo}–{hi} parameters")
    };

    let mut k = 1.0_f64;
    let mut cursor = 0; // the run that goes first in the next frame
    let mut last_side = f64::NEG_INFINITY;
    let mut last_end = frame::now_ms();
    let mut last_loss_chart = f64::NEG_INFINITY;
    let mut frames = 0u64;
    loop {
        frame::next().await;
        if !is_current(&app, generation) {
            return;
        }
        // Frames this runner has begun: once it has begun two while paused, no step queued
        // before the pause can still land (the tests wait on this instead of a fixed time).
        frames += 1;
        dom::set_data("runnerFrames", &format!("{generation}:{frames}"));
        match app.borrow().state {
            RunState::Paused => {
                last_end = frame::now_ms();
                continue;
            }
            RunState::Cancelled => {
                dom::set_data("runnerStopped", &generation.to_string());
                return;
            }
            _ => {}
        }
        let t0 = frame::now_ms();
        // Which runs step this frame, and how many steps each.
        let active: Vec<usize> = {
            let a = app.borrow();
            (0..trainers.len())
                .map(|j| (cursor + j) % trainers.len())
                .filter(|&i| !a.run_finished(i))
                .collect()
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
        let want_side = t0 - last_side >= SIDE_EVERY_MS || counts.iter().any(|&(i, _)| trainers[i].is_done());
        let extra = match (sweep, want_side) {
            (false, true) if trainers[0].config().has_boundary() => vec![trainers[0].predict_grid(GRID_RES)],
            _ => Vec::new(),
        };
        let result = read_reports(outs, extra).await;
        let t1 = frame::now_ms();
        if !is_current(&app, generation) {
            return;
        }
        let (reports, extras) = match result {
            Ok(r) => r,
            Err(e) => {
                app::on_device_error(&app, &e);
                return;
            }
        };
        {
            let mut a = app.borrow_mut();
            metrics::assign_reports(&mut a.runs, &counts, reports);
            for &(i, c) in &counts {
                a.run_ms[i] += (t1 - t0) * c as f64 / n.max(1) as f64;
            }
            if let Some(probs) = extras.into_iter().next() {
                // After the switch to adaptation the points are the shifted task's.
                if a.data != trainers[0].dataset().train {
                    a.data = trainers[0].dataset().train.clone();
                }
                a.grid = Some(BoundaryGrid {
                    res: GRID_RES,
                    classes: trainers[0].dataset().classes,
                    probs,
                });
            }
            // Live speed: steps over wall time between frame ends (includes waiting for the GPU).
            let rate = n as f64 / ((t1 - last_end).max(1e-3) / 1000.0);
            a.steps_per_s = if a.steps_per_s == 0.0 {
                rate
            } else {
                0.8 * a.steps_per_s + 0.2 * rate
            };
            // Finished is finished, even if Pause or Cancel came during the last readback.
            if a.runs_finished() == a.runs.len() {
                let all_diverged = a.runs.iter().all(|r| r.diverged);
                a.state = if all_diverged {
                    RunState::Diverged
                } else {
                    RunState::Done
                };
            }
        }
        last_end = t1;
        // Size k by the whole round trip per step: on the CPU that is main-thread compute, on a GPU
        // it is queueing plus device time, so a slow (software) adapter stays at one step a frame
        // and Pause answers quickly.
        if n > 0 {
            let per_step = ((t1 - t0) / n as f64).max(0.05);
            let ideal = (FRAME_BUDGET_MS / per_step).clamp(1.0, MAX_STEPS_PER_FRAME);
            k = (0.5 * k + 0.5 * ideal).max(1.0);
        }
        app::note_first_point(&app);
        let state = app.borrow().state;
        let finished = matches!(state, RunState::Done | RunState::Diverged);
        view::redraw_texts(&app);
        if !sweep || finished || t1 - last_loss_chart >= LOSS_CHART_EVERY_MS {
            last_loss_chart = t1;
            view::redraw_loss(&app);
        }
        if state == RunState::Done && !sweep {
            // The learned ΔW's spectrum: one more small readback, once, when the run ends.
            match train::read_spectra(&trainers[0]).await {
                Ok(spectra) if is_current(&app, generation) => {
                    if let Some(run) = app.borrow_mut().runs.first_mut() {
                        run.spectra = spectra;
                    }
                }
                Ok(_) => return,
                Err(e) => web_sys::console::warn_1(&e.into()),
            }
            // A quantized run's weights, for the error-vs-bits and histogram figures, and the
            // bytes Burn stores it in where it quantized natively.
            let read = async {
                Ok::<_, String>((
                    train::read_weights(&trainers[0]).await?,
                    train::read_packed_bytes(&trainers[0]).await?,
                ))
            };
            match read.await {
                Ok((weights, packed)) if is_current(&app, generation) => {
                    if let Some(run) = app.borrow_mut().runs.first_mut() {
                        run.set_weights(weights);
                        run.packed_bytes = packed;
                    }
                }
                Ok(_) => return,
                Err(e) => web_sys::console::warn_1(&e.into()),
            }
        }
        if want_side || finished {
            last_side = t0;
            view::redraw_side(&app);
            view::redraw_table(&app);
        }
        if finished {
            // Wall time of the whole run, set-up included (read by the benchmark).
            dom::set_data("trainMs", &format!("{:.0}", frame::now_ms() - started));
            return;
        }
    }
}
