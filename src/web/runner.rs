//! The frame-paced runner: each animation frame it queues k steps, awaits ONE batched readback,
//! appends the reports and redraws, then adapts k so a frame's work stays near 12 ms. It owns the
//! trainer; a restart bumps the generation and the stale runner returns at its next frame.

use super::app::{self, RunState, Shared};
use super::{dom, frame};
use crate::metrics::read_reports;
use crate::plot::BoundaryGrid;
use crate::train::{StepOutput, Trainer};

/// Grid resolution of the decision-boundary plot.
const GRID_RES: usize = 48;
/// How often the boundary is refreshed while training (it costs a forward pass on the grid).
const GRID_EVERY_MS: f64 = 250.0;
/// Main-thread work per frame the runner aims for (leaves room for drawing within 16 ms).
const FRAME_BUDGET_MS: f64 = 12.0;
const MAX_STEPS_PER_FRAME: f64 = 256.0;

fn is_current(app: &Shared, generation: u64) -> bool {
    app.borrow().generation == generation
}

pub async fn run(app: Shared, generation: u64) {
    let (cfg, device) = {
        let a = app.borrow();
        let Some(active) = a.active.as_ref() else {
            return;
        };
        (a.cfg.clone(), active.device.clone())
    };
    let started = frame::now_ms();
    let mut trainer = match Trainer::new(&cfg, &device) {
        Ok(t) => t,
        Err(e) => {
            app::on_device_error(&app, &e);
            return;
        }
    };
    app.borrow_mut().param_count = trainer.parameter_count();

    let mut k = 1.0_f64;
    let mut last_grid = f64::NEG_INFINITY;
    let mut last_end = frame::now_ms();
    loop {
        frame::next().await;
        if !is_current(&app, generation) {
            return;
        }
        if app.borrow().state == RunState::Paused {
            last_end = frame::now_ms();
            continue;
        }
        let t0 = frame::now_ms();
        let outs: Vec<StepOutput> = (0..k.round() as usize).map_while(|_| trainer.step()).collect();
        let n = outs.len();
        let want_grid = t0 - last_grid >= GRID_EVERY_MS || trainer.is_done();
        let extra = if want_grid {
            vec![trainer.predict_grid(GRID_RES)]
        } else {
            Vec::new()
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
            a.run.extend(reports);
            if let Some(probs) = extras.into_iter().next() {
                last_grid = t0;
                a.grid = Some(BoundaryGrid {
                    res: GRID_RES,
                    classes: trainer.dataset().classes,
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
            if a.run.diverged {
                a.state = RunState::Diverged;
            } else if trainer.is_done() {
                a.state = RunState::Done;
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
        app::redraw_progress(&app);
        if want_grid {
            app::redraw_boundary(&app);
        }
        let state = app.borrow().state;
        if matches!(state, RunState::Done | RunState::Diverged) {
            // Wall time of the whole run, set-up included (read by the benchmark).
            dom::set_data("trainMs", &format!("{:.0}", frame::now_ms() - started));
            return;
        }
    }
}
