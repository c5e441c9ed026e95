//! Adam and AdamW as PyTorch defines them, with the bias corrections kept on the device.
//!
//! Burn's own Adam folds `1 − β₁ᵗ` and `√(1 − β₂ᵗ)` into kernel scalars. A scalar that changes
//! every step is new launch metadata every step, and on WebGPU that is one more
//! `GPUQueue.writeBuffer` per parameter shape per step (#15: the reference MLP wrote 7 buffers a
//! step, almost all of them these). Here one [`AdamClock`] per optimizer advances a step count on
//! the device and derives both corrections from it in one small kernel; every parameter's update
//! reads them as `[1]` tensors, so its launch is the same from step to step and its metadata is
//! uploaded once.
//!
//! The update is PyTorch's (`torch.optim.Adam`, and `AdamW`'s decoupled decay):
//! m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², then
//! p ← p·(1 − η·wd) − η · m·c₀ / (√v + c₁) with c₀ = √(1−β₂ᵗ)/(1−β₁ᵗ) and c₁ = ε√(1−β₂ᵗ),
//! which is `m̂ / (√v̂ + ε)` with the corrections moved out of the square root.

use std::sync::{Arc, Mutex};

use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::prelude::*;

/// Adam's first-moment decay (PyTorch's default, as Burn's).
pub const BETA_1: f32 = 0.9;
/// Adam's second-moment decay.
pub const BETA_2: f32 = 0.999;
/// ε = 1e-8 as in PyTorch (Burn's default is 1e-5), so learning rates mean what PyTorch users
/// expect; with Adam's per-coordinate normalisation a large ε also damps μP's small updates.
pub const EPSILON: f32 = 1e-8;

/// The step count of one optimizer and the bias corrections it implies, on the device. Shared by
/// every parameter group of that optimizer (clones share it); a fresh optimizer (the adaptation
/// phase) gets a fresh clock, so its corrections start over as PyTorch's would.
#[derive(Clone, Default)]
pub struct AdamClock {
    inner: Arc<Mutex<ClockState>>,
}

#[derive(Default)]
struct ClockState {
    /// Steps begun (by [`AdamClock::advance`]) whose corrections are not computed yet.
    pending: usize,
    /// The step count `[1]` and the corrections c₀, c₁ `[1]` of the current step.
    tensors: Option<Corrections>,
}

#[derive(Clone)]
struct Corrections {
    t: Tensor<1>,
    c0: Tensor<1>,
    c1: Tensor<1>,
    /// c₀ and c₁ shaped `[1, 1]` for the matrices, made once a step: reshaped inside each
    /// matrix's update instead, the step took 51.4 launches against 48.4 on lavapipe.
    matrix: Option<(Tensor<2>, Tensor<2>)>,
}

impl AdamClock {
    /// Marks the start of an optimizer step: the first parameter it updates computes the step's
    /// corrections, the others reuse them. Queues nothing itself.
    pub fn advance(&self) {
        self.lock().pending += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        // A poisoned lock only means a panic elsewhere mid-step; the counts are still whole.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// c₀ and c₁ of the current step, `[1; D]` each, on `device` (the parameters' plain device).
    fn corrections<const D: usize>(&self, device: &Device) -> (Tensor<D>, Tensor<D>) {
        let mut s = self.lock();
        if s.pending > 0 || s.tensors.is_none() {
            let steps = s.pending.max(1) as f32;
            let t = match &s.tensors {
                Some(c) => c.t.clone() + steps, // [1]
                None => Tensor::<1>::from_floats([steps], device),
            };
            // βᵗ = exp(t·ln β): one elementwise kernel from t, however many steps were taken.
            let b1t = (t.clone() * BETA_1.ln()).exp();
            let b2t = (t.clone() * BETA_2.ln()).exp();
            let bc2_sqrt = (-b2t + 1.0).sqrt();
            let c0 = bc2_sqrt.clone() / (-b1t + 1.0);
            let c1 = bc2_sqrt * EPSILON;
            s.tensors = Some(Corrections {
                t,
                c0,
                c1,
                matrix: None,
            });
            s.pending = 0;
        }
        let c = s.tensors.as_mut().expect("corrections were just computed");
        if D == 2 {
            let (c0, c1) = c
                .matrix
                .get_or_insert_with(|| (c.c0.clone().reshape([1, 1]), c.c1.clone().reshape([1, 1])));
            // A reshape to the same shape: no operation.
            return (c0.clone().reshape([1; D]), c1.clone().reshape([1; D]));
        }
        (c.c0.clone().reshape([1; D]), c.c1.clone().reshape([1; D]))
    }
}

/// Adam, or AdamW when `weight_decay` > 0 (decoupled, scaled by the learning rate as PyTorch's).
#[derive(Clone)]
pub struct DeviceAdam {
    clock: AdamClock,
    weight_decay: f64,
}

impl DeviceAdam {
    pub fn new(clock: AdamClock, weight_decay: f64) -> Self {
        Self { clock, weight_decay }
    }
}

/// One parameter's moments, shaped like the parameter.
#[derive(Clone)]
pub struct MomentsState<const D: usize> {
    pub m: Tensor<D>,
    pub v: Tensor<D>,
}

/// Burn's record of an optimizer state, written out as its derive would (Burn's derive names
/// paths inside Burn). tinytune saves no optimizer state; this is what `Optimizer` requires, and
/// flattening reads the moments back synchronously, so it is for the CPU only.
impl<const D: usize> RecordState for MomentsState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_tensor(prefix, "m", self.m.clone().into_data());
        out.push_tensor(prefix, "v", self.v.clone().into_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let m = Tensor::from_data(src.take_tensor(prefix, "m")?, device);
        let v = Tensor::from_data(src.take_tensor(prefix, "v")?, device);
        Some(Self { m, v })
    }
}

impl Optimizer for DeviceAdam {
    type State<const D: usize> = MomentsState<D>;

    /// `tensor`, `grad`: the parameter and its gradient, any shape; the moments share it.
    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let g2 = grad.clone().square();
        let (m, v) = match state {
            Some(s) => (
                s.m * BETA_1 + grad * (1.0 - BETA_1),
                s.v * BETA_2 + g2 * (1.0 - BETA_2),
            ),
            // Zero moments, as PyTorch starts them, without materialising the zeros.
            None => (grad * (1.0 - BETA_1), g2 * (1.0 - BETA_2)),
        };
        let (c0, c1) = self.clock.corrections::<D>(&m.device()); // [1; D]: broadcast
        let step = m.clone() * c0 / (v.clone().sqrt() + c1);
        let decay = lr * self.weight_decay;
        let kept = if decay == 0.0 {
            tensor
        } else {
            tensor * (1.0 - decay)
        };
        (kept - step * lr, Some(MomentsState { m, v }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        MomentsState {
            m: state.m.to_device(device),
            v: state.v.to_device(device),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};

    use super::*;
    use crate::model::backend;

    /// A 3→4 linear layer trained on a fixed batch for `steps` steps with a learning rate that
    /// changes every step, by `optim` (advancing `clock` before each step when given).
    fn train(mut optim: ModuleOptimizer, clock: Option<&AdamClock>, steps: usize) -> Vec<f32> {
        let device = backend::cpu().autodiff();
        device.seed(7);
        let mut layer: Linear = LinearConfig::new(3, 4).init(&device);
        let x = Tensor::<2>::from_floats([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], &device);
        for t in 0..steps {
            // A squared loss, so the gradients change as the weights move.
            let loss = layer.forward(x.clone()).powf_scalar(2.0).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &layer);
            if let Some(c) = clock {
                c.advance();
            }
            layer = optim.step(0.05 / (1.0 + t as f64), layer, grads);
        }
        let mut out = layer.weight.val().into_data().try_to_vec::<f32>().unwrap();
        out.extend(layer.bias.unwrap().val().into_data().try_to_vec::<f32>().unwrap());
        out
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 2e-5 * (1.0 + y.abs()), "{a:?}\n{b:?}");
        }
    }

    #[test]
    fn moves_weights_as_burns_adam_and_adamw_do() {
        for wd in [0.0, 0.1] {
            let clock = AdamClock::default();
            let ours = train(
                ModuleOptimizer::from(DeviceAdam::new(clock.clone(), wd)),
                Some(&clock),
                40,
            );
            let burns = if wd == 0.0 {
                ModuleOptimizer::from(AdamConfig::new().with_epsilon(EPSILON).build())
            } else {
                let c = AdamWConfig::new()
                    .with_epsilon(EPSILON)
                    .with_weight_decay(wd as f32);
                ModuleOptimizer::from(c.build())
            };
            assert_close(&ours, &train(burns, None, 40));
        }
    }

    #[test]
    fn a_step_begun_once_corrects_every_parameter_alike() {
        // Without `advance`, every step would reuse step 1's corrections: the clock must count
        // steps, not parameter updates (the layer has two parameters).
        let clock = AdamClock::default();
        let counted = train(
            ModuleOptimizer::from(DeviceAdam::new(clock.clone(), 0.0)),
            Some(&clock),
            5,
        );
        let stale = AdamClock::default();
        let frozen = train(ModuleOptimizer::from(DeviceAdam::new(stale, 0.0)), None, 5);
        assert!(counted.iter().zip(&frozen).any(|(a, b)| (a - b).abs() > 1e-4));
    }
}
