//! The vector tasks' objective, for any family that reads them (`model::VectorFamily`; the MLP
//! today): a task (the 2-D toys, the digits, the planted teacher) on the device, classified with
//! cross-entropy or regressed with MSE; after pre-training, the shifted task (`Shift`) for the
//! adaptation phase. The planted task's student is the family's linear map starting at the
//! teacher's W0 (the MLP with no hidden layer).

use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig, MseLoss, Reduction};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use super::objective::{BatchLoss, Evaluation, Grid, Objective, Setup};
use super::trainer::COORD_ROWS;
use crate::data::device::{DeviceData, DeviceTargets};
use crate::data::planted::Teacher;
use crate::data::{self, Dataset, EXTENT, Rng, streams};
use crate::knobs::ExperimentConfig;
use crate::knobs::quant::QuantConfig;
use crate::knobs::task::Task;
use crate::model::{Trace, VectorFamily};

/// A vector task's data on the device, the phase's samples and the grid of the decision boundary,
/// for a model of family `M`.
pub struct Vectors<M> {
    ce: CrossEntropyLoss,
    /// The current phase's samples on the device and the mini-batch walk over them.
    data: DeviceData,
    /// The current phase's data (the shifted task once adaptation began).
    dataset: Dataset,
    /// The adaptation task, waiting for the end of pre-training.
    pending: Option<Dataset>,
    /// The planted teacher's endless training stream (`stream=1`): each batch drawn fresh.
    stream: Option<Stream>,
    /// The 2-D grid the boundary is drawn on, once asked for: its resolution and points.
    grid: Option<(usize, Tensor<2>)>,
    boundary: bool,
    family: std::marker::PhantomData<M>,
}

/// A teacher and the random stream its fresh batches come from.
struct Stream {
    teacher: Teacher,
    rng: Rng,
    device: Device,
}

impl Stream {
    /// `batch` fresh samples on the device: inputs `[batch, d]`, targets `[batch, d]`. They come
    /// from the run's own stream, never from the batch walk's, so a stream run's batches are the
    /// same on every backend and whatever else the run measures.
    fn next(&mut self, batch: usize) -> (Tensor<2>, DeviceTargets) {
        let s = self.teacher.sample(batch, &mut self.rng);
        let x = Tensor::<2>::from_data(TensorData::new(s.x, [batch, s.dim]), &self.device);
        let y = match s.targets {
            data::Targets::Values { y, dim } => {
                DeviceTargets::Values(Tensor::from_data(TensorData::new(y, [batch, dim]), &self.device))
            }
            data::Targets::Labels(l) => {
                DeviceTargets::Labels(Tensor::from_data(TensorData::new(l, [batch]), &self.device))
            }
        };
        (x, y)
    }
}

impl<M> Vectors<M> {
    /// The current phase's data.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// Mean loss of `pred` against `y`: cross-entropy for labels, MSE over every output for values.
    fn loss_of(&self, pred: Tensor<2>, y: DeviceTargets) -> Tensor<1> {
        match y {
            DeviceTargets::Labels(y) => self.ce.forward(pred, y),
            DeviceTargets::Values(y) => MseLoss::new().forward(pred, y, Reduction::Mean),
        }
    }
}

impl<M: VectorFamily> Objective for Vectors<M> {
    type Model = M;
    /// Inputs [batch, dim] and their targets.
    type Batch = (Tensor<2>, DeviceTargets);

    fn setup(
        cfg: &ExperimentConfig,
        steps: usize,
        device: &Device,
        batch_rng: &mut Rng,
    ) -> Result<Setup<Self>, String> {
        let mut stream = None;
        let (dataset, model) = if cfg.task == Task::Planted {
            let teacher = Teacher::new(&cfg.planted, cfg.seed);
            let d = cfg.planted.dim;
            let model = M::student(teacher.w0.clone(), d, device)
                .ok_or("this model family has no student for the planted task")?;
            let dataset = teacher.dataset(cfg.points, cfg.seed);
            if cfg.planted.stream {
                stream = Some(Stream {
                    teacher,
                    rng: Rng::stream(cfg.seed, streams::STREAM),
                    device: device.clone(),
                });
            }
            (dataset, model)
        } else {
            let dataset = data::generate(cfg);
            let mut init_rng = Rng::stream(cfg.seed, streams::INIT);
            let model = M::build(cfg, cfg.input_dim(), cfg.outputs(), &mut init_rng, device);
            (dataset, model)
        };
        let pending = (cfg.lora.rank.adapts() && cfg.pretrains()).then(|| data::shift(cfg.shift, &dataset));
        let objective = Self {
            ce: CrossEntropyLossConfig::new().init(device),
            data: DeviceData::new(&dataset, steps, device, batch_rng),
            dataset,
            pending,
            stream,
            grid: None,
            boundary: cfg.has_boundary(),
            family: std::marker::PhantomData,
        };
        Ok(Setup { objective, model })
    }

    fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    fn switch(&mut self, steps: usize, device: &Device, batch_rng: &mut Rng) {
        if let Some(next) = self.pending.take() {
            self.data = DeviceData::new(&next, steps, device, batch_rng);
            self.dataset = next;
        }
    }

    fn next_batch(&mut self, batch: usize, batch_rng: &mut Rng) -> Self::Batch {
        match &mut self.stream {
            Some(s) => s.next(batch),
            None => self.data.next_batch(batch, batch_rng), // [batch, dim]
        }
    }

    fn loss(&self, _cfg: &ExperimentConfig, model: &M, (x, y): Self::Batch) -> BatchLoss {
        BatchLoss {
            loss: self.loss_of(model.forward(x, None), y), // [1]
            stats: None,
        }
    }

    fn rows(&self, (x, _): &Self::Batch) -> usize {
        x.dims()[0]
    }

    fn head(&self, (x, y): &Self::Batch, rows: usize) -> Self::Batch {
        let k = rows.min(x.dims()[0]);
        let y = match y {
            DeviceTargets::Labels(l) => DeviceTargets::Labels(l.clone().narrow(0, 0, k)),
            DeviceTargets::Values(v) => DeviceTargets::Values(v.clone().narrow(0, 0, k)),
        };
        (x.clone().narrow(0, 0, k), y) // [k, dim], its k targets
    }

    fn evaluate(&self, _cfg: &ExperimentConfig, model: &M) -> Option<Evaluation> {
        let pred = model.valid().forward(self.data.val.x.clone().inner(), None); // [n, out]
        let val_acc = match &self.data.val.y {
            DeviceTargets::Labels(y) => Some(accuracy(pred.clone(), y.clone().inner())),
            DeviceTargets::Values(_) => None,
        };
        Some(Evaluation {
            loss: self.loss_of(pred, self.data.val.y.clone()).detach(),
            accuracy: None,
            matrix: None,
            val_acc,
        })
    }

    /// Under μP it stays put as width grows; under SP the hidden and readout outputs grow with
    /// width once Adam has taken a step.
    fn coord(&self, model: &M) -> Tensor<1> {
        let rows = self.data.val.x.dims()[0].min(COORD_ROWS);
        let x = self.data.val.x.clone().inner().narrow(0, 0, rows); // [rows, d_in]
        let mut trace = Trace::with_coords();
        model.valid().forward(x, Some(&mut trace));
        Tensor::cat(trace.outputs, 0) // [layers]
    }

    fn quantized_loss(
        &self,
        _cfg: &ExperimentConfig,
        model: &M,
        q: &QuantConfig,
        native: bool,
    ) -> Option<Tensor<1>> {
        let pred = model
            .quantized(q, native)
            .valid()
            .forward(self.data.val.x.clone().inner(), None); // [n, out]
        Some(self.loss_of(pred, self.data.val.y.clone()).detach())
    }

    /// Row-major from the top (y = +EXTENT) down over [−EXTENT, EXTENT]², flattened.
    fn grid(&mut self, model: &M, res: usize, device: &Device) -> Option<Grid> {
        if !self.boundary {
            return None;
        }
        let stale = self.grid.as_ref().is_none_or(|(r, _)| *r != res);
        if stale {
            let mut xy = Vec::with_capacity(res * res * 2);
            for i in 0..res {
                for j in 0..res {
                    xy.push(grid_coord(j, res));
                    xy.push(-grid_coord(i, res));
                }
            }
            let t = Tensor::<2>::from_data(TensorData::new(xy, [res * res, 2]), device);
            self.grid = Some((res, t));
        }
        let grid = self.grid.as_ref().map(|(_, g)| g.clone())?;
        let probs = softmax(model.valid().forward(grid.inner(), None), 1); // [res·res, classes]
        let classes = self.dataset.classes;
        Some(Grid {
            probs: probs.reshape([res * res * classes]),
            classes,
            points: self.dataset.train.clone(),
        })
    }
}

/// The share of rows whose largest logit is at their label: logits [n, classes], labels [n] →
/// [1]. A tie goes to the lower class (argmax's first), as torch's `argmax` does.
pub fn accuracy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let n = labels.dims()[0];
    let hit = logits.argmax(1).reshape([n]).equal(labels); // [n]
    hit.float().mean()
}

/// Centre of cell `i` of `res` cells across [−EXTENT, EXTENT].
pub fn grid_coord(i: usize, res: usize) -> f32 {
    -EXTENT + (2.0 * EXTENT) * (i as f32 + 0.5) / res as f32
}
