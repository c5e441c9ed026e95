//! Sweeps: grid expansion and its link syntax, caps with reasons, interleaving order, divergence
//! handling, the summary CSV and the sweep chart.

use plotters::prelude::*;
use tinytune::knobs::ExperimentConfig;
use tinytune::link::sweep::{MAX_RUNS, Sweep, interleave};
use tinytune::link::url::{parse, parse_strict, to_query};
use tinytune::model::backend;
use tinytune::report::export;
use tinytune::train::metrics;
use tinytune::{plot, train};

#[test]
fn geometric_and_list_axes_expand_in_run_order() {
    let s = Sweep::parse("lr:2^-4..2^-1*2;w:16,32;seed:1..3").unwrap();
    assert_eq!(s.axes[0].values, ["0.0625", "0.125", "0.25", "0.5"]);
    assert_eq!(s.axes[1].values, ["16", "32"]);
    assert_eq!(s.seeds.as_ref().unwrap().values, ["1", "2", "3"]);
    let points = s.expand(&ExperimentConfig::default()).unwrap();
    assert_eq!(points.len(), 4 * 2 * 3);
    // x axis outermost, then series, then seeds.
    assert_eq!(points[0].config.lr, 0.0625);
    assert_eq!((points[0].config.width, points[0].config.seed), (16, 1));
    assert_eq!((points[1].config.width, points[1].config.seed), (16, 2));
    assert_eq!((points[3].config.width, points[3].config.seed), (32, 1));
    assert_eq!(points[6].config.lr, 0.125);
    assert_eq!(
        tinytune::link::sweep::describe(&points[5].knobs),
        "lr=0.0625 w=32 seed=3"
    );
}

#[test]
fn decimal_ranges_come_out_clean() {
    let s = Sweep::parse("lr:0.0001..0.1*10;bs:16..64+16").unwrap();
    assert_eq!(s.axes[0].values, ["0.0001", "0.001", "0.01", "0.1"]);
    assert_eq!(s.axes[1].values, ["16", "32", "48", "64"]);
    // A '+' typed into a link is decoded as a space; it still means an arithmetic step.
    let typed = parse_strict("sweep=bs:16..64+16").unwrap();
    assert_eq!(typed.sweep.axes[0].values, ["16", "32", "48", "64"]);
}

#[test]
fn categorical_knobs_sweep_too() {
    let s = Sweep::parse("act:relu,tanh,gelu;opt:adam,sgd").unwrap();
    assert_eq!(s.expand(&ExperimentConfig::default()).unwrap().len(), 6);
}

#[test]
fn the_sweep_rides_in_the_link_and_round_trips() {
    let q = "v=1&steps=50&sweep=lr%3A0.001..0.1*10%3Bw%3A16%2C32";
    let cfg = parse_strict(q).unwrap();
    let names: Vec<&str> = cfg.sweep.keys().iter().map(|k| k.name).collect();
    assert_eq!(names, ["lr", "w"]);
    assert_eq!(to_query(&cfg), q);
    assert_eq!(parse_strict(&to_query(&cfg)).unwrap(), cfg);
}

#[test]
fn bad_sweeps_are_refused_with_reasons() {
    let err = |text: &str| Sweep::parse(text).unwrap_err();
    assert!(err("backend:cpu,auto").contains("'backend' cannot be swept"));
    assert!(err("lr:0.1,abc").contains("lr: 'abc' is not a number"));
    assert!(err("lr:1..0.1*2").contains("ends below its start"));
    assert!(err("lr:0.1..1*1").contains("factor must be greater than 1"));
    assert!(err("w:8,16;w:32").contains("w is swept twice"));
    assert!(err("lr:0.1;w:8;d:1,2;act:relu,tanh").contains("at most 3 knobs can be swept"));
    assert!(err("lr0.1").contains("should be key:values"));

    let base = ExperimentConfig::default();
    let too_many = Sweep::parse("lr:2^-20..2^0*2;w:8..1024*2;seed:1..3").unwrap();
    assert!(
        too_many
            .expand(&base)
            .unwrap_err()
            .contains(&format!("the limit is {MAX_RUNS}"))
    );
    let too_much = Sweep::parse("w:512,1024").unwrap();
    let msg = too_much
        .expand(&ExperimentConfig {
            steps: 5000,
            ..base.clone()
        })
        .unwrap_err();
    assert!(msg.contains("GFLOP") && msg.contains("the limit is"), "{msg}");
    let out_of_range = Sweep::parse("w:64,9000").unwrap();
    assert!(
        out_of_range
            .expand(&base)
            .unwrap_err()
            .contains("width must be between 1 and 4096, got 9000")
    );

    // The page reads such a link leniently: it says why and drops the sweep.
    // Each run fits on its own; together they do not.
    let p = parse("w=32&steps=3000&sweep=w:512,768,1024");
    assert!(p.study.sweep.is_empty());
    assert_eq!(p.study.experiment.width, 32);
    assert!(
        p.issues[0].message.starts_with("sweep: the sweep needs about"),
        "{:?}",
        p.issues
    );
}

#[test]
fn interleaving_grows_every_run_together() {
    assert_eq!(
        interleave(&[25, 10, 25], 10),
        [(0, 10), (1, 10), (2, 10), (0, 10), (2, 10), (0, 5), (2, 5)]
    );
    assert!(interleave(&[], 10).is_empty());
}

#[test]
fn a_sweep_with_an_absurd_learning_rate_finishes_and_marks_those_runs() {
    let cfg = parse_strict("steps=60&w=64&d=4&opt=sgd&sweep=lr:0.05,9").unwrap();
    let points = cfg.sweep.expand(&cfg.experiment).unwrap();
    let mut rounds = Vec::new();
    let runs = pollster::block_on(train::train_sweep(&points, &backend::cpu(), 10, |d, t| {
        rounds.push((d, t))
    }))
    .unwrap();
    assert_eq!(runs.len(), 2);
    assert!(
        !runs[0].diverged && runs[0].reports.len() == 60,
        "the sane run trains to the end"
    );
    assert!(runs[1].diverged, "lr=9 blows up");
    assert!(runs[1].reports.len() < 60, "and stops early");
    assert_eq!(rounds.last(), Some(&(2, 2)));
    assert!(
        rounds.first().unwrap().0 < 2,
        "progress is reported while runs are still going"
    );

    let summary = export::to_summary_csv(&runs);
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(
        lines[0],
        "run,lr,final_train_loss,final_val_loss,best_val_loss,diverged,trainable_params,loss_floor,final_val_acc"
    );
    // A classification task's accuracy is a share of the validation set.
    let acc: f64 = lines[1].rsplit(',').next().unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&acc), "accuracy {acc}");
    let diverged = |l: &str| l.split(',').nth(5).map(str::to_string);
    assert!(lines[1].starts_with("0,0.05,") && diverged(lines[1]).as_deref() == Some("0"));
    assert!(lines[2].starts_with("1,9,") && diverged(lines[2]).as_deref() == Some("1"));
    let csv = export::to_csv(&runs);
    assert_eq!(csv.lines().filter(|l| l.starts_with("0,")).count(), 60);
    assert!(csv.lines().any(|l| l.starts_with("1,")));
}

#[test]
fn a_finite_blow_up_counts_as_divergence() {
    let mut run = metrics::Run::new(ExperimentConfig::default());
    let r = |step, train_loss| metrics::StepReport {
        step,
        train_loss,
        val_loss: None,
        coord: None,
        quant_val_loss: None,
        seq: None,
        norms: None,
        singular: None,
        prune: None,
        val_acc: None,
        gns: None,
    };
    run.extend([r(0, 0.7), r(1, 3.0), r(2, 8.0), r(3, 0.5)]);
    assert!(run.diverged);
    assert_eq!(run.reports.len(), 3, "history ends at the blow-up");
}

/// Divergence is measured against the first losses of the current phase: a shifted adaptation
/// task starts high without counting as a blow-up, a val loss ten times its phase's first does.
/// The worker's `Watch` (no reports kept) and the page's `Run` agree report by report.
#[test]
fn divergence_is_measured_against_each_phases_start() {
    let cfg = tinytune::link::url::parse_strict("steps=3&asteps=3&r=2")
        .unwrap()
        .experiment;
    let r = |step, train_loss, val_loss| metrics::StepReport {
        step,
        train_loss,
        val_loss,
        coord: None,
        quant_val_loss: None,
        seq: None,
        norms: None,
        singular: None,
        prune: None,
        val_acc: None,
        gns: None,
    };
    let calm = [
        r(0, 0.7, Some(0.7)),
        r(1, 0.3, None),
        r(2, 0.1, Some(0.1)),
        r(3, 5.0, Some(5.0)),
        r(4, 4.0, None),
    ];
    let mut run = metrics::Run::new(cfg.clone());
    run.extend(calm.clone());
    assert!(
        !run.diverged,
        "the adaptation phase starts high at its own first step"
    );
    let mut watch = metrics::Watch::new(&cfg);
    assert!(calm.iter().all(|x| !watch.see(x)));
    assert!(!watch.finished(), "5 of 6 steps");
    let blown = r(5, 3.0, Some(51.0));
    run.extend([blown.clone()]);
    assert!(run.diverged && watch.see(&blown) && watch.finished());
    assert_eq!(run.reports.len(), 6);
}

#[test]
fn sweep_chart_draws_one_curve_per_series_with_best_and_diverged_marks() {
    let cfg = parse_strict("steps=30&w=16&sweep=lr:2^-8..2^-2*4;d:1,2").unwrap();
    let points = cfg.sweep.expand(&cfg.experiment).unwrap();
    let mut runs = pollster::block_on(train::train_sweep(&points, &backend::cpu(), 10, |_, _| {})).unwrap();
    runs[0].diverged = true; // as if the first point had blown up
    let (x_key, series) = plot::sweep_series(&runs, Default::default()).unwrap();
    assert_eq!(x_key.name, "lr");
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].label, "d=1");
    assert_eq!(series[0].points.len(), 4);
    assert_eq!(series[0].points[0].1, None);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 400)).into_drawing_area();
        plot::draw_sweep(
            &root,
            x_key,
            &series,
            Default::default(),
            plot::ChartStyle::default(),
        )
        .unwrap();
        root.present().unwrap();
    }
    assert!(
        svg.contains("\nd=1\n") && svg.contains("\nd=2\n"),
        "legend names the series"
    );
    assert!(
        svg.contains("\n2^-8\n"),
        "learning rates are labelled as powers of two"
    );
    // Empty sweeps render an empty frame rather than failing.
    let mut empty = String::new();
    {
        let root = SVGBackend::with_string(&mut empty, (640, 400)).into_drawing_area();
        plot::draw_sweep(
            &root,
            &tinytune::keys::LR,
            &[],
            Default::default(),
            plot::ChartStyle::default(),
        )
        .unwrap();
        root.present().unwrap();
    }
    assert!(empty.contains("<svg"));
}

#[test]
fn json_export_holds_config_knobs_and_every_step() {
    let cfg = parse_strict("steps=12&w=8&sweep=lr:0.01,9;d:1,2").unwrap();
    let points = cfg.sweep.expand(&cfg.experiment).unwrap();
    let mut runs = pollster::block_on(train::train_sweep(&points, &backend::cpu(), 5, |_, _| {})).unwrap();
    runs[0].reports[1].val_loss = Some(f32::NAN);
    let v: serde_json::Value = serde_json::from_str(&export::to_json(&runs)).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 4);
    assert_eq!(list[1]["knobs"]["lr"], "0.01");
    assert_eq!(list[1]["knobs"]["d"], "2");
    let link = list[1]["link"].as_str().unwrap();
    let back = parse_strict(link).unwrap().experiment;
    assert_eq!(
        (back.lr, back.depth, back.width, back.steps),
        (0.01, 2, 8, 12),
        "the link replays the run"
    );
    assert_eq!(list[0]["steps"].as_array().unwrap().len(), 12);
    assert!(list[0]["steps"][1]["val_loss"].is_null(), "NaN becomes null");
    assert_eq!(list[0]["steps"][0]["step"], 0);
    assert!(list[0]["final_val_loss"].is_number());
    assert!(
        list[0]["quant_val_loss"].is_null(),
        "no PTQ, no rounded model's loss"
    );
    // A PTQ sweep's export keeps each run's rounded model's loss, as its CSV does.
    let cfg = parse_strict("task=moons&steps=4&w=8&sweep=bits:4,32").unwrap();
    let points = cfg.sweep.expand(&cfg.experiment).unwrap();
    let runs = pollster::block_on(train::train_sweep(&points, &backend::cpu(), 5, |_, _| {})).unwrap();
    let v: serde_json::Value = serde_json::from_str(&export::to_json(&runs)).unwrap();
    let quant = v[0]["quant_val_loss"].as_f64().expect("4 bits: PTQ's loss");
    assert_eq!(Some(quant as f32), runs[0].quant_val_loss());
    assert!(v[1]["quant_val_loss"].is_null(), "32 bits: a float run");
}

#[test]
fn heatmap_of_a_two_knob_sweep_marks_best_and_diverged_cells() {
    let cfg = parse_strict("steps=20&w=8&sweep=lr:0.003,0.03;d:1,2,3;seed:1,2").unwrap();
    let points = cfg.sweep.expand(&cfg.experiment).unwrap();
    let mut runs = pollster::block_on(train::train_sweep(&points, &backend::cpu(), 10, |_, _| {})).unwrap();
    // Both seeds of (lr=0.003, d=1) diverged → that cell has no value.
    runs[0].diverged = true;
    runs[1].diverged = true;
    let hm = plot::sweep_heatmap(&runs, Default::default()).unwrap();
    assert_eq!((hm.x_key.name, hm.y_key.name), ("lr", "d"));
    assert_eq!(hm.xs, ["0.003", "0.03"]);
    assert_eq!(hm.ys, ["1", "2", "3"]);
    assert_eq!(hm.cells.len(), 6);
    assert_eq!(hm.cells[0], plot::Cell::Diverged);
    let mean = (runs[2].final_val_loss().unwrap() + runs[3].final_val_loss().unwrap()) as f64 / 2.0;
    let plot::Cell::Loss(cell) = hm.cells[2] else {
        panic!("cell (lr=0.003, d=2) has a loss")
    };
    assert!((cell - mean).abs() < 1e-6, "seeds are averaged (lr=0.003, d=2)");
    // A cell whose runs have not reported yet is empty, not diverged.
    let mut fresh = runs.clone();
    for r in &mut fresh[4..6] {
        r.reports.clear();
    }
    assert_eq!(
        plot::sweep_heatmap(&fresh, Default::default()).unwrap().cells[4],
        plot::Cell::Empty
    );
    let (_, series) = plot::sweep_series(&fresh, Default::default()).unwrap();
    assert!(
        series
            .iter()
            .all(|s| s.points.iter().all(|p| p.1.is_some() || p.0 == 0.003)),
        "no × for runs without data"
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (500, 400)).into_drawing_area();
        plot::draw_heatmap(&root, &hm, plot::ChartStyle::default()).unwrap();
        root.present().unwrap();
    }
    assert!(
        svg.contains("\n0.003\n") && svg.contains("\n3\n"),
        "axes name the swept values"
    );
    assert!(
        svg.contains("stroke=\"#000000\" stroke-width=\"3\""),
        "the best cell is outlined"
    );
    assert!(plot::sweep_heatmap(&runs[..0], Default::default()).is_none());
}

#[test]
fn overlay_draws_a_ramp_of_curves_and_hover_targets() {
    let cfg = parse_strict("steps=20&w=8&sweep=w:8,16,32").unwrap();
    let points = cfg.sweep.expand(&cfg.experiment).unwrap();
    let runs = pollster::block_on(train::train_sweep(&points, &backend::cpu(), 10, |_, _| {})).unwrap();
    let mut svg = String::new();
    let hover = {
        let root = SVGBackend::with_string(&mut svg, (640, 400)).into_drawing_area();
        let mut opts = plot::CurveOptions::new(true, 20);
        opts.log_x = true;
        let h = plot::draw_curves(&root, &runs, opts, plot::ChartStyle::default()).unwrap();
        root.present().unwrap();
        h
    };
    for i in 0..3 {
        let c = plot::ramp(i, 3);
        let hex = format!("stroke=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
        assert!(svg.contains(&hex), "run {i} has its ramp colour");
    }
    assert!(
        svg.contains("\nw=8\n") && svg.contains("\nw=32\n"),
        "legend names the swept values"
    );
    assert!(svg.contains("step (log)"));
    assert_eq!(hover.len(), 3 * 20, "one hover target per step per run");
    assert!(hover[0].text.starts_with("step 0 · ") && hover[0].text.ends_with("w=8"));
    assert!(
        hover
            .iter()
            .all(|h| h.px > 0 && h.py > 0 && h.px < 640 && h.py < 400)
    );
}

#[test]
fn ema_starts_at_the_first_value_and_smooths() {
    let e = plot::ema(&[1.0, 0.0, 0.0], 0.5);
    assert_eq!(e, [1.0, 0.5, 0.25]);
    assert_eq!(plot::ema(&[3.0, 1.0], 0.0), [3.0, 1.0]);
}

#[test]
fn a_batched_readback_goes_back_to_its_runs_even_when_one_diverges_mid_share() {
    let r = |step, train_loss| metrics::StepReport {
        step,
        train_loss,
        val_loss: None,
        coord: None,
        quant_val_loss: None,
        seq: None,
        norms: None,
        singular: None,
        prune: None,
        val_acc: None,
        gns: None,
    };
    let mut runs = vec![
        metrics::Run::new(ExperimentConfig::default()),
        metrics::Run::new(ExperimentConfig::default()),
    ];
    // Run 0 blows up at its second report; its last two reports must not spill into run 1.
    let reports = vec![
        r(0, 0.7),
        r(1, f32::NAN),
        r(2, 9.0),
        r(3, 9.0),
        r(0, 0.69),
        r(1, 0.68),
        r(2, 0.67),
    ];
    metrics::assign_reports(&mut runs, &[(0, 4), (1, 3)], reports);
    assert!(runs[0].diverged);
    assert_eq!(runs[0].reports.len(), 2);
    assert!(!runs[1].diverged);
    assert_eq!(
        runs[1].reports.iter().map(|s| s.train_loss).collect::<Vec<_>>(),
        [0.69, 0.68, 0.67]
    );
}

#[test]
fn integer_ranges_are_exact_and_messages_stay_short() {
    let s = Sweep::parse("seed:5000000000..5000000002").unwrap();
    assert_eq!(
        s.seeds.unwrap().values,
        ["5000000000", "5000000001", "5000000002"]
    );
    let s = Sweep::parse("steps:100..400+100").unwrap();
    assert_eq!(s.axes[0].values, ["100", "200", "300", "400"]);
    let long = format!("w:{}", "9".repeat(200));
    let msg = Sweep::parse(&format!("{long}..1")).unwrap_err();
    assert!(msg.len() < 160, "{msg}");
    let msg = Sweep::parse(&"x".repeat(250)).unwrap_err();
    assert!(msg.len() < 160, "{msg}");
    assert!(
        Sweep::parse("lr:2^1024..2^1025*2")
            .unwrap_err()
            .contains("out of range")
    );
}

#[test]
fn total_steps_are_capped_even_for_tiny_models() {
    let base = ExperimentConfig {
        width: 1,
        depth: 1,
        steps: 100_000,
        ..Default::default()
    };
    let s = Sweep::parse("lr:0.001,0.01,0.1").unwrap();
    let msg = s.expand(&base).unwrap_err();
    assert!(
        msg.contains("300000 steps in all") && msg.contains("the limit is 200000"),
        "{msg}"
    );
}
