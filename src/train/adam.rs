//! Adam and AdamW as PyTorch defines them, for devices where a kernel scalar is an upload.
//!
//! Burn's Adam folds `1 − β₁ᵗ` and `√(1 − β₂ᵗ)` into kernel scalars. On a CubeCL device
//! (WebGPU, Vulkan) a launch's scalars travel in its metadata buffer, which CubeCL uploads again
//! whenever its words change: with corrections that change every step, that is one
//! `GPUQueue.writeBuffer` per parameter shape per step (#15: 5 of them on the reference MLP).
//! Here the step count itself is on the device, in a table of the phase's steps uploaded once;
//! each parameter's update reads this step's count as a `[1]` view (no copy) and derives both
//! corrections from it inside its own fused kernel. Every launch's metadata is then the same from
//! step to step, so a steady step uploads nothing: in the page on SwiftShader 0 buffer writes a
//! step against 5, with the same 59.5 dispatches and 2 submits (natively on lavapipe the same
//! 46.4 kernel launches).
//!
//! One input more, not two: an update reads θ, g, m, v and t and writes θ, m, v, 9 bindings with
//! the metadata's, the most Burn's fusion puts in one kernel where an adapter offers 10 storage
//! buffers a stage (SwiftShader does; WebGPU's default is 8, where Burn's own Adam splits too).
//! Two correction tensors made it 10 and split every update in two (68.5 dispatches a step
//! against 59.5), and so did computing both corrections before using them (67.5; see `step`).
//!
//! The update is PyTorch's (`torch.optim.Adam`, and `AdamW`'s decoupled decay):
//! m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², then
//! p ← p·(1 − η·wd) − η · m·c₀ / (√v + c₁) with c₀ = √(1−β₂ᵗ)/(1−β₁ᵗ) and c₁ = ε√(1−β₂ᵗ),
//! which is `m̂ / (√v̂ + ε)` with the corrections moved out of the square root (as Burn's Adam).

use std::sync::{Arc, Mutex};

use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::prelude::*;

use crate::data::device::VIEW_ALIGN;

/// Adam's first-moment decay (PyTorch's default, as Burn's).
pub const BETA_1: f32 = 0.9;
/// Adam's second-moment decay.
pub const BETA_2: f32 = 0.999;
/// ε = 1e-8 as in PyTorch (Burn's default is 1e-5), so learning rates mean what PyTorch users
/// expect; with Adam's per-coordinate normalisation a large ε also damps μP's small updates.
pub const EPSILON: f32 = 1e-8;

/// `f32`s between two steps' counts in the table: the table is `[rows·ROW + 1]` with step r's
/// count at `r·ROW`, so one count's view starts and ends a multiple of [`VIEW_ALIGN`] bytes from
/// the table's ends, which is when CubeCL views part of a buffer instead of copying it (any other
/// `[1]` slice would be a copy kernel a step).
const ROW: usize = VIEW_ALIGN / size_of::<f32>();
/// Steps one table holds at most (1 MiB): a reference run's in one upload, a long run's in a few.
const MAX_ROWS: usize = 4096;

/// The step count of one optimizer phase, on the device. Shared by every parameter group of that
/// phase's optimizers (clones share it); a fresh phase (adaptation) gets a fresh clock, so its
/// corrections start over as PyTorch's would with a new optimizer.
#[derive(Clone)]
pub struct AdamClock {
    inner: Arc<Mutex<ClockState>>,
}

struct ClockState {
    /// Optimizer steps begun (by [`AdamClock::advance`]).
    steps: usize,
    /// Steps the phase plans in all (sizes the tables; a phase that runs longer still works).
    planned: usize,
    table: Option<StepTable>,
}

/// The counts of `rows` consecutive steps from `first`, [`ROW`] apart.
struct StepTable {
    first: usize,
    rows: usize,
    /// `[rows·ROW + 1]`, for vectors.
    flat: Tensor<1>,
    /// The same buffer as `[rows·ROW + 1, 1]`, for matrices and above.
    column: Tensor<2>,
    /// This step's views (step, `[1]`, `[1, 1]`), made by its first parameter update.
    current: Option<(usize, Tensor<1>, Tensor<2>)>,
}

impl AdamClock {
    /// A clock for a phase of `planned` optimizer steps.
    pub fn new(planned: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ClockState {
                steps: 0,
                planned,
                table: None,
            })),
        }
    }

    /// Marks the start of an optimizer step (before any parameter of it is updated). Queues
    /// nothing itself.
    pub fn advance(&self) {
        self.lock().steps += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        // A poisoned lock only means a panic elsewhere mid-step; the count is still whole.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current step's count t (from 1), `[1; D]`, a view of the table on `device` (the
    /// parameters' plain device).
    fn count<const D: usize>(&self, device: &Device) -> Tensor<D> {
        let mut s = self.lock();
        // A step never begun (a caller that does not advance) counts as the first.
        let step = s.steps.max(1);
        let planned = s.planned;
        let covered = s
            .table
            .as_ref()
            .is_some_and(|t| (t.first..t.first + t.rows).contains(&step));
        if !covered {
            s.table = Some(StepTable::new(step, planned, device));
        }
        let table = s.table.as_mut().expect("the table was just made");
        let (_, flat, column) = table.views(step);
        match D {
            // Same-shape reshapes: no operation.
            1 => flat.reshape([1; D]),
            _ => column.reshape([1; D]),
        }
    }
}

impl StepTable {
    /// The table from step `first` to the end of a phase of `planned` steps, at most
    /// [`MAX_ROWS`] of them (and as many for a phase already past its plan).
    fn new(first: usize, planned: usize, device: &Device) -> Self {
        let left = (planned + 1).saturating_sub(first);
        let rows = if left == 0 { MAX_ROWS } else { left.min(MAX_ROWS) };
        let len = rows * ROW + 1;
        let mut values = vec![0f32; len];
        for r in 0..rows {
            // Exact: step counts stay far below 2²⁴.
            values[r * ROW] = (first + r) as f32;
        }
        let flat = Tensor::<1>::from_data(TensorData::new(values, [len]), device);
        let column = flat.clone().reshape([len, 1]);
        Self {
            first,
            rows,
            flat,
            column,
            current: None,
        }
    }

    /// `step`'s count as `[1]` and `[1, 1]` views, made once a step.
    fn views(&mut self, step: usize) -> (usize, Tensor<1>, Tensor<2>) {
        if self.current.as_ref().is_none_or(|c| c.0 != step) {
            let at = (step - self.first) * ROW;
            // Views, not copies: `at` and the rest of the table after it are whole rows.
            let flat = self.flat.clone().narrow(0, at, 1); // [1]
            let column = self.column.clone().narrow(0, at, 1); // [1, 1]
            self.current = Some((step, flat, column));
        }
        self.current.clone().expect("this step's views were just made")
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
        out.push_tensor(prefix, "m", self.m.clone().into_data()); // sync-ok: CPU only (above)
        out.push_tensor(prefix, "v", self.v.clone().into_data()); // sync-ok: CPU only (above)
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
        // First, so that making this step's view (a slice) comes between two parameters' updates
        // and not inside one, where it would split the update's kernel in two.
        let t = self.clock.count::<D>(&grad.device()); // [1; D]
        let (m, v) = match state {
            Some(s) => (
                s.m * BETA_1 + grad.clone() * (1.0 - BETA_1),
                s.v * BETA_2 + grad.square() * (1.0 - BETA_2),
            ),
            // Zero moments, as PyTorch starts them, without materialising the zeros.
            None => (grad.clone() * (1.0 - BETA_1), grad.square() * (1.0 - BETA_2)),
        };
        // The step m·c₀ / (√v + c₁), written so that it fits one kernel where the adapter allows 9
        // bindings (SwiftShader): Burn's fusion counts every value computed and not yet used up as
        // a buffer, so a correction is never held while another is computed. Each comes from t
        // afresh (t spread over the shape: zeros are a literal to the fusion, and a `[1]`-shaped
        // result would be a kernel of its own), and the denominator takes them one at a time:
        // (√v + ε√(1−β₂ᵗ)) · (1−β₁ᵗ) / √(1−β₂ᵗ), so step = m / that. Computing c₀ and c₁ first
        // and then m·c₀ / (√v + c₁) held 10 and split every update in two (8 dispatches a step).
        let spread = |t: &Tensor<D>| Tensor::zeros_like(&v) + t.clone();
        let bc2_sqrt = |t: &Tensor<D>| (-(spread(t) * BETA_2.ln()).exp() + 1.0).sqrt(); // √(1−β₂ᵗ)
        let den = v.clone().sqrt() + bc2_sqrt(&t) * EPSILON;
        let den = den * (-(spread(&t) * BETA_1.ln()).exp() + 1.0);
        let den = den / bc2_sqrt(&t);
        let step = m.clone() / den;
        let decay = lr * self.weight_decay;
        // (AdamW holds one value more here, θ·(1−η·wd) beside η·step: on a 9-binding adapter its
        // update is two kernels.)
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
    use burn::module::Param;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};

    use super::*;
    use crate::model::backend;

    /// A 3→4 linear layer trained on a fixed batch for `steps` steps with a learning rate that
    /// changes every step, by `optim` (advancing `clock` before each step when given).
    fn train(mut optim: ModuleOptimizer, clock: Option<&AdamClock>, steps: usize) -> Vec<f32> {
        let device = backend::cpu().autodiff();
        // Fixed weights, not the device's seeded RNG: tests run in parallel and share it.
        let mut layer: Linear = LinearConfig::new(3, 4).init(&device);
        layer.weight = Param::from_tensor(Tensor::<2>::from_floats(
            [
                [0.3, -0.2, 0.1, 0.4],
                [-0.5, 0.25, 0.6, -0.1],
                [0.2, 0.35, -0.45, 0.15],
            ],
            &device,
        ));
        layer.bias = Some(Param::from_tensor(Tensor::<1>::from_floats(
            [0.05, -0.1, 0.2, 0.0],
            &device,
        )));
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
        let mut out = layer.weight.val().into_data().try_to_vec::<f32>().unwrap(); // sync-ok: CPU
        out.extend(layer.bias.unwrap().val().into_data().try_to_vec::<f32>().unwrap()); // sync-ok: CPU
        out
    }

    /// [`train`] by Adam (no decay) on `clock`, advanced every step.
    fn adam(clock: &AdamClock, steps: usize) -> Vec<f32> {
        train(
            ModuleOptimizer::from(DeviceAdam::new(clock.clone(), 0.0)),
            Some(clock),
            steps,
        )
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 2e-5 * (1.0 + y.abs()), "{a:?}\n{b:?}");
        }
    }

    #[test]
    fn moves_weights_as_burns_adam_and_adamw_do() {
        for wd in [0.0, 0.1] {
            let clock = AdamClock::new(40);
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
    fn a_phase_longer_than_its_plan_keeps_counting() {
        // Planned for 3 steps, run for 40: the clock makes new tables as the steps go past the
        // first, and the result is the same as a clock that planned them all.
        assert_eq!(adam(&AdamClock::new(3), 40), adam(&AdamClock::new(40), 40));
    }

    #[test]
    fn a_step_begun_once_corrects_every_parameter_alike() {
        // Without `advance`, every step would reuse step 1's corrections: the clock must count
        // steps, not parameter updates (the layer has two parameters).
        let counted = adam(&AdamClock::new(5), 5);
        let stale = AdamClock::new(5);
        let frozen = train(ModuleOptimizer::from(DeviceAdam::new(stale, 0.0)), None, 5);
        assert!(counted.iter().zip(&frozen).any(|(a, b)| (a - b).abs() > 1e-4));
    }
}
