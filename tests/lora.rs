//! LoRA invariants (docs/ARCHITECTURE.md §7) on the CPU backend: attaching changes nothing, only what should
//! train trains, merging is exact, the scale and the parameter count are what peft users expect,
//! and on the planted task the rank staircase lands on the Eckart–Young floor.

use burn::module::Module;
use burn::prelude::*;
use tinytune::knobs::ExperimentConfig;
use tinytune::knobs::lora;
use tinytune::knobs::lora::{Factors, ScaleRule};
use tinytune::link::url::parse_strict;
use tinytune::model::Family;
use tinytune::model::backend;
use tinytune::train::metrics::read_reports;
use tinytune::train::{MlpTrainer, StepOutput, train_run};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn trainer(query: &str) -> MlpTrainer {
    MlpTrainer::new(&parse_strict(query).unwrap().experiment, &backend::cpu()).unwrap()
}

fn steps(t: &mut MlpTrainer, n: usize) {
    let outs: Vec<StepOutput> = (0..n).map_while(|_| t.step()).collect();
    pollster::block_on(read_reports(outs, Vec::new())).unwrap();
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Every parameter of the model, flattened, in visiting order.
fn all_params(t: &MlpTrainer) -> Vec<Vec<f32>> {
    let m = t.model();
    let mut out = Vec::new();
    for (_, l) in m.linears() {
        out.push(values(l.weight.val()));
        if let Some(b) = &l.bias {
            out.push(values(b.val()));
        }
    }
    out
}

#[test]
fn attaching_adapters_leaves_the_output_unchanged() {
    let cfg = parse_strict("task=spiral&w=32&d=3&steps=5&r=4&asteps=5")
        .unwrap()
        .experiment;
    let device = backend::cpu().autodiff();
    let mut rng = tinytune::data::Rng::new(1);
    let base = tinytune::model::Mlp::new(&cfg, 2, 2, &mut rng, &device);
    let x = Tensor::<2>::from_data(
        TensorData::new(
            (0..40).map(|i| i as f32 / 20.0 - 1.0).collect::<Vec<_>>(),
            [20, 2],
        ),
        &device,
    );
    let before = values(base.forward(x.clone(), None));
    let adapted = tinytune::model::lora::attach(base, &cfg.lora, 1);
    assert_eq!(adapted.layers.len(), 4);
    assert_eq!(
        values(adapted.model.forward(x, None)),
        before,
        "B = 0 at attach time"
    );

    // `target` picks layers by position: only those get adapters.
    let mut rng = tinytune::data::Rng::new(1);
    let base = tinytune::model::Mlp::new(&cfg, 2, 2, &mut rng, &device);
    // Rank 2: both picked layers (2→32, 32→2) have full rank 2, and a higher rank is lowered.
    let picked = parse_strict("w=32&d=3&r=2&target=0,3").unwrap().experiment;
    let adapted = tinytune::model::lora::attach(base, &picked.lora, 1);
    let names: Vec<&str> = adapted.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["input", "readout"]);
    let has: Vec<bool> = adapted
        .model
        .linears()
        .iter()
        .map(|(_, l)| l.weight.adapter().is_some())
        .collect();
    assert_eq!(has, [true, false, false, true]);
    assert_eq!(adapted.trainable, picked.trainable_params());

    // …or by name, as peft's `target_modules`: a layer's name or its role.
    for (target, want) in [
        ("hidden", vec!["hidden.1", "hidden.2"]),
        ("readout,hidden.1", vec!["hidden.1", "readout"]),
        ("0,readout", vec!["input", "readout"]),
    ] {
        let mut rng = tinytune::data::Rng::new(1);
        let base = tinytune::model::Mlp::new(&cfg, 2, 2, &mut rng, &device);
        let by_name = parse_strict(&format!("w=32&d=3&r=2&target={target}"))
            .unwrap_or_else(|e| panic!("{target}: {e:?}"))
            .experiment;
        let adapted = tinytune::model::lora::attach(base, &by_name.lora, 1);
        let names: Vec<&str> = adapted.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, want, "target={target}");
        assert_eq!(adapted.trainable, by_name.trainable_params(), "target={target}");
    }
    // Links keep one spelling, and a name no layer has is refused with the layer names.
    assert_eq!(
        tinytune::link::url::experiment_query(
            &parse_strict("r=4&target=readout,1,HIDDEN").unwrap().experiment
        ),
        "v=1&r=4&target=1%2Chidden%2Creadout"
    );
    let issues = parse_strict("r=4&target=attn").unwrap_err();
    assert!(
        issues[0].message.contains(
            "no layer is called 'attn': this model's layers are input, hidden.1, hidden.2, readout"
        ),
        "{issues:?}"
    );
}

#[test]
fn only_adapters_train_and_merging_is_exact() {
    let mut t = trainer("task=planted&dim=16&pr=2&r=2&n=256&steps=20&lr=0.01");
    let readout = |t: &MlpTrainer| {
        let w = &t.model().readout.weight;
        let ad = w.adapter().expect("the readout is adapted");
        (values(w.base()), values(ad.a.val()), values(ad.b.val()))
    };
    let (w0, a0, b0) = readout(&t);
    assert!(b0.iter().all(|&v| v == 0.0));
    steps(&mut t, 5);
    let (w1, a1, b1) = readout(&t);
    assert_eq!(w0, w1, "the base weight is frozen");
    assert!(max_abs_diff(&a0, &a1) > 0.0, "A trains");
    assert!(max_abs_diff(&b0, &b1) > 0.0, "B trains");

    // Merged (materialized) and unmerged models compute the same function.
    let device = backend::cpu().autodiff();
    let x = Tensor::<2>::from_data(
        TensorData::new(
            (0..16 * 8)
                .map(|i| ((i * 7) % 13) as f32 / 6.0 - 1.0)
                .collect::<Vec<_>>(),
            [8, 16],
        ),
        &device,
    );
    let model = t.model().clone();
    let unmerged = values(model.forward(x.clone(), None));
    let merged_model = model.materialize();
    assert!(merged_model.readout.weight.adapter().is_none());
    let merged = values(merged_model.forward(x, None));
    assert!(max_abs_diff(&unmerged, &merged) < 1e-5);
}

#[test]
fn rank_zero_is_full_fine_tuning() {
    // Pre-train 3 steps, then fine-tune everything on the rotated task.
    let mut t = trainer("task=xor&w=16&d=2&steps=3&r=0&asteps=5&lr=0.01");
    steps(&mut t, 3);
    let before = all_params(&t);
    steps(&mut t, 5);
    let a = t.adaptation().expect("adaptation began");
    assert_eq!(a.rank, None);
    assert_eq!(t.trainable_count(), t.parameter_count());
    for (i, (p, q)) in before.iter().zip(all_params(&t)).enumerate() {
        assert!(max_abs_diff(p, &q) > 0.0, "parameter {i} did not change");
    }
}

#[test]
fn scale_rules_and_trainable_counts() {
    assert_eq!(lora::gamma(8.0, 4, ScaleRule::Standard), 2.0);
    assert_eq!(lora::gamma(8.0, 4, ScaleRule::RankStabilized), 4.0);
    // 2 → 16 → 16 → 16 → 2: r·(in + out) per layer.
    let mut t = trainer("task=moons&w=16&d=3&steps=1&r=4&asteps=1&scale=rs&alpha=6");
    steps(&mut t, 1);
    assert!(t.adaptation().is_none(), "still pre-training");
    steps(&mut t, 1);
    let a = t.adaptation().unwrap();
    let want = 4 * ((2 + 16) + (16 + 16) + (16 + 16) + (16 + 2));
    assert_eq!(a.trainable, want);
    assert_eq!(t.config().trainable_params(), want);
    assert!(a.layers.iter().all(|l| l.gamma == 3.0), "α/√r = 6/2");
    assert_eq!(a.base_params, t.config().parameter_estimate());
    // Targets pick layers; factor modes count one factor.
    let cfg = parse_strict("w=16&d=3&r=2&target=0,3&train=b")
        .unwrap()
        .experiment;
    assert_eq!(cfg.trainable_params(), 2 * 16 + 2 * 2);
}

#[test]
fn factor_modes_freeze_what_they_say() {
    for (mode, a_trains, b_trains) in [("b", false, true), ("a", true, false)] {
        let mut t = trainer(&format!("task=planted&dim=12&pr=2&r=3&train={mode}&steps=10"));
        let ab = |t: &MlpTrainer| {
            let ad = t.model().readout.weight.adapter().unwrap();
            (values(ad.a.val()), values(ad.b.val()))
        };
        let (a0, b0) = ab(&t);
        match t.config().lora.train {
            Factors::AOnly => assert!(a0.iter().all(|&v| v == 0.0) && b0.iter().any(|&v| v != 0.0)),
            _ => assert!(b0.iter().all(|&v| v == 0.0) && a0.iter().any(|&v| v != 0.0)),
        }
        steps(&mut t, 4);
        let (a1, b1) = ab(&t);
        assert_eq!(max_abs_diff(&a0, &a1) > 0.0, a_trains, "train={mode}: A");
        assert_eq!(max_abs_diff(&b0, &b1) > 0.0, b_trains, "train={mode}: B");
    }
}

#[test]
fn lora_plus_scales_the_learning_rate_of_b() {
    // First step: A's gradient is zero (B = 0), and Adam's first update has size ≈ lr per entry,
    // so B moves λ times as far with LoRA+.
    let first_b_step = |lplus: &str| {
        let mut t = trainer(&format!(
            "task=planted&dim=12&pr=2&r=3&lr=0.001&lplus={lplus}&steps=5"
        ));
        steps(&mut t, 1);
        let b = values(t.model().readout.weight.adapter().unwrap().b.val());
        b.iter().fold(0.0f32, |m, v| m.max(v.abs()))
    };
    let ratio = first_b_step("8") / first_b_step("1");
    assert!((ratio - 8.0).abs() < 0.05, "ratio {ratio}");
}

#[test]
fn same_link_same_adapters() {
    let a = trainer("task=planted&dim=12&r=3&steps=5");
    let b = trainer("task=planted&dim=12&r=3&steps=5");
    let f = |t: &MlpTrainer| values(t.model().readout.weight.adapter().unwrap().a.val());
    assert_eq!(f(&a), f(&b));
}

/// E1 in seconds: r ≥ r* reaches the noise floor (as full fine-tuning does), r < r* plateaus
/// within 10 % of the Eckart–Young value.
#[test]
fn rank_staircase_reaches_the_eckart_young_floor() {
    let base = "task=planted&dim=32&pr=4&noise=0.1&n=2048&bs=256&steps=600&lr=0.01&alpha=1&scale=rs";
    for r in [1usize, 2, 3, 4, 8, 0] {
        let cfg: ExperimentConfig = parse_strict(&format!("{base}&r={r}")).unwrap().experiment;
        let floor = tinytune::data::planted::loss_floor(&cfg).unwrap();
        let run = pollster::block_on(train_run(&cfg, &backend::cpu(), 100)).unwrap();
        let last = run.final_val_loss().unwrap() as f64;
        let noise = 0.01;
        if r == 0 || r >= 4 {
            assert!((floor - noise).abs() < 1e-12);
            assert!(
                last < 1.25 * noise,
                "r={r}: {last} should reach the noise floor {noise}"
            );
        } else {
            assert!(
                (last - floor).abs() < 0.1 * floor,
                "r={r}: {last} vs floor {floor}"
            );
        }
    }
}

/// Every gallery link is a valid experiment within the sweep caps, and names its claim.
#[test]
fn presets_are_valid_links() {
    for p in tinytune::link::presets::PRESETS {
        let study = parse_strict(p.query).unwrap_or_else(|e| panic!("{}: {e:?}", p.id));
        study
            .sweep
            .expand(&study.experiment)
            .unwrap_or_else(|e| panic!("{}: {e}", p.id));
        assert!(!p.claim.is_empty() && !p.expect.is_empty());
        assert_eq!(tinytune::link::presets::find(p.id), Some(p));
    }
}

#[test]
fn target_names_select_as_peft_target_modules_does() {
    use tinytune::knobs::lora::{Selector, Target};
    let names = |q: &str| parse_strict(q).unwrap().experiment.layer_names();
    let gpt = names("task=copy&d=2&r=2");
    let mlp = names("task=spiral&d=3&r=2");
    for layers in [&gpt, &mlp] {
        // Every layer's full name and each of its `.`-suffixes (peft's rule) select exactly the
        // layers peft selects: the module rule never adds one.
        for name in layers.iter() {
            let parts: Vec<&str> = name.split('.').collect();
            for k in 0..parts.len() {
                let n = parts[k..].join(".");
                let ours: Vec<&String> = layers
                    .iter()
                    .enumerate()
                    .filter(|(i, l)| Selector::Name(n.clone()).matches(*i, l))
                    .map(|(_, l)| l)
                    .collect();
                let peft: Vec<&String> = layers.iter().filter(|l| Selector::peft(&n, l)).collect();
                assert_eq!(ours, peft, "{n}");
            }
        }
    }
    let picked = |t: &str, layers: &[String]| -> Vec<String> {
        let t = Target::parse(t).unwrap();
        layers
            .iter()
            .enumerate()
            .filter(|(i, l)| t.includes(*i, l))
            .map(|(_, l)| l.clone())
            .collect()
    };
    assert_eq!(picked("q", &gpt), ["block.0.attn.q", "block.1.attn.q"]);
    assert_eq!(picked("1.attn.q", &gpt), ["block.1.attn.q"]);
    assert!(picked("attn.", &gpt).is_empty() && picked("ttn.q", &gpt).is_empty());
    // A module selects every linear inside it (peft refuses a module that is not linear).
    assert_eq!(
        picked("block.1.mlp", &gpt),
        ["block.1.mlp.fc", "block.1.mlp.proj"]
    );
    assert_eq!(picked("attn", &gpt).len(), 8);
    // peft's all-linear leaves the output layer out; all keeps it.
    let all_linear = picked("all-linear", &gpt);
    assert_eq!(all_linear.len(), gpt.len() - 1);
    assert!(!all_linear.contains(&"readout".to_string()) && gpt.contains(&"readout".to_string()));
    assert_eq!(picked("all-linear", &mlp), mlp[..mlp.len() - 1]);
    assert_eq!(picked("all", &mlp), mlp);
    assert_eq!(Target::parse("all-linear").unwrap().to_text(), "all-linear");
    // A model whose only layer is its output has nothing for all-linear to adapt.
    let err = tinytune::link::url::parse_strict("task=planted&r=2&target=all-linear").unwrap_err();
    assert!(
        format!("{err:?}").contains("all-linear leaves the output layer out"),
        "{err:?}"
    );
}
