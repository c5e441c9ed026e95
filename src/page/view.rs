//! What the page shows, as a pure function of its state: [`view`] returns every text, button,
//! the sweep's progress and table, the deck's bar, the messages, which charts show and which
//! leads, their captions, and the `data-*` attributes the tests and the benchmark read. The
//! browser shell only applies it (`web::page::render`), so every screen is tested natively.
//!
//! Charts are pictures, not texts: the view says *when* each needs drawing again — its
//! revision changes whenever what it would show changes (new results arrived, a view setting
//! moved) — and the shell draws it then from the same state (`report::Figures`).

use std::hash::{DefaultHasher, Hash, Hasher};

use super::state::{BackendKind, Message, RunState, State};
use crate::keys;
use crate::report::{Chart, Figures};
use crate::train::sequence_views::SeqViews;
use crate::vocab::Named;

/// The page's buttons.
#[derive(Clone, Debug, PartialEq)]
pub struct Buttons {
    pub train: &'static str,
    pub train_enabled: bool,
    pub pause_enabled: bool,
    /// Cancel is a sweep's.
    pub cancel_shown: bool,
    pub cancel_enabled: bool,
}

/// A sweep's progress bar.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepBar {
    pub done: usize,
    pub total: usize,
    pub text: String,
}

/// One row of a sweep's table: its status (the row's class) and its cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub status: &'static str,
    pub cells: Vec<String>,
}

/// The deck's bar: "2 / 5", the slide's title and claim.
#[derive(Clone, Debug, PartialEq)]
pub struct DeckBar {
    pub count: String,
    pub title: String,
    pub claim: String,
    pub previous: bool,
    pub next: bool,
}

/// The table file's first rows, and how it is read (#35): the target column, what it holds,
/// whether its rows are points on the plane; and what that gave.
#[derive(Clone, Debug, PartialEq)]
pub struct TablePreview {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub target: usize,
    /// `auto`, `classes` or `values`.
    pub kind: &'static str,
    pub plane: bool,
    /// "name: 300 rows × 4 features, 3 classes (the first 5 shown)".
    pub summary: String,
}

/// A chart on the page.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartView {
    pub chart: Chart,
    pub shown: bool,
    /// The chart presenter and embed mode put beside the loss curves.
    pub lead: bool,
}

/// Everything the page shows.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewModel {
    /// `data-*` attributes of `#app`: the state, the run and the telemetry tests wait on.
    pub data: Vec<(&'static str, String)>,
    pub status: String,
    pub progress: String,
    pub speed: String,
    pub params: String,
    pub buttons: Buttons,
    pub sweep: Option<SweepBar>,
    /// A sweep's runs, one row each (empty for a single run).
    pub table: Vec<Row>,
    pub present: bool,
    pub embed: bool,
    pub keys_shown: bool,
    pub deck: Option<DeckBar>,
    pub messages: Vec<Message>,
    /// Every chart but the loss curves, in the page's order.
    pub charts: Vec<ChartView>,
    /// What the page's PNG and SVG buttons save.
    pub main_chart: Chart,
    /// Change whenever the loss chart, or the other charts, would show something else.
    pub loss_revision: u64,
    pub side_revision: u64,
    pub sweep_caption: String,
    /// The transformer's answers or the char LM's sample: caption and text.
    pub answers: Option<(String, String)>,
    /// The knobs in words: what adapts, the learning rates, what quantization does.
    pub adapt: Option<String>,
    pub rates: Option<String>,
    pub quant: Option<String>,
    /// The weights file a single run starts from, in words (#35).
    pub weights_in: Option<String>,
    /// The last single run's weights can be downloaded.
    pub weights_out: bool,
    /// The table file the study trains on, while it does.
    pub preview: Option<TablePreview>,
}

/// "8642 parameters", or the range over a sweep's runs, once the runner has started them (the
/// base model's size; the adaptation line says what trains, adapters being extra).
fn params(s: &State) -> String {
    if s.started_ms.is_none() {
        return String::new();
    }
    let counts = s.runs.iter().map(|r| r.config.parameter_estimate());
    match (counts.clone().min(), counts.max()) {
        (Some(lo), Some(hi)) if lo != hi => format!("{lo}–{hi} parameters"),
        (Some(n), _) => format!("{n} parameters"),
        _ => String::new(),
    }
}

/// Steps a second, and for a transformer the tokens they read, as language-model trainers
/// report speed.
fn speed(s: &State) -> String {
    if s.steps_per_s <= 0.0 {
        return String::new();
    }
    let cfg = &s.study.experiment;
    if cfg.is_transformer() {
        let tokens = s.steps_per_s * cfg.tokens_per_step() as f64;
        format!("{:.1} steps/s · {tokens:.0} tokens/s", s.steps_per_s)
    } else {
        format!("{:.1} steps/s", s.steps_per_s)
    }
}

/// The page for `s` at `now_ms` (the sweep's ETA counts from the run's start).
pub fn view(s: &State, now_ms: f64) -> ViewModel {
    let figures = Figures::of(s.results());
    let lead = figures.lead();
    let charts = Chart::ALL
        .into_iter()
        .filter(|&c| c != Chart::Loss)
        .map(|chart| ChartView {
            chart,
            shown: figures.shown(chart),
            lead: Some(chart) == lead,
        })
        .collect();
    let view = &s.study.view;
    ViewModel {
        data: data(s, &figures),
        status: match &s.backend {
            // A pool says how many workers train, and stacks how many runs they hold (#33).
            Some(b) => {
                let mut line = format!("Backend: {}", b.summary);
                if s.workers() > 1 {
                    line.push_str(&format!(" · {} training workers", s.workers()));
                }
                match s.stacked {
                    (_, 0) => {}
                    (runs, 1) => line.push_str(&format!(" · {runs} runs stacked as one model")),
                    (runs, stacks) => line.push_str(&format!(" · {runs} runs in {stacks} stacks")),
                }
                line
            }
            None => "Checking for WebGPU…".into(),
        },
        progress: progress(s),
        speed: speed(s),
        params: params(s),
        buttons: buttons(s),
        sweep: sweep_bar(s, now_ms),
        table: if s.is_sweep() { table(s) } else { Vec::new() },
        present: view.present,
        embed: view.embed && !view.present,
        keys_shown: s.show_keys,
        deck: deck_bar(s),
        messages: s.messages.clone(),
        charts,
        main_chart: figures.main(),
        loss_revision: revision(&(
            s.generation,
            s.shown.loss,
            view.log_x,
            view.log_y,
            view.present,
            s.before.as_ref().map(|(_, label)| label),
        )),
        side_revision: revision(&(
            s.generation,
            s.shown.side,
            view.metric.key(),
            view.present,
            view.embed,
            s.analysed,
        )),
        sweep_caption: figures.sweep_caption(),
        answers: answers(s),
        adapt: adapt(s),
        rates: rates(s),
        quant: quant(s),
        weights_in: s.weights_in.as_ref().map(|w| {
            format!(
                "Starting from {} ({}); a link cannot carry weights, so share the file with it.",
                crate::vocab::clip(&w.name),
                w.about
            )
        }),
        weights_out: s.weights_out.is_some(),
        preview: preview(s),
    }
}

fn preview(s: &State) -> Option<TablePreview> {
    use crate::data::read_table::TargetKind;
    let file = s.table_file.as_ref()?;
    let data = s.study.experiment.data.as_ref()?;
    if data.hash() != file.hash || s.study.experiment.task != crate::knobs::task::Task::Table {
        return None;
    }
    let p = &file.preview;
    let last = p.columns.len().saturating_sub(1);
    let target = match file.opts.target.as_deref() {
        None => last,
        Some(t) => p
            .columns
            .iter()
            .position(|c| c == t)
            .or_else(|| t.parse::<usize>().ok().map(|i| i.saturating_sub(1)))
            .unwrap_or(last),
    };
    Some(TablePreview {
        columns: p.columns.iter().map(|c| crate::vocab::clip(c)).collect(),
        rows: p.rows.clone(),
        target,
        kind: match file.opts.kind {
            TargetKind::Auto => "auto",
            TargetKind::Classes => "classes",
            TargetKind::Values => "values",
        },
        plane: file.opts.plane,
        summary: format!(
            "{}: {} (the first {} of {} rows shown)",
            crate::vocab::clip(&file.name),
            data.describe(),
            p.rows.len(),
            p.total
        ),
    })
}

fn revision(parts: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// The `data-*` attributes: what tests and the benchmark wait on instead of fixed times.
fn data(s: &State, figures: &Figures) -> Vec<(&'static str, String)> {
    let t = &s.telemetry;
    let mut d: Vec<(&'static str, String)> = vec![
        ("state", s.run_state.key().into()),
        // Which restart the state belongs to, so a test can wait for the run a change started.
        ("generation", s.generation.to_string()),
        (
            "runnerFrames",
            format!("{}:{}", t.runner_frames.0, t.runner_frames.1),
        ),
        // No selection pending once every one asked for has answered.
        ("backendAsked", s.backend_asked.to_string()),
        ("backendAnswered", s.backend_answered.to_string()),
        ("step", s.steps_done().to_string()),
        ("stepsPerS", format!("{:.2}", s.steps_per_s)),
        // Training workers of this generation (a pool, #33).
        ("pool", s.workers().to_string()),
        // What the faint curve is (the chart's legend is pixels).
        (
            "before",
            s.before.as_ref().map_or(String::new(), |(_, l)| l.clone()),
        ),
        ("panels", figures.panel_count().to_string()),
        ("coordRows", figures.coord_rows().to_string()),
        ("staircase", if figures.is_staircase() { "1" } else { "0" }.into()),
        // The run's weights arrived and can be downloaded (#35).
        ("weights", if s.weights_out.is_some() { "1" } else { "0" }.into()),
        // Your table's rows and classes (#35: clicked, pasted or read points).
        (
            "ownRows",
            s.study
                .experiment
                .data
                .as_ref()
                .and_then(|d| d.table())
                .map_or(String::new(), |t| format!("{}x{}", t.rows(), t.classes())),
        ),
    ];
    if let Some(b) = &s.backend {
        let kind = match b.kind {
            BackendKind::Webgpu => "webgpu",
            BackendKind::Cpu => "cpu",
        };
        d.push((keys::BACKEND.name, kind.into()));
    }
    let view = &s.study.view;
    let slide = if view.deck.is_empty() {
        String::new()
    } else {
        view.slide.to_string()
    };
    d.push((keys::SLIDE.name, slide));
    if s.is_sweep() {
        d.push(("runsDone", s.runs_finished().to_string()));
        d.push(("runsTotal", s.runs.len().to_string()));
    }
    // The bit-width the weights figure shows (a PTQ knob re-grids it before the run repeats).
    let weights = s
        .runs
        .first()
        .filter(|_| figures.shown(Chart::Weights))
        .and_then(|r| r.weights_figure());
    d.push((
        "weightsBits",
        weights.map_or(String::new(), |w| w.quant.bits.to_string()),
    ));
    if let Some(run) = s.runs.first() {
        if let Some(first) = run.reports.first() {
            d.push(("firstLoss", first.train_loss.to_string()));
        }
        if let Some(v) = run.reports.first().and_then(|r| r.val_loss) {
            d.push(("firstVal", v.to_string()));
        }
        if let Some(v) = run.final_val_loss() {
            d.push(("lastVal", v.to_string()));
        }
    }
    if let Some(ms) = t.first_point_ms {
        d.push(("firstPointMs", format!("{ms:.0}")));
    }
    if let (Some(end), Some(start)) = (t.finished_ms, s.started_ms) {
        d.push(("trainMs", format!("{:.0}", end - start)));
    }
    if let Some(g) = t.runner_stopped {
        d.push(("runnerStopped", g.to_string()));
    }
    d
}

fn buttons(s: &State) -> Buttons {
    let active = matches!(s.run_state, RunState::Running | RunState::Paused);
    Buttons {
        train: match s.run_state {
            RunState::Paused => "Resume",
            RunState::Done | RunState::Diverged | RunState::Cancelled | RunState::Failed => "Train again",
            _ => "Train",
        },
        train_enabled: s.run_state != RunState::Running,
        pause_enabled: s.run_state == RunState::Running,
        cancel_shown: s.is_sweep(),
        cancel_enabled: active,
    }
}

fn progress(s: &State) -> String {
    let done = s.steps_done();
    if s.is_sweep() {
        return format!("step {done} / {} over {} runs", s.total_steps(), s.runs.len());
    }
    let mut progress = format!("step {done} / {}", s.study.experiment.total_steps());
    let Some(run) = s.runs.first() else {
        return progress;
    };
    if let Some(last) = run.reports.last() {
        progress.push_str(&format!(" · train {:.4}", last.train_loss));
    }
    if let Some(v) = run.final_val_loss() {
        progress.push_str(&format!(" · val {v:.4}"));
    }
    // The schedule's current rate (the base group's; μP groups keep their ratios to it).
    let cfg = &s.study.experiment;
    if cfg.sched != crate::knobs::schedule::Schedule::Const && done < cfg.total_steps() {
        let lr = cfg.lr * crate::experiment::rates::lr_factor_at(cfg, done);
        progress.push_str(&format!(" · lr now {lr:.3e}"));
    }
    if run.diverged {
        progress.push_str(" · diverged (NaN/Inf or loss far above its start)");
    }
    progress
}

fn sweep_bar(s: &State, now_ms: f64) -> Option<SweepBar> {
    if !s.is_sweep() {
        return None;
    }
    let (done, total) = (s.runs_finished(), s.runs.len());
    let (steps, all) = (s.steps_done(), s.total_steps().max(1));
    let mut text = format!("{done} / {total} runs");
    if let (RunState::Running, Some(started)) = (s.run_state, s.started_ms)
        && steps > 0
        && steps < all
    {
        let eta = (now_ms - started) / steps as f64 * (all - steps) as f64 / 1000.0;
        text.push_str(&format!(" · ETA {}", duration_text(eta)));
    }
    let diverged = s.runs.iter().filter(|r| r.diverged).count();
    if diverged > 0 {
        text.push_str(&format!(" · {diverged} diverged"));
    }
    let failed = s.runs.iter().filter(|r| r.failed.is_some()).count();
    if failed > 0 {
        text.push_str(&format!(" · {failed} failed"));
    }
    if s.run_state == RunState::Cancelled {
        text.push_str(" · cancelled");
    }
    Some(SweepBar {
        done,
        total: total.max(1),
        text,
    })
}

fn duration_text(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else {
        format!("{:.0} min", secs / 60.0)
    }
}

fn loss_text(v: Option<f32>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "–".into())
}

/// Status of run `i` in words.
fn run_status(s: &State, i: usize) -> &'static str {
    let r = &s.runs[i];
    if r.failed.is_some() {
        "failed"
    } else if r.diverged {
        "diverged"
    } else if r.reports.len() >= r.config.total_steps() {
        "done"
    } else if s.run_state == RunState::Cancelled {
        "cancelled"
    } else if r.reports.is_empty() {
        "queued"
    } else {
        "running"
    }
}

/// One row per run: index, label, final and best losses, steps/s, status.
fn table(s: &State) -> Vec<Row> {
    (0..s.runs.len())
        .map(|i| {
            let r = &s.runs[i];
            let ms = s.run_ms.get(i).copied().unwrap_or(0.0);
            let speed = if ms > 0.0 {
                format!("{:.0}", r.reports.len() as f64 / (ms / 1000.0))
            } else {
                "–".into()
            };
            let status = run_status(s, i);
            Row {
                status,
                cells: vec![
                    i.to_string(),
                    r.label(),
                    loss_text(r.final_train_loss()),
                    loss_text(r.final_val_loss()),
                    loss_text(r.best_val_loss()),
                    speed,
                    status.to_string(),
                ],
            }
        })
        .collect()
}

fn deck_bar(s: &State) -> Option<DeckBar> {
    let view = &s.study.view;
    let item = view.slide.checked_sub(1).and_then(|i| view.deck.get(i))?;
    let n = view.deck.len();
    Some(DeckBar {
        count: format!("{} / {n}", view.slide),
        title: crate::link::deck::title(item, &s.study.experiment.label()),
        claim: crate::link::deck::claim(item).unwrap_or("").to_string(),
        previous: view.slide > 1,
        next: view.slide < n,
    })
}

/// The transformer's views of a single run: the char LM's sample, or each validation
/// example's prompt, the model's answer and the right one. Shown as text, never as HTML.
fn answers(s: &State) -> Option<(String, String)> {
    let v = s
        .runs
        .first()
        .and_then(|r| r.seq_views.as_ref())
        .filter(|_| !s.is_sweep())?;
    Some(answers_text(v))
}

fn answers_text(v: &SeqViews) -> (String, String) {
    if let Some(s) = &v.sample {
        let caption = if !s.live {
            format!(
                "A sample at temperature 1 when the run ends (step {}): the model continues held-out text \
                 (before the bar) with its own characters (after it).",
                s.steps.1
            )
        } else {
            let steps = if s.steps.0 == s.steps.1 {
                format!("step {}", s.steps.0)
            } else {
                format!("steps {}–{}", s.steps.0, s.steps.1)
            };
            format!(
                "Live: the model writes a sample at temperature 1 as it trains ({steps}), continuing held-out \
                 text (before the bar); each new sample uses the same random draws, so what changes is the weights."
            )
        };
        return (caption, format!("{}│{}", s.prompt, s.text));
    }
    let lines: Vec<String> = v
        .answers
        .iter()
        .map(|a| {
            let mark = if a.exact { "✓" } else { "✗" };
            format!("{mark} {}  →  {}   (right: {})", a.prompt, a.got, a.want)
        })
        .collect();
    (
        "The trained model's answers (argmax at each scored position) on the first validation examples; ✓ = every \
         token right."
            .into(),
        lines.join("\n"),
    )
}

/// Whether any of `keys` is swept (then each run has its own value: the table shows them).
fn swept(s: &State, keys: &[&keys::Key]) -> bool {
    let swept = s.study.sweep.keys();
    keys.iter().any(|k| swept.contains(k))
}

/// What the adaptation trains (a rank sweep describes each run in the staircase instead).
fn adapt(s: &State) -> Option<String> {
    crate::experiment::describe::lora(&s.study.experiment).filter(|_| !swept(s, &[&keys::R]))
}

/// The learning rate each μP group gets and how the schedule and weight decay shape it.
fn rates(s: &State) -> Option<String> {
    let cfg = &s.study.experiment;
    let lines: Vec<String> = [
        crate::experiment::describe::mup(cfg)
            .filter(|_| !swept(s, &[&keys::W, &keys::LR, &keys::PARAM, &keys::BW])),
        crate::experiment::describe::schedule(cfg)
            .filter(|_| !swept(s, &[&keys::SCHED, &keys::WARM, &keys::WD])),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!lines.is_empty()).then(|| lines.join(" · "))
}

/// What quantization and a sparse run's cut do (each unless its keys are swept: the table
/// names every run's values then).
fn quant(s: &State) -> Option<String> {
    let prune_keys = [
        &keys::PKEEP,
        &keys::PAT,
        &keys::PFROM,
        &keys::PREW,
        &keys::PMASK,
        &keys::PROUNDS,
    ];
    let sparse = crate::experiment::describe::sparse(&s.study.experiment).filter(|_| !swept(s, &prune_keys));
    let lines: Vec<String> = [rounding(s), sparse].into_iter().flatten().collect();
    (!lines.is_empty()).then(|| lines.join(" · "))
}

/// What quantization does, and for one finished PTQ run what it cost.
fn rounding(s: &State) -> Option<String> {
    let cfg = &s.study.experiment;
    let quant_keys = [
        &keys::BITS,
        &keys::QFMT,
        &keys::QGRAN,
        &keys::QGS,
        &keys::QCLIP,
        &keys::QMODE,
    ];
    if swept(s, &quant_keys) {
        return None;
    }
    let native = s.backend.as_ref().is_some_and(|b| b.kind == BackendKind::Cpu);
    let mut text = crate::experiment::describe::quant(cfg, crate::model::quant::native::used(cfg, native))?;
    let single = s.runs.first().filter(|_| !s.is_sweep());
    if let Some(run) = single
        && let (Some(qv), Some(fv)) = (run.quant_val_loss(), run.final_val_loss())
    {
        text.push_str(&format!(" · val loss {fv:.4} in f32 → {qv:.4} quantized"));
    }
    if let Some(bytes) = single.and_then(|r| r.packed_bytes) {
        text.push_str(&format!(" · Burn stores it in {bytes} bytes"));
    }
    Some(text)
}
