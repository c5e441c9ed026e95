//! Training behaviour on Burn's CPU backend: loss falls on every task, seeds reproduce curves,
//! divergence is marked, the grid readback is a probability field.

use plotters::prelude::IntoDrawingArea;
use tinytune::knobs::ExperimentConfig;
use tinytune::knobs::task::Task;
use tinytune::model::backend;
use tinytune::plot;
use tinytune::report::export;
use tinytune::train::{MlpTrainer, metrics, train_run};
use tinytune::vocab::Named;

fn run(cfg: &ExperimentConfig) -> metrics::Run {
    pollster::block_on(train_run(cfg, &backend::cpu(), 25)).expect("training runs")
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len() as f32
}

/// Your own table for `task=table`: two classes by the sign of x·y (an XOR of 200 points).
fn own_table() -> tinytune::knobs::own::OwnData {
    use tinytune::knobs::own::{Body, OwnData, Table, Target};
    let x: Vec<f32> = (0..400).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
    let labels = x.chunks(2).map(|p| u16::from(p[0] * p[1] > 0.0)).collect();
    OwnData::new(Body::Table(Table {
        features: vec!["x".into(), "y".into()],
        x,
        target: Target::Classes {
            labels,
            names: vec!["-".into(), "+".into()],
        },
        target_name: "sign".into(),
        plane: true,
    }))
    .unwrap()
}

#[test]
fn loss_falls_on_every_task() {
    // The MLP's tasks; the transformer's loss falls on every sequence task in tests/sequence.rs.
    for &(task, _, _) in Task::NAMES.iter().filter(|(t, _, _)| !t.is_sequence()) {
        let cfg = ExperimentConfig {
            task,
            steps: 300,
            width: 32,
            data: (task == Task::Table).then(own_table),
            ..Default::default()
        };
        let r = run(&cfg);
        assert!(!r.diverged, "{}: diverged", task.key());
        assert_eq!(r.reports.len(), 300);
        let first = r.reports[0].val_loss.expect("step 0 is evaluated");
        let last = r.final_val_loss().expect("last step is evaluated");
        let train_start = mean(&r.reports[..10].iter().map(|s| s.train_loss).collect::<Vec<_>>());
        let train_end = mean(&r.reports[290..].iter().map(|s| s.train_loss).collect::<Vec<_>>());
        assert!(
            last < 0.6 * first,
            "{}: val loss {first} → {last} did not fall enough",
            task.key()
        );
        assert!(
            train_end < 0.6 * train_start,
            "{}: train loss {train_start} → {train_end}",
            task.key()
        );
    }
}

#[test]
fn same_seed_gives_identical_curve_and_other_seed_differs() {
    let cfg = ExperimentConfig {
        steps: 40,
        ..Default::default()
    };
    let a = run(&cfg);
    let b = run(&cfg);
    assert_eq!(a.reports, b.reports, "same seed must replay bit-identically");
    let c = run(&ExperimentConfig { seed: 2, ..cfg });
    assert_ne!(a.reports, c.reports, "a different seed must give a different run");
}

#[test]
fn validation_is_logged_every_ten_steps_and_at_the_end() {
    let r = run(&ExperimentConfig {
        steps: 25,
        ..Default::default()
    });
    let evaluated: Vec<usize> = r
        .reports
        .iter()
        .filter(|s| s.val_loss.is_some())
        .map(|s| s.step)
        .collect();
    assert_eq!(evaluated, vec![0, 10, 20, 24]);
}

#[test]
fn full_batch_and_sgd_train_too() {
    let cfg = ExperimentConfig {
        task: Task::Blobs,
        opt: tinytune::knobs::optim::OptimizerKind::Sgd,
        lr: 0.2,
        batch: 4096,
        steps: 100,
        ..Default::default()
    };
    let r = run(&cfg);
    assert!(r.final_val_loss().unwrap() < r.reports[0].val_loss.unwrap());
}

#[test]
fn absurd_learning_rate_is_marked_diverged_and_stops() {
    let cfg = ExperimentConfig {
        opt: tinytune::knobs::optim::OptimizerKind::Sgd,
        lr: 10.0,
        width: 512,
        depth: 6,
        act: tinytune::knobs::arch::Activation::Relu,
        steps: 400,
        ..Default::default()
    };
    let r = run(&cfg);
    assert!(r.diverged, "SGD at lr=10 on a deep wide net should blow up");
    assert!(r.reports.len() < 400, "training stops at divergence");
    let (first, last) = (r.reports[0].train_loss, r.reports.last().unwrap().train_loss);
    assert!(
        !last.is_finite() || last > metrics::DIVERGENCE_FACTOR * first,
        "the last report is the blow-up: {first} → {last}"
    );
}

#[test]
fn decision_grid_is_a_probability_field() {
    let cfg = ExperimentConfig {
        task: Task::Blobs,
        steps: 5,
        ..Default::default()
    };
    let mut t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    let out = t.step().unwrap();
    let grid = t.grid(12).expect("a 2-D classification task has a boundary");
    assert_eq!(grid.classes, 3);
    let (reports, extras) = pollster::block_on(metrics::read_reports(vec![out], vec![grid.probs])).unwrap();
    assert_eq!(reports.len(), 1);
    let probs = &extras[0];
    assert_eq!(probs.len(), 12 * 12 * 3);
    for cell in probs.chunks(3) {
        let s: f32 = cell.iter().sum();
        assert!((s - 1.0).abs() < 1e-4, "probabilities sum to 1, got {s}");
    }
    // The grid renders.
    let mut svg = String::new();
    {
        let root = plotters::prelude::SVGBackend::with_string(&mut svg, (300, 300)).into_drawing_area();
        let g = plot::BoundaryGrid {
            res: 12,
            classes: 3,
            probs: probs.clone(),
        };
        plot::draw_boundary(
            &root,
            Some(&g),
            &t.objective().dataset().train,
            plot::ChartStyle::default(),
        )
        .unwrap();
        root.present().unwrap();
    }
    assert!(svg.matches("<rect").count() >= 144, "one rectangle per grid cell");
    assert!(svg.matches("<circle").count() >= t.objective().dataset().train.len());
}

#[test]
fn csv_has_the_documented_shape() {
    let r = run(&ExperimentConfig {
        steps: 12,
        ..Default::default()
    });
    let csv = export::to_csv(std::slice::from_ref(&r));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "run,step,train_loss,val_loss");
    assert_eq!(lines.len(), 1 + 12);
    assert!(lines[1].starts_with("0,0,"));
    assert!(
        lines[2].ends_with(','),
        "val_loss is empty where it was not evaluated"
    );
    let summary = export::to_summary_csv(&[r]);
    let mut s = summary.lines();
    assert_eq!(
        s.next(),
        Some(
            "run,final_train_loss,final_val_loss,best_val_loss,diverged,trainable_params,loss_floor,final_val_acc"
        )
    );
    let row: Vec<&str> = s.next().unwrap().split(',').collect();
    assert_eq!(row.len(), 8);
    let acc: f32 = row[7].parse().unwrap();
    assert!(
        (0.0..=1.0).contains(&acc),
        "a classification task's accuracy: {acc}"
    );
    assert_eq!(row[4], "0");
    assert_eq!(row[6], "", "only the planted task has a closed-form floor");
    assert!(row[1].parse::<f32>().is_ok() && row[3].parse::<f32>().is_ok());
}

#[test]
fn the_size_estimate_used_by_the_caps_matches_the_built_model() {
    for (task, width, depth) in [
        (Task::Spiral, 64, 3),
        (Task::Blobs, 7, 1),
        (Task::Xor, 300, 5),
        (Task::Digits, 32, 2),
        (Task::Planted, 64, 3),
    ] {
        let cfg = ExperimentConfig {
            task,
            width,
            depth,
            ..Default::default()
        };
        let trainer = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
        assert_eq!(cfg.parameter_estimate(), trainer.parameter_count(), "{cfg:?}");
    }
}

/// Loss falls on the new tasks too: digits (classification from 64 pixels) and the planted
/// regression, and a pre-trained spiral model adapts to the rotated task.
#[test]
fn loss_falls_on_digits_planted_and_after_the_shift() {
    for q in [
        "task=digits&n=512&w=64&d=2&steps=150&lr=0.003",
        "task=planted&n=512&steps=150&lr=0.01",
        "task=moons&w=32&d=2&steps=150&r=4&asteps=150&lr=0.01&shift=flip",
    ] {
        let cfg = tinytune::link::url::parse_strict(q).unwrap().experiment;
        let run = pollster::block_on(train_run(&cfg, &backend::cpu(), 50)).unwrap();
        assert_eq!(run.reports.len(), cfg.total_steps(), "{q}");
        let first = run.reports[0].val_loss.unwrap();
        let last = run.final_val_loss().unwrap();
        assert!(last < 0.5 * first, "{q}: {first} → {last}");
        if cfg.lora.rank.adapts() && cfg.task != Task::Planted {
            // Validated on both sides of the switch, so the jump is drawn where it happens.
            let at = |s: usize| run.reports[s].val_loss;
            assert!(at(cfg.steps - 1).is_some() && at(cfg.steps).is_some());
            assert!(
                at(cfg.steps).unwrap() > 2.0 * at(cfg.steps - 1).unwrap(),
                "flipped labels hurt at first"
            );
        }
    }
}

/// Every gradient of `model` in `grads`, read back, in visiting order.
fn grad_values<M: burn::module::Module>(model: &M, grads: &burn::optim::GradientsParams) -> Vec<Vec<f32>> {
    use burn::module::{ModuleVisitor, Param};
    use burn::prelude::*;
    struct Read<'a>(&'a burn::optim::GradientsParams, Vec<Vec<f32>>);
    impl ModuleVisitor for Read<'_> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            if let Some(g) = self.0.get::<D>(p.id) {
                self.1
                    .push(g.into_data().convert::<f32>().try_to_vec::<f32>().unwrap());
            }
        }
    }
    let mut read = Read(grads, Vec::new());
    model.visit(&mut read);
    read.1
}

#[test]
fn clipping_scales_every_gradient_by_the_global_norm_as_torch_does() {
    use burn::nn::LinearConfig;
    use burn::optim::GradientsParams;
    use burn::prelude::*;
    use tinytune::train::clip::clip_global_norm;
    let device = backend::cpu().autodiff();
    let layer = LinearConfig::new(3, 2).init(&device);
    let x = Tensor::<2>::from_floats([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]], &device);
    let grads =
        || GradientsParams::from_grads(layer.forward(x.clone()).powi_scalar(2).sum().backward(), &layer);
    let raw = grad_values(&layer, &grads());
    let norm = raw
        .iter()
        .flatten()
        .map(|g| f64::from(*g).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(norm > 1.0, "a gradient worth clipping: {norm}");
    // Above the ceiling: every gradient times c / (‖g‖ + 1e-6), the same factor for all.
    let (clipped, measured) = clip_global_norm(&layer, grads(), norm / 4.0);
    let measured = measured
        .unwrap()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()[0];
    assert!(
        (f64::from(measured) - norm).abs() < 1e-5 * norm,
        "the norm before clipping: {measured} vs {norm}"
    );
    let factor = (norm / 4.0) / (norm + 1e-6);
    for (c, r) in grad_values(&layer, &clipped)
        .iter()
        .flatten()
        .zip(raw.iter().flatten())
    {
        assert!(
            (f64::from(*c) - factor * f64::from(*r)).abs() < 1e-6 * norm,
            "{c} vs {r}·{factor}"
        );
    }
    let after = grad_values(&layer, &clipped)
        .iter()
        .flatten()
        .map(|g| f64::from(*g).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!((after - norm / 4.0).abs() < 1e-5 * norm);
    // Below it: untouched (torch clamps the factor at 1).
    let (kept, _) = clip_global_norm(&layer, grads(), norm * 10.0);
    assert_eq!(grad_values(&layer, &kept), raw);
}

#[test]
fn a_clipped_sgd_run_moves_less_than_an_unclipped_one() {
    // SGD's step is the gradient itself, so a low ceiling slows it (Adam normalises the scale
    // away, as it does in PyTorch); a ceiling no gradient reaches changes nothing.
    let q = "task=spiral&opt=sgd&lr=0.5&steps=40";
    let vals = |q: &str| -> Vec<f32> {
        let r = run(&tinytune::link::url::parse_strict(q).unwrap().experiment);
        r.reports.iter().filter_map(|r| r.val_loss).collect()
    };
    let drop = |v: &[f32]| v[0] - v[v.len() - 1];
    let free = vals(q);
    let clipped = vals(&format!("{q}&clip=0.001"));
    assert!(
        drop(&free) > 0.03 && drop(&clipped) < 0.25 * drop(&free),
        "validation loss fell {} unclipped, {} clipped",
        drop(&free),
        drop(&clipped)
    );
    assert_eq!(vals(&format!("{q}&clip=1000000")), free);
}

#[test]
fn decay_on_matrices_spares_biases_and_norm_gains_as_nanogpt_does() {
    use tinytune::train::groups::param_rates;
    let rates = |q: &str| {
        let cfg = tinytune::link::url::parse_strict(q).unwrap().experiment;
        let t = tinytune::train::GptTrainer::new(&cfg, &backend::cpu()).unwrap();
        param_rates(&cfg, t.model())
    };
    let q = "task=reverse&w=16&d=1&heads=2&ctx=8&seqlen=4&syms=6&wd=0.1";
    let all = rates(q);
    assert!(all.iter().all(|r| r.wd > 0.0), "decay=all decays every tensor");
    let matrices = rates(&format!("{q}&decay=matrices"));
    let vector = |n: &str| n.ends_with("bias") || n.ends_with("gamma") || n.ends_with("beta");
    assert!(matrices.iter().any(|r| vector(&r.name)) && matrices.iter().any(|r| !vector(&r.name)));
    for r in &matrices {
        assert_eq!(r.wd == 0.0, vector(&r.name), "{}: wd {}", r.name, r.wd);
    }
}

#[test]
fn adams_betas_are_knobs_and_sgd_has_none() {
    let cfg = |q: &str| tinytune::link::url::parse_strict(q).unwrap().experiment;
    let nano = cfg("task=spiral&steps=30&beta1=0.8&beta2=0.95");
    assert_eq!((nano.beta1, nano.beta2), (0.8, 0.95));
    let vals =
        |c: &ExperimentConfig| -> Vec<f32> { run(c).reports.iter().filter_map(|r| r.val_loss).collect() };
    assert_ne!(
        vals(&nano),
        vals(&cfg("task=spiral&steps=30")),
        "the betas change the run"
    );
    // The defaults are PyTorch's: spelling them out changes nothing.
    assert_eq!(
        vals(&cfg("task=spiral&steps=30&beta1=0.9&beta2=0.999")),
        vals(&cfg("task=spiral&steps=30"))
    );
    assert!(
        tinytune::link::url::parse_strict("task=spiral&beta2=1").is_err(),
        "β₂ < 1"
    );
    let study = tinytune::link::url::parse("task=spiral&opt=sgd&beta1=0.8").study;
    let why = tinytune::link::applies::Uses::of(&study).unused(&tinytune::keys::BETA1);
    assert_eq!(why, Some("SGD keeps no moments: choose Adam"));
}
