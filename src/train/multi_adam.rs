//! Adam on a CubeCL device (WebGPU, Vulkan) with up to three parameters a kernel (#32): the same
//! update as [`super::adam::Adam`] in PyTorch's order, but where Burn's per-parameter optimizer
//! launched one kernel a tensor (39 of a reference transformer step's launches), this one updates
//! the parameters in place three at a time (`model::fused::cube::adam`, which says why three),
//! their moments kept packed in one buffer a group.
//!
//! A step takes every parameter that has a gradient out of the model (leaving a stand-in in its
//! place, so the update is the parameter's only user and can write it in place), groups them in
//! the model's order three by three, updates each group in one op and puts the results back. A
//! group keeps its moments from step to step while it holds the same parameters; should the set
//! of parameters with gradients change, the moments follow their parameters into the new groups.

use std::collections::HashMap;

use burn::backend::Dispatch;
use burn::backend::tensor::FloatTensor;
use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::GradientsParams;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::prelude::*;
use burn::tensor::GradientCheckpointingStrategy;

use super::adam::{AdamClock, EPSILON};
use crate::model::fused::cube::adam::{AdamScalars, CubeAdam, SLOTS};

/// Adam (AdamW with decay) over a model's parameters, three a launch; see the module's comment.
pub struct MultiAdam {
    clock: AdamClock,
    /// β₁ and β₂ as PyTorch holds them (doubles).
    betas: (f64, f64),
    /// Decay of the parameters outside the base group, by id; the others take `wd`.
    decay: HashMap<ParamId, f64>,
    wd: f64,
    /// The last step's groups.
    groups: Vec<Group>,
    /// Stand-ins for the empty slots of a group of one or two (never read): two parameters and
    /// two gradients, distinct so no buffer is bound twice.
    spares: Option<[Tensor<1>; 4]>,
    /// Parameters a launch takes at most ([`SLOTS`]; fewer where the adapter binds fewer).
    per_launch: usize,
}

/// Up to three parameters updated by one launch, and their moments: [m₀ m₁ m₂ v₀ v₁ v₂].
struct Group {
    ids: Vec<ParamId>,
    lens: Vec<usize>,
    moments: Tensor<1>,
}

impl Group {
    /// Elements of all its parameters (where the second moments start).
    fn half(&self) -> usize {
        self.lens.iter().sum()
    }

    /// Where parameter `id`'s moments are: (first moment's start, length), if it is here.
    fn place(&self, id: ParamId) -> Option<(usize, usize)> {
        let slot = self.ids.iter().position(|&i| i == id)?;
        Some((self.lens[..slot].iter().sum(), self.lens[slot]))
    }
}

/// A parameter taken out of the model for its update.
struct Taken {
    id: ParamId,
    /// Its value and gradient on the inner (non-autodiff) backend, as they are shaped (the
    /// kernel reads a gradient through its strides, so a view is not copied).
    value: Option<FloatTensor<Dispatch>>,
    grad: Option<FloatTensor<Dispatch>>,
    len: usize,
    lr: f64,
    require_grad: bool,
    checkpointing: Option<GradientCheckpointingStrategy>,
}

impl MultiAdam {
    /// Adam with moment decays `betas` and decoupled decay `wd` (`decay` for the parameters of
    /// other groups), its steps counted by `clock`.
    pub fn new(clock: AdamClock, wd: f64, decay: HashMap<ParamId, f64>, betas: (f64, f64)) -> Self {
        Self {
            clock,
            betas,
            decay,
            wd,
            groups: Vec::new(),
            spares: None,
            per_launch: SLOTS,
        }
    }

    /// This optimizer with at most `n` parameters a launch (1 – 3): the launches an adapter
    /// with fewer storage buffers gets, for tests on one that has more.
    pub fn with_per_launch(mut self, n: usize) -> Self {
        self.per_launch = n.clamp(1, SLOTS);
        self
    }

    /// One step of `model` with `grads`, each parameter at its rate in `lr`. The clock must have
    /// been advanced for this step.
    pub fn step<M: Module>(&mut self, lr: ModuleLearningRate, model: M, mut grads: GradientsParams) -> M {
        let mut take = Take {
            grads: &mut grads,
            lr: &lr,
            path: Vec::new(),
            taken: Vec::new(),
            device: None,
        };
        let model = model.map(&mut take);
        let (taken, Some(device)) = (take.taken, take.device) else {
            return model;
        };
        let spares = self
            .spares
            .get_or_insert_with(|| std::array::from_fn(|_| Tensor::<1>::zeros([1], &device)))
            .clone();
        let t = self.clock.count::<1>(&device);
        let (beta_1, beta_2) = self.betas;
        // The last step's groups, taken so that a group's moments reach the update as their only
        // user (written in place; a moments buffer still held here would be copied first).
        let mut previous = std::mem::take(&mut self.groups);
        let mut groups = Vec::with_capacity(taken.len().div_ceil(SLOTS));
        let mut updated = HashMap::with_capacity(taken.len());
        let mut taken = taken.into_iter().peekable();
        while taken.peek().is_some() {
            let mut members: Vec<Taken> = taken.by_ref().take(SLOTS).collect();
            let ids: Vec<ParamId> = members.iter().map(|m| m.id).collect();
            let lens: Vec<usize> = members.iter().map(|m| m.len).collect();
            let moments = moments_for(&mut previous, &ids, &lens, &device);
            let mut s = AdamScalars {
                beta_1: beta_1 as f32,
                one_minus_beta_1: (1.0 - beta_1) as f32,
                beta_2: beta_2 as f32,
                one_minus_beta_2: (1.0 - beta_2) as f32,
                ln_beta_1: beta_1.ln() as f32,
                ln_beta_2: beta_2.ln() as f32,
                epsilon: EPSILON,
                lr: [0.0; SLOTS],
                keep: [1.0; SLOTS],
                len: [0; SLOTS],
                at: [0; SLOTS],
                half: lens.iter().sum(),
                per_launch: self.per_launch,
                stack: None,
            };
            let mut at = 0;
            for (k, m) in members.iter().enumerate() {
                let wd = self.decay.get(&m.id).copied().unwrap_or(self.wd);
                s.lr[k] = m.lr as f32;
                // θ·(1 − η·wd): exactly θ without decay, as `Adam` leaves it.
                s.keep[k] = (1.0 - m.lr * wd) as f32;
                s.len[k] = lens[k];
                s.at[k] = at;
                at += lens[k];
            }
            // A missing slot (a last group of one or two) gets a stand-in, which the op does not
            // read: slots 1 and 2 can both be missing, so each has its own.
            let spare = |k: usize, grad: bool| spares[2 * usize::from(grad) + k - 1].clone().into_dispatch();
            // Moved, not cloned: a parameter the op holds alone is updated in place.
            let mut values: Vec<_> = members.iter_mut().map(|m| m.value.take()).collect();
            let mut grads: Vec<_> = members.iter_mut().map(|m| m.grad.take()).collect();
            let mut value = |k: usize| {
                values
                    .get_mut(k)
                    .and_then(Option::take)
                    .unwrap_or_else(|| spare(k, false))
            };
            let mut grad = |k: usize| {
                grads
                    .get_mut(k)
                    .and_then(Option::take)
                    .unwrap_or_else(|| spare(k, true))
            };
            let (p0, p1, p2, moments) = <Dispatch as CubeAdam>::cube_adam(
                value(0),
                value(1),
                value(2),
                grad(0),
                grad(1),
                grad(2),
                moments.into_dispatch(),
                t.clone().into_dispatch(),
                s,
            );
            for (m, p) in members.into_iter().zip([p0, p1, p2]) {
                updated.insert(m.id, (p, m));
            }
            groups.push(Group {
                ids,
                lens,
                moments: Tensor::from_dispatch(moments),
            });
        }
        self.groups = groups;
        model.map(&mut Put { updated })
    }
}

/// The moments [2·Σ lens] of a group of `ids`: the last step's where it had this group (taken
/// out of `previous`), else gathered from wherever each parameter's were (zeros for a parameter
/// new to the phase, as PyTorch starts them).
fn moments_for(previous: &mut Vec<Group>, ids: &[ParamId], lens: &[usize], device: &Device) -> Tensor<1> {
    if let Some(i) = previous.iter().position(|g| g.ids == ids && g.lens == lens) {
        return previous.swap_remove(i).moments;
    }
    if !ids
        .iter()
        .any(|&id| previous.iter().any(|g| g.place(id).is_some()))
    {
        return Tensor::zeros([2 * lens.iter().sum::<usize>()], device);
    }
    let part = |id: ParamId, len: usize, second: bool| {
        previous
            .iter()
            .find_map(|g| g.place(id).filter(|&(_, n)| n == len).map(|(at, _)| (g, at)))
            .map_or_else(
                || Tensor::<1>::zeros([len], device),
                |(g, at)| {
                    let start = if second { g.half() + at } else { at };
                    g.moments.clone().narrow(0, start, len)
                },
            )
    };
    let firsts = ids.iter().zip(lens).map(|(&id, &n)| part(id, n, false));
    let seconds = ids.iter().zip(lens).map(|(&id, &n)| part(id, n, true));
    Tensor::cat(firsts.chain(seconds).collect(), 0)
}

/// Takes each parameter with a gradient out of the model (on the inner backend), leaving a
/// one-element stand-in.
struct Take<'a> {
    grads: &'a mut GradientsParams,
    lr: &'a ModuleLearningRate,
    path: Vec<String>,
    taken: Vec<Taken>,
    /// The inner device of the parameters taken.
    device: Option<Device>,
}

impl ModuleMapper for Take<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let path = self.path.join(".");
        let device = tensor.device();
        let require_grad = tensor.is_require_grad();
        let checkpointing = tensor.gradient_checkpointing_strategy();
        let value = tensor.inner();
        let len = value.shape().num_elements();
        self.device.get_or_insert_with(|| value.device());
        self.taken.push(Taken {
            id,
            value: Some(value.into_dispatch()),
            grad: Some(grad.into_dispatch()),
            len,
            lr: self.lr.lr_from_param(id, Some(path.as_str())),
            require_grad,
            checkpointing,
        });
        // Not read: `Put` replaces it before the model is used again.
        Param::from_mapped_value(id, Tensor::empty([1; D], &device), mapper)
    }
}

/// Puts the updated parameters back in place of their stand-ins, with the autodiff state each
/// had (as Burn's optimizer restores it).
struct Put {
    updated: HashMap<ParamId, (FloatTensor<Dispatch>, Taken)>,
}

impl ModuleMapper for Put {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some((value, taken)) = self.updated.remove(&id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let mut value = Tensor::from_inner(Tensor::<D>::from_dispatch(value));
        if let Some(strategy) = taken.checkpointing {
            value = value.with_gradient_checkpointing_strategy(strategy);
        }
        if taken.require_grad {
            value = value.require_grad();
        }
        Param::from_mapped_value(id, value, mapper)
    }
}
