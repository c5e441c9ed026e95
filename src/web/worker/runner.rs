//! The runner, in the training worker (#16): it owns the trainers. Each round it queues about k
//! steps spread over the unfinished runs (round-robin, so every curve of a sweep grows together),
//! awaits ONE batched readback for all of them, sends the results to the page as a message, then
//! adapts k so a round's work stays near 12 ms and yields, so Pause and Cancel are seen between
//! steps. It reads only its `Control` (the page's run state, as the page last sent it); a
//! restart starts a new generation and this runner returns at its next round.

use std::cell::Cell;

use burn::prelude::Device;

use crate::knobs::ExperimentConfig;
use crate::knobs::arch::Family;
use crate::page::{FrameReport, Msg, RunState, SIDE_EVERY_MS};
use crate::plot::BoundaryGrid;
use crate::train::live_sample::{GPU_STEPS_PER_CHAR, LIVE_CHUNK, LiveSample, live_chars};
use crate::train::metrics::{Watch, read_reports};
use crate::train::objective::GRID_RES;
use crate::train::stack::StackTrainer;
use crate::train::stack_readback::{Queued, queue};
use crate::train::{Job, StepOutput, read_analysis};
use crate::web::frame;

/// Work per round the runner aims for: short enough that Pause lands quickly and the page gets a
/// steady stream of reports, long enough that messages do not dominate.
const ROUND_BUDGET_MS: f64 = 12.0;
const MAX_STEPS_PER_ROUND: f64 = 256.0;
/// How often a paused runner looks at its control again (and tells the page it is alive).
const PAUSED_POLL_MS: i32 = 16;

/// Training steps between two decision-boundary grids at least: as many as it takes the batches
/// to cover the grid's rows. The grid's forward is [`GRID_RES`]² rows (2304), 36 batches of the
/// reference run's 64 and about 12 training steps' arithmetic (a step's forward and backward are
/// about 3 forwards), so where a step is slow (a software adapter: a third of a second) a grid
/// every 250 ms would take most of the device's time from training (#15: on SwiftShader the page
/// trained at half TF.js's rate with it). Where 36 steps take under 250 ms (the reference run on
/// the CPU, a fast GPU) the interval comes first.
///
/// A transformer's views (its attention pattern and answers, #32) are one forward of one window,
/// plus the char LM's live sample (up to [`LIVE_CHUNK`] more). On the CPU the work scales with
/// the windows: a step is about 3 forwards of `batch` windows, so the views wait until they are a
/// tenth of the steps' work at most (2 steps for the reference transformer, whose slow steps had
/// made them ride along with every one). On a GPU every forward costs as many kernel launches
/// whatever its batch, a quarter to a third of a step's (measured on lavapipe with the GPU's first
/// fused kernels: 43 of a step's 169), and the views are two (the traced window, whose head
/// pattern comes from the attention kernel's log-sum-exp, and a live character):
/// [`GPU_VIEW_STEPS`] steps keep them near a tenth of the launches.
fn side_step_floor(config: &ExperimentConfig, gpu: bool) -> usize {
    if config.has_boundary() {
        (GRID_RES * GRID_RES).div_ceil(config.batch.max(1))
    } else if config.family() == Family::Gpt {
        if gpu {
            GPU_VIEW_STEPS
        } else {
            (10 * (1 + LIVE_CHUNK)).div_ceil(3 * config.batch.max(1))
        }
    } else {
        0
    }
}

/// Steps between a transformer's views at least on a GPU (see [`side_step_floor`]): as many as
/// a live character takes, so each refresh writes one.
const GPU_VIEW_STEPS: usize = GPU_STEPS_PER_CHAR;

/// What the runner knows of the page: the generation it is for and the run state the page last
/// sent. Written by the worker's message handler, read by the runner between rounds.
#[derive(Debug, Default)]
pub struct Control {
    pub state: Cell<(u64, Option<RunState>)>,
}

/// Where the runner's messages go (the page, through the worker's port).
pub trait Outbox {
    fn send(&self, msg: Msg);
    fn control(&self) -> &Control;
}

/// A single quantized run's final weights and its config, which the worker keeps to re-grid
/// them when only a PTQ knob moves.
pub type Kept = (ExperimentConfig, Vec<crate::model::quant::weights::LayerWeights>);

/// Which of the study's runs these are (#33): `runs[j]` is the study's index of the runner's
/// j-th config (empty: the configs in order), `share` the pool's share they make up, and `stack`
/// which of them train as one stacked model.
pub struct Share {
    pub runs: Vec<usize>,
    pub share: usize,
    pub stack: crate::knobs::view::Stack,
    /// Weights a single run starts from (#35).
    pub start: Option<crate::model::checkpoint::Checkpoint>,
}

/// What trains a group of the runner's runs: one run's trainer, or a stack of same-shape runs
/// (#33) with the runs it holds (the runner's indices).
enum Unit {
    One(Job, usize),
    Stack(Box<StackTrainer>, Vec<usize>),
}

impl Unit {
    fn members(&self) -> &[usize] {
        match self {
            Unit::One(_, i) => std::slice::from_ref(i),
            Unit::Stack(_, m) => m,
        }
    }
}

/// What a round queued of one unit, in the order the page's counts list the runs.
enum Queue {
    /// Run `.0`'s next `.1` reports among the single runs' readback.
    One(usize, usize),
    /// A stack's losses among the readback's extras.
    Stack(usize, Queued),
}

/// Trains `configs` as `generation` on `device` (a sweep when `sweep`: no side charts); returns
/// the weights of a single quantized run that ended.
pub async fn run(
    out: &dyn Outbox,
    device: Device,
    gpu: bool,
    configs: Vec<ExperimentConfig>,
    mine: Share,
    sweep: bool,
    generation: u64,
) -> Option<Kept> {
    // The study's index of each run here, which the page's reports go by.
    let index = |j: usize| mine.runs.get(j).copied().unwrap_or(j);
    let started = frame::now_ms();
    let mut units = Vec::with_capacity(configs.len());
    for group in crate::experiment::stack::stacks(&configs, mine.stack, gpu) {
        let unit = match group.as_slice() {
            &[i] => match mine.start.as_ref() {
                Some(ck) => crate::model::checkpoint::check_family(ck, &configs[i])
                    .and_then(|()| Job::new_from(&configs[i], &device, Some(ck)))
                    .map_err(|e| format!("{}: {e}", crate::page::WEIGHTS_REFUSED)),
                None => Job::new(&configs[i], &device),
            }
            .map(|j| Unit::One(j, i)),
            _ => {
                let cfgs: Vec<_> = group.iter().map(|&i| configs[i].clone()).collect();
                StackTrainer::new(&cfgs, &device).map(|s| Unit::Stack(Box::new(s), group))
            }
        };
        match unit {
            Ok(u) => units.push(u),
            Err(error) => {
                // A config the trainer refuses is not a device failure: leave the GPU alone.
                out.send(Msg::RunnerRefused { generation, error });
                return None;
            }
        }
    }
    // A single run's trainer (the side charts, the live sample and the analysis are its own).
    let single = configs.len() == 1;
    out.send(Msg::RunnerStarted {
        generation,
        now_ms: started,
    });
    // Each run's divergence as the page sees it, so a diverged run stops here as it is marked
    // there (the reports themselves go to the page).
    let mut runs: Vec<Watch> = configs.iter().map(Watch::new).collect();

    // The char LM writes a sample as it trains (a single run only, as the other side charts).
    let mut live = match units.first() {
        Some(Unit::One(job, _)) if single => job.live_sample(),
        _ => None,
    };
    let mut k = 1.0_f64;
    let mut cursor = 0; // the run that goes first in the next round
    let mut last_end = frame::now_ms();
    let mut side_at = f64::NEG_INFINITY;
    // Steps since the side charts last rode along (the first round draws them).
    let side_floor = configs.first().map_or(0, |c| side_step_floor(c, gpu));
    let mut steps_since_side = usize::MAX;
    // Steps this runner has queued before this round.
    let mut steps_taken = 0usize;
    loop {
        frame::yield_now().await;
        let (g, run_state) = out.control().state.get();
        if g != generation {
            return None;
        }
        // Rounds this runner has begun: once it has begun two while paused, no step queued
        // before the pause can still land (the tests wait on this instead of a fixed time).
        out.send(Msg::RunnerFrame { generation });
        match run_state {
            Some(RunState::Paused) => {
                frame::sleep(PAUSED_POLL_MS).await;
                last_end = frame::now_ms();
                continue;
            }
            Some(RunState::Cancelled) => {
                out.send(Msg::RunnerStopped { generation });
                return None;
            }
            Some(s) if s != RunState::Running => return None,
            _ => {}
        }
        let t0 = frame::now_ms();
        // Which units step this round, and how many steps each.
        let active: Vec<usize> = (0..units.len())
            .map(|j| (cursor + j) % units.len())
            .filter(|&u| !units[u].members().iter().all(|&i| runs[i].finished()))
            .collect();
        let want_side = !sweep && t0 - side_at >= SIDE_EVERY_MS && steps_since_side >= side_floor;
        let chunk = ((k / active.len().max(1) as f64).round() as usize).max(1);
        let budget = (k.round() as usize).max(chunk);
        let mut outs: Vec<StepOutput> = Vec::new();
        // A stack's losses go first among the readback's extras.
        let mut extra = Vec::new();
        let mut queued: Vec<Queue> = Vec::new();
        // Steps queued: a stack's step counts once (on a GPU it costs about one run's).
        let mut n = 0;
        for &u in &active {
            if n >= budget {
                break;
            }
            match &mut units[u] {
                Unit::One(job, i) => {
                    let before = outs.len();
                    outs.extend((0..chunk).map_while(|_| job.step()));
                    let took = outs.len() - before;
                    queued.push(Queue::One(*i, took));
                    n += took;
                }
                Unit::Stack(stack, members) => {
                    let steps: Vec<_> = (0..chunk).map_while(|_| stack.step()).collect();
                    let took = steps.len();
                    let (tensors, q) = queue(steps, members.len());
                    extra.extend(tensors);
                    queued.push(Queue::Stack(u, q));
                    n += took;
                }
            }
            cursor = (u + 1) % units.len();
        }
        let stacked = extra.len();
        let job = match units.first_mut() {
            Some(Unit::One(job, _)) if single => Some(job),
            _ => None,
        };
        // The decision boundary rides along with the losses when it is due or a run just ended.
        let single_done = job.as_ref().is_some_and(|j| j.is_done());
        let (grid, views, chunk) = match job {
            Some(job) => {
                let grid = (want_side || single_done).then(|| job.grid(GRID_RES)).flatten();
                // A transformer's pattern and answers ride along with the side charts while it
                // trains.
                let views = (want_side && !single_done).then(|| job.views(false)).flatten();
                // The sample's share follows the steps since the views last rode along (on a GPU
                // a character per eight of them), not only this round's.
                let chars = live_chars(steps_since_side.min(steps_taken).saturating_add(n), gpu);
                let chunk = match (&views, live.as_mut()) {
                    (Some(_), Some(live)) if chars > 0 => job.queue_sample(live, chars),
                    _ => None,
                };
                (grid, views, chunk)
            }
            None => (None, None, None),
        };
        let with_grid = grid.is_some();
        let with_chunk = chunk.is_some();
        let (grid_probs, grid_of) = match grid {
            Some(g) => (Some(g.probs), Some((g.classes, g.points))),
            None => (None, None),
        };
        extra.extend(grid_probs);
        extra.extend(views.as_ref().map(|(_, t)| t.clone()).unwrap_or_default());
        extra.extend(chunk);
        let result = read_reports(outs, extra).await;
        let t1 = frame::now_ms();
        if out.control().state.get().0 != generation {
            return None;
        }
        let (singles, mut extras) = match result {
            Ok(r) => r,
            Err(error) => {
                out.send(Msg::DeviceFailed { generation, error });
                return None;
            }
        };
        if with_grid || views.is_some() {
            side_at = t0;
            steps_since_side = 0;
        } else {
            steps_since_side = steps_since_side.saturating_add(n);
        }
        steps_taken += n;
        // Every run's reports, and how many each has, in the order the page reads them; each
        // run's watch sees its own, and a stacked run that diverges leaves its stack.
        let rest = extras.split_off(stacked.min(extras.len()));
        let stack_values = std::mem::replace(&mut extras, rest);
        let mut stack_values = stack_values.as_slice();
        let mut singles = singles.into_iter();
        let mut reports = Vec::new();
        let mut counts: Vec<(usize, usize)> = Vec::new(); // (run, reports)
        for q in queued {
            match q {
                Queue::One(i, took) => {
                    counts.push((index(i), took));
                    for r in singles.by_ref().take(took) {
                        if !runs[i].diverged {
                            runs[i].see(&r);
                        }
                        reports.push(r);
                    }
                }
                Queue::Stack(u, q) => {
                    let (mine, tail) = stack_values.split_at(q.len().min(stack_values.len()));
                    stack_values = tail;
                    let Unit::Stack(stack, members) = &mut units[u] else {
                        continue;
                    };
                    for (k, (&i, theirs)) in members.iter().zip(q.unpack(mine)).enumerate() {
                        if theirs.is_empty() {
                            continue; // it had left the stack
                        }
                        counts.push((index(i), theirs.len()));
                        for r in theirs {
                            if !runs[i].diverged {
                                runs[i].see(&r);
                                if runs[i].diverged {
                                    stack.freeze(k);
                                }
                            }
                            reports.push(r);
                        }
                    }
                }
            }
        }
        if let (true, Some(live), Some(tokens)) = (with_chunk, live.as_mut(), extras.last()) {
            live.read(tokens);
        }
        let views = views
            .and_then(|(probe, _)| probe.read(&extras[usize::from(with_grid)..]))
            .map(|mut v| {
                v.sample = live.as_ref().and_then(LiveSample::view);
                v
            });
        let grid =
            extras
                .into_iter()
                .next()
                .filter(|_| with_grid)
                .zip(grid_of)
                .map(|(probs, (classes, points))| {
                    (
                        BoundaryGrid {
                            res: GRID_RES,
                            classes,
                            probs,
                        },
                        points,
                    )
                });
        out.send(Msg::Frame(FrameReport {
            generation,
            share: mine.share,
            counts,
            reports,
            started_ms: t0,
            ended_ms: t1,
            previous_end_ms: last_end,
            grid,
            views,
        }));
        last_end = t1;
        // Size k by the whole round trip per step: on the CPU that is compute, on a GPU it is
        // queueing plus device time, so a slow (software) adapter stays at one step a round and
        // Pause answers quickly.
        if n > 0 {
            let per_step = ((t1 - t0) / n as f64).max(0.05);
            let ideal = (ROUND_BUDGET_MS / per_step).clamp(1.0, MAX_STEPS_PER_ROUND);
            k = (0.5 * k + 0.5 * ideal).max(1.0);
        }
        if runs.iter().all(Watch::finished) {
            // The end of a single run that did not diverge (ΔW spectra, quantization figures,
            // the views): one readback, once, as the page's Done state asks for it.
            if let (false, false, Some(Unit::One(job, _))) =
                (sweep, runs.iter().all(|r| r.diverged), units.first_mut())
            {
                match read_analysis(job, false).await {
                    Ok(mut analysis) => {
                        let weights = std::mem::take(&mut analysis.weights);
                        out.send(Msg::Analysed { generation, analysis });
                        send_weights(out, job, generation).await;
                        return (!weights.is_empty()).then(|| (job.config().clone(), weights));
                    }
                    Err(e) => web_sys::console::warn_1(&e.into()),
                }
            }
            return None;
        }
    }
}

/// A single run's weights as it ended, for the page's Weights button (#35): one readback of
/// every parameter, written as the CLI's `--save-weights` writes them.
async fn send_weights(out: &dyn Outbox, job: &Job, generation: u64) {
    let files = crate::train::read_weights(&**job).await.and_then(|w| {
        let adapters = w.adapters.as_ref().map(|a| a.to_bytes()).transpose()?;
        Ok((w.base.to_bytes()?, adapters))
    });
    match files {
        Ok((base, adapters)) => out.send(Msg::Weights {
            generation,
            base,
            adapters,
        }),
        Err(e) => web_sys::console::warn_1(&e.into()),
    }
}
