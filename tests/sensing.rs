//! Matrix sensing (docs/EXPERIMENTS.md E11; `data::sensing`, `model::Factor`, `train::sensing`):
//! the losses are what the docs state, computed here again in f64 from the measurements and the
//! factors; a step is plain gradient descent on the factors; the singular values read back are
//! M's; small init recovers the low-rank matrix where large init over-fits; what the task refuses.

use burn::prelude::*;
use nalgebra::DMatrix;
use tinytune::data::sensing::Sensing;
use tinytune::data::spectrum::singular_values;
use tinytune::knobs::ExperimentConfig;
use tinytune::link::url::parse_strict;
use tinytune::model::{Factor, backend};
use tinytune::report::{Chart, Figures, Results};
use tinytune::train::metrics::{StepReport, read_reports};
use tinytune::train::sensing::Measurements;
use tinytune::train::{Trainer, train_run};

fn cfg(link: &str) -> ExperimentConfig {
    parse_strict(link)
        .unwrap_or_else(|e| panic!("{link}: {e:?}"))
        .experiment
}

/// A tensor's values (the CPU backend reads synchronously).
fn values(t: Tensor<2>) -> Vec<f64> {
    let v = t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap(); // sync-ok: CPU
    v.into_iter().map(f64::from).collect()
}

/// The factors as f64 matrices: X (or F) and G (X again when symmetric).
fn factors(model: &Factor) -> (DMatrix<f64>, DMatrix<f64>) {
    let m = |l: &burn::nn::Linear| {
        let [n, k] = l.weight.val().dims();
        DMatrix::from_row_slice(n, k, &values(l.weight.val()))
    };
    let x = m(&model.x);
    let g = model.g.as_ref().map_or_else(|| x.clone(), m);
    (x, g)
}

/// Residuals rᵢ = ⟨Aᵢ, M⟩ − yᵢ of every measurement.
fn residuals(s: &Sensing, m: &DMatrix<f64>) -> Vec<f64> {
    let nn = s.n * s.n;
    (0..s.measurements())
        .map(|i| {
            let a = &s.a[i * nn..(i + 1) * nn];
            let inner: f64 = (0..nn).map(|j| f64::from(a[j]) * m[(j / s.n, j % s.n)]).sum();
            inner - f64::from(s.y[i])
        })
        .collect()
}

fn step(trainer: &mut Trainer<Measurements>) -> StepReport {
    let out = trainer.step().expect("a step to take");
    let (mut reports, _) = pollster::block_on(read_reports(vec![out], Vec::new())).unwrap();
    reports.remove(0)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-30)
}

#[test]
fn the_losses_are_the_measurement_error_and_the_recovery_error_over_the_target_norm() {
    let c = cfg("task=sense&dim=6&pr=2&n=30&bs=30&fk=3&finit=0.5&noise=0.1&opt=sgd&lr=0.01&steps=2");
    let s = Sensing::new(&c);
    let mut t = Trainer::<Measurements>::new(&c, &backend::cpu()).unwrap();
    let (x, _) = factors(t.model());
    let m = &x * x.transpose();
    let r = residuals(&s, &m);
    let norm2 = s.norm2();
    let train = r.iter().map(|v| v * v).sum::<f64>() / r.len() as f64 / norm2;
    let target = DMatrix::from_row_slice(6, 6, &s.target);
    let val = (&m - &target).norm_squared() / norm2;
    let got = step(&mut t);
    assert!(
        rel(f64::from(got.train_loss), train) < 1e-4,
        "train {} vs {train}",
        got.train_loss
    );
    let got_val = f64::from(got.val_loss.expect("step 0 evaluates"));
    assert!(rel(got_val, val) < 1e-4, "val {got_val} vs {val}");
    // The figure's error is the square root: ‖M − M*‖F / ‖M*‖F.
    assert!(rel(got_val.sqrt(), s.relative_error(m.as_slice())) < 1e-4);
    // The singular values read back are M's (M is symmetric: row- or column-major alike).
    let sv = got.singular.expect("singular values at an evaluation");
    let want = singular_values(m.as_slice(), 6, 6);
    assert_eq!(sv.len(), 6);
    for (a, b) in sv.iter().zip(&want) {
        assert!((f64::from(*a) - b).abs() < 1e-5 * want[0], "{sv:?} vs {want:?}");
    }
    // X·Xᵀ of rank k = 3: the other three vanish.
    assert!(sv[3..].iter().all(|v| f64::from(*v) < 1e-5 * want[0]), "{sv:?}");
}

/// One step of `link` against X ← X − η·∇ worked out here: with L = (1/m)·Σ rᵢ² / ‖M*‖²_F,
/// ∇_F = c·Σ rᵢ·Aᵢ·G and ∇_G = c·Σ rᵢ·Aᵢᵀ·F (c = 2/(m·‖M*‖²_F)); for X·Xᵀ, ∇_X = c·Σ rᵢ·(Aᵢ + Aᵢᵀ)·X.
fn check_one_gd_step(link: &str, symmetric: bool) {
    let c = cfg(link);
    let s = Sensing::new(&c);
    let n = s.n;
    let mut t = Trainer::<Measurements>::new(&c, &backend::cpu()).unwrap();
    let (f, g) = factors(t.model());
    let r = residuals(&s, &(&f * g.transpose()));
    let scale = 2.0 / (r.len() as f64 * s.norm2());
    let mut grad_m = DMatrix::<f64>::zeros(n, n); // Σ rᵢ·Aᵢ
    for (i, ri) in r.iter().enumerate() {
        let a = DMatrix::from_row_slice(n, n, &s.a[i * n * n..(i + 1) * n * n]).map(f64::from);
        grad_m += a * *ri;
    }
    let lr = c.lr;
    let (want_f, want_g) = if symmetric {
        let gx = (&grad_m + grad_m.transpose()) * &f * scale;
        (&f - gx * lr, None)
    } else {
        let gf = &grad_m * &g * scale;
        let gg = grad_m.transpose() * &f * scale;
        (&f - gf * lr, Some(&g - gg * lr))
    };
    step(&mut t);
    let (got_f, got_g) = factors(t.model());
    let moved = (&want_f - &f).norm();
    assert!(moved > 1e-3, "the step moved the factor by {moved}");
    assert!(
        (&got_f - &want_f).norm() < 1e-4 * moved,
        "F off by {}",
        (&got_f - &want_f).norm()
    );
    if let Some(want_g) = want_g {
        assert!(
            (&got_g - &want_g).norm() < 1e-4 * moved,
            "G off by {}",
            (&got_g - &want_g).norm()
        );
    }
}

#[test]
fn a_step_is_plain_gradient_descent_on_the_factors() {
    check_one_gd_step(
        "task=sense&dim=5&pr=2&n=40&bs=40&fk=3&finit=1&opt=sgd&lr=0.05&steps=1",
        true,
    );
    check_one_gd_step(
        "task=sense&dim=5&pr=2&n=40&bs=40&fk=3&finit=1&fsym=0&opt=sgd&lr=0.05&steps=1",
        false,
    );
}

#[test]
fn measurements_and_init_are_seeded() {
    let a = cfg("task=sense&dim=8&pr=2&n=20&fk=4&steps=1&seed=5");
    let b = cfg("task=sense&dim=8&pr=2&n=20&fk=4&steps=1&seed=6");
    assert_eq!(Sensing::new(&a), Sensing::new(&a));
    assert_ne!(Sensing::new(&a).a, Sensing::new(&b).a);
    let device = backend::cpu();
    let x = |c: &ExperimentConfig| factors(Trainer::<Measurements>::new(c, &device).unwrap().model()).0;
    assert_eq!(x(&a), x(&a));
    assert_ne!(x(&a), x(&b));
    // Entries N(0, α²/n): with α = 0.01 and n = 8 their spread is about 0.0035.
    let sd = (x(&a).norm_squared() / 32.0).sqrt();
    assert!((0.002..0.006).contains(&sd), "{sd}");
}

#[test]
fn small_init_recovers_the_low_rank_matrix_and_large_over_parameterised_init_overfits() {
    // docs/EXPERIMENTS.md E11 (Li, Ma, Zhang 2018): n = 20, r* = 2, m = 200 measurements of 210
    // degrees of freedom: k = n can fit them with a wrong M, small init still finds M*.
    let base = "task=sense&dim=20&pr=2&noise=0&n=200&bs=200&opt=sgd&lr=0.1";
    let small = pollster::block_on(train_run(
        &cfg(&format!("{base}&steps=1000&fk=2&finit=0.01")),
        &backend::cpu(),
        100,
    ))
    .unwrap();
    let err = |r: &tinytune::train::metrics::Run| f64::from(r.final_val_loss().unwrap()).sqrt();
    assert!(err(&small) < 1e-4, "k = r*, small init: {}", err(&small));
    let large = pollster::block_on(train_run(
        &cfg(&format!("{base}&steps=1500&fk=20&finit=1")),
        &backend::cpu(),
        100,
    ))
    .unwrap();
    assert!(err(&large) > 0.05, "k = n, α = 1: {}", err(&large));
    let train = f64::from(large.final_train_loss().unwrap()).sqrt();
    assert!(
        train < err(&large) / 2.0,
        "over-fits: train {train} vs recovery {}",
        err(&large)
    );
    // Its figure: the sensing chart is shown (and drawn) for sensing runs only.
    let study = parse_strict(&format!("{base}&steps=1000&fk=2&finit=0.01")).unwrap();
    let points = tinytune::page::boundary_points(&study.experiment);
    let runs = [small];
    let figures = Figures::of(Results {
        study: &study,
        runs: &runs,
        grid: None,
        points: &points,
        planted_sigma: None,
        before: None,
    });
    assert!(figures.shown_charts().contains(&Chart::Sensing));
    assert_eq!(figures.main(), Chart::Sensing);
    let svg = tinytune::report::svg(&figures, Chart::Sensing, (1100, 480), "e11").unwrap();
    assert!(
        svg.contains("singular values") && svg.contains("<polyline"),
        "{}",
        &svg[..300]
    );
}

#[test]
fn ptq_rounds_the_factors() {
    let base = "task=sense&dim=10&pr=2&noise=0&n=100&bs=100&opt=sgd&lr=0.1&steps=300&fk=2&finit=0.1";
    let run =
        |q: &str| pollster::block_on(train_run(&cfg(&format!("{base}{q}")), &backend::cpu(), 100)).unwrap();
    let float = run("");
    let (b8, b2) = (run("&bits=8&qmode=ptq"), run("&bits=2&qmode=ptq"));
    let f = f64::from(float.final_val_loss().unwrap());
    let (q8, q2) = (
        f64::from(b8.quant_val_loss().unwrap()),
        f64::from(b2.quant_val_loss().unwrap()),
    );
    // Training is the same; only the end's rounding differs: 8 bits is close, 2 bits is not.
    assert_eq!(f, f64::from(b8.final_val_loss().unwrap()));
    assert!(
        q8 < 1e-3 && q2 > 10.0 * q8 && q2 > 1e-2,
        "float {f}, 8 bits {q8}, 2 bits {q2}"
    );
}

#[test]
fn what_the_sensing_task_refuses_says_what_to_set() {
    let err = |link: &str| {
        let c = parse_strict(link).map(|s| s.experiment);
        match c {
            Err(issues) => format!("{issues:?}"),
            Ok(c) => tinytune::experiment::validate_text(&c).err().unwrap_or_default(),
        }
    };
    assert!(
        err("task=sense&model=mlp").contains("model=factor"),
        "{}",
        err("task=sense&model=mlp")
    );
    assert!(err("task=spiral&model=factor").contains("task=sense"));
    assert!(err("task=sense&dim=20&fk=21").contains("between 1 and dim = 20"));
    assert!(err("task=sense&dim=65").contains("up to 64×64"));
    assert!(err("task=sense&dim=8&r=4").contains("fk"));
    assert!(err("task=sense&dim=8&coord=3").contains("coord=0"));
    assert!(err("task=sense&dim=8&pr=9").contains("planted rank"));
    assert_eq!(err("task=sense&dim=8&pr=2&fk=n"), "");
}
