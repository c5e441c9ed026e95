//! Every gallery preset replays the very same curves: each preset's runs (at most [`MAX_RUNS`] of a
//! sweep, spread over it), shortened to [`STEPS`] steps of each phase, train to exactly the values
//! recorded in `tests/fixtures/replay/<id>.txt` (`replay-avx2/` on a CPU without AVX-512,
//! [`fixtures`]) — every loss, accuracy, coordinate-check value,
//! quantized and pruned loss and ΔW singular value, compared as the CLI prints them (the shortest text that
//! reads back as the same f32: equal text is equal bits).
//!
//! The fixtures were written by the code before a refactor, so a refactor that moves a single
//! rounding shows here. A change that is meant to move curves rewrites them on purpose:
//! `TINYTUNE_REPLAY_WRITE=1 cargo test --release --test replay`, and the diff goes in review.

use std::fmt::Write as _;

use tinytune::knobs::ExperimentConfig;
use tinytune::link::{presets::PRESETS, url};
use tinytune::report::export;
use tinytune::train::metrics::Run;

/// Steps of each phase a replayed run takes (the PTQ loss and the end-of-run readback come at
/// its last step, the adaptation phase after its pre-training).
const STEPS: usize = 8;
/// Runs of a sweep replayed: its first, its last and evenly spaced ones between.
const MAX_RUNS: usize = 5;

/// The shortened run: each phase at most [`STEPS`] steps, a warm-up within them.
fn shortened(cfg: &ExperimentConfig) -> ExperimentConfig {
    let mut c = cfg.clone();
    c.steps = c.steps.min(STEPS);
    c.adapt_steps = c.adapt_steps.min(STEPS);
    c.warm = c.warm.min(STEPS / 2);
    // A sparse run's cut (and the step it rewinds to) within the shortened run.
    c.sparse.at = c.sparse.at.min(STEPS / 2);
    c.sparse.rewind = c.sparse.rewind.min(c.sparse.at);
    c
}

/// At most [`MAX_RUNS`] of `n` runs, first and last included.
fn spread(n: usize) -> Vec<usize> {
    if n <= MAX_RUNS {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..MAX_RUNS).map(|i| i * (n - 1) / (MAX_RUNS - 1)).collect();
    v.dedup();
    v
}

/// What a preset's replay writes: each run's link, its per-step table, its summary, its
/// coordinate check and its ΔW spectra.
fn replay(query: &str) -> String {
    let study = url::parse_strict(query).unwrap_or_else(|e| panic!("{query}: {e:?}"));
    let points = study.runs();
    let device = tinytune::model::backend::cpu();
    let mut out = String::new();
    for i in spread(points.len()) {
        let cfg = shortened(&points[i].config);
        let run: Run = pollster::block_on(tinytune::train::train_run(&cfg, &device, 3))
            .unwrap_or_else(|e| panic!("{query}, run {i}: {e}"));
        let runs = [run];
        let _ = writeln!(out, "## run {i}: {}", url::experiment_query(&cfg));
        out += &export::to_csv(&runs);
        out += &export::to_summary_csv(&runs);
        if cfg.coord > 0 {
            out += &export::to_coord_csv(&runs);
        }
        if runs[0].pruned().is_some() {
            out += &export::to_prune_csv(&runs);
        }
        for s in &runs[0].spectra {
            let sv: Vec<String> = s.singular.iter().map(|v| v.to_string()).collect();
            let _ = writeln!(out, "spectrum {}: {}", s.name, sv.join(" "));
        }
    }
    out
}

/// The fixtures of this CPU's kernels: Burn's CPU backend picks its matrix kernels at run time
/// (gemm's AVX-512 ones where the CPU has them, else AVX2 with FMA), and the two sum in another
/// order, so the same code's curves differ in their last digits between them. Each is recorded
/// on its own and replayed exactly.
fn fixtures() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if !std::arch::is_x86_feature_detected!("avx512f") {
        return "tests/fixtures/replay-avx2";
    }
    "tests/fixtures/replay"
}

#[test]
fn every_preset_replays_its_recorded_curves() {
    let dir = std::path::Path::new(fixtures());
    let write = std::env::var_os("TINYTUNE_REPLAY_WRITE").is_some();
    let mut differ = Vec::new();
    for p in PRESETS {
        let got = replay(p.query);
        let path = dir.join(format!("{}.txt", p.id));
        if write {
            std::fs::create_dir_all(dir).expect("fixture folder");
            std::fs::write(&path, &got).expect("fixture written");
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (write it with TINYTUNE_REPLAY_WRITE=1)", path.display()));
        if let Some((n, (w, g))) = want
            .lines()
            .zip(got.lines())
            .enumerate()
            .find(|(_, (w, g))| w != g)
        {
            differ.push(format!("{}: line {}\n  want {w}\n  got  {g}", p.id, n + 1));
        } else if want.lines().count() != got.lines().count() {
            differ.push(format!(
                "{}: {} lines recorded, {} now",
                p.id,
                want.lines().count(),
                got.lines().count()
            ));
        }
    }
    assert!(differ.is_empty(), "curves moved:\n{}", differ.join("\n"));
}
