//! A task's samples on the device, uploaded once, and the mini-batch order over them: a shuffled
//! walk reshuffled every epoch (sampling without replacement) from the run's own seeded stream, so
//! batches are the same on every backend.

use burn::prelude::*;

use crate::data::{Dataset, Rng, Samples, Targets};

/// Targets on the device.
#[derive(Clone)]
pub enum DeviceTargets {
    /// Class labels `[n]`.
    Labels(Tensor<1, Int>),
    /// Regression targets `[n, d]`.
    Values(Tensor<2>),
}

impl DeviceTargets {
    fn select(&self, idx: Tensor<1, Int>) -> Self {
        match self {
            DeviceTargets::Labels(y) => DeviceTargets::Labels(y.clone().select(0, idx)), // [batch]
            DeviceTargets::Values(y) => DeviceTargets::Values(y.clone().select(0, idx)), // [batch, d]
        }
    }
}

/// One split on the device: inputs `[n, dim]` and their targets.
#[derive(Clone)]
pub struct DeviceSplit {
    pub x: Tensor<2>,
    pub y: DeviceTargets,
}

fn upload(s: &Samples, device: &Device) -> DeviceSplit {
    let n = s.len();
    let x = Tensor::<2>::from_data(TensorData::new(s.x.clone(), [n, s.dim]), device);
    let y = match &s.targets {
        Targets::Labels(l) => {
            DeviceTargets::Labels(Tensor::from_data(TensorData::new(l.clone(), [n]), device))
        }
        Targets::Values { y, dim } => {
            DeviceTargets::Values(Tensor::from_data(TensorData::new(y.clone(), [n, *dim]), device))
        }
    };
    DeviceSplit { x, y }
}

/// Indices a walk uploads at most at once (4 MiB as `i32`): a whole reference run's batches in one
/// upload, and a long run's in a few.
const MAX_AHEAD: usize = 1 << 20;

/// Bytes at which CubeCL views part of a device buffer instead of copying it: WebGPU's default
/// `minStorageBufferOffsetAlignment` (CubeCL takes the larger of it and the uniform alignment).
/// A batch whose indices fill a multiple of it is a free view of the uploaded run of batches; any
/// other would cost a copy kernel a step, so its indices are uploaded a batch at a time.
pub const VIEW_ALIGN: usize = 256;

/// The mini-batch order over `n` training samples: a shuffled walk, reshuffled every epoch
/// (sampling without replacement). Both model families draw their batches from it.
///
/// The indices of many batches go to the device in one upload and each step takes its batch as a
/// view of them, so a step writes nothing to the device (#15: on WebGPU one `writeBuffer` a
/// step less). It draws ahead only batches its phase will take, so the shared random stream is
/// consumed exactly as a batch-by-batch walk consumes it, and a link replays the same batches.
pub struct BatchWalk {
    order: Vec<usize>,
    cursor: usize,
    /// Batches the phase will still take beyond those already drawn.
    planned: usize,
    ahead: Option<Ahead>,
}

/// Batches drawn ahead: `[count·batch]` indices on the device, `taken` of them used.
struct Ahead {
    idx: Tensor<1, Int>,
    batch: usize,
    count: usize,
    taken: usize,
}

impl BatchWalk {
    /// A walk over `n` samples for a phase of `steps` batches (a lower bound is safe: a walk asked
    /// for more keeps drawing).
    pub fn new(n: usize, steps: usize, rng: &mut Rng) -> Self {
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        Self {
            order,
            cursor: 0,
            planned: steps,
            ahead: None,
        }
    }

    /// The rows of the next mini-batch of `batch` samples, as a `[batch]` index tensor on
    /// `device`; `None` when `batch` covers the whole training set (use all of it).
    pub fn next(&mut self, batch: usize, rng: &mut Rng, device: &Device) -> Option<Tensor<1, Int>> {
        if batch >= self.order.len() {
            return None;
        }
        let stale = self
            .ahead
            .as_ref()
            .is_none_or(|a| a.batch != batch || a.taken == a.count);
        if stale {
            let count = self.batches_ahead(batch);
            self.planned = self.planned.saturating_sub(count);
            let idx = self.draw(count * batch, rng);
            self.ahead = Some(Ahead {
                idx: Tensor::from_data(TensorData::new(idx, [count * batch]), device),
                batch,
                count,
                taken: 0,
            });
        }
        let a = self.ahead.as_mut().expect("batches were just drawn");
        let rows = a.idx.clone().narrow(0, a.taken * batch, batch); // [batch]
        a.taken += 1;
        Some(rows)
    }

    /// How many batches of `batch` to draw in one upload.
    fn batches_ahead(&self, batch: usize) -> usize {
        if !(batch * size_of::<i32>()).is_multiple_of(VIEW_ALIGN) {
            return 1;
        }
        self.planned.clamp(1, (MAX_AHEAD / batch).max(1))
    }

    /// The next `k` samples of the walk, reshuffling at each epoch's end.
    pub(crate) fn draw(&mut self, k: usize, rng: &mut Rng) -> Vec<i64> {
        let n = self.order.len();
        let mut idx = Vec::with_capacity(k);
        while idx.len() < k {
            if self.cursor == n {
                rng.shuffle(&mut self.order);
                self.cursor = 0;
            }
            idx.push(self.order[self.cursor] as i64);
            self.cursor += 1;
        }
        idx
    }
}

/// Training and validation data of one phase, and where the mini-batch walk stands.
pub struct DeviceData {
    pub train: DeviceSplit,
    pub val: DeviceSplit,
    walk: BatchWalk,
    device: Device,
}

impl DeviceData {
    /// Uploads `data` and starts a freshly shuffled walk over its training samples for a phase
    /// of `steps` batches.
    pub fn new(data: &Dataset, steps: usize, device: &Device, rng: &mut Rng) -> Self {
        Self {
            train: upload(&data.train, device),
            val: upload(&data.val, device),
            walk: BatchWalk::new(data.train.len(), steps, rng),
            device: device.clone(),
        }
    }

    /// The next mini-batch of `batch` samples (`[batch, dim]` and its targets); the whole training
    /// set when `batch` covers it.
    pub fn next_batch(&mut self, batch: usize, rng: &mut Rng) -> (Tensor<2>, DeviceTargets) {
        match self.walk.next(batch, rng, &self.device) {
            None => (self.train.x.clone(), self.train.y.clone()),
            Some(idx) => (
                self.train.x.clone().select(0, idx.clone()),
                self.train.y.select(idx),
            ), // [batch, dim]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::backend;

    /// Every batch of `steps` from a walk planned for `planned` steps, and the stream's next draw.
    fn walk(n: usize, batch: usize, steps: usize, planned: usize) -> (Vec<Vec<i64>>, u64) {
        let device = backend::cpu();
        let mut rng = Rng::new(3);
        let mut w = BatchWalk::new(n, planned, &mut rng);
        let batches = (0..steps)
            .map(|_| {
                let idx = w.next(batch, &mut rng, &device).expect("batch < n");
                idx.into_data().convert::<i64>().try_to_vec::<i64>().unwrap() // sync-ok: a native test on the CPU
            })
            .collect();
        (batches, rng.next_u64())
    }

    #[test]
    fn drawing_ahead_takes_the_batches_and_the_stream_of_a_step_by_step_walk() {
        // 64 fills 256 bytes, so the walk uploads all 40 batches at once; 50 does not (one at a
        // time). Either way: the same batches, across epoch ends (n = 300), and the random stream
        // left where a walk drawing one batch per step leaves it.
        for batch in [64, 50] {
            let ahead = walk(300, batch, 40, 40);
            let stepwise = walk(300, batch, 40, 0);
            assert_eq!(ahead, stepwise, "batch {batch}");
            assert!(ahead.0.iter().all(|b| b.len() == batch));
        }
    }

    #[test]
    fn a_walk_asked_past_its_plan_keeps_walking() {
        let (planned_short, _) = walk(300, 64, 12, 5);
        let (stepwise, _) = walk(300, 64, 12, 0);
        assert_eq!(planned_short, stepwise);
    }
}
