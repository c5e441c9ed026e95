//! The optimizer groups of one training phase: every tensor's learning rate and weight decay
//! (μP's rules and LoRA+'s λ, from `mup::rate`) turned into Burn's per-group learning-rate
//! schedulers and per-group optimizers. Pre-training and adaptation both build theirs here.

use burn::module::{Module, ParamGroup, ParamId};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::{GradientsParams, ModuleOptimizer, Optimizer, SgdConfig};
use burn::prelude::Device;

use crate::knobs::ExperimentConfig;
use crate::knobs::optim::OptimizerKind;
use crate::model::{Family, ParamSpec};
use crate::train::adam::{Adam, AdamClock};
use crate::train::schedule::Scheduled;

/// One phase's optimizer: the per-group learning rates, the step count its Adam groups share
/// (`train::adam`), and the optimizers.
pub struct Optimization {
    engine: Engine,
    lr: ModuleLrScheduler,
    clock: AdamClock,
}

/// Who updates the parameters: Burn's per-group optimizers (one update a tensor), or on a
/// CubeCL device Adam three tensors a launch (`train::multi_adam`, #32), the same arithmetic.
enum Engine {
    Module(ModuleOptimizer),
    #[cfg(feature = "webgpu")]
    Multi(Box<super::multi_adam::MultiAdam>),
}

impl Optimization {
    /// One optimizer step of `model` with `grads`, each group at its scheduled learning rate.
    pub fn step<M: Module>(&mut self, model: M, grads: GradientsParams) -> M {
        self.clock.advance();
        let lr = self.lr.step();
        match &mut self.engine {
            Engine::Module(optim) => optim.step(lr, model, grads),
            #[cfg(feature = "webgpu")]
            Engine::Multi(adam) => adam.step(lr, model, grads),
        }
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
pub fn param_rates(cfg: &ExperimentConfig, model: &impl Family) -> Vec<ParamRate> {
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
/// the base optimizer for every parameter). Adam is PyTorch's (`train::adam`, ε = 1e-8), its
/// steps counted by the phase's `clock`. Decay as PyTorch users know it: decoupled (AdamW) for
/// Adam, L2 for SGD (see [`crate::knobs::schedule::decay_kind`]).
fn add_optimizer(
    optim: Option<ModuleOptimizer>,
    group: ParamGroup,
    opt: OptimizerKind,
    wd: f64,
    betas: (f64, f64),
    clock: &AdamClock,
    device: &Device,
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
    match opt {
        OptimizerKind::Adam => add(optim, group, Adam::new(clock.clone(), wd, betas, device)),
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

/// The optimizer and the per-group learning rates of one phase of `total` steps, from the rates
/// of the model's tensors `specs` ([`rates_of`]): a base optimizer and schedule for η and wd,
/// and a Burn parameter group for every other rate or decay. Pre-training and adaptation (LoRA
/// or full fine-tuning) both come from here, so μP's groups hold in every phase, for every
/// family. `device` is the one the model trains on.
pub fn optimization(
    cfg: &ExperimentConfig,
    specs: Vec<ParamSpec>,
    total: usize,
    device: &Device,
) -> Optimization {
    let rates = rates_of(cfg, specs);
    let mut lr = ModuleLrScheduler::new(scheduled(cfg, cfg.lr, total));
    for (peak, ids) in by_value(&rates, |r| r.lr) {
        if peak != cfg.lr {
            lr = lr.with_group(ParamGroup::from_ids(ids), scheduled(cfg, peak, total));
        }
    }
    let clock = AdamClock::new(total);
    let betas = (cfg.beta1, cfg.beta2);
    #[cfg(feature = "webgpu")]
    if cfg.opt == OptimizerKind::Adam && crate::model::backend::scalars_are_uploads(device) {
        let decay = by_value(&rates, |r| r.wd)
            .into_iter()
            .filter(|(wd, _)| *wd != cfg.wd)
            .flat_map(|(wd, ids)| ids.into_iter().map(move |id| (id, wd)))
            .collect();
        let adam = super::multi_adam::MultiAdam::new(clock.clone(), cfg.wd, decay, betas);
        return Optimization {
            engine: Engine::Multi(Box::new(adam)),
            lr,
            clock,
        };
    }
    let mut optim = add_optimizer(None, ParamGroup::all(), cfg.opt, cfg.wd, betas, &clock, device);
    for (wd, ids) in by_value(&rates, |r| r.wd) {
        if wd != cfg.wd {
            optim = add_optimizer(
                Some(optim),
                ParamGroup::from_ids(ids),
                cfg.opt,
                wd,
                betas,
                &clock,
                device,
            );
        }
    }
    Optimization {
        engine: Engine::Module(optim),
        lr,
        clock,
    }
}

/// A group's learning rate over a phase of `total` steps: `peak` shaped by the schedule.
fn scheduled(cfg: &ExperimentConfig, peak: f64, total: usize) -> Scheduled {
    Scheduled::new(peak, cfg.sched, cfg.warm, total)
}
