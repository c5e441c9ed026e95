//! The page's bookkeeping of its training workers (#33), one [`Lane`] a worker: what each has
//! been sent and has heard, the run it trains, and what the page hears of them together — a
//! generation followed, a runner stopped, a round begun — once every worker of a generation has.
//! `remote.rs` starts, posts to, watches and replaces the workers.

use crate::page::ToWorker;

/// One training worker and what the page knows of it. The first is the page's own worker (it
/// takes the backend choice, and trains a single run or a sweep's first share); the others exist
/// while a sweep trains on a pool (#33), each on the CPU with its share of the runs.
#[derive(Default)]
pub struct Lane {
    pub worker: Option<web_sys::Worker>,
    /// Numbers of the messages posted and of the last one the worker said it took.
    pub posted: u64,
    pub heard: u64,
    /// Whether the worker has said anything yet: until then it is loading the module, and the
    /// watchdog leaves it alone (it takes its messages in order once it runs).
    pub booted: bool,
    /// The generation it follows: the newest whose Start or Steer it has heard (or the page's,
    /// once a busy worker was replaced); and the numbers of the Starts and Steers not heard yet,
    /// with their generations.
    pub at: u64,
    pub unheard: Vec<(u64, u64)>,
    /// Its Start of the current run (its share of the runs), for a fresh worker to carry on.
    pub start: Option<ToWorker>,
    /// Its share failed once in this generation and started again on a fresh worker.
    pub retried: bool,
    /// Rounds its runner has begun in a generation, and the generation it stopped on Cancel.
    pub frames: (u64, u64),
    pub stopped: Option<u64>,
}

impl Lane {
    /// The generation of its Start, if it has one.
    pub fn start_generation(&self) -> Option<u64> {
        match &self.start {
            Some(ToWorker::Start { generation, .. }) => Some(*generation),
            _ => None,
        }
    }
}

/// Worker `lane` follows `generation` now; returns the generation every worker follows.
pub fn follow(lanes: &mut [Lane], lane: usize, generation: u64) -> u64 {
    if let Some(l) = lanes.get_mut(lane) {
        l.at = l.at.max(generation);
    }
    lanes.iter().map(|l| l.at).min().unwrap_or(0)
}

/// Worker `lane` took the page's message `seq`: the newest generation of the Starts and Steers
/// it has now heard, if any.
pub fn heard(lanes: &mut [Lane], lane: usize, seq: u64) -> Option<u64> {
    let l = lanes.get_mut(lane)?;
    l.heard = l.heard.max(seq);
    let g = l
        .unheard
        .iter()
        .filter(|&&(s, _)| s <= seq)
        .map(|&(_, g)| g)
        .max();
    l.unheard.retain(|&(s, _)| s > seq);
    g
}

/// Worker `lane`'s runner of `generation` stopped on Cancel; returns whether every worker with a
/// share of it has.
pub fn stop(lanes: &mut [Lane], lane: usize, generation: u64) -> bool {
    if let Some(l) = lanes.get_mut(lane) {
        l.stopped = Some(generation);
    }
    lanes
        .iter()
        .filter(|l| l.start_generation() == Some(generation))
        .all(|l| l.stopped == Some(generation))
}

/// Worker `lane` began a round of `generation`; returns the rounds every worker with a share of
/// it has begun.
pub fn begin_round(lanes: &mut [Lane], lane: usize, generation: u64) -> u64 {
    if let Some(l) = lanes.get_mut(lane) {
        l.frames = if l.frames.0 == generation {
            (generation, l.frames.1 + 1)
        } else {
            (generation, 1)
        };
    }
    lanes
        .iter()
        .filter(|l| l.start_generation() == Some(generation))
        .map(|l| if l.frames.0 == generation { l.frames.1 } else { 0 })
        .min()
        .unwrap_or(0)
}
