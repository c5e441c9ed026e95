//! The gradient noise scale (docs/EXPERIMENTS.md E6; `train::noise`): the two-batch estimator
//! recovers |G|² and tr(Σ) exactly from their expectations and without bias from sampled batches;
//! its smoothed ratio is B_simple; a run records the step's two squared norms (the whole batch's
//! is the norm `norms` records) and draws the figure.

use tinytune::data::Rng;
use tinytune::link::url::parse_strict;
use tinytune::model::backend;
use tinytune::train::noise::{NoiseSample, b_simple};
use tinytune::train::train_run;

#[test]
fn the_estimator_recovers_g2_and_the_trace_from_their_expectations() {
    // E|g_B|² = |G|² + tr(Σ)/B.
    let (g2, trace) = (0.7, 35.0);
    for (bs, bb) in [(32u32, 128u32), (1, 2), (8, 512)] {
        let s = NoiseSample {
            small: (g2 + trace / f64::from(bs)) as f32,
            big: (g2 + trace / f64::from(bb)) as f32,
            b_small: bs,
            b_big: bb,
        };
        let (g, t) = s.estimates().unwrap();
        assert!(
            (g - g2).abs() < 1e-5 && (t - trace).abs() < 1e-3,
            "{bs}, {bb}: {g}, {t}"
        );
    }
    let same = NoiseSample {
        small: 1.0,
        big: 1.0,
        b_small: 4,
        b_big: 4,
    };
    assert_eq!(same.estimates(), None, "one batch size estimates nothing");
}

#[test]
fn sampled_batches_give_b_simple_without_bias() {
    // Per-example gradients g_i = G + ε_i in R^20, ε_i ~ N(0, diag(σ²)): tr(Σ) = Σσ², so
    // B_simple = Σσ² / |G|² = 40 / 1 = 40.
    let dim = 20;
    let g: Vec<f64> = (0..dim).map(|i| if i < 4 { 0.5 } else { 0.0 }).collect(); // |G|² = 1
    let sigma2: f64 = 2.0; // tr Σ = 40
    let mut rng = Rng::new(11);
    let (bs, bb) = (16usize, 64usize);
    let mut samples = Vec::new();
    for step in 0..4000 {
        let examples: Vec<Vec<f64>> = (0..bb)
            .map(|_| g.iter().map(|&m| m + sigma2.sqrt() * rng.normal()).collect())
            .collect();
        let norm2 = |k: usize| -> f32 {
            (0..dim)
                .map(|j| (examples[..k].iter().map(|e| e[j]).sum::<f64>() / k as f64).powi(2))
                .sum::<f64>() as f32
        };
        let s = NoiseSample {
            small: norm2(bs),
            big: norm2(bb),
            b_small: bs as u32,
            b_big: bb as u32,
        };
        samples.push((step, 1.0, s));
    }
    let (mut gs, mut ts) = (0.0, 0.0);
    for (_, _, s) in &samples {
        let (g, t) = s.estimates().unwrap();
        gs += g;
        ts += t;
    }
    let n = samples.len() as f64;
    assert!((gs / n - 1.0).abs() < 0.05, "|G|² ≈ 1: {}", gs / n);
    assert!((ts / n - 40.0).abs() < 1.5, "tr Σ ≈ 40: {}", ts / n);
    // The smoothed ratio hovers around 40 (a window of about 20 steps: within 35 % at the end).
    let series = b_simple(samples);
    let last = series.last().unwrap().2;
    assert!((last - 40.0).abs() < 14.0, "B_simple {last}");
    let mean: f64 = series.iter().skip(100).map(|p| p.2).sum::<f64>() / (series.len() - 100) as f64;
    assert!((mean - 40.0).abs() < 6.0, "B_simple over the run {mean}");
}

#[test]
fn a_run_records_both_norms_and_draws_b_simple_against_the_loss() {
    let link = "task=digits&w=32&d=1&bs=64&steps=80&lr=0.003&gns=1&norms=1";
    let c = parse_strict(link).unwrap().experiment;
    let run = pollster::block_on(train_run(&c, &backend::cpu(), 10)).unwrap();
    let mut small_minus_big = 0.0;
    for r in &run.reports {
        let (g, n) = (r.gns.expect("every step"), r.norms.expect("every step"));
        assert_eq!((g.b_small, g.b_big), (16, 64), "the first quarter of the batch");
        // The whole batch's gradient is the one `norms` measures, before clipping.
        assert!(
            (g.big - n.grad * n.grad).abs() <= 1e-4 * g.big,
            "{} vs {}²",
            g.big,
            n.grad
        );
        small_minus_big += f64::from(g.small - g.big);
    }
    // A quarter of the batch carries four times the noise: |g_small|² > |g_big|² on average.
    assert!(small_minus_big > 0.0);
    let series = run.noise_scale();
    assert!(series.len() > 40, "B_simple at most steps: {}", series.len());
    assert!(series.iter().all(|&(_, l, b)| l > 0.0 && b > 0.0));
    // The summary's last column and the figure.
    let csv = tinytune::report::export::to_summary_csv(std::slice::from_ref(&run));
    assert!(csv.lines().next().unwrap().ends_with(",noise_scale"), "{csv}");
    let study = parse_strict(link).unwrap();
    let points = tinytune::page::boundary_points(&study.experiment);
    let runs = [run];
    let figures = tinytune::report::Figures::of(tinytune::report::Results {
        study: &study,
        runs: &runs,
        grid: None,
        points: &points,
        planted_sigma: None,
        before: None,
    });
    assert!(figures.shown(tinytune::report::Chart::NoiseScale));
    let svg =
        tinytune::report::svg(&figures, tinytune::report::Chart::NoiseScale, (900, 540), "gns").unwrap();
    assert!(
        svg.contains("B_simple") && svg.contains("batch (dashed)"),
        "{}",
        &svg[..300]
    );
    // Off, nothing is measured.
    let off = parse_strict("task=digits&w=32&d=1&bs=64&steps=5")
        .unwrap()
        .experiment;
    let run = pollster::block_on(train_run(&off, &backend::cpu(), 10)).unwrap();
    assert!(run.reports.iter().all(|r| r.gns.is_none()));
}
