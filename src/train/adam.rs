//! Adam and AdamW as PyTorch computes them (`torch.optim.Adam`/`AdamW`), on every device.
//!
//! PyTorch's update: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², then
//! p ← p·(1 − η·wd) − (η / b₁) · m / (√v / s + ε), with b₁ = 1 − β₁ᵗ and s = √(1 − β₂ᵗ), the
//! corrections in double precision from β₁ = 0.9 and β₂ = 0.999 as Python floats. Burn's Adam
//! rounds the betas to f32 first (its 1 − β₂ is 1.3e-5 off PyTorch's) and takes `1 − β₂ᵗ` from
//! f32 `powi`, whose rounding is not small against 1 − β₂ᵗ while t is small.
//!
//! Where a kernel's scalars cost nothing (the CPU), the corrections are those doubles, rounded
//! once, passed as scalars. On a CubeCL device (WebGPU, Vulkan) a launch's scalars travel in its
//! metadata buffer, which CubeCL uploads again whenever its words change: with corrections that
//! change every step, one `GPUQueue.writeBuffer` per parameter shape per step (#15: 5 of them on
//! the reference MLP). There the step count itself is on the device, in a table of the phase's
//! steps uploaded once; each parameter's update reads this step's count as a `[1]` view (no copy)
//! and derives both corrections from it inside its own fused kernel, so a steady step uploads
//! nothing. The kernel takes `1 − β₂ᵗ = −expm1(t·ln β₂)` from a series where `exp` would cancel
//! (see [`one_minus_exp`]): with the GPU's `exp` there, SwiftShader's few-ulp `exp` put s 5e-5 off
//! at t = 1, and Adam's normalisation carried that into a visibly different curve by step 200.
//!
//! One input more, not two: an update reads θ, g, m, v and t and writes θ, m, v, 9 bindings with
//! the metadata's, the most Burn's fusion puts in one kernel where an adapter offers 10 storage
//! buffers a stage (SwiftShader does; WebGPU's default is 8). Burn's fusion counts every value
//! computed and not yet used up as a buffer, so the order of the operations in
//! [`Adam::step`] is what keeps an update within 9.
//!
//! Training on a CubeCL device takes `train::multi_adam` instead (#32: three parameters a launch,
//! in place), the same arithmetic as this device path, which `tests/wgpu.rs` holds it to (equal
//! weights, to the bit); this one updates a tensor a launch through Burn's optimizer groups.

use std::sync::{Arc, Mutex};

use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::prelude::*;

use crate::data::device::VIEW_ALIGN;

pub use crate::knobs::optim::{BETA_1, BETA_2};
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

    /// The current step's count t (from 1; a step never begun counts as the first).
    fn step_count(&self) -> usize {
        self.lock().steps.max(1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        // A poisoned lock only means a panic elsewhere mid-step; the count is still whole.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current step's count t (from 1), `[1; D]`, a view of the table on `device` (the
    /// parameters' plain device).
    pub(crate) fn count<const D: usize>(&self, device: &Device) -> Tensor<D> {
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
pub struct Adam {
    clock: AdamClock,
    weight_decay: f64,
    /// Whether the corrections come from the device's step count (CubeCL devices) or are
    /// scalars (the CPU); see the module's comment.
    on_device: bool,
    /// β₁ and β₂ (PyTorch's `betas`), doubles as PyTorch holds them.
    betas: (f64, f64),
}

impl Adam {
    /// An Adam with moment decays `betas` whose steps `clock` counts, for parameters on
    /// `device`.
    pub fn new(clock: AdamClock, weight_decay: f64, betas: (f64, f64), device: &Device) -> Self {
        Self {
            clock,
            weight_decay,
            on_device: crate::model::backend::scalars_are_uploads(device),
            betas,
        }
    }
}

/// The bias corrections of step `t` as PyTorch computes them (doubles): b₁ = 1 − β₁ᵗ and
/// s = √(1 − β₂ᵗ).
pub fn corrections(t: usize, (beta_1, beta_2): (f64, f64)) -> (f64, f64) {
    let t = t as f64;
    (1.0 - beta_1.powf(t), (1.0 - beta_2.powf(t)).sqrt())
}

/// `x` beyond which [`one_minus_exp`] takes `exp` itself: below it 1 − eˣ ≥ 0.39, so an `exp`
/// a few ulp off moves it by a few ulp (SwiftShader's measured 1e-7 absolute is 3e-7 of it).
const SERIES_REACH: f32 = 0.5;
/// Terms of the series: |x|⁸/9! < 1.1e-8 of the sum at |x| ≤ [`SERIES_REACH`], under an f32 ulp.
const SERIES_TERMS: usize = 8;

/// 1 − eˣ for `x` ≤ 0, element-wise, within 2.4e-7 of it (tested) wherever `exp` is a few ulp
/// from eˣ: for |x| < 1/2 by the Taylor series of −expm1 (Horner's form,
/// x·(1 + x/2·(1 + x/3·(…)))), where 1 − `exp(x)` would cancel (at x = t·ln β₂ for the first
/// steps, the leading digits of eˣ are all 9s), and by `exp` beyond. All element-wise, so it
/// fuses into the update's kernel: `x`, the partial sum and one temporary are live at a time
/// (taken while nothing else of the update is).
fn one_minus_exp<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let mut sum = x.clone() * (1.0 / SERIES_TERMS as f32) + 1.0;
    for k in (2..SERIES_TERMS).rev() {
        sum = sum * x.clone() * (1.0 / k as f32) + 1.0;
    }
    let series = -(sum * x.clone()); // 1 − eˣ, |x| < 1/2
    let direct = -x.clone().exp() + 1.0;
    let near = x.greater_elem(-SERIES_REACH);
    direct.mask_where(near, series)
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
        // not a link key: Adam's second moment, as Burn's derive names it
        out.push_tensor(prefix, "v", self.v.clone().into_data()); // sync-ok: CPU only (above)
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let m = Tensor::from_data(src.take_tensor(prefix, "m")?, device);
        let v = Tensor::from_data(src.take_tensor(prefix, "v")?, device); // not a link key (above)
        Some(Self { m, v })
    }
}

impl Optimizer for Adam {
    type State<const D: usize> = MomentsState<D>;

    /// `tensor`, `grad`: the parameter and its gradient, any shape; the moments share it.
    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        // s first, on the device, while nothing else of this update is live (each live value is a
        // binding to Burn's fusion; see the module's comment): t over the parameter's shape (a
        // `[1]`-shaped result would be a kernel of its own; zeros are a literal to the fusion).
        let device_t = self.on_device.then(|| self.clock.count::<D>(&grad.device())); // [1; D]
        let spread = |t: &Tensor<D>, ln_beta: f64| (Tensor::zeros_like(&grad) + t.clone()) * ln_beta as f32;
        let s_device = device_t
            .as_ref()
            .map(|t| one_minus_exp(spread(t, self.betas.1.ln())).sqrt());
        let (b1_host, s_host) = corrections(self.clock.step_count(), self.betas);
        let (beta_1, beta_2) = self.betas;
        let (m, v) = match state {
            Some(s) => (
                s.m * beta_1 as f32 + grad.clone() * (1.0 - beta_1) as f32,
                s.v * beta_2 as f32 + grad.clone().square() * (1.0 - beta_2) as f32,
            ),
            // Zero moments, as PyTorch starts them, without materialising the zeros.
            None => (
                grad.clone() * (1.0 - beta_1) as f32,
                grad.clone().square() * (1.0 - beta_2) as f32,
            ),
        };
        // PyTorch's order: (√v / s + ε), then m / that, then times η / b₁.
        let root = v.clone().sqrt();
        let den = match s_device {
            Some(s) => root / s,
            None => root / s_host as f32,
        } + EPSILON;
        let update = m.clone() / den;
        let update = match device_t {
            // b₁ = 1 − β₁ᵗ ≥ 1 − β₁ ≥ 0.001 (`beta1` ≤ 0.999): `exp`'s few ulp of eˣ ≤ 1 stay
            // within 1e-4 of b₁ at the first step and shrink as b₁ grows.
            Some(t) => update * ((-spread(&t, beta_1.ln()).exp() + 1.0).recip() * lr as f32),
            None => update * (lr / b1_host) as f32,
        };
        let decay = lr * self.weight_decay;
        // (AdamW holds one value more here, θ·(1−η·wd) beside the update: on a 9-binding adapter
        // its update is two kernels.)
        let kept = if decay == 0.0 {
            tensor
        } else {
            tensor * (1.0 - decay) as f32
        };
        (kept - update, Some(MomentsState { m, v }))
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
    use burn::optim::{GradientsParams, ModuleOptimizer};

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

    /// [`train`] by Adam with decay `wd` on `clock`, advanced every step.
    fn adam_wd(clock: &AdamClock, wd: f64, steps: usize) -> Vec<f32> {
        train(
            ModuleOptimizer::from(Adam::new(clock.clone(), wd, (BETA_1, BETA_2), &backend::cpu())),
            Some(clock),
            steps,
        )
    }

    /// [`train`] by Adam (no decay) on `clock`.
    fn adam(clock: &AdamClock, steps: usize) -> Vec<f32> {
        adam_wd(clock, 0.0, steps)
    }

    /// The layer, batch and schedule of [`train`], trained by PyTorch's Adam/AdamW written out in
    /// doubles (gradients by hand: loss Σ(xW + b)², so dW = 2xᵀ(xW + b), db = 2Σ(xW + b)).
    fn pytorch_in_doubles(wd: f64, (beta_1, beta_2): (f64, f64), steps: usize) -> Vec<f64> {
        let x = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]];
        let mut w = [
            [0.3, -0.2, 0.1, 0.4],
            [-0.5, 0.25, 0.6, -0.1],
            [0.2, 0.35, -0.45, 0.15],
        ];
        let mut b = [0.05, -0.1, 0.2, 0.0];
        let (mut m, mut v) = ([0.0; 16], [0.0; 16]);
        for t in 1..=steps {
            let lr = 0.05 / t as f64;
            let mut grad = [0.0; 16];
            for row in &x {
                for j in 0..4 {
                    let y: f64 = (0..3).map(|i| row[i] * w[i][j]).sum::<f64>() + b[j];
                    for i in 0..3 {
                        grad[i * 4 + j] += 2.0 * row[i] * y;
                    }
                    grad[12 + j] += 2.0 * y;
                }
            }
            let (b1, s) = corrections(t, (beta_1, beta_2));
            for (k, g) in grad.iter().enumerate() {
                m[k] = beta_1 * m[k] + (1.0 - beta_1) * g;
                v[k] = beta_2 * v[k] + (1.0 - beta_2) * g * g;
                let p = if k < 12 {
                    &mut w[k / 4][k % 4]
                } else {
                    &mut b[k - 12]
                };
                *p *= 1.0 - lr * wd;
                *p -= lr / b1 * m[k] / (v[k].sqrt() / s + EPSILON as f64);
            }
        }
        w.iter().flatten().chain(&b).copied().collect()
    }

    fn assert_close(a: &[f32], b: &[f64], tolerance: f64) {
        for (x, y) in a.iter().zip(b) {
            assert!(
                (*x as f64 - y).abs() <= tolerance * (1.0 + y.abs()),
                "{a:?}\n{b:?}"
            );
        }
    }

    #[test]
    fn follows_pytorchs_adam_and_adamw_in_double_precision() {
        // f32 against doubles over 40 steps: rounding only (Burn's own Adam, with its f32 betas and
        // `powi` corrections, is 1e-5 off PyTorch's first corrections).
        // Also with nanoGPT's β₂ = 0.95 and a β₁ of 0.8 (`beta1`, `beta2`).
        for (wd, betas) in [
            (0.0, (BETA_1, BETA_2)),
            (0.1, (BETA_1, BETA_2)),
            (0.1, (0.8, 0.95)),
        ] {
            let clock = AdamClock::new(40);
            let ours = train(
                ModuleOptimizer::from(Adam::new(clock.clone(), wd, betas, &backend::cpu())),
                Some(&clock),
                40,
            );
            assert_close(&ours, &pytorch_in_doubles(wd, betas, 40), 2e-6);
        }
    }

    #[test]
    fn the_devices_corrections_are_the_hosts() {
        // The device path's arithmetic (the step count's table, the series, `exp`), run on the
        // CPU: the same weights as the scalars' path to rounding.
        for (wd, betas) in [
            (0.0, (BETA_1, BETA_2)),
            (0.1, (BETA_1, BETA_2)),
            (0.1, (0.99, 0.95)),
        ] {
            let clock = AdamClock::new(40);
            let device = Adam {
                clock: clock.clone(),
                weight_decay: wd,
                on_device: true,
                betas,
            };
            let ours = train(ModuleOptimizer::from(device), Some(&clock), 40);
            let host_clock = AdamClock::new(40);
            let host = Adam::new(host_clock.clone(), wd, betas, &backend::cpu());
            let host = train(ModuleOptimizer::from(host), Some(&host_clock), 40);
            let host: Vec<f64> = host.iter().map(|&h| h as f64).collect();
            assert_close(&ours, &host, 2e-7);
        }
    }

    #[test]
    fn one_minus_exp_is_exact_where_exp_cancels() {
        // x = t·ln β₂ from the first step to far beyond any run: within 2 ulp of the double's
        // value everywhere, where 1 − exp(x) in f32 is off by 6e-5 of it at t = 1.
        let device = backend::cpu();
        let ts: Vec<f32> = (1..=3000)
            .chain((3000..=40000).step_by(97))
            .map(|t| t as f32)
            .collect();
        let x = Tensor::<1>::from_floats(ts.as_slice(), &device) * BETA_2.ln() as f32;
        let got = one_minus_exp(x.clone()).into_data().try_to_vec::<f32>().unwrap(); // sync-ok: CPU
        let xs = x.into_data().try_to_vec::<f32>().unwrap(); // sync-ok: CPU
        for (x, g) in xs.iter().zip(&got) {
            let want = -(*x as f64).exp_m1();
            assert!(
                ((*g as f64) - want).abs() <= 2.4e-7 * want,
                "1 − e^{x}: {g} against {want}"
            );
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
        let frozen = train(
            ModuleOptimizer::from(Adam::new(stale, 0.0, (BETA_1, BETA_2), &backend::cpu())),
            None,
            5,
        );
        assert!(counted.iter().zip(&frozen).any(|(a, b)| (a - b).abs() > 1e-4));
    }
}
