//! Intrinsic dimension's phases (docs/EXPERIMENTS.md E10; `model::subspace`, `model::bias_only`):
//! the projection has unit columns and is seeded; a subspace run's every tensor is exactly
//! θ0 + P·z with one z, the base never moves and only z trains; bias-only tuning moves the biases
//! and nothing else; `shift=none` trains the phase from the initialisation (full fine-tuning there
//! is plain training, loss for loss); the accuracy is the share of right answers; what refuses
//! them.

use burn::module::{Param, ParamId};
use burn::prelude::*;
use tinytune::data::Rng;
use tinytune::knobs::ExperimentConfig;
use tinytune::knobs::lora::Rank;
use tinytune::link::url::parse_strict;
use tinytune::model::fastfood::{Draws, FastfoodRows};
use tinytune::model::subspace::{SubspaceDelta, projection};
use tinytune::model::{Family, backend};
use tinytune::train::{MlpTrainer, train_run};

fn cfg(link: &str) -> ExperimentConfig {
    parse_strict(link)
        .unwrap_or_else(|e| panic!("{link}: {e:?}"))
        .experiment
}

/// A tensor's values (the CPU backend reads synchronously).
fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap() // sync-ok: CPU
}

#[test]
fn the_projection_has_unit_columns_and_is_seeded() {
    let (numels, d) = ([40usize, 8, 100, 3], 12);
    let p = projection(&numels, d, 5);
    for (block, &n) in p.iter().zip(&numels) {
        assert_eq!(block.len(), n * d);
    }
    for j in 0..d {
        let norm2: f64 = p
            .iter()
            .flat_map(|b| b.chunks_exact(d).map(move |row| f64::from(row[j]).powi(2)))
            .sum();
        assert!((norm2 - 1.0).abs() < 1e-5, "column {j}: ‖p‖² = {norm2}");
    }
    assert_eq!(p, projection(&numels, d, 5), "the same seed draws the same P");
    assert_ne!(p, projection(&numels, d, 6), "another seed another");
    // d random unit vectors in R^151 are nearly orthogonal: |cos| ≪ 1.
    let col = |j: usize| -> Vec<f32> {
        p.iter()
            .flat_map(|b| b.chunks_exact(d).map(move |r| r[j]))
            .collect()
    };
    let (a, b) = (col(0), col(1));
    let cos: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    assert!(cos.abs() < 0.4, "cos = {cos}");
}

/// P's column j of the Fastfood map, on the host: P·e_j.
fn fast_column(draws: &Draws, total: usize, d: usize, j: usize) -> Vec<f64> {
    let mut e = vec![0.0; d];
    e[j] = 1.0;
    draws.apply_host(&e, 0, total)
}

#[test]
fn the_fastfood_projection_has_unit_columns_and_its_tensors_compute_it() {
    let d = 100; // d' = 128
    // D a multiple of d': every column has unit length exactly.
    let draws = Draws::new(768, d, &mut Rng::new(3));
    assert_eq!((draws.order(), draws.blocks), (128, 6));
    let cols: Vec<Vec<f64>> = (0..d).map(|j| fast_column(&draws, 768, d, j)).collect();
    for (j, c) in cols.iter().enumerate() {
        let norm2: f64 = c.iter().map(|v| v * v).sum();
        assert!((norm2 - 1.0).abs() < 1e-5, "column {j}: ‖p‖² = {norm2}");
    }
    // Nearly orthogonal, as d random unit vectors in R^768 are.
    let cos = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let worst = (1..d).map(|j| cos(&cols[0], &cols[j]).abs()).fold(0f64, f64::max);
    assert!(worst < 0.25, "max |cos| = {worst}");
    // The last block cut short: unit length on average.
    let cut = Draws::new(700, d, &mut Rng::new(3));
    let mean: f64 = (0..d)
        .map(|j| fast_column(&cut, 700, d, j).iter().map(|v| v * v).sum::<f64>())
        .sum::<f64>()
        / d as f64;
    assert!((mean - 1.0).abs() < 0.1, "mean ‖p‖² = {mean}");
    // Seeded.
    let again = Draws::new(768, d, &mut Rng::new(3));
    assert_eq!(
        (&again.signs, &again.perm, &again.gauss),
        (&draws.signs, &draws.perm, &draws.gauss)
    );
    assert_ne!(Draws::new(768, d, &mut Rng::new(4)).perm, draws.perm);
    // Each tensor's rows, as tensors (two Kronecker factors of H, a gather for Π), equal the
    // host's transform, for runs of rows within a block, across blocks and to the end.
    let device = backend::cpu().autodiff();
    let mut rng = Rng::new(9);
    let z: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
    let zt = Tensor::<1>::from_data(
        TensorData::new(z.iter().map(|&v| v as f32).collect::<Vec<f32>>(), [d]),
        &device,
    )
    .require_grad();
    let mut weighted = Vec::new();
    for (start, rows) in [(0, 40), (40, 200), (240, 300), (540, 228)] {
        let part = FastfoodRows::new(&draws, start, rows, &device).apply(zt.clone());
        let want = draws.apply_host(&z, start, rows);
        let got = values(part.clone());
        assert_eq!(got.len(), rows);
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            assert!((f64::from(g) - w).abs() < 1e-4, "row {}: {g} vs {w}", start + i);
        }
        weighted.push(part);
    }
    // The gradient of Σ wᵢ·(P·z)ᵢ is Pᵀ·w: here w = the row index, through every part.
    let all = Tensor::cat(weighted, 0);
    let w: Vec<f32> = (0..768).map(|i| i as f32 / 768.0).collect();
    let loss = (all * Tensor::<1>::from_data(TensorData::new(w.clone(), [768]), &device)).sum();
    let grad = values(zt.grad(&loss.backward()).unwrap());
    for (j, g) in grad.iter().enumerate() {
        let want: f64 = cols[j].iter().zip(&w).map(|(p, &w)| p * f64::from(w)).sum();
        assert!(
            (f64::from(*g) - want).abs() < 1e-4,
            "∂/∂z[{j}] = {g}, Pᵀ·w = {want}"
        );
    }
}

#[test]
fn a_subspace_beyond_the_dense_cap_trains_through_fastfood() {
    // D = 85,002 parameters × d = 200 = 17 M entries: over the 16 M of a dense P.
    let d = 200;
    let c = cfg(&format!(
        "task=digits&w=256&d=2&bs=64&steps=10&asteps=30&lr=0.01&shift=rot&r=sub{d}&seed=4"
    ));
    assert_eq!(c.parameter_estimate(), 85_002);
    assert!(!c.dense_subspace(d));
    let mut t = MlpTrainer::new(&c, &backend::cpu()).unwrap();
    while t.step().is_some() {}
    assert_eq!(t.trainable_count(), d);
    // Every tensor is θ0 + its rows of the seeded Fastfood map times the one trained z.
    let draws = Draws::new(
        85_002,
        d,
        &mut Rng::stream(c.seed, tinytune::data::streams::SUBSPACE),
    );
    let mut start = 0;
    let mut z_seen: Option<Vec<f32>> = None;
    for (_, l) in t.model().linears() {
        let mut check = |base: Vec<f32>, value: Vec<f32>, delta: &SubspaceDelta| {
            assert!(delta.proj.is_none() && delta.fast.is_some());
            let z = values(delta.z.val());
            let z64: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
            let pz = draws.apply_host(&z64, start, base.len());
            for (i, ((&v, &b), p)) in value.iter().zip(&base).zip(&pz).enumerate() {
                assert!((f64::from(v) - f64::from(b) - p).abs() < 1e-5, "entry {i}");
            }
            start += base.len();
            assert!(z_seen.as_ref().is_none_or(|s| *s == z), "one z");
            z_seen = Some(z);
        };
        let w = l.weight.reparameterization::<SubspaceDelta>().unwrap();
        check(values(l.weight.base()), values(l.weight.val()), w);
        if let Some(b) = &l.bias {
            let delta = b.reparameterization::<SubspaceDelta>().unwrap();
            check(values(b.base()), values(b.val()), delta);
        }
    }
    assert_eq!(start, 85_002);
    assert!(z_seen.unwrap().iter().any(|&v| v != 0.0), "z trained");
    let run = pollster::block_on(train_run(&c, &backend::cpu(), 5)).unwrap();
    let losses: Vec<f32> = run.reports.iter().skip(10).filter_map(|r| r.val_loss).collect();
    assert!(losses.last() < losses.first(), "{losses:?}");
}

/// Each tensor of an MLP (each linear layer's weight, then its bias: the order a visitor meets
/// them in): its id, stored base, effective value and subspace delta (rows of P, z, z's id).
type Seen = Vec<(ParamId, Vec<f32>, Vec<f32>, Option<(Vec<f32>, Vec<f32>, ParamId)>)>;

fn seen(model: &tinytune::model::Mlp) -> Seen {
    fn one<const D: usize>(p: &Param<Tensor<D>>, out: &mut Seen) {
        let delta = p.reparameterization::<SubspaceDelta>().map(|s| {
            (
                s.proj.clone().map_or(Vec::new(), values),
                values(s.z.val()),
                s.z.id,
            )
        });
        out.push((p.id, values(p.base()), values(p.val()), delta));
    }
    let mut out = Vec::new();
    for (_, l) in model.linears() {
        one(&l.weight, &mut out);
        if let Some(b) = &l.bias {
            one(b, &mut out);
        }
    }
    out
}

#[test]
fn a_subspace_run_is_theta0_plus_p_z_with_one_z_and_only_z_trains() {
    let d = 24;
    let c = cfg(&format!(
        "task=digits&w=16&d=1&bs=64&steps=20&asteps=15&lr=0.01&shift=rot&r=sub{d}&seed=4"
    ));
    let mut t = MlpTrainer::new(&c, &backend::cpu()).unwrap();
    // Step 20 begins the phase (and takes its first step).
    for _ in 0..21 {
        t.step();
    }
    let start = seen(t.model());
    let numels: Vec<usize> = start
        .iter()
        .filter(|(.., delta)| delta.is_some())
        .map(|(_, base, ..)| base.len())
        .collect();
    assert_eq!(
        numels.iter().sum::<usize>(),
        c.parameter_estimate(),
        "every parameter is projected"
    );
    assert_eq!(t.trainable_count(), d);
    assert_eq!(c.trainable_params(), d);
    while t.step().is_some() {}
    let end = seen(t.model());
    let blocks = projection(&numels, d, c.seed);
    let mut zs = Vec::new();
    let mut block = blocks.iter();
    for ((id, base0, ..), (id1, base, value, delta)) in start.iter().zip(&end) {
        assert_eq!(id, id1);
        let Some((proj, z, z_id)) = delta else {
            continue;
        };
        assert_eq!(base0, base, "θ0 never moves");
        assert_eq!(proj, block.next().unwrap(), "each tensor's rows of the seeded P");
        zs.push((z.clone(), *z_id));
        // θ = θ0 + P·z, entry by entry.
        for (i, (&v, &b)) in value.iter().zip(base).enumerate() {
            let pz: f32 = proj[i * d..(i + 1) * d].iter().zip(z).map(|(p, z)| p * z).sum();
            assert!((v - (b + pz)).abs() < 1e-5, "entry {i}: {v} vs {}", b + pz);
        }
    }
    let (z0, id0) = &zs[0];
    assert!(z0.iter().any(|&v| v != 0.0), "z trained");
    for (z, id) in &zs {
        assert_eq!(
            (z, id),
            (z0, id0),
            "every tensor reads the same z after each step"
        );
    }
    // The phase learned: the shifted task's loss fell from where the phase began.
    let run = pollster::block_on(train_run(&c, &backend::cpu(), 5)).unwrap();
    let losses: Vec<f32> = run.reports.iter().skip(20).filter_map(|r| r.val_loss).collect();
    assert!(losses.last() < losses.first(), "{losses:?}");
}

#[test]
fn z_gets_the_whole_gradient_p_transpose_times_every_tensors() {
    // One plain SGD step from the same pre-trained θ0 on the same batch: full fine-tuning moves
    // θ by −η·∇θ, the subspace moves z by −η·Pᵀ·∇θ, summed over every tensor. So z = Pᵀ·Δθ.
    let link = |r: &str| {
        cfg(&format!(
            "task=digits&w=16&d=1&bs=64&steps=20&asteps=1&lr=0.05&opt=sgd&shift=rot&r={r}&seed=4"
        ))
    };
    let (full, sub) = (link("0"), link("sub16"));
    let mut t = MlpTrainer::new(&full, &backend::cpu()).unwrap();
    for _ in 0..20 {
        t.step();
    }
    let before: Vec<Vec<f32>> = seen(t.model()).into_iter().map(|s| s.2).collect();
    t.step();
    let after: Vec<Vec<f32>> = seen(t.model()).into_iter().map(|s| s.2).collect();
    let step: Vec<f32> = after
        .iter()
        .zip(&before)
        .flat_map(|(a, b)| a.iter().zip(b).map(|(a, b)| a - b))
        .collect();
    let mut t = MlpTrainer::new(&sub, &backend::cpu()).unwrap();
    while t.step().is_some() {}
    let tensors = seen(t.model());
    let numels: Vec<usize> = tensors.iter().map(|s| s.1.len()).collect();
    let p: Vec<f32> = projection(&numels, 16, sub.seed).concat();
    let z = tensors[0].3.as_ref().unwrap().1.clone();
    for (j, &zj) in z.iter().enumerate() {
        let want: f32 = step.iter().enumerate().map(|(i, &s)| p[i * 16 + j] * s).sum();
        assert!(
            (zj - want).abs() < 1e-4 * (1.0 + want.abs()),
            "z[{j}] = {zj}, Pᵀ·Δθ = {want}"
        );
    }
    assert!(z.iter().any(|&v| v.abs() > 1e-3), "the step moved z: {z:?}");
}

#[test]
fn bias_only_tuning_moves_the_biases_and_nothing_else() {
    let c = cfg("task=digits&w=16&d=1&bs=64&steps=20&asteps=20&lr=0.01&shift=rot&r=bias&seed=2");
    let mut t = MlpTrainer::new(&c, &backend::cpu()).unwrap();
    for _ in 0..20 {
        t.step();
    }
    let before_phase = t.trainable_count();
    t.step();
    let read = |m: &tinytune::model::Mlp| -> Vec<(String, Vec<f32>)> {
        m.param_specs()
            .into_iter()
            .map(|s| {
                let mut found = None;
                for (name, l) in m.linears() {
                    if s.name == format!("{name}.weight") {
                        found = Some(values(l.weight.val()));
                    }
                    if s.name == format!("{name}.bias") {
                        found = l.bias.as_ref().map(|b| values(b.val()));
                    }
                }
                (s.name, found.unwrap())
            })
            .collect()
    };
    let before = read(t.model());
    // 64 → 16 → 10: a bias per output.
    assert_eq!(
        before_phase,
        c.parameter_estimate(),
        "pre-training trains everything"
    );
    assert_eq!(t.trainable_count(), 16 + 10);
    assert_eq!(c.trainable_params(), 16 + 10);
    while t.step().is_some() {}
    let after = read(t.model());
    for ((name, b), (_, a)) in before.iter().zip(&after) {
        if name.ends_with(".bias") {
            assert_ne!(a, b, "{name} trains");
        } else {
            assert_eq!(a, b, "{name} stays frozen");
        }
    }
}

#[test]
fn full_fine_tuning_from_the_initialisation_is_plain_training() {
    let plain = cfg("task=digits&w=16&d=1&bs=64&steps=30&lr=0.01&seed=3");
    let phase = cfg("task=digits&w=16&d=1&bs=64&steps=30&lr=0.01&seed=3&r=0&shift=none&asteps=500");
    assert_eq!(phase.total_steps(), 30, "shift=none: the phase trains for steps");
    assert_eq!(phase.pretrain_steps(), 0);
    let a = pollster::block_on(train_run(&plain, &backend::cpu(), 10)).unwrap();
    let b = pollster::block_on(train_run(&phase, &backend::cpu(), 10)).unwrap();
    assert_eq!(b.adaptation_start(), None);
    let curve = |r: &tinytune::train::metrics::Run| -> Vec<(f32, Option<f32>)> {
        r.reports.iter().map(|s| (s.train_loss, s.val_loss)).collect()
    };
    assert_eq!(
        curve(&a),
        curve(&b),
        "the same data, init and optimizer: the same run"
    );
    // A subspace from the initialisation (Li et al.) learns the task itself.
    let sub = cfg("task=digits&w=16&d=1&bs=64&steps=60&lr=0.01&seed=3&r=sub200&shift=none");
    let run = pollster::block_on(train_run(&sub, &backend::cpu(), 10)).unwrap();
    let acc = run.final_val_acc().unwrap();
    assert!(
        acc > 0.3,
        "200 directions of 1,210 train well above chance (0.1): {acc}"
    );
}

#[test]
fn accuracy_is_the_share_of_rows_whose_largest_logit_is_their_label() {
    use tinytune::train::vector::accuracy;
    let device = backend::cpu();
    let logits = Tensor::<2>::from_data(
        TensorData::new(
            vec![0.1f32, 2.0, -1.0, 3.0, 0.0, 0.0, 1.0, 1.0, 0.5, -2.0, -1.0, -3.0],
            [4, 3],
        ),
        &device,
    );
    // Row 0 → 1 (right), row 1 → 0 (wrong), row 2 → a tie between 0 and 1 goes to 0 (right),
    // row 3 → 1 (right).
    let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 2, 0, 1], [4]), &device);
    assert_eq!(values(accuracy(logits, labels)), vec![0.75]);
    // A run reports it at each evaluation, in [0, 1], and the summary carries the last.
    let c = cfg("task=digits&w=16&d=1&bs=64&steps=40&lr=0.01&seed=1");
    let run = pollster::block_on(train_run(&c, &backend::cpu(), 10)).unwrap();
    let accs: Vec<f32> = run.reports.iter().filter_map(|r| r.val_acc).collect();
    assert_eq!(
        accs.len(),
        run.reports.iter().filter(|r| r.val_loss.is_some()).count()
    );
    assert!(accs.iter().all(|a| (0.0..=1.0).contains(a)));
    assert!(accs.last() > accs.first(), "{accs:?}");
    // Regression has none.
    let p = cfg("task=planted&steps=20&r=0");
    let run = pollster::block_on(train_run(&p, &backend::cpu(), 10)).unwrap();
    assert_eq!(run.final_val_acc(), None);
}

#[test]
fn the_phase_kinds_round_trip_and_refuse_what_they_cannot_do() {
    assert_eq!(cfg("r=bias&asteps=10").lora.rank, Rank::Bias);
    let c = cfg("r=sub300&asteps=10");
    assert_eq!(c.lora.rank.subspace(), Some(300));
    assert_eq!(c.lora.rank.to_text(), "sub300");
    assert_eq!(Rank::parse("SUB30").unwrap().to_text(), "sub30");
    for bad in ["sub0", "sub", "subx", "biases", "-3"] {
        assert!(Rank::parse(bad).is_err(), "{bad}");
    }
    let e = Rank::parse("-2").unwrap_err();
    assert!(
        e.starts_with("'-2' is not a whole number") && e.contains("sub300"),
        "{e}"
    );
    let refused = |link: &str, what: &str| {
        let errs = tinytune::experiment::validate(&parse_strict_lenient(link)).unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(text.join(" ").contains(what), "{link}: {text:?}");
    };
    refused("task=planted&r=bias", "bias-only tuning");
    refused("task=copy&r=bias", "bias-only tuning");
    refused("task=digits&w=16&d=1&r=sub5000", "choose d ≤ 1210");
    // Beyond the dense cap the projection is Fastfood, not a refusal.
    let big = parse_strict_lenient("task=digits&w=1024&d=4&r=sub2000&asteps=10");
    assert!(!big.dense_subspace(2000) && cfg("task=digits&r=sub100").dense_subspace(100));
    assert!(tinytune::experiment::validate(&big).is_ok());
    // A subspace or bias-only run trains alone, never stacked.
    for link in ["task=digits&r=sub100", "task=digits&r=bias"] {
        assert!(
            tinytune::experiment::stack::refuses(&cfg(link)).is_some(),
            "{link}"
        );
    }
}

/// The experiment of `link` as written, invalid or not (for the refusals above).
fn parse_strict_lenient(link: &str) -> ExperimentConfig {
    let mut c = ExperimentConfig::default();
    for pair in link.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        tinytune::keys::key(k).unwrap().set_experiment(&mut c, v).unwrap();
    }
    c
}

/// A run of `link` (with `r` as its swept knob, and `w` when `width` is set) whose last
/// evaluation measured `acc`.
fn scored(link: &str, r: &str, width: Option<&str>, acc: f32) -> tinytune::train::metrics::Run {
    use tinytune::train::metrics::{Run, StepReport};
    let mut c = cfg(link);
    tinytune::keys::R.set_experiment(&mut c, r).unwrap();
    if let Some(w) = width {
        tinytune::keys::W.set_experiment(&mut c, w).unwrap();
    }
    let mut run = Run::new(c);
    run.knobs.push((&tinytune::keys::R, r.to_string()));
    if let Some(w) = width {
        run.knobs.push((&tinytune::keys::W, w.to_string()));
    }
    run.extend([StepReport {
        step: 0,
        train_loss: 1.0,
        val_loss: Some(1.0),
        coord: None,
        quant_val_loss: None,
        seq: None,
        norms: None,
        singular: None,
        prune: None,
        val_acc: Some(acc),
        gns: None,
    }]);
    run
}

#[test]
fn the_figure_reads_d_int90_and_each_kinds_count_at_90_percent_of_full() {
    use tinytune::plot::{IntrinsicKind, intrinsic};
    let link = "task=digits&d=1&steps=10&shift=none";
    let mut runs = Vec::new();
    for (w, full) in [("16", 0.9), ("32", 0.95)] {
        // Two seeds of full training: the line is 90 % of their mean.
        runs.push(scored(link, "0", Some(w), full - 0.01));
        runs.push(scored(link, "0", Some(w), full + 0.01));
        for (r, acc) in [
            ("sub10", 0.3),
            ("sub100", 0.80),
            ("sub300", 0.86),
            ("sub1000", 0.9),
            ("bias", 0.5),
        ] {
            runs.push(scored(link, r, Some(w), acc));
        }
        runs.push(scored(link, "2", Some(w), 0.7));
        runs.push(scored(link, "4", Some(w), 0.88));
    }
    let settings = intrinsic(&runs);
    assert_eq!(settings.len(), 2);
    let (a, b) = (&settings[0], &settings[1]);
    assert_eq!((a.name.as_str(), a.total), ("w=16", 1210));
    assert_eq!(b.total, 2410);
    assert!((a.threshold().unwrap() - 0.81).abs() < 1e-6);
    // w = 16: 0.80 < 0.81 ≤ 0.86, so d_int90 = 300; LoRA's first rank over it is 4.
    assert_eq!(a.reaches(IntrinsicKind::Subspace), Some(300));
    let lora4 = cfg("task=digits&d=1&w=16&steps=10&shift=none&r=4").trainable_params();
    assert_eq!(a.reaches(IntrinsicKind::Lora), Some(lora4));
    assert_eq!(a.reaches(IntrinsicKind::Bias), None, "0.5 never reaches it");
    // w = 32: the line is 0.855, so d_int90 = 300 again; LoRA at 0.88 too.
    assert_eq!(b.reaches(IntrinsicKind::Subspace), Some(300));
    // The figure draws both panels (two widths reached the line) with d_int90 in the legend.
    let study = parse_strict(&format!("{link}&sweep=r:0,sub10;w:16,32")).unwrap();
    let points = tinytune::page::boundary_points(&study.experiment);
    let results = tinytune::report::Results {
        study: &study,
        runs: &runs,
        grid: None,
        points: &points,
        planted_sigma: None,
        before: None,
    };
    let figures = tinytune::report::Figures::of(results);
    assert_eq!(figures.main(), tinytune::report::Chart::Intrinsic);
    assert!(
        !figures.shown(tinytune::report::Chart::Scaling),
        "no one law runs through mixed kinds"
    );
    let svg =
        tinytune::report::svg(&figures, tinytune::report::Chart::Intrinsic, (1100, 480), "e10").unwrap();
    assert!(svg.contains("d_int90 = 300"), "the legend names d_int90");
    assert!(
        svg.contains("D over it: 4–8"),
        "D/d_int90 = 1,210/300 and 2,410/300"
    );
}
