//! Learning-rate schedules, weight decay and the residual option: the pure schedule factors, the
//! rates each parameter group gets, decay shrinking weights, and 1/√L keeping a deep residual
//! stream in scale.

use burn::optim::lr_scheduler::LrScheduler;
use burn::prelude::*;
use tinytune::data::{Rng, streams};
use tinytune::knobs::arch::Residual;
use tinytune::knobs::schedule::{Schedule, factor};
use tinytune::link::url::{experiment_query, parse, parse_strict};
use tinytune::model::Family;
use tinytune::model::{Mlp, backend};
use tinytune::train::metrics::read_reports;
use tinytune::train::schedule::Scheduled;
use tinytune::train::{MlpTrainer, StepOutput, train_run};

#[test]
fn schedule_factors() {
    for t in 0..50 {
        assert_eq!(factor(Schedule::Const, 0, 50, t), 1.0);
    }
    // Warm-up: (t + 1)/warm, so the first step already moves, then the peak.
    let w = |t| factor(Schedule::Warmup, 10, 100, t);
    assert_eq!((w(0), w(4), w(9), w(10), w(99)), (0.1, 0.5, 1.0, 1.0, 1.0));
    // Cosine after warm-up: the peak, half at the middle, above 0 but near it at the last step.
    let c = |t| factor(Schedule::Cosine, 10, 110, t);
    assert_eq!(c(10), 1.0);
    assert!((c(60) - 0.5).abs() < 1e-12);
    assert!(c(109) > 0.0 && c(109) < 1e-3, "{}", c(109));
    assert!((10..109).all(|t| c(t + 1) < c(t)), "cosine decays monotonically");
    assert!((0..9).all(|t| c(t + 1) > c(t)), "warm-up rises monotonically");
    // Cosine without warm-up starts at the peak.
    assert_eq!(factor(Schedule::Cosine, 0, 100, 0), 1.0);
    // A LoRA run's adaptation phase starts its schedule over.
    let cfg = parse_strict("task=xor&steps=100&asteps=50&r=2&sched=cosine&warm=10")
        .unwrap()
        .experiment;
    let at = |t| tinytune::experiment::rates::lr_factor_at(&cfg, t);
    assert_eq!((at(0), at(10), at(100), at(110)), (0.1, 1.0, 0.1, 1.0));
    assert!((at(130) - factor(Schedule::Cosine, 10, 50, 30)).abs() < 1e-15);
}

#[test]
fn a_group_scheduler_steps_through_peak_times_factor() {
    let mut s = Scheduled::new(0.3, Schedule::Cosine, 5, 40);
    for t in 0..40 {
        let expected = 0.3 * factor(Schedule::Cosine, 5, 40, t);
        assert!((s.step() - expected).abs() < 1e-15, "step {t}");
    }
    // Its record carries the position, so a restored scheduler continues where it was.
    let mut fresh = Scheduled::new(0.3, Schedule::Cosine, 5, 40);
    let mut s = Scheduled::new(0.3, Schedule::Cosine, 5, 40);
    (0..7).for_each(|_| {
        s.step();
    });
    fresh.load_record(s.to_record());
    assert_eq!(fresh.step(), s.step());
}

fn weights(t: &MlpTrainer) -> Vec<Vec<f32>> {
    t.model()
        .linears()
        .iter()
        .map(|(_, l)| {
            l.weight
                .val()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap()
        })
        .collect()
}

fn largest_move(before: &[f32], after: &[f32]) -> f32 {
    before
        .iter()
        .zip(after)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

#[test]
fn warm_up_scales_every_groups_first_step() {
    // Adam's first update moves a weight by about its learning rate: with warm = 4 the first step
    // runs at a quarter of the peak, and μP's hidden group (m = 4) at a quarter of that.
    let cfg = parse_strict("w=256&d=2&steps=8&lr=0.001&bs=256&sched=warmup&warm=4&param=mup&bw=64")
        .unwrap()
        .experiment;
    let mut t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    let before = weights(&t);
    let outs: Vec<StepOutput> = t.step().into_iter().collect();
    pollster::block_on(read_reports(outs, Vec::new())).unwrap();
    let after = weights(&t);
    let (input, hidden) = (
        largest_move(&before[0], &after[0]),
        largest_move(&before[1], &after[1]),
    );
    assert!((input / 0.00025 - 1.0).abs() < 0.05, "input moved {input}");
    assert!((hidden / 0.0000625 - 1.0).abs() < 0.05, "hidden moved {hidden}");
}

fn weight_norm(cfg: &str) -> f32 {
    let cfg = parse_strict(cfg).unwrap().experiment;
    let mut t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    while let Some(o) = t.step() {
        pollster::block_on(read_reports(vec![o], Vec::new())).unwrap();
    }
    weights(&t).iter().flatten().map(|w| w * w).sum()
}

#[test]
fn weight_decay_shrinks_the_weights() {
    for opt in ["adam&lr=0.01", "sgd&lr=0.1"] {
        let plain = weight_norm(&format!("task=xor&w=32&d=2&steps=60&opt={opt}"));
        let decayed = weight_norm(&format!("task=xor&w=32&d=2&steps=60&opt={opt}&wd=0.5"));
        assert!(
            decayed < 0.9 * plain,
            "{opt}: |W|² {decayed} with decay vs {plain} without"
        );
    }
}

#[test]
fn schedule_runs_train_and_keys_round_trip() {
    let q = "v=1&task=xor&d=4&res=isqrt&steps=200&sched=cosine&warm=20&wd=0.01";
    let cfg = parse_strict(q).unwrap().experiment;
    assert_eq!(experiment_query(&cfg), q);
    assert_eq!((cfg.sched, cfg.warm, cfg.wd), (Schedule::Cosine, 20, 0.01));
    assert_eq!(cfg.residual, Residual::InvSqrtDepth);
    let run = pollster::block_on(train_run(&cfg, &backend::cpu(), 50)).unwrap();
    let first = run.reports[0].train_loss;
    let last = run.final_val_loss().unwrap();
    assert!(!run.diverged && last < 0.5 * first, "{first} → {last}");
    let d = tinytune::experiment::describe::schedule(&cfg).unwrap();
    assert!(d.contains("warm-up over 20 steps") && d.contains("AdamW"), "{d}");
    // Each bad value is refused with its key, and the page falls back to a default.
    for (bad, key) in [
        ("sched=linear", "sched"),
        ("warm=5", "warm"),
        ("sched=warmup", "warm"),
        ("sched=cosine&warm=900", "warm"),
        ("wd=-1", "wd"),
        ("res=2", "res"),
        ("coord=50", "coord"),
    ] {
        let issues = parse_strict(bad).unwrap_err();
        assert!(issues.iter().any(|i| i.key == key), "{bad}: {issues:?}");
    }
    assert_eq!(parse("sched=linear").study.experiment.sched, Schedule::Const);
    // What the page falls back to always trains, even when two keys conflict.
    for bad in [
        "sched=warmup",
        "sched=cosine&warm=900",
        "warm=5",
        "sched=warmup&warm=0&steps=3",
    ] {
        assert!(
            tinytune::experiment::validate(&parse(bad).study.experiment).is_ok(),
            "{bad}"
        );
    }
}

/// Mean |readout output| of a fresh residual model with `blocks` blocks on random inputs.
fn stream_scale(res: &str, blocks: usize) -> f32 {
    let cfg = parse_strict(&format!("task=digits&w=128&d={blocks}&res={res}"))
        .unwrap()
        .experiment;
    assert_eq!(cfg.hidden_layers(), blocks);
    let device = backend::cpu();
    let mut rng = Rng::stream(1, streams::INIT);
    let model = Mlp::new(&cfg, 64, 10, &mut rng, &device);
    assert_eq!(model.num_params(), cfg.parameter_estimate());
    let x = Tensor::<2>::random([256, 64], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let mut trace = tinytune::model::Trace::with_coords();
    model.forward(x, Some(&mut trace));
    let last = trace.outputs.pop().expect("the readout's output");
    last.into_scalar::<f32>() // sync-ok: a native test on the CPU
}

#[test]
fn inverse_sqrt_depth_branches_keep_the_residual_stream_in_scale() {
    let (one_2, one_32) = (stream_scale("1", 2), stream_scale("1", 32));
    let (sq_2, sq_32) = (stream_scale("isqrt", 2), stream_scale("isqrt", 32));
    eprintln!("β=1: {one_2} → {one_32}; β=1/√L: {sq_2} → {sq_32}");
    assert!(one_32 / one_2 > 10.0, "branch ×1 blows the stream up with depth");
    assert!(sq_32 / sq_2 < 3.0, "branch ×1/√L keeps it in scale");
}
