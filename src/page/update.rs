//! Every state transition of the page, as one pure function: `update(&mut State, Msg)` changes the
//! state and returns the effects the shell must carry out (write the link, pick a backend, start a
//! runner, redraw). Handlers and the runner only send messages; nothing else writes the state, so
//! every transition is tested natively (`tests/page.rs`).

use super::msg::{Effect, FrameReport, Msg};
use super::own::{
    Holding, Opened, add_point, open_file, paste_points, read_table_again, refuse, settle, wanted,
    weights_file,
};
use super::pool;
use super::state::{
    BackendKind, LOSS_CHART_EVERY_MS, Level, Message, RunState, State, boundary_points, cpu_backend,
};
use crate::link::presets;
use crate::link::study::{Change, Study};
use crate::link::url;
use crate::train::metrics::{self, Run};

/// The one transition function.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Boot { query, cores } => {
            state.cores = cores.max(1);
            let parsed = url::parse_holding(&query, state.held.as_ref());
            state.wanted = wanted(&query, &parsed.study);
            state.messages.retain(|m| m.level == Level::Error);
            state.messages.extend(parsed.issues.iter().map(|i| Message {
                level: Level::Warning,
                text: format!("Link: {}", i.message),
            }));
            state.study = parsed.study;
            fx.extend([Effect::WriteControls, url_effect(state)]);
            reset_runs(state, RunState::Idle);
            choose_backend(state, &mut fx);
        }
        Msg::Edit(pairs) => {
            let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            let parsed = url::parse_onto_holding(&state.study, &query, state.held.as_ref());
            // A fixed control clears its warning; errors stay until the page is reloaded.
            state.messages.retain(|m| m.level != Level::Warning);
            state.messages.extend(parsed.issues.iter().map(|i| Message {
                level: Level::Warning,
                text: i.message.clone(),
            }));
            let (old, new) = (&state.study.view, &parsed.study.view);
            if !new.deck.is_empty() && (old.deck != new.deck || old.slide != new.slide) {
                // The deck box or the slide number changed: open that slide.
                state.study.view.deck = new.deck.clone();
                go_to_slide(state, new.slide, &mut fx);
            } else {
                change_study(state, parsed.study, &mut fx);
            }
        }
        Msg::DataFile { name, size, bytes } => {
            let before = Holding::of(state);
            let opened = open_file(state, &name, size, &bytes);
            return open(state, opened, &name, before, fx);
        }
        Msg::ReadTable { target, kind, plane } => {
            let before = Holding::of(state);
            let what = state
                .table_file
                .as_ref()
                .map_or("the table".into(), |f| f.name.clone());
            let opened = read_table_again(state, target, kind, plane);
            return open(state, opened, &what, before, fx);
        }
        Msg::PastePoints(text) => {
            let before = Holding::of(state);
            let opened = paste_points(state, &text);
            return open(state, opened, "the pasted points", before, fx);
        }
        Msg::AddPoint { x, y, class } => {
            let before = Holding::of(state);
            let opened = add_point(state, x, y, class);
            return open(state, opened, "the point", before, fx);
        }
        Msg::WeightsFile { name, size, bytes } => match weights_file(state, &name, size, bytes) {
            Ok(loaded) => {
                state.weights_in = Some(loaded);
                restart(state, true, &mut fx);
            }
            Err(e) => state.messages.push(Message {
                level: Level::Warning,
                text: format!("{}: {e}", crate::vocab::clip(&name)),
            }),
        },
        Msg::ForgetWeights => {
            if state.weights_in.take().is_some() {
                restart(state, true, &mut fx);
            }
        }
        Msg::Weights {
            generation,
            base,
            adapters,
        } => {
            if generation == state.generation {
                state.weights_out = Some(super::state::TrainedWeights { base, adapters });
            }
        }
        Msg::StorageFailed(text) => state.messages.push(Message {
            level: Level::Warning,
            text,
        }),
        Msg::DataKept { text } => {
            // Checked as a link's data is; storage another page version wrote may be stale.
            if let Ok(data) = crate::knobs::own::OwnData::from_link(&text) {
                state.held = Some(data);
            }
        }
        Msg::AddToDeck => {
            let by_hash = state.study.experiment.data.as_ref().map(|d| d.link_text());
            if by_hash.is_some_and(|t| crate::knobs::own::OwnData::names_by_hash(&t)) {
                // A slide is a link: data only this browser keeps would leave the deck elsewhere.
                state.messages.push(Message {
                    level: Level::Warning,
                    text: "this slide's data is too large for a link (it is kept in this browser only): a deck takes data of at most 6,000 characters in a link; this slide was not added".into(),
                });
                return fx;
            }
            let mut new = state.study.clone();
            // The slide is this very experiment, so nothing restarts; the link gains it.
            new.view.deck.push(url::deck_item(&new));
            // A deck the link cannot hold would be lost on the next reload: refuse the slide.
            use crate::knobs::deck::{MAX_SLIDES, MAX_TEXT, list_text};
            if new.view.deck.len() > MAX_SLIDES || list_text(&new.view.deck).chars().count() > MAX_TEXT {
                state.messages.push(Message {
                    level: Level::Warning,
                    text: format!(
                        "the deck is full (at most {MAX_SLIDES} slides and {MAX_TEXT} characters of links); \
                         this slide was not added"
                    ),
                });
                return fx;
            }
            new.view.slide = new.view.deck.len();
            change_study(state, new, &mut fx);
        }
        Msg::Preset(id) => match presets::find(&id) {
            Some(p) => {
                state.wanted = None; // another experiment: the link waiting for its file is gone
                // The preset's experiment and sweep, seen the way this page views things.
                let base = Study {
                    view: state.study.view.clone(),
                    ..Study::default()
                };
                let parsed = url::parse_onto(&base, p.query);
                state.messages.retain(|m| m.level != Level::Warning);
                if matches!(
                    change_study(state, parsed.study, &mut fx),
                    Change::None | Change::Redraw
                ) {
                    // The preset is what is on screen already: run it again.
                    restart(state, true, &mut fx);
                }
            }
            None => {
                state.messages.push(Message {
                    level: Level::Warning,
                    text: format!("there is no preset '{}'", crate::vocab::clip(&id)),
                });
            }
        },
        Msg::Train => match state.run_state {
            RunState::Paused => {
                state.run_state = RunState::Running;
            }
            RunState::Running => {}
            _ => restart(state, true, &mut fx),
        },
        Msg::Pause => {
            if state.run_state == RunState::Running {
                state.run_state = RunState::Paused;
            }
        }
        Msg::Cancel => {
            if matches!(state.run_state, RunState::Running | RunState::Paused) {
                // The runner sees it at its next frame and stops; finished runs keep their results.
                state.run_state = RunState::Cancelled;
            }
        }
        Msg::Reset => restart(state, false, &mut fx),
        Msg::Shortcut(key) => {
            use super::msg::Shortcut;
            match key {
                Shortcut::TrainPause if state.run_state == RunState::Running => {
                    return update(state, Msg::Pause);
                }
                Shortcut::TrainPause => return update(state, Msg::Train),
                Shortcut::Reset => return update(state, Msg::Reset),
                Shortcut::Present => {
                    let mut new = state.study.clone();
                    new.view.present = !new.view.present;
                    change_study(state, new, &mut fx);
                }
                Shortcut::FullScreen => fx.push(Effect::ToggleFullScreen),
                Shortcut::Keys | Shortcut::CloseKeys => {
                    state.show_keys = key == Shortcut::Keys && !state.show_keys;
                }
                Shortcut::NextSlide | Shortcut::PreviousSlide => {
                    let view = &state.study.view;
                    let to = if key == Shortcut::NextSlide {
                        (view.slide + 1).min(view.deck.len())
                    } else {
                        view.slide.saturating_sub(1).max(1)
                    };
                    // No deck, or its first or last slide: nothing to step to.
                    if !view.deck.is_empty() && to != view.slide {
                        go_to_slide(state, to, &mut fx);
                    }
                }
            }
        }
        Msg::BackendReady { ticket, backend } => {
            if ticket != state.backend_asked {
                return fx; // not the selection in flight: ignore
            }
            state.backend_answered = state.backend_asked;
            if state.backend_rechoose {
                // The choice changed while this selection ran: ask for the new one.
                state.backend_rechoose = false;
                choose_backend(state, &mut fx);
            } else {
                state.backend = Some(backend);
                restart(state, true, &mut fx);
            }
        }
        Msg::BackendPicked { generation, backend } => {
            // An older run's pick (the study changed while it was timed) says nothing now.
            if generation == state.generation {
                state.backend = Some(backend);
            }
        }
        Msg::RunnerStarted { generation, now_ms } => {
            if generation != state.generation {
                return fx;
            }
            // A pool's workers each say so: the study started with the first.
            state.started_ms.get_or_insert(now_ms);
        }
        Msg::RunnerFrame { generation } => {
            if generation == state.generation {
                let (g, n) = state.telemetry.runner_frames;
                state.telemetry.runner_frames = (generation, if g == generation { n + 1 } else { 1 });
            }
        }
        Msg::RunnerRefused { generation, error } => {
            if generation != state.generation {
                return fx;
            }
            if error.starts_with(super::msg::WEIGHTS_REFUSED) && state.weights_in.take().is_some() {
                // The study changed under loaded weights (another width, task or family): they
                // are set aside, and Train runs from the seed.
                state.messages.push(Message {
                    level: Level::Warning,
                    text: format!("{error}; they were set aside: Train runs from the seed"),
                });
            } else {
                state.messages.push(Message {
                    level: Level::Error,
                    text: format!("This experiment cannot run: {error}"),
                });
            }
            state.run_state = RunState::Failed;
        }
        Msg::DeviceFailed { generation, error } => {
            if generation != state.generation {
                return fx;
            }
            let on_gpu = state
                .backend
                .as_ref()
                .is_some_and(|b| b.kind == BackendKind::Webgpu);
            if on_gpu {
                state.messages.push(Message {
                    level: Level::Error,
                    text: format!(
                        "The GPU stopped responding ({error}). Training restarted on the CPU backend."
                    ),
                });
                state.backend = Some(cpu_backend(
                    "the GPU device was lost during training; restarted on the CPU",
                ));
                fx.push(Effect::MarkGpuLost);
                restart(state, true, &mut fx);
            } else {
                state.messages.push(Message {
                    level: Level::Error,
                    text: format!("Training failed: {error}"),
                });
                state.run_state = RunState::Failed;
            }
        }
        Msg::Frame(frame) => {
            if frame.generation == state.generation {
                on_frame(state, frame);
            }
        }
        Msg::Analysed { generation, analysis } => {
            if generation == state.generation {
                if let Some(run) = state.runs.first_mut() {
                    analysis.apply_to(run);
                }
                state.analysed = true;
                state.shown.side += 1;
            }
        }
        Msg::Regridded { generation, figure } => {
            if generation == state.generation
                && let Some(run) = state.runs.first_mut().filter(|r| r.weights_figure.is_none())
            {
                run.weights_figure = Some(figure);
                state.shown.side += 1;
            }
        }
        Msg::RunnerStopped { generation } => {
            state.telemetry.runner_stopped = Some(generation);
        }
        Msg::ShareRestarted {
            generation,
            share,
            error,
        } => pool::share_restarted(state, generation, share, &error),
        Msg::ShareFailed {
            generation,
            share,
            error,
        } => pool::share_failed(state, generation, share, &error),
        Msg::MessageLost { error } => {
            // The run's next step never arrives, or its news does not: it is over, and the page
            // says what to do. Nothing else is lost: the worker and the study are as they were.
            let what = format!("A message between the page and its training worker was lost: {error}");
            stop_with_error(
                state,
                format!("{what}. This run stopped; press Train to run it again."),
                format!("{what}."),
            );
        }
        Msg::WorkerFailed { error } => {
            // The page itself is fine: say what failed; a run in progress is over (its worker,
            // with its trainers, is gone), and Train starts it again on the fresh worker.
            stop_with_error(
                state,
                format!(
                    "The training worker failed ({error}); this run stopped. Press Train to run it again."
                ),
                format!("The training worker failed ({error}); a new one has started."),
            );
        }
        Msg::Export(e) => fx.push(Effect::Export(e)),
    }
    fx
}

/// Says an error; a run in progress ends as failed (Train runs it again), with the text that says
/// so, and an idle page only hears what happened.
/// Runs what a file, a paste or a click opened (as a link or as edits), or says why `what` was
/// refused; `own::settle` then decides what the page holds.
fn open(
    state: &mut State,
    opened: Result<Opened, String>,
    what: &str,
    before: Holding,
    mut fx: Vec<Effect>,
) -> Vec<Effect> {
    match opened {
        Ok(Opened::Link(query)) => {
            let cores = state.cores;
            fx.extend(update(state, Msg::Boot { query, cores }));
            fx.extend(settle(state, before));
        }
        Ok(Opened::Data(pairs)) => {
            fx.extend(update(state, Msg::Edit(pairs)));
            fx.extend(settle(state, before));
        }
        Err(why) => refuse(state, before, what, &why),
    }
    fx
}

fn stop_with_error(state: &mut State, if_training: String, if_idle: String) {
    let training = matches!(state.run_state, RunState::Running | RunState::Paused);
    let text = if training { if_training } else { if_idle };
    state.messages.push(Message {
        level: Level::Error,
        text,
    });
    if training {
        state.run_state = RunState::Failed;
    }
}

/// Opens slide `to` of the deck: its own experiment, sweep and view, with what holds for the whole
/// talk kept (the backend, presenter and embed mode, the knobs where the slide names none).
fn go_to_slide(state: &mut State, to: usize, fx: &mut Vec<Effect>) {
    let mut view = state.study.view.clone();
    view.slide = to.clamp(1, view.deck.len().max(1));
    let (mut new, issues) = url::slide_study(&view);
    if new.view.knobs.is_empty() {
        new.view.knobs = view.knobs.clone();
    }
    new.view.backend = view.backend;
    new.view.present = view.present;
    new.view.embed = view.embed;
    new.view.deck = view.deck;
    new.view.slide = view.slide;
    state.messages.retain(|m| m.level != Level::Warning);
    state.messages.extend(issues.iter().map(|i| Message {
        level: Level::Warning,
        text: format!("Link: {}", i.message),
    }));
    if matches!(change_study(state, new, fx), Change::None | Change::Redraw) {
        // The same experiment on two slides: it runs again, as a new slide does.
        restart(state, true, fx);
    }
}

fn url_effect(state: &State) -> Effect {
    Effect::WriteUrl(url::to_query(&state.study))
}

/// Asks for the study's backend, unless a selection is in flight (its answer asks again).
fn choose_backend(state: &mut State, fx: &mut Vec<Effect>) {
    if state.backend_asked > state.backend_answered {
        state.backend_rechoose = true;
        return;
    }
    state.backend_asked += 1;
    fx.push(Effect::ChooseBackend {
        ticket: state.backend_asked,
        choice: state.study.view.backend,
    });
}

fn change_study(state: &mut State, new: Study, fx: &mut Vec<Effect>) -> Change {
    let change = state.study.change_to(&new);
    state.study = new;
    fx.extend([Effect::WriteControls, url_effect(state)]);
    match change {
        Change::None => {}
        Change::Redraw => {}
        Change::SwitchBackend => {
            // The old runs stop now; the new device restarts them when it is ready.
            reset_runs(state, RunState::Idle);
            choose_backend(state, fx);
        }
        Change::Restart => restart(state, true, fx),
    }
    change
}

/// Fresh, empty runs for the current study (a new generation: runners of the old one stop).
fn reset_runs(state: &mut State, run_state: RunState) {
    state.generation += 1;
    state.points = state.study.runs();
    keep_before(state);
    state.runs = state
        .points
        .iter()
        .map(|p| Run::with_knobs(p.config.clone(), p.knobs.clone()))
        .collect();
    state.run_ms = vec![0.0; state.runs.len()];
    state.grid = None;
    state.data = boundary_points(&state.study.experiment);
    state.steps_per_s = 0.0;
    state.shares = Vec::new();
    state.share_rates = Vec::new();
    state.stacked = (0, 0);
    state.started_ms = None;
    state.telemetry.first_point_ms = None;
    state.telemetry.finished_ms = None;
    let cfg = &state.study.experiment;
    state.planted_sigma = crate::report::planted_sigma(cfg);
    state.side_drawn_ms = f64::NEG_INFINITY;
    state.loss_drawn_ms = f64::NEG_INFINITY;
    state.analysed = false;
    state.run_state = run_state;
    state.weights_out = None;
    if state.points.len() > 1 && state.weights_in.take().is_some() {
        state.messages.push(Message {
            level: Level::Warning,
            text: "the loaded weights start a single run: this sweep trains from its seeds (load them again for a single run)".into(),
        });
    }
}

/// Throws away the current runs and starts fresh ones (running if `autorun` and a backend is
/// ready; without one, the backend's answer starts them).
fn restart(state: &mut State, autorun: bool, fx: &mut Vec<Effect>) {
    reset_runs(
        state,
        if autorun {
            RunState::Running
        } else {
            RunState::Idle
        },
    );
    if autorun && state.backend.is_some() && state.backend_asked == state.backend_answered {
        state.shares = pool::shares(state);
        state.share_rates = vec![0.0; state.shares.len()];
        state.stacked = pool::stacked(state, &state.shares);
        fx.push(Effect::StartRunner {
            generation: state.generation,
            shares: state.shares.clone(),
        });
    }
}

fn on_frame(state: &mut State, f: FrameReport) {
    let n: usize = f.counts.iter().map(|&(_, c)| c).sum();
    metrics::assign_reports(&mut state.runs, &f.counts, f.reports);
    let spent = f.ended_ms - f.started_ms;
    for &(i, c) in &f.counts {
        if let Some(ms) = state.run_ms.get_mut(i) {
            *ms += spent * c as f64 / n.max(1) as f64;
        }
    }
    let had_views = f.views.is_some();
    if let (Some(v), Some(run)) = (f.views, state.runs.first_mut()) {
        run.seq_views = Some(v);
    }
    let had_grid = f.grid.is_some() || had_views;
    if let Some((grid, data)) = f.grid {
        // After the switch to adaptation the points are the shifted task's.
        if state.data != data {
            state.data = data;
        }
        state.grid = Some(grid);
    }
    // Live speed: steps over wall time between frame ends (includes waiting for the GPU), each
    // worker's own, and the pool's their sum.
    let rate = n as f64 / ((f.ended_ms - f.previous_end_ms).max(1e-3) / 1000.0);
    if state.share_rates.len() <= f.share {
        state.share_rates.resize(f.share + 1, 0.0);
    }
    let mine = &mut state.share_rates[f.share];
    *mine = if *mine == 0.0 {
        rate
    } else {
        0.8 * *mine + 0.2 * rate
    };
    state.steps_per_s = state.share_rates.iter().sum();
    if state.telemetry.first_point_ms.is_none() && state.runs.iter().any(|r| !r.reports.is_empty()) {
        state.telemetry.first_point_ms = Some(f.ended_ms);
    }
    // Finished is finished, even if Pause or Cancel came during the last readback.
    let finished = state.settle(Some(f.ended_ms));
    if !state.is_sweep() || finished || f.ended_ms - state.loss_drawn_ms >= LOSS_CHART_EVERY_MS {
        state.loss_drawn_ms = f.ended_ms;
        state.shown.loss += 1;
    }
    if had_grid || finished || state.side_due(f.started_ms) {
        state.side_drawn_ms = f.started_ms;
        state.shown.side += 1;
    }
}

/// In presenter mode a knob moved: the single run it replaced, if it had trained at all, stays on
/// the loss chart as the "before" curve, named by the knobs' values it ran with. Out of presenter
/// mode, for a sweep, or when more than the knobs changed, there is none.
fn keep_before(state: &mut State) {
    let view = &state.study.view;
    let single = |n: usize| n == 1 && state.points.len() == 1;
    if !view.present || !single(state.runs.len()) {
        state.before = None;
        return;
    }
    let (old, new) = (&state.runs[0], &state.points[0].config);
    if old.reports.is_empty() || old.config == *new {
        return;
    }
    // Only a move of the knobs themselves: another preset or a hidden control's edit is a
    // different experiment, not a "before".
    let was = Study::of(old.config.clone());
    let mut moved = old.config.clone();
    for k in view.knobs.iter().filter_map(|k| crate::keys::key(k)) {
        let _ = k.set_experiment(&mut moved, &url::value_text(&Study::of(new.clone()), k));
    }
    if moved != *new {
        state.before = None;
        return;
    }
    let named: Vec<String> = view
        .knobs
        .iter()
        .filter_map(|k| crate::keys::key(k))
        .map(|k| format!("{}={}", k.name, url::value_text(&was, k)))
        .collect();
    let label = if named.is_empty() {
        old.config.label()
    } else {
        named.join(" ")
    };
    state.before = Some((old.clone(), label));
}
