//! A sweep's pool of training workers, as the page's state sees it (#33): which runs each worker
//! takes when a run starts, and what a pool worker's failure does to its share. The shell's side
//! (one worker a share, watched and replaced) is `web/page/remote.rs`.

use super::state::{BackendKind, Level, Message, State};
use crate::train::metrics::Run;

/// The runs each training worker takes: a sweep on the CPU backend spreads over a pool (`jobs`,
/// the cores less the page's own, the memory cap: `experiment::pool`); anything else is one
/// worker's. On a GPU the runs share one device, which one worker owns.
pub fn shares(state: &State) -> Vec<Vec<usize>> {
    let all = || vec![(0..state.points.len()).collect()];
    let on_cpu = state.backend.as_ref().is_some_and(|b| b.kind == BackendKind::Cpu);
    if !state.is_sweep() || !on_cpu {
        return all();
    }
    let configs: Vec<_> = state.points.iter().map(|p| p.config.clone()).collect();
    let cores = state.cores.saturating_sub(1);
    let workers = crate::experiment::pool::workers(state.study.view.jobs, cores, &configs);
    if workers <= 1 {
        return all();
    }
    crate::experiment::pool::shares(&configs, workers)
}

/// How many of the runs train stacked and in how many stacks (#33), as the workers will group
/// them: each share on its own, the first on the chosen backend (a GPU stacks under `auto`),
/// the others on the CPU.
pub fn stacked(state: &State, shares: &[Vec<usize>]) -> (usize, usize) {
    let gpu = state
        .backend
        .as_ref()
        .is_some_and(|b| b.kind == BackendKind::Webgpu);
    let (mut runs, mut stacks) = (0, 0);
    for (i, share) in shares.iter().enumerate() {
        let configs: Vec<_> = share
            .iter()
            .filter_map(|&r| state.points.get(r).map(|p| p.config.clone()))
            .collect();
        let groups = crate::experiment::stack::stacks(&configs, state.study.view.stack, gpu && i == 0);
        for g in groups.iter().filter(|g| g.len() > 1) {
            runs += g.len();
            stacks += 1;
        }
    }
    (runs, stacks)
}

/// A pool worker failed and the shell started its share again on a fresh one: its runs start
/// from their first step, what they had thrown away, so each curve is one run's from the start.
pub fn share_restarted(state: &mut State, generation: u64, share: usize, error: &str) {
    if generation != state.generation {
        return;
    }
    let runs = state.shares.get(share).cloned().unwrap_or_default();
    for &i in &runs {
        if let (Some(run), Some(p)) = (state.runs.get_mut(i), state.points.get(i)) {
            *run = Run::with_knobs(p.config.clone(), p.knobs.clone());
            state.run_ms[i] = 0.0;
        }
    }
    state.messages.push(Message {
        level: Level::Warning,
        text: format!(
            "A training worker failed ({error}); its {} started again on a fresh worker.",
            runs_text(state, &runs)
        ),
    });
    state.shown.loss += 1;
}

/// The fresh worker of a share failed too: its runs are marked failed, and the study ends when
/// the other workers' runs have.
pub fn share_failed(state: &mut State, generation: u64, share: usize, error: &str) {
    if generation != state.generation {
        return;
    }
    let runs = state.shares.get(share).cloned().unwrap_or_default();
    for &i in &runs {
        if let Some(run) = state.runs.get_mut(i) {
            run.failed = Some(error.to_string());
        }
    }
    if let Some(rate) = state.share_rates.get_mut(share) {
        *rate = 0.0;
    }
    state.messages.push(Message {
        level: Level::Error,
        text: format!(
            "A training worker failed twice ({error}); its {} are marked failed, and the other runs go on.",
            runs_text(state, &runs)
        ),
    });
    state.shown.loss += 1;
    state.settle(None);
}

/// "3 runs (lr=0.01, lr=0.1, lr=1)", for a share's message (at most four named).
fn runs_text(state: &State, runs: &[usize]) -> String {
    let names: Vec<String> = runs
        .iter()
        .filter_map(|&i| state.points.get(i))
        .map(|p| crate::link::sweep::describe(&p.knobs))
        .take(4)
        .collect();
    let more = if runs.len() > names.len() { ", …" } else { "" };
    let n = runs.len();
    format!(
        "{n} run{} ({}{more})",
        if n == 1 { "" } else { "s" },
        names.join(", ")
    )
}
