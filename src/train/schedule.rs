//! Each parameter group's learning rate as a Burn `LrScheduler`: the peak rate times the pure
//! factor of `knobs::schedule`, stepped by Burn's optimizer loop.

use burn::optim::LearningRate;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};

use crate::knobs::schedule::{Schedule, factor};

/// One parameter group's learning rate: `peak` × [`factor`], stepped by Burn's optimizer loop.
#[derive(Clone, Debug)]
pub struct Scheduled {
    peak: f64,
    kind: Schedule,
    warm: usize,
    total: usize,
    /// Steps taken so far.
    t: usize,
}

impl Scheduled {
    pub fn new(peak: f64, kind: Schedule, warm: usize, total: usize) -> Self {
        Self {
            peak,
            kind,
            warm,
            total,
            t: 0,
        }
    }
}

impl LrScheduler for Scheduled {
    fn step(&mut self) -> LearningRate {
        let lr = self.peak * factor(self.kind, self.warm, self.total, self.t);
        self.t += 1;
        lr
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new().with_scalar("t", self.t as u64)
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Some(t) = record.scalar::<u64>("t") {
            self.t = t as usize;
        }
    }
}
