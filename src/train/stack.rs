//! K runs of one shape trained as one stacked model (#33; which runs stack is
//! `experiment::stack`): the MLP of `model::stacked` on the runs' vector tasks
//! (`train::stack_vector`) or the transformer of `model::gpt::stacked` on their sequence tasks
//! (`train::stack_sequence`), each run with its own initial weights, data, batches, rates and
//! decay, in one forward pass, one backward pass and one optimizer update a step — so on a GPU K
//! runs launch about the kernels of one.
//!
//! Each run's step is its unstacked step: the same initial weights (its model, from its seed),
//! the same batches (its own walk over its own data, or its own fresh windows, from its own
//! stream), the same evaluation steps and measurements, and PyTorch's Adam at its own rates
//! (`train::stack_optim`). The MLP's phases are the trainer's: at the boundary every run begins
//! its adaptation (its adapters drawn from its own stream on its base, QLoRA-rounded at its own
//! bits, and a fresh optimizer over what trains, a factor its `train` mode keeps fixed at a rate
//! of 0), and PTQ scores each run's rounded model at the last step. The loss whose gradient is
//! taken is the sum of the runs' mean losses,
//! and no operation mixes runs, so each run's slice of the gradient is its own. A run that
//! diverges leaves the stack before its next step (its slices of the weights, moments, data and
//! batches dropped), so it costs nothing more and the others go on as they were. The curves
//! agree with the unstacked runs' within float tolerance, not to the bit: a batched product sums
//! in its own order (tests/stack.rs states the tolerance).

use burn::prelude::*;

use super::stack_optim::StackOptim;
use super::stack_sequence::SequenceStack;
use super::stack_vector::VectorStack;
use crate::knobs::ExperimentConfig;
use crate::knobs::arch::Family;
use crate::knobs::quant::QMode;

/// What one stacked step queued for the runs still in the stack (`[K']` each), still on the
/// device.
pub struct StackStep {
    /// 0-based step index; the losses are measured before this step's update.
    pub step: usize,
    /// The runs these losses are of: their positions in the stack as it began.
    pub runs: Vec<usize>,
    pub train_loss: Tensor<1>,
    pub val_loss: Option<Tensor<1>>,
    /// The transformer's statistics of each run's batch, `[K', s]`: the largest attention
    /// logit, the mean log Z and, with a z-loss, its term (as `SeqStats` reads them).
    pub stats: Option<Tensor<2>>,
    /// The transformer's accuracy at an evaluation step, `[K', 2]`: training, validation.
    pub accuracy: Option<Tensor<2>>,
    /// A vector classification task's validation accuracy at an evaluation step, `[K']`.
    pub val_acc: Option<Tensor<1>>,
    /// PTQ, at the last step: each run's validation loss with its weights rounded, `[K']`, and
    /// which of the runs quantize (the others' values are their float losses, not reported).
    pub quant_loss: Option<(Tensor<1>, Vec<bool>)>,
}

/// What the runs of a stack train on: the MLP's vector tasks or the transformer's sequence tasks.
enum Task {
    Vector(Box<VectorStack>),
    Sequence(Box<SequenceStack>),
}

/// A stack's trainer.
pub struct StackTrainer {
    cfgs: Vec<ExperimentConfig>,
    device: Device,
    task: Task,
    /// The parameters, plain tensors `[K, …]` (autodiff leaves only inside a step).
    params: Vec<Tensor<3>>,
    /// Which parameters the phase trains (an adaptation phase's base does not); the optimizer
    /// holds only these, in order.
    trains: Vec<bool>,
    optim: StackOptim,
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
        let (task, params) = match first.family() {
            Family::Gpt => {
                let (stack, params) = SequenceStack::new(cfgs, first.total_steps(), device)?;
                (Task::Sequence(Box::new(stack)), params)
            }
            _ => {
                let (stack, params) = VectorStack::new(cfgs, device);
                (Task::Vector(Box::new(stack)), params)
            }
        };
        let roles = match &task {
            Task::Vector(v) => v.roles(),
            Task::Sequence(s) => s.roles(),
        };
        let all: Vec<&ExperimentConfig> = cfgs.iter().collect();
        let mut trainer = Self {
            // Pre-training's schedule spans its own steps, as `Trainer::new` sets it up.
            optim: StackOptim::new(&all, roles, &|_, _| false, first.pretrain_steps(), device),
            trains: vec![true; params.len()],
            cfgs: cfgs.to_vec(),
            device: device.clone(),
            task,
            params,
            step: 0,
            alive: (0..cfgs.len()).collect(),
            leaving: Vec::new(),
        };
        if first.lora.rank.adapts() && first.pretrain_steps() == 0 {
            trainer.begin_adaptation();
        }
        Ok(trainer)
    }

    /// The configs of the runs still in the stack, in its order.
    fn alive_configs(&self) -> Vec<&ExperimentConfig> {
        self.alive.iter().map(|&k| &self.cfgs[k]).collect()
    }

    /// Switches every run to its adaptation phase (`Trainer::begin_adaptation` for a stack):
    /// the adapters attached (or everything unfrozen), a fresh optimizer over what trains whose
    /// schedule starts over, and the shifted task's data.
    fn begin_adaptation(&mut self) {
        let Task::Vector(v) = &mut self.task else {
            return; // `experiment::stack::refuses` keeps a transformer's adaptation alone
        };
        let steps = self.cfgs[0].total_steps() - self.step;
        let cfgs: Vec<&ExperimentConfig> = self.alive.iter().map(|&k| &self.cfgs[k]).collect();
        let adaptation = v.begin_adaptation(&cfgs, &self.params, steps, &self.device);
        let roles: Vec<_> = v
            .roles()
            .iter()
            .zip(&adaptation.trains)
            .filter(|(_, t)| **t)
            .map(|(r, _)| *r)
            .collect();
        let frozen = &adaptation.frozen;
        self.optim = StackOptim::new(&cfgs, &roles, &|i, k| frozen[i][k], steps, &self.device);
        self.params = adaptation.params;
        self.trains = adaptation.trains;
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
        self.optim.retain(&keep, &idx);
        match &mut self.task {
            Task::Vector(v) => v.retain(runs, &keep, &idx, &self.device),
            Task::Sequence(s) => s.retain(runs, &keep, &idx, &self.device),
        }
        self.alive = keep.iter().map(|&j| self.alive[j]).collect();
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
        let boundary = self.cfgs[0].pretrain_steps();
        if self.cfgs[0].lora.rank.adapts() && boundary > 0 && t == boundary {
            self.begin_adaptation();
        }
        let total = self.cfgs[0].total_steps();
        // `Trainer::step`'s evaluation rule: every `eval_every` steps, and at each phase's first
        // and last step.
        let eval = t.is_multiple_of(self.cfgs[0].eval_every())
            || t + 1 == total
            || t + 1 == boundary
            || t == boundary;
        let (val_loss, accuracy, val_acc) = match (eval, &self.task) {
            (false, _) => (None, None, None),
            (true, Task::Vector(v)) => {
                let (loss, acc) = v.evaluate(&self.params);
                (Some(loss), None, acc)
            }
            (true, Task::Sequence(s)) => match s.evaluate(&self.params) {
                Some((loss, acc)) => (Some(loss), Some(acc), None),
                None => (None, None, None),
            },
        };
        let leaves: Vec<Tensor<3>> = self
            .params
            .iter()
            .zip(&self.trains)
            .map(|(p, &trains)| match trains {
                true => p.clone().autodiff().require_grad(),
                false => p.clone().autodiff(),
            })
            .collect();
        let (loss, stats) = match &mut self.task {
            Task::Vector(v) => (v.loss(&leaves, &self.device), None),
            Task::Sequence(s) => {
                let (loss, stats) = s.loss(&leaves, &self.device);
                (loss, Some(stats))
            }
        };
        // The sum's gradient is each run's own in its slice: nothing mixes runs.
        let mut grads = loss.clone().sum().backward();
        let g: Vec<Tensor<3>> = leaves
            .iter()
            .zip(&self.trains)
            .filter(|(_, t)| **t)
            .map(|(l, _)| {
                l.grad_remove(&mut grads)
                    .unwrap_or_else(|| l.clone().inner().zeros_like())
            })
            .collect();
        let clip = self.cfgs[0].clip;
        let g = if clip > 0.0 { clip_per_run(g, clip) } else { g };
        let train_loss = loss.detach().inner();
        // Nothing else holds the parameters now, so a GPU's update can write them in place.
        drop((leaves, grads));
        // The optimizer updates what trains (moved to it); the rest (an adapted base) stays.
        let (mut trained, mut kept) = (Vec::new(), Vec::new());
        for (p, &t) in std::mem::take(&mut self.params).into_iter().zip(&self.trains) {
            if t { trained.push(p) } else { kept.push(p) }
        }
        let mut updated = self.optim.step(trained, g).into_iter();
        let mut kept = kept.into_iter();
        self.params = self
            .trains
            .iter()
            .map(|&t| match t {
                true => updated.next().expect("one update a trained parameter"),
                false => kept.next().expect("every parameter kept or trained"),
            })
            .collect();
        self.step += 1;
        // PTQ: each run's trained model rounded to its format, scored once at the end.
        let cfgs = self.alive_configs();
        let ptq: Vec<bool> = cfgs
            .iter()
            .map(|c| c.quant.enabled() && c.quant.mode == QMode::Ptq)
            .collect();
        let quant_loss = match (&self.task, t + 1 == total && ptq.contains(&true)) {
            (Task::Vector(v), true) => {
                let native = crate::model::quant::native::on(&self.device);
                Some((v.quantized_losses(&cfgs, &self.params, native), ptq))
            }
            (Task::Sequence(s), true) => s.quantized_losses(&cfgs, &self.params).map(|l| (l, ptq)),
            _ => None,
        };
        Some(StackStep {
            step: t,
            runs: self.alive.clone(),
            train_loss,
            val_loss,
            stats,
            accuracy,
            val_acc,
            quant_loss,
        })
    }
}

/// `grads` (`[K, …]` each, every trained parameter's) with each run's scaled so that its global
/// norm is at most `max_norm`, as `train::clip` clips one run's: run k's ‖g‖ = √(Σ g²) over all
/// its slices, and its slices times min(1, c / (‖g‖ + 1e-6)).
fn clip_per_run(grads: Vec<Tensor<3>>, max_norm: f64) -> Vec<Tensor<3>> {
    let sums: Vec<Tensor<3>> = grads
        .iter()
        .map(|g| {
            let [k, a, b] = g.dims();
            g.clone().square().reshape([k, 1, a * b]).sum_dim(2) // [K, 1, 1]
        })
        .collect();
    let Some(norm) = (!sums.is_empty()).then(|| Tensor::cat(sums, 1).sum_dim(1).sqrt()) else {
        return grads;
    };
    let factor = (norm + super::clip::EPS)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0); // [K, 1, 1]
    grads.into_iter().map(|g| g * factor.clone()).collect()
}
