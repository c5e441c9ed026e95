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

/// The mini-batch order over `n` training samples: a shuffled walk, reshuffled every epoch
/// (sampling without replacement). Both model families draw their batches from it.
pub struct BatchWalk {
    order: Vec<usize>,
    cursor: usize,
}

impl BatchWalk {
    pub fn new(n: usize, rng: &mut Rng) -> Self {
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        Self { order, cursor: 0 }
    }

    /// The rows of the next mini-batch of `batch` samples, as a `[batch]` index tensor on
    /// `device`; `None` when `batch` covers the whole training set (use all of it).
    pub fn next(&mut self, batch: usize, rng: &mut Rng, device: &Device) -> Option<Tensor<1, Int>> {
        let n = self.order.len();
        if batch >= n {
            return None;
        }
        let mut idx = Vec::with_capacity(batch);
        while idx.len() < batch {
            if self.cursor == n {
                rng.shuffle(&mut self.order);
                self.cursor = 0;
            }
            idx.push(self.order[self.cursor] as i64);
            self.cursor += 1;
        }
        Some(Tensor::from_data(TensorData::new(idx, [batch]), device))
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
    /// Uploads `data` and starts a freshly shuffled walk over its training samples.
    pub fn new(data: &Dataset, device: &Device, rng: &mut Rng) -> Self {
        Self {
            train: upload(&data.train, device),
            val: upload(&data.val, device),
            walk: BatchWalk::new(data.train.len(), rng),
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
