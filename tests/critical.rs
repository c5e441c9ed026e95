//! The critical batch (docs/EXPERIMENTS.md E6 (b); `train::critical`, `plot::critical`): the law
//! S = S_min(1 + B_crit/B) is recovered from exact and perturbed points; steps to a loss are
//! interpolated as stated; a sweep is read per batch at its best rate and drawn; the planted
//! stream draws fresh, seeded batches from the teacher (its first loss is the teacher's own on the
//! stream's first batch) and is evaluated every step; the input spectrum has the stated variances
//! and its loss floor is the Σ-weighted Eckart–Young floor; on isotropic inputs the measured noise
//! scale is the closed form d·L/(L − σ²).

use tinytune::data::planted::Teacher;
use tinytune::data::{Rng, Targets, streams};
use tinytune::knobs::ExperimentConfig;
use tinytune::link::url::parse_strict;
use tinytune::model::backend;
use tinytune::train::critical::{BatchSteps, Law, auto_target, critical, rate_max};
use tinytune::train::metrics::{Run, StepReport};
use tinytune::train::train_run;

fn cfg(link: &str) -> ExperimentConfig {
    parse_strict(link)
        .unwrap_or_else(|e| panic!("{link}: {e:?}"))
        .experiment
}

fn report(step: usize, val: Option<f32>) -> StepReport {
    StepReport {
        step,
        train_loss: val.unwrap_or(1.0),
        val_loss: val,
        coord: None,
        quant_val_loss: None,
        seq: None,
        norms: None,
        singular: None,
        prune: None,
        val_acc: None,
        gns: None,
    }
}

/// A run of batch `bs`, rate `lr` and `seed` whose validation loss falls from 1 as e^(−t/τ),
/// evaluated every step, so it reaches `target` after τ·ln(1/target) steps.
fn decaying(bs: usize, lr: f64, seed: u64, tau: f64, steps: usize) -> Run {
    let c = cfg(&format!(
        "task=planted&dim=8&pr=2&stream=1&bs={bs}&lr={lr}&seed={seed}&steps={steps}"
    ));
    let mut run = Run::new(c);
    run.extend((0..steps).map(|t| report(t, Some((-(t as f64) / tau).exp() as f32))));
    run
}

#[test]
fn the_law_is_recovered_from_its_points() {
    let truth = Law {
        s_min: 12.0,
        b_crit: 80.0,
    };
    let sizes = [4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
    let exact: Vec<(f64, f64)> = sizes.iter().map(|&b| (b, truth.steps(b))).collect();
    let fit = Law::fit(&exact).unwrap();
    assert!(
        (fit.s_min - 12.0).abs() < 1e-9 && (fit.b_crit - 80.0).abs() < 1e-7,
        "{fit:?}"
    );
    assert!((fit.e_min() - 960.0).abs() < 1e-6);
    // ±5 % alternating errors move B_crit by well under a fifth.
    let noisy: Vec<(f64, f64)> = exact
        .iter()
        .enumerate()
        .map(|(i, &(b, s))| (b, s * if i % 2 == 0 { 1.05 } else { 0.95 }))
        .collect();
    let fit = Law::fit(&noisy).unwrap();
    assert!((fit.b_crit - 80.0).abs() < 16.0, "{fit:?}");
    // Too few batch sizes, or points that do not bend the law's way, fit nothing.
    assert_eq!(Law::fit(&exact[..2]), None);
    let rising: Vec<(f64, f64)> = sizes.iter().map(|&b| (b, b)).collect();
    assert_eq!(Law::fit(&rising), None);
}

#[test]
fn the_best_rate_law_is_recovered_at_the_steps_critical_batch() {
    // McCandlish et al.'s eq. 2.6: ε(B) = ε_max/(1 + B_crit/B). Rates drawn on it, two seeds a
    // batch at ×1.1 and ÷1.1 (their geometric mean on the law), give back ε_max.
    let batches: Vec<BatchSteps> = [8usize, 32, 128, 512]
        .iter()
        .map(|&b| {
            let eps = 6.0 / (1.0 + 40.0 / b as f64);
            BatchSteps {
                batch: b,
                steps: vec![1.0, 1.0],
                rates: vec![eps * 1.1, eps / 1.1],
            }
        })
        .collect();
    assert!((batches[1].rate() - 6.0 / (1.0 + 40.0 / 32.0)).abs() < 1e-12);
    let eps_max = rate_max(&batches, 40.0).unwrap();
    assert!((eps_max - 6.0).abs() < 1e-9, "{eps_max}");
    assert_eq!(rate_max(&[], 40.0), None);
}

#[test]
fn steps_to_a_loss_are_interpolated_on_log_loss() {
    // Evaluations every 10 steps: 1 at 0, e^-1 at 10, e^-2 at 20, …: loss e^-1.5 falls at 15.
    let c = cfg("task=planted&dim=8&pr=2&bs=8&steps=50");
    let mut run = Run::new(c);
    run.extend((0..50usize).map(|t| {
        let val = t.is_multiple_of(10).then(|| (-(t as f64) / 10.0).exp() as f32);
        report(t, val)
    }));
    let s = run.steps_to((-1.5f64).exp()).unwrap();
    assert!((s - 15.0).abs() < 1e-4, "{s}");
    assert_eq!(run.steps_to(2.0), Some(0.0), "already there at the start");
    assert_eq!(run.steps_to(1e-9), None, "never reached");
}

#[test]
fn a_sweep_is_read_per_batch_at_its_best_rate() {
    // Runs built on the law S(B) = 10·(1 + 64/B) to the loss e^-3 (τ = S/3); at each batch a
    // second, slower rate (τ twice as long) that the reading must pass over; two seeds.
    let truth = Law {
        s_min: 10.0,
        b_crit: 64.0,
    };
    let target = (-3.0f64).exp();
    let mut runs = Vec::new();
    for seed in [1, 2] {
        for bs in [8, 16, 32, 64, 128, 256] {
            let tau = truth.steps(bs as f64) / 3.0;
            runs.push(decaying(bs, 0.1, seed, tau, 400));
            runs.push(decaying(bs, 0.2, seed, 2.0 * tau, 400));
        }
    }
    let c = critical(&runs, Some(target)).unwrap();
    assert_eq!(c.batches.len(), 6);
    for b in &c.batches {
        assert_eq!(b.rates, vec![0.1, 0.1], "the faster rate, each seed");
        let want = truth.steps(b.batch as f64);
        assert!(
            (b.mean() - want).abs() < 1e-3 * want,
            "B {}: {} vs {want}",
            b.batch,
            b.mean()
        );
    }
    let law = c.law.unwrap();
    assert!(
        (law.b_crit - 64.0).abs() < 0.01 && (law.s_min - 10.0).abs() < 1e-3,
        "{law:?}"
    );
    let (lo, hi) = c.seed_range.unwrap();
    assert!((lo - 64.0).abs() < 0.01 && (hi - 64.0).abs() < 0.01);
    assert_eq!(c.b_simple, None, "no run measured the noise scale");
    // Auto: halfway (log) between the start (1) and the loss every batch reaches (the highest
    // best loss, the slowest batch's last value).
    let floor = runs
        .iter()
        .filter(|r| r.config.batch == 8)
        .filter_map(|r| r.best_val_loss())
        .fold(f32::INFINITY, f32::min);
    let auto = auto_target(&runs).unwrap();
    assert!(
        (auto - f64::from(floor).sqrt()).abs() < 1e-6,
        "{auto} vs √{floor}"
    );
    // Two batch sizes are no sweep.
    let two: Vec<Run> = runs.iter().filter(|r| r.config.batch <= 16).cloned().collect();
    assert!(critical(&two, Some(target)).is_none());
}

/// Every run of `study` trained on the CPU, each with its swept knobs as a sweep's runs carry them.
fn trained(study: &tinytune::link::study::Study) -> Vec<Run> {
    study
        .runs()
        .iter()
        .map(|p| {
            let mut run = pollster::block_on(train_run(&p.config, &backend::cpu(), 20)).unwrap();
            run.knobs = p.knobs.clone();
            run
        })
        .collect()
}

#[test]
fn the_figure_draws_the_law_and_the_noise_scale() {
    let link = "task=planted&dim=32&pr=4&noise=0.5&n=256&stream=1&r=0&opt=sgd&steps=60&gns=1&reach=0.35\
                &sweep=bs:8,32,128;lr:1,4;seed:1";
    let study = parse_strict(link).unwrap();
    let runs = trained(&study);
    let points = tinytune::page::boundary_points(&study.experiment);
    let figures = tinytune::report::Figures::of(tinytune::report::Results {
        study: &study,
        runs: &runs,
        grid: None,
        points: &points,
        planted_sigma: None,
        before: None,
    });
    let chart = tinytune::report::Chart::Critical;
    assert!(figures.shown(chart));
    assert_eq!(figures.main(), chart, "the batch sweep's main figure");
    let svg = tinytune::report::svg(&figures, chart, (1100, 480), "critical").unwrap();
    for want in [
        "perfect scaling",
        "B_crit",
        "B_simple at the target",
        "to loss 0.35",
    ] {
        assert!(svg.contains(want), "{want}");
    }
    // A loss no run reaches, or one every run starts below (no step to count), leaves nothing
    // to draw; drawing it anyway is an error, not a log axis over nothing.
    for reach in [1e-4, 50.0] {
        let mut other = study.clone();
        other.view.reach = Some(reach);
        let figures = tinytune::report::Figures::of(tinytune::report::Results {
            study: &other,
            runs: &runs,
            grid: None,
            points: &points,
            planted_sigma: None,
            before: None,
        });
        assert!(!figures.shown(chart), "reach {reach}");
        let svg = tinytune::report::svg(&figures, chart, (1100, 480), "critical");
        assert!(svg.is_err(), "reach {reach}");
        let area = plotters::prelude::SVGBackend::new("/dev/null", (600, 400));
        let root = plotters::prelude::IntoDrawingArea::into_drawing_area(area);
        assert!(tinytune::plot::draw_critical(&root, &runs, Some(reach), Default::default()).is_err());
    }
}

#[test]
fn the_figure_reads_only_batch_sweeps_it_can_read() {
    let shown = |link: &str| {
        let study = parse_strict(link).unwrap();
        let runs = trained(&study);
        tinytune::plot::has_critical(&runs, study.view.reach)
    };
    let base = "task=planted&dim=8&pr=2&noise=0.5&n=64&r=0&opt=sgd&steps=30&lr=1&reach=0.5";
    assert!(shown(&format!("{base}&stream=1&sweep=bs:4,8,16")));
    // Another knob swept beside the batch would be mixed into "the fastest run".
    assert!(!shown(&format!("{base}&stream=1&sweep=bs:4,8,16;xs:0,1")));
    // Evaluated every 10 steps, steps to a loss would be rounded to tens.
    assert!(!shown(&format!("{base}&sweep=bs:4,8,16")));
    // A data sweep is no batch sweep, though `bs` ≥ n makes its batches differ.
    assert!(!shown(
        "task=planted&dim=8&pr=2&noise=0.5&bs=8192&r=0&opt=sgd&steps=30&lr=1&reach=0.5&sweep=n:16,32,64"
    ));
}

/// The mean squared error over every output of the teacher's W0 (the student before a step) on
/// `samples`.
fn w0_mse(teacher: &Teacher, samples: &tinytune::data::Samples) -> f64 {
    let Targets::Values { y, dim } = &samples.targets else {
        panic!("regression")
    };
    let mut se = 0.0f64;
    for (x, y) in samples.x.chunks_exact(*dim).zip(y.chunks_exact(*dim)) {
        for (o, yo) in y.iter().enumerate() {
            let p: f64 = x
                .iter()
                .enumerate()
                .map(|(i, xi)| f64::from(*xi) * f64::from(teacher.w0[i * dim + o]))
                .sum();
            se += (p - f64::from(*yo)).powi(2);
        }
    }
    se / (samples.len() * dim) as f64
}

#[test]
fn the_stream_draws_fresh_seeded_batches_from_the_teacher_and_evaluates_every_step() {
    let link = "task=planted&dim=8&pr=2&noise=0.1&n=64&stream=1&r=0&opt=sgd&bs=512&lr=0.5&steps=12&seed=3";
    let c = cfg(link);
    assert_eq!(c.batch_examples(), 512, "a stream's batch is not capped by n");
    let run = pollster::block_on(train_run(&c, &backend::cpu(), 4)).unwrap();
    assert!(
        run.reports.iter().all(|r| r.val_loss.is_some()),
        "validation every step"
    );
    // The first step's training loss is W0's mean squared error on the stream's first batch.
    let teacher = Teacher::new(&c.planted, c.seed);
    let batch = teacher.sample(512, &mut Rng::stream(c.seed, streams::STREAM));
    let want = w0_mse(&teacher, &batch);
    let got = f64::from(run.reports[0].train_loss);
    assert!((got - want).abs() < 1e-4 * want, "{got} vs {want}");
    // Seeded: the same link trains the same; another seed draws other points.
    let again = pollster::block_on(train_run(&c, &backend::cpu(), 4)).unwrap();
    let losses = |r: &Run| r.reports.iter().map(|x| x.train_loss).collect::<Vec<_>>();
    assert_eq!(losses(&run), losses(&again));
    let other = cfg(&link.replace("seed=3", "seed=4"));
    let other = pollster::block_on(train_run(&other, &backend::cpu(), 4)).unwrap();
    assert_ne!(losses(&run)[1..], losses(&other)[1..]);
    // Without the stream, 512 rows of n = 64 are the whole set every step (the same batch).
    let fixed = cfg(&link.replace("&stream=1", ""));
    assert_eq!(fixed.batch_examples(), 64);
    // The caps count the stream's draws as training work, not as data waited for before the
    // first step. With n = bs the two runs' products are the same; the stream adds its draws
    // (2·d² a sample) and nine in ten more validation passes (2·d² a point, n = bs points):
    // 3.8·d²·bs a step, where the evaluations alone would be 1.8.
    let stream = cfg(&link.replace("n=64", "n=512"));
    let fixed = cfg(&link.replace("n=64", "n=512").replace("&stream=1", ""));
    assert_eq!(stream.data_flops(), fixed.data_flops());
    let per = (512 * 12) as f64 * 64.0;
    let extra = (stream.training_flops() - fixed.training_flops()) / per;
    assert!((extra - 3.8).abs() < 0.05, "{extra}·d²·bs a step");
}

#[test]
fn the_input_spectrum_has_its_variances_and_its_floor() {
    let c = cfg("task=planted&dim=16&pr=3&noise=0.2&xs=1&stream=1");
    let s = c.planted.input_scales();
    let var: Vec<f64> = s.iter().map(|x| x * x).collect();
    assert!(
        (var.iter().sum::<f64>() / 16.0 - 1.0).abs() < 1e-12,
        "variances average 1"
    );
    assert!((var[0] / var[15] - 16.0).abs() < 1e-9, "condition number d^xs");
    let teacher = Teacher::new(&c.planted, c.seed);
    // Sampled inputs have those variances.
    let n = 20_000;
    let batch = teacher.sample(n, &mut Rng::new(9));
    for (j, v) in var.iter().enumerate() {
        let m2 = batch
            .x
            .chunks_exact(16)
            .map(|x| f64::from(x[j]).powi(2))
            .sum::<f64>()
            / n as f64;
        assert!((m2 / v - 1.0).abs() < 0.05, "input {j}: {m2} vs {v}");
    }
    // W0's expected loss is the floor of a rank-0 change: noise² + |Λ^½ΔW*|²/d; the sample's
    // mean squared error agrees.
    let floor0 = teacher.floor(Some(0));
    let weighted: f64 = teacher.weighted_sigma().iter().map(|x| x * x).sum();
    assert!((floor0 - (0.04 + weighted / 16.0)).abs() < 1e-12);
    let mse = w0_mse(&teacher, &batch);
    assert!((mse / floor0 - 1.0).abs() < 0.05, "{mse} vs {floor0}");
    // Full rank reaches the noise; the weighted values differ from the planted ones.
    assert!((teacher.floor(None) - 0.04).abs() < 1e-12);
    assert_ne!(teacher.weighted_sigma(), teacher.visible_sigma());
    // Isotropic inputs keep the planted values exactly.
    let iso = Teacher::new(&cfg("task=planted&dim=16&pr=3&noise=0.2").planted, 1);
    assert_eq!(iso.weighted_sigma(), iso.visible_sigma());
}

#[test]
fn on_isotropic_inputs_the_noise_scale_is_its_closed_form() {
    // Per-example gradients of the mean squared error over d outputs at error E = W − W*, with
    // x ~ N(0, I) and label noise σ: E|g_i|² = (4/d²)((d + 2)|E|² + d²σ²) (Gaussian fourth
    // moments) and |G|² = 4|E|²/d², so B_simple = tr Σ/|G|² = d + 1 + d²σ²/|E|²
    // = d·L/(L − σ²) + 1 with L = σ² + |E|²/d. At a rate too small to move W0, L is the
    // teacher's rank-0 floor and the run's smoothed estimate must settle there.
    let c =
        cfg("task=planted&dim=32&pr=4&noise=0.5&n=256&stream=1&r=0&opt=sgd&bs=64&lr=1e-7&steps=400&gns=1");
    let l0 = Teacher::new(&c.planted, c.seed).floor(Some(0));
    let want = 32.0 * l0 / (l0 - 0.25) + 1.0;
    let run = pollster::block_on(train_run(&c, &backend::cpu(), 100)).unwrap();
    let series = run.noise_scale();
    let late: Vec<f64> = series.iter().skip(50).map(|p| p.2).collect();
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    assert!((mean / want - 1.0).abs() < 0.1, "B_simple {mean} vs {want}");
}
