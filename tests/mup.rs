//! μP's tables (init std, learning-rate factor, forward multiplier per layer role) at several
//! widths, μP = SP at the base width, and the per-group learning rates reaching the optimizer.

use tinytune::backend;
use tinytune::config::OptimizerKind;
use tinytune::metrics::read_reports;
use tinytune::mup::{MupConfig, Parameterization, Role};
use tinytune::train::{StepOutput, Trainer, train_run};
use tinytune::url::{parse_strict, to_query};

fn mup(base: usize) -> MupConfig {
    MupConfig {
        param: Parameterization::MuP,
        base_width: base,
        ..MupConfig::default()
    }
}

#[test]
fn mup_tables_at_several_widths() {
    let sp = MupConfig::default();
    for w in [64usize, 128, 256, 512] {
        let m = w as f64 / 64.0;
        let p = mup(64);
        assert_eq!(p.width_mult(w), m);
        // Init: fan-in for every weight in both; biases zero.
        for role in [Role::Input, Role::Hidden, Role::Readout] {
            assert_eq!(p.init_std(role, w), 1.0 / (w as f64).sqrt());
            assert_eq!(sp.init_std(role, w), p.init_std(role, w));
        }
        assert_eq!(p.init_std(Role::Bias, w), 0.0);
        let zero = MupConfig {
            readout_zero: true,
            ..mup(64)
        };
        assert_eq!(zero.init_std(Role::Readout, w), 0.0);
        // Adam: hidden weights η/m, the rest η.
        let adam = |role| p.lr_mult(role, OptimizerKind::Adam, w);
        assert_eq!(
            (
                adam(Role::Input),
                adam(Role::Hidden),
                adam(Role::Readout),
                adam(Role::Bias)
            ),
            (1.0, 1.0 / m, 1.0, 1.0)
        );
        // SGD: vector-like parameters η·m, hidden η.
        let sgd = |role| p.lr_mult(role, OptimizerKind::Sgd, w);
        assert_eq!(
            (
                sgd(Role::Input),
                sgd(Role::Hidden),
                sgd(Role::Readout),
                sgd(Role::Bias)
            ),
            (m, 1.0, m, m)
        );
        // Forward: α_in on the input layer, α_out/m on the readout.
        let alphas = MupConfig {
            alpha_in: 2.0,
            alpha_out: 3.0,
            ..mup(64)
        };
        assert_eq!(alphas.forward_mult(Role::Input, w), 2.0);
        assert_eq!(alphas.forward_mult(Role::Readout, w), 3.0 / m);
        assert_eq!(alphas.forward_mult(Role::Hidden, w), 1.0);
        // SP: no factors at all.
        for role in [Role::Input, Role::Hidden, Role::Readout, Role::Bias] {
            assert_eq!(sp.lr_mult(role, OptimizerKind::Adam, w), 1.0);
            assert_eq!(sp.forward_mult(role, w), 1.0);
        }
    }
}

#[test]
fn mup_at_the_base_width_is_sp_exactly() {
    for opt in ["adam", "sgd"] {
        let sp = parse_strict(&format!("w=32&d=3&steps=40&opt={opt}&lr=0.01")).unwrap();
        let mu = parse_strict(&format!("w=32&d=3&steps=40&opt={opt}&lr=0.01&param=mup&bw=32")).unwrap();
        let a = pollster::block_on(train_run(&sp, &backend::cpu(), 20)).unwrap();
        let b = pollster::block_on(train_run(&mu, &backend::cpu(), 20)).unwrap();
        assert_eq!(a.reports, b.reports, "{opt}: same losses, bit for bit");
    }
    // Away from the base width they differ.
    let sp = parse_strict("w=128&steps=20").unwrap();
    let mu = parse_strict("w=128&steps=20&param=mup&bw=32").unwrap();
    let a = pollster::block_on(train_run(&sp, &backend::cpu(), 20)).unwrap();
    let b = pollster::block_on(train_run(&mu, &backend::cpu(), 20)).unwrap();
    assert_ne!(a.reports, b.reports);
}

#[test]
fn zero_readout_starts_at_chance() {
    let cfg = parse_strict("task=blobs&w=64&steps=1&param=mup&bw=16&rzero=1").unwrap();
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
    let cfg = parse_strict("w=256&d=2&steps=5&lr=0.001&param=mup&bw=64&bs=256").unwrap();
    let mut t = Trainer::new(&cfg, &backend::cpu()).unwrap();
    let snap = |t: &Trainer| -> Vec<Vec<f32>> {
        t.model()
            .layers()
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
    };
    let before = snap(&t);
    let outs: Vec<StepOutput> = t.step().into_iter().collect();
    pollster::block_on(read_reports(outs, Vec::new())).unwrap();
    let after = snap(&t);
    let moved = |i: usize| {
        before[i]
            .iter()
            .zip(&after[i])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    };
    let (input, hidden) = (moved(0), moved(1));
    assert!((input / 0.001 - 1.0).abs() < 0.05, "input moved {input}");
    assert!((hidden / 0.00025 - 1.0).abs() < 0.05, "hidden moved {hidden}");
}

#[test]
fn mup_keys_round_trip() {
    let q = "v=1&w=256&param=mup&bw=32&ain=2&aout=0.5&rzero=1";
    let cfg = parse_strict(q).unwrap();
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
    assert_eq!(to_query(&cfg), q);
    assert!(
        parse_strict("param=ntk").is_err()
            && parse_strict("bw=0").is_err()
            && parse_strict("aout=0").is_err()
    );
    let d = tinytune::mup::describe(&cfg).unwrap();
    assert!(
        d.contains("m = 256/32 = 8") && d.contains("hidden 0.00125"),
        "{d}"
    );
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
            .unwrap();
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
fn best_lr_steps(runs: &[tinytune::metrics::Run], param: &str, width: &str) -> i32 {
    let knob = |r: &tinytune::metrics::Run, key: &str| {
        r.knobs
            .iter()
            .find(|(k, _)| *k == key)
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
    let points = cfg.sweep.expand(&cfg).unwrap();
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
