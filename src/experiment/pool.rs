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
/// a run, and no more than the memory cap holds: every run's state is in one worker or another,
/// and each further worker adds its own copy of the program (`ExperimentConfig::memory`'s first
/// item), so the pool's estimate is the runs' state plus a program per worker. A sweep whose
/// runs alone reach the cap keeps one worker, as before pools.
pub fn workers(jobs: Jobs, cores: usize, configs: &[ExperimentConfig]) -> usize {
    let wanted = match jobs {
        Jobs::Auto => cores,
        Jobs::Count(n) => n,
    };
    let program = configs.first().map_or(0.0, program_bytes);
    let state: f64 = configs.iter().map(|c| c.memory_bytes() - program_bytes(c)).sum();
    let room = ((limits::MEMORY_BYTES - state) / program.max(1.0)).floor();
    let by_memory = if room >= 1.0 { room as usize } else { 1 };
    wanted.min(configs.len()).min(by_memory).max(1)
}

/// The program's share of one run's memory estimate (held once per worker, whatever its runs).
fn program_bytes(c: &ExperimentConfig) -> f64 {
    c.memory().first().map_or(0.0, |m| m.bytes)
}

/// The runs (indices into `configs`) each of `workers` trains, balanced by their estimated
/// work: the longest first, each to the worker with the least so far (ties to the lower worker,
/// so the split is the same every time). Each share is in run order, so a worker interleaves its
/// runs as the sweep lists them. The estimate is the run's arithmetic plus a fixed cost a step;
/// a run that diverges stops early and leaves its worker idle sooner.
pub fn shares(configs: &[ExperimentConfig], workers: usize) -> Vec<Vec<usize>> {
    let workers = workers.clamp(1, configs.len().max(1));
    let work: Vec<f64> = configs
        .iter()
        .map(|c| c.training_flops() + STEP_OVERHEAD_FLOP * c.total_steps() as f64)
        .collect();
    let mut order: Vec<usize> = (0..configs.len()).collect();
    order.sort_by(|&a, &b| work[b].total_cmp(&work[a]).then(a.cmp(&b)));
    let mut load = vec![0.0_f64; workers];
    let mut out = vec![Vec::new(); workers];
    for i in order {
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
