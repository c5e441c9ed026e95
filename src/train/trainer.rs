//! The trainer, once for every model family: it validates the experiment, builds the family's
//! model and data (`Objective::setup`), and owns the phases (pre-training, then adaptation: LoRA
//! or full fine-tuning, on a QLoRA-rounded base when asked), the evaluation rule, the optimizer
//! groups (μP's and LoRA+'s rates), the coordinate check and the end-of-run losses of PTQ and
//! pruning. `step()` only queues work and returns tensors; nothing here reads values back (that
//! is `metrics::read_reports`, the one async GPU→CPU sync). The composition order of the knobs
//! lives here only: init → (μP scales) → (QAT) → optimizer groups → (QLoRA base) → (LoRA).

use burn::optim::GradientsParams;
use burn::prelude::*;

use super::adapt::{self, Adaptation};
use super::groups::{self, Optimization};
use super::objective::{Grid, Objective, Setup};
use crate::data::spectrum::DeltaProbe;
use crate::data::{Rng, streams};
use crate::knobs::ExperimentConfig;
use crate::knobs::quant::QMode;
use crate::model::Family;

/// Validation examples the coordinate check averages over: enough for a stable mean.
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
    /// The transformer's statistics of this step (`None` for families that measure none).
    pub seq: Option<SeqOutput>,
    /// With `norms`: [2], the global gradient norm (before clipping) and the update norm.
    pub norms: Option<Tensor<1>>,
    /// Matrix sensing, at evaluation steps: the model's M, [n·n] row-major.
    pub matrix: Option<Tensor<1>>,
    /// With `prune`, at the last step: the trained model cut every way, scored.
    pub prune: Option<super::prune::PruneOutput>,
    /// A vector classification task, at evaluation steps: validation accuracy, [1].
    pub val_acc: Option<Tensor<1>>,
    /// With `gns`: [2], the squared gradient norms of the batch's first quarter and of the whole
    /// batch, with the two batch sizes (`train::noise`).
    pub gns: Option<(Tensor<1>, [usize; 2])>,
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

/// One run's trainer, for the family of objective `O`.
pub struct Trainer<O: Objective> {
    cfg: ExperimentConfig,
    device: Device,
    /// `Option` because the optimizer takes the model by value; always `Some` between calls.
    model: Option<O::Model>,
    /// The current phase's optimizer and its per-group learning rates.
    optim: Optimization,
    objective: O,
    adaptation: Option<Adaptation>,
    batch_rng: Rng,
    step: usize,
    /// A sparse run's cut steps (none for a dense run), worked out once.
    cuts: Vec<usize>,
    /// A sparse run: the linear weights of step `prew`, kept for the cut to rewind to.
    rewound: Option<Vec<Tensor<2>>>,
    /// A sparse run after its cut: each linear weight's id and keep mask, held by zeroing the
    /// removed weights' gradients.
    mask: Option<Vec<(burn::module::ParamId, Tensor<2>)>>,
}

impl<O: Objective> Trainer<O> {
    /// Validates `cfg` (the one check, `experiment::validate`), builds the model and uploads
    /// the data once. `device` is a plain (non-autodiff) device; the trainer enables autodiff on
    /// it.
    pub fn new(cfg: &ExperimentConfig, device: &Device) -> Result<Self, String> {
        Self::new_from(cfg, device, None)
    }

    /// [`Trainer::new`] with the model's weights from `start` (a checkpoint of the same family
    /// and shapes, #35) instead of its seeded initialisation; an adaptation phase then attaches
    /// its adapters to them.
    pub fn new_from(
        cfg: &ExperimentConfig,
        device: &Device,
        start: Option<&crate::model::checkpoint::Checkpoint>,
    ) -> Result<Self, String> {
        crate::experiment::validate_text(cfg)?;
        let device = device.clone().autodiff();
        device.seed(cfg.seed);
        let mut batch_rng = Rng::stream(cfg.seed, streams::BATCHES);
        let first_phase = cfg.first_phase_steps();
        let Setup { objective, model } = O::setup(cfg, first_phase, &device, &mut batch_rng)?;
        let model = match start {
            Some(ck) => crate::model::checkpoint::load(model, ck)?,
            None => model,
        };
        let qat = cfg.quant.enabled() && cfg.quant.mode == QMode::Qat;
        let model = model.with_qat(qat.then(|| cfg.quant.clone()));
        // μP's groups (η/m on the hidden matrices) or SP's single rate, for the whole phase.
        let optim = groups::optimization(cfg, model.param_specs(), cfg.pretrain_steps(), &device);
        let mut t = Self {
            cfg: cfg.clone(),
            device,
            model: Some(model),
            optim,
            objective,
            adaptation: None,
            batch_rng,
            step: 0,
            cuts: if cfg.sparse.enabled() {
                cfg.sparse.cuts(cfg.total_steps())
            } else {
                Vec::new()
            },
            rewound: None,
            mask: None,
        };
        if cfg.lora.rank.adapts() && cfg.pretrain_steps() == 0 {
            t.begin_adaptation();
        }
        Ok(t)
    }

    /// Switches to the adaptation phase: the base rounded under QLoRA, the adapters attached
    /// (or everything unfrozen for rank 0), a fresh optimizer with the same groups whose
    /// schedule starts over (as a fine-tuning script's would), and the shifted task's data.
    fn begin_adaptation(&mut self) {
        let model = self.model.take().expect("model is present between steps");
        // QLoRA-style: the frozen base is stored quantized; the adapters train in float on top.
        let q = &self.cfg.quant;
        let model = if q.enabled() && q.mode == QMode::Qlora {
            model.quantized(q, false)
        } else {
            model
        };
        let (model, adaptation) = adapt::begin(model, &self.cfg, self.step);
        let total = self.cfg.total_steps() - self.step;
        self.optim = groups::optimization(&self.cfg, model.param_specs(), total, &self.device);
        self.model = Some(model);
        self.adaptation = Some(adaptation);
        if self.objective.has_pending() {
            self.objective.switch(total, &self.device, &mut self.batch_rng);
        }
    }

    /// A sparse run's cut `round` (the first at step `pat`): the linear weights cut to the
    /// share of that round (`pkeep` at the last), the survivors set to their trained values or
    /// to those of step `prew`, a fresh optimizer (moments at zero, the schedule over the
    /// round), and the mask kept for the steps that follow.
    fn cut(&mut self, round: usize) {
        let sp = &self.cfg.sparse;
        let model = self.model.take().expect("model is present between steps");
        let (ids, weights) = crate::model::prune::linear_weights(&model);
        // Removed weights are 0 and stay below any later threshold: the masks are nested.
        let p = sp.sparsity_of(round);
        let masks = crate::model::prune::weight_masks(&weights, sp.rule.method(), p, self.cfg.seed);
        let start = match (sp.from, &self.rewound) {
            (crate::knobs::prune::Start::Rewind, Some(w)) => w.clone(),
            _ => weights,
        };
        let cut = start
            .into_iter()
            .zip(&masks)
            .map(|(w, m)| w * m.clone())
            .collect();
        let model = crate::model::prune::with_weights(model, &ids, cut);
        // The round's own schedule: up to the next cut, or the end.
        let total = self.cfg.total_steps();
        let next = self
            .cuts
            .iter()
            .copied()
            .find(|&c| c > self.step)
            .unwrap_or(total);
        let left = next - self.step;
        self.optim = groups::optimization(&self.cfg, model.param_specs(), left, &self.device);
        self.model = Some(model);
        // The gradients are the inner backend's tensors (no autodiff): so is the mask they
        // meet, or the GPU's fused Adam would be handed an autodiff tensor.
        self.mask = Some(
            ids.into_iter()
                .zip(masks.into_iter().map(Tensor::inner))
                .collect(),
        );
    }

    pub fn config(&self) -> &ExperimentConfig {
        &self.cfg
    }

    /// The device the run trains on (autodiff enabled).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The family's data and measurements.
    pub fn objective(&self) -> &O {
        &self.objective
    }

    /// The adaptation phase, once it has begun.
    pub fn adaptation(&self) -> Option<&Adaptation> {
        self.adaptation.as_ref()
    }

    /// Optimizer steps queued so far, pre-training and adaptation together.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    pub fn is_done(&self) -> bool {
        self.step >= self.cfg.total_steps()
    }

    /// Parameters of the model (adapters included once attached).
    pub fn parameter_count(&self) -> usize {
        self.model().num_params()
    }

    /// Parameters the optimizer updates now.
    pub fn trainable_count(&self) -> usize {
        self.adaptation
            .as_ref()
            .map_or_else(|| self.parameter_count(), |a| a.trainable)
    }

    pub fn model(&self) -> &O::Model {
        self.model.as_ref().expect("model is present between steps")
    }

    /// Queues one optimizer step on a mini-batch; `None` once every step is taken.
    ///
    /// Every forward pass that only measures (validation, the coordinate check, PTQ, the views)
    /// runs off the autodiff graph: such passes would otherwise leave graph entries no backward
    /// ever consumes, and Burn's autodiff rescans all of them on every step (measured: a 4-run
    /// char-LM sweep took 3× as long per step as one run).
    pub fn step(&mut self) -> Option<StepOutput> {
        if self.is_done() {
            return None;
        }
        let t = self.step;
        let boundary = self.cfg.pretrain_steps();
        if self.objective.has_pending() && t == boundary {
            self.begin_adaptation();
        }
        let sparse = &self.cfg.sparse;
        if sparse.enabled() {
            if sparse.from == crate::knobs::prune::Start::Rewind && t == sparse.rewind {
                self.rewound = Some(crate::model::prune::linear_weights(self.model()).1);
            }
            if let Some(round) = self.cuts.iter().position(|&c| c == t) {
                self.cut(round);
            }
        }
        let batch = self
            .objective
            .next_batch(self.cfg.batch.max(1), &mut self.batch_rng);
        let model = self.model.take().expect("model is present between steps");
        // Validation before the update, so train and val losses describe the same parameters;
        // also at each phase's first and last step, so the jump at the switch is drawn where it
        // happens.
        let eval = t.is_multiple_of(self.cfg.eval_every())
            || t + 1 == self.cfg.total_steps()
            || t + 1 == boundary
            || t == boundary;
        let evaluation = eval.then(|| self.objective.evaluate(&self.cfg, &model)).flatten();
        let (val_loss, accuracy, matrix, val_acc) = match evaluation {
            Some(e) => (Some(e.loss), e.accuracy, e.matrix, e.val_acc),
            None => (None, None, None, None),
        };
        // The gradient noise scale's small batch: the first quarter of this one, its gradient
        // from a backward pass of its own, at the same parameters.
        let rows = self.objective.rows(&batch);
        let mut small = (self.cfg.gns && rows >= 2).then(|| {
            let k = (rows / super::noise::SMALL_SHARE).max(1);
            let loss = self
                .objective
                .loss(&self.cfg, &model, self.objective.head(&batch, k))
                .loss;
            (GradientsParams::from_grads(loss.backward(), &model), k)
        });
        let batch_loss = self.objective.loss(&self.cfg, &model, batch);
        let mut grads = GradientsParams::from_grads(batch_loss.loss.backward(), &model);
        // A sparse run holds its mask: the removed weights get no gradient, so neither the
        // clipping norm, the noise scale nor the optimizer sees them.
        for (id, m) in self.mask.iter().flatten() {
            for g in std::iter::once(&mut grads).chain(small.as_mut().map(|(g, _)| g)) {
                if let Some(t) = g.remove::<2>(*id) {
                    g.register(*id, t * m.clone());
                }
            }
        }
        // Both squared norms before clipping, as `norms` measures ‖g‖.
        let gns = small.and_then(|(g, k)| {
            let small = super::norms::gradient_norm(&model, &g)?.square();
            let big = super::norms::gradient_norm(&model, &grads)?.square();
            Some((Tensor::cat(vec![small, big], 0), [k, rows]))
        });
        let mut grad_norm = None;
        if self.cfg.clip > 0.0 {
            let (clipped, norm) = super::clip::clip_global_norm(&model, grads, self.cfg.clip);
            (grads, grad_norm) = (clipped, norm);
        }
        let before = self.cfg.norms.then(|| {
            if grad_norm.is_none() {
                grad_norm = super::norms::gradient_norm(&model, &grads);
            }
            super::norms::Before::of(&model, &grads)
        });
        let mut model = self.optim.step(model, grads);
        // A subspace's z is one parameter held by every tensor's delta: the optimizer wrote
        // the first copy it met; the others read it again.
        if let Some(z) = self.adaptation.as_ref().and_then(|a| a.subspace) {
            model = crate::model::subspace::tie(model, z);
        }
        let norms = before
            .and_then(|b| b.update_norm(&model))
            .zip(grad_norm)
            .map(|(update, grad)| Tensor::cat(vec![grad, update], 0));
        let coord = (t < self.cfg.coord).then(|| self.objective.coord(&model));
        // PTQ: the trained model with its weights rounded, scored once at the end.
        let q = &self.cfg.quant;
        let ptq = q.enabled() && q.mode == QMode::Ptq && t + 1 == self.cfg.total_steps();
        let quant_loss = ptq
            .then(|| {
                let native = crate::model::quant::native::on(&self.device);
                self.objective.quantized_loss(&self.cfg, &model, q, native)
            })
            .flatten();
        // Pruning: the trained model cut at every sparsity by every method, scored once at the end.
        let prune = (self.cfg.prune && t + 1 == self.cfg.total_steps())
            .then(|| {
                let base = self.adaptation.as_ref().map(Adaptation::base_weights);
                super::prune::PruneOutput::queue(&self.objective, &self.cfg, &model, base)
            })
            .flatten();
        self.model = Some(model);
        self.step += 1;
        Some(StepOutput {
            step: t,
            train_loss: batch_loss.loss.detach(),
            val_loss,
            coord,
            quant_loss,
            seq: batch_loss
                .stats
                .map(|stability| SeqOutput { stability, accuracy }),
            norms,
            matrix,
            prune,
            val_acc,
            gns,
        })
    }

    /// The learned change of every adapted layer, queued for one readback (see
    /// [`adapt::delta_probe`]); `None` before adaptation.
    pub fn delta_probe(&self) -> Option<(DeltaProbe, Vec<Tensor<1>>)> {
        Some(adapt::delta_probe(self.model(), self.adaptation.as_ref()?))
    }

    /// The decision boundary's grid of a 2-D classification task, queued (see
    /// [`Objective::grid`]).
    pub fn grid(&mut self, res: usize) -> Option<Grid> {
        let model = self.model.as_ref().expect("model is present between steps");
        self.objective.grid(model, res, &self.device)
    }
}
