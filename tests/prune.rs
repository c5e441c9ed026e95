//! Pruning (docs/EXPERIMENTS.md E13; `knobs::prune`, `model::prune`, `train::prune`): the
//! threshold keeps exactly the largest entries; every method's copy is what its paper says,
//! checked entry by entry against a recomputation on the CPU from the trained weights and the
//! run's seeded draws; DARE's rescale keeps Δ's expectation; the end-of-run report, its CSV,
//! JSON and figure; what refuses it.

use burn::prelude::*;
use tinytune::data::{Rng, streams};
use tinytune::knobs::ExperimentConfig;
use tinytune::knobs::prune::{LEVELS, Method, kept};
use tinytune::link::url::parse_strict;
use tinytune::model::prune::{Pruner, thresholds};
use tinytune::model::{Family, backend};
use tinytune::report::{Chart, Figures, Results};
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

/// Every linear layer's weight, row-major [in, out], in forward order.
fn weights(model: &impl Family) -> Vec<Vec<f32>> {
    model
        .linears()
        .iter()
        .map(|(_, l)| values(l.weight.val()))
        .collect()
}

/// Every linear layer's bias.
fn biases(model: &impl Family) -> Vec<Vec<f32>> {
    model
        .linears()
        .iter()
        .filter_map(|(_, l)| l.bias.as_ref().map(|b| values(b.val())))
        .collect()
}

/// The `k`-th largest of `xs` (1-based): the smallest value a top-k keeps.
fn kth_largest(xs: &[f32], k: usize) -> f32 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    v[k - 1]
}

#[test]
fn the_threshold_keeps_exactly_the_largest_entries() {
    let device = backend::cpu();
    let mut rng = Rng::new(7);
    let a: Vec<f32> = (0..10_000).map(|_| rng.normal().abs() as f32).collect();
    let keep: Vec<usize> = LEVELS.iter().map(|&p| kept(a.len(), p)).collect();
    let t = values(thresholds(
        Tensor::<1>::from_data(TensorData::new(a.clone(), [a.len()]), &device),
        &keep,
    ));
    for (j, (&k, &t)) in keep.iter().zip(&t).enumerate() {
        let above = a.iter().filter(|&&x| x > t).count();
        assert_eq!(above, k, "level {j}: {above} above {t}, want {k}");
        if k > 0 && k < a.len() {
            // The threshold lies between the k-th and the (k+1)-th largest.
            assert!(
                t >= kth_largest(&a, k + 1) && t < kth_largest(&a, k),
                "level {j}: {t}"
            );
        }
    }
}

/// A digits MLP pre-trained, then fully fine-tuned on the rotated digits, with its base weights.
fn fine_tuned() -> (MlpTrainer, ExperimentConfig) {
    let c = cfg("task=digits&w=32&d=2&bs=64&steps=40&lr=0.003&r=0&asteps=40&shift=rot&seed=3");
    let mut t = MlpTrainer::new(&c, &backend::cpu()).unwrap();
    while t.step().is_some() {}
    (t, c)
}

#[test]
fn each_method_cuts_what_its_paper_says() {
    let (t, c) = fine_tuned();
    let base: Vec<Vec<f32>> = t
        .adaptation()
        .unwrap()
        .base_weights()
        .iter()
        .map(|w| values(w.clone()))
        .collect();
    let pruner = Pruner::new(t.model(), t.adaptation().map(|a| a.base_weights()), c.seed);
    assert_eq!(pruner.methods().len(), 6);
    let w = weights(t.model());
    let delta: Vec<Vec<f32>> = w
        .iter()
        .zip(&base)
        .map(|(w, b)| w.iter().zip(b).map(|(x, y)| x - y).collect())
        .collect();
    // The run's draws, recomputed: one uniform per weight, layer after layer, row-major.
    let mut rng = Rng::stream(c.seed, streams::PRUNE);
    let u: Vec<Vec<f32>> = w
        .iter()
        .map(|l| l.iter().map(|_| rng.uniform() as f32).collect())
        .collect();
    let n: usize = w.iter().map(Vec::len).sum();
    let all_abs = |ts: &[Vec<f32>]| ts.iter().flatten().map(|x| x.abs()).collect::<Vec<f32>>();
    for (j, &p) in LEVELS.iter().enumerate().skip(1) {
        let scale = 1.0 / (1.0 - p);
        for m in pruner.methods() {
            let copy = pruner.pruned(m, j).unwrap();
            assert_eq!(biases(&copy), biases(t.model()), "{m:?} at {p}: biases stay");
            let got = weights(&copy);
            for (i, layer) in got.iter().enumerate() {
                let k_layer = kept(layer.len(), p);
                for (e, &x) in layer.iter().enumerate() {
                    let (w0, b0, d0, u0) = (w[i][e], base[i][e], delta[i][e], u[i][e]);
                    let want = match m {
                        Method::Global => {
                            let t = kth_largest(&all_abs(&w), kept(n, p));
                            if w0.abs() >= t { w0 } else { 0.0 }
                        }
                        Method::Layer => {
                            let t = kth_largest(&all_abs(&w[i..=i]), k_layer);
                            if w0.abs() >= t { w0 } else { 0.0 }
                        }
                        Method::Random => {
                            if u0 >= p {
                                w0
                            } else {
                                0.0
                            }
                        }
                        Method::Dare => b0 + if u0 >= p { d0 * scale } else { 0.0 },
                        Method::Drop => b0 + if u0 >= p { d0 } else { 0.0 },
                        Method::Delta => {
                            let t = kth_largest(&all_abs(&delta), kept(n, p));
                            b0 + if d0.abs() >= t { d0 } else { 0.0 }
                        }
                    };
                    let tol = 1e-5 * (1.0 + want.abs());
                    assert!(
                        (x - want).abs() <= tol,
                        "{m:?} at p = {p}, layer {i} entry {e}: {x} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn dare_keeps_the_expectation_of_the_change() {
    // E[m/(1 − p)] = 1 for m ~ Bernoulli(1 − p): over the run's draws the rescaled keep mask
    // averages to 1 within its standard error, and the rescaled Δ's sum stays near Δ's.
    let (t, c) = fine_tuned();
    let pruner = Pruner::new(t.model(), t.adaptation().map(|a| a.base_weights()), c.seed);
    let base = t.adaptation().unwrap().base_weights();
    let w = weights(t.model());
    let n: usize = w.iter().map(Vec::len).sum();
    for (j, &p) in LEVELS.iter().enumerate().skip(1) {
        let copy = pruner.pruned(Method::Dare, j).unwrap();
        let (mut ratio_sum, mut kept_rescaled) = (0.0f64, 0.0f64);
        for ((got, w), b) in weights(&copy).iter().zip(&w).zip(base) {
            let b = values(b.clone());
            for ((g, w), b) in got.iter().zip(w).zip(&b) {
                let d = f64::from(w - b);
                if d.abs() > 1e-6 {
                    let r = f64::from(g - b) / d;
                    ratio_sum += r;
                    kept_rescaled += 1.0;
                }
            }
        }
        let mean = ratio_sum / kept_rescaled;
        let p = f64::from(p);
        let se = (p / ((1.0 - p) * n as f64)).sqrt();
        assert!(
            (mean - 1.0).abs() < 4.0 * se + 1e-3,
            "p = {p}: mean rescaled mask {mean} (±{se})"
        );
    }
}

#[test]
fn the_last_report_scores_every_cut_and_its_figure_draws() {
    let link = "task=digits&w=32&d=2&bs=64&steps=40&lr=0.003&r=0&asteps=40&shift=rot&prune=1";
    let run = pollster::block_on(train_run(&cfg(link), &backend::cpu(), 20)).unwrap();
    let p = run.pruned().expect("the last step's pruning");
    assert_eq!(run.reports.iter().filter(|r| r.prune.is_some()).count(), 1);
    assert_eq!(p.curves.len(), 6);
    assert_eq!(p.levels, LEVELS.to_vec());
    // Level 0 is the trained model under every method.
    let dense = p.curves[0].1[0];
    assert!(p.curves.iter().all(|(_, c)| (c[0] - dense).abs() < 1e-6));
    // Cutting 99 % of the weights or of Δ costs something; DARE's rescale beats plain drops
    // at half of Δ kept (the 1/(1 − p) is what restores the change's size).
    for (m, c) in &p.curves {
        assert!(c[7] > dense, "{m:?}: {} vs trained {dense}", c[7]);
    }
    let at = |m| p.curve(m).unwrap()[1];
    assert!(
        at(Method::Dare) < at(Method::Drop),
        "{} vs {}",
        at(Method::Dare),
        at(Method::Drop)
    );
    // Global magnitude keeps the stated share of the whole model, spread over the layers.
    let total: usize = p.layers.iter().map(|l| l.size).sum();
    for (j, &lv) in LEVELS.iter().enumerate() {
        let k: f64 = p
            .layers
            .iter()
            .map(|l| f64::from(l.kept[j]) * l.size as f64)
            .sum();
        assert!((k - kept(total, lv) as f64).abs() < 0.5, "level {lv}: {k}");
    }
    // CSV, JSON and the figure.
    let runs = [run];
    let csv = tinytune::report::export::to_prune_csv(&runs);
    assert!(csv.lines().any(|l| l.starts_with("0,dare,0.9,")), "{csv}");
    assert!(csv.contains("kept:readout"));
    let json = tinytune::report::export::to_json(&runs);
    assert!(json.contains("\"pruning\"") && json.contains("\"dare\""));
    let study = parse_strict(link).unwrap();
    let points = tinytune::page::boundary_points(&study.experiment);
    let figures = Figures::of(Results {
        study: &study,
        runs: &runs,
        grid: None,
        points: &points,
        planted_sigma: None,
        before: None,
    });
    assert!(figures.shown_charts().contains(&Chart::Pruning));
    assert_eq!(figures.main(), Chart::Pruning);
    let svg = tinytune::report::svg(&figures, Chart::Pruning, (1100, 480), "e13").unwrap();
    assert!(
        svg.contains("DARE") && svg.contains("entries of Δ kept"),
        "{}",
        &svg[..300]
    );
}

#[test]
fn without_an_adaptation_only_the_weights_are_cut() {
    let link = "task=digits&w=16&d=1&bs=64&steps=30&lr=0.003&prune=1";
    let run = pollster::block_on(train_run(&cfg(link), &backend::cpu(), 10)).unwrap();
    let p = run.pruned().unwrap();
    let methods: Vec<Method> = p.curves.iter().map(|(m, _)| *m).collect();
    assert_eq!(methods, Method::WEIGHTS.to_vec());
    // A run that does not prune scores nothing and shows no figure.
    let plain = pollster::block_on(train_run(
        &cfg("task=digits&w=16&d=1&steps=30"),
        &backend::cpu(),
        10,
    ))
    .unwrap();
    assert!(plain.pruned().is_none());
}

#[test]
fn pruning_trains_each_run_alone_in_a_stack() {
    let c = cfg("task=digits&w=16&steps=10&prune=1");
    assert!(tinytune::experiment::stack::refuses(&c).is_some());
    assert!(tinytune::experiment::stack::refuses(&cfg("task=digits&w=16&steps=10")).is_none());
}

/// The linear weights of a trainer's model now, and their total count.
fn now(t: &MlpTrainer) -> Vec<Vec<f32>> {
    weights(t.model())
}

/// The keep mask global magnitude gives `w` at `keep`, computed on the CPU by sorting.
fn global_mask(w: &[Vec<f32>], keep: f64) -> Vec<Vec<bool>> {
    let n: usize = w.iter().map(Vec::len).sum();
    let all: Vec<f32> = w.iter().flatten().map(|x| x.abs()).collect();
    let t = kth_largest(&all, kept(n, (1.0 - keep) as f32));
    w.iter()
        .map(|l| l.iter().map(|x| x.abs() >= t).collect())
        .collect()
}

#[test]
fn a_sparse_run_cuts_rewinds_and_holds_its_mask() {
    // Adam's first step moves each weight by at most about lr, so right after the cut the kept
    // weights sit within lr of where they restarted: step prew's values (a rewound ticket) or
    // step pat's (fine-tuning); the removed ones are exactly 0 then and at the end.
    let (lr, k, at) = (0.003f32, 3, 20);
    let base = format!("task=digits&w=16&d=2&bs=64&steps=40&lr={lr}&seed=2");
    let mut dense = MlpTrainer::new(&cfg(&base), &backend::cpu()).unwrap();
    let mut at_k = Vec::new();
    for t in 0..at {
        if t == k {
            at_k = now(&dense);
        }
        dense.step();
    }
    let at_cut = now(&dense);
    let mask = global_mask(&at_cut, 0.2);
    for (from, start) in [("trained", &at_cut), ("rewind", &at_k)] {
        let link = format!("{base}&pkeep=0.2&pat={at}&pfrom={from}&prew={k}");
        let mut t = MlpTrainer::new(&cfg(&link), &backend::cpu()).unwrap();
        for _ in 0..at {
            t.step();
        }
        assert_eq!(now(&t), at_cut, "{from}: the same run until the cut");
        t.step();
        let after = now(&t);
        let mut far = 0;
        for (i, layer) in after.iter().enumerate() {
            for (e, &x) in layer.iter().enumerate() {
                if mask[i][e] {
                    let moved = (x - start[i][e]).abs();
                    assert!(
                        moved <= 1.01 * lr,
                        "{from}: layer {i} entry {e} moved {moved} from its start"
                    );
                    far += usize::from((start[i][e] - at_cut[i][e]).abs() > 3.0 * lr);
                } else {
                    assert_eq!(x, 0.0, "{from}: layer {i} entry {e} was cut");
                }
            }
        }
        // The rewound start is far from the trained one, so the check above can tell them apart.
        assert_eq!(
            far > 0,
            from == "rewind",
            "{from}: {far} entries far from step {at}"
        );
        while t.step().is_some() {}
        for (layer, m) in now(&t).iter().zip(&mask) {
            assert!(
                layer.iter().zip(m).all(|(&x, &kept)| kept || x == 0.0),
                "{from}: the mask holds"
            );
        }
    }
}

#[test]
fn a_sparse_run_refuses_what_it_cannot_do() {
    let bad = |q: &str| format!("{:?}", parse_strict(q).unwrap_err());
    assert!(bad("task=digits&steps=50&pkeep=0.1&pat=50").contains("after the last step"));
    assert!(
        bad("task=digits&steps=50&pkeep=0.1&pat=10&pfrom=rewind&prew=20")
            .contains("rewinds to a step before its cut")
    );
    assert!(bad("task=digits&steps=50&asteps=50&r=4&pkeep=0.1&pat=10").contains("remove r"));
    assert!(tinytune::experiment::stack::refuses(&cfg("task=digits&steps=50&pkeep=0.1&pat=10")).is_some());
}

#[test]
fn a_sparse_run_counts_the_weights_that_still_train() {
    // After the cut the nonzero linear weights are what the summary's trainable count says
    // (with a magnitude mask exactly; a random one is counted by its expectation).
    for rule in ["global", "layer"] {
        let c = cfg(&format!(
            "task=digits&w=16&d=2&bs=64&steps=8&lr=0.003&pkeep=0.1&pat=4&pmask={rule}"
        ));
        let mut t = MlpTrainer::new(&c, &backend::cpu()).unwrap();
        while t.step().is_some() {}
        let w = weights(t.model());
        let n: usize = w.iter().map(Vec::len).sum();
        let nonzero = w.iter().flatten().filter(|&&x| x != 0.0).count();
        assert_eq!(c.trainable_params(), t.parameter_count() - n + nonzero, "{rule}");
        assert!(nonzero <= kept(n, 0.9) + w.len(), "{rule}: {nonzero} of {n}");
    }
}

#[test]
fn iterative_pruning_cuts_in_nested_rounds_each_rewound() {
    // Three cuts at steps 6, 10, 14 keep 0.2^(1/3), 0.2^(2/3), 0.2 of the weights; each round's
    // removed weights include the last round's, and each restarts from step 2's values.
    let (lr, k) = (0.003f32, 2);
    let link = format!(
        "task=digits&w=16&d=2&bs=64&steps=18&lr={lr}&pkeep=0.2&pat=6&prounds=3&pfrom=rewind&prew={k}"
    );
    let c = cfg(&link);
    assert_eq!(c.sparse.cuts(c.total_steps()), vec![6, 10, 14]);
    let mut t = MlpTrainer::new(&c, &backend::cpu()).unwrap();
    let mut at_k = Vec::new();
    let mut removed_before: Option<Vec<bool>> = None;
    for step in 0..18 {
        if step == k {
            at_k = now(&t);
        }
        t.step();
        if let Some(round) = [6, 10, 14].iter().position(|&s| s == step) {
            let w = now(&t);
            let n: usize = w.iter().map(Vec::len).sum();
            let flat: Vec<f32> = w.iter().flatten().copied().collect();
            let start: Vec<f32> = at_k.iter().flatten().copied().collect();
            let removed: Vec<bool> = flat.iter().map(|&x| x == 0.0).collect();
            let want = kept(n, c.sparse.sparsity_of(round));
            assert_eq!(n - removed.iter().filter(|&&r| r).count(), want, "round {round}");
            if let Some(before) = &removed_before {
                assert!(
                    before.iter().zip(&removed).all(|(&b, &r)| !b || r),
                    "round {round}: nested"
                );
            }
            for (x, s) in flat.iter().zip(&start) {
                assert!(
                    *x == 0.0 || (x - s).abs() <= 1.01 * lr,
                    "round {round}: {x} from {s}"
                );
            }
            removed_before = Some(removed);
        }
    }
}

#[test]
fn every_family_prunes_its_linear_layers() {
    // The cuts go through `Family::linears` and the objective's own validation, so the
    // transformer and the factorised matrix prune as the MLP does, and a sparse run trains.
    for link in [
        "task=reverse&model=gpt&w=16&d=1&heads=2&bs=8&n=32&steps=4&prune=1",
        "task=reverse&model=gpt&w=16&d=1&heads=2&bs=8&n=32&steps=6&pkeep=0.3&pat=2&prune=1",
        "task=sense&dim=8&pr=2&n=60&bs=60&opt=sgd&lr=0.1&steps=6&fk=4&prune=1",
    ] {
        let run = pollster::block_on(train_run(&cfg(link), &backend::cpu(), 10)).unwrap();
        let p = run.pruned().unwrap_or_else(|| panic!("{link}: no scores"));
        assert_eq!(p.curves.len(), 3, "{link}");
        for (m, c) in &p.curves {
            assert!(c.iter().all(|l| l.is_finite()), "{link} {m:?}: {c:?}");
            assert!(
                (c[7] - c[0]).abs() > 1e-6,
                "{link} {m:?}: a 99 % cut changes nothing: {c:?}"
            );
        }
        assert!(!p.layers.is_empty(), "{link}");
    }
    let words = tinytune::experiment::describe::sparse(&cfg(
        "task=digits&steps=100&pkeep=0.01&pat=10&prounds=2&pfrom=rewind&prew=5&pmask=layer",
    ))
    .unwrap();
    assert!(
        words.contains("1 % of the") && words.contains("at steps 10, 55") && words.contains("10 %"),
        "{words}"
    );
    assert!(
        words.contains("step 5's values") && words.contains("per layer"),
        "{words}"
    );
}
