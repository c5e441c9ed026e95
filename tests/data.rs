//! The seeded tasks: deterministic, balanced, inside the plotted square, train ≠ validation.

use tinytune::config::{Named, Task};
use tinytune::data::{EXTENT, Rng, generate};

#[test]
fn tasks_are_deterministic_balanced_and_in_range() {
    for &(task, _, _) in Task::NAMES {
        let a = generate(task, 300, 5);
        assert_eq!(a, generate(task, 300, 5), "{}: same seed, same data", task.key());
        assert_ne!(
            a.train,
            generate(task, 300, 6).train,
            "{}: seed matters",
            task.key()
        );
        assert_ne!(
            a.train.xy,
            a.val.xy,
            "{}: validation points are fresh",
            task.key()
        );
        for c in 0..a.classes as i64 {
            let n = a.train.labels.iter().filter(|&&l| l == c).count();
            assert!(
                n >= 300 / a.classes - 1,
                "{}: class {c} has {n} points",
                task.key()
            );
        }
        let inside = a.train.xy.iter().filter(|v| v.abs() < EXTENT).count();
        assert!(
            inside as f32 > 0.99 * a.train.xy.len() as f32,
            "{}: points inside the plot",
            task.key()
        );
    }
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
