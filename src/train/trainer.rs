//! The trainer: owns the model, the optimizer and the device-resident data. `step()` only queues
//! work and returns tensors; nothing here reads values back (that is `metrics::read_reports`, the
//! one async GPU→CPU sync). The composition order of later knobs lives here only:
//! init → (μP scales) → (LoRA) → (quantization) → optimizer groups.

use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig, MseLoss, Reduction};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::data;
use crate::data::device::{DeviceData, DeviceTargets};
use crate::data::planted::Teacher;
use crate::data::{Dataset, EXTENT, Rng, spectrum, streams};
use crate::experiment::EVAL_EVERY;
use crate::knobs::ExperimentConfig;
use crate::knobs::quant::QMode;
use crate::knobs::task::Task;
use crate::model::Mlp;
use crate::train::adapt::{self, Adaptation};
use crate::train::groups::{self, Optimization};

/// Validation points the coordinate check averages over: enough for a stable mean.
pub const COORD_ROWS: usize = 256;

/// What one step queued on the device. Scalars are `[1]` tensors, still on the device.
pub struct StepOutput {
    /// 0-based step index; the loss is measured before this step's update.
    pub step: usize,
    pub train_loss: Tensor<1>,
    pub val_loss: Option<Tensor<1>>,
    /// Coordinate check: mean |output| of every linear layer after this step's update, [layers].
    pub coord: Option<Tensor<1>>,
    /// PTQ, at the last step: validation loss of the trained model with quantized weights, [1].
    pub quant_loss: Option<Tensor<1>>,
    /// The transformer's statistics of this step (`None` for the MLP).
    pub seq: Option<SeqOutput>,
}

/// What a transformer step measures besides its losses, still on the device.
pub struct SeqOutput {
    /// [2]: the largest attention logit over every layer and head, and the mean output log Z of
    /// the training batch (the instability proxies of Wortsman et al. 2023).
    pub stability: Tensor<1>,
    /// [2], at evaluation steps: exact-match accuracy on training and validation examples (per
    /// character for the char LM).
    pub accuracy: Option<Tensor<1>>,
}

pub struct Trainer {
    cfg: ExperimentConfig,
    device: Device,
    /// `Option` because the optimizer takes the model by value; always `Some` between calls.
    model: Option<Mlp>,
    /// The optimizer and its per-group learning rates (LoRA+ gives the B factors λ × lr).
    optim: Optimization,
    ce: CrossEntropyLoss,
    /// The current phase's samples on the device and the mini-batch walk over them.
    data: DeviceData,
    /// The current phase's data (the shifted task once adaptation began).
    dataset: Dataset,
    /// The adaptation task, waiting for the end of pre-training.
    pending: Option<Dataset>,
    adaptation: Option<Adaptation>,
    batch_rng: Rng,
    step: usize,
    grid: Option<(usize, Tensor<2>)>,
}

impl Trainer {
    /// Builds everything a run needs and uploads the data once. `device` is a plain (non-autodiff)
    /// device; the trainer enables autodiff on it.
    pub fn new(cfg: &ExperimentConfig, device: &Device) -> Result<Self, String> {
        crate::experiment::validate(cfg).map_err(|errs| {
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let device = device.clone().autodiff();
        device.seed(cfg.seed);
        let (dataset, model) = if cfg.task == Task::Planted {
            let teacher = Teacher::new(&cfg.planted, cfg.seed);
            let d = cfg.planted.dim;
            let model = Mlp::linear(teacher.w0.clone(), d, d, &device);
            (teacher.dataset(cfg.points, cfg.seed), model)
        } else {
            let dataset = data::generate(cfg);
            let mut init_rng = Rng::stream(cfg.seed, streams::INIT);
            let model = Mlp::new(cfg, cfg.input_dim(), cfg.outputs(), &mut init_rng, &device);
            (dataset, model)
        };
        let optim = groups::optimization(cfg, &model, cfg.pretrain_steps(), &device);
        let pending =
            (cfg.lora.rank.adapts() && cfg.task != Task::Planted).then(|| data::shift(cfg.shift, &dataset));
        let mut batch_rng = Rng::stream(cfg.seed, streams::BATCHES);
        // The first data serve pre-training only when an adaptation task waits.
        let steps = if pending.is_some() {
            cfg.pretrain_steps()
        } else {
            cfg.total_steps()
        };
        let mut t = Self {
            cfg: cfg.clone(),
            ce: CrossEntropyLossConfig::new().init(&device),
            data: DeviceData::new(&dataset, steps, &device, &mut batch_rng),
            model: Some(model),
            optim,
            device,
            dataset,
            pending,
            adaptation: None,
            batch_rng,
            step: 0,
            grid: None,
        };
        if cfg.lora.rank.adapts() && cfg.pretrain_steps() == 0 {
            t.begin_adaptation();
        }
        Ok(t)
    }

    /// Switches to the adaptation phase: attaches the adapters (or unfreezes everything for rank
    /// 0), starts a fresh optimizer, and moves to the shifted task's data.
    fn begin_adaptation(&mut self) {
        let model = self.model.take().expect("model is present between steps");
        // QLoRA-style: the frozen base is stored quantized; the adapters train in float on top.
        let q = &self.cfg.quant;
        let model = if q.enabled() && q.mode == QMode::Qlora {
            crate::model::quant::prepare(q, &model).quantized(q, false)
        } else {
            model
        };
        let (model, adaptation) = adapt::begin(model, &self.cfg, self.step);
        // A fresh optimizer with the same μP groups (and LoRA+'s λ on B); the schedule starts
        // over for the adaptation phase, as a fine-tuning script's would.
        let total = self.cfg.total_steps() - self.step;
        self.optim = groups::optimization(&self.cfg, &model, total, &self.device);
        self.model = Some(model);
        self.adaptation = Some(adaptation);
        if let Some(next) = self.pending.take() {
            self.data = DeviceData::new(&next, total, &self.device, &mut self.batch_rng);
            self.dataset = next;
        }
    }

    pub fn config(&self) -> &ExperimentConfig {
        &self.cfg
    }

    /// The device the run trains on (autodiff enabled).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The current phase's data.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// The adaptation phase, once it has begun.
    pub fn adaptation(&self) -> Option<&Adaptation> {
        self.adaptation.as_ref()
    }

    /// Steps taken so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    pub fn is_done(&self) -> bool {
        self.step >= self.cfg.total_steps()
    }

    /// Parameters of the model (adapters included once attached).
    pub fn parameter_count(&self) -> usize {
        self.model().parameter_count()
    }

    /// Parameters the optimizer updates now.
    pub fn trainable_count(&self) -> usize {
        self.adaptation
            .as_ref()
            .map_or_else(|| self.parameter_count(), |a| a.trainable)
    }

    pub fn model(&self) -> &Mlp {
        self.model.as_ref().expect("model is present between steps")
    }

    /// Mean loss of `pred` against `y`: cross-entropy for labels, MSE over every output for values.
    fn loss(&self, pred: Tensor<2>, y: DeviceTargets) -> Tensor<1> {
        match y {
            DeviceTargets::Labels(y) => self.ce.forward(pred, y),
            DeviceTargets::Values(y) => MseLoss::new().forward(pred, y, Reduction::Mean),
        }
    }

    /// Queues one optimizer step; `None` once all steps are done.
    pub fn step(&mut self) -> Option<StepOutput> {
        if self.is_done() {
            return None;
        }
        let t = self.step;
        if self.pending.is_some() && t == self.cfg.pretrain_steps() {
            self.begin_adaptation();
        }
        let (x, y) = self.data.next_batch(self.cfg.batch, &mut self.batch_rng); // [batch, dim]
        let model = self.model.take().expect("model is present between steps");
        // Validation before the update, so train and val losses describe the same parameters; also
        // at each phase's first and last step, so the jump at the switch is drawn where it happens.
        let boundary = self.cfg.pretrain_steps();
        let eval = t.is_multiple_of(EVAL_EVERY)
            || t + 1 == self.cfg.total_steps()
            || t + 1 == boundary
            || t == boundary;
        let val_loss = eval.then(|| {
            // Off the autodiff graph: a forward no backward consumes leaves graph entries that
            // Burn rescans every step (as in `SeqTrainer::step`).
            let pred = model.valid().forward(self.data.val.x.clone().inner());
            self.loss(pred, self.data.val.y.clone()).detach()
        });
        let loss = self.loss(model.forward(x), y); // [1]
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = self.optim.step(model, grads);
        let coord = (t < self.cfg.coord).then(|| self.coord_probe(&model));
        let q = &self.cfg.quant;
        let ptq = q.enabled() && q.mode == QMode::Ptq && t + 1 == self.cfg.total_steps();
        let quant_loss = ptq.then(|| {
            let native = crate::model::quant::native::on(&self.device);
            let pred = crate::model::quant::prepare(q, &model)
                .quantized(q, native)
                .forward(self.data.val.x.clone());
            self.loss(pred, self.data.val.y.clone()).detach()
        });
        self.model = Some(model);
        self.step += 1;
        Some(StepOutput {
            step: t,
            train_loss: loss.detach(),
            val_loss,
            coord,
            quant_loss,
            seq: None,
        })
    }

    /// Mean |output| of every linear layer on the first [`COORD_ROWS`] validation points: the
    /// coordinate check's statistic, [layers]. Under μP it stays put as width grows; under SP the
    /// hidden and readout outputs grow with width once Adam has taken a step.
    fn coord_probe(&self, model: &Mlp) -> Tensor<1> {
        let rows = self.data.val.x.dims()[0].min(COORD_ROWS);
        let x = self.data.val.x.clone().narrow(0, 0, rows); // [rows, d_in]
        let mut means = Vec::new();
        model.forward_traced(x, &mut |z| means.push(z.clone().abs().mean().detach()));
        Tensor::cat(means, 0) // [layers]
    }

    /// The learned change of every adapted layer, queued for one readback (see
    /// [`adapt::delta_probe`]); `None` before adaptation.
    pub fn delta_probe(&self) -> Option<(spectrum::DeltaProbe, Vec<Tensor<1>>)> {
        Some(adapt::delta_probe(self.model(), self.adaptation.as_ref()?))
    }

    /// Class probabilities on a `res`×`res` grid over [−EXTENT, EXTENT]², row-major from the top
    /// (y = +EXTENT) down, flattened: [res·res·classes]. Queued only; read it with the losses.
    /// Only for 2-D classification tasks ([`ExperimentConfig::has_boundary`]).
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
            let t = Tensor::<2>::from_data(TensorData::new(xy, [res * res, 2]), &self.device);
            self.grid = Some((res, t));
        }
        let grid = self
            .grid
            .as_ref()
            .map(|(_, g)| g.clone())
            .expect("grid was just built");
        let probs = softmax(self.model().valid().forward(grid.inner()), 1); // [res·res, classes]
        let k = self.dataset.classes;
        probs.reshape([res * res * k])
    }
}

/// Centre of cell `i` of `res` cells across [−EXTENT, EXTENT].
pub fn grid_coord(i: usize, res: usize) -> f32 {
    -EXTENT + (2.0 * EXTENT) * (i as f32 + 0.5) / res as f32
}
