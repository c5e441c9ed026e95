//! The seeded tasks: deterministic, balanced, inside the plotted square, train ≠ validation; the
//! planted teacher's floor; the shifts of the adaptation phase.

use tinytune::data::planted::Teacher;
use tinytune::data::{self, Dataset, EXTENT, Rng, Targets, generate};
use tinytune::knobs::ExperimentConfig;
use tinytune::knobs::task::{PlantedConfig, Shift, SvProfile, Task};
use tinytune::vocab::Named;

fn sample(task: Task, n: usize, seed: u64) -> Dataset {
    generate(&ExperimentConfig {
        task,
        points: n,
        seed,
        ..ExperimentConfig::default()
    })
}

#[test]
fn tasks_are_deterministic_balanced_and_in_range() {
    // The vector tasks; the transformer's sequence tasks are tests/sequence.rs's, and your own
    // table's split is data::table's and tests/own_data.rs's.
    for &(task, _, _) in Task::NAMES
        .iter()
        .filter(|(t, _, _)| !t.is_sequence() && *t != Task::Table)
    {
        let a = sample(task, 300, 5);
        assert_eq!(a, sample(task, 300, 5), "{}: same seed, same data", task.key());
        assert_ne!(
            a.train,
            sample(task, 300, 6).train,
            "{}: seed matters",
            task.key()
        );
        assert_ne!(a.train.x, a.val.x, "{}: validation points are fresh", task.key());
        assert_eq!(a.train.len(), 300, "{}", task.key());
        for c in 0..a.classes as i64 {
            let n = a.train.labels().iter().filter(|&&l| l == c).count();
            let want = if task == Task::Digits {
                20
            } else {
                300 / a.classes - 1
            };
            assert!(n >= want, "{}: class {c} has {n} points", task.key());
        }
        if a.train.dim == 2 {
            let inside = a.train.x.iter().filter(|v| v.abs() < EXTENT).count();
            assert!(
                inside as f32 > 0.99 * a.train.x.len() as f32,
                "{}: points inside the plot",
                task.key()
            );
        }
    }
}

#[test]
fn digits_split_is_disjoint_and_scaled() {
    let d = sample(Task::Digits, 5000, 1);
    assert_eq!((d.train.len(), d.val.len(), d.train.dim), (1437, 360, 64));
    assert!(d.train.x.iter().all(|v| (-1.0..=1.0).contains(v)));
    let rows = |s: &tinytune::data::Samples| -> Vec<Vec<u32>> {
        s.x.chunks(64)
            .map(|r| r.iter().map(|v| v.to_bits()).collect())
            .collect()
    };
    let val = rows(&d.val);
    let shared = rows(&d.train).iter().filter(|r| val.contains(r)).count();
    // The UCI set has a few duplicate images; the split itself never shares a sample.
    assert!(shared < 10, "{shared} training images also validate");
}

#[test]
fn planted_floor_is_eckart_young() {
    let cfg = PlantedConfig::default();
    assert_eq!(cfg.sigma(), vec![4.0, 3.0, 2.0, 1.0]);
    let t = Teacher::new(&cfg, 3);
    let noise2 = 0.01 * 0.01;
    // Rank r leaves Σ_{i>r} σ_i² / d of the change unexplained.
    for (r, rest) in [(0, 30.0), (1, 14.0), (2, 5.0), (3, 1.0), (4, 0.0), (16, 0.0)] {
        let want = noise2 + rest / 64.0;
        assert!((t.floor(Some(r)) - want).abs() < 1e-12, "rank {r}");
    }
    assert!((t.floor(None) - noise2).abs() < 1e-15);
    // The planted change has exactly the planted spectrum.
    let s = tinytune::data::spectrum::singular_values(&t.delta, 64, 64);
    for (got, want) in s.iter().zip([4.0, 3.0, 2.0, 1.0, 0.0]) {
        assert!((got - want).abs() < 1e-9, "{s:?}");
    }
    let pow = PlantedConfig {
        rank: 3,
        sv: SvProfile::Power,
        ..cfg
    };
    assert_eq!(pow.sigma(), vec![4.0, 2.0, 4.0 / 3.0]);
}

#[test]
fn planted_labels_follow_the_teacher_and_the_subspace() {
    let cfg = PlantedConfig {
        dim: 8,
        rank: 2,
        noise: 0.0,
        k: Some(3),
        ..PlantedConfig::default()
    };
    let t = Teacher::new(&cfg, 1);
    let d = t.dataset(50, 1);
    let Targets::Values { y, dim } = &d.train.targets else {
        panic!("regression targets")
    };
    assert_eq!(*dim, 8);
    // Noise-free labels are exactly (W0 + ΔW*)ᵀx.
    for (x, y) in d.train.x.chunks(8).zip(y.chunks(8)) {
        for (o, &yo) in y.iter().enumerate() {
            let want: f64 = (0..8)
                .map(|i| f64::from(x[i]) * (f64::from(t.w0[i * 8 + o]) + t.delta[i * 8 + o]))
                .sum();
            assert!((f64::from(yo) - want).abs() < 1e-4);
        }
    }
    // Inputs span only k = 3 dimensions.
    let xs: Vec<f64> = d.train.x.iter().map(|&v| f64::from(v)).collect();
    let s = tinytune::data::spectrum::singular_values(&xs, 50, 8);
    assert!(s[2] > 1e-3 && s[3] < 1e-4, "{s:?}");
    // A restricted input lowers what an adapter can be asked to learn.
    assert!(t.visible_sigma().len() == 3 && t.floor(Some(3)) < 1e-12);
}

#[test]
fn shifts_rotate_points_and_reverse_labels() {
    let a = sample(Task::Moons, 40, 2);
    let r = data::shift(Shift::Rotate, &a);
    assert_eq!((r.train.x[0], r.train.x[1]), (-a.train.x[1], a.train.x[0]));
    assert_eq!(r.train.labels(), a.train.labels());
    let f = data::shift(Shift::Flip, &a);
    assert_eq!(f.train.x, a.train.x);
    assert!(
        f.train
            .labels()
            .iter()
            .zip(a.train.labels())
            .all(|(x, y)| x + y == 1)
    );
    let d = sample(Task::Digits, 30, 2);
    assert_ne!(data::shift(Shift::Rotate, &d).train.x, d.train.x);
}

#[test]
fn normal_draws_have_unit_variance() {
    let mut r = Rng::new(9);
    let xs: Vec<f64> = (0..20_000).map(|_| r.normal()).collect();
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
    assert!(mean.abs() < 0.03, "mean {mean}");
    assert!((var - 1.0).abs() < 0.05, "variance {var}");
}
