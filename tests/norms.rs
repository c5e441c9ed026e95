//! The norm traces (`norms=1`, `train::norms`): every step's global gradient norm before
//! clipping and the update norm ‖Δθ‖, checked against what SGD and Adam's first step must give,
//! read back with the step, written to the CSV and drawn.

use tinytune::link::url::parse_strict;
use tinytune::model::backend;
use tinytune::report::{Chart, Figures, Results};
use tinytune::train::metrics::{Norms, Run};
use tinytune::train::train_run;

fn run(link: &str) -> Run {
    let cfg = parse_strict(link).unwrap().experiment;
    pollster::block_on(train_run(&cfg, &backend::cpu(), 7)).unwrap()
}

fn norms(r: &Run) -> Vec<Norms> {
    r.reports
        .iter()
        .map(|s| s.norms.expect("norms every step"))
        .collect()
}

fn close(a: f32, b: f32, rel: f32) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs())
}

#[test]
fn plain_sgd_moves_the_weights_by_the_rate_times_the_gradient_norm() {
    // θ ← θ − η·g: ‖Δθ‖ = η·‖g‖ at every step.
    let r = run("task=spiral&w=16&d=2&opt=sgd&lr=0.05&steps=20&norms=1");
    let n = norms(&r);
    assert_eq!(n.len(), 20);
    for (i, x) in n.iter().enumerate() {
        assert!(x.grad > 0.0, "step {i}: gradient norm {}", x.grad);
        assert!(
            close(x.update, 0.05 * x.grad, 1e-3),
            "step {i}: update {} vs η‖g‖ {}",
            x.update,
            0.05 * x.grad
        );
    }
}

#[test]
fn clipping_caps_the_update_and_the_trace_shows_the_norm_before_it() {
    let free = run("task=spiral&w=16&d=2&opt=sgd&lr=0.05&steps=5&norms=1");
    let clipped = run("task=spiral&w=16&d=2&opt=sgd&lr=0.05&steps=5&norms=1&clip=0.01");
    // Step 0 is the same model and batch: the same gradient norm, far above the cap.
    let (a, b) = (norms(&free)[0], norms(&clipped)[0]);
    assert!(
        close(a.grad, b.grad, 1e-5) && a.grad > 0.1,
        "{} vs {}",
        a.grad,
        b.grad
    );
    // ‖Δθ‖ = η·min(1, c/‖g‖)·‖g‖ = η·c (torch's 1e-6 guard aside).
    assert!(close(b.update, 0.05 * 0.01, 1e-3), "clipped update {}", b.update);
}

#[test]
fn adams_first_step_moves_every_weight_by_the_rate() {
    // Adam's first update is η·ĝ/(|ĝ| + ε) per coordinate: ±η wherever the gradient is not tiny,
    // so ‖Δθ‖ ≈ η·√(parameters that move).
    let r = run("task=xor&w=8&d=1&lr=0.01&steps=3&norms=1");
    let cfg = parse_strict("task=xor&w=8&d=1").unwrap().experiment;
    let params = cfg.parameter_estimate() as f32;
    let first = norms(&r)[0];
    let full = 0.01 * params.sqrt();
    assert!(
        first.update <= full * 1.0001 && first.update > 0.9 * full,
        "first Adam update {} against η√N {full}",
        first.update
    );
}

#[test]
fn the_traces_are_off_by_default_and_reach_the_csv_and_a_chart() {
    let plain = run("task=xor&w=8&d=1&steps=3");
    assert!(plain.reports.iter().all(|s| s.norms.is_none()));
    let csv = tinytune::report::export::to_csv(std::slice::from_ref(&plain));
    assert!(!csv.contains("grad_norm"));

    let link = "task=xor&w=8&d=1&steps=3&norms=1";
    let traced = run(link);
    let csv = tinytune::report::export::to_csv(std::slice::from_ref(&traced));
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with("grad_norm,update_norm"));
    let n = norms(&traced)[1];
    assert!(
        lines
            .nth(1)
            .unwrap()
            .ends_with(&format!("{},{}", n.grad, n.update))
    );

    let study = parse_strict(link).unwrap();
    let samples = tinytune::page::boundary_points(&study.experiment);
    let runs = [traced];
    let results = |runs: &[Run]| {
        Figures::of(Results {
            study: &study,
            runs,
            grid: None,
            points: &samples,
            planted_sigma: None,
            before: None,
        })
        .shown_charts()
    };
    assert!(results(&runs).contains(&Chart::Norms));
    assert!(!results(std::slice::from_ref(&plain)).contains(&Chart::Norms));
    let figures = Figures::of(Results {
        study: &study,
        runs: &runs,
        grid: None,
        points: &samples,
        planted_sigma: None,
        before: None,
    });
    let svg = tinytune::report::svg(&figures, Chart::Norms, (900, 540), "norms").unwrap();
    assert!(svg.contains("gradient norm") && svg.contains("update norm"));
}
