//! μP in training: μP = SP at the base width, the per-group learning rates and decays reaching
//! the optimizer in both phases of a run, the readout's bias outside MuReadout's multiplier, the
//! coordinate check and width transfer. The tables themselves are checked against the `mup`
//! package's own in `tests/reference.rs`.

use burn::module::Param;
use burn::prelude::*;
use tinytune::knobs::mup::Parameterization;
use tinytune::link::url::{experiment_query, parse_strict};
use tinytune::model::Family;
use tinytune::model::{Mlp, backend};
use tinytune::train::groups::param_rates;
use tinytune::train::metrics::read_reports;
use tinytune::train::{MlpTrainer, StepOutput, train_run};

/// Every layer's weight and bias, in forward order.
fn snapshot(t: &MlpTrainer) -> Vec<(Vec<f32>, Vec<f32>)> {
    let v = |x: Tensor<2>| x.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    t.model()
        .linears()
        .iter()
        .map(|(_, l)| {
            let b = l
                .bias
                .as_ref()
                .map(|b| v(b.val().unsqueeze_dim(0)))
                .unwrap_or_default();
            (v(l.weight.val()), b)
        })
        .collect()
}

/// Takes `n` steps and waits for them.
fn steps(t: &mut MlpTrainer, n: usize) {
    let outs: Vec<StepOutput> = (0..n).filter_map(|_| t.step()).collect();
    pollster::block_on(read_reports(outs, Vec::new())).unwrap();
}

fn max_moved(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn mup_at_the_base_width_is_sp_exactly() {
    for opt in ["adam", "sgd"] {
        let sp = parse_strict(&format!("w=32&d=3&steps=40&opt={opt}&lr=0.01"))
            .unwrap()
            .experiment;
        let mu = parse_strict(&format!("w=32&d=3&steps=40&opt={opt}&lr=0.01&param=mup&bw=32"))
            .unwrap()
            .experiment;
        let a = pollster::block_on(train_run(&sp, &backend::cpu(), 20)).unwrap();
        let b = pollster::block_on(train_run(&mu, &backend::cpu(), 20)).unwrap();
        assert_eq!(a.reports, b.reports, "{opt}: same losses, bit for bit");
    }
    // Away from the base width they differ.
    let sp = parse_strict("w=128&steps=20").unwrap().experiment;
    let mu = parse_strict("w=128&steps=20&param=mup&bw=32").unwrap().experiment;
    let a = pollster::block_on(train_run(&sp, &backend::cpu(), 20)).unwrap();
    let b = pollster::block_on(train_run(&mu, &backend::cpu(), 20)).unwrap();
    assert_ne!(a.reports, b.reports);
}

#[test]
fn zero_readout_starts_at_chance() {
    let cfg = parse_strict("task=blobs&w=64&steps=1&param=mup&bw=16&rzero=1")
        .unwrap()
        .experiment;
    let run = pollster::block_on(train_run(&cfg, &backend::cpu(), 1)).unwrap();
    let first = run.reports[0].train_loss;
    assert!(
        (first - 3f32.ln()).abs() < 1e-6,
        "uniform logits over 3 classes: {first}"
    );
}

#[test]
fn per_group_learning_rates_reach_the_optimizer() {
    // Adam's first update moves each weight by about lr: μP with m = 4 moves hidden weights by
    // lr/4 and input weights by lr.
    let cfg = parse_strict("w=256&d=2&steps=5&lr=0.001&param=mup&bw=64&bs=256")
        .unwrap()
        .experiment;
    let mut t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    let before = snapshot(&t);
    steps(&mut t, 1);
    let after = snapshot(&t);
    let (input, hidden) = (
        max_moved(&before[0].0, &after[0].0),
        max_moved(&before[1].0, &after[1].0),
    );
    assert!((input / 0.001 - 1.0).abs() < 0.05, "input moved {input}");
    assert!((hidden / 0.00025 - 1.0).abs() < 0.05, "hidden moved {hidden}");
}

#[test]
fn the_adaptation_phase_keeps_the_mup_groups() {
    // Full fine-tuning after one pre-training step: the fresh optimizer's first Adam step again
    // moves hidden weights by lr/m (m = 4) and the input layer by lr, as in pre-training.
    for link in [
        "w=256&d=2&steps=1&asteps=3&lr=0.001&param=mup&bw=64&bs=256&r=0",
        "w=256&d=2&steps=1&asteps=3&lr=0.001&param=mup&bw=64&bs=256&r=0&sched=cosine",
    ] {
        let cfg = parse_strict(link).unwrap().experiment;
        let mut t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
        steps(&mut t, 1);
        let before = snapshot(&t);
        steps(&mut t, 1);
        assert!(t.adaptation().is_some());
        let after = snapshot(&t);
        let (input, hidden) = (
            max_moved(&before[0].0, &after[0].0),
            max_moved(&before[1].0, &after[1].0),
        );
        assert!((input / 0.001 - 1.0).abs() < 0.05, "{link}: input moved {input}");
        assert!(
            (hidden / 0.00025 - 1.0).abs() < 0.05,
            "{link}: hidden moved {hidden}"
        );
    }
}

#[test]
fn weight_decay_follows_each_parameters_rule() {
    // One step with and one without decay from the same weights and batch: the optimizer's own
    // update is the same, so their difference is the decay alone, −lr·wd·w for every tensor
    // (AdamW's decoupled decay, and SGD's L2 without momentum alike), with each parameter's lr and
    // wd from the one table. Under μP lr·wd is η·wd for hidden weights at any width (MuAdamW:
    // η/m · wd·m) and for every vector-like parameter under MuSGD (η·m · wd/m); the readout bias
    // keeps η·wd under MuSGD too.
    for opt in ["adam", "sgd"] {
        let link = format!("w=256&d=2&steps=2&lr=0.01&param=mup&bw=64&bs=256&opt={opt}");
        let plain = parse_strict(&link).unwrap().experiment;
        let decayed = parse_strict(&format!("{link}&wd=2")).unwrap().experiment;
        let mut a = MlpTrainer::new(&plain, &backend::cpu()).unwrap();
        let mut b = MlpTrainer::new(&decayed, &backend::cpu()).unwrap();
        let w0 = snapshot(&a);
        steps(&mut a, 1);
        steps(&mut b, 1);
        let (wa, wb) = (snapshot(&a), snapshot(&b));
        let rates = param_rates(&decayed, b.model());
        let shrink = |name: &str| {
            let r = rates.iter().find(|r| r.name == name).unwrap();
            r.lr * r.wd
        };
        for (i, (name, _)) in b.model().linears().iter().enumerate() {
            for (tensor, before, x, y) in [
                ("weight", &w0[i].0, &wa[i].0, &wb[i].0),
                ("bias", &w0[i].1, &wa[i].1, &wb[i].1),
            ] {
                let want = shrink(&format!("{name}.{tensor}"));
                for k in 0..before.len() {
                    // Zero-init biases: nothing to decay on the first step.
                    let expect = f64::from(before[k]) * want;
                    let got = f64::from(x[k] - y[k]);
                    assert!(
                        (got - expect).abs() <= 1e-6 + 1e-3 * expect.abs(),
                        "{opt} {name}.{tensor}[{k}]: decayed by {got}, want lr·wd·w = {expect}"
                    );
                }
            }
        }
        assert_eq!(shrink("hidden.1.weight"), 0.02, "{opt}: η·wd at width 256");
        assert_eq!(shrink("readout.bias"), 0.02);
    }
}

#[test]
fn the_readout_bias_is_added_outside_mureadouts_multiplier() {
    // MuReadout computes Linear(α_out·x/m): with a zero readout weight the logits are the bias,
    // whatever m and α_out are.
    let cfg = parse_strict("task=blobs&w=256&param=mup&bw=64&aout=3&rzero=1")
        .unwrap()
        .experiment;
    let t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    let mut model: Mlp = t.model().clone();
    assert_eq!(model.readout_input_mult, 3.0 / 4.0);
    let device = t.device().clone();
    let bias = Tensor::<1>::from_floats([1.0, -2.0, 0.5], &device);
    model.readout.bias = Some(Param::from_tensor(bias));
    let x = Tensor::<2>::from_floats([[0.3, -0.7], [1.2, 0.4]], &device);
    let y = model
        .forward(x, None)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(y, [1.0, -2.0, 0.5, 1.0, -2.0, 0.5]);
}

#[test]
fn mup_keys_round_trip() {
    let q = "v=1&w=256&param=mup&bw=32&ain=2&aout=0.5&rzero=1";
    let cfg = parse_strict(q).unwrap().experiment;
    assert_eq!(cfg.mup.param, Parameterization::MuP);
    assert_eq!(
        (
            cfg.mup.base_width,
            cfg.mup.alpha_in,
            cfg.mup.alpha_out,
            cfg.mup.readout_zero
        ),
        (32, 2.0, 0.5, true)
    );
    assert_eq!(experiment_query(&cfg), q);
    assert!(
        parse_strict("param=ntk").is_err()
            && parse_strict("bw=0").is_err()
            && parse_strict("aout=0").is_err()
    );
    let d = tinytune::experiment::describe::mup(&cfg).unwrap();
    assert!(
        d.contains("m = 256/32 = 8") && d.contains("hidden 0.00125"),
        "{d}"
    );
    // The planted task's student has no width: no μP groups to list.
    let planted = parse_strict("task=planted&param=mup").unwrap().experiment;
    let d = tinytune::experiment::describe::mup(&planted).unwrap();
    assert!(d.contains("no width") && !d.contains("hidden"), "{d}");
}

/// (steps taken, mean |output| per layer) of one run.
type Coords = Vec<(usize, Vec<f32>)>;

/// Mean |output| of each layer after each of the first 3 Adam steps, per width (μP with the
/// zero-init readout the `mup` package recommends).
fn coord_check(param: &str) -> Vec<(usize, Coords)> {
    [64usize, 128, 256, 512]
        .iter()
        .map(|&w| {
            let cfg = parse_strict(&format!(
                "task=digits&w={w}&d=3&bs=64&steps=3&coord=3&lr=0.01&param={param}&bw=64&seed=3"
            ))
            .unwrap()
            .experiment;
            let run = pollster::block_on(train_run(&cfg, &backend::cpu(), 3)).unwrap();
            let coords = run.coords().into_iter().map(|(s, v)| (s, v.to_vec())).collect();
            (w, coords)
        })
        .collect()
}

#[test]
fn coordinate_check_is_flat_under_mup_and_grows_under_sp() {
    let sp = coord_check("sp");
    let mu = coord_check("mup&rzero=1");
    // Layers: input, hidden.1, hidden.2, readout; steps 1..=3 recorded after each update.
    for checks in [&sp, &mu] {
        for (_, coords) in checks.iter() {
            let steps: Vec<usize> = coords.iter().map(|(s, _)| *s).collect();
            assert_eq!(steps, [1, 2, 3]);
            assert!(
                coords
                    .iter()
                    .all(|(_, v)| v.len() == 4 && v.iter().all(|x| x.is_finite()))
            );
        }
    }
    // Growth from width 64 to 512 of each layer's statistic, summed over the three steps.
    let growth = |checks: &[(usize, Coords)], layer: usize| {
        let at = |i: usize| checks[i].1.iter().map(|(_, v)| v[layer]).sum::<f32>();
        at(checks.len() - 1) / at(0)
    };
    // Measured: SP ×2.5, ×3.7, ×11 for hidden.1, hidden.2, readout; μP ×1.0, ×1.0, ×0.8.
    for (layer, sp_at_least) in [(1, 2.0), (2, 2.5), (3, 5.0)] {
        let (g_sp, g_mu) = (growth(&sp, layer), growth(&mu, layer));
        eprintln!("layer {layer}: SP ×{g_sp:.2}, μP ×{g_mu:.2}");
        assert!(
            (0.6..1.6).contains(&g_mu),
            "μP layer {layer} moved ×{g_mu} from 64 to 512"
        );
        assert!(
            g_sp > sp_at_least,
            "SP layer {layer} grew only ×{g_sp} from 64 to 512"
        );
    }
    // The input layer's fan-in does not grow with width: flat under both.
    assert!((0.6..1.6).contains(&growth(&sp, 0)) && (0.6..1.6).contains(&growth(&mu, 0)));
}

/// log2 of the best learning rate (lowest best validation loss) per (param, width) of a sweep.
fn best_lr_steps(runs: &[tinytune::train::metrics::Run], param: &str, width: &str) -> i32 {
    let knob = |r: &tinytune::train::metrics::Run, key: &str| {
        r.knobs
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let best = runs
        .iter()
        .filter(|r| knob(r, "param") == param && knob(r, "w") == width && !r.diverged)
        .min_by(|a, b| a.best_val_loss().unwrap().total_cmp(&b.best_val_loss().unwrap()))
        .unwrap();
    knob(best, "lr").parse::<f64>().unwrap().log2().round() as i32
}

#[test]
fn mup_keeps_the_best_learning_rate_while_sp_slides() {
    // The e4 preset at widths 64 and 256 on part of its grid (the full figure: README, 75 s).
    let cfg = parse_strict(
        "task=digits&bs=128&steps=40&rzero=1&metric=best&sweep=lr:2^-11..2^-4*2;w:64,256;param:sp,mup",
    )
    .unwrap();
    let points = cfg.sweep.expand(&cfg.experiment).unwrap();
    let runs = pollster::block_on(tinytune::train::train_sweep(
        &points,
        &backend::cpu(),
        40,
        |_, _| {},
    ))
    .unwrap();
    let (sp64, sp256) = (
        best_lr_steps(&runs, "sp", "64"),
        best_lr_steps(&runs, "sp", "256"),
    );
    let (mu64, mu256) = (
        best_lr_steps(&runs, "mup", "64"),
        best_lr_steps(&runs, "mup", "256"),
    );
    eprintln!("best lr: SP 2^{sp64} → 2^{sp256}, μP 2^{mu64} → 2^{mu256}");
    assert!(
        sp64 - sp256 >= 2,
        "SP's optimum slides to smaller rates with width"
    );
    assert!((mu64 - mu256).abs() <= 1, "μP's optimum stays within one ×2 step");
}
