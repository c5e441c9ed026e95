//! A sweep over several training workers (#33): how many (`jobs`, cores, runs, the memory cap),
//! which runs each takes, and that a run's curve is the same whichever worker trains it.

use tinytune::experiment::pool::{by_work, shares, workers};
use tinytune::knobs::ExperimentConfig;
use tinytune::knobs::view::Jobs;
use tinytune::link::url::{parse, parse_strict, to_query};
use tinytune::model::backend;
use tinytune::train;

fn configs(query: &str) -> Vec<ExperimentConfig> {
    let study = parse_strict(query).unwrap();
    let points = study.sweep.expand(&study.experiment).unwrap();
    points.into_iter().map(|p| p.config).collect()
}

#[test]
fn jobs_reads_auto_or_a_count_and_refuses_the_rest() {
    assert_eq!(Jobs::parse("auto"), Ok(Jobs::Auto));
    assert_eq!(Jobs::parse(""), Ok(Jobs::Auto));
    assert_eq!(Jobs::parse("3"), Ok(Jobs::Count(3)));
    for bad in ["0", "17", "-1", "two", "1.5"] {
        assert!(Jobs::parse(bad).is_err(), "{bad}");
    }
    // A view key: in the link when set, the default written by none, and a bad value warned
    // about with the default kept.
    let study = parse("v=1&jobs=4&sweep=lr:0.01,0.1").study;
    assert_eq!(study.view.jobs, Jobs::Count(4));
    assert!(to_query(&study).contains("jobs=4"));
    assert!(!to_query(&parse("v=1").study).contains("jobs"));
    let bad = parse("v=1&jobs=99");
    assert_eq!(bad.study.view.jobs, Jobs::Auto);
    assert!(
        bad.issues.iter().any(|i| i.message.contains("jobs")),
        "{:?}",
        bad.issues
    );
    assert!(parse_strict("jobs=99").is_err(), "the CLI refuses it");
}

#[test]
fn workers_are_the_cores_asked_for_at_most_one_a_run() {
    let six = configs("sweep=lr:0.001,0.003,0.01,0.03,0.1,0.3");
    assert_eq!(workers(Jobs::Auto, 8, &six), 6, "no more than the runs");
    assert_eq!(workers(Jobs::Auto, 3, &six), 3);
    assert_eq!(
        workers(Jobs::Auto, 0, &six),
        1,
        "a machine that says nothing gets one"
    );
    assert_eq!(workers(Jobs::Count(2), 8, &six), 2, "a count caps auto's cores");
    assert_eq!(
        workers(Jobs::Count(16), 1, &six),
        6,
        "a count is taken as asked, within the runs"
    );
    assert_eq!(workers(Jobs::Auto, 8, &configs("steps=10")[..1]), 1);
}

#[test]
fn the_memory_cap_counts_every_workers_program_and_step() {
    // A pool adds a copy a worker of the program and of a step's activations (a run's state is
    // in one worker or another): as many workers as those copies fit in the 1 GB cap.
    let c = configs("task=text&w=128&d=2&heads=4&ctx=64&bs=32&n=1024&steps=20&sweep=lr:0.001..0.016+0.001");
    let items = c[0].memory();
    let each: f64 = items[0].bytes + items.iter().filter(|m| m.step).map(|m| m.bytes).sum::<f64>();
    assert!(
        items.iter().any(|m| !m.step && m.what.starts_with("weights")),
        "state is not a step's"
    );
    let fit = (1e9 / each).floor() as usize;
    assert!((2..16).contains(&fit), "the case tests the cap: {fit} fit");
    assert_eq!(workers(Jobs::Auto, 64, &c), fit);
    // A long context's attention scores take 235 MB a step: three workers' copies fit.
    let long = configs("task=text&ctx=512&heads=8&w=64&d=1&bs=7&n=1024&steps=5&sweep=lr:0.001..0.008+0.001");
    assert_eq!(long.len(), 8);
    assert_eq!(workers(Jobs::Auto, 64, &long), 3);
    // e4's 130 runs hold about 2 GB of state in all, as one worker holds them; a pool's
    // copies of the program and a step are small beside the cap.
    let e4 = configs(tinytune::link::presets::find("e4").unwrap().query);
    let state: f64 = e4
        .iter()
        .map(|c| {
            c.memory()
                .iter()
                .filter(|m| !m.step)
                .map(|m| m.bytes)
                .sum::<f64>()
        })
        .sum();
    assert!(state > 1e9, "{state:e}");
    assert_eq!(workers(Jobs::Auto, 15, &e4), 15);
}

#[test]
fn shares_take_every_run_once_in_run_order_and_balance_the_work() {
    let c = configs("d=1&steps=100&sweep=lr:0.001,0.01;w:32,64,128,256");
    for k in 1..=5 {
        let s = shares(&c, k);
        assert_eq!(s.len(), k.min(c.len()));
        let mut all: Vec<usize> = s.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..c.len()).collect::<Vec<_>>(), "{k} shares");
        for share in &s {
            assert!(share.windows(2).all(|w| w[0] < w[1]), "in run order: {share:?}");
        }
    }
    // Two widths' runs differ 64× in work; the two shares' work differs by less than a small run.
    let work = |share: &[usize]| share.iter().map(|&i| c[i].training_flops()).sum::<f64>();
    let s = shares(&c, 2);
    let gap = (work(&s[0]) - work(&s[1])).abs();
    assert!(gap <= c[3].training_flops(), "{s:?}: {gap:e}");
    // The same every time.
    assert_eq!(shares(&c, 3), shares(&c, 3));
    // The CLI's threads take the runs heaviest first: the widest, in run order among equals.
    let order = by_work(&c);
    assert_eq!(&order[..2], &[3, 7]);
    assert_eq!(&order[6..], &[0, 4]);
}

#[test]
fn a_pooled_sweep_gives_each_run_the_curve_it_has_alone() {
    let study = parse_strict("steps=40&w=32&sweep=lr:0.003,0.03,9;seed:1,2").unwrap();
    let points = study.sweep.expand(&study.experiment).unwrap();
    let device = backend::cpu();
    let alone = pollster::block_on(train::train_sweep(&points, &device, 7, |_, _| {})).unwrap();
    for k in [2, 3] {
        let last = std::sync::Mutex::new((0, 0));
        let alone_groups: Vec<Vec<usize>> = (0..points.len()).map(|i| vec![i]).collect();
        let pooled = train::train_sweep_pooled(&points, &device, 7, &alone_groups, k, |d, t| {
            *last.lock().unwrap() = (d, t);
        })
        .unwrap();
        assert_eq!(
            *last.lock().unwrap(),
            (6, 6),
            "progress counts every share's runs"
        );
        assert_eq!(pooled.len(), alone.len());
        for (a, b) in alone.iter().zip(&pooled) {
            assert_eq!(a.config, b.config, "in the sweep's order");
            assert_eq!(a.diverged, b.diverged);
            assert_eq!(a.reports, b.reports, "{} with {k} shares", a.config.label());
        }
    }
    assert!(
        alone.iter().any(|r| r.diverged),
        "lr = 9 diverges and the others go on"
    );
}
