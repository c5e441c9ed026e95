//! Scaling-law fits (docs/EXPERIMENTS.md E14; `data::powerlaw`, `plot::scaling`): on the planted
//! teacher with power-law singular values σᵢ = 4/i, the rank-r adapters' losses sit on the
//! Eckart–Young floors, whose own fit is known; the figure fits the trained losses to the same
//! law, holds the largest size out, and draws the compute frontier; it appears for a size sweep
//! with seeds only. A sweep over a size and the data together is fitted to one law L(N, D).

use tinytune::data::joint_law::{self, JointLaw};
use tinytune::data::planted::Teacher;
use tinytune::data::powerlaw::{self, Floor};
use tinytune::link::url::parse_strict;
use tinytune::model::backend;
use tinytune::plot;
use tinytune::report::{Chart, Figures, Results};
use tinytune::train::metrics::Run;

fn sweep(link: &str) -> (tinytune::link::study::Study, Vec<Run>) {
    let study = parse_strict(link).unwrap();
    let runs = pollster::block_on(tinytune::train::train_sweep(
        &study.runs(),
        &backend::cpu(),
        50,
        |_, _| {},
    ))
    .unwrap();
    (study, runs)
}

/// The charts a study shows, its main one, and the scaling chart as SVG where it is shown.
fn charts(study: &tinytune::link::study::Study, runs: &[Run]) -> (Vec<Chart>, Chart, Option<String>) {
    let points = tinytune::page::boundary_points(&study.experiment);
    let figures = Figures::of(Results {
        study,
        runs,
        grid: None,
        points: &points,
        planted_sigma: None,
        before: None,
    });
    let svg = figures
        .shown(Chart::Scaling)
        .then(|| tinytune::report::svg(&figures, Chart::Scaling, (1100, 480), "scaling").unwrap());
    (figures.shown_charts(), figures.main(), svg)
}

fn shown(study: &tinytune::link::study::Study, runs: &[Run]) -> Vec<Chart> {
    charts(study, runs).0
}

#[test]
fn the_fit_of_trained_ranks_matches_the_fit_of_their_eckart_young_floors() {
    let (study, runs) = sweep(
        "task=planted&dim=32&pr=32&sv=pow&n=4096&bs=256&steps=600&lr=0.003&sweep=r:1,2,4,8,16;seed:1,2",
    );
    let s = plot::scaling(&runs, study.view.metric).expect("a rank sweep with seeds is fitted");
    assert_eq!(s.points.len(), 10);
    // The floors of σᵢ = 4/i, i ≤ 32, at N = 64·r trainable parameters.
    let cfg = &study.experiment;
    let floors: Vec<(f64, f64)> = [1, 2, 4, 8, 16]
        .iter()
        .map(|&r| ((r * 64) as f64, Teacher::new(&cfg.planted, 1).floor(Some(r))))
        .collect();
    let theory = powerlaw::fit(&floors, Floor::Fitted).unwrap();
    assert!(
        (s.all.alpha - theory.alpha).abs() < 0.1,
        "trained α {} against the floors' {}",
        s.all.alpha,
        theory.alpha
    );
    let (lo, hi) = s.interval().expect("an interval");
    assert!(
        lo <= s.all.alpha + 1e-9 && s.all.alpha <= hi + 1e-9,
        "{lo}–{hi} around {}",
        s.all.alpha
    );
    // Held out: the largest size, predicted by the fit of the others.
    let (f, n, measured) = s.held_out.expect("a held-out fit");
    assert_eq!(n, 1024.0);
    let mean = s.points.iter().filter(|p| p.0 == n).map(|p| p.1).sum::<f64>() / 2.0;
    assert!((measured - mean).abs() < 1e-12);
    assert!(f.at(n) > 0.0 && f.alpha != s.all.alpha);
    // The compute panel: one curve a run; the frontier falls and ends at the lowest loss.
    assert_eq!(s.compute.len(), 10);
    let front = plot::frontier(&s.compute);
    assert!(front.windows(2).all(|w| w[1].0 >= w[0].0 && w[1].1 < w[0].1));
    let lowest = s
        .compute
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.1))
        .fold(f64::INFINITY, f64::min);
    assert_eq!(front.last().unwrap().1, lowest);
    // C = 6·N·D: a run's first evaluation (step 0) has read one batch of 256 examples.
    let (n0, c0) = (s.compute[0].0, s.compute[0].1[0].0);
    assert_eq!(c0, 6.0 * n0 * 256.0);
    let (_, main, svg) = charts(&study, &runs);
    assert_eq!(main, Chart::Scaling);
    let svg = svg.expect("the scaling chart is shown");
    assert!(svg.contains("compute frontier") && svg.contains("fit without the largest"));
}

#[test]
fn a_sweep_over_the_training_examples_is_fitted_against_the_data() {
    let (study, runs) = sweep("task=digits&w=16&d=1&bs=64&steps=60&lr=0.01&sweep=n:64,128,256,512;seed:1,2");
    let s = plot::scaling(&runs, study.view.metric).expect("a data sweep with seeds is fitted");
    assert_eq!(s.size, plot::ScalingSize::Data);
    let mut xs: Vec<f64> = s.points.iter().map(|p| p.0).collect();
    xs.dedup();
    assert_eq!(xs, [64.0, 128.0, 256.0, 512.0]);
    // The compute panel still counts the model's parameters: every run has the same N here, so
    // equal steps are equal compute.
    let c: Vec<f64> = s.compute.iter().map(|(_, curve)| curve[0].0).collect();
    assert!(c.windows(2).all(|w| w[0] == w[1]), "{c:?}");
    assert_eq!(s.compute[0].0, 64.0);
}

#[test]
fn a_sweep_over_width_and_data_is_fitted_to_one_law_of_both() {
    let (study, runs) =
        sweep("task=digits&d=1&bs=64&steps=60&lr=0.01&metric=best&sweep=w:4,8,16,32;n:64,128,256;seed:1,2");
    let j = plot::joint(&runs, study.view.metric).expect("a width × data sweep with seeds is fitted");
    assert_eq!(j.points.len(), 24);
    let distinct = |f: fn(&(f64, f64, f64)) -> f64| {
        let mut v: Vec<f64> = j.points.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let (ns, ds) = (distinct(|p| p.0), distinct(|p| p.1));
    assert_eq!(ds, [64.0, 128.0, 256.0]);
    assert_eq!(ns.len(), 4);
    // The points are each run's early-stopped loss at its trainable parameters and examples.
    for r in &runs {
        let (n, d) = (r.config.trainable_params() as f64, r.config.points as f64);
        let l = f64::from(r.sweep_loss(study.view.metric).unwrap());
        assert!(j.points.contains(&(n, d, l)), "{n} {d} {l}");
    }
    // The law is the least-squares optimum of the relative residuals: its sum of squares is its
    // profile's at its exponents, and no neighbour on the profile (exponents moved by 0.2 %, the
    // best E, A, B for them) fits better; nor does moving E, A or B alone by 1 %.
    let sse = |f: JointLaw| -> f64 {
        j.points
            .iter()
            .map(|p| ((p.2 - f.at(p.0, p.1)) / p.2).powi(2))
            .sum()
    };
    let f = j.law;
    let best = sse(f);
    let (at_fit, profile_sse) = joint_law::profile(&j.points, f.alpha, f.beta).unwrap();
    assert_eq!(at_fit, f);
    assert!(
        (profile_sse - best).abs() < 1e-9 * (1.0 + best),
        "{profile_sse} against {best}"
    );
    let (lo, hi) = tinytune::data::powerlaw::ALPHA_RANGE;
    for (da, db) in [
        (1.002, 1.0),
        (0.998, 1.0),
        (1.0, 1.002),
        (1.0, 0.998),
        (1.002, 1.002),
        (0.998, 0.998),
    ] {
        let (a, b) = ((f.alpha * da).clamp(lo, hi), (f.beta * db).clamp(lo, hi));
        let (g, e) = joint_law::profile(&j.points, a, b).unwrap();
        assert!(best <= e + 1e-12, "{f:?} ({best}) against {g:?} ({e})");
    }
    for g in [
        JointLaw { a: f.a * 1.01, ..f },
        JointLaw { a: f.a * 0.99, ..f },
        JointLaw { b: f.b * 1.01, ..f },
        JointLaw { b: f.b * 0.99, ..f },
        JointLaw { e: f.e + 1e-3, ..f },
        JointLaw {
            e: (f.e - 1e-3).max(0.0),
            ..f
        },
    ] {
        assert!(
            best <= sse(g) + 1e-12,
            "{f:?} ({best}) against {g:?} ({})",
            sse(g)
        );
    }
    assert!(f.a > 0.0 && f.b > 0.0 && f.e >= 0.0, "{f:?}");
    let ((a_lo, a_hi), (b_lo, b_hi)) = j.intervals().expect("intervals");
    assert!(
        a_lo <= f.alpha + 1e-9 && f.alpha <= a_hi + 1e-9,
        "{a_lo}–{a_hi} around {}",
        f.alpha
    );
    assert!(
        b_lo <= f.beta + 1e-9 && f.beta <= b_hi + 1e-9,
        "{b_lo}–{b_hi} around {}",
        f.beta
    );
    // Held out: the largest N, predicted at every D from the fit of the three smaller widths.
    let plot::HeldOut { law: held, n, at } = j.held_out.clone().expect("a held-out fit with four widths");
    assert_eq!(n, ns[3]);
    assert_eq!(at.iter().map(|p| p.0).collect::<Vec<_>>(), ds);
    for &(d, measured) in &at {
        let here: Vec<f64> = j
            .points
            .iter()
            .filter(|p| p.0 == n && p.1 == d)
            .map(|p| p.2)
            .collect();
        assert!((measured - here.iter().sum::<f64>() / here.len() as f64).abs() < 1e-12);
    }
    assert!(held != f && held.at(n, 256.0) > 0.0);
    let (cn, cd, predicted, measured) = j.corner().unwrap();
    assert_eq!(
        (cn, cd, predicted, measured),
        (n, 256.0, held.at(n, 256.0), at[2].1)
    );
    // The scaling chart draws it and leads the study (before the heatmap of the two knobs).
    let (shown_charts, main, svg) = charts(&study, &runs);
    assert!(shown_charts.contains(&Chart::Heatmap));
    assert_eq!(main, Chart::Scaling);
    let svg = svg.expect("the scaling chart is shown");
    for text in [
        "fit: L = E + A·N^−α + B·D^−β",
        "fit without N = ",
        "D = 128",
        "training examples D",
    ] {
        assert!(svg.contains(text), "{text}");
    }
    // A learning rate swept beside the data has one size: no law.
    let (study, runs) =
        sweep("task=digits&w=8&d=1&bs=64&steps=20&lr=0.01&sweep=lr:0.003,0.01,0.03;n:64,128,256;seed:1,2");
    assert!(plot::joint(&runs, study.view.metric).is_none());
    assert!(!shown(&study, &runs).contains(&Chart::Scaling));
}

#[test]
fn the_figure_asks_for_a_size_sweep_with_seeds() {
    // A rank sweep without seeds keeps its staircase; a learning-rate sweep with seeds has one size.
    for link in [
        "task=planted&dim=16&pr=4&n=256&bs=64&steps=20&sweep=r:1,2,4,8",
        "task=planted&dim=16&pr=4&n=256&bs=64&steps=20&r=4&sweep=lr:0.001,0.003,0.01,0.03;seed:1,2",
        "task=planted&dim=16&pr=4&n=256&bs=64&steps=20&sweep=r:1,2,4;seed:1,2",
    ] {
        let (study, runs) = sweep(link);
        assert!(!shown(&study, &runs).contains(&Chart::Scaling), "{link}");
    }
}
