//! The trainer: owns the model, the optimizer and the device-resident data. `step()` only queues
//! work and returns tensors; nothing here reads values back (that is `metrics::read_reports`, the
//! one async GPU→CPU sync). The composition order of later knobs lives here only:
//! init → (μP scales) → (LoRA) → (quantization) → optimizer groups.

use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::config::{ExperimentConfig, OptimizerKind};
use crate::data::{self, Dataset, EXTENT, Rng, streams};
use crate::metrics::{Run, read_reports};
use crate::model::{INPUT_DIM, Mlp};

/// Validation loss is evaluated every this many steps (and at the last step): often enough for a
/// smooth curve, rare enough not to double the work per step.
pub const EVAL_EVERY: usize = 10;

/// What one step queued on the device. Scalars are `[1]` tensors, still on the device.
pub struct StepOutput {
    /// 0-based step index; the loss is measured before this step's update.
    pub step: usize,
    pub train_loss: Tensor<1>,
    pub val_loss: Option<Tensor<1>>,
}

pub struct Trainer {
    cfg: ExperimentConfig,
    device: Device,
    /// `Option` because the optimizer takes the model by value; always `Some` between calls.
    model: Option<Mlp>,
    optim: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    train_x: Tensor<2>,
    train_y: Tensor<1, Int>,
    val_x: Tensor<2>,
    val_y: Tensor<1, Int>,
    /// Mini-batches walk a shuffled order, reshuffled every epoch (sampling without replacement).
    order: Vec<usize>,
    cursor: usize,
    batch_rng: Rng,
    step: usize,
    dataset: Dataset,
    grid: Option<(usize, Tensor<2>)>,
}

fn points_tensor(p: &data::Points2d, device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let n = p.len();
    let x = Tensor::<2>::from_data(TensorData::new(p.xy.clone(), [n, INPUT_DIM]), device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(p.labels.clone(), [n]), device);
    (x, y)
}

impl Trainer {
    /// Builds everything a run needs and uploads the data once. `device` is a plain (non-autodiff)
    /// device; the trainer enables autodiff on it.
    pub fn new(cfg: &ExperimentConfig, device: &Device) -> Result<Self, String> {
        cfg.validate().map_err(|errs| {
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let device = device.clone().autodiff();
        device.seed(cfg.seed);
        let dataset = data::generate(cfg.task, cfg.points, cfg.seed);
        let (train_x, train_y) = points_tensor(&dataset.train, &device);
        let (val_x, val_y) = points_tensor(&dataset.val, &device);
        let mut init_rng = Rng::stream(cfg.seed, streams::INIT);
        let model = Mlp::new(cfg, INPUT_DIM, dataset.classes, &mut init_rng, &device);
        let optim = match cfg.opt {
            // ε = 1e-8 as in PyTorch (Burn's default is 1e-5), so learning rates mean what
            // PyTorch users expect.
            OptimizerKind::Adam => AdamConfig::new().with_epsilon(1e-8).init(),
            OptimizerKind::Sgd => SgdConfig::new().init(),
        };
        let mut batch_rng = Rng::stream(cfg.seed, streams::BATCHES);
        let mut order: Vec<usize> = (0..cfg.points).collect();
        batch_rng.shuffle(&mut order);
        Ok(Self {
            cfg: cfg.clone(),
            loss_fn: CrossEntropyLossConfig::new().init(&device),
            device,
            model: Some(model),
            optim,
            train_x,
            train_y,
            val_x,
            val_y,
            order,
            cursor: 0,
            batch_rng,
            step: 0,
            dataset,
            grid: None,
        })
    }

    pub fn config(&self) -> &ExperimentConfig {
        &self.cfg
    }

    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// Steps taken so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    pub fn is_done(&self) -> bool {
        self.step >= self.cfg.steps
    }

    pub fn parameter_count(&self) -> usize {
        self.model().parameter_count()
    }

    fn model(&self) -> &Mlp {
        self.model.as_ref().expect("model is present between steps")
    }

    /// Indices of the next mini-batch, or `None` for full-batch training.
    fn next_batch(&mut self) -> Option<Vec<i64>> {
        let n = self.order.len();
        if self.cfg.batch >= n {
            return None;
        }
        let mut idx = Vec::with_capacity(self.cfg.batch);
        while idx.len() < self.cfg.batch {
            if self.cursor == n {
                self.batch_rng.shuffle(&mut self.order);
                self.cursor = 0;
            }
            idx.push(self.order[self.cursor] as i64);
            self.cursor += 1;
        }
        Some(idx)
    }

    /// Queues one optimizer step; `None` once all steps are done.
    pub fn step(&mut self) -> Option<StepOutput> {
        if self.is_done() {
            return None;
        }
        let t = self.step;
        let (x, y) = match self.next_batch() {
            None => (self.train_x.clone(), self.train_y.clone()),
            Some(idx) => {
                let b = idx.len();
                let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [b]), &self.device);
                (
                    self.train_x.clone().select(0, idx.clone()), // [batch, 2]
                    self.train_y.clone().select(0, idx),         // [batch]
                )
            }
        };
        let model = self.model.take().expect("model is present between steps");
        // Validation before the update, so train and val losses describe the same parameters.
        let val_loss = (t.is_multiple_of(EVAL_EVERY) || t + 1 == self.cfg.steps).then(|| {
            self.loss_fn
                .forward(model.forward(self.val_x.clone()), self.val_y.clone())
                .detach()
        });
        let loss = self.loss_fn.forward(model.forward(x), y); // [1]
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optim.step(self.cfg.lr, model, grads));
        self.step += 1;
        Some(StepOutput {
            step: t,
            train_loss: loss.detach(),
            val_loss,
        })
    }

    /// Class probabilities on a `res`×`res` grid over [−EXTENT, EXTENT]², row-major from the top
    /// (y = +EXTENT) down, flattened: [res·res·classes]. Queued only; read it with the losses.
    pub fn predict_grid(&mut self, res: usize) -> Tensor<1> {
        let stale = self.grid.as_ref().is_none_or(|(r, _)| *r != res);
        if stale {
            let mut xy = Vec::with_capacity(res * res * 2);
            for i in 0..res {
                for j in 0..res {
                    xy.push(grid_coord(j, res));
                    xy.push(-grid_coord(i, res));
                }
            }
            let t = Tensor::<2>::from_data(TensorData::new(xy, [res * res, INPUT_DIM]), &self.device);
            self.grid = Some((res, t));
        }
        let grid = self
            .grid
            .as_ref()
            .map(|(_, g)| g.clone())
            .expect("grid was just built");
        let probs = softmax(self.model().forward(grid), 1).detach(); // [res·res, classes]
        let k = self.dataset.classes;
        probs.reshape([res * res * k])
    }
}

/// Centre of cell `i` of `res` cells across [−EXTENT, EXTENT].
pub fn grid_coord(i: usize, res: usize) -> f32 {
    -EXTENT + (2.0 * EXTENT) * (i as f32 + 0.5) / res as f32
}

/// Trains `cfg` to the end, reading losses back every `chunk` steps (the native CLI and the tests;
/// the page paces its own loop per animation frame).
pub async fn train_run(cfg: &ExperimentConfig, device: &Device, chunk: usize) -> Result<Run, String> {
    let mut trainer = Trainer::new(cfg, device)?;
    let mut run = Run::new(cfg.clone());
    while !trainer.is_done() && !run.diverged {
        let outs: Vec<StepOutput> = (0..chunk.max(1)).map_while(|_| trainer.step()).collect();
        let (reports, _) = read_reports(outs, Vec::new()).await?;
        run.extend(reports);
    }
    Ok(run)
}

/// Trains every run of a sweep, interleaved in the order of `sweep::interleave`: rounds of `chunk`
/// steps per unfinished run, so partial results cover the whole grid. Each share is read back on
/// its own (the page batches a whole frame instead). A diverged run stops; the others go on.
/// `progress(done_runs, total_runs)` after every share.
pub async fn train_sweep(
    points: &[crate::sweep::SweepPoint],
    device: &Device,
    chunk: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Run>, String> {
    let mut trainers = points
        .iter()
        .map(|p| Trainer::new(&p.config, device))
        .collect::<Result<Vec<_>, _>>()?;
    let mut runs: Vec<Run> = points
        .iter()
        .map(|p| Run::with_knobs(p.config.clone(), p.knobs.clone()))
        .collect();
    let steps: Vec<usize> = points.iter().map(|p| p.config.steps).collect();
    for (i, n) in crate::sweep::interleave(&steps, chunk) {
        if runs[i].diverged {
            continue;
        }
        let outs: Vec<StepOutput> = (0..n).map_while(|_| trainers[i].step()).collect();
        let (reports, _) = read_reports(outs, Vec::new()).await?;
        runs[i].extend(reports);
        let done = trainers
            .iter()
            .zip(&runs)
            .filter(|(t, r)| t.is_done() || r.diverged)
            .count();
        progress(done, runs.len());
    }
    Ok(runs)
}
