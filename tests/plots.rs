//! Charts render to SVG for the empty, normal and diverged cases, on log and linear axes.

use plotters::prelude::*;
use tinytune::knobs::ExperimentConfig;
use tinytune::plot::{ChartStyle, CurveOptions, draw_boundary, draw_curves};
use tinytune::train::metrics::{Run, StepReport};

/// Series colours as plotters writes them into SVG.
const TRAIN: &str = "stroke=\"#1F77B4\"";
const VAL: &str = "stroke=\"#D62728\"";

fn svg(runs: &[Run], log_y: bool) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (640, 400)).into_drawing_area();
        let opts = CurveOptions::new(log_y, 100);
        draw_curves(&root, runs, opts, ChartStyle::default()).expect("draws");
        root.present().unwrap();
    }
    out
}

fn run_with(losses: &[f32]) -> Run {
    let mut run = Run::new(ExperimentConfig::default());
    run.extend(losses.iter().enumerate().map(|(i, &l)| StepReport {
        step: i,
        train_loss: l,
        val_loss: (i % 10 == 0).then_some(l * 1.1),
        coord: None,
        quant_val_loss: None,
        seq: None,
        norms: None,
        singular: None,
        prune: None,
        val_acc: None,
        gns: None,
    }));
    run
}

#[test]
fn empty_chart_has_axes_and_a_hint() {
    for log_y in [true, false] {
        let s = svg(&[], log_y);
        assert!(s.contains("press Train"));
        assert!(!s.contains(TRAIN) && !s.contains(VAL), "no data, no data lines");
    }
}

#[test]
fn a_run_draws_train_and_validation_with_a_legend() {
    let losses: Vec<f32> = (0..60).map(|i| 0.7 * (-(i as f32) / 15.0).exp()).collect();
    let run = run_with(&losses);
    let s = svg(std::slice::from_ref(&run), true);
    let solid = format!("opacity=\"1\" {TRAIN}");
    let faint = format!("opacity=\"0.22\" {TRAIN}");
    assert_eq!(
        s.matches(&solid).count(),
        2,
        "smoothed train line and its legend mark"
    );
    assert_eq!(s.matches(&faint).count(), 1, "the raw line, faint, behind it");
    assert_eq!(s.matches(VAL).count(), 2, "validation series and its legend mark");
    assert!(s.contains("\ntrain (EMA)\n") && s.contains("\nvalidation\n"));
    assert!(
        s.contains("\n0.1\n") && s.contains("\n1\n"),
        "log axis labels whole decades"
    );
    let s = svg(&[run], false);
    assert!(s.contains(TRAIN) && s.contains(VAL));
}

#[test]
fn a_diverged_run_is_marked() {
    let run = run_with(&[0.7, 0.9, 5.0, f32::NAN]);
    assert!(run.diverged);
    for log_y in [true, false] {
        let s = svg(std::slice::from_ref(&run), log_y);
        assert!(s.contains("\ndiverged\n"));
    }
}

#[test]
fn boundary_without_a_grid_still_shows_the_points() {
    let cfg = tinytune::link::url::parse_strict("task=moons&n=50&seed=3")
        .unwrap()
        .experiment;
    let data = tinytune::data::generate(&cfg);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (300, 300)).into_drawing_area();
        draw_boundary(&root, None, &data.train, ChartStyle::default()).unwrap();
        root.present().unwrap();
    }
    assert!(out.matches("<circle").count() >= 50);
}

/// The rank staircase: measured losses, the Eckart–Young floor, full fine-tuning, and the
/// parameter axis; and the small spectrum chart of a learned ΔW.
#[test]
fn staircase_and_spectrum_render() {
    let study =
        tinytune::link::url::parse_strict("task=planted&dim=16&pr=2&n=512&steps=60&sweep=r:0,1,2,4").unwrap();
    let cfg = study.experiment.clone();
    let points = study.runs();
    let runs = pollster::block_on(tinytune::train::train_sweep(
        &points,
        &tinytune::model::backend::cpu(),
        30,
        |_, _| {},
    ))
    .unwrap();
    let (x_key, series) = tinytune::plot::sweep_series(&runs, Default::default()).unwrap();
    assert!(tinytune::plot::is_rank_sweep(x_key));
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (900, 540)).into_drawing_area();
        tinytune::plot::draw_staircase(&root, &series, &cfg, Default::default(), ChartStyle::default())
            .unwrap();
        root.present().unwrap();
    }
    for text in [
        "Eckart–Young floor",
        "full fine-tuning",
        "trainable parameters",
        "LoRA rank r (log2)",
    ] {
        assert!(out.contains(text), "missing {text}");
    }
    // Every finished rank > 0 run left its spectrum: r values, numerically rank ≤ r.
    let spectra = &runs
        .iter()
        .find(|r| r.config.lora.rank == tinytune::knobs::lora::Rank::of(2))
        .unwrap()
        .spectra;
    assert_eq!(spectra.len(), 1);
    assert_eq!(spectra[0].singular.len(), 2);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (400, 260)).into_drawing_area();
        tinytune::plot::draw_spectrum(&root, spectra, Some(&[4.0, 2.0]), ChartStyle::default()).unwrap();
        root.present().unwrap();
    }
    assert!(svg.contains("readout (rank") && svg.contains("planted σ*"));
}

#[test]
fn a_blown_up_run_does_not_flatten_the_other_curves() {
    let calm = run_with(&[2.0, 1.5, 1.0, 0.8, 0.6]);
    let blown = run_with(&[2.0, 1e6]);
    assert!(blown.diverged);
    let both = svg(&[calm.clone(), blown], true);
    let alone = svg(&[calm], true);
    // The loss axis is the calm run's alone (whole decades up to 10), not stretched to 1e6.
    let labels = |svg: &str| -> Vec<f64> {
        svg.split("</text>")
            .filter_map(|t| t.rsplit('>').next())
            .filter_map(|t| t.trim().parse::<f64>().ok())
            .collect()
    };
    let (both, alone) = (labels(&both), labels(&alone));
    assert!(
        !both.contains(&1e5) && !both.contains(&1e6),
        "loss axis stretched by the blow-up: {both:?}"
    );
    assert!(!alone.is_empty());
    assert_eq!(both, alone, "same axes with and without the blown-up run");
}

#[test]
fn the_transformers_charts_render() {
    use tinytune::train::metrics::SeqStats;
    use tinytune::train::sequence_views::SeqViews;
    let mut run = run_with(&[2.0, 1.5, 1.0]);
    run.config = tinytune::link::url::parse_strict("task=copy").unwrap().experiment;
    for (i, r) in run.reports.iter_mut().enumerate() {
        r.seq = Some(SeqStats {
            max_logit: 3.0 + i as f32,
            log_z: 2.0,
            z_loss: None,
            train_acc: Some(0.5 + 0.2 * i as f32),
            val_acc: Some(0.1 * i as f32),
        });
    }
    assert!(tinytune::plot::has_seq_stats(std::slice::from_ref(&run)));
    let mut stats = String::new();
    {
        let root = SVGBackend::with_string(&mut stats, (800, 280)).into_drawing_area();
        tinytune::plot::draw_seq_stats(&root, std::slice::from_ref(&run), 3, ChartStyle::default()).unwrap();
        root.present().unwrap();
    }
    for label in [
        "exact-match accuracy",
        "validation",
        "train",
        "max attention logit",
        "log Z",
    ] {
        assert!(stats.contains(label), "{label}");
    }
    assert!(!stats.contains("log Z (log)"), "calm logits keep a linear axis");
    // Logits that grow a hundredfold switch the proxies' panel to a log axis.
    let mut wild = run.clone();
    if let Some(s) = wild.reports[2].seq.as_mut() {
        s.max_logit = 500.0;
    }
    let mut log = String::new();
    {
        let root = SVGBackend::with_string(&mut log, (800, 280)).into_drawing_area();
        tinytune::plot::draw_seq_stats(&root, &[run.clone(), wild], 3, ChartStyle::default()).unwrap();
        root.present().unwrap();
    }
    assert!(log.contains("log Z (log)"));
    let views = SeqViews {
        t: 3,
        pattern: vec![1.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.2, 0.3, 0.5],
        labels: vec!["a".into(), "|".into(), "\n".into()],
        block: 1,
        answers: Vec::new(),
        sample: None,
    };
    let mut attn = String::new();
    {
        let root = SVGBackend::with_string(&mut attn, (300, 300)).into_drawing_area();
        tinytune::plot::draw_attention(&root, &views, ChartStyle::default()).unwrap();
        root.present().unwrap();
    }
    assert!(attn.contains("block 2 · head 1"), "the title names the head");
    assert!(attn.contains("⏎"), "a newline token is drawn as ⏎");
    assert!(
        attn.matches("<rect").count() >= 9,
        "one cell per pair of positions"
    );
}

#[test]
fn a_sweep_over_few_values_ticks_those_values_only() {
    use tinytune::knobs::view::SweepMetric;
    use tinytune::plot::{SweepSeries, draw_sweep};
    // gpt-grok's weight decay 0 and 1: the axis once ran from -0.4 to 1.4 with a tick "-6e-17".
    let draw = |xs: &[f64]| {
        let series = [SweepSeries {
            label: String::new(),
            value: String::new(),
            bytes: Vec::new(),
            points: xs.iter().map(|&x| (x, Some(1.0 + x))).collect(),
        }];
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (640, 400)).into_drawing_area();
            draw_sweep(
                &root,
                &tinytune::keys::WD,
                &series,
                SweepMetric::Final,
                ChartStyle::default(),
            )
            .unwrap();
            root.present().unwrap();
        }
        out
    };
    let ticks = |svg: &str| -> Vec<String> {
        // Tick labels are the texts in the x label area: numbers alone.
        svg.split("</text>")
            .filter_map(|t| t.rsplit('>').next().map(str::trim))
            .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || ".-e".contains(c)))
            .map(str::to_string)
            .collect()
    };
    let two = draw(&[0.0, 1.0]);
    assert!(
        !two.contains("e-17") && !two.contains(">-0.4<"),
        "no invented ticks"
    );
    let x: Vec<String> = ticks(&two)
        .into_iter()
        .filter(|t| t == "0" || t == "1" || t.contains('.'))
        .collect();
    assert!(
        x.contains(&"0".to_string()) && x.contains(&"1".to_string()),
        "{x:?}"
    );
    assert!(
        !x.iter()
            .any(|t| ["0.2", "0.4", "0.6", "0.8", "-0.2"].contains(&t.as_str())),
        "{x:?}"
    );
    let three = draw(&[0.0, 0.1, 0.3]);
    let t3 = ticks(&three);
    assert!(
        t3.contains(&"0.1".to_string())
            && t3.contains(&"0.3".to_string())
            && !t3.contains(&"0.2".to_string()),
        "{t3:?}"
    );
}
