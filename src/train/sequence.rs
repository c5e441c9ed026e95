//! The transformer's objective (#13): next-token prediction on a sequence task. Losses are the
//! mean cross-entropy over the scored (answer) positions, plus the z-loss when it is on; a step
//! also measures the largest attention logit and the mean log Z, and an evaluation the exact-match
//! accuracy. With a LoRA rank the adaptation phase trains on the shifted task
//! (`Shift::describe`). Its views (a head's pattern, answers, the char LM's sample) are queued
//! here too.

use crate::model::fused::{self, log_softmax};
use burn::prelude::*;

use super::device_seqs::DeviceSeqs;
use super::live_sample::LiveSample;
use super::objective::{BatchLoss, Evaluation, Objective, Setup};
use super::sequence_views::{ANSWERS, PROMPT, SAMPLE, SeqProbe, sample_noise};
use super::trainer::COORD_ROWS;
use crate::data::device::BatchWalk;
use crate::data::sequence::{SeqDataset, Sequences as Split, Windows, generate};
use crate::data::{Rng, streams};
use crate::knobs::ExperimentConfig;
use crate::knobs::quant::QuantConfig;
use crate::model::gpt::Gpt;
use crate::model::{Family, Trace};

use crate::knobs::sequence::{SeqKind, chunk_rows, val_rows};

/// Where a phase's mini-batches come from.
enum Batches {
    /// A shuffled walk over the fixed training examples (the algorithmic tasks, modadd).
    Walk(BatchWalk),
    /// Fresh windows of the char LM's training text every batch; every position is scored, so
    /// the mask is one tensor of ones, made once per batch size.
    Fresh {
        windows: Windows,
        ones: Option<Tensor<2>>,
    },
}

impl Batches {
    fn of(dataset: &SeqDataset, steps: usize, batch_rng: &mut Rng) -> Self {
        match &dataset.windows {
            Some(windows) => Batches::Fresh {
                windows: windows.clone(),
                ones: None,
            },
            None => Batches::Walk(BatchWalk::new(dataset.train.n, steps, batch_rng)),
        }
    }
}

/// A sequence task's examples on the device and the batches drawn from them.
pub struct Sequences {
    /// The current phase's task (the shifted one once adaptation began).
    dataset: SeqDataset,
    /// The adaptation task, waiting for the end of pre-training.
    pending: Option<SeqDataset>,
    /// The training examples (the char LM: a fixed sample of training windows, for the training
    /// accuracy).
    train: DeviceSeqs,
    val: DeviceSeqs,
    batches: Batches,
    kind: SeqKind,
    /// The device the run trains on (autodiff enabled).
    device: Device,
    /// The blocks' MLP width (d·mlpr), a pass's widest activation beside the logits.
    mlp_width: usize,
}

/// Bytes of the widest activation of one scoring pass on a GPU (see [`Sequences::pass_rows`]):
/// a quarter of WebGPU's guaranteed 128 MiB for one buffer a kernel binds.
const GPU_PASS_BYTES: usize = 32 << 20;

impl Sequences {
    /// The current phase's task.
    pub fn dataset(&self) -> &SeqDataset {
        &self.dataset
    }

    /// The loss (cross-entropy over the scored positions, plus `z_loss` × the mean log² Z) and,
    /// detached, the mean log Z over them (the instability proxy) and with a z-loss its term
    /// (reported beside the cross-entropy), from one log-softmax: log Z = logit − log-probability
    /// of any one token. Logits [n, t, vocab] → ([1], [1] or [2]).
    fn loss_and_log_z(
        z_loss: f64,
        logits: Tensor<3>,
        y: Tensor<2, Int>,
        mask: Tensor<2>,
    ) -> (Tensor<1>, Tensor<1>) {
        let [n, t, v] = logits.dims();
        let logits = logits.reshape([n * t, v]);
        let mask = mask.reshape([n * t, 1]);
        let y = y.reshape([n * t, 1]);
        if z_loss == 0.0
            && let Some(fused) = fused::masked_cross_entropy(&logits, &y, &mask)
        {
            return fused;
        }
        let scored = mask.clone().sum().clamp_min(1.0);
        // [n·t, 1] each; log Z differentiated only under the z-loss.
        let (logp, log_z) = fused::log_prob_and_log_z(logits, y);
        let ce = (logp * mask.clone()).sum().neg() / scored.clone();
        let mean_z = ((log_z.clone().detach() * mask.clone()).sum() / scored.clone()).reshape([1]);
        if z_loss > 0.0 {
            let z = ((log_z.powi_scalar(2) * mask).sum() / scored).mul_scalar(z_loss);
            let stats = Tensor::cat(vec![mean_z, z.clone().detach().reshape([1])], 0);
            ((ce + z).reshape([1]), stats)
        } else {
            (ce.reshape([1]), mean_z)
        }
    }

    /// The cross-entropy summed over the scored positions (`scored` of them): logits
    /// [n, t, vocab] → [1]. On a GPU the loss's kernel gives their mean, one launch where the
    /// log-softmax, the gather and the masked sum took several.
    fn ce_sum(logits: Tensor<3>, y: Tensor<2, Int>, mask: Tensor<2>, scored: f32) -> Tensor<1> {
        let [n, t, v] = logits.dims();
        let (logits, y, mask) = (
            logits.reshape([n * t, v]),
            y.reshape([n * t, 1]),
            mask.reshape([n * t, 1]),
        );
        if let Some((mean, _)) = fused::masked_cross_entropy(&logits, &y, &mask) {
            // The kernel divides by max(scored, 1); no scored position sums to 0 either way.
            return mean.mul_scalar(scored.max(1.0));
        }
        let logp = log_softmax(logits).gather(1, y);
        (logp * mask).sum().neg().reshape([1])
    }

    /// Examples of `t` tokens a scoring pass takes. On the CPU, [`chunk_rows`]: a pass costs its
    /// arithmetic, and chunks bound its memory. On a GPU each pass costs its kernel launches
    /// whatever its size (a forward and its statistics, about 35 for the reference
    /// transformer), so as many as keep a pass's widest activation (the MLP's hidden layer or
    /// the logits, f32) within [`GPU_PASS_BYTES`]: the char LM's 16,384 validation characters
    /// in one pass, not four (#32).
    fn pass_rows(&self, t: usize, device: &Device) -> usize {
        pass_rows(t, self.mlp_width.max(self.dataset.vocab()), device)
    }

    /// Right answers: examples whose every scored token is the argmax, or for the char LM (where
    /// a whole window is never exact) scored tokens that are. Logits [n, t, vocab] → [1].
    fn right(&self, logits: Tensor<3>, y: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<1> {
        let [n, t, _] = logits.dims();
        let right = logits.detach().argmax(2).reshape([n, t]).equal(y).float(); // [n, t]
        if self.dataset.text {
            return (right * mask).sum().reshape([1]);
        }
        // An example is exact when no scored position is wrong.
        let wrong = ((right.neg() + 1.0) * mask).sum_dim(1); // [n, 1]
        wrong.lower_elem(0.5).float().sum().reshape([1])
    }

    /// How many answers [`Self::right`] counts in `split`'s first `rows` examples.
    fn answers(&self, split: &Split, rows: usize) -> f32 {
        if self.dataset.text {
            split.mask[..rows * split.t].iter().sum()
        } else {
            rows as f32
        }
    }

    /// What [`Self::score`] measures, off the autodiff graph and [`Self::pass_rows`] examples a
    /// pass (on the CPU the char LM's validation is four passes): the mean cross-entropy, and
    /// with `accuracy` the share of right answers ([1] each; only what is asked for is computed).
    fn score(
        &self,
        model: &Gpt,
        (split, data): (&Split, &DeviceSeqs),
        rows: usize,
        (loss, accuracy): (bool, bool),
    ) -> (Option<Tensor<1>>, Option<Tensor<1>>) {
        let chunk = self.pass_rows(split.t, &data.x.device());
        let (mut ce, mut right) = (Vec::new(), Vec::new());
        for at in (0..rows).step_by(chunk) {
            let end = (at + chunk).min(rows);
            let (x, y, mask) = data.rows(at..end);
            let logits = model.forward(x.inner(), None);
            if accuracy {
                right.push(self.right(logits.clone(), y.clone().inner(), mask.clone().inner()));
            }
            if loss {
                let scored = split.mask[at * split.t..end * split.t].iter().sum::<f32>();
                ce.push(Self::ce_sum(logits, y.inner(), mask.inner(), scored));
            }
        }
        let sum = |parts: Vec<Tensor<1>>| Tensor::cat(parts, 0).sum();
        let scored = || split.mask[..rows * split.t].iter().sum::<f32>().max(1.0);
        let loss = loss.then(|| sum(ce).div_scalar(scored()));
        let acc = accuracy.then(|| sum(right).div_scalar(self.answers(split, rows).max(1.0)));
        (loss, acc)
    }
}

/// Examples of `t` tokens a scoring pass takes on `device` (see [`Sequences::pass_rows`]) for
/// a model whose widest activation is `widest` floats a token.
pub(crate) fn pass_rows(t: usize, widest: usize, device: &Device) -> usize {
    let chunk = chunk_rows(t);
    if !crate::model::backend::scalars_are_uploads(device) {
        return chunk;
    }
    chunk.max(GPU_PASS_BYTES / (widest * t * size_of::<f32>()).max(1))
}

impl Objective for Sequences {
    type Model = Gpt;
    /// Tokens, next tokens and the scored mask, [batch, t] each.
    type Batch = (Tensor<2, Int>, Tensor<2, Int>, Tensor<2>);

    fn setup(
        cfg: &ExperimentConfig,
        steps: usize,
        device: &Device,
        batch_rng: &mut Rng,
    ) -> Result<Setup<Self>, String> {
        let kind = cfg.task.sequence().ok_or_else(|| {
            format!(
                "{} is not a sequence task",
                crate::keys::TASK.is(crate::vocab::Named::key(cfg.task))
            )
        })?;
        // The page's worker fetches the texts before a text run (data::corpus); never train on none.
        let own = cfg.data.as_ref().filter(|d| d.text().is_some());
        if kind == SeqKind::Text && own.is_none() && !crate::data::corpus::loaded() {
            return Err("the char LM's texts are not loaded".into());
        }
        let ctx = cfg.gpt.ctx;
        let dataset = generate(kind, &cfg.seq, ctx, cfg.points, cfg.seed, None, own);
        let pending = (cfg.lora.rank.adapts() && cfg.pretrains())
            .then(|| generate(kind, &cfg.seq, ctx, cfg.points, cfg.seed, Some(cfg.shift), own));
        let model = Gpt::new(
            &cfg.gpt,
            &cfg.mup,
            dataset.vocab(),
            cfg.width,
            cfg.depth,
            &mut Rng::stream(cfg.seed, streams::INIT),
            device,
        )
        .with_branch(cfg.residual.branch_mult(cfg.depth).unwrap_or(1.0));
        let objective = Self {
            train: DeviceSeqs::upload(&dataset.train, usize::MAX, device),
            val: DeviceSeqs::upload(&dataset.val, val_rows(kind, dataset.val.t), device),
            batches: Batches::of(&dataset, steps, batch_rng),
            kind,
            dataset,
            pending,
            device: device.clone(),
            mlp_width: cfg.gpt.mlp_ratio * cfg.width,
        };
        Ok(Setup { objective, model })
    }

    fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    fn switch(&mut self, steps: usize, device: &Device, batch_rng: &mut Rng) {
        if let Some(next) = self.pending.take() {
            let kind = self.kind;
            self.train = DeviceSeqs::upload(&next.train, usize::MAX, device);
            self.val = DeviceSeqs::upload(&next.val, val_rows(kind, next.val.t), device);
            self.batches = Batches::of(&next, steps, batch_rng);
            self.dataset = next;
        }
    }

    /// The same epoch walk as the MLP's batches, or for the char LM `batch` fresh windows (one
    /// draw of `batch_rng` each; an upload of tokens and next tokens a step).
    fn next_batch(&mut self, batch: usize, batch_rng: &mut Rng) -> Self::Batch {
        let walk = match &mut self.batches {
            Batches::Walk(walk) => walk,
            Batches::Fresh { windows, ones } => {
                let s = windows.draw(batch, batch_rng);
                let (n, t) = (s.n, s.t);
                let mask = ones
                    .get_or_insert_with(|| Tensor::ones([n, t], &self.device))
                    .clone();
                return (
                    Tensor::from_data(TensorData::new(s.x, [n, t]), &self.device),
                    Tensor::from_data(TensorData::new(s.y, [n, t]), &self.device),
                    mask,
                );
            }
        };
        self.train.pick(walk.next(batch, batch_rng, &self.device))
    }

    fn rows(&self, (x, ..): &Self::Batch) -> usize {
        x.dims()[0]
    }

    fn head(&self, (x, y, mask): &Self::Batch, rows: usize) -> Self::Batch {
        let k = rows.min(x.dims()[0]);
        // Tokens, targets and mask, [k, t] each.
        (
            x.clone().narrow(0, 0, k),
            y.clone().narrow(0, 0, k),
            mask.clone().narrow(0, 0, k),
        )
    }

    /// The batch's forward records each attention layer's largest logit.
    fn loss(&self, cfg: &ExperimentConfig, model: &Gpt, (x, y, mask): Self::Batch) -> BatchLoss {
        let mut trace = Trace::default();
        let logits = model.forward(x, Some(&mut trace));
        // Pairwise, an element-wise op the GPU fuses, where a concatenation and a reduction
        // were two launches or three (a max is exact either way).
        let max_logit = trace
            .max_logits
            .into_iter()
            .reduce(|a, b| a.max_pair(b))
            .unwrap_or_else(|| Tensor::zeros([1], &logits.device()));
        let (loss, log_z) = Self::loss_and_log_z(cfg.gpt.z_loss, logits, y, mask);
        BatchLoss {
            loss,
            stats: Some(Tensor::cat(vec![max_logit, log_z], 0)),
        }
    }

    /// Validation loss and accuracy, and the training accuracy on up to one pass of training
    /// examples (the char LM: its fixed sample of training windows).
    fn evaluate(&self, _cfg: &ExperimentConfig, model: &Gpt) -> Option<Evaluation> {
        if self.val.n == 0 {
            return None;
        }
        let infer = model.valid();
        // Validation scores the model, not the objective: cross-entropy alone (its bits per
        // character are nats / ln 2), whatever z-loss the training adds (#31).
        let val = (&self.dataset.val, &self.val);
        let (val_loss, val_acc) = self.score(&infer, val, self.val.n, (true, true));
        let rows = self.train.n.min(chunk_rows(self.dataset.train.t));
        let (_, train_acc) = self.score(&infer, (&self.dataset.train, &self.train), rows, (false, true));
        let accuracy = train_acc.zip(val_acc).map(|(t, v)| Tensor::cat(vec![t, v], 0));
        Some(Evaluation {
            loss: val_loss?,
            accuracy,
            matrix: None,
            val_acc: None,
        })
    }

    /// As the MLP's: flat in width under μP.
    fn coord(&self, model: &Gpt) -> Tensor<1> {
        // One pass's worth at most, as validation scores it (the char LM's set is four).
        let rows = self.val.n.min(COORD_ROWS).min(chunk_rows(self.dataset.val.t));
        let mut trace = Trace::with_coords();
        let x = self.val.x.clone().narrow(0, 0, rows).inner();
        let _ = model.valid().forward(x, Some(&mut trace));
        Tensor::cat(trace.outputs, 0)
    }

    fn quantized_loss(
        &self,
        _cfg: &ExperimentConfig,
        model: &Gpt,
        q: &QuantConfig,
        native: bool,
    ) -> Option<Tensor<1>> {
        if self.val.n == 0 {
            return None;
        }
        // The quantized model's validation cross-entropy, comparable with the float one's.
        let quantized = model.quantized(q, native).valid();
        let (loss, _) = self.score(
            &quantized,
            (&self.dataset.val, &self.val),
            self.val.n,
            (true, false),
        );
        loss
    }

    /// The last block's first head on the first validation example, the argmax answers of the
    /// first [`ANSWERS`] validation examples, and with `sample` (the end of a run) for the char
    /// LM [`SAMPLE`] characters continuing held-out text — the sample's forward passes run one
    /// after another, too slow for every redraw.
    fn views(
        &self,
        cfg: &ExperimentConfig,
        model: &Gpt,
        sample: bool,
        step: usize,
    ) -> Option<(SeqProbe, Vec<Tensor<1>>)> {
        if self.val.n == 0 {
            return None;
        }
        // Inference only: off the autodiff graph.
        let model = model.valid();
        let ds = &self.dataset.val;
        let t = ds.t;
        let x = self.val.x.clone().inner();
        let mut trace = Trace::with_pattern(cfg.depth.saturating_sub(1));
        let _ = model.forward(x.clone().narrow(0, 0, 1), Some(&mut trace));
        let pattern = trace.pattern?;
        let rows = if self.dataset.text {
            0
        } else {
            self.val.n.min(ANSWERS)
        };
        let shown = rows.max(1);
        let argmax = model
            .forward(x.narrow(0, 0, shown), None)
            .argmax(2)
            .reshape([shown * t])
            .float();
        let mut tensors = vec![pattern, argmax];
        let prompt = (sample && self.dataset.text).then(|| ds.row(0)[..PROMPT.min(t)].to_vec());
        if let Some(p) = &prompt {
            let noise = sample_noise(cfg.seed, self.dataset.vocab());
            tensors.extend(self.sample(cfg, &model, p, noise, SAMPLE).map(|s| s.float()));
        }
        let probe = SeqProbe {
            pattern_tokens: ds.row(0).to_vec(),
            pattern_block: cfg.depth.saturating_sub(1),
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
            step,
            symbols: self.dataset.symbols.clone(),
            text: self.dataset.text,
        };
        Some((probe, tensors))
    }

    fn live_sample(&self, cfg: &ExperimentConfig) -> Option<LiveSample> {
        LiveSample::of(&self.dataset, cfg.seed)
    }

    /// Off the autodiff graph, with `noise` [n·vocab] Gumbel draws.
    fn sample(
        &self,
        cfg: &ExperimentConfig,
        model: &Gpt,
        context: &[i64],
        noise: Vec<f32>,
        n: usize,
    ) -> Option<Tensor<1, Int>> {
        let v = self.dataset.vocab();
        let noise = Tensor::<2>::from_data(TensorData::new(noise, [n, v]), &self.device).inner();
        let prompt = Tensor::<2, Int>::from_data(
            TensorData::new(context.to_vec(), [1, context.len()]),
            &self.device,
        )
        .inner();
        Some(model.valid().sample(prompt, noise, cfg.gpt.ctx))
    }
}
