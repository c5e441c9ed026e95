//! Seeded data sets. Generated on the CPU with our own generator (not the backend's RNG) so the
//! same seed gives bit-identical data on every backend and platform; the trainer uploads them once
//! and they stay on the device.

use crate::config::Task;

/// SplitMix64: tiny, fast, and identical on wasm and native. Statistical quality is ample for
/// drawing toy data, weight init and mini-batch order.
///
/// Why not `rand_pcg` + `rand_distr`, which are as deterministic across platforms: a `v=1` link
/// means these exact streams (data, init, adapters, batch order), so a bookmarked link replays
/// the curve it showed; another generator would redraw every seeded experiment. A change of
/// generator belongs with a new link version (`v=2`), where old links keep this one.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// An independent stream for a named purpose, so adding draws to one purpose (say, data) never
    /// shifts another (say, weight init).
    pub fn stream(seed: u64, purpose: u64) -> Self {
        let mut r = Self::new(seed.wrapping_mul(0xD134_2543_DE82_EF95) ^ purpose);
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln never sees 0
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Purposes for [`Rng::stream`].
pub mod streams {
    pub const TRAIN_DATA: u64 = 1;
    pub const VAL_DATA: u64 = 2;
    pub const INIT: u64 = 3;
    pub const BATCHES: u64 = 4;
    /// The planted task's teacher (W0, ΔW*, the input subspace).
    pub const TEACHER: u64 = 5;
    /// LoRA factors drawn when adapters are attached.
    pub const ADAPTER: u64 = 6;
    /// The order of the digits before the train/val split.
    pub const SPLIT: u64 = 7;
}

/// What a task asks the model to predict.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Classification: one label per sample.
    Labels(Vec<i64>),
    /// Regression: `dim` values per sample, row-major `[n, dim]`.
    Values { y: Vec<f32>, dim: usize },
}

/// Samples of a task: inputs row-major `[n, dim]` and their targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    pub x: Vec<f32>,
    pub dim: usize,
    pub targets: Targets,
}

impl Samples {
    pub fn len(&self) -> usize {
        self.x.len() / self.dim.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The labels of a classification task (empty for regression).
    pub fn labels(&self) -> &[i64] {
        match &self.targets {
            Targets::Labels(l) => l,
            Targets::Values { .. } => &[],
        }
    }
}

/// Train and validation sets drawn from the same distribution with independent streams.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub task: Task,
    /// Classes of a classification task; 0 for regression.
    pub classes: usize,
    pub train: Samples,
    pub val: Samples,
}

/// How the adaptation phase's task differs from the pre-training task (2-D toys and digits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Shift {
    /// Inputs turned a quarter turn: 2-D points rotate by 90°, digit images rotate by 90°.
    #[default]
    Rotate,
    /// Labels reversed (class c becomes classes − 1 − c): same inputs, new readout mapping.
    Flip,
}

impl crate::config::Named for Shift {
    const WHAT: &'static str = "shift";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Shift::Rotate, "rot", "inputs rotated a quarter turn"),
        (Shift::Flip, "flip", "labels reversed"),
    ];
}

impl Shift {
    /// The shifted copy of `data`: what the adaptation phase trains and validates on.
    pub fn apply(self, data: &Dataset) -> Dataset {
        let one = |s: &Samples| -> Samples {
            let mut s = s.clone();
            match self {
                Shift::Rotate if s.dim == 2 => {
                    for p in s.x.chunks_exact_mut(2) {
                        let (x, y) = (p[0], p[1]);
                        p[0] = -y;
                        p[1] = x;
                    }
                }
                Shift::Rotate => crate::digits::rotate_images(&mut s.x, s.dim),
                Shift::Flip => {
                    if let Targets::Labels(l) = &mut s.targets {
                        let k = data.classes as i64;
                        l.iter_mut().for_each(|c| *c = k - 1 - *c);
                    }
                }
            }
            s
        };
        Dataset {
            train: one(&data.train),
            val: one(&data.val),
            ..data.clone()
        }
    }
}

/// The square every 2-D task lives in; the decision-boundary plot covers it.
pub const EXTENT: f32 = 1.6;

/// Classes of a classification task; 0 for the regression task.
pub fn classes(task: Task) -> usize {
    match task {
        Task::Blobs => 3,
        Task::Digits => crate::digits::CLASSES,
        Task::Planted => 0,
        _ => 2,
    }
}

/// Draws the training and validation sets of `cfg`'s task (`cfg.points` each for the synthetic
/// tasks; the digits are split from the bundled set).
pub fn generate(cfg: &crate::config::ExperimentConfig) -> Dataset {
    let (task, n, seed) = (cfg.task, cfg.points, cfg.seed);
    match task {
        Task::Planted => crate::planted::Teacher::new(&cfg.planted, seed).dataset(n, seed),
        Task::Digits => crate::digits::dataset(n, seed),
        _ => Dataset {
            task,
            classes: classes(task),
            train: sample(task, n, &mut Rng::stream(seed, streams::TRAIN_DATA)),
            val: sample(task, n, &mut Rng::stream(seed, streams::VAL_DATA)),
        },
    }
}

/// Balanced classes: point i gets label i mod classes, then the order is shuffled.
fn sample(task: Task, n: usize, rng: &mut Rng) -> Samples {
    let k = classes(task);
    let mut xy = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % k;
        let (x, y) = point(task, c, rng);
        xy.push(x as f32);
        xy.push(y as f32);
        labels.push(c as i64);
    }
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    Samples {
        x: order.iter().flat_map(|&i| [xy[2 * i], xy[2 * i + 1]]).collect(),
        dim: 2,
        targets: Targets::Labels(order.iter().map(|&i| labels[i]).collect()),
    }
}

/// One point of class `c`. Shapes and noise levels follow the usual playground versions, scaled to
/// about [-1.2, 1.2]² so one input scale suits every task.
fn point(task: Task, c: usize, rng: &mut Rng) -> (f64, f64) {
    use std::f64::consts::PI;
    match task {
        Task::Spiral => {
            // Two interleaved arms, 1.75 turns each: hard enough that depth and width matter.
            let t = rng.uniform();
            let r = 0.1 + 1.1 * t;
            let a = 3.5 * PI * t + PI * c as f64;
            (
                r * a.cos() + 0.04 * rng.normal(),
                r * a.sin() + 0.04 * rng.normal(),
            )
        }
        Task::Xor => {
            // Sample a quadrant that matches the class, keeping a small margin off the axes.
            let sx = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
            let sy = if c == 0 { sx } else { -sx };
            let x = sx * (0.05 + 1.1 * rng.uniform());
            let y = sy * (0.05 + 1.1 * rng.uniform());
            (x + 0.03 * rng.normal(), y + 0.03 * rng.normal())
        }
        Task::Circles => {
            let r = if c == 0 { 0.45 } else { 1.05 };
            let a = 2.0 * PI * rng.uniform();
            (
                r * a.cos() + 0.08 * rng.normal(),
                r * a.sin() + 0.08 * rng.normal(),
            )
        }
        Task::Moons => {
            // scikit-learn's make_moons, centred and scaled by 0.8.
            let a = PI * rng.uniform();
            let (x, y) = if c == 0 {
                (a.cos(), a.sin())
            } else {
                (1.0 - a.cos(), 0.5 - a.sin())
            };
            (
                0.8 * (x - 0.5) + 0.08 * rng.normal(),
                0.8 * (y - 0.25) + 0.08 * rng.normal(),
            )
        }
        Task::Blobs => {
            let a = PI / 2.0 + 2.0 * PI * c as f64 / 3.0;
            let (cx, cy) = (0.7 * a.cos(), 0.7 * a.sin());
            (cx + 0.3 * rng.normal(), cy + 0.3 * rng.normal())
        }
        Task::Planted | Task::Digits => unreachable!("not a 2-D task"),
    }
}
