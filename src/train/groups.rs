//! The optimizer groups of one training phase: every tensor's learning rate and weight decay
//! (μP's rules and LoRA+'s λ, from `mup::rate`) turned into Burn's per-group learning-rate
//! schedulers and per-group optimizers. Pre-training and adaptation both build theirs here.

use burn::module::{Module, ParamGroup, ParamId};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, Optimizer, SgdConfig};

use crate::experiment::ExperimentConfig;
use crate::knobs::optim::OptimizerKind;
use crate::model::{Mlp, ParamSpec};
use crate::train::schedule::Scheduled;

/// One phase's optimizer: Burn's per-group optimizers and the per-group learning rates.
pub struct Optimization {
    optim: ModuleOptimizer,
    lr: ModuleLrScheduler,
}

impl Optimization {
    /// One optimizer step of `model` with `grads`, each group at its scheduled learning rate.
    pub fn step<M: Module>(&mut self, model: M, grads: GradientsParams) -> M {
        let lr = self.lr.step();
        self.optim.step(lr, model, grads)
    }
}

/// One parameter's learning rate and weight decay at the peak of the schedule, as the trainer
/// hands them to Burn: the μP rule of its role and part, LoRA+'s λ on B factors.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamRate {
    pub name: String,
    pub id: ParamId,
    pub lr: f64,
    pub wd: f64,
}

/// Every tensor's [`ParamRate`] for `model` under `cfg`: the one table both phases of a run build
/// their optimizer groups from (the tests compare it with `mup`'s and peft's own groups).
pub fn param_rates(cfg: &ExperimentConfig, model: &Mlp) -> Vec<ParamRate> {
    rates_of(cfg, model.param_specs())
}

/// The [`ParamRate`] of every tensor in `specs` (any model family's `param_specs`).
pub fn rates_of(cfg: &ExperimentConfig, specs: Vec<ParamSpec>) -> Vec<ParamRate> {
    specs
        .into_iter()
        .map(|p| {
            let rate = crate::experiment::rates::rate(cfg, p.role, p.part);
            ParamRate {
                name: p.name,
                id: p.id,
                lr: rate.lr,
                wd: rate.wd,
            }
        })
        .collect()
}

/// `optim` with the optimizer for weight decay `wd` added for `group` (or, with no `optim` yet,
/// the base optimizer for every parameter). Decay as PyTorch users know it: decoupled (AdamW) for
/// Adam, L2 for SGD (see [`crate::knobs::schedule::decay_kind`]).
fn add_optimizer(
    optim: Option<ModuleOptimizer>,
    group: ParamGroup,
    opt: OptimizerKind,
    wd: f64,
) -> ModuleOptimizer {
    fn add<O: Optimizer + 'static>(
        optim: Option<ModuleOptimizer>,
        group: ParamGroup,
        o: O,
    ) -> ModuleOptimizer {
        match optim {
            None => ModuleOptimizer::from(o),
            Some(m) => m.with_group(group, o, None),
        }
    }
    // ε = 1e-8 as in PyTorch (Burn's default is 1e-5), so learning rates mean what PyTorch users
    // expect; with Adam's per-coordinate normalisation a large ε also damps μP's small updates.
    //
    // Burn's Adam passes its bias corrections as kernel scalars, so each parameter shape's update
    // uploads new launch metadata every step (5 of WebGPU's writeBuffer calls a step on the
    // reference MLP). An Adam with the corrections as `[1]` device tensors wrote none, but each
    // update then reads two more buffers and fused worse: in the page on SwiftShader 68.5
    // dispatches a step against 59.5; natively on lavapipe, whose binding limit is larger, 48.4
    // launches against 46.4 (#15; the adapter's binding limit is the likely cause). Burn's stays.
    match opt {
        OptimizerKind::Adam if wd > 0.0 => add(
            optim,
            group,
            AdamWConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(wd as f32)
                .build(),
        ),
        OptimizerKind::Adam => add(optim, group, AdamConfig::new().with_epsilon(1e-8).build()),
        OptimizerKind::Sgd if wd > 0.0 => add(
            optim,
            group,
            SgdConfig::new()
                .with_weight_decay(Some(WeightDecayConfig::new(wd as f32)))
                .build(),
        ),
        OptimizerKind::Sgd => add(optim, group, SgdConfig::new().build()),
    }
}

/// Parameter ids grouped by equal value (exact f64 equality: the factors are exact products).
fn by_value(rates: &[ParamRate], value: impl Fn(&ParamRate) -> f64) -> Vec<(f64, Vec<ParamId>)> {
    let mut out: Vec<(f64, Vec<ParamId>)> = Vec::new();
    for r in rates {
        let v = value(r);
        match out.iter_mut().find(|(k, _)| *k == v) {
            Some((_, ids)) => ids.push(r.id),
            None => out.push((v, vec![r.id])),
        }
    }
    out
}

/// The optimizer and the per-group learning rates of one phase of `total` steps, from
/// [`param_rates`]: a base optimizer and schedule for η and wd, and a Burn parameter group for
/// every other rate or decay. Pre-training and adaptation (LoRA or full fine-tuning) both come
/// from here, so μP's groups hold in every phase.
pub fn optimization(cfg: &ExperimentConfig, model: &Mlp, total: usize) -> Optimization {
    optimization_of(cfg, model.param_specs(), total)
}

/// [`optimization`] for any model family, from its tensors' roles.
pub fn optimization_of(cfg: &ExperimentConfig, specs: Vec<ParamSpec>, total: usize) -> Optimization {
    let rates = rates_of(cfg, specs);
    let mut lr = ModuleLrScheduler::new(scheduled(cfg, cfg.lr, total));
    for (peak, ids) in by_value(&rates, |r| r.lr) {
        if peak != cfg.lr {
            lr = lr.with_group(ParamGroup::from_ids(ids), scheduled(cfg, peak, total));
        }
    }
    let mut optim = add_optimizer(None, ParamGroup::all(), cfg.opt, cfg.wd);
    for (wd, ids) in by_value(&rates, |r| r.wd) {
        if wd != cfg.wd {
            optim = add_optimizer(Some(optim), ParamGroup::from_ids(ids), cfg.opt, wd);
        }
    }
    Optimization { optim, lr }
}

/// A group's learning rate over a phase of `total` steps: `peak` shaped by the schedule.
fn scheduled(cfg: &ExperimentConfig, peak: f64, total: usize) -> Scheduled {
    Scheduled::new(peak, cfg.sched, cfg.warm, total)
}
