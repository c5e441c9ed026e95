//! Quantization in training: PTQ's quantized loss at the last step, QAT's forward on the
//! quantized grid with gradients passed through, QLoRA's frozen quantized base, the link keys and
//! the model sizes.

use burn::prelude::*;
use tinytune::link::url::{experiment_query, parse, parse_strict};
use tinytune::model::Family;
use tinytune::model::backend;
use tinytune::model::quant::tensor::fake_quant;
use tinytune::report::export::to_summary_csv;
use tinytune::train::metrics::read_reports;
use tinytune::train::{MlpTrainer, train_run};

fn run(q: &str) -> tinytune::train::metrics::Run {
    pollster::block_on(train_run(
        &parse_strict(q).unwrap().experiment,
        &backend::cpu(),
        30,
    ))
    .unwrap()
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

#[test]
fn ptq_reports_the_quantized_models_loss_at_the_last_step() {
    let base = "task=digits&w=64&d=2&bs=128&steps=60&lr=0.003";
    let r8 = run(&format!("{base}&bits=8&qgran=channel"));
    let with_quant: Vec<usize> = r8
        .reports
        .iter()
        .filter(|r| r.quant_val_loss.is_some())
        .map(|r| r.step)
        .collect();
    assert_eq!(with_quant, [59], "measured once, after the last update");
    let (f, q8) = (r8.final_val_loss().unwrap(), r8.quant_val_loss().unwrap());
    assert!((q8 - f).abs() < 0.05 * f, "8 bits ≈ float: {q8} vs {f}");
    let r2 = run(&format!("{base}&bits=2"));
    assert!(
        r2.quant_val_loss().unwrap() > 2.0 * f,
        "2 bits per tensor breaks the model"
    );
    let csv = to_summary_csv(&[r8]);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",quant_val_loss,model_bytes,float_bytes,final_val_acc"),
        "{csv}"
    );
    assert!(!to_summary_csv(&[run("task=xor&steps=5")]).contains("quant_val_loss"));
}

/// QAT is applied by the trainer, for every family: the planted task's linear student too (it was
/// built without it and trained in float).
#[test]
fn qat_rounds_the_planted_students_weights_too() {
    let cfg = parse_strict("task=planted&dim=16&pr=2&steps=3&bits=3&qmode=qat")
        .unwrap()
        .experiment;
    let t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    let x = Tensor::<2>::random(
        [8, 16],
        burn::tensor::Distribution::Default,
        &backend::cpu().autodiff(),
    );
    let qat = values(t.model().forward(x.clone(), None).detach());
    let explicit = values(
        t.model()
            .quantized(&cfg.quant, false)
            .forward(x.clone(), None)
            .detach(),
    );
    let float = values(t.model().clone().with_qat(None).forward(x, None).detach());
    let gap = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
    assert!(gap(&qat, &explicit) < 1e-5, "the forward sees the 3-bit weights");
    assert!(gap(&qat, &float) > 1e-3, "and they are not the float ones");
}

#[test]
fn qat_trains_on_the_quantized_grid_and_beats_ptq_at_two_bits() {
    let cfg = parse_strict("task=digits&w=64&d=2&bs=128&steps=20&lr=0.003&bits=2&qmode=qat")
        .unwrap()
        .experiment;
    let mut t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    for _ in 0..5 {
        let o = t.step().unwrap();
        pollster::block_on(read_reports(vec![o], Vec::new())).unwrap();
    }
    // The forward pass sees quantized weights: the same outputs as an explicitly quantized copy.
    let x = Tensor::<2>::random(
        [16, 64],
        burn::tensor::Distribution::Default,
        &backend::cpu().autodiff(),
    );
    let qat = values(t.model().forward(x.clone(), None).detach());
    let explicit = values(t.model().quantized(&cfg.quant, false).forward(x, None).detach());
    let worst = qat
        .iter()
        .zip(&explicit)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        worst < 1e-4,
        "QAT forward differs from the quantized model by {worst}"
    );
    // E9: at 2 bits, training through the rounding loses far less than rounding afterwards.
    let base = "task=digits&w=128&d=2&bs=128&steps=150&lr=0.003&bits=2";
    let ptq = run(&format!("{base}&qmode=ptq")).quant_val_loss().unwrap();
    let qat = run(&format!("{base}&qmode=qat")).final_val_loss().unwrap();
    assert!(qat < 0.5 * ptq, "QAT {qat} vs PTQ {ptq}");
}

#[test]
fn qlora_trains_adapters_on_a_frozen_quantized_base() {
    let cfg = parse_strict("task=digits&w=64&d=2&bs=128&steps=20&asteps=40&r=4&bits=4&qmode=qlora&lr=0.003")
        .unwrap()
        .experiment;
    let mut t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    let mut reports = Vec::new();
    let mut step = |t: &mut MlpTrainer, n: usize| {
        for _ in 0..n {
            let o = t.step().unwrap();
            reports.extend(pollster::block_on(read_reports(vec![o], Vec::new())).unwrap().0);
        }
    };
    step(&mut t, 21); // pre-training, then the first adaptation step
    assert!(t.adaptation().is_some());
    let bases = |t: &MlpTrainer| -> Vec<Vec<f32>> {
        t.model()
            .linears()
            .iter()
            .map(|(_, l)| values((*l.weight).clone().detach()))
            .collect()
    };
    let before = bases(&t);
    for ((_, l), base) in t.model().linears().iter().zip(&before) {
        assert!(l.weight.adapter().is_some(), "every layer has an adapter");
        let on_grid = values(fake_quant((*l.weight).clone().detach(), &cfg.quant));
        assert_eq!(&on_grid, base, "the base is already on the 4-bit grid");
    }
    step(&mut t, 39);
    assert_eq!(bases(&t), before, "the quantized base stays frozen");
    let vals: Vec<f32> = reports
        .iter()
        .filter(|r| r.step >= 20)
        .filter_map(|r| r.val_loss)
        .collect();
    assert!(
        vals.last().unwrap() < &(0.7 * vals[0]),
        "adapters learn the shifted task: {vals:?}"
    );
}

#[test]
fn post_training_knobs_do_not_change_what_trains() {
    let c = |q: &str| parse_strict(q).unwrap().experiment;
    let base = c("task=digits&bits=4");
    assert!(base.same_training(&c("task=digits&bits=2&qgran=group&qfmt=uint&qout=8")));
    assert!(
        base.same_training(&c("task=digits&backend=cpu")),
        "float and view keys too"
    );
    assert!(
        !base.same_training(&c("task=digits&bits=4&qmode=qat")),
        "QAT trains differently"
    );
    assert!(!base.same_training(&c("task=digits&bits=4&lr=0.003")));
}

#[test]
fn quantization_keys_round_trip_and_bad_values_are_refused() {
    let q = "v=1&task=digits&bits=4&qfmt=nf4&qgran=group&qgs=16&qmode=qat&qclip=mse";
    let cfg = parse_strict(q).unwrap().experiment;
    assert_eq!(experiment_query(&cfg), q);
    for (bad, key) in [
        ("bits=9", "bits"),
        ("bits=1", "bits"),
        ("bits=8&qfmt=nf4", "bits"),
        ("bits=4&qfmt=e4m3", "bits"),
        ("bits=4&qmode=qlora", "qmode"),
        ("qgs=0", "qgs"),
        ("qfmt=fp3", "qfmt"),
    ] {
        let issues = parse_strict(bad).unwrap_err();
        assert!(issues.iter().any(|i| i.key == key), "{bad}: {issues:?}");
        assert!(
            tinytune::experiment::validate(&parse(bad).study.experiment).is_ok(),
            "{bad}: the page falls back to a valid config"
        );
    }
    // Sizes: 4-bit codes, an fp16 scale per output channel, f32 biases.
    let c = parse_strict("task=digits&w=64&d=2&bits=4&qgran=channel")
        .unwrap()
        .experiment;
    let dims = [(64usize, 64usize), (64, 64), (64, 10)];
    let expected: usize = dims.iter().map(|&(i, o)| i * o / 2 + 2 * o + 4 * o).sum();
    assert_eq!(c.model_bytes(), expected);
    assert_eq!(
        c.float_bytes(),
        4 * dims.iter().map(|&(i, o)| i * o + o).sum::<usize>()
    );
}

#[test]
fn an_outlier_channel_keeps_the_float_model_but_breaks_per_tensor_scales() {
    let cfg = parse_strict("task=digits&w=64&d=2&steps=1").unwrap().experiment;
    let t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    let x = Tensor::<2>::random(
        [32, 64],
        burn::tensor::Distribution::Default,
        &backend::cpu().autodiff(),
    );
    let plain = values(t.model().forward(x.clone(), None).detach());
    let outlier = values(t.model().with_outlier(16.0).forward(x, None).detach());
    let worst = plain
        .iter()
        .zip(&outlier)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        worst < 1e-4,
        "the float function is unchanged (differs by {worst})"
    );
    // Measured: 4-bit per tensor 0.177 → 1.66 with a 16× channel; per channel 0.176 → 0.190.
    let base = "task=digits&w=64&d=2&bs=128&steps=200&lr=0.003&bits=4";
    let loss = |extra: &str| run(&format!("{base}&{extra}")).quant_val_loss().unwrap();
    let (tensor, tensor_out) = (loss("qgran=tensor"), loss("qgran=tensor&qout=16"));
    let channel_out = loss("qgran=channel&qout=16");
    assert!(tensor_out > 3.0 * tensor, "per tensor: {tensor} → {tensor_out}");
    assert!(
        channel_out < 1.5 * tensor,
        "per channel shrugs it off: {channel_out}"
    );
    assert!(parse_strict("act=tanh&qout=8").is_err() && parse_strict("res=1&qout=8").is_err());
}

#[test]
fn burns_native_quantization_gives_the_reference_model_and_its_real_size() {
    use tinytune::model::quant::native;
    let cfg = parse_strict("task=digits&w=64&d=2&bs=128&steps=40&lr=0.003&bits=4&qgran=group&qgs=16")
        .unwrap()
        .experiment;
    assert!(native::covers(&cfg) && line(&cfg, true).contains("Burn's native Q4S"));
    assert!(line(&cfg, false).contains("; fake quantization"), "not on WebGPU");
    // The same weights through Burn's Q4S and through the reference rounding.
    let t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    let x = Tensor::<2>::random(
        [32, 64],
        burn::tensor::Distribution::Default,
        &backend::cpu().autodiff(),
    );
    let a = values(
        t.model()
            .quantized(&cfg.quant, true)
            .forward(x.clone(), None)
            .detach(),
    );
    let b = values(t.model().quantized(&cfg.quant, false).forward(x, None).detach());
    let worst = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-4, "native and reference differ by {worst}");
    // Burn's CPU backend keeps one i8 per value and an f32 scale per block; biases stay f32.
    let r = run("task=digits&w=64&d=2&bs=128&steps=40&lr=0.003&bits=4&qgran=group&qgs=16");
    let dims = [(64usize, 64usize), (64, 64), (64, 10)];
    let expected: usize = dims.iter().map(|&(i, o)| i * o + 4 * (i / 16) * o + 4 * o).sum();
    assert_eq!(r.packed_bytes, Some(expected));
    // What Burn does not cover runs on the reference rounding, and says so.
    for q in [
        "bits=3",
        "bits=4&qfmt=nf4",
        "bits=4&qclip=mse",
        "bits=4&qgran=group&qgs=24",
        "bits=4&qmode=qat",
    ] {
        let c = parse_strict(&format!("task=digits&w=64&{q}")).unwrap().experiment;
        assert!(line(&c, true).contains("; fake quantization"), "{q}");
    }
}

/// The quantization figure is computed once, where the run trained (the training worker on the
/// page: it rounds the whole model 22 times), from the weights read back at the end; the weights
/// themselves stay there (they are not part of the message to the page), the figure travels.
#[test]
fn the_weights_figure_is_computed_where_the_run_trained() {
    let cfg = parse_strict("task=digits&w=32&d=2&steps=5&bits=4&qgran=channel")
        .unwrap()
        .experiment;
    let mut job = tinytune::train::Job::new(&cfg, &backend::cpu()).unwrap();
    while job.step().is_some() {}
    let analysis = pollster::block_on(tinytune::train::read_analysis(&mut job, false)).unwrap();
    let names: Vec<&str> = analysis.weights.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["input", "hidden.1", "readout"],
        "every layer's weights are read back"
    );
    let want = tinytune::model::quant::weights::figure(&analysis.weights, &cfg.quant).unwrap();
    assert_eq!(analysis.weights_figure.as_ref(), Some(&want));
    assert_eq!((want.layer.as_str(), want.count), ("hidden.1", 32 * 32));
    let sent = serde_json::to_string(&analysis).unwrap();
    assert!(!sent.contains("\"weights\""), "the weights stay in the worker");
    let back: tinytune::train::Analysis = serde_json::from_str(&sent).unwrap();
    let got = back.weights_figure.expect("the figure survives the message");
    assert!(back.weights.is_empty());
    assert_eq!(
        (&got.layer, got.count, &got.histogram),
        (&want.layer, want.count, &want.histogram)
    );
    for (a, b) in got.curves.iter().zip(&want.curves) {
        for (p, q) in a.points.iter().zip(&b.points) {
            assert!(p.0 == q.0 && (p.1 - q.1).abs() <= 1e-15 * q.1, "{p:?} vs {q:?}");
        }
    }
    // train_run (the CLI) ends with the same figure on its run.
    let r = run("task=digits&w=32&d=2&steps=5&bits=4&qgran=channel");
    let theirs = r.weights_figure().expect("the CLI's run has its figure");
    assert_eq!((theirs.layer.as_str(), theirs.count), ("hidden.1", 32 * 32));
    assert_eq!(theirs.histogram.counts, want.histogram.counts);
    assert!(run("task=digits&w=32&d=2&steps=5").weights_figure().is_none());
}

/// The quantization line as the page (`native_device` = the CPU backend) would show it.
fn line(cfg: &tinytune::knobs::ExperimentConfig, native_device: bool) -> String {
    tinytune::experiment::describe::quant(cfg, tinytune::model::quant::native::used(cfg, native_device))
        .unwrap_or_default()
}
