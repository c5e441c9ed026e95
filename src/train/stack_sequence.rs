//! The stacked transformer's side of a stack (#33, `train::stack`): the runs' sequence tasks as
//! `train::sequence` trains one — each run's own examples (its seed's), its own batches (a walk
//! over its fixed examples, or the char LM's fresh windows, from its own stream), the
//! cross-entropy over its scored positions (plus its z-loss), the step's statistics (largest
//! attention logit, mean log Z) and at evaluation steps its validation loss and accuracy — all
//! per run, `[K]`, from one pass of `model::gpt::stacked` for the K runs.

use burn::prelude::*;

use super::device_seqs::DeviceSeqs as Seqs;
use super::sequence::pass_rows;
use super::stack_walks::Walks;
use crate::data::device::BatchWalk;
use crate::data::sequence::{SeqDataset, Sequences as Split, Windows, generate};
use crate::data::{Rng, streams};
use crate::knobs::ExperimentConfig;
use crate::knobs::mup::{Part, Role};
use crate::knobs::sequence::{SeqKind, chunk_rows, val_rows};
use crate::model::fused;
use crate::model::gpt::Gpt;
use crate::model::gpt::stacked::StackedGpt;
use crate::model::quant::tensor::fake_quant;

/// Where the runs' mini-batches come from (as `train::sequence`'s `Batches`).
enum Batches {
    /// Each run's shuffled walk over its fixed training examples.
    Walk(Walks),
    /// Fresh windows of the char LM's training text for every run, each from its own stream;
    /// every position scored (a mask of ones, made once per size).
    Fresh {
        windows: Vec<(Windows, Rng)>,
        ones: Option<Tensor<2>>,
    },
}

/// Per run, host values a stack's measurements divide by.
struct Counts {
    /// Scored positions of the validation examples (at least 1).
    val_scored: Vec<f32>,
    /// Answers the validation and training accuracy count out of (at least 1).
    val_answers: Vec<f32>,
    train_answers: Vec<f32>,
}

impl Counts {
    fn retain(&mut self, keep: &[usize]) {
        for v in [
            &mut self.val_scored,
            &mut self.val_answers,
            &mut self.train_answers,
        ] {
            *v = keep.iter().map(|&k| v[k]).collect();
        }
    }
}

/// The stacked transformer, its runs' examples and their batches.
pub(super) struct SequenceStack {
    model: StackedGpt,
    train: Seqs,
    val: Seqs,
    batches: Batches,
    counts: Counts,
    /// Training examples the training accuracy scores.
    acc_rows: usize,
    text: bool,
    t: usize,
    /// Examples a run's batch holds.
    batch: usize,
    z_loss: f64,
    /// The widest activation of a pass, floats a token (the blocks' MLP or the logits).
    widest: usize,
}

/// `[K]` on the device from host values.
fn per_run(v: &[f32], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
}

impl SequenceStack {
    /// The stack of `cfgs` (valid transformer runs of one shape) on `device` (plain), over
    /// `total` steps, and its initial parameters.
    pub(super) fn new(
        cfgs: &[ExperimentConfig],
        total: usize,
        device: &Device,
    ) -> Result<(Self, Vec<Tensor<3>>), String> {
        let first = &cfgs[0];
        let kind = first
            .task
            .sequence()
            .ok_or_else(|| "a stacked transformer trains on a sequence task".to_string())?;
        let own = first.data.as_ref().filter(|d| d.text().is_some());
        if kind == SeqKind::Text && own.is_none() && !crate::data::corpus::loaded() {
            return Err("the char LM's texts are not loaded".into());
        }
        let ctx = first.gpt.ctx;
        let mut models = Vec::with_capacity(cfgs.len());
        let mut datasets: Vec<SeqDataset> = Vec::with_capacity(cfgs.len());
        let mut rngs = Vec::with_capacity(cfgs.len());
        for cfg in cfgs {
            // As `Trainer::new` and `Sequences::setup` do for one run.
            let batch_rng = Rng::stream(cfg.seed, streams::BATCHES);
            let dataset = generate(kind, &cfg.seq, ctx, cfg.points, cfg.seed, None, own);
            models.push(
                Gpt::new(
                    &cfg.gpt,
                    &cfg.mup,
                    dataset.vocab(),
                    cfg.width,
                    cfg.depth,
                    &mut Rng::stream(cfg.seed, streams::INIT),
                    device,
                )
                .with_branch(cfg.residual.branch_mult(cfg.depth).unwrap_or(1.0)),
            );
            rngs.push(batch_rng);
            datasets.push(dataset);
        }
        let d0 = &datasets[0];
        if datasets.iter().any(|d| {
            d.vocab() != d0.vocab()
                || d.train.n != d0.train.n
                || d.train.t != d0.train.t
                || d.val.n != d0.val.n
        }) {
            return Err("the stacked runs' sequence tasks differ in size".into());
        }
        let t = d0.train.t;
        let batches = match &d0.windows {
            Some(_) => Batches::Fresh {
                windows: datasets
                    .iter()
                    .zip(rngs)
                    .map(|(d, rng)| (d.windows.clone().expect("every run is the char LM"), rng))
                    .collect(),
                ones: None,
            },
            None => {
                let walks = rngs
                    .into_iter()
                    .map(|mut rng| (BatchWalk::new(d0.train.n, total, &mut rng), rng))
                    .collect();
                Batches::Walk(Walks::new(walks, first.batch.max(1), total))
            }
        };
        let trains: Vec<&Split> = datasets.iter().map(|d| &d.train).collect();
        let vals: Vec<&Split> = datasets.iter().map(|d| &d.val).collect();
        let val = Seqs::upload_runs(&vals, val_rows(kind, d0.val.t), device);
        let acc_rows = d0.train.n.min(chunk_rows(t));
        let text = d0.text;
        // As `Sequences::answers`: scored tokens for text, examples otherwise.
        let answers = |s: &Split, rows: usize| match text {
            true => s.mask[..rows * s.t].iter().sum::<f32>(),
            false => rows as f32,
        };
        let counts = Counts {
            val_scored: vals
                .iter()
                .map(|s| s.mask[..val.n * s.t].iter().sum::<f32>().max(1.0))
                .collect(),
            val_answers: vals.iter().map(|s| answers(s, val.n).max(1.0)).collect(),
            train_answers: trains.iter().map(|s| answers(s, acc_rows).max(1.0)).collect(),
        };
        let (model, params) = StackedGpt::new(&models);
        let stack = Self {
            train: Seqs::upload_runs(&trains, usize::MAX, device),
            val,
            batches,
            counts,
            acc_rows,
            text,
            t,
            batch: first.batch.max(1),
            z_loss: first.gpt.z_loss,
            widest: (first.gpt.mlp_ratio * first.width).max(d0.vocab()),
            model,
        };
        Ok((stack, params))
    }

    pub(super) fn roles(&self) -> &[(Role, Part)] {
        &self.model.roles
    }

    /// Keeps only the runs `keep` of the `runs` in the stack (`idx` the same on the device).
    pub(super) fn retain(&mut self, runs: usize, keep: &[usize], idx: &Tensor<1, Int>, device: &Device) {
        self.model.retain(idx);
        self.train.retain(runs, idx);
        self.val.retain(runs, idx);
        self.counts.retain(keep);
        match &mut self.batches {
            Batches::Walk(walks) => walks.retain(keep, self.train.n, device),
            Batches::Fresh { windows, ones } => {
                let mut old: Vec<_> = std::mem::take(windows).into_iter().map(Some).collect();
                *windows = keep.iter().filter_map(|&k| old[k].take()).collect();
                *ones = None;
            }
        }
    }

    /// Every run's next batch, run after run: tokens, next tokens and mask, `[K·batch, t]`.
    fn next_batch(&mut self, device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>, Tensor<2>) {
        let walks = match &mut self.batches {
            Batches::Walk(walks) => walks,
            Batches::Fresh { windows, ones } => {
                let batch = self.batch;
                let (mut x, mut y) = (Vec::new(), Vec::new());
                for (w, rng) in windows.iter_mut() {
                    let s = w.draw(batch, rng);
                    x.extend(s.x);
                    y.extend(s.y);
                }
                let (n, t) = (x.len() / self.t, self.t);
                let mask = ones.get_or_insert_with(|| Tensor::ones([n, t], device)).clone();
                return (
                    Tensor::from_data(TensorData::new(x, [n, t]), device),
                    Tensor::from_data(TensorData::new(y, [n, t]), device),
                    mask,
                );
            }
        };
        self.train.pick(walks.next(self.train.n, device))
    }

    /// Every run's loss on its next batch, `[K]`, on the graph of `leaves` (the parameters as
    /// autodiff leaves), and its statistics, `[K, 2]` (largest attention logit, mean log Z) or
    /// with a z-loss `[K, 3]` (its term too), detached — `Sequences::loss_and_log_z` per run.
    pub(super) fn loss(&mut self, leaves: &[Tensor<3>], device: &Device) -> (Tensor<1>, Tensor<2>) {
        let (x, y, mask) = self.next_batch(device);
        let (logits, max) = self.model.forward(leaves, x.autodiff(), true); // [K, b·t, vocab]
        let [k, bt, v] = logits.dims();
        let (logp, log_z) =
            fused::log_prob_and_log_z(logits.reshape([k * bt, v]), y.autodiff().reshape([k * bt, 1]));
        let mask = mask.autodiff().reshape([k, bt]);
        let scored = mask.clone().sum_dim(1).clamp_min(1.0); // [K, 1]
        // Each run's mean over its scored positions, [K, 1].
        let mean = |x: Tensor<2>| (x.reshape([k, bt]) * mask.clone()).sum_dim(1) / scored.clone();
        let ce = mean(logp).neg();
        let mean_z = mean(log_z.clone().detach());
        let max = max
            .unwrap_or_else(|| Tensor::zeros([k], &ce.device()))
            .detach()
            .reshape([k, 1]);
        let (loss, stats) = if self.z_loss > 0.0 {
            let z = mean(log_z.powi_scalar(2)).mul_scalar(self.z_loss);
            (ce + z.clone(), vec![max, mean_z, z.detach()])
        } else {
            (ce, vec![max, mean_z])
        };
        (loss.reshape([k]), Tensor::cat(stats, 1).inner())
    }

    /// Every run's validation loss `[K]` and accuracy `[K, 2]` (training, validation), with
    /// `params` plain (off the autodiff graph); `None` without validation examples.
    pub(super) fn evaluate(&self, params: &[Tensor<3>]) -> Option<(Tensor<1>, Tensor<2>)> {
        if self.val.n == 0 {
            return None;
        }
        let device = self.val.x.device();
        let k = self.model.runs;
        let (ce, val_right) = self.score(params, &self.val, self.val.n, true);
        let (_, train_right) = self.score(params, &self.train, self.acc_rows, false);
        let loss = ce? / per_run(&self.counts.val_scored, &device);
        let val_acc = val_right / per_run(&self.counts.val_answers, &device);
        let train_acc = train_right / per_run(&self.counts.train_answers, &device);
        let acc = Tensor::cat(vec![train_acc.reshape([k, 1]), val_acc.reshape([k, 1])], 1);
        Some((loss, acc))
    }

    /// Every run's validation loss with its weights rounded as PTQ rounds them (each run of
    /// `cfgs`, those still in the stack, at its own settings; a run that does not quantize keeps
    /// its float weights), `[K]`, as `Sequences::quantized_loss` scores one run; `None` without
    /// validation examples.
    pub(super) fn quantized_losses(
        &self,
        cfgs: &[&ExperimentConfig],
        params: &[Tensor<3>],
    ) -> Option<Tensor<1>> {
        if self.val.n == 0 {
            return None;
        }
        let round = |k: usize, w: Tensor<2>| {
            let q = &cfgs[k].quant;
            if q.enabled() { fake_quant(w, q) } else { w }
        };
        let embed = |k: usize| cfgs[k].quant.enabled() && cfgs[k].quant.embed;
        let rounded = self.model.rounded(params, &round, &embed);
        let (ce, _) = self.score(&rounded, &self.val, self.val.n, true);
        Some(ce? / per_run(&self.counts.val_scored, &self.val.x.device()))
    }

    /// Over each run's first `rows` examples of `split`, in passes of `pass_rows` examples in
    /// all: the summed cross-entropy of the scored positions (with `loss`) and the right
    /// answers, `[K]` each (`Sequences::score` per run).
    fn score(
        &self,
        params: &[Tensor<3>],
        split: &Seqs,
        rows: usize,
        loss: bool,
    ) -> (Option<Tensor<1>>, Tensor<1>) {
        let k = self.model.runs;
        let t = self.t;
        let chunk = (pass_rows(t, self.widest, &split.x.device()) / k).max(1);
        let (mut ce, mut right): (Option<Tensor<1>>, Option<Tensor<1>>) = (None, None);
        let add = |acc: &mut Option<Tensor<1>>, x: Tensor<1>| {
            *acc = Some(match acc.take() {
                Some(a) => a + x,
                None => x,
            })
        };
        for at in (0..rows).step_by(chunk) {
            let len = chunk.min(rows - at);
            let (x, y, mask) = split.run_rows(k, at..at + len);
            let (logits, _) = self.model.forward(params, x, false); // [K, len·t, vocab]
            let [_, lt, v] = logits.dims();
            let y = y.reshape([k, lt]);
            let mask = mask.reshape([k, lt]);
            let hit = logits.clone().argmax(2).reshape([k, lt]).equal(y.clone()).float(); // [K, len·t]
            let r = if self.text {
                (hit * mask.clone()).sum_dim(1)
            } else {
                // An example is exact when no scored position is wrong.
                let wrong = ((hit.neg() + 1.0) * mask.clone()).reshape([k, len, t]).sum_dim(2); // [K, len, 1]
                wrong.lower_elem(0.5).float().sum_dim(1).reshape([k, 1])
            };
            add(&mut right, r.reshape([k]));
            if loss {
                let logp = fused::log_softmax(logits.reshape([k * lt, v])).gather(1, y.reshape([k * lt, 1]));
                add(
                    &mut ce,
                    (logp.reshape([k, lt]) * mask).sum_dim(1).reshape([k]).neg(),
                );
            }
        }
        let right = right.unwrap_or_else(|| Tensor::zeros([k], &split.x.device()));
        (ce, right)
    }
}
