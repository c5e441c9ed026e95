//! The page's transitions, natively: `page::update` for every message the shell or the runner
//! can send, the effects each one asks for, and what `page::view` shows of the result.

use tinytune::knobs::view::BackendChoice;
use tinytune::link::url;
use tinytune::page::{
    ActiveBackend, BackendKind, Effect, Export, FrameReport, Level, Msg, RunState, State, cpu_backend,
    update, view,
};
use tinytune::train::Analysis;
use tinytune::train::metrics::StepReport;

fn webgpu() -> ActiveBackend {
    ActiveBackend {
        kind: BackendKind::Webgpu,
        summary: "WebGPU — test adapter".into(),
    }
}

fn ticket_of(fx: &[Effect]) -> Option<(u64, BackendChoice)> {
    fx.iter().find_map(|e| match e {
        Effect::ChooseBackend { ticket, choice } => Some((*ticket, *choice)),
        _ => None,
    })
}

fn started(fx: &[Effect]) -> Option<u64> {
    fx.iter().find_map(|e| match e {
        Effect::StartRunner { generation, .. } => Some(*generation),
        _ => None,
    })
}

fn url_of(fx: &[Effect]) -> Option<&str> {
    fx.iter().find_map(|e| match e {
        Effect::WriteUrl(q) => Some(q.as_str()),
        _ => None,
    })
}

/// A page booted on `query` whose CPU backend answered: training.
/// The worker of `s`'s current run says it started at `now_ms`.
fn runner_started(s: &mut State, now_ms: f64) {
    let generation = s.generation;
    update(s, Msg::RunnerStarted { generation, now_ms });
}

fn running(query: &str) -> State {
    let mut s = State::new();
    let fx = update(
        &mut s,
        Msg::Boot {
            query: query.into(),
            cores: 1,
        },
    );
    let (ticket, _) = ticket_of(&fx).expect("boot asks for a backend");
    let fx = update(
        &mut s,
        Msg::BackendReady {
            ticket,
            backend: cpu_backend("test"),
        },
    );
    assert_eq!(started(&fx), Some(s.generation));
    s
}

/// A page booted on the defaults whose WebGPU backend answered: training.
fn on_webgpu() -> State {
    let mut s = State::new();
    update(
        &mut s,
        Msg::Boot {
            query: "".into(),
            cores: 1,
        },
    );
    update(
        &mut s,
        Msg::BackendReady {
            ticket: 1,
            backend: webgpu(),
        },
    );
    s
}

fn edit(s: &mut State, key: &str, value: &str) -> Vec<Effect> {
    update(s, Msg::Edit(vec![(key.into(), value.into())]))
}

fn report(step: usize, loss: f32) -> StepReport {
    StepReport {
        step,
        train_loss: loss,
        val_loss: Some(loss),
        coord: None,
        quant_val_loss: None,
        seq: None,
        norms: None,
        singular: None,
        prune: None,
        val_acc: None,
        gns: None,
    }
}

fn frame(s: &State, steps: std::ops::Range<usize>, loss: f32) -> Msg {
    let n = steps.len();
    Msg::Frame(FrameReport {
        generation: s.generation,
        share: 0,
        counts: vec![(0, n)],
        reports: steps.map(|t| report(t, loss)).collect(),
        started_ms: 1000.0,
        ended_ms: 1010.0,
        previous_end_ms: 990.0,
        grid: None,
        views: None,
    })
}

#[test]
fn boot_reads_the_link_reports_its_problems_and_asks_for_a_backend() {
    let mut s = State::new();
    let fx = update(
        &mut s,
        Msg::Boot {
            query: "?w=32&zz=1&backend=cpu".into(),
            cores: 1,
        },
    );
    assert_eq!(s.study.experiment.width, 32);
    assert!(
        s.messages_of(Level::Warning)
            .any(|m| m.contains("unknown key 'zz' was ignored"))
    );
    assert!(fx.contains(&Effect::WriteControls));
    assert!(
        view(&s, 0.0)
            .messages
            .iter()
            .any(|m| m.text.contains("unknown key 'zz'")),
        "the view shows the link's problems"
    );
    assert_eq!(
        url_of(&fx),
        Some("v=1&w=32&backend=cpu"),
        "the link is rewritten clean"
    );
    assert_eq!(ticket_of(&fx), Some((1, BackendChoice::Cpu)));
    assert_eq!(started(&fx), None, "no runner before a backend");
    assert_eq!(s.run_state, RunState::Idle);
    assert_eq!(s.runs.len(), 1);
}

#[test]
fn the_backend_answer_starts_the_run_and_a_stale_answer_is_ignored() {
    let mut s = State::new();
    update(
        &mut s,
        Msg::Boot {
            query: "".into(),
            cores: 1,
        },
    );
    let stale = update(
        &mut s,
        Msg::BackendReady {
            ticket: 7,
            backend: cpu_backend("x"),
        },
    );
    assert!(stale.is_empty() && s.backend.is_none());
    let fx = update(
        &mut s,
        Msg::BackendReady {
            ticket: 1,
            backend: webgpu(),
        },
    );
    assert_eq!(s.run_state, RunState::Running);
    assert_eq!(started(&fx), Some(s.generation));
    assert_eq!(s.backend.as_ref().unwrap().kind, BackendKind::Webgpu);
    assert_eq!((s.backend_asked, s.backend_answered), (1, 1));
}

#[test]
fn a_backend_switch_during_a_selection_waits_for_it_then_asks_again() {
    let mut s = State::new();
    update(
        &mut s,
        Msg::Boot {
            query: "".into(),
            cores: 1,
        },
    );
    // The person switches to the CPU while WebGPU is still being probed.
    let fx = edit(&mut s, "backend", "cpu");
    assert_eq!(ticket_of(&fx), None, "one selection at a time");
    let fx = update(
        &mut s,
        Msg::BackendReady {
            ticket: 1,
            backend: webgpu(),
        },
    );
    assert_eq!(
        ticket_of(&fx),
        Some((2, BackendChoice::Cpu)),
        "the newer choice is asked for"
    );
    assert_eq!(started(&fx), None, "the outdated answer trains nothing");
    assert!(s.backend.is_none());
    let fx = update(
        &mut s,
        Msg::BackendReady {
            ticket: 2,
            backend: cpu_backend("chosen"),
        },
    );
    assert_eq!(started(&fx), Some(s.generation));
    assert_eq!(s.backend.as_ref().unwrap().kind, BackendKind::Cpu);
}

#[test]
fn an_edit_restarts_redraws_or_switches_as_the_key_asks() {
    let mut s = running("");
    let g = s.generation;
    let fx = edit(&mut s, "lr", "0.003");
    assert_eq!(s.study.experiment.lr, 0.003);
    assert_eq!(url_of(&fx), Some("v=1&lr=0.003"));
    assert_eq!(started(&fx), Some(g + 1), "a knob restarts the run");
    assert_eq!(s.run_state, RunState::Running);

    let g = s.generation;
    let before = view(&s, 0.0);
    let fx = edit(&mut s, "ylog", "0");
    assert!(!s.study.view.log_y);
    assert_eq!(s.generation, g, "a view key keeps the run");
    assert_ne!(
        view(&s, 0.0).loss_revision,
        before.loss_revision,
        "and the loss chart is drawn again"
    );
    assert_eq!(view(&s, 0.0).side_revision, before.side_revision);
    assert_eq!(started(&fx), None);

    let fx = edit(&mut s, "backend", "webgpu");
    assert_eq!(ticket_of(&fx), Some((2, BackendChoice::Webgpu)));
    assert_eq!(
        s.generation,
        g + 1,
        "the old runner stops before the device changes"
    );
    assert_eq!(s.run_state, RunState::Idle);
}

#[test]
fn a_bad_value_keeps_the_previous_one_and_says_so() {
    let mut s = running("w=48");
    let g = s.generation;
    let fx = edit(&mut s, "w", "abc");
    assert_eq!(s.study.experiment.width, 48);
    assert!(
        s.messages_of(Level::Warning)
            .any(|m| m == "w: 'abc' is not a whole number; using 48")
    );
    assert!(fx.contains(&Effect::WriteControls));
    assert_eq!(s.generation, g, "nothing changed, nothing restarts");
    // Fixing the box clears the warning.
    edit(&mut s, "w", "40");
    assert_eq!(s.messages_of(Level::Warning).count(), 0);
}

#[test]
fn pause_resume_cancel_and_reset() {
    let mut s = running("steps=20&sweep=lr:0.01,0.02");
    let g = s.generation;
    assert!(
        update(&mut s, Msg::Train).is_empty(),
        "Train while running does nothing"
    );
    update(&mut s, Msg::Pause);
    assert_eq!(s.run_state, RunState::Paused);
    assert!(!s.should_step(g));
    let fx = update(&mut s, Msg::Train);
    assert_eq!(s.run_state, RunState::Running, "Train resumes");
    assert_eq!((s.generation, started(&fx)), (g, None), "the same runner goes on");
    assert!(s.should_step(g));

    update(&mut s, Msg::Cancel);
    assert_eq!(s.run_state, RunState::Cancelled);
    assert!(!s.should_step(g));
    update(&mut s, Msg::RunnerStopped { generation: g });
    assert_eq!(s.telemetry.runner_stopped, Some(g));
    assert!(update(&mut s, Msg::Pause).is_empty(), "nothing to pause");
    assert!(update(&mut s, Msg::Cancel).is_empty(), "nothing to cancel");

    let fx = update(&mut s, Msg::Train);
    assert_eq!(started(&fx), Some(g + 1), "Train after the end trains again");
    let fx = update(&mut s, Msg::Reset);
    assert_eq!(s.run_state, RunState::Idle);
    assert_eq!(started(&fx), None);
    assert_eq!(s.generation, g + 2);
    assert!(s.runs.iter().all(|r| r.reports.is_empty()));
}

#[test]
fn a_width_sweep_shows_the_range_of_its_parameter_counts() {
    let mut s = running("steps=10&sweep=w:16,64");
    assert!(
        view(&s, 0.0).params.is_empty(),
        "nothing is said before the worker starts"
    );
    runner_started(&mut s, 900.0);
    let counts: Vec<usize> = s.runs.iter().map(|r| r.config.parameter_estimate()).collect();
    assert_eq!(counts.len(), 2);
    assert!(counts[0] < counts[1], "{counts:?}");
    assert_eq!(
        view(&s, 0.0).params,
        format!("{}–{} parameters", counts[0], counts[1])
    );
}

#[test]
fn frames_fill_the_runs_and_the_last_one_ends_the_run() {
    let mut s = running("steps=10");
    let g = s.generation;
    runner_started(&mut s, 900.0);
    assert_eq!(view(&s, 0.0).params, "8642 parameters");
    let shown = view(&s, 0.0).loss_revision;
    let fx = {
        let m = frame(&s, 0..4, 0.7);
        update(&mut s, m)
    };
    assert_eq!(s.runs[0].reports.len(), 4);
    assert_eq!(s.telemetry.first_point_ms, Some(1010.0));
    assert!((s.steps_per_s - 200.0).abs() < 1e-9, "4 steps in 20 ms");
    assert!(fx.is_empty(), "a frame asks the shell for nothing but to show it");
    let v = view(&s, 0.0);
    assert_ne!(v.loss_revision, shown, "the new points are drawn");
    assert!(v.progress.starts_with("step 4 / "), "{}", v.progress);
    assert!(v.data.contains(&("firstPointMs", "1010".to_string())));
    assert_eq!(s.run_state, RunState::Running);
    assert!(!s.wants_analysis(g));

    {
        let m = frame(&s, 4..10, 0.5);
        update(&mut s, m)
    };
    assert_eq!(s.run_state, RunState::Done);
    assert!(s.wants_analysis(g), "the runner reads the end of the run back");
    let analysis = Analysis {
        packed_bytes: Some(123),
        ..Analysis::default()
    };
    update(
        &mut s,
        Msg::Analysed {
            generation: g,
            analysis,
        },
    );
    assert_eq!(s.runs[0].packed_bytes, Some(123));
    assert!(!s.wants_analysis(g), "once");
}

#[test]
fn a_diverged_run_is_marked() {
    let mut s = running("steps=10");
    {
        let m = frame(&s, 0..2, f32::NAN);
        update(&mut s, m)
    };
    assert!(s.runs[0].diverged);
    assert_eq!(s.run_state, RunState::Diverged);
    assert!(!s.wants_analysis(s.generation));
}

#[test]
fn messages_of_an_old_generation_change_nothing() {
    let mut s = running("steps=10");
    let old = s.generation;
    let stale_frame = frame(&s, 0..4, 0.7);
    edit(&mut s, "lr", "0.02");
    assert_ne!(s.generation, old);
    for msg in [
        stale_frame,
        Msg::RunnerStarted {
            generation: old,
            now_ms: 1.0,
        },
        Msg::RunnerRefused {
            generation: old,
            error: "x".into(),
        },
        Msg::DeviceFailed {
            generation: old,
            error: "x".into(),
        },
        Msg::Analysed {
            generation: old,
            analysis: Analysis::default(),
        },
        Msg::RunnerFrame { generation: old },
    ] {
        assert!(update(&mut s, msg).is_empty());
    }
    assert!(s.runs[0].reports.is_empty());
    assert_eq!(s.run_state, RunState::Running);
    assert!(view(&s, 0.0).params.is_empty());
}

#[test]
fn a_lost_gpu_falls_back_to_the_cpu_and_a_cpu_failure_stops() {
    let mut s = on_webgpu();
    let g = s.generation;
    let fx = update(
        &mut s,
        Msg::DeviceFailed {
            generation: g,
            error: "device lost".into(),
        },
    );
    assert!(fx.contains(&Effect::MarkGpuLost));
    assert_eq!(s.backend.as_ref().unwrap().kind, BackendKind::Cpu);
    assert_eq!(started(&fx), Some(g + 1), "restarted on the CPU");
    assert!(
        s.messages_of(Level::Error)
            .any(|m| m.contains("The GPU stopped responding (device lost)"))
    );

    let fx = update(
        &mut s,
        Msg::DeviceFailed {
            generation: g + 1,
            error: "out of memory".into(),
        },
    );
    assert_eq!(s.run_state, RunState::Failed);
    assert_eq!(started(&fx), None);
    assert!(
        s.messages_of(Level::Error)
            .any(|m| m == "Training failed: out of memory")
    );
}

#[test]
fn autos_pick_shows_what_trains_and_an_old_runs_pick_is_ignored() {
    let mut s = on_webgpu();
    let g = s.generation;
    let fx = update(
        &mut s,
        Msg::BackendPicked {
            generation: g,
            backend: cpu_backend("auto: 3.10 ms a step on WebGPU against 1.02 ms on the CPU"),
        },
    );
    assert!(fx.is_empty());
    assert!(view(&s, 0.0).status.contains("auto: 3.10 ms a step"));
    let b = s.backend.clone().unwrap();
    assert_eq!(b.kind, BackendKind::Cpu);
    assert!(b.summary.contains("auto: 3.10 ms a step"), "{}", b.summary);
    assert_eq!(s.run_state, RunState::Running, "the run goes on");

    // A failure now is the CPU's, not a lost GPU.
    let fx = update(
        &mut s,
        Msg::DeviceFailed {
            generation: g,
            error: "out of memory".into(),
        },
    );
    assert!(!fx.contains(&Effect::MarkGpuLost));
    assert_eq!(s.run_state, RunState::Failed);

    // A restart; the old run's pick arrives late and changes nothing.
    let fx = update(&mut s, Msg::Train);
    assert_eq!(started(&fx), Some(g + 1));
    let fx = update(
        &mut s,
        Msg::BackendPicked {
            generation: g,
            backend: webgpu(),
        },
    );
    assert!(fx.is_empty());
    assert_eq!(s.backend.as_ref().unwrap().kind, BackendKind::Cpu);
}

#[test]
fn a_refused_run_fails_with_its_reason() {
    let mut s = running("");
    let generation = s.generation;
    update(
        &mut s,
        Msg::RunnerRefused {
            generation,
            error: "too big".into(),
        },
    );
    assert_eq!(s.run_state, RunState::Failed);
    assert!(
        s.messages_of(Level::Error)
            .any(|m| m == "This experiment cannot run: too big")
    );
}

#[test]
fn a_preset_replaces_the_study_and_runs_it() {
    let mut s = running("ylog=0");
    let fx = update(&mut s, Msg::Preset("e1".into()));
    let e1 = url::parse(tinytune::link::presets::find("e1").unwrap().query).study;
    assert_eq!((&s.study.experiment, &s.study.sweep), (&e1.experiment, &e1.sweep));
    assert!(!s.study.view.log_y, "the view stays as the person set it");
    assert_eq!(started(&fx), Some(s.generation));
    assert_eq!(s.runs.len(), 7, "the rank sweep");
    // Picking it again reruns it.
    let g = s.generation;
    let fx = update(&mut s, Msg::Preset("e1".into()));
    assert_eq!(started(&fx), Some(g + 1));
    update(&mut s, Msg::Preset("nope".into()));
    assert!(
        s.messages_of(Level::Warning)
            .any(|m| m.contains("there is no preset 'nope'"))
    );
}

/// A PTQ knob moved on a finished run: the worker re-grids the kept weights and sends the figure
/// for the new generation; a figure for an old generation, or once the run has its own, is
/// ignored.
#[test]
fn a_regridded_figure_lands_on_its_own_generation_only() {
    let mut s = running("steps=10&bits=4");
    {
        let m = frame(&s, 0..10, 0.5);
        update(&mut s, m)
    };
    let layers = [tinytune::model::quant::weights::LayerWeights {
        name: "input".into(),
        d_in: 2,
        d_out: 1,
        values: vec![0.5, -0.5],
    }];
    let figure = |bits| {
        let q = tinytune::knobs::quant::QuantConfig {
            bits,
            ..Default::default()
        };
        tinytune::model::quant::weights::figure(&layers, &q).unwrap()
    };
    let old = s.generation;
    update(
        &mut s,
        Msg::Analysed {
            generation: old,
            analysis: Analysis {
                weights_figure: Some(figure(4)),
                ..Analysis::default()
            },
        },
    );
    assert_eq!(s.runs[0].weights_figure().map(|f| f.quant.bits), Some(4));
    edit(&mut s, "bits", "3");
    assert!(s.generation > old && s.runs[0].weights_figure().is_none());
    update(
        &mut s,
        Msg::Regridded {
            generation: old,
            figure: figure(4),
        },
    );
    assert!(
        s.runs[0].weights_figure().is_none(),
        "an old generation's figure is dropped"
    );
    let generation = s.generation;
    let side = view(&s, 0.0).side_revision;
    update(
        &mut s,
        Msg::Regridded {
            generation,
            figure: figure(3),
        },
    );
    assert_eq!(s.runs[0].weights_figure().map(|f| f.quant.bits), Some(3));
    assert_ne!(view(&s, 0.0).side_revision, side, "the figure is drawn");
    assert!(!s.analysed, "the run's own analysis is still to come");
}

#[test]
fn runner_frames_count_per_generation_and_exports_pass_through() {
    let mut s = running("");
    let g = s.generation;
    update(&mut s, Msg::RunnerFrame { generation: g });
    update(&mut s, Msg::RunnerFrame { generation: g });
    assert_eq!(s.telemetry.runner_frames, (g, 2));
    assert!(view(&s, 0.0).data.contains(&("runnerFrames", format!("{g}:2"))));
    assert_eq!(
        update(&mut s, Msg::Export(Export::Csv)),
        vec![Effect::Export(Export::Csv)]
    );
}

#[test]
fn a_failed_webgpu_choice_trains_on_the_cpu_and_says_why() {
    // The shell answers a WebGPU request it cannot meet (no adapter, no device) with the CPU
    // backend and the reason; the page trains there and shows it.
    let mut s = State::new();
    let fx = update(
        &mut s,
        Msg::Boot {
            query: "backend=webgpu".into(),
            cores: 1,
        },
    );
    assert_eq!(ticket_of(&fx), Some((1, BackendChoice::Webgpu)));
    let fx = update(
        &mut s,
        Msg::BackendReady {
            ticket: 1,
            backend: cpu_backend(
                "this browser has no WebGPU (navigator.gpu is missing); training on the CPU instead",
            ),
        },
    );
    assert_eq!(started(&fx), Some(s.generation));
    let b = s.backend.as_ref().unwrap();
    assert_eq!(b.kind, BackendKind::Cpu);
    assert!(b.summary.contains("navigator.gpu is missing"), "{}", b.summary);
    assert_eq!(
        s.study.view.backend,
        BackendChoice::Webgpu,
        "the link keeps the person's choice"
    );
}

/// The page and the training worker talk in these types (#16): every message survives the trip
/// as it is (serde; the page uses serde-wasm-bindgen, JSON stands in for it here), so the worker
/// trains exactly the runs the page shows and the page hears exactly what the worker read.
#[test]
fn what_the_page_and_the_training_worker_say_survives_serialization() {
    use tinytune::page::{FromWorker, ToWorker};
    let s =
        running("task=text&w=32&d=1&heads=2&ctx=16&r=4&target=q,v&bits=4&qmode=qlora&sweep=lr:0.001,0.01");
    let to = [
        ToWorker::ChooseBackend {
            ticket: 3,
            choice: BackendChoice::Webgpu,
        },
        ToWorker::Start {
            generation: s.generation,
            configs: s.points.iter().map(|p| p.config.clone()).collect(),
            runs: Vec::new(),
            share: 0,
            sweep: s.is_sweep(),
            stack: tinytune::knobs::view::Stack::Count(16),
            weights: Some(vec![8, 0, 0, 0, 0, 0, 0, 0, 123, 125]),
        },
        ToWorker::Steer {
            generation: s.generation,
            run_state: RunState::Paused,
        },
        ToWorker::MarkGpuLost,
    ];
    for msg in to {
        let back: ToWorker = serde_json::from_str(&serde_json::to_string(&msg).unwrap()).unwrap();
        assert_eq!(back, msg);
    }
    let Msg::Frame(report) = frame(&s, 0..3, 0.5) else {
        unreachable!()
    };
    let from = [
        FromWorker::Page(Box::new(Msg::Frame(report))),
        FromWorker::Page(Box::new(Msg::BackendReady {
            ticket: 3,
            backend: webgpu(),
        })),
        FromWorker::Page(Box::new(Msg::WorkerFailed {
            error: "out of memory".into(),
        })),
        FromWorker::Page(Box::new(Msg::Weights {
            generation: s.generation,
            base: vec![1, 2, 3],
            adapters: Some(vec![4]),
        })),
        FromWorker::Heard(7),
    ];
    for msg in from {
        let text = serde_json::to_string(&msg).unwrap();
        let back: FromWorker = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }
}

/// A worker that failed leaves the page usable: the run in progress is marked failed with what
/// failed, and Train starts it again.
#[test]
fn a_failed_worker_stops_the_run_with_its_reason_and_train_starts_again() {
    let mut s = running("steps=100");
    let g = s.generation;
    update(
        &mut s,
        Msg::WorkerFailed {
            error: "RuntimeError: unreachable".into(),
        },
    );
    assert_eq!(s.run_state, RunState::Failed);
    let text: Vec<&str> = s.messages_of(Level::Error).collect();
    assert_eq!(
        text,
        [
            "The training worker failed (RuntimeError: unreachable); this run stopped. Press Train to run it again."
        ]
    );
    let fx = update(&mut s, Msg::Train);
    assert_eq!(started(&fx), Some(s.generation));
    assert!(s.generation > g);
    // Failing while idle only says so.
    let mut idle = running("steps=100");
    update(&mut idle, Msg::Cancel);
    update(&mut idle, Msg::WorkerFailed { error: "x".into() });
    assert_eq!(idle.run_state, RunState::Cancelled);
}

/// The keys (#14): Space trains and pauses, R resets, P turns presenter mode on and off with the
/// link following, F asks for full screen, ? shows the keys and Escape hides them.
#[test]
fn shortcuts_drive_the_page() {
    use tinytune::page::Shortcut;
    let mut s = running("steps=100");
    assert_eq!(s.run_state, RunState::Running);
    update(&mut s, Msg::Shortcut(Shortcut::TrainPause));
    assert_eq!(s.run_state, RunState::Paused);
    update(&mut s, Msg::Shortcut(Shortcut::TrainPause));
    assert_eq!(s.run_state, RunState::Running);
    let g = s.generation;
    update(&mut s, Msg::Shortcut(Shortcut::Reset));
    assert!(s.generation > g && s.run_state == RunState::Idle);
    let fx = update(&mut s, Msg::Shortcut(Shortcut::TrainPause));
    assert_eq!(started(&fx), Some(s.generation), "Space trains a reset page");

    let fx = update(&mut s, Msg::Shortcut(Shortcut::Present));
    assert!(s.study.view.present);
    assert!(url_of(&fx).is_some_and(|u| u.contains("present=1")), "{fx:?}");
    assert_eq!(started(&fx), None, "a view change does not retrain");
    let fx = update(&mut s, Msg::Shortcut(Shortcut::Present));
    assert!(!s.study.view.present && url_of(&fx).is_some_and(|u| !u.contains("present")));

    let fx = update(&mut s, Msg::Shortcut(Shortcut::FullScreen));
    assert!(fx.contains(&Effect::ToggleFullScreen));
    update(&mut s, Msg::Shortcut(Shortcut::Keys));
    assert!(s.show_keys);
    update(&mut s, Msg::Shortcut(Shortcut::CloseKeys));
    assert!(!s.show_keys);
}

/// In presenter mode a knob move keeps the run it replaced as the "before" curve, named by the
/// knobs' values; a restart of the same experiment, a sweep or the normal page keeps none.
#[test]
fn a_presenters_knob_move_keeps_the_run_before() {
    let mut s = running("present=1&knobs=lr&steps=100");
    let m = frame(&s, 0..10, 0.5);
    update(&mut s, m);
    edit(&mut s, "lr", "0.02");
    let (before, label) = s.before.clone().expect("the replaced run stays");
    assert_eq!((before.reports.len(), label.as_str()), (10, "lr=0.01"));
    assert_eq!(s.runs[0].config.lr, 0.02);
    // A move before the new run trained keeps the last run that did.
    edit(&mut s, "lr", "0.04");
    assert_eq!(s.before.as_ref().map(|b| b.1.as_str()), Some("lr=0.01"));
    // Train again, same experiment: the before curve is still the other setting's.
    update(&mut s, Msg::Reset);
    assert_eq!(s.before.as_ref().map(|b| b.1.as_str()), Some("lr=0.01"));
    // Anything else changed (another preset, a hidden control): a different experiment, no before.
    let m = frame(&s, 0..10, 0.5);
    update(&mut s, m);
    edit(&mut s, "w", "32");
    assert!(s.before.is_none(), "a width change is not a move of the lr knob");
    let mut plain = running("steps=100");
    let m = frame(&plain, 0..10, 0.5);
    update(&mut plain, m);
    edit(&mut plain, "lr", "0.02");
    assert!(plain.before.is_none(), "the normal page shows no before curve");
}

/// A deck (#14): the link opens its slide; → / PageDown and ← / PageUp step it, each slide its own
/// experiment with the talk's presenter mode and backend kept, and the link follows; the ends stay.
#[test]
fn a_deck_steps_through_its_slides_and_the_link_follows() {
    use tinytune::link::presets;
    use tinytune::page::Shortcut;
    let mut s = running("present=1&deck=e4-coord,task%3Dxor%26steps%3D40,e1&slide=2");
    assert_eq!(s.study.view.slide, 2);
    assert_eq!(s.study.experiment.total_steps(), 40);
    assert_eq!(s.study.experiment.task, tinytune::knobs::task::Task::Xor);
    let fx = update(&mut s, Msg::Shortcut(Shortcut::NextSlide));
    let link = url_of(&fx).expect("the link follows").to_string();
    assert!(link.contains("slide=3") && link.contains("present=1"), "{link}");
    assert_eq!(started(&fx), Some(s.generation), "the slide runs at once");
    let e1 = url::parse(presets::find("e1").unwrap().query).study;
    assert_eq!((&s.study.experiment, &s.study.sweep), (&e1.experiment, &e1.sweep));
    assert!(s.study.view.present, "presenter mode holds for the talk");
    // The last slide stays the last.
    let g = s.generation;
    let fx = update(&mut s, Msg::Shortcut(Shortcut::NextSlide));
    assert!(fx.is_empty() && s.generation == g, "{fx:?}");
    // Back twice: the first slide, the preset's own experiment.
    update(&mut s, Msg::Shortcut(Shortcut::PreviousSlide));
    let fx = update(&mut s, Msg::Shortcut(Shortcut::PreviousSlide));
    assert_eq!(s.study.view.slide, 1);
    let coord = url::parse(presets::find("e4-coord").unwrap().query).study;
    assert_eq!(s.study.experiment, coord.experiment);
    let link = url_of(&fx).unwrap().to_string();
    assert!(!link.contains("slide="), "slide 1 is the default: {link}");
    // The link replays the slide, and a change made on it.
    edit(&mut s, "lr", "0.02");
    let link = url::to_query(&s.study);
    assert!(link.contains("lr=0.02") && link.contains("deck="), "{link}");
    let mut again = running(&link);
    assert_eq!(again.study, s.study);
    // Without a deck the slide keys do nothing.
    let g = again.generation;
    again.study.view.deck.clear();
    assert!(update(&mut again, Msg::Shortcut(Shortcut::PreviousSlide)).is_empty() && again.generation == g);
}

/// "Add to deck" makes the experiment on screen the deck's last slide without restarting it; a
/// preset's experiment is written as its id.
#[test]
fn add_to_deck_appends_the_experiment_on_screen() {
    let mut s = running("task=xor&steps=50");
    let g = s.generation;
    let fx = update(&mut s, Msg::AddToDeck);
    assert_eq!(s.generation, g, "the slide is what runs already");
    assert_eq!(s.study.view.deck, vec!["task=xor&steps=50".to_string()]);
    assert!(
        url_of(&fx).is_some_and(|u| u.contains("deck=task%253Dxor%2526steps%253D50")),
        "{fx:?}"
    );
    update(&mut s, Msg::Preset("ft-spiral".into()));
    update(&mut s, Msg::AddToDeck);
    assert_eq!(s.study.view.deck.len(), 2);
    assert_eq!(
        (s.study.view.deck[1].as_str(), s.study.view.slide),
        ("ft-spiral", 2)
    );
    // Editing the slide box opens that slide.
    edit(&mut s, "slide", "1");
    assert_eq!(s.study.experiment.total_steps(), 50);
}

/// Each chart on screen draws as a stand-alone SVG with its title, its description escaped as
/// text; a chart with nothing to show is refused.
#[test]
fn charts_export_as_svg_with_their_title() {
    use tinytune::report::{Chart, Figures, svg};
    let mut s = running("task=xor&steps=20");
    let m = frame(&s, 0..20, 0.5);
    update(&mut s, m);
    let charts = Figures::of(s.results());
    assert!(charts.shown(Chart::Loss) && charts.shown(Chart::Boundary));
    assert!(!charts.shown(Chart::Sweep));
    let text = svg(&charts, Chart::Loss, (640, 400), "a <b>caption</b> & link").unwrap();
    assert!(text.trim_start().starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    assert!(text.contains("<title>Loss curves</title>"), "{}", &text[..300]);
    assert!(text.contains("<desc>a &lt;b&gt;caption&lt;/b&gt; &amp; link</desc>"));
    assert!(
        text.contains("<polyline") || text.contains("<path"),
        "the curves are drawn"
    );
    let boundary = svg(&charts, Chart::Boundary, (400, 400), "").unwrap();
    assert!(boundary.contains("<title>Decision boundary</title>") && boundary.contains("<rect"));
    assert!(svg(&charts, Chart::Sweep, (400, 400), "").is_err());

    let mut sweep = running("task=xor&steps=10&sweep=lr:0.01,0.1");
    for (i, loss) in [(0, 0.4), (1, 0.6)] {
        let g = sweep.generation;
        update(
            &mut sweep,
            Msg::Frame(FrameReport {
                generation: g,
                share: 0,
                counts: vec![(i, 10)],
                reports: (0..10).map(|t| report(t, loss)).collect(),
                started_ms: 1000.0,
                ended_ms: 1010.0,
                previous_end_ms: 990.0,
                grid: None,
                views: None,
            }),
        );
    }
    let charts = Figures::of(sweep.results());
    assert!(charts.shown(Chart::Sweep) && !charts.shown(Chart::Boundary));
    let text = svg(&charts, Chart::Sweep, (600, 450), "").unwrap();
    assert!(text.contains("<title>Loss against the swept knob</title>"));
}

/// The page's view is a pure function of its state (`page::view`): a sweep shows its buttons,
/// its progress with an ETA, its table and its figures; the main figure and the charts' revisions
/// follow the results.
#[test]
fn the_view_shows_a_sweep_its_progress_table_and_figures() {
    use tinytune::report::Chart;
    let mut s = running("task=xor&steps=10&sweep=lr:0.01,0.1");
    let g = s.generation;
    runner_started(&mut s, 1000.0);
    let v = view(&s, 1000.0);
    assert_eq!(v.buttons.train, "Train");
    assert!(!v.buttons.train_enabled && v.buttons.pause_enabled);
    assert!(v.buttons.cancel_shown && v.buttons.cancel_enabled);
    assert_eq!(v.sweep.as_ref().unwrap().text, "0 / 2 runs");
    let status: Vec<&str> = v.table.iter().map(|r| r.status).collect();
    assert_eq!(status, ["queued", "queued"]);
    assert_eq!(v.params, "8642 parameters");
    assert_eq!(v.main_chart, Chart::Sweep, "the sweep chart fills in as runs end");

    // Run 0 trains to its end: half the sweep's steps, in 2 s.
    update(
        &mut s,
        Msg::Frame(FrameReport {
            generation: g,
            share: 0,
            counts: vec![(0, 10)],
            reports: (0..10).map(|t| report(t, 0.4)).collect(),
            started_ms: 1000.0,
            ended_ms: 1010.0,
            previous_end_ms: 990.0,
            grid: None,
            views: None,
        }),
    );
    let v = view(&s, 3000.0);
    assert_eq!(v.sweep.as_ref().unwrap().text, "1 / 2 runs · ETA 2 s");
    assert_eq!(v.table[0].status, "done");
    assert_eq!(v.table[0].cells[1], "lr=0.01");
    assert_eq!(v.table[1].status, "queued");
    let shown = |v: &tinytune::page::ViewModel, c: Chart| v.charts.iter().any(|x| x.chart == c && x.shown);
    assert!(shown(&v, Chart::Sweep) && !shown(&v, Chart::Boundary));
    assert_eq!(v.main_chart, Chart::Sweep);
    assert!(
        v.sweep_caption
            .contains("final validation loss against the first swept knob")
    );
    assert!(v.data.contains(&("runsDone", "1".to_string())));

    // Cancel: the buttons and the bar say so; the charts keep their pictures.
    let (loss, side) = (v.loss_revision, v.side_revision);
    update(&mut s, Msg::Cancel);
    let v = view(&s, 3000.0);
    assert_eq!(v.buttons.train, "Train again");
    assert!(v.buttons.train_enabled && !v.buttons.cancel_enabled);
    assert!(v.sweep.as_ref().unwrap().text.ends_with("· cancelled"));
    assert_eq!(v.table[1].status, "cancelled");
    assert_eq!((v.loss_revision, v.side_revision), (loss, side));
}

/// Presenter mode leads with the chart the study is about; a deck shows its bar; a single
/// transformer run shows its answers as text.
#[test]
fn the_view_follows_presenter_mode_decks_and_the_transformers_answers() {
    use tinytune::report::Chart;
    use tinytune::train::sequence_views::{Answer, SeqViews};
    let mut s = running("task=xor&steps=10&present=1&deck=e1,task%3Dxor%26steps%3D10&slide=2");
    let v = view(&s, 0.0);
    assert!(v.present && !v.embed);
    let lead: Vec<Chart> = v.charts.iter().filter(|c| c.lead).map(|c| c.chart).collect();
    assert_eq!(
        lead,
        [Chart::Boundary],
        "a 2-D run leads with its decision boundary"
    );
    let deck = v.deck.expect("a deck's bar");
    assert_eq!(deck.count, "2 / 2");
    assert!(deck.previous && !deck.next);
    assert!(v.data.contains(&("slide", "2".to_string())));

    let mut t = running("task=reverse&w=16&d=1&heads=2&ctx=8&seqlen=4&syms=6&steps=10");
    let g = t.generation;
    let m = frame(&t, 0..10, 0.5);
    update(&mut t, m);
    let views = SeqViews {
        t: 2,
        pattern: vec![1.0, 0.0, 0.5, 0.5],
        labels: vec!["a".into(), "b".into()],
        block: 0,
        answers: vec![Answer {
            prompt: "ab|".into(),
            want: "ba".into(),
            got: "<b>".into(),
            exact: false,
        }],
        sample: None,
    };
    update(
        &mut t,
        Msg::Analysed {
            generation: g,
            analysis: tinytune::train::Analysis {
                seq: Some(views),
                ..Default::default()
            },
        },
    );
    let (caption, text) = view(&t, 0.0).answers.expect("the answers figure");
    assert!(caption.starts_with("The trained model's answers"));
    assert_eq!(text, "✗ ab|  →  <b>   (right: ba)", "text, never HTML");
    let _ = &mut s;
}

/// A message between the page and its worker that could not be sent or read is said on the page;
/// a run in progress is over (its next step or its news never arrives) and Train starts it again.
#[test]
fn a_lost_message_stops_the_run_with_its_reason() {
    let mut s = running("steps=50");
    let fx = update(
        &mut s,
        Msg::MessageLost {
            error: "the page's run to the worker: it could not be written (x)".into(),
        },
    );
    assert!(fx.is_empty());
    assert_eq!(s.run_state, RunState::Failed);
    let shown = view(&s, 0.0);
    assert!(shown.messages.iter().any(|m| m.level == Level::Error
        && m.text.contains("was lost: the page's run to the worker")
        && m.text.contains("press Train to run it again")));
    assert_eq!(shown.buttons.train, "Train again");
    let g = s.generation;
    let fx = update(&mut s, Msg::Train);
    assert_eq!(started(&fx), Some(g + 1), "Train starts it again");
    // Between runs it is only said.
    let mut idle = State::new();
    update(&mut idle, Msg::MessageLost { error: "y".into() });
    assert_eq!(idle.run_state, RunState::Idle);
    assert_eq!(idle.messages_of(Level::Error).count(), 1);
}

/// A link's `fig` names the figure presenter mode leads with (gpt-grok's claim is about its
/// accuracy curves, not the final loss against weight decay); one the study cannot show gives
/// way to the default.
#[test]
fn a_link_names_the_figure_presenter_mode_leads_with() {
    use tinytune::report::Chart;
    use tinytune::train::metrics::SeqStats;
    let lead = |q: &str| {
        let mut s = running(q);
        let reports = (0..2)
            .flat_map(|_| 0..10)
            .map(|t| StepReport {
                seq: Some(SeqStats {
                    max_logit: 5.0,
                    log_z: 4.0,
                    z_loss: None,
                    train_acc: Some(0.5),
                    val_acc: Some(0.1),
                }),
                ..report(t, 0.5)
            })
            .collect();
        let m = Msg::Frame(FrameReport {
            generation: s.generation,
            share: 0,
            counts: vec![(0, 10), (1, 10)],
            reports,
            started_ms: 1000.0,
            ended_ms: 1010.0,
            previous_end_ms: 990.0,
            grid: None,
            views: None,
        });
        update(&mut s, m);
        let v = view(&s, 0.0);
        v.charts
            .iter()
            .filter(|c| c.lead)
            .map(|c| c.chart)
            .collect::<Vec<_>>()
    };
    let q = "task=reverse&w=16&d=1&heads=2&ctx=8&seqlen=4&syms=6&steps=10&present=1&sweep=wd:0,1";
    assert_eq!(lead(q), [Chart::Sweep]);
    assert_eq!(lead(&format!("{q}&fig=seq")), [Chart::SeqStats]);
    assert_eq!(lead(&format!("{q}&fig=coord")), [Chart::Sweep]);
}

/// A transformer's speed reads in tokens too: steps/s × batch × context.
#[test]
fn a_transformers_speed_is_shown_in_tokens_too() {
    let mut s = running("task=reverse&w=16&d=1&heads=2&ctx=8&seqlen=4&syms=6&bs=8&n=64&steps=10");
    runner_started(&mut s, 900.0);
    let m = frame(&s, 0..4, 0.7);
    update(&mut s, m);
    // 4 steps in 20 ms, 8 examples of 8 tokens each.
    assert_eq!(view(&s, 0.0).speed, "200.0 steps/s · 12800 tokens/s");
    let mut mlp = running("steps=10");
    runner_started(&mut mlp, 900.0);
    let m = frame(&mlp, 0..4, 0.7);
    update(&mut mlp, m);
    assert_eq!(view(&mlp, 0.0).speed, "200.0 steps/s");
}

/// A page with `cores` logical processors booted on `query`, its CPU backend ready: the
/// effects of the answer (the runner's start).
fn running_on(query: &str, cores: usize, backend: ActiveBackend) -> (State, Vec<Effect>) {
    let mut s = State::new();
    let fx = update(
        &mut s,
        Msg::Boot {
            query: query.into(),
            cores,
        },
    );
    let (ticket, _) = ticket_of(&fx).expect("boot asks for a backend");
    let fx = update(&mut s, Msg::BackendReady { ticket, backend });
    (s, fx)
}

fn shares_of(fx: &[Effect]) -> Option<Vec<Vec<usize>>> {
    fx.iter().find_map(|e| match e {
        Effect::StartRunner { shares, .. } => Some(shares.clone()),
        _ => None,
    })
}

/// A frame of `n` steps of `run` from pool share `share`, `ms` long.
fn share_frame(s: &State, share: usize, run: usize, steps: std::ops::Range<usize>, ms: f64) -> Msg {
    Msg::Frame(FrameReport {
        generation: s.generation,
        share,
        counts: vec![(run, steps.len())],
        reports: steps.map(|t| report(t, 0.5)).collect(),
        started_ms: 1000.0,
        ended_ms: 1000.0 + ms,
        previous_end_ms: 1000.0,
        grid: None,
        views: None,
    })
}

/// #33: a CPU sweep spreads over the cores less the page's own (or `jobs`), one share a worker;
/// a single run, a GPU and a one-core machine keep one worker.
#[test]
fn a_cpu_sweep_starts_a_pool_of_workers_the_page_can_spare() {
    let sweep = "steps=10&sweep=lr:0.001,0.01,0.1,1";
    let (s, fx) = running_on(sweep, 4, cpu_backend("test"));
    let shares = shares_of(&fx).unwrap();
    assert_eq!(shares.len(), 3, "four cores: three workers and the page");
    assert_eq!(s.shares, shares);
    assert_eq!(s.workers(), 3);
    let mut all: Vec<usize> = shares.concat();
    all.sort_unstable();
    assert_eq!(all, [0, 1, 2, 3]);
    let shown = view(&s, 0.0);
    assert!(shown.status.ends_with("· 3 training workers"), "{}", shown.status);
    assert!(shown.data.contains(&("pool", "3".into())));

    let (_, fx) = running_on(&format!("{sweep}&jobs=2"), 16, cpu_backend("test"));
    assert_eq!(shares_of(&fx).unwrap().len(), 2, "jobs caps the pool");
    let (_, fx) = running_on(&format!("{sweep}&jobs=8"), 2, cpu_backend("test"));
    assert_eq!(
        shares_of(&fx).unwrap().len(),
        4,
        "a count is taken as asked, one run a worker at most"
    );
    for (query, cores, backend) in [
        ("steps=10", 16, cpu_backend("test")),
        (sweep, 2, cpu_backend("test")),
        (sweep, 16, webgpu()),
    ] {
        let (s, fx) = running_on(query, cores, backend);
        assert_eq!(
            shares_of(&fx).unwrap(),
            vec![(0..s.runs.len()).collect::<Vec<_>>()],
            "{query} on {cores}"
        );
        assert!(!view(&s, 0.0).status.contains("workers"));
    }
}

/// #33: the status line says how many runs train stacked, as the workers group them: on WebGPU
/// under `auto`, on the CPU only where `stack` asks, each worker's share on its own.
#[test]
fn the_status_says_how_many_runs_train_stacked() {
    let (s, _) = running_on("steps=10&sweep=lr:0.001,0.01,0.1;seed:1,2", 16, webgpu());
    assert_eq!(s.stacked, (6, 1));
    assert!(
        view(&s, 0.0).status.ends_with("· 6 runs stacked as one model"),
        "{}",
        view(&s, 0.0).status
    );
    let (s, _) = running_on("steps=10&sweep=bits:2,4;qmode:ptq,qat", 16, webgpu());
    assert!(
        view(&s, 0.0).status.ends_with("· 4 runs in 2 stacks"),
        "{}",
        view(&s, 0.0).status
    );
    let (s, _) = running_on(
        "steps=10&sweep=lr:0.001,0.01,0.1;seed:1,2",
        16,
        cpu_backend("test"),
    );
    assert_eq!(s.stacked, (0, 0), "auto: the CPU trains runs alone");
    assert!(!view(&s, 0.0).status.contains("stack"));
    // stack=K on a CPU pool of 3: each worker's two runs are a stack.
    let (s, _) = running_on(
        "steps=10&stack=8&sweep=lr:0.001,0.01,0.1;seed:1,2",
        4,
        cpu_backend("test"),
    );
    assert_eq!(s.stacked, (6, 3), "{:?}", s.shares);
    let (s, _) = running_on("steps=10&stack=0&sweep=lr:0.001,0.01", 16, webgpu());
    assert_eq!(s.stacked, (0, 0));
}

/// #33: each worker's frames fill its own runs, the live speed is the pool's sum, and the study
/// ends when every run has, whichever worker trained it.
#[test]
fn a_pools_frames_fill_their_runs_and_the_speed_is_the_sum() {
    let (mut s, _) = running_on("steps=10&sweep=lr:0.001,0.01", 4, cpu_backend("test"));
    assert_eq!(s.shares, vec![vec![0], vec![1]]);
    let m = share_frame(&s, 0, 0, 0..5, 50.0);
    update(&mut s, m); // 100 steps/s
    let m = share_frame(&s, 1, 1, 0..4, 100.0);
    update(&mut s, m); // 40 steps/s
    assert!((s.steps_per_s - 140.0).abs() < 1e-6, "{}", s.steps_per_s);
    assert_eq!((s.runs[0].reports.len(), s.runs[1].reports.len()), (5, 4));
    let m = share_frame(&s, 0, 0, 5..10, 50.0);
    update(&mut s, m);
    assert_eq!(s.run_state, RunState::Running, "run 1 is still training");
    let m = share_frame(&s, 1, 1, 4..10, 100.0);
    update(&mut s, m);
    assert_eq!(s.run_state, RunState::Done);
}

/// #33: a pool's worker that fails has its share started again (its curves from the first step),
/// then, failing again, its runs marked failed while the others finish the study.
#[test]
fn a_failed_share_starts_again_once_then_is_marked_and_the_sweep_goes_on() {
    let (mut s, _) = running_on("steps=10&sweep=lr:0.001,0.01,0.1,1", 3, cpu_backend("test"));
    let g = s.generation;
    assert_eq!(s.shares, vec![vec![0, 2], vec![1, 3]]);
    for run in 0..4 {
        let share = run % 2;
        let m = share_frame(&s, share, run, 0..4, 10.0);
        update(&mut s, m);
    }
    let fx = update(
        &mut s,
        Msg::ShareRestarted {
            generation: g,
            share: 1,
            error: "killed".into(),
        },
    );
    assert!(fx.is_empty(), "the shell has started the fresh worker: {fx:?}");
    let lens: Vec<usize> = s.runs.iter().map(|r| r.reports.len()).collect();
    assert_eq!(
        lens,
        [4, 0, 4, 0],
        "the share's runs start again from their first step"
    );
    let warning: Vec<&str> = s.messages_of(Level::Warning).collect();
    assert_eq!(
        warning,
        ["A training worker failed (killed); its 2 runs (lr=0.01, lr=1) started again on a fresh worker."]
    );
    assert_eq!(s.run_state, RunState::Running);

    update(
        &mut s,
        Msg::ShareFailed {
            generation: g,
            share: 1,
            error: "killed again".into(),
        },
    );
    assert!(s.runs[1].failed.is_some() && s.runs[3].failed.is_some());
    assert_eq!(s.run_state, RunState::Running, "the other worker's runs go on");
    let errors: Vec<&str> = s.messages_of(Level::Error).collect();
    assert_eq!(
        errors,
        [
            "A training worker failed twice (killed again); its 2 runs (lr=0.01, lr=1) are marked failed, and the other runs go on."
        ]
    );
    for run in [0, 2] {
        let m = share_frame(&s, 0, run, 4..10, 10.0);
        update(&mut s, m);
    }
    assert_eq!(
        s.run_state,
        RunState::Done,
        "every run has finished, two of them failed"
    );
    let v = view(&s, 0.0);
    let status: Vec<&str> = v.table.iter().map(|r| r.status).collect();
    assert_eq!(status, ["done", "failed", "done", "failed"]);
    assert!(v.sweep.unwrap().text.contains("· 2 failed"));

    // An older generation's news changes nothing.
    update(&mut s, Msg::Train);
    let before = s.runs.clone();
    update(
        &mut s,
        Msg::ShareFailed {
            generation: g,
            share: 0,
            error: "late".into(),
        },
    );
    assert_eq!(s.runs, before);
}

#[test]
fn every_chart_has_its_figure_and_canvas_in_the_page() {
    // The page shows and hides `fig-<name>` and draws on `<name>-canvas` for every chart; one
    // missing from index.html would stop the page the first time that chart is shown.
    let html = std::fs::read_to_string("index.html").expect("index.html");
    for chart in tinytune::report::Chart::ALL {
        let name = chart.name();
        for id in [format!("id=\"fig-{name}\""), format!("id=\"{name}-canvas\"")] {
            assert!(html.contains(&id), "index.html lacks {id}");
        }
    }
}

#[test]
fn a_data_file_becomes_the_task_and_the_links_data_or_says_why_not() {
    let mut s = running("task=xor&steps=50");
    let csv = "u,v,ring\n".to_string()
        + &(0..60)
            .map(|i| {
                format!(
                    "{},{},{}\n",
                    (i as f32 * 0.3).cos() * (1 + i % 2) as f32,
                    (i as f32 * 0.3).sin(),
                    i % 2
                )
            })
            .collect::<String>();
    let fx = update(
        &mut s,
        Msg::DataFile {
            name: "rings.csv".into(),
            size: csv.len() as u64,
            bytes: csv.clone().into_bytes(),
        },
    );
    let link = url_of(&fx).expect("the link follows the data").to_string();
    assert!(link.contains("task=table") && link.contains("data=z."), "{link}");
    assert!(started(&fx).is_some(), "the new task trains");
    assert_eq!(s.study.experiment.classes(), 2);
    // The link alone replays it.
    assert_eq!(url::parse_strict(&link).unwrap().experiment, s.study.experiment);

    let mut bad = |name: &str, size: u64, bytes: &[u8]| {
        let before = s.study.clone();
        update(
            &mut s,
            Msg::DataFile {
                name: name.into(),
                size,
                bytes: bytes.to_vec(),
            },
        );
        assert_eq!(s.study, before, "{name}: a refused file changes nothing");
        s.messages.last().map(|m| (m.level, m.text.clone())).unwrap()
    };
    let (level, text) = bad("ragged.csv", 20, b"a,b,c\n1,2,0\n3,4\n");
    assert_eq!(level, Level::Warning);
    assert_eq!(text, "ragged.csv: line 3 has 2 columns; the header has 3");
    let (_, text) = bad("huge.csv", 50_000_000, b"");
    assert_eq!(text, "huge.csv: the file is 50.0 MB against the cap of 8.4 MB");
    let (_, text) = bad("photo.csv", 10, b"\x89PNG\0\0\0\0\0\0");
    assert!(text.contains("binary"), "{text}");
}

fn data_file(name: &str, text: &str) -> Msg {
    Msg::DataFile {
        name: name.into(),
        size: text.len() as u64,
        bytes: text.as_bytes().to_vec(),
    }
}

/// A table far past what a link holds inline (a few hundred points).
fn big_csv() -> String {
    "x,y,c\n".to_string()
        + &(0..3000)
            .map(|i| format!("{i}.5,{}.25,{}\n", i * 7, i % 3))
            .collect::<String>()
}

fn kept(fx: &[Effect]) -> Option<(String, String)> {
    fx.iter().find_map(|e| match e {
        Effect::KeepData { hash, text } => Some((hash.clone(), text.clone())),
        _ => None,
    })
}

#[test]
fn data_too_large_for_a_link_is_kept_under_its_hash_and_its_link_waits_for_the_file_elsewhere() {
    let mut s = running("task=xor&steps=50");
    let big = big_csv();
    let fx = update(&mut s, data_file("big.csv", &big));
    let link = url_of(&fx).expect("the link follows the data").to_string();
    let hash = url::data_hash_named(&link).expect("the link names the data by hash");
    let (kept_hash, text) = kept(&fx).expect("the page keeps the data in the browser's storage");
    assert_eq!(kept_hash, hash);
    assert!(started(&fx).is_some(), "the table trains");
    let rows = |s: &State| {
        s.study
            .experiment
            .data
            .as_ref()
            .and_then(|d| d.table())
            .map(|t| t.rows())
    };
    assert_eq!(rows(&s), Some(3000));

    // Reloaded in this browser: the storage's body arrives before the link is read.
    let mut again = State::new();
    update(&mut again, Msg::DataKept { text: text.clone() });
    update(
        &mut again,
        Msg::Boot {
            query: link.clone(),
            cores: 1,
        },
    );
    assert_eq!(again.study, s.study);
    assert!(again.messages.is_empty(), "{:?}", again.messages);
    assert_eq!(again.wanted, None);

    // Another browser: the link says where its data is and waits for the file.
    let mut other = State::new();
    update(
        &mut other,
        Msg::Boot {
            query: link.clone(),
            cores: 1,
        },
    );
    let said = other
        .messages
        .iter()
        .map(|m| m.text.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        said.contains("kept in the browser that made it") && said.contains("Your file"),
        "{said}"
    );
    assert_ne!(other.study, s.study);
    // Its file: the whole link runs, and is kept here from now on.
    let fx = update(&mut other, data_file("big.csv", &big));
    assert_eq!(other.study, s.study);
    assert_eq!(url_of(&fx), Some(link.as_str()));
    assert_eq!(kept(&fx).map(|k| k.0), Some(hash));
    assert_eq!(other.wanted, None);
    // Another file given instead is data of its own: the link no longer waits.
    let mut third = State::new();
    update(
        &mut third,
        Msg::Boot {
            query: link.clone(),
            cores: 1,
        },
    );
    assert!(third.wanted.is_some());
    let small = "a,b,c\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,1,0\n2,3,1\n".to_string();
    update(&mut third, data_file("small.csv", &small));
    assert!(
        third
            .study
            .experiment
            .data
            .as_ref()
            .is_some_and(|d| d.table().is_some_and(|t| t.rows() == 6))
    );
    assert_eq!(third.wanted, None);
    // A deck cannot hold data kept in one browser: the slide is refused and says why.
    let before = s.study.clone();
    update(&mut s, Msg::AddToDeck);
    assert_eq!(s.study, before);
    assert!(s.messages.last().unwrap().text.contains("too large for a link"));
    // Data the study refuses is not held: a text file under task=table is read as a table.
    let held = s.held.as_ref().map(|d| d.hash().to_string());
    update(&mut s, data_file("ragged.csv", "a,b,c\n1,2,0\n3,4\n"));
    assert_eq!(s.held.as_ref().map(|d| d.hash().to_string()), held);
}

#[test]
fn an_experiment_file_opens_the_same_experiment_with_its_data_or_says_why_not() {
    use tinytune::link::bundle;
    for csv in [
        big_csv(),
        "a,b,c\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,1,0\n2,3,1\n".to_string(),
    ] {
        let mut s = running("task=xor&steps=50");
        update(&mut s, data_file("mine.csv", &csv));
        edit(&mut s, "lr", "0.01");
        assert_eq!(s.study.experiment.lr, 0.01);
        let file = bundle::write(&s.study);
        assert!(
            file.contains("data=z."),
            "the file carries the data however large"
        );
        // Opened on another machine: nothing held there.
        let mut other = State::new();
        let fx = update(&mut other, data_file("tinytune-experiment.tinytune", &file));
        assert_eq!(other.study, s.study);
        assert!(other.messages.is_empty(), "{:?}", other.messages);
        // Data too large for a link is kept there too, so the link runs after a reload.
        let by_hash = url_of(&fx).and_then(url::data_hash_named).is_some();
        assert_eq!(kept(&fx).is_some(), by_hash);
        assert_eq!(by_hash, csv.len() > 10_000);
        // Known by its first line whatever its name.
        let mut renamed = State::new();
        update(&mut renamed, data_file("experiment.txt", &file));
        assert_eq!(renamed.study, s.study);
    }
    // A damaged file is named and changes nothing.
    let mut s = running("task=xor&steps=50");
    let before = s.study.clone();
    update(&mut s, data_file("cut.tinytune", "?v=1&task=table&data=z.AAAA"));
    assert_eq!(s.study, before);
    let last = &s.messages.last().unwrap().text;
    assert!(
        last.starts_with("cut.tinytune: data: the link's data is damaged"),
        "{last}"
    );
    let h = "0".repeat(32);
    update(
        &mut s,
        data_file("twice.tinytune", &format!("?v=1&data=h.{h}&data=h.{h}")),
    );
    assert_eq!(
        s.messages.last().unwrap().text,
        "twice.tinytune: the experiment file names data more than once"
    );
    update(&mut s, data_file("empty.tinytune", "# tinytune experiment\n"));
    assert_eq!(
        s.messages.last().unwrap().text,
        "empty.tinytune: the experiment file holds no link"
    );
}

/// The safetensors bytes of a short `query` run, as the CLI's `--save-weights` writes them.
fn weights_of(query: &str) -> Vec<u8> {
    let cfg = url::parse_strict(query).unwrap().experiment;
    let (_, w) = pollster::block_on(tinytune::train::train_run_from(
        &cfg,
        &tinytune::model::backend::cpu(),
        10,
        None,
        true,
    ))
    .unwrap();
    w.unwrap().base.to_bytes().unwrap()
}

fn weights_file(name: &str, bytes: &[u8]) -> Msg {
    Msg::WeightsFile {
        name: name.into(),
        size: bytes.len() as u64,
        bytes: bytes.to_vec(),
    }
}

#[test]
fn a_weights_file_starts_a_single_run_until_forgotten_and_a_wrong_one_says_what_differs() {
    let saved = weights_of("task=moons&w=16&d=2&steps=5");
    let mut s = running("task=moons&w=16&d=2&steps=20");
    let fx = update(&mut s, weights_file("moons.safetensors", &saved));
    assert!(started(&fx).is_some(), "the run starts again from them");
    let shown = view(&s, 0.0)
        .weights_in
        .expect("the page says what it starts from");
    assert!(
        shown.contains("moons.safetensors") && shown.contains("trained 5 steps"),
        "{shown}"
    );
    // Its end: the worker's weights for this generation, not an older one's.
    let g = s.generation;
    update(
        &mut s,
        Msg::Weights {
            generation: g - 1,
            base: vec![1],
            adapters: None,
        },
    );
    assert!(!view(&s, 0.0).weights_out);
    update(
        &mut s,
        Msg::Weights {
            generation: g,
            base: saved.clone(),
            adapters: None,
        },
    );
    assert!(view(&s, 0.0).weights_out, "the Weights button downloads them");
    // A knob change keeps them (a fine-tune's learning rate) and the new run has none to give yet.
    let fx = edit(&mut s, "lr", "0.003");
    assert!(started(&fx).is_some());
    assert!(s.weights_in.is_some() && s.weights_out.is_none());
    let fx = update(&mut s, Msg::ForgetWeights);
    assert!(started(&fx).is_some() && view(&s, 0.0).weights_in.is_none());

    // Refused with what is wrong, and nothing changes.
    let refused = |s: &mut State, name: &str, bytes: &[u8]| {
        let g = s.generation;
        let fx = update(s, weights_file(name, bytes));
        assert!(started(&fx).is_none() && s.generation == g && s.weights_in.is_none());
        s.messages.last().unwrap().text.clone()
    };
    let text = refused(&mut s, "notes.safetensors", b"hello");
    assert!(
        text.starts_with("notes.safetensors: the file is not safetensors"),
        "{text}"
    );
    let gpt = weights_of("task=text&w=32&d=1&heads=2&ctx=16&bs=8&steps=2");
    let text = refused(&mut s, "gpt.safetensors", &gpt);
    assert!(
        text.contains("holds the weights of model=gpt and this experiment trains model=mlp"),
        "{text}"
    );
    let mut sweep = running("task=moons&w=16&d=2&steps=20&sweep=lr:0.01,0.1");
    let text = refused(&mut sweep, "moons.safetensors", &saved);
    assert!(
        text.contains("weights start a single run, and this study is a sweep of 2 runs"),
        "{text}"
    );
    // The worker refuses them for a model they do not fit: set aside and said; Train runs from
    // the seed.
    let mut w = running("task=moons&w=16&d=2&steps=20");
    update(&mut w, weights_file("moons.safetensors", &saved));
    let g = w.generation;
    update(
        &mut w,
        Msg::RunnerRefused {
            generation: g,
            error: format!(
                "{}: hidden.0.weight is [2, 32] in the file and [2, 16] here",
                tinytune::page::WEIGHTS_REFUSED
            ),
        },
    );
    assert!(w.weights_in.is_none() && w.run_state == RunState::Failed);
    let last = w.messages.last().unwrap();
    assert!(
        last.level == Level::Warning
            && last
                .text
                .ends_with("they were set aside: Train runs from the seed"),
        "{last:?}"
    );
    // Loaded weights and then a sweep: the sweep trains from its seeds, and says so.
    update(&mut s, weights_file("moons.safetensors", &saved));
    edit(&mut s, "sweep", "lr:0.01,0.1");
    assert!(s.weights_in.is_none());
    assert!(
        s.messages
            .last()
            .unwrap()
            .text
            .contains("this sweep trains from its seeds")
    );
}

#[test]
fn clicks_on_the_boundary_and_pasted_points_become_your_points() {
    use tinytune::knobs::task::Task;
    let mut s = running("task=moons&n=40&steps=20");
    let shown = s.data.len();
    assert!(shown > 0);
    let rows = |s: &State| {
        let t = s
            .study
            .experiment
            .data
            .as_ref()
            .and_then(|d| d.table())
            .expect("a table");
        assert!(t.plane, "points on the plane train as they are");
        (t.rows(), t.classes())
    };
    // The first click: the task's points and this one, of a new class, become your points.
    let fx = update(
        &mut s,
        Msg::AddPoint {
            x: 0.5,
            y: -0.5,
            class: 2,
        },
    );
    assert!(started(&fx).is_some(), "your points train");
    assert_eq!(s.study.experiment.task, Task::Table);
    assert_eq!(rows(&s), (shown + 1, 3));
    let t = s.study.experiment.data.as_ref().unwrap().table().unwrap();
    assert_eq!(&t.x[t.x.len() - 2..], &[0.5, -0.5]);
    assert!(url_of(&fx).is_some_and(|l| l.contains("data=")));
    // The next adds to them, and the chart shows them.
    update(
        &mut s,
        Msg::AddPoint {
            x: 0.0,
            y: 0.0,
            class: 0,
        },
    );
    assert_eq!(rows(&s), (shown + 2, 3));
    assert_eq!(
        s.data.len(),
        tinytune::knobs::own::split(shown + 2).0,
        "the chart shows the training points"
    );
    // Pasted points replace them.
    let pasted = "0.1, 0.2, 0\n-0.3, 0.4, 1\n0.5, 0.5, 0\n-1, -1, 1\n0, 1, 0\n1, 0, 1\n";
    update(&mut s, Msg::PastePoints(pasted.into()));
    assert_eq!(rows(&s), (6, 2));
    // Bad pastes are named and change nothing.
    let before = s.study.clone();
    update(&mut s, Msg::PastePoints("1, 2, 0\n3\n".into()));
    assert_eq!(s.study, before);
    let last = &s.messages.last().unwrap().text;
    assert!(last.starts_with("the pasted points: line 2"), "{last}");
    update(&mut s, Msg::PastePoints("1, 2, 3, 0\n4, 5, 6, 1\n".into()));
    assert!(
        s.messages
            .last()
            .unwrap()
            .text
            .contains("this data has 3 feature columns"),
        "{:?}",
        s.messages.last()
    );
    // No boundary, no points.
    let mut text = running("task=copy&steps=5");
    let before = text.study.clone();
    update(
        &mut text,
        Msg::AddPoint {
            x: 0.0,
            y: 0.0,
            class: 0,
        },
    );
    assert_eq!(text.study, before);
    assert!(
        text.messages
            .last()
            .unwrap()
            .text
            .contains("decision boundary of a 2-D classification task")
    );
}

#[test]
fn a_table_files_preview_chooses_its_target_column_and_what_it_holds() {
    use tinytune::data::read_table::TargetKind;
    let mut s = running("task=xor&steps=20");
    let csv: String = "size,price,kind\n".to_string()
        + &(0..60)
            .map(|i| format!("{}.5,{}.25,{}\n", i, (i * 37) % 101, ["a", "b", "c"][i % 3]))
            .collect::<String>();
    update(&mut s, data_file("shop.csv", &csv));
    let p = view(&s, 0.0).preview.expect("a table file shows its first rows");
    assert_eq!(p.columns, ["size", "price", "kind"]);
    assert_eq!(p.rows.len(), 5);
    assert_eq!(p.rows[1], ["1.5", "37.25", "b"]);
    assert_eq!((p.target, p.kind, p.plane), (2, "auto", false));
    assert!(
        p.summary.starts_with("shop.csv: ")
            && p.summary.contains("3 classes")
            && p.summary.contains("of 60 rows"),
        "{}",
        p.summary
    );
    // Price, as numbers: a regression on size and kind? kind is text, so it is refused by line.
    update(
        &mut s,
        Msg::ReadTable {
            target: 1,
            kind: TargetKind::Values,
            plane: false,
        },
    );
    let last = &s.messages.last().unwrap().text;
    assert!(
        last.starts_with("shop.csv: line 2: column 'kind' holds 'a', not a number"),
        "{last}"
    );
    assert_eq!(view(&s, 0.0).preview.unwrap().target, 2, "nothing changed");
    // The same file without the text column, price as the target: it trains, the preview follows.
    let numeric: String = csv
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect();
    update(&mut s, data_file("shop2.csv", &numeric));
    let fx = update(
        &mut s,
        Msg::ReadTable {
            target: 0,
            kind: TargetKind::Values,
            plane: false,
        },
    );
    assert!(started(&fx).is_some(), "read again, it trains");
    let t = s.study.experiment.data.as_ref().unwrap().table().unwrap();
    assert_eq!(
        (t.target_name.as_str(), t.classes(), t.features.as_slice()),
        ("size", 0, &["price".to_string()][..])
    );
    let p = view(&s, 0.0).preview.unwrap();
    assert_eq!((p.target, p.kind), (0, "values"));
    // Other data (pasted points): the preview goes.
    update(
        &mut s,
        Msg::PastePoints("0,0,0\n1,1,1\n0,1,0\n1,0,1\n0.5,0.5,0\n".into()),
    );
    assert_eq!(view(&s, 0.0).preview, None);
}
