//! The transformer's trainer (#13): next-token training on a sequence task, with the same
//! contract as the MLP's `Trainer` — `step()` queues work and returns tensors; nothing here reads
//! values back. Losses are the mean cross-entropy over the scored (answer) positions, plus the
//! z-loss when it is on. With a LoRA rank the run has an adaptation phase, as the MLP's: the
//! pre-trained model gets adapters (on a QLoRA-rounded base when asked) and trains on the shifted
//! task (`Shift::describe`).

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::adapt::{self, Adaptation};
use super::groups::{self, Optimization};
use super::sequence_views::{ANSWERS, PROMPT, SAMPLE, SeqProbe, sample_noise};
use super::trainer::COORD_ROWS;
use super::trainer::{SeqOutput, StepOutput};
use crate::data::device::BatchWalk;
use crate::data::sequence::{SeqDataset, Sequences, generate};
use crate::data::{Rng, streams};
use crate::experiment::EVAL_EVERY;
use crate::knobs::ExperimentConfig;
use crate::knobs::quant::QMode;
use crate::model::gpt::{Gpt, Trace};

pub use crate::knobs::sequence::{VAL_TOKENS, val_rows};

/// One split on the device: tokens `[n, t]`, next tokens `[n, t]`, the scored mask `[n, t]`.
struct DeviceSeqs {
    x: Tensor<2, Int>,
    y: Tensor<2, Int>,
    mask: Tensor<2>,
    n: usize,
}

impl DeviceSeqs {
    fn upload(s: &Sequences, rows: usize, device: &Device) -> Self {
        let n = s.n.min(rows);
        let t = s.t;
        Self {
            x: Tensor::from_data(TensorData::new(s.x[..n * t].to_vec(), [n, t]), device),
            y: Tensor::from_data(TensorData::new(s.y[..n * t].to_vec(), [n, t]), device),
            mask: Tensor::from_data(TensorData::new(s.mask[..n * t].to_vec(), [n, t]), device),
            n,
        }
    }
}

pub struct SeqTrainer {
    cfg: ExperimentConfig,
    device: Device,
    model: Option<Gpt>,
    /// The optimizer and its per-group learning rates.
    optim: Optimization,
    /// The current phase's task (the shifted one once adaptation began).
    dataset: SeqDataset,
    /// The adaptation task, waiting for the end of pre-training.
    pending: Option<SeqDataset>,
    adaptation: Option<Adaptation>,
    train: DeviceSeqs,
    val: DeviceSeqs,
    batch_rng: Rng,
    walk: BatchWalk,
    step: usize,
}

impl SeqTrainer {
    /// Builds the model and uploads the task's examples once. `device` is a plain device; the
    /// trainer enables autodiff on it. `cfg` must be a valid transformer experiment.
    pub fn new(cfg: &ExperimentConfig, device: &Device) -> Result<Self, String> {
        let kind = cfg.task.sequence().ok_or_else(|| {
            format!(
                "{} is not a sequence task",
                crate::keys::TASK.is(crate::vocab::Named::key(cfg.task))
            )
        })?;
        // The page's worker fetches the texts before a text run (data::corpus); never train on none.
        if kind == crate::knobs::sequence::SeqKind::Text && !crate::data::corpus::loaded() {
            return Err("the char LM's texts are not loaded".into());
        }
        let device = device.clone().autodiff();
        let ctx = cfg.gpt.ctx;
        let dataset = generate(kind, &cfg.seq, ctx, cfg.points, cfg.seed, None);
        let pending = cfg
            .lora
            .rank
            .adapts()
            .then(|| generate(kind, &cfg.seq, ctx, cfg.points, cfg.seed, Some(cfg.shift)));
        let model = Gpt::new(
            &cfg.gpt,
            &cfg.mup,
            dataset.vocab(),
            cfg.width,
            cfg.depth,
            &mut Rng::stream(cfg.seed, streams::INIT),
            &device,
        )
        .with_qat((cfg.quant.enabled() && cfg.quant.mode == QMode::Qat).then(|| cfg.quant.clone()));
        // μP's groups (η/m on the hidden matrices) or SP's single rate, as for the MLP.
        let optim = groups::optimization_of(cfg, model.param_specs(), cfg.pretrain_steps(), &device);
        let mut batch_rng = Rng::stream(cfg.seed, streams::BATCHES);
        // The first walk serves pre-training only when an adaptation task waits.
        let steps = if pending.is_some() {
            cfg.pretrain_steps()
        } else {
            cfg.total_steps()
        };
        let walk = BatchWalk::new(dataset.train.n, steps, &mut batch_rng);
        Ok(Self {
            train: DeviceSeqs::upload(&dataset.train, usize::MAX, &device),
            val: DeviceSeqs::upload(&dataset.val, val_rows(dataset.val.t), &device),
            dataset,
            pending,
            adaptation: None,
            cfg: cfg.clone(),
            device,
            model: Some(model),
            optim,
            batch_rng,
            walk,
            step: 0,
        })
    }

    /// Switches to the adaptation phase: adapters on the trained model (on its rounded weights
    /// under QLoRA), a fresh optimizer whose schedule starts over, and the shifted task's data.
    fn begin_adaptation(&mut self) {
        let model = self.model.take().expect("model is present between steps");
        let q = &self.cfg.quant;
        let model = if q.enabled() && q.mode == QMode::Qlora {
            model.quantized(q)
        } else {
            model
        };
        let (model, adaptation) = adapt::begin(model, &self.cfg, self.step);
        let total = self.cfg.total_steps() - self.step;
        self.optim = groups::optimization_of(&self.cfg, model.param_specs(), total, &self.device);
        self.model = Some(model);
        self.adaptation = Some(adaptation);
        if let Some(next) = self.pending.take() {
            self.train = DeviceSeqs::upload(&next.train, usize::MAX, &self.device);
            self.val = DeviceSeqs::upload(&next.val, val_rows(next.val.t), &self.device);
            self.walk = BatchWalk::new(next.train.n, total, &mut self.batch_rng);
            self.dataset = next;
        }
    }

    /// The adaptation phase, once it has begun.
    pub fn adaptation(&self) -> Option<&Adaptation> {
        self.adaptation.as_ref()
    }

    /// The learned change of every adapted layer for the one readback; `None` before adaptation.
    pub fn delta_probe(&self) -> Option<(crate::data::spectrum::DeltaProbe, Vec<Tensor<1>>)> {
        Some(adapt::delta_probe(self.model(), self.adaptation.as_ref()?))
    }

    pub fn config(&self) -> &ExperimentConfig {
        &self.cfg
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn dataset(&self) -> &SeqDataset {
        &self.dataset
    }

    pub fn model(&self) -> &Gpt {
        self.model.as_ref().expect("model is present between steps")
    }

    pub fn is_done(&self) -> bool {
        self.step >= self.cfg.total_steps()
    }

    /// Mean cross-entropy over the scored positions (+ z-loss): logits [n, t, vocab] → [1].
    fn loss(&self, logits: Tensor<3>, y: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<1> {
        self.loss_and_log_z(logits, y, mask).0
    }

    /// The loss (as [`loss`](Self::loss)) and the mean log Z over the scored positions, detached
    /// (the instability proxy), from one log-softmax: log Z = logit − log-probability of any one
    /// token. Logits [n, t, vocab] → ([1], [1]).
    fn loss_and_log_z(
        &self,
        logits: Tensor<3>,
        y: Tensor<2, Int>,
        mask: Tensor<2>,
    ) -> (Tensor<1>, Tensor<1>) {
        let [n, t, v] = logits.dims();
        let logits = logits.reshape([n * t, v]);
        let mask = mask.reshape([n * t, 1]);
        let scored = mask.clone().sum().clamp_min(1.0);
        let lsm = log_softmax(logits.clone(), 1);
        let log_z = logits.narrow(1, 0, 1) - lsm.clone().narrow(1, 0, 1); // [n·t, 1]
        let logp = lsm.gather(1, y.reshape([n * t, 1]));
        let ce = (logp * mask.clone()).sum().neg() / scored.clone();
        let mean_z = ((log_z.clone().detach() * mask.clone()).sum() / scored.clone()).reshape([1]);
        let loss = if self.cfg.gpt.z_loss > 0.0 {
            let z = (log_z.powi_scalar(2) * mask).sum() / scored;
            ce + z.mul_scalar(self.cfg.gpt.z_loss)
        } else {
            ce
        };
        (loss.reshape([1]), mean_z)
    }

    /// Share of examples whose every scored token is the argmax (per scored token for the char
    /// LM, where a whole window is never exact): logits [n, t, vocab] → [1].
    fn accuracy(&self, logits: Tensor<3>, y: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<1> {
        let [n, t, _] = logits.dims();
        let right = logits.detach().argmax(2).reshape([n, t]).equal(y).float(); // [n, t]
        if self.dataset.text {
            return ((right * mask.clone()).sum() / mask.sum().clamp_min(1.0)).reshape([1]);
        }
        // An example is exact when no scored position is wrong.
        let wrong = ((right.neg() + 1.0) * mask).sum_dim(1); // [n, 1]
        wrong.lower_elem(0.5).float().mean().reshape([1])
    }

    /// The views queued for a readback: the last block's first head on the first validation
    /// example, the argmax answers of the first [`ANSWERS`] validation examples, and with `sample`
    /// (the end of a run) for the char LM [`SAMPLE`] characters continuing held-out text — the
    /// sample's forward passes run one after another, too slow for every redraw.
    pub fn view_probe(&self, sample: bool) -> Option<(SeqProbe, Vec<Tensor<1>>)> {
        if self.val.n == 0 {
            return None;
        }
        // Inference only: off the autodiff graph (see `infer`).
        let model = self.model().valid();
        let ds = &self.dataset.val;
        let t = ds.t;
        let x = self.val.x.clone().inner();
        let mut trace = Trace::with_pattern(self.cfg.depth.saturating_sub(1));
        let _ = model.forward_traced(x.clone().narrow(0, 0, 1), Some(&mut trace));
        let pattern = trace.pattern?;
        let rows = if self.dataset.text {
            0
        } else {
            self.val.n.min(ANSWERS)
        };
        let shown = rows.max(1);
        let argmax = model
            .forward(x.narrow(0, 0, shown))
            .argmax(2)
            .reshape([shown * t])
            .float();
        let mut tensors = vec![pattern, argmax];
        let prompt = (sample && self.dataset.text).then(|| ds.row(0)[..PROMPT.min(t)].to_vec());
        if let Some(p) = &prompt {
            let noise = sample_noise(self.cfg.seed, self.dataset.vocab());
            tensors.push(self.sample_tokens(p, noise, SAMPLE).float());
        }
        let probe = SeqProbe {
            pattern_tokens: ds.row(0).to_vec(),
            pattern_block: self.cfg.depth.saturating_sub(1),
            rows: (0..rows)
                .map(|i| {
                    let span = i * t..(i + 1) * t;
                    (
                        ds.row(i).to_vec(),
                        ds.y[span.clone()].to_vec(),
                        ds.mask[span].to_vec(),
                    )
                })
                .collect(),
            prompt,
            step: self.step,
            symbols: self.dataset.symbols.clone(),
            text: self.dataset.text,
        };
        Some((probe, tensors))
    }

    /// Continues `context` (tokens) by `n` tokens drawn with `noise` ([n·vocab] Gumbel draws) on
    /// the model as it is now, off the autodiff graph: their tokens, [n].
    pub fn sample_tokens(&self, context: &[i64], noise: Vec<f32>, n: usize) -> Tensor<1, Int> {
        let v = self.dataset.vocab();
        let noise = Tensor::<2>::from_data(TensorData::new(noise, [n, v]), &self.device).inner();
        let prompt = Tensor::<2, Int>::from_data(
            TensorData::new(context.to_vec(), [1, context.len()]),
            &self.device,
        )
        .inner();
        self.model().valid().sample(prompt, noise, self.cfg.gpt.ctx)
    }

    /// Optimizer steps queued so far, pre-training and adaptation together.
    pub fn steps_taken(&self) -> usize {
        self.step
    }

    /// The coordinate check's statistic: mean |output| of every linear layer on the first
    /// validation examples, [layers] (as the MLP's; flat in width under μP).
    fn coord_probe(&self, model: &Gpt) -> Tensor<1> {
        let rows = self.val.n.min(COORD_ROWS);
        let mut trace = Trace::with_coords();
        let x = self.val.x.clone().narrow(0, 0, rows).inner();
        let _ = model.valid().forward_traced(x, Some(&mut trace));
        Tensor::cat(trace.outputs, 0)
    }

    /// Queues one optimizer step on a random mini-batch; `None` once every step is taken.
    ///
    /// Every forward pass that only measures (validation, accuracy, probes, PTQ, the views) runs
    /// on `model.valid()` with inputs off autodiff: such passes would otherwise leave graph
    /// entries no backward ever consumes, and Burn's autodiff rescans all of them on every step
    /// (measured: a 4-run char-LM sweep took 3× as long per step as one run).
    pub fn step(&mut self) -> Option<StepOutput> {
        if self.is_done() {
            return None;
        }
        let t = self.step;
        if self.pending.is_some() && t == self.cfg.pretrain_steps() {
            self.begin_adaptation();
        }
        // [batch, t] each: the same epoch walk as the MLP's batches.
        let (x, y, mask) = match self
            .walk
            .next(self.cfg.batch.max(1), &mut self.batch_rng, &self.device)
        {
            None => (
                self.train.x.clone(),
                self.train.y.clone(),
                self.train.mask.clone(),
            ),
            Some(idx) => (
                self.train.x.clone().select(0, idx.clone()),
                self.train.y.clone().select(0, idx.clone()),
                self.train.mask.clone().select(0, idx),
            ),
        };
        let model = self.model.take().expect("model is present between steps");
        // As the MLP's: also at each phase's first and last step, so the switch is drawn where
        // it happens.
        let boundary = self.cfg.pretrain_steps();
        let eval = t.is_multiple_of(EVAL_EVERY)
            || t + 1 == self.cfg.total_steps()
            || t + 1 == boundary
            || (t == boundary && self.adaptation.is_some());
        let scored = eval && self.val.n > 0;
        let (val_loss, accuracy) = if scored {
            let infer = model.valid();
            let logits = infer.forward(self.val.x.clone().inner());
            let val_acc = self.accuracy(logits.clone(), self.val.y.clone(), self.val.mask.clone());
            let val_loss = self
                .loss(logits, self.val.y.clone(), self.val.mask.clone())
                .detach();
            // Training accuracy on as many training examples as validation scores.
            let rows = self.val.n.min(self.train.n);
            let logits = infer.forward(self.train.x.clone().narrow(0, 0, rows).inner());
            let train_acc = self.accuracy(
                logits,
                self.train.y.clone().narrow(0, 0, rows),
                self.train.mask.clone().narrow(0, 0, rows),
            );
            (Some(val_loss), Some(Tensor::cat(vec![train_acc, val_acc], 0)))
        } else {
            (None, None)
        };
        // The batch's forward records each attention layer's largest logit.
        let mut trace = Trace::default();
        let logits = model.forward_traced(x, Some(&mut trace));
        let max_logit = Tensor::cat(trace.max_logits, 0).max().reshape([1]);
        let (loss, log_z) = self.loss_and_log_z(logits, y, mask);
        let stability = Tensor::cat(vec![max_logit, log_z], 0);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = self.optim.step(model, grads);
        let coord = (t < self.cfg.coord).then(|| self.coord_probe(&model));
        // PTQ: the trained model with its weights rounded, scored once at the end.
        let q = &self.cfg.quant;
        let ptq = q.enabled() && q.mode == QMode::Ptq && t + 1 == self.cfg.total_steps() && self.val.n > 0;
        let quant_loss = ptq.then(|| {
            let logits = model.quantized(q).valid().forward(self.val.x.clone().inner());
            self.loss(logits, self.val.y.clone(), self.val.mask.clone())
                .detach()
        });
        self.model = Some(model);
        self.step += 1;
        Some(StepOutput {
            step: t,
            train_loss: loss.detach(),
            val_loss,
            coord,
            quant_loss,
            seq: Some(SeqOutput { stability, accuracy }),
        })
    }
}
