//! The optimizer of a stack of runs (#33): Adam, PyTorch's update of `train::adam`, the same
//! operations in the same order, or plain SGD as Burn's `Sgd` takes it (L2 decay added to the
//! gradient, no momentum, as the trainer builds it), on parameters with a leading run axis, where
//! each run has its own learning rates (its peak, its schedule, μP's per-layer rules) and its own
//! weight decay.
//!
//! Every number a step needs beyond the tensors — each run's η/b₁ and 1 − η·wd for each group of
//! parameters (SGD: η and wd), and s = √(1 − β₂ᵗ) — is computed in double precision on the host, as the unstacked
//! CPU path computes its scalars; the per-run ones are uploaded once for many steps: a table with
//! a 256-byte row a group's run values (64 floats: [`MAX_STACK`] runs), so that each step's `[K]`
//! values are a view of the table with both ends a multiple of 256 bytes from the buffer's ends —
//! what CubeCL views in place instead of copying (see `data::device::VIEW_ALIGN`); s, every run's,
//! is a scalar argument of the fused update. A steady step uploads nothing and launches nothing
//! for its rates.
//!
//! On a CubeCL device (WebGPU, Vulkan) Adam takes three parameters a launch, as one run's
//! `train::multi_adam` does (`model::fused::cube::adam`, which reads each run's rates from the
//! table): the element-wise update of a tensor was one launch a parameter, 30 of a reference
//! transformer stack's step. Its moments are packed three parameters a buffer; the numbers are the
//! element-wise update's, in the same order.
//!
//! A run that diverged leaves the stack ([`StackOptim::retain`]): its moments and rates go, the
//! table is rebuilt for the runs left, and no other run's number changes.

use burn::prelude::*;

use crate::data::device::VIEW_ALIGN;
use crate::knobs::ExperimentConfig;
use crate::knobs::mup::{Part, Role};
use crate::knobs::optim::OptimizerKind;
use crate::knobs::schedule::factor;
use crate::knobs::view::MAX_STACK;
use crate::train::adam::{EPSILON, corrections};

/// Floats in one table slot: one 256-byte row.
const SLOT: usize = VIEW_ALIGN / size_of::<f32>();
/// Steps one table holds at most.
const MAX_ROWS: usize = 1024;

const _: () = assert!(MAX_STACK <= SLOT, "a slot holds every run of a stack");

/// One group of parameters that share every run's rate and decay: per run, the peak learning
/// rate and the weight decay.
struct Group {
    rates: Vec<(f64, f64)>,
    /// Some run decays this group (else the multiply is skipped, as the unstacked update skips
    /// it at wd = 0).
    decays: bool,
}

/// Rows of consecutive steps' values from `first`.
struct Table {
    first: usize,
    rows: usize,
    flat: Tensor<1>,
}

/// A stack's optimizer (see the module's comment).
pub struct StackOptim {
    runs: usize,
    /// Plain SGD instead of Adam.
    sgd: bool,
    betas: (f64, f64),
    /// Each parameter's group.
    group_of: Vec<usize>,
    groups: Vec<Group>,
    /// Each run's schedule and warm-up.
    schedules: Vec<(crate::knobs::schedule::Schedule, usize)>,
    total: usize,
    table: Option<Table>,
    moments: Vec<Option<(Tensor<3>, Tensor<3>)>>,
    /// On a CubeCL device (Adam): the moments of the parameters three a launch.
    packed: Option<Packed>,
    /// Steps taken.
    t: usize,
    device: Device,
}

impl StackOptim {
    /// The optimizer of `cfgs`' runs (one a slice of the stack) for parameters of the given μP
    /// roles, over a phase of `total` steps, on `device` (plain). `frozen(i, k)`: run k does not
    /// train parameter i (a LoRA factor its `train` mode keeps fixed): its rate and decay are 0,
    /// so its slice never changes, as the unstacked run never updates it.
    pub fn new(
        cfgs: &[&ExperimentConfig],
        roles: &[(Role, Part)],
        frozen: &dyn Fn(usize, usize) -> bool,
        total: usize,
        device: &Device,
    ) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of = Vec::with_capacity(roles.len());
        for (i, &(role, part)) in roles.iter().enumerate() {
            let rates: Vec<(f64, f64)> = cfgs
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    if frozen(i, k) {
                        return (0.0, 0.0);
                    }
                    let r = crate::experiment::rates::rate(c, role, part);
                    (r.lr, r.wd)
                })
                .collect();
            match groups.iter().position(|g| g.rates == rates) {
                Some(g) => group_of.push(g),
                None => {
                    group_of.push(groups.len());
                    let decays = rates.iter().any(|&(_, wd)| wd != 0.0);
                    groups.push(Group { rates, decays });
                }
            }
        }
        Self {
            runs: cfgs.len(),
            sgd: cfgs[0].opt == OptimizerKind::Sgd,
            betas: (cfgs[0].beta1, cfgs[0].beta2),
            group_of,
            groups,
            schedules: cfgs.iter().map(|c| (c.sched, c.warm)).collect(),
            total,
            table: None,
            moments: vec![None; roles.len()],
            packed: packed(cfgs[0].opt, device),
            t: 0,
            device: device.clone(),
        }
    }

    /// Keeps only the runs `keep` (positions in the stack, ascending; `idx` the same on the
    /// device): their moments, rates and schedules, the table rebuilt at the next step.
    pub fn retain(&mut self, keep: &[usize], idx: &Tensor<1, Int>) {
        for g in &mut self.groups {
            g.rates = keep.iter().map(|&k| g.rates[k]).collect();
            g.decays = g.rates.iter().any(|&(_, wd)| wd != 0.0);
        }
        self.schedules = keep.iter().map(|&k| self.schedules[k]).collect();
        for m in &mut self.moments {
            *m = m
                .take()
                .map(|(m, v)| (m.select(0, idx.clone()), v.select(0, idx.clone())));
        }
        if let Some(p) = &mut self.packed {
            p.retain(self.runs, keep.len(), idx);
        }
        self.runs = keep.len();
        self.table = None;
    }

    /// Slots of a row: each group's η/b₁ and, where it decays, 1 − η·wd.
    fn slots(&self) -> Vec<(usize, Option<usize>)> {
        let mut next = 0;
        self.groups
            .iter()
            .map(|g| {
                let lr = next;
                next += 1;
                let decay = g.decays.then(|| {
                    next += 1;
                    next - 1
                });
                (lr, decay)
            })
            .collect()
    }

    /// The table from step `first` (0-based): each row's slots, [`SLOT`] floats apart, the
    /// buffer `rows·stride − SLOT + K` long so every `[K]` view ends a multiple of 256 bytes
    /// from its end.
    fn table(&self, first: usize) -> Table {
        let slots = self.slots();
        let width = slots
            .iter()
            .map(|(_, d)| 1 + usize::from(d.is_some()))
            .sum::<usize>();
        let stride = width * SLOT;
        let rows = self.total.saturating_sub(first).clamp(1, MAX_ROWS);
        let len = rows * stride - SLOT + self.runs;
        let mut v = vec![0f32; len];
        for r in 0..rows {
            let step = first + r;
            let (b1, _) = corrections(step + 1, self.betas);
            let row = r * stride;
            for (g, &(lr_slot, decay_slot)) in self.groups.iter().zip(&slots) {
                for k in 0..self.runs {
                    let (peak, wd) = g.rates[k];
                    let (kind, warm) = self.schedules[k];
                    let lr = peak * factor(kind, warm, self.total, step);
                    // The unstacked update's scalars, rounded as it rounds them: Adam's η/b₁
                    // and 1 − η·wd, SGD's η and wd.
                    v[row + lr_slot * SLOT + k] = if self.sgd { lr } else { lr / b1 } as f32;
                    if let Some(d) = decay_slot {
                        v[row + d * SLOT + k] = if self.sgd { wd } else { 1.0 - lr * wd } as f32;
                    }
                }
            }
        }
        Table {
            first,
            rows,
            flat: Tensor::from_data(TensorData::new(v, [len]), &self.device),
        }
    }

    /// Where step `step`'s slot `slot` starts in the table.
    fn at(&self, step: usize, slot: usize) -> usize {
        let table = self.table.as_ref().expect("the table covers this step");
        let width = self
            .slots()
            .iter()
            .map(|(_, d)| 1 + usize::from(d.is_some()))
            .sum::<usize>();
        ((step - table.first) * width + slot) * SLOT
    }

    /// Step `step`'s slot `slot` as `[K, 1, 1]`: a view of the table.
    fn value(&self, step: usize, slot: usize) -> Tensor<3> {
        let table = self.table.as_ref().expect("the table covers this step");
        let at = self.at(step, slot);
        table
            .flat
            .clone()
            .narrow(0, at, self.runs)
            .reshape([self.runs, 1, 1])
    }

    /// One update of every parameter (`params[i]` `[K, …]`, its gradient `grads[i]`), each run
    /// at its own rates.
    pub fn step(&mut self, params: Vec<Tensor<3>>, grads: Vec<Tensor<3>>) -> Vec<Tensor<3>> {
        let step = self.t;
        self.t += 1;
        let covered = self
            .table
            .as_ref()
            .is_some_and(|t| (t.first..t.first + t.rows).contains(&step));
        if !covered {
            self.table = Some(self.table(step));
        }
        let slots = self.slots();
        // s is every run's: a scalar of the fused update, one input fewer than a view (a kernel
        // binds at most 9 buffers on many adapters, so each input counts).
        let s = corrections(step + 1, self.betas).1 as f32;
        #[cfg(feature = "webgpu")]
        if self.packed.is_some() {
            return self.step_packed(step, s, params, grads);
        }
        let (beta_1, beta_2) = self.betas;
        let mut out = Vec::with_capacity(params.len());
        for (i, (p, g)) in params.into_iter().zip(grads).enumerate() {
            let (lr_slot, decay_slot) = slots[self.group_of[i]];
            if self.sgd {
                // Burn's SGD: the decay added to the gradient (p·wd + g), times η.
                let g = match decay_slot {
                    Some(d) => p.clone() * self.value(step, d) + g,
                    None => g,
                };
                out.push(p - g * self.value(step, lr_slot));
                continue;
            }
            let (m, v) = match self.moments[i].take() {
                Some((m, v)) => (
                    m * beta_1 as f32 + g.clone() * (1.0 - beta_1) as f32,
                    v * beta_2 as f32 + g.clone().square() * (1.0 - beta_2) as f32,
                ),
                None => (
                    g.clone() * (1.0 - beta_1) as f32,
                    g.square() * (1.0 - beta_2) as f32,
                ),
            };
            // PyTorch's order, as `train::adam`: (√v / s + ε), m / that, times η / b₁.
            let den = v.clone().sqrt().div_scalar(s) + EPSILON;
            let update = m.clone() / den * self.value(step, lr_slot);
            let kept = match decay_slot {
                Some(d) => p * self.value(step, d),
                None => p,
            };
            out.push(kept - update);
            self.moments[i] = Some((m, v));
        }
        out
    }
}

/// The moments of a stack's parameters updated three a launch (see the module's comment): each
/// group's `[m₀ m₁ m₂ v₀ v₁ v₂]`, every m and v a `[K, …]` parameter's flattened, and its
/// parameters' lengths; none before the first step.
struct Packed {
    groups: Vec<(Vec<usize>, Tensor<1>)>,
    /// Stand-ins for the empty slots of a last group of one or two (never read).
    #[cfg(feature = "webgpu")]
    spares: Option<[Tensor<1>; 4]>,
}

/// Packed moments where the update runs on a CubeCL device (Adam only: SGD keeps its two ops).
fn packed(opt: OptimizerKind, device: &Device) -> Option<Packed> {
    let cube = crate::model::backend::scalars_are_uploads(device);
    (cube && opt == OptimizerKind::Adam).then(|| Packed {
        groups: Vec::new(),
        #[cfg(feature = "webgpu")]
        spares: None,
    })
}

impl Packed {
    /// Keeps the runs `idx` (of `runs`; `left` of them) in every group's moments.
    fn retain(&mut self, runs: usize, left: usize, idx: &Tensor<1, Int>) {
        for (lens, moments) in &mut self.groups {
            let mut at = 0;
            let parts = lens
                .iter()
                .chain(lens.iter())
                .map(|&len| {
                    let per_run = len / runs;
                    let part = moments.clone().narrow(0, at, len).reshape([runs, per_run]);
                    at += len;
                    part.select(0, idx.clone()).reshape([left * per_run])
                })
                .collect();
            *moments = Tensor::cat(parts, 0);
            for len in lens.iter_mut() {
                *len = *len / runs * left;
            }
        }
    }
}

#[cfg(feature = "webgpu")]
impl StackOptim {
    /// Adam's step three parameters a launch, each run's η/b₁ and 1 − η·wd read from the table.
    fn step_packed(
        &mut self,
        step: usize,
        s: f32,
        params: Vec<Tensor<3>>,
        grads: Vec<Tensor<3>>,
    ) -> Vec<Tensor<3>> {
        use burn::backend::Dispatch;

        use crate::model::fused::cube::adam::{AdamScalars, CubeAdam, SLOTS, StackRates};

        let slots = self.slots();
        let places: Vec<(usize, Option<usize>)> = self
            .group_of
            .iter()
            .map(|&g| {
                let (lr, decay) = slots[g];
                (self.at(step, lr), decay.map(|d| self.at(step, d)))
            })
            .collect();
        let table = self
            .table
            .as_ref()
            .expect("the table covers this step")
            .flat
            .clone();
        let (beta_1, beta_2) = self.betas;
        let runs = self.runs;
        let device = self.device.clone();
        let packed = self.packed.as_mut().expect("a packed optimizer");
        let spares = packed
            .spares
            .get_or_insert_with(|| std::array::from_fn(|_| Tensor::<1>::zeros([1], &device)))
            .clone();
        let mut previous = std::mem::take(&mut packed.groups).into_iter();
        let mut out = Vec::with_capacity(params.len());
        let mut members = params.into_iter().zip(grads).enumerate().peekable();
        while members.peek().is_some() {
            let group: Vec<(usize, (Tensor<3>, Tensor<3>))> = members.by_ref().take(SLOTS).collect();
            let lens: Vec<usize> = group.iter().map(|(_, (p, _))| p.shape().num_elements()).collect();
            let half: usize = lens.iter().sum();
            // The same parameters every step of a phase (a new phase is a new optimizer).
            let moments = match previous.next() {
                Some((was, m)) => {
                    debug_assert_eq!(was, lens, "a group keeps its parameters through a phase");
                    m
                }
                None => Tensor::<1>::zeros([2 * half], &device),
            };
            let mut sc = AdamScalars {
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
                half,
                per_launch: SLOTS,
                stack: None,
            };
            let mut rates = StackRates {
                s,
                lr_at: [0; SLOTS],
                keep_at: [None; SLOTS],
                per_run: [1; SLOTS],
            };
            let mut at = 0;
            for (k, (i, _)) in group.iter().enumerate() {
                sc.len[k] = lens[k];
                sc.at[k] = at;
                at += lens[k];
                (rates.lr_at[k], rates.keep_at[k]) = places[*i];
                rates.per_run[k] = lens[k] / runs;
            }
            sc.stack = Some(rates);
            // Moved, not cloned: a parameter the op holds alone is updated in place.
            let mut values: Vec<Option<Tensor<3>>> = Vec::with_capacity(SLOTS);
            let mut grads: Vec<Option<Tensor<3>>> = Vec::with_capacity(SLOTS);
            for (_, (p, g)) in group {
                values.push(Some(p));
                grads.push(Some(g));
            }
            let spare = |k: usize, grad: bool| spares[2 * usize::from(grad) + k - 1].clone().into_dispatch();
            let take = |v: &mut Vec<Option<Tensor<3>>>, k: usize, grad: bool| {
                v.get_mut(k)
                    .and_then(Option::take)
                    .map_or_else(|| spare(k, grad), Tensor::into_dispatch)
            };
            let (p0, p1, p2, moments) = <Dispatch as CubeAdam>::cube_adam(
                take(&mut values, 0, false),
                take(&mut values, 1, false),
                take(&mut values, 2, false),
                take(&mut grads, 0, true),
                take(&mut grads, 1, true),
                take(&mut grads, 2, true),
                moments.into_dispatch(),
                table.clone().into_dispatch(),
                sc,
            );
            out.extend(
                [p0, p1, p2]
                    .into_iter()
                    .take(lens.len())
                    .map(Tensor::<3>::from_dispatch),
            );
            packed.groups.push((lens, Tensor::from_dispatch(moments)));
        }
        out
    }
}
