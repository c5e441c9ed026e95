//! The 2-D toy tasks (spiral, XOR, circles, moons, blobs), and `generate`, which draws any task's
//! data set.

use super::rng::{Rng, streams};
use super::samples::{Dataset, Samples, Targets};
use super::{digits, planted};
use crate::knobs::ExperimentConfig;
use crate::knobs::task::{Task, classes};

/// The square every 2-D task lives in; the decision-boundary plot covers it.
pub const EXTENT: f32 = 1.6;

/// Draws the training and validation sets of `cfg`'s task (`cfg.points` each for the synthetic
/// tasks; the digits are split from the bundled set; matrix sensing's `cfg.points` measurements
/// and no validation samples). A sequence task has no vector samples: its examples are token
/// strings (`data::sequence`), so this gives it empty sets.
pub fn generate(cfg: &ExperimentConfig) -> Dataset {
    let (task, n, seed) = (cfg.task, cfg.points, cfg.seed);
    match task {
        Task::Planted => planted::Teacher::new(&cfg.planted, seed).dataset(n, seed),
        Task::Digits => digits::dataset(n, seed),
        Task::Sense => super::sensing::Sensing::new(cfg).dataset(),
        // Validation refuses a table task without its table; empty sets if one slips through.
        Task::Table => match cfg.own_table() {
            Some(t) => super::table::dataset(t, seed),
            None => Dataset {
                task,
                classes: 0,
                train: Samples {
                    x: Vec::new(),
                    dim: 2,
                    targets: Targets::Labels(Vec::new()),
                },
                val: Samples {
                    x: Vec::new(),
                    dim: 2,
                    targets: Targets::Labels(Vec::new()),
                },
            },
        },
        Task::Copy | Task::Reverse | Task::Sort | Task::Modadd | Task::Text => {
            let empty = Samples {
                x: Vec::new(),
                dim: cfg.input_dim(),
                targets: Targets::Labels(Vec::new()),
            };
            Dataset {
                task,
                classes: cfg.classes(),
                train: empty.clone(),
                val: empty,
            }
        }
        Task::Spiral | Task::Xor | Task::Circles | Task::Moons | Task::Blobs => Dataset {
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
        // `generate` only samples points for the 2-D tasks.
        Task::Planted
        | Task::Digits
        | Task::Sense
        | Task::Table
        | Task::Copy
        | Task::Reverse
        | Task::Sort
        | Task::Modadd
        | Task::Text => (0.0, 0.0),
    }
}
