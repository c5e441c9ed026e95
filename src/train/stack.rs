//! K runs of one shape trained as one stacked model (#33; which runs stack is
//! `experiment::stack`): the MLP of `model::stacked` on the runs' vector tasks, each run with its
//! own initial weights, data, batches, rates and decay, in one forward pass, one backward pass
//! and one optimizer update a step — so on a GPU K runs launch about the kernels of one.
//!
//! Each run's step is its unstacked step: the same initial weights (its `Mlp`, from its seed),
//! the same batches (its own walk over its own data, from its own stream), the same evaluation
//! steps and PyTorch's Adam at its own rates (`train::stack_adam`). The loss whose gradient is
//! taken is the sum of the runs' mean losses, and no operation mixes runs, so each run's slice of
//! the gradient is its own. A run that diverges leaves the stack before its next step (its slices
//! of the weights, moments, data and batches dropped), so it costs nothing more and the others
//! go on as they were. The curves agree with the unstacked runs' within float tolerance, not
//! to the bit: a batched product sums in its own order (tests/stack.rs states the tolerance).

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::metrics::{StepReport, read_reports};
use super::stack_adam::StackAdam;
use crate::data::device::BatchWalk;
use crate::data::{Rng, Samples, Targets, streams};
use crate::experiment::EVAL_EVERY;
use crate::knobs::ExperimentConfig;
use crate::model::stacked::StackedMlp;
use crate::model::{Mlp, VectorFamily};

/// What one stacked step queued: the losses of the runs still in the stack, `[K']`, still on
/// the device.
pub struct StackStep {
    /// 0-based step index; the losses are measured before this step's update.
    pub step: usize,
    /// The runs these losses are of: their positions in the stack as it began.
    pub runs: Vec<usize>,
    pub train_loss: Tensor<1>,
    pub val_loss: Option<Tensor<1>>,
}

/// Targets of K runs, stacked: labels `[K·n]` or values `[K·n, d]`.
#[derive(Clone)]
enum StackTargets {
    Labels(Tensor<1, Int>),
    Values(Tensor<2>),
}

impl StackTargets {
    fn select(&self, idx: Tensor<1, Int>) -> Self {
        match self {
            Self::Labels(y) => Self::Labels(y.clone().select(0, idx)),
            Self::Values(y) => Self::Values(y.clone().select(0, idx)),
        }
    }
}

impl Split {
    /// Only the runs at `idx` (`[K']`, positions among the `runs` stacked here).
    fn retain(&mut self, runs: usize, idx: &Tensor<1, Int>) {
        let (n, kept) = (self.n, idx.dims()[0]);
        let dim = self.x.dims()[1];
        let x = self.x.clone().reshape([runs, n, dim]).select(0, idx.clone());
        self.x = x.reshape([kept * n, dim]);
        self.y = match &self.y {
            StackTargets::Labels(y) => {
                let y = y.clone().reshape([runs, n]).select(0, idx.clone());
                StackTargets::Labels(y.reshape([kept * n]))
            }
            StackTargets::Values(y) => {
                let d = y.dims()[1];
                let y = y.clone().reshape([runs, n, d]).select(0, idx.clone());
                StackTargets::Values(y.reshape([kept * n, d]))
            }
        };
    }
}

/// One split of every run, run after run: inputs `[K·n, d]` and targets.
#[derive(Clone)]
struct Split {
    x: Tensor<2>,
    y: StackTargets,
    n: usize,
}

fn upload(splits: &[&Samples], device: &Device) -> Split {
    let n = splits[0].len();
    let dim = splits[0].dim;
    let rows = n * splits.len();
    let x: Vec<f32> = splits.iter().flat_map(|s| s.x.iter().copied()).collect();
    let x = Tensor::<2>::from_data(TensorData::new(x, [rows, dim]), device);
    let y = match &splits[0].targets {
        Targets::Labels(_) => {
            let l: Vec<i64> = splits.iter().flat_map(|s| s.labels().iter().copied()).collect();
            StackTargets::Labels(Tensor::from_data(TensorData::new(l, [rows]), device))
        }
        Targets::Values { dim: d, .. } => {
            let y: Vec<f32> = splits
                .iter()
                .flat_map(|s| match &s.targets {
                    Targets::Values { y, .. } => y.clone(),
                    Targets::Labels(_) => Vec::new(),
                })
                .collect();
            StackTargets::Values(Tensor::from_data(TensorData::new(y, [rows, *d]), device))
        }
    };
    Split { x, y, n }
}

/// Indices one upload holds at most, as the unstacked walk's.
const MAX_AHEAD: usize = 1 << 20;
/// `i32`s in 256 bytes (see `data::device::VIEW_ALIGN`).
const ALIGN: usize = crate::data::device::VIEW_ALIGN / size_of::<i32>();

/// Every run's batches drawn ahead: a row of `K·batch` indices a step (run k's offset by k·n),
/// rows `stride` apart so each row is a view in place (both ends a multiple of 256 bytes from
/// the buffer's ends).
struct Ahead {
    idx: Tensor<1, Int>,
    /// The same indices on the host, to drop a run's from the rows not yet taken.
    host: Vec<i64>,
    stride: usize,
    rows: usize,
    taken: usize,
}

/// Rows `width` indices long are this far apart in an upload: a multiple of 256 bytes.
fn stride(width: usize) -> usize {
    width.div_ceil(ALIGN) * ALIGN
}

impl Ahead {
    /// `rows` rows of `width` indices, row r filled by `fill(r, row)`, uploaded at once.
    fn new(rows: usize, width: usize, device: &Device, mut fill: impl FnMut(usize, &mut [i64])) -> Self {
        let stride = stride(width);
        let mut v = vec![0i64; (rows - 1) * stride + width];
        for r in 0..rows {
            fill(r, &mut v[r * stride..r * stride + width]);
        }
        let len = v.len();
        Self {
            idx: Tensor::from_data(TensorData::new(v.clone(), [len]), device),
            host: v,
            stride,
            rows,
            taken: 0,
        }
    }
}

/// The runs' mini-batch walks (each from its own stream, as alone) and their batches ahead.
struct Walks {
    walks: Vec<(BatchWalk, Rng)>,
    batch: usize,
    /// Steps the phase will still draw beyond those drawn.
    planned: usize,
    ahead: Option<Ahead>,
}

impl Walks {
    /// The next `[K·batch]` rows; `None` when the batch covers the training set.
    fn next(&mut self, n: usize, device: &Device) -> Option<Tensor<1, Int>> {
        if self.batch >= n {
            return None;
        }
        let runs = self.walks.len();
        let width = runs * self.batch;
        if self.ahead.as_ref().is_none_or(|a| a.taken == a.rows) {
            let rows = self.planned.clamp(1, (MAX_AHEAD / stride(width)).max(1));
            self.planned = self.planned.saturating_sub(rows);
            let (walks, b) = (&mut self.walks, self.batch);
            self.ahead = Some(Ahead::new(rows, width, device, |_, row| {
                for (k, (walk, rng)) in walks.iter_mut().enumerate() {
                    for (j, i) in walk.draw(b, rng).into_iter().enumerate() {
                        row[k * b + j] = i + (k * n) as i64;
                    }
                }
            }));
        }
        let a = self.ahead.as_mut().expect("batches were just drawn");
        let rows = a.idx.clone().narrow(0, a.taken * a.stride, width); // [K·batch]
        a.taken += 1;
        Some(rows)
    }

    /// Keeps only the walks of `keep` (positions among the current runs, ascending), and the
    /// batches already drawn for them, their rows renumbered for the runs left (`n` samples a
    /// run).
    fn retain(&mut self, keep: &[usize], n: usize, device: &Device) {
        let old: Vec<_> = std::mem::take(&mut self.walks).into_iter().map(Some).collect();
        let mut old = old;
        self.walks = keep.iter().filter_map(|&k| old[k].take()).collect();
        let Some(a) = self.ahead.take() else {
            return;
        };
        let rows = a.rows - a.taken;
        if rows == 0 || keep.is_empty() {
            return;
        }
        let b = self.batch;
        self.ahead = Some(Ahead::new(rows, keep.len() * b, device, |r, row| {
            for (j, &k) in keep.iter().enumerate() {
                let from = (a.taken + r) * a.stride + k * b;
                for i in 0..b {
                    // Run k's sample s was row k·n + s; it is now row j·n + s.
                    row[j * b + i] = a.host[from + i] - (k * n) as i64 + (j * n) as i64;
                }
            }
        }));
    }
}

/// A stack's trainer.
pub struct StackTrainer {
    cfgs: Vec<ExperimentConfig>,
    device: Device,
    model: StackedMlp,
    /// The parameters, plain tensors `[K, …]` (autodiff leaves only inside a step).
    params: Vec<Tensor<3>>,
    optim: StackAdam,
    train: Split,
    val: Split,
    walks: Walks,
    step: usize,
    /// The runs still in the stack (positions in the stack as it began), and those to leave it
    /// before the next step.
    alive: Vec<usize>,
    leaving: Vec<usize>,
}

impl StackTrainer {
    /// The stack of `cfgs` (runs that `experiment::stack` grouped: one shape, each valid) on
    /// `device` (plain).
    pub fn new(cfgs: &[ExperimentConfig], device: &Device) -> Result<Self, String> {
        let Some(first) = cfgs.first() else {
            return Err("a stack needs a run".into());
        };
        for cfg in cfgs {
            crate::experiment::validate_text(cfg)?;
            if let Some(why) = crate::experiment::stack::refuses(cfg) {
                return Err(format!("this run cannot stack: {why}"));
            }
        }
        let total = first.total_steps();
        let mut models = Vec::with_capacity(cfgs.len());
        let mut walks = Vec::with_capacity(cfgs.len());
        let mut datasets = Vec::with_capacity(cfgs.len());
        for cfg in cfgs {
            // As `Trainer::new` and `Vectors::setup` do for one run: the batch stream first
            // shuffles the walk, the init stream draws the weights.
            let mut batch_rng = Rng::stream(cfg.seed, streams::BATCHES);
            let dataset = crate::data::generate(cfg);
            let walk = BatchWalk::new(dataset.train.len(), total, &mut batch_rng);
            let mut init_rng = Rng::stream(cfg.seed, streams::INIT);
            models.push(Mlp::build(
                cfg,
                cfg.input_dim(),
                cfg.outputs(),
                &mut init_rng,
                device,
            ));
            walks.push((walk, batch_rng));
            datasets.push(dataset);
        }
        let (model, params) = StackedMlp::new(&models, device);
        let train = upload(&datasets.iter().map(|d| &d.train).collect::<Vec<_>>(), device);
        let val = upload(&datasets.iter().map(|d| &d.val).collect::<Vec<_>>(), device);
        Ok(Self {
            optim: StackAdam::new(cfgs, &model.roles, total, device),
            cfgs: cfgs.to_vec(),
            device: device.clone(),
            model,
            params,
            train,
            val,
            walks: Walks {
                walks,
                batch: first.batch.max(1),
                planned: total,
                ahead: None,
            },
            step: 0,
            alive: (0..cfgs.len()).collect(),
            leaving: Vec::new(),
        })
    }

    pub fn configs(&self) -> &[ExperimentConfig] {
        &self.cfgs
    }

    pub fn runs(&self) -> usize {
        self.cfgs.len()
    }

    pub fn steps_done(&self) -> usize {
        self.step
    }

    pub fn is_done(&self) -> bool {
        self.step >= self.cfgs[0].total_steps() || self.alive.len() == self.leaving.len()
    }

    /// Run `k` (its position in the stack as it began) leaves the stack before the next step
    /// (its loss diverged): it trains no more, and the others go on as they were.
    pub fn freeze(&mut self, k: usize) {
        if self.alive.contains(&k) && !self.leaving.contains(&k) {
            self.leaving.push(k);
        }
    }

    /// Drops the leaving runs' slices of everything the stack holds.
    fn compact(&mut self) {
        let keep: Vec<usize> = (0..self.alive.len())
            .filter(|&j| !self.leaving.contains(&self.alive[j]))
            .collect();
        self.leaving.clear();
        if keep.len() == self.alive.len() {
            return;
        }
        let runs = self.alive.len();
        let pos: Vec<i64> = keep.iter().map(|&j| j as i64).collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(pos, [keep.len()]), &self.device);
        self.params = std::mem::take(&mut self.params)
            .into_iter()
            .map(|p| p.select(0, idx.clone()))
            .collect();
        self.model.retain(&idx);
        self.optim.retain(&keep, &idx);
        self.train.retain(runs, &idx);
        self.val.retain(runs, &idx);
        self.walks.retain(&keep, self.train.n, &self.device);
        self.alive = keep.iter().map(|&j| self.alive[j]).collect();
    }

    /// Every run's mean loss, `[K]`: cross-entropy for labels, MSE over every output for values.
    /// pred: `[K, rows, out]`.
    fn losses(&self, pred: Tensor<3>, y: StackTargets) -> Tensor<1> {
        let [k, rows, _] = pred.dims();
        match y {
            StackTargets::Labels(y) => {
                let picked = log_softmax(pred, 2).gather(2, y.reshape([k, rows, 1])); // [K, rows, 1]
                picked.mean_dim(1).reshape([k]).neg()
            }
            StackTargets::Values(y) => {
                let d = y.dims()[1];
                let err = (pred - y.reshape([k, rows, d])).square(); // [K, rows, d]
                err.reshape([k, rows * d]).mean_dim(1).reshape([k])
            }
        }
    }

    /// Every run's validation loss, `[K]`, off the autodiff graph.
    fn validate(&self) -> Tensor<1> {
        let k = self.alive.len();
        let dim = self.val.x.dims()[1];
        let x = self.val.x.clone().reshape([k, self.val.n, dim]);
        let pred = self.model.forward(&self.params, x); // [K, n, out]
        self.losses(pred, self.val.y.clone())
    }

    /// Queues one step of every run; `None` once every step is taken.
    pub fn step(&mut self) -> Option<StackStep> {
        if self.is_done() {
            return None;
        }
        if !self.leaving.is_empty() {
            self.compact();
        }
        let t = self.step;
        let cfg = &self.cfgs[0];
        // `Trainer::step`'s evaluation rule (one phase: its boundary is its last step).
        let boundary = cfg.pretrain_steps();
        let eval = t.is_multiple_of(EVAL_EVERY) || t + 1 == cfg.total_steps() || t + 1 == boundary;
        let val_loss = eval.then(|| self.validate());
        let k = self.alive.len();
        let dim = self.train.x.dims()[1];
        let (x, y) = match self.walks.next(self.train.n, &self.device) {
            None => (self.train.x.clone(), self.train.y.clone()),
            Some(idx) => (
                self.train.x.clone().select(0, idx.clone()),
                self.train.y.select(idx),
            ),
        };
        let rows = x.dims()[0] / k;
        let x = x.reshape([k, rows, dim]); // [K, batch, d_in]
        let leaves: Vec<Tensor<3>> = self
            .params
            .iter()
            .map(|p| p.clone().autodiff().require_grad())
            .collect();
        let pred = self.model.forward(&leaves, x.autodiff()); // [K, batch, out]
        let y = match y {
            StackTargets::Labels(y) => StackTargets::Labels(y.autodiff()),
            StackTargets::Values(y) => StackTargets::Values(y.autodiff()),
        };
        let loss = self.losses(pred, y); // [K]
        // The sum's gradient is each run's own in its slice: nothing mixes runs.
        let mut grads = loss.clone().sum().backward();
        let g: Vec<Tensor<3>> = leaves
            .iter()
            .map(|l| {
                l.grad_remove(&mut grads)
                    .unwrap_or_else(|| l.clone().inner().zeros_like())
            })
            .collect();
        let params = std::mem::take(&mut self.params);
        self.params = self.optim.step(params, g);
        self.step += 1;
        Some(StackStep {
            step: t,
            runs: self.alive.clone(),
            train_loss: loss.detach().inner(),
            val_loss,
        })
    }
}

/// Where each stacked step's losses sit among the tensors a readback reads ([`queue`]): its
/// index and whether it has a validation loss.
pub struct Queued {
    shape: Vec<(usize, bool, Vec<usize>)>,
    runs: usize,
}

impl Queued {
    /// Tensors [`queue`] added to the readback.
    pub fn len(&self) -> usize {
        self.shape.iter().map(|(_, v, _)| 1 + usize::from(*v)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.shape.is_empty()
    }

    /// Each run's reports (`out[k]` for run k of the stack as it began; none for a step it had
    /// left by) from the values the readback returned for the queued tensors, in order.
    pub fn unpack(&self, values: &[Vec<f32>]) -> Vec<Vec<StepReport>> {
        let mut values = values.iter();
        let mut out = vec![Vec::with_capacity(self.shape.len()); self.runs];
        for (step, has_val, alive) in &self.shape {
            let (step, has_val) = (*step, *has_val);
            let train = values.next();
            let val = if has_val { values.next() } else { None };
            for (j, &k) in alive.iter().enumerate() {
                let Some(reports) = out.get_mut(k) else {
                    continue;
                };
                reports.push(StepReport {
                    step,
                    train_loss: train.and_then(|t| t.get(j).copied()).unwrap_or(f32::NAN),
                    val_loss: val.and_then(|v| v.get(j).copied()),
                    coord: None,
                    quant_val_loss: None,
                    seq: None,
                    norms: None,
                });
            }
        }
        out
    }
}

/// The `[K]` losses of `steps` as tensors for one readback (`metrics::read_reports`' extras),
/// and where they sit.
pub fn queue(steps: Vec<StackStep>, runs: usize) -> (Vec<Tensor<1>>, Queued) {
    let mut tensors = Vec::with_capacity(2 * steps.len());
    let mut shape = Vec::with_capacity(steps.len());
    for s in steps {
        shape.push((s.step, s.val_loss.is_some(), s.runs));
        tensors.push(s.train_loss);
        tensors.extend(s.val_loss);
    }
    (tensors, Queued { shape, runs })
}

/// Reads the losses of `steps` with one transfer, as `metrics::read_reports` does: each run's
/// reports, in step order (`out[k]` for run k of the stack).
pub async fn read_stack(steps: Vec<StackStep>, runs: usize) -> Result<Vec<Vec<StepReport>>, String> {
    let (tensors, queued) = queue(steps, runs);
    let (_, values) = read_reports(Vec::new(), tensors).await?;
    Ok(queued.unpack(&values))
}
