//! A sweep spread over several training workers (#33): how many (`jobs=auto|N` against the cores,
//! the runs and the memory cap) and which runs each trains. Each worker trains its share
//! interleaved, as one worker trains a whole sweep, so every curve of the figure grows together;
//! a run is never split, so its curve is the one it has alone.

use crate::knobs::ExperimentConfig;
use crate::knobs::view::Jobs;

use super::limits;

/// A training step's cost that does not scale with its arithmetic (dispatch, the optimizer's
/// per-tensor work, the readback), in the units of [`ExperimentConfig::training_flops`]: a small
/// MLP's step is mostly this. About 0.1 ms of the page's CPU backend at its ~20 GFLOP/s.
const STEP_OVERHEAD_FLOP: f64 = 2e6;

/// Workers for `configs` with `jobs` where `cores` can train at once (the page: the browser's
/// cores less one, which the page itself and its charts need; the CLI: every core). At most one
/// a run, and no more than the memory cap holds. A run's weights, optimizer state and data live
/// in one worker or another, the same in all however the runs are shared; what a pool adds is a
/// copy a worker of the program and of a step's activations (freed between steps, so the runs
/// taking turns on one worker share them): those copies, the largest step's for every worker,
/// must fit [`limits::MEMORY_BYTES`], the cap of one run.
pub fn workers(jobs: Jobs, cores: usize, configs: &[ExperimentConfig]) -> usize {
    let wanted = match jobs {
        Jobs::Auto => cores,
        Jobs::Count(n) => n,
    };
    let each = configs.iter().map(per_worker_bytes).fold(0.0, f64::max);
    let by_memory = (limits::MEMORY_BYTES / each.max(1.0)).floor().max(1.0) as usize;
    wanted.min(configs.len()).min(by_memory).max(1)
}

/// What every worker holds of a run besides its state: the program, and a step's memory.
fn per_worker_bytes(c: &ExperimentConfig) -> f64 {
    let mut items = c.memory().into_iter();
    let program = items.next().map_or(0.0, |m| m.bytes);
    program + items.filter(|m| m.step).map(|m| m.bytes).sum::<f64>()
}

/// Every run's estimated work: its arithmetic plus a fixed cost a step.
pub fn work(configs: &[ExperimentConfig]) -> Vec<f64> {
    configs
        .iter()
        .map(|c| c.training_flops() + STEP_OVERHEAD_FLOP * c.total_steps() as f64)
        .collect()
}

/// The runs (indices into `configs`) from the heaviest to the lightest by estimated work, ties in
/// run order: the order threads that each take the next run should take them in (the CLI).
pub fn by_work(configs: &[ExperimentConfig]) -> Vec<usize> {
    let work = work(configs);
    let mut order: Vec<usize> = (0..configs.len()).collect();
    order.sort_by(|&a, &b| work[b].total_cmp(&work[a]).then(a.cmp(&b)));
    order
}

/// The runs (indices into `configs`) each of `workers` trains, balanced by their estimated
/// work: the longest first, each to the worker with the least so far (ties to the lower worker,
/// so the split is the same every time). Each share is in run order, so a worker interleaves its
/// runs as the sweep lists them. The estimate is the run's arithmetic plus a fixed cost a step;
/// a run that diverges stops early and leaves its worker idle sooner.
pub fn shares(configs: &[ExperimentConfig], workers: usize) -> Vec<Vec<usize>> {
    let workers = workers.clamp(1, configs.len().max(1));
    let work = work(configs);
    let mut load = vec![0.0_f64; workers];
    let mut out = vec![Vec::new(); workers];
    for i in by_work(configs) {
        let lightest = (0..workers)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        load[lightest] += work[i];
        out[lightest].push(i);
    }
    for share in &mut out {
        share.sort_unstable();
    }
    out.retain(|s| !s.is_empty());
    out
}
