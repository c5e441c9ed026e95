//! Native CLI: the page's query string in, CSV out. `tinytune 'task=xor&w=128'` trains exactly
//! what the link `?task=xor&w=128` trains in the browser (on the CPU backend, or with
//! `--backend wgpu` on Burn's wgpu backend, the page's WebGPU code path).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tinytune::device::probe;
use tinytune::experiment::{pool, stack};
use tinytune::knobs::view::Jobs;
use tinytune::link::study::Study;
use tinytune::link::url;
use tinytune::model::backend;
use tinytune::report::{self, Chart, Figures, Results, export};
use tinytune::train::metrics;
use tinytune::{plot, train};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Train a tinytune experiment natively and print its loss curve as CSV"
)]
struct Cli {
    /// The experiment as a query string, the same as the page's link (e.g. 'v=1&task=xor&lr=0.003').
    /// The leading '?' is optional; an empty string runs the defaults.
    #[arg(default_value = "")]
    query: String,
    /// Open an experiment file instead (the page's "Experiment + data": the link with its data
    /// inside, `.tinytune`), which runs the same as in the page that saved it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["query", "preset"])]
    open: Option<PathBuf>,
    /// Also write the experiment with its data as one file (what `--open` and the page open).
    #[arg(long, value_name = "FILE")]
    save_experiment: Option<PathBuf>,
    /// Run a gallery preset instead (see --presets), e.g. `--preset e1`.
    #[arg(long, value_name = "ID", conflicts_with = "query")]
    preset: Option<String>,
    /// List the gallery presets with their links and exit.
    #[arg(long)]
    presets: bool,
    /// Print one row per run (final/best losses) instead of one row per step.
    #[arg(long)]
    summary: bool,
    /// Print the best value of the first swept knob for each value of the second (and third), e.g.
    /// the best learning rate per width for SP and μP, instead of one row per step.
    #[arg(long, conflicts_with = "summary")]
    best: bool,
    /// Also draw the study's figures as SVG, the same the page shows: its main figure (the
    /// coordinate check, else the sweep chart, else the heatmap, else the loss curves) to FILE,
    /// and every other figure beside it as FILE's name + `-<figure>.svg` (`-loss`, `-boundary`,
    /// `-bestlr`, …).
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
    /// For a quantized single run: also draw the weight error against bits and a layer's weights
    /// with the quantization grid to this SVG file.
    #[arg(long, value_name = "FILE")]
    quant_svg: Option<std::path::PathBuf>,
    /// Print what the experiment costs against each of the link's caps, as CSV
    /// (cost,value,unit,limit; the memory by item after it), and exit without training.
    #[arg(long, conflicts_with_all = ["summary", "best"])]
    costs: bool,
    /// The backend: cpu (Burn flex), wgpu (Burn's wgpu on Vulkan, Metal or DX12 — the page's
    /// WebGPU code path; on a machine without a GPU, Mesa's lavapipe is a CPU Vulkan), or auto:
    /// both timed on a few steps of this experiment (a sweep's heaviest run), the faster one
    /// trains — the page's `auto` rule.
    #[arg(long, value_enum, default_value_t = NativeBackend::Cpu)]
    backend: NativeBackend,
    /// Steps between readbacks (the page reads once per frame; this only affects speed).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    chunk: u64,
    /// A sweep's runs spread over this many threads on the CPU backend, each thread taking the
    /// next run, the heaviest first (the link's `jobs`, which it overrides): auto = one a core
    /// (rayon's, so `RAYON_NUM_THREADS` caps it), at most one a run, within the memory cap. The
    /// results are the same with any number.
    #[arg(long, value_name = "N|auto", value_parser = parse_jobs)]
    jobs: Option<Jobs>,
    /// Your own data: a CSV or points (`.csv`, `.tsv`: `task=table`), or a text for the char LM
    /// (`task=text`; any other file). A link that names no task gets the data's; a link that
    /// names its data by hash (`data=h.…`, kept by the browser that made it) runs with this file
    /// if it is that data.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// The table's target column: its header name, or its number counted from 1 (default: the
    /// last column).
    #[arg(long, value_name = "COLUMN")]
    target: Option<String>,
    /// What the target holds: auto reads text, or at most 20 distinct whole numbers, as classes
    /// and other numbers as a regression target.
    #[arg(long, value_enum, default_value_t = TargetArg::Auto)]
    target_kind: TargetArg,
    /// The table's rows are points on the page's plane (x, y, class, as the page exports them):
    /// they train as they are instead of standardised, and the decision boundary is drawn.
    #[arg(long)]
    points: bool,
    /// Start from these weights (safetensors, as --save-weights writes them) instead of the
    /// model's seeded initialisation: the same family and shapes, or it is refused with what
    /// differs. An adaptation phase without pre-training (shift=none) puts its LoRA on them.
    #[arg(long, value_name = "FILE")]
    load_weights: Option<PathBuf>,
    /// Write the trained model's weights to FILE as safetensors (the run's link in the
    /// metadata), and its LoRA adapters, if any, beside it as FILE's name + `-adapters`.
    #[arg(long, value_name = "FILE")]
    save_weights: Option<PathBuf>,
}

/// The weights `--load-weights` names, read and checked.
fn load_weights(path: &Path) -> Result<tinytune::model::checkpoint::Checkpoint, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("--load-weights {shown}: {e}"))?
        .len();
    if size > tinytune::model::checkpoint::MAX_FILE_BYTES {
        return Err(format!(
            "--load-weights {shown}: the file is {:.0} MB, larger than any model tinytune trains",
            size as f64 / 1e6
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("--load-weights {shown}: {e}"))?;
    tinytune::model::checkpoint::Checkpoint::from_bytes(&bytes)
        .map_err(|e| format!("--load-weights {shown}: {e}"))
}

/// `--save-weights`' files: the base at `path`, the adapters beside it.
fn save_weights(path: &Path, weights: &train::Weights) -> Result<(), String> {
    let write = |p: &Path, ck: &tinytune::model::checkpoint::Checkpoint| -> Result<(), String> {
        let bytes = ck.to_bytes()?;
        std::fs::write(p, bytes).map_err(|e| format!("--save-weights {}: {e}", p.display()))?;
        eprintln!("tinytune: wrote {} ({} tensors)", p.display(), ck.tensors.len());
        Ok(())
    };
    write(path, &weights.base)?;
    if let Some(adapters) = &weights.adapters {
        let ext = path
            .extension()
            .map_or("safetensors".into(), |e| e.to_string_lossy());
        write(&beside(path, "-adapters", &ext), adapters)?;
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum TargetArg {
    Auto,
    Classes,
    Values,
}

/// `--open`'s experiment file: the study holding its data, and its link.
fn open_experiment(path: &Path) -> Result<(Study, String), String> {
    use tinytune::data::read_file::{as_text, check_named_size};
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("--open {shown}: {e}"))?
        .len();
    check_named_size(&format!("x.{}", tinytune::link::bundle::EXTENSION), size)
        .map_err(|e| format!("--open {shown}: {e}"))?;
    let bytes = std::fs::read(path).map_err(|e| format!("--open {shown}: {e}"))?;
    let opened = as_text(&bytes)
        .and_then(tinytune::link::bundle::read)
        .map_err(|e| format!("--open {shown}: {e}"))?;
    let mut base = Study::default();
    base.experiment.data = opened.data;
    Ok((base, opened.query))
}

/// The study the link runs on: the defaults, holding `--data`'s file where one is given, and the
/// query with the data's task where it names none.
fn data_base(cli: &Cli, query: &str) -> Result<(Option<Study>, String), String> {
    use tinytune::data::read_file::{FileKind, check_size, read_file};
    use tinytune::data::read_table::{TableOptions, TargetKind};
    use tinytune::knobs::own::OwnData;
    let Some(path) = &cli.data else {
        if cli.target.is_some() || cli.points || cli.target_kind != TargetArg::Auto {
            return Err(
                "--target, --target-kind and --points say how to read --data FILE, which is not given".into(),
            );
        }
        return Ok((None, query.to_string()));
    };
    let named_task = serde_urlencoded::from_str::<Vec<(String, String)>>(query.trim_start_matches('?'))
        .unwrap_or_default()
        .into_iter()
        .rev()
        .find(|(k, _)| k == tinytune::keys::TASK.name)
        .map(|(_, v)| v);
    let kind = match named_task.as_deref() {
        Some("table") => FileKind::Table,
        Some("text") => FileKind::Text,
        None => FileKind::of_name(&path.to_string_lossy()),
        Some(other) => {
            return Err(format!(
                "--data trains {} or {}, and the link names {}",
                tinytune::keys::TASK.is("table"),
                tinytune::keys::TASK.is("text"),
                tinytune::keys::TASK.is(&tinytune::vocab::clip(other))
            ));
        }
    };
    let shown = path.display();
    let inline = serde_urlencoded::from_str::<Vec<(String, String)>>(query.trim_start_matches('?'))
        .unwrap_or_default()
        .into_iter()
        .any(|(k, v)| k == tinytune::keys::DATA.name && !OwnData::names_by_hash(&v));
    if inline {
        return Err(format!(
            "--data {shown}: the link carries its own data; run it without --data"
        ));
    }
    if kind == FileKind::Text && (cli.target.is_some() || cli.points || cli.target_kind != TargetArg::Auto) {
        return Err(format!(
            "--data {shown}: --target, --target-kind and --points read a table, and this is a text"
        ));
    }
    let size = std::fs::metadata(path)
        .map_err(|e| format!("--data {shown}: {e}"))?
        .len();
    check_size(size).map_err(|e| format!("--data {shown}: {e}"))?;
    let bytes = std::fs::read(path).map_err(|e| format!("--data {shown}: {e}"))?;
    let opts = TableOptions {
        target: cli.target.clone(),
        kind: match cli.target_kind {
            TargetArg::Auto => TargetKind::Auto,
            TargetArg::Classes => TargetKind::Classes,
            TargetArg::Values => TargetKind::Values,
        },
        plane: cli.points,
    };
    let body = read_file(&bytes, kind, &opts).map_err(|e| format!("--data {shown}: {e}"))?;
    let data = OwnData::new(body).map_err(|e| format!("--data {shown}: {e}"))?;
    eprintln!("tinytune: --data {shown}: {}", data.describe());
    let query = match named_task {
        Some(_) => query.to_string(),
        None => {
            let task = match kind {
                FileKind::Table => "table",
                FileKind::Text => "text",
            };
            let rest = query.trim_start_matches('?');
            let sep = if rest.is_empty() { "" } else { "&" };
            format!("{}{sep}{rest}", tinytune::keys::TASK.is(task))
        }
    };
    let mut base = Study::default();
    base.experiment.data = Some(data);
    Ok((Some(base), query))
}

fn parse_jobs(text: &str) -> Result<Jobs, String> {
    Jobs::parse(text)
}

/// `--backend auto`: the CPU, unless wgpu starts and is faster on this study's heaviest run
/// (`device::probe`); says what it measured.
fn auto_backend(study: &tinytune::link::study::Study) -> (burn::prelude::Device, String) {
    let cpu = (backend::cpu(), backend::CPU_NAME.to_string());
    let (gpu, adapter) = match backend::wgpu() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("tinytune: auto: {e}; training on the CPU");
            return cpu;
        }
    };
    let configs: Vec<_> = if study.sweep.is_empty() {
        vec![study.experiment.clone()]
    } else {
        match study.sweep.expand(&study.experiment) {
            Ok(points) => points.into_iter().map(|p| p.config).collect(),
            Err(_) => vec![study.experiment.clone()],
        }
    };
    let Some(heaviest) = probe::heaviest(&configs) else {
        return cpu;
    };
    let name = format!("wgpu — {adapter}");
    match pollster::block_on(probe::decide(heaviest, &cpu.0, &gpu)) {
        Ok(d) => {
            let pick = if d.pick == probe::Pick::Gpu {
                "wgpu"
            } else {
                "the CPU"
            };
            eprintln!("tinytune: auto: {}; training on {pick}", d.measured(&name));
            if d.pick == probe::Pick::Gpu {
                (gpu, name)
            } else {
                cpu
            }
        }
        // The trainer refuses the experiment: the run says why, on the CPU.
        Err(probe::ProbeError::Cpu(_)) => cpu,
        Err(probe::ProbeError::Gpu(e)) => {
            eprintln!("tinytune: auto: {name} failed while it was timed ({e}); training on the CPU");
            cpu
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum NativeBackend {
    Cpu,
    Wgpu,
    Auto,
}

/// Keeps the memory a training step frees for the next step. Every step allocates and frees the
/// same tensors; glibc serves a block above its mmap threshold with a fresh `mmap` (and gives
/// the top of the heap back past its trim threshold), so each such buffer came back as new pages
/// to fault in and zero: 0.56–1.4 M page faults in 40 steps of the reference transformer, its
/// system time 1.1–2.5 s of 8.3–9.6 s. glibc moves the mmap threshold by itself as blocks are
/// freed, so the count depended on the order of earlier allocations: a refactor that changed no
/// arithmetic ran 20 % slower. Fixed thresholds: 30 k faults and 7.1 s, whatever the order.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // Blocks up to 32 MiB (glibc's own ceiling for the moving threshold) come from the heap;
    // freed memory stays until exit unless 1 GiB of it sits at the heap's top.
    // SAFETY: mallopt only sets the allocator's parameters; no thread has started yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// Other allocators keep freed memory by themselves (or have no such knob).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    // The whole run inside one rayon pool (RAYON_NUM_THREADS threads, by default one per core),
    // so that the CPU backend's parallel kernels start from one of its threads: from outside,
    // every kernel would be handed to the pool and waited for — with one thread, 7 % of the
    // reference transformer's step (#32). `--jobs N` above that needs a thread a share (#33).
    let threads = match cli.jobs {
        Some(Jobs::Count(n)) => n.max(rayon::current_num_threads()),
        _ => 0, // rayon's default
    };
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(|| run(cli)),
        Err(_) => run(cli),
    }
}

fn run(cli: Cli) -> ExitCode {
    if cli.presets {
        for p in tinytune::link::presets::PRESETS {
            println!(
                "{}\t{}\t?{}\n\t{}\n\tExpect: {}",
                p.id,
                p.title,
                url::with_version(p.query),
                p.claim,
                p.expect
            );
        }
        return ExitCode::SUCCESS;
    }
    let query = match &cli.preset {
        None => cli.query.clone(),
        Some(id) => match tinytune::link::presets::find(id) {
            Some(p) => {
                eprintln!(
                    "tinytune: {} — {}\ntinytune: expect: {}",
                    p.title, p.claim, p.expect
                );
                p.query.to_string()
            }
            None => {
                let ids: Vec<&str> = tinytune::link::presets::PRESETS.iter().map(|p| p.id).collect();
                eprintln!("tinytune: no preset '{id}' (choose one of: {})", ids.join(", "));
                return ExitCode::from(2);
            }
        },
    };
    let opened = match &cli.open {
        Some(_)
            if cli.data.is_some()
                || cli.target.is_some()
                || cli.points
                || cli.target_kind != TargetArg::Auto =>
        {
            Err(
                "--open's file carries its data: --data, --target, --target-kind and --points do not apply"
                    .into(),
            )
        }
        Some(path) => open_experiment(path).map(|(base, query)| (Some(base), query)),
        None => data_base(&cli, &query),
    };
    let (base, query) = match opened {
        Ok(b) => b,
        Err(e) => {
            eprintln!("tinytune: {e}");
            return ExitCode::from(2);
        }
    };
    let parsed = match &base {
        Some(base) => url::parse_strict_onto(base, &query),
        None => url::parse_strict(&query),
    };
    let study = match parsed {
        Ok(study) => study,
        Err(issues) => {
            eprintln!("tinytune: the experiment string was refused:");
            for i in &issues {
                eprintln!("  - {i}");
            }
            eprintln!("Keys and values: see the README's link table.");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &cli.save_experiment {
        let text = tinytune::link::bundle::write(&study);
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("tinytune: --save-experiment {}: {e}", path.display());
            return ExitCode::from(2);
        }
        eprintln!("tinytune: wrote {}", path.display());
    }
    let cfg = &study.experiment;
    if cli.costs {
        return print_costs(cfg);
    }
    let (device, device_name) = match cli.backend {
        NativeBackend::Cpu => (backend::cpu(), backend::CPU_NAME.to_string()),
        NativeBackend::Wgpu => match backend::wgpu() {
            Ok((device, adapter)) => (device, format!("wgpu — {adapter}")),
            Err(e) => {
                eprintln!("tinytune: {e}");
                return ExitCode::FAILURE;
            }
        },
        NativeBackend::Auto => auto_backend(&study),
    };
    let start_weights = match &cli.load_weights {
        Some(path) => match load_weights(path) {
            Ok(ck) => Some(ck),
            Err(e) => {
                eprintln!("tinytune: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    if !study.sweep.is_empty() && (cli.load_weights.is_some() || cli.save_weights.is_some()) {
        eprintln!("tinytune: --load-weights and --save-weights take a single run, and this link is a sweep");
        return ExitCode::from(2);
    }
    // A file of another family or shape is bad input: refused before training, as a bad link is
    // (the model is built once on the CPU to compare every name and shape).
    if let Some(ck) = &start_weights {
        for d in tinytune::model::checkpoint::differences(ck, cfg) {
            eprintln!("tinytune: --load-weights: {d}");
        }
    }
    if let Some(ck) = &start_weights
        && let Err(e) = tinytune::model::checkpoint::check_family(ck, cfg)
            .and_then(|()| tinytune::train::Job::new_from(cfg, &backend::cpu(), Some(ck)).map(drop))
    {
        eprintln!("tinytune: --load-weights: {e}");
        return ExitCode::from(2);
    }
    let start = web_time::Instant::now();
    let mut saved = None;
    let trained = if study.sweep.is_empty() {
        let want = cli.save_weights.is_some();
        pollster::block_on(train::train_run_from(
            cfg,
            &device,
            cli.chunk as usize,
            start_weights.as_ref(),
            want,
        ))
        .map(|(run, weights)| {
            saved = weights;
            vec![run]
        })
    } else {
        // Validated by the link parser; expanding again yields the runs.
        match study.sweep.expand(cfg) {
            Ok(points) => {
                let configs: Vec<_> = points.iter().map(|p| p.config.clone()).collect();
                // Threads on the CPU backend only: a GPU is one device, which the runs share.
                let workers = match cli.backend {
                    NativeBackend::Cpu => {
                        let jobs = cli.jobs.unwrap_or(study.view.jobs);
                        pool::workers(jobs, rayon::current_num_threads(), &configs)
                    }
                    _ => 1,
                };
                let progress = |done: usize, total: usize| {
                    eprint!("\rtinytune: sweep {done}/{total} runs done");
                };
                // Same-shape runs as one stacked model where `stack` asks (#33).
                let groups = stack::stacks(&configs, study.view.stack, backend::scalars_are_uploads(&device));
                // Every thread of the pool gets a stack of its own.
                let groups = if workers > 1 {
                    stack::split(groups, workers)
                } else {
                    groups
                };
                let stacked = groups.iter().filter(|g| g.len() > 1).count();
                if stacked > 0 {
                    eprintln!(
                        "tinytune: {} runs in {} groups ({stacked} stacks of same-shape runs)",
                        points.len(),
                        groups.len()
                    );
                }
                let workers = workers.min(groups.len());
                let trained = if workers > 1 {
                    eprintln!("tinytune: {} runs on {workers} threads", points.len());
                    train::train_sweep_pooled(
                        &points,
                        &device,
                        cli.chunk as usize,
                        &groups,
                        workers,
                        progress,
                    )
                } else {
                    pollster::block_on(train::train_sweep_stacked(
                        &points,
                        &device,
                        cli.chunk as usize,
                        &groups,
                        progress,
                    ))
                };
                trained.inspect(|_| eprintln!())
            }
            Err(e) => Err(e),
        }
    };
    let runs = match trained {
        Ok(runs) => runs,
        Err(e) => {
            eprintln!("tinytune: training failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let (Some(path), Some(weights)) = (&cli.save_weights, &saved)
        && let Err(e) = save_weights(path, weights)
    {
        eprintln!("tinytune: {e}");
        return ExitCode::FAILURE;
    }
    let secs = start.elapsed().as_secs_f64();
    let steps: usize = runs.iter().map(|r| r.reports.len()).sum();
    let diverged = runs.iter().filter(|r| r.diverged).count();
    let per_s = steps as f64 / secs.max(1e-9);
    // A transformer's speed in tokens too, as language-model trainers report it.
    let tokens = if cfg.is_transformer() {
        format!(", {:.0} tokens/s", per_s * cfg.tokens_per_step() as f64)
    } else {
        String::new()
    };
    eprintln!(
        "tinytune: {} — {} run(s), {steps} steps in {secs:.2} s ({per_s:.1} steps/s{tokens}) on {}{}",
        cfg.label(),
        runs.len(),
        device_name,
        if diverged > 0 {
            format!(" — {diverged} DIVERGED (NaN/Inf or loss far above its start)")
        } else {
            String::new()
        }
    );
    if let (true, Some(run)) = (study.sweep.is_empty(), runs.first()) {
        let lrs = [
            tinytune::experiment::describe::mup(cfg),
            tinytune::experiment::describe::schedule(cfg),
            tinytune::experiment::describe::quant(cfg, tinytune::model::quant::native::used(cfg, true)),
            tinytune::experiment::describe::sparse(cfg),
        ];
        for line in lrs.into_iter().flatten() {
            eprintln!("tinytune: {line}");
        }
        describe_adaptation(cfg, run);
        if let (Some(qv), Some(fv)) = (run.quant_val_loss(), run.final_val_loss()) {
            eprintln!("tinytune: PTQ: validation loss {fv:.4} in f32 → {qv:.4} quantized");
        }
        if let Some(bytes) = run.packed_bytes {
            eprintln!("tinytune: Burn stores the quantized model in {bytes} bytes (read back)");
        }
        describe_sequence(run);
    }
    if !study.sweep.is_empty() {
        describe_critical(&runs, study.view.reach);
    }
    let csv = if cli.summary {
        export::to_summary_csv(&runs)
    } else if cli.best {
        match best_csv(&runs, study.view.metric) {
            Some(csv) => csv,
            None => {
                eprintln!(
                    "tinytune: --best needs a sweep over two numeric knobs, e.g. {}",
                    tinytune::keys::SWEEP.is(&format!(
                        "{}:…;{}:…",
                        tinytune::keys::LR.name,
                        tinytune::keys::W.name
                    ))
                );
                return ExitCode::from(2);
            }
        }
    } else if cfg.coord > 0 {
        export::to_coord_csv(&runs)
    } else if runs.iter().any(|r| r.pruned().is_some()) {
        export::to_prune_csv(&runs)
    } else {
        export::to_csv(&runs)
    };
    if std::io::stdout().write_all(csv.as_bytes()).is_err() {
        return ExitCode::FAILURE;
    }
    let figures = Drawn::of(&study, &runs);
    if let Some(path) = &cli.svg {
        match write_svg(path, &figures.figures(), &query) {
            Ok(files) => {
                let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                eprintln!("tinytune: wrote {}", shown.join(", "));
            }
            Err(e) => {
                eprintln!("tinytune: could not write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(path) = cli.quant_svg {
        let figures = figures.figures();
        if !figures.shown(Chart::Weights) {
            eprintln!("tinytune: --quant-svg needs a single run with quantized weights (bits < 32)");
            return ExitCode::from(2);
        }
        if let Err(e) = write_figure(&path, &figures, Chart::Weights, &query) {
            eprintln!("tinytune: could not write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// `--costs`: the link's costs against its caps, as CSV on stdout.
fn print_costs(cfg: &tinytune::knobs::ExperimentConfig) -> ExitCode {
    let mut out = csv::Writer::from_writer(std::io::stdout());
    let mut rows = vec![vec![
        "cost".to_string(),
        "value".into(),
        "unit".into(),
        "limit".into(),
    ]];
    for c in cfg.costs() {
        let limit = c.limit.map(|l| format!("{l}")).unwrap_or_default();
        rows.push(vec![c.name, format!("{}", c.value), c.unit.into(), limit]);
    }
    match rows
        .iter()
        .try_for_each(|r| out.write_record(r))
        .and_then(|()| Ok(out.flush()?))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// The adaptation's readouts on stderr: what trains, at which scale, and the rank ΔW used.
fn describe_adaptation(cfg: &tinytune::knobs::ExperimentConfig, run: &metrics::Run) {
    let Some(what) = tinytune::experiment::describe::lora(cfg) else {
        return;
    };
    eprintln!("tinytune: {what}");
    for s in &run.spectra {
        let shown: Vec<String> = s.singular.iter().take(8).map(|v| format!("{v:.3}")).collect();
        eprintln!(
            "tinytune:   ΔW {}: effective rank {}, σ = {}{}",
            s.name,
            s.effective_rank(),
            shown.join(", "),
            if s.singular.len() > 8 { ", …" } else { "" }
        );
    }
    if let Some(f) = tinytune::data::planted::loss_floor(cfg) {
        eprintln!("tinytune:   Eckart–Young floor for this rank: {f:.6}");
    }
}

/// A batch sweep's steps to the target loss at each batch's best rate, the critical batch fitted
/// to them and the noise scale there (the `critical` figure's numbers, for a terminal).
fn describe_critical(runs: &[metrics::Run], reach: Option<f64>) {
    use tinytune::train::critical::critical;
    if tinytune::train::critical::batch_sizes(runs).len() < 3 {
        return;
    }
    let Some(c) = critical(runs, reach) else { return };
    let count = |v: f64| format!("{v:.0}");
    eprintln!(
        "tinytune: steps to validation loss {:.4}{}, each batch at its best learning rate (seeds' mean and range):",
        c.target,
        if c.auto { " (auto)" } else { "" }
    );
    for b in &c.batches {
        let (lo, hi) = b.range();
        let rates: Vec<String> = b.rates.iter().map(|r| format!("{r}")).collect();
        eprintln!(
            "tinytune:   B = {:>4}: S {:.2} ({:.2}–{:.2}), E {:.0}, rate {}",
            b.batch,
            b.mean(),
            lo,
            hi,
            b.batch as f64 * b.mean(),
            rates.join("/")
        );
    }
    if let Some(l) = c.law {
        let spread = c.seed_range.map_or(String::new(), |(lo, hi)| {
            format!(" (seeds alone {}–{})", count(lo), count(hi))
        });
        eprintln!(
            "tinytune: fitted S = S_min·(1 + B_crit/B): S_min {:.2}, E_min {:.0}, B_crit {:.0}{spread}",
            l.s_min,
            l.e_min(),
            l.b_crit
        );
    }
    if let Some((median, lo, hi, n)) = c.b_simple {
        eprintln!(
            "tinytune: noise scale B_simple at that loss: {} (median of {n} runs, quartiles {}–{})",
            count(median),
            count(lo),
            count(hi)
        );
    }
}

/// `--best`: `panel,<curve knob>,best_<x knob>,best_loss`, one row per curve of every panel.
fn best_csv(runs: &[metrics::Run], metric: tinytune::knobs::view::SweepMetric) -> Option<String> {
    let (x_key, panels) = plot::sweep_panels(runs, metric)?;
    let lines = plot::best_lines(&panels)?;
    let series_key = *runs.first()?.swept().get(1)?;
    let column = match metric {
        tinytune::knobs::view::SweepMetric::Final => "final_val_loss",
        tinytune::knobs::view::SweepMetric::Best => "best_val_loss",
    };
    let header = vec![
        "panel".to_string(),
        series_key.name.to_string(),
        format!("best_{}", x_key.name),
        column.to_string(),
    ];
    let rows = lines.iter().flat_map(|l| {
        l.points
            .iter()
            .map(|(v, x, loss)| vec![l.label.clone(), v.to_string(), x.to_string(), loss.to_string()])
    });
    Some(export::csv_text(std::iter::once(header).chain(rows)))
}

/// What the figures of a finished study are drawn from: its runs, and for a single 2-D run its
/// final decision boundary (the page's shows the same at the end).
struct Drawn<'a> {
    study: &'a Study,
    runs: &'a [metrics::Run],
    grid: Option<plot::BoundaryGrid>,
    points: tinytune::data::Samples,
    sigma: Option<Vec<f64>>,
}

impl<'a> Drawn<'a> {
    fn of(study: &'a Study, runs: &'a [metrics::Run]) -> Self {
        let boundary = runs
            .first()
            .filter(|_| runs.len() == 1)
            .and_then(|r| r.boundary.clone());
        let grid = boundary.as_ref().map(|b| plot::BoundaryGrid {
            res: b.res,
            classes: b.classes,
            probs: b.probs.clone(),
        });
        let points = match boundary {
            Some(b) => b.points,
            None => tinytune::page::boundary_points(&study.experiment),
        };
        Self {
            study,
            runs,
            grid,
            points,
            sigma: report::planted_sigma(&study.experiment),
        }
    }

    /// The page's figure policy over them (`report::Figures`).
    fn figures(&self) -> Figures<'_> {
        Figures::of(Results {
            study: self.study,
            runs: self.runs,
            grid: self.grid.as_ref(),
            points: &self.points,
            planted_sigma: self.sigma.as_deref(),
            before: None,
        })
    }
}

/// A file beside `path`: its name's stem + `suffix`, with extension `ext`.
fn beside(path: &Path, suffix: &str, ext: &str) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}{suffix}.{ext}"))
}

/// `--svg`: the study's main figure to `path`, every other figure the page shows beside it,
/// named `<path's name>-<figure>.svg`; returns the files written.
fn write_svg(path: &Path, figures: &Figures, query: &str) -> Result<Vec<PathBuf>, String> {
    let main = figures.main();
    let mut written = Vec::new();
    let others = figures.shown_charts().into_iter().filter(|&c| c != main);
    for chart in std::iter::once(main).chain(others) {
        let file = if chart == main {
            path.to_path_buf()
        } else {
            beside(path, &format!("-{}", chart.name()), "svg")
        };
        write_figure(&file, figures, chart, query)?;
        written.push(file);
    }
    Ok(written)
}

/// One figure as a stand-alone SVG with its title, and the command that reproduces it.
fn write_figure(file: &Path, figures: &Figures, chart: Chart, query: &str) -> Result<(), String> {
    let desc = format!("Made with tinytune: tinytune '{query}'");
    let svg = report::svg(figures, chart, chart.svg_size(figures), &desc)?;
    std::fs::write(file, svg).map_err(|e| format!("{}: {e}", file.display()))
}

/// A transformer run's end in words: accuracy (or bits per character), the instability proxies,
/// the answers on a few validation examples and the char LM's sample.
fn describe_sequence(run: &tinytune::train::metrics::Run) {
    let last = |f: fn(&tinytune::train::metrics::SeqStats) -> Option<f32>| {
        run.reports.iter().rev().find_map(|r| r.seq.as_ref().and_then(f))
    };
    let (Some(max_logit), Some(log_z)) = (last(|s| Some(s.max_logit)), last(|s| Some(s.log_z))) else {
        return;
    };
    let text = run.config.task == tinytune::knobs::task::Task::Text;
    let what = if text { "per character" } else { "exact match" };
    if let (Some(train), Some(val)) = (last(|s| s.train_acc), last(|s| s.val_acc)) {
        eprintln!(
            "tinytune: accuracy ({what}): train {:.1} %, validation {:.1} %",
            100.0 * train,
            100.0 * val
        );
    }
    if let (true, Some(v)) = (text, run.final_val_loss()) {
        eprintln!(
            "tinytune: validation loss {v:.4} nats = {:.3} bits per character",
            v / std::f32::consts::LN_2
        );
    }
    eprintln!("tinytune: last step: largest attention logit {max_logit:.2}, output log Z {log_z:.2}");
    if let Some(z) = last(|s| s.z_loss) {
        // Validation is cross-entropy only; the training loss carries this term on top.
        eprintln!("tinytune: last step: z-loss term {z:.4} of the training loss (validation excludes it)");
    }
    let Some(views) = &run.seq_views else {
        return;
    };
    for a in &views.answers {
        let mark = if a.exact { "right" } else { "wrong" };
        eprintln!("tinytune:   {} → {}  (want {}; {mark})", a.prompt, a.got, a.want);
    }
    if let Some(s) = &views.sample {
        eprintln!("tinytune: a sample at temperature 1, continuing held-out text:");
        for line in format!("{}[{}]", s.prompt, s.text).lines() {
            eprintln!("  | {line}");
        }
    }
}
