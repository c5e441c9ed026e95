//! The link format (docs/ARCHITECTURE.md §5) and validation: round-trips, defaults omitted, bad input reported
//! with what was used instead, the CLI refusing bad input with exit code 2.

use tinytune::knobs::ExperimentConfig;
use tinytune::knobs::arch::Activation;
use tinytune::knobs::lora::Rank;
use tinytune::knobs::optim::OptimizerKind;
use tinytune::knobs::task::Task;
use tinytune::knobs::view::{BackendChoice, SweepMetric, View};
use tinytune::link::study::Study;
use tinytune::link::url::{self, experiment_query, parse, parse_strict, to_query};

/// Every problem `q` has, as "key|message" lines.
fn all(q: &str) -> String {
    parse(q)
        .issues
        .iter()
        .map(|i| format!("{}|{}", i.key, i.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn defaults_give_the_shortest_link() {
    assert_eq!(to_query(&Study::default()), "v=1");
    assert_eq!(experiment_query(&ExperimentConfig::default()), "v=1");
    let p = parse("");
    assert_eq!(p.study.experiment, ExperimentConfig::default());
    assert!(p.issues.is_empty());
    assert_eq!(parse("?v=1").study.experiment, ExperimentConfig::default());
}

#[test]
fn every_key_round_trips() {
    let cfg = ExperimentConfig {
        task: Task::Moons,
        points: 512,
        width: 128,
        depth: 2,
        act: Activation::Gelu,
        opt: OptimizerKind::Sgd,
        lr: 0.000244140625,
        batch: 32,
        steps: 1234,
        seed: 42,
        ..ExperimentConfig::default()
    };
    let study = Study {
        experiment: cfg,
        view: View {
            backend: BackendChoice::Cpu,
            log_y: false,
            log_x: true,
            ..View::default()
        },
        ..Study::default()
    };
    let q = to_query(&study);
    assert_eq!(
        q,
        "v=1&task=moons&n=512&w=128&d=2&act=gelu&opt=sgd&lr=0.000244140625&bs=32&steps=1234&seed=42&backend=cpu&ylog=0&xlog=1"
    );
    let p = parse(&q);
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    assert_eq!(p.study, study);
    assert_eq!(parse_strict(&format!("?{q}")).unwrap(), study);
}

#[test]
fn lora_and_planted_keys_round_trip() {
    let q = "v=1&task=planted&steps=300&r=8&alpha=16&scale=rs&ainit=inv&train=b&lplus=16&target=0\
             &pr=6&dim=32&noise=0.1&k=12&sv=pow";
    let p = parse(q);
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    let c = &p.study.experiment;
    assert_eq!(c.lora.rank, Rank::of(8));
    assert_eq!((c.lora.alpha, c.lora.lplus), (16.0, 16.0));
    assert_eq!(c.lora.scale, tinytune::knobs::lora::ScaleRule::RankStabilized);
    assert_eq!(c.lora.ainit, tinytune::knobs::lora::AInit::InvRank);
    assert_eq!(c.lora.train, tinytune::knobs::lora::Factors::BOnly);
    assert_eq!(c.lora.target, tinytune::knobs::lora::Target::indices([0]));
    assert_eq!((c.planted.rank, c.planted.dim, c.planted.k), (6, 32, Some(12)));
    assert_eq!(c.planted.sv, tinytune::knobs::task::SvProfile::Power);
    assert_eq!(experiment_query(c), q);
    // Rank 0 is full fine-tuning, which is not the same as no adaptation at all.
    assert_eq!(parse("r=0").study.experiment.lora.rank, Rank::Full);
    assert_eq!(parse("r=none").study.experiment.lora.rank, Rank::None);
    let mlp = parse("task=spiral&r=4&asteps=200&shift=flip&target=0,3")
        .study
        .experiment;
    assert_eq!((mlp.adapt_steps, mlp.total_steps()), (200, 700));
    assert_eq!(parse(&experiment_query(&mlp)).study.experiment, mlp);
}

#[test]
fn bad_lora_and_planted_values_are_refused_with_a_reason() {
    let p = parse("task=planted&r=-1&alpha=0&scale=sqrt&pr=99&dim=1&k=0&noise=-1&lplus=1e9&target=5");
    let d = ExperimentConfig::default();
    let keys: Vec<&str> = p.issues.iter().map(|i| i.key.as_str()).collect();
    for key in ["r", "alpha", "scale", "dim", "noise", "lplus", "target"] {
        assert!(keys.contains(&key), "{key} not reported: {:?}", p.issues);
    }
    assert_eq!(p.study.experiment.lora.rank, d.lora.rank);
    assert_eq!(p.study.experiment.planted, d.planted);
    // The readout is layer 3 of a 3-hidden-layer MLP; layer 4 does not exist.
    let t = parse("r=2&target=4");
    assert!(
        t.issues[0].message.contains("layer 4 does not exist"),
        "{:?}",
        t.issues
    );
    assert!(parse_strict("task=planted&pr=65").is_err());
}

#[test]
fn learning_rates_read_in_every_usual_spelling() {
    for (s, v) in [
        ("0.001", 0.001),
        ("1e-3", 0.001),
        ("2^-10", 2f64.powi(-10)),
        ("2%5E-10", 2f64.powi(-10)),
    ] {
        assert_eq!(parse(&format!("lr={s}")).study.experiment.lr, v, "lr={s}");
    }
}

#[test]
fn bad_values_are_reported_and_replaced_by_defaults() {
    let p = parse("v=1&lr=abc&w=0&d=99&task=banana&bs=-3&steps=1e9&ylog=maybe&seed=x");
    let d = ExperimentConfig::default();
    assert_eq!(p.study.experiment, d, "every bad value falls back to its default");
    let msgs: Vec<&str> = p.issues.iter().map(|i| i.message.as_str()).collect();
    let has = |needle: &str| msgs.iter().any(|m| m.contains(needle));
    assert!(has("lr: 'abc' is not a number; using 0.01"), "{msgs:?}");
    assert!(
        has("w: width must be between 1 and 4096, got 0; using 64"),
        "{msgs:?}"
    );
    assert!(
        has("d: hidden layers must be between 1 and 32, got 99; using 3"),
        "{msgs:?}"
    );
    assert!(
        has(
            "unknown task 'banana' (choose one of: spiral, xor, circles, moons, blobs, planted, digits, sense, table, copy, \
             reverse, sort, modadd, text); using spiral"
        ),
        "{msgs:?}"
    );
    assert!(has("bs: '-3' is not a whole number; using 64"), "{msgs:?}");
    assert!(has("ylog: 'maybe' is not 0 or 1"), "{msgs:?}");
    assert!(has("seed: 'x' is not a whole number"), "{msgs:?}");
    assert_eq!(p.issues.len(), 8, "{msgs:?}");
}

#[test]
fn good_keys_survive_next_to_bad_ones() {
    let p = parse("task=xor&lr=NaN&w=128");
    assert_eq!(p.study.experiment.task, Task::Xor);
    assert_eq!(p.study.experiment.width, 128);
    assert_eq!(p.study.experiment.lr, 0.01);
    assert_eq!(p.issues.len(), 1);
}

#[test]
fn unknown_keys_duplicates_and_versions_are_reported() {
    let p = parse("v=2&foo=1&w=32&w=48");
    let msgs: Vec<String> = p.issues.iter().map(|i| i.message.clone()).collect();
    assert!(
        msgs.iter().any(|m| m.contains("unknown key 'foo' was ignored")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("link version 2 is not supported")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("w is given more than once; using the last value")),
        "{msgs:?}"
    );
    assert_eq!(p.study.experiment.width, 48);
}

#[test]
fn hostile_text_is_reported_verbatim_but_clipped() {
    let p = parse("task=%3Cscript%3Ealert(1)%3C%2Fscript%3E&%3Cimg%20src%3Dx%3E=1");
    assert_eq!(p.study.experiment.task, Task::Spiral);
    assert!(
        p.issues[0].message.contains("<script>alert(1)</script>"),
        "the page shows it as text"
    );
    let long = "x".repeat(500);
    let p = parse(&format!("lr={long}"));
    assert!(
        p.issues[0].message.len() < 200,
        "messages stay short: {}",
        p.issues[0].message
    );
}

#[test]
fn strict_parsing_refuses_any_issue() {
    let errs = parse_strict("w=abc&zzz=1").unwrap_err();
    assert_eq!(errs.len(), 2);
    assert!(parse_strict("task=xor&w=8").is_ok());
}

#[test]
fn validation_lists_every_problem_with_its_key() {
    let cfg = ExperimentConfig {
        width: 0,
        lr: f64::INFINITY,
        batch: 0,
        ..Default::default()
    };
    let errs = tinytune::experiment::validate(&cfg).unwrap_err();
    let keys: Vec<&str> = errs.iter().map(|e| e.key.name).collect();
    assert_eq!(keys, vec!["w", "lr", "bs"]);
    assert!(
        errs[1]
            .to_string()
            .starts_with("lr: learning rate must be between")
    );
}

#[test]
fn cli_refuses_bad_input_with_exit_code_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tinytune"))
        .arg("w=abc&task=xor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("w: 'abc' is not a whole number"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn cli_prints_csv_for_a_link_and_writes_svg() {
    let dir = std::env::temp_dir().join(format!("tinytune-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("loss.svg");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tinytune"))
        .args(["?v=1&task=xor&steps=30&w=16", "--svg"])
        .arg(&svg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("run,step,train_loss,val_loss\n"));
    assert_eq!(csv.lines().count(), 31);
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(
        drawn.contains("<svg") && drawn.contains("polyline"),
        "chart has lines"
    );
    assert!(drawn.contains("<title>Loss curves</title>"));
    // The page shows a 2-D run's decision boundary beside the curves: the CLI writes it too.
    let boundary = std::fs::read_to_string(dir.join("loss-boundary.svg")).unwrap();
    assert!(boundary.contains("<title>Decision boundary</title>") && boundary.contains("<rect"));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tinytune"))
        .args(["task=xor&steps=20&w=16", "--summary"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 2);
}

#[test]
fn cli_csv_quotes_fields_that_hold_commas() {
    // The best-value table names each panel by its knob's label, "residual, branch × 1": a CSV
    // reader must still see four columns per row.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tinytune"))
        .args([
            "task=xor&w=8&steps=3&metric=best&sweep=lr:0.01,0.02;d:2,3;res:1,isqrt",
            "--best",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().len(), 4, "{text}");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "two panels × two depths: {text}");
    assert!(rows.iter().all(|r| r.len() == 4));
    assert_eq!(&rows[0][0], "residual, branch × 1");
}

#[test]
fn view_keys_never_restart_a_run() {
    use tinytune::link::study::Change;
    let base = Study::default();
    let with = |f: fn(&mut Study)| {
        let mut c = base.clone();
        f(&mut c);
        base.change_to(&c)
    };
    assert_eq!(base.change_to(&base), Change::None);
    assert_eq!(with(|c| c.view.log_y = false), Change::Redraw);
    assert_eq!(with(|c| c.view.metric = SweepMetric::Best), Change::Redraw);
    assert_eq!(
        with(|c| c.view.backend = BackendChoice::Cpu),
        Change::SwitchBackend
    );
    assert_eq!(with(|c| c.experiment.lr = 0.02), Change::Restart);
    assert_eq!(with(|c| c.experiment.seed = 9), Change::Restart);
    assert_eq!(
        with(|c| c.sweep = tinytune::link::sweep::Sweep::parse("w:8,16").unwrap()),
        Change::Restart
    );
    assert_eq!(
        with(|c| {
            c.experiment.width = 8;
            c.view.backend = BackendChoice::Cpu;
        }),
        Change::SwitchBackend,
        "a backend change wins: it restarts the run on the new device anyway"
    );
}

#[test]
fn models_too_big_for_a_tab_are_refused_with_the_reason() {
    let p = parse("w=4096&d=16");
    assert_eq!(
        (p.study.experiment.width, p.study.experiment.depth),
        (64, 16),
        "width falls back; the depth alone is fine"
    );
    assert!(
        p.issues.iter().any(|i| i.message.contains("parameters")
            && i.message.contains("lower the width, depth or batch size")),
        "{:?}",
        p.issues
    );
    assert!(parse_strict("w=4096&d=16").is_err());
    assert!(parse_strict("w=1024&d=3").is_ok(), "the μP widths fit");
}

#[test]
fn a_flood_of_bad_keys_gives_a_bounded_list() {
    let q: Vec<String> = (0..500).map(|i| format!("k{i}=1")).collect();
    let p = parse(&q.join("&"));
    assert_eq!(p.issues.len(), tinytune::link::url::MAX_ISSUES);
    assert!(p.issues.last().unwrap().message.contains("and 491 more problems"));
}

#[test]
fn a_bad_duplicate_says_what_is_really_used() {
    let p = parse("w=128&w=abc");
    assert_eq!(p.study.experiment.width, 64);
    assert!(
        p.issues
            .iter()
            .any(|i| i.message == "w: 'abc' is not a whole number; using 64")
    );
}

#[test]
fn controls_fall_back_to_their_previous_values() {
    let current = parse_strict("w=128&lr=0.003&sweep=d:1,2").unwrap();
    let p = tinytune::link::url::parse_onto(&current, "w=abc&lr=0.003&sweep=backend:cpu");
    assert_eq!(p.study.experiment.width, 128, "a typo keeps the previous width");
    assert_eq!(p.study.sweep, current.sweep, "a bad sweep keeps the running one");
    assert!(
        p.issues
            .iter()
            .any(|i| i.message == "w: 'abc' is not a whole number; using 128")
    );
    assert!(
        p.issues.iter().any(|i| i.message.ends_with("; using d:1,2")),
        "{:?}",
        p.issues
    );
}

/// What a hostile or careless link puts in a message is shown, not obeyed or lost (#16): control
/// characters and bidi overrides come back as escapes (a terminal never sees an ESC), a value
/// without a key is reported, a number is echoed short, and a refusal names the model's own knobs.
#[test]
fn messages_escape_control_characters_report_keyless_values_and_keep_numbers_short() {
    let esc = all("task=%1B%5D0%3Bx%07&%E2%80%AEevil=1");
    assert!(esc.contains(r"unknown task '\u{1b}]0;x\u{7}'"), "{esc}");
    assert!(esc.contains(r"unknown key '\u{202e}evil'"), "{esc}");
    assert!(
        !esc.chars()
            .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
        "{esc:?}"
    );

    assert_eq!(all("=1"), "|a value without a key ('=1') was ignored");
    assert_eq!(all("steps=20&&lr=0.01"), "", "a doubled '&' carries nothing");

    let tiny = all("lr=1e-309");
    assert!(tiny.contains("got 1e-309;"), "{tiny}");
    assert!(tiny.len() < 120, "{tiny}");
    assert_eq!(tinytune::vocab::short_number(0.003), "0.003");
    assert_eq!(tinytune::vocab::short_number(123456789012345.0), "1.2346e14");

    // The planted task's data is counted before its steps (this link froze a tab for 18.8 s).
    let planted = all("task=planted&dim=512&n=8192&bs=3000");
    assert!(
        planted.contains(
            "n|n: generating 8192 training and 8192 validation samples of dimension 512 costs 8.6 GFLOP before \
             the first step; the limit is 2 GFLOP (a few seconds): lower n or dim; using"
        ),
        "{planted}"
    );
    assert!(
        parse_strict("task=planted&dim=512&n=1024").is_ok(),
        "1.1 GFLOP of data fits"
    );
    let gpt = all("task=text&w=1024&d=8&ctx=256&bs=64");
    assert!(
        gpt.contains("a 1024-wide, 8-block transformer at context 256")
            && gpt.contains("lower the width, depth, context or batch size"),
        "{gpt}"
    );
}

/// The caps count the adapters (#16): a rank above every adapted layer's full rank is lowered to
/// the largest full rank with a message, and adapters that would outgrow the parameter or step
/// cap refuse the link with the reason, as the base model's size does.
#[test]
fn a_rank_above_the_full_rank_is_lowered_and_adapters_count_toward_the_caps() {
    // The default MLP 2→64→64→64→2: the largest full rank of its layers is 64.
    let p = parse("r=4096");
    assert_eq!(p.study.experiment.lora.rank, Rank::of(64));
    let text: Vec<&str> = p.issues.iter().map(|i| i.message.as_str()).collect();
    assert_eq!(
        text,
        [
            "r: rank 4096 is above the full rank of every adapted layer (at most 64: an in×out layer's ΔW has rank \
          ≤ min(in, out)); using 64"
        ]
    );
    assert!(
        parse_strict("r=4096").is_err(),
        "the CLI refuses what the page corrects"
    );
    // One hidden layer of width 4096 between 2 inputs and 2 classes: every layer has rank ≤ 2.
    let narrow = parse("r=4096&w=4096&d=1&steps=1&asteps=1");
    assert_eq!(narrow.study.experiment.lora.rank, Rank::of(2));
    assert_eq!(narrow.study.experiment.trainable_params(), 2 * (2 + 4096) * 2);

    // A 2048-wide MLP of 4.2 M parameters fits; rank-1024 adapters on every layer add 8.4 M.
    let big = parse("w=2048&d=2&r=1024");
    let msg = big
        .issues
        .iter()
        .map(|i| i.message.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        msg.contains("more in its rank-1024 adapters") && msg.contains("or the rank"),
        "{msg}"
    );
    assert!(
        parse_strict("w=2048&d=2&r=8").is_ok(),
        "small adapters on the same model fit"
    );
}

/// The caps count everything a link costs (#16), each refused up front with its reason, page and
/// CLI alike: attention's memory and scores (a 64-head, 512-token link took 3.2 GB and 20 s a
/// step natively while its GFLOP fitted), the rounding work of quantization-aware training and of
/// the end-of-run quantization figure, a single run's total work (worded for one run, not as a
/// sweep), and links whose values still clash once the refused ones are replaced.
#[test]
fn the_caps_count_memory_attention_rounding_and_the_whole_run() {
    let heads = all("task=text&ctx=512&heads=64&w=64&d=1&bs=12&n=1024");
    assert!(
        heads.starts_with(
            "ctx|ctx: the run would hold about 3.3 GB in memory (attention scores 3.2 GB); the limit \
                           is 1.0 GB for a browser tab: lower the context, heads or batch size; using 64"
        ),
        "{heads}"
    );
    let scores = all("task=text&ctx=512&heads=8&w=64&d=1&bs=12&n=1024");
    assert!(
        scores.starts_with(
            "ctx|ctx: attention scores 25.2 M token pairs a step (batch 12 × 8 heads × 512² tokens × 1 \
                            block)"
        ),
        "{scores}"
    );
    assert!(
        parse_strict("task=text&ctx=512&heads=4&w=64&d=1&bs=4&n=1024").is_ok(),
        "4 M scores fit"
    );

    let qat = all("w=1024&d=4&bits=4&qmode=qat&qclip=mse");
    assert!(
        qat.contains(
            "qmode|qmode: quantization-aware training rounds the model's 3.1 M weights 16 times (the MSE \
                      clip search) a step (50.4 M roundings); the limit is 16.0 M a step"
        ),
        "{qat}"
    );
    let figure = all("w=1024&d=4&bits=4&qclip=mse");
    assert!(
        figure.starts_with("qclip|qclip: the end-of-run quantization figure rounds the model's 3.1 M weights at 7 \
                            bit-widths in 3 granularities, 16 clip trials each (1.1 G roundings); the limit is 400 M: \
                            choose qclip=max"),
        "{figure}"
    );
    assert!(
        parse_strict("w=1024&d=4&bits=4&qmode=qat").is_ok(),
        "one rounding a weight fits"
    );
    assert!(
        parse_strict("w=256&d=3&bits=4&qclip=mse").is_ok(),
        "a small model's search fits"
    );

    let long = all("w=1024&r=8&steps=100000&asteps=100000");
    assert!(
        long.starts_with("steps|steps: the run needs about 185049 GFLOP of training (200000 steps of 0.83 GFLOP and \
                          their evaluations); the limit is 4000 GFLOP (about five minutes on a laptop CPU): lower \
                          steps or asteps; using 500"),
        "{long}"
    );
    assert!(
        !long.contains("sweep"),
        "one run is not told about sweeps: {long}"
    );
    assert!(
        long.ends_with("|the values left still did not fit together; using w=64, asteps=500"),
        "every value replaced is named: {long}"
    );
    // A form edit reads onto the previous study: the edited key is the one replaced, and the
    // message does not claim to use a value that still clashes.
    let base = parse_strict("steps=100000").unwrap();
    let edit = tinytune::link::url::parse_onto(&base, "w=1024");
    assert_eq!(edit.study.experiment.width, 64);
    assert_eq!(edit.study.experiment.steps, 100000);
    let said: Vec<&str> = edit.issues.iter().map(|i| i.message.as_str()).collect();
    assert!(
        said[0].starts_with("steps: the run needs about") && said[0].ends_with("lower steps"),
        "{said:?}"
    );
    assert_eq!(said[1], "the values left still did not fit together; using w=64");
    // What is left after the replacements is always a valid experiment.
    for q in [
        "task=text&ctx=512&heads=64&w=64&d=1&bs=16&n=1024",
        "w=1024&r=8&steps=100000&asteps=100000",
        "task=planted&dim=512&n=8192&bs=3000&steps=100000",
    ] {
        let p = parse(q);
        assert!(
            tinytune::experiment::validate(&p.study.experiment).is_ok(),
            "{q}: {:?}",
            p.issues
        );
        assert!(!all(q).contains("run  is invalid"), "{q}: {}", all(q));
    }
}

/// Swept ranks above every adapted layer's full rank are dropped with a message naming them
/// (they would train extra parameters and plot as copies of the full rank).
#[test]
fn swept_ranks_above_the_full_rank_are_dropped() {
    let p = parse("sweep=r:1,2,64,128,4096");
    assert_eq!(p.study.sweep.to_text(), "r:1,2,64");
    let text: Vec<&str> = p.issues.iter().map(|i| i.message.as_str()).collect();
    assert_eq!(
        text,
        [
            "r: swept ranks 128, 4096 are above the full rank of every adapted layer (at most 64: an in×out layer's \
          ΔW has rank ≤ min(in, out)); sweeping r:1,2,64"
        ]
    );
    // Over a width sweep the widest model's full rank counts.
    let p = parse("sweep=r:64,128,256;w:64,128");
    assert_eq!(p.study.sweep.to_text(), "r:64,128;w:64,128");
    let p = parse("w=4096&d=1&sweep=r:8,16");
    assert_eq!(p.study.sweep.to_text(), "r:2", "all above: the full rank itself");
    assert!(parse_strict("sweep=r:0,1,2,4,8,16,32,64").is_ok());
}

/// `--costs` prints what a link costs against each cap, as CSV, without training: the figures
/// the caps judge (a refused link gets the same numbers in its message).
#[test]
fn cli_prints_a_links_costs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tinytune"))
        .args(["task=text&w=128&d=2&heads=4&ctx=64&bs=32&n=1024", "--costs"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], ["cost", "value", "unit", "limit"]);
    let get = |name: &str| {
        rows.iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("no {name} row in {csv}"))
            .clone()
    };
    assert_eq!(
        get("parameters"),
        ["parameters", "425552", "parameters", "5000000"]
    );
    assert_eq!(
        get("attention scores a step")[1],
        "1048576",
        "32 × 4 heads × 64² × 2 blocks"
    );
    assert_eq!(get("matrix products a step")[3], "6");
    let memory: f64 = get("memory")[1].parse().unwrap();
    let items: f64 = rows
        .iter()
        .filter(|r| r[0].starts_with("\"memory:") || r[0].starts_with("memory:"))
        .map(|r| r[r.len() - 3].parse::<f64>().unwrap())
        .sum();
    assert!(
        (memory - items).abs() < 1.0,
        "the items make up the memory: {memory} vs {items}"
    );
    assert!(
        csv.contains("memory: attention scores,16777216,bytes,\n"),
        "{csv}"
    );
    assert!(!csv.contains("step,train_loss"), "nothing was trained");
}

/// Presenter mode's link keys (#14): `present` and `knobs` are view settings that round-trip, a
/// knob must be a laddered experiment key, and each knob steps through its meaningful values with
/// the link's own value on the ladder.
#[test]
fn presenter_knobs_read_from_the_link_and_step_through_their_values() {
    use tinytune::keys::key;
    use tinytune::link::ladder::ladder;
    let p = parse_strict("present=1&knobs=r,bits").unwrap();
    assert!(p.view.present);
    assert_eq!(p.view.knobs, ["r", "bits"]);
    assert_eq!(parse_strict(&to_query(&p)).unwrap(), p, "the link round-trips");
    assert!(
        all("knobs=r,sweep").contains("'sweep' cannot be a presenter's knob (choose from: task,"),
        "{}",
        all("knobs=r,sweep")
    );
    assert!(all("knobs=r,r").contains("r is listed twice"));
    assert!(all("knobs=r,bits,lr,w,d").contains("at most 4 knobs"));

    let r = ladder(key("r").unwrap(), "none");
    assert_eq!(r[..6], ["none", "0", "1", "2", "4", "8"]);
    assert_eq!(r.last().map(String::as_str), Some("4096"));
    assert_eq!(
        ladder(key("bits").unwrap(), "32"),
        ["2", "3", "4", "5", "6", "7", "8", "32"],
        "2–8 bits, then float"
    );
    let lr = ladder(key("lr").unwrap(), "0.01");
    assert_eq!(lr.len(), 13);
    assert_eq!(
        (lr[5].as_str(), lr[6].as_str(), lr[7].as_str()),
        ("0.005", "0.01", "0.02"),
        "×2 steps"
    );
    assert_eq!(ladder(key("param").unwrap(), "sp"), ["sp", "mup"]);
    let w = ladder(key("w").unwrap(), "48");
    let at = w.iter().position(|v| v == "48").unwrap();
    assert_eq!(
        (w[at - 1].as_str(), w[at + 1].as_str()),
        ("32", "64"),
        "the link's own width in its place"
    );
}

/// A deck's link: bad slides are named and left out, a slide past the end is the last, an item's
/// own problems are named with its slide, and the link round-trips.
#[test]
fn deck_links_are_read_leniently_and_round_trip() {
    let p = url::parse("deck=e1,nope,task%3Dxor%26lr%3Dabc&slide=7");
    let text: Vec<&str> = p.issues.iter().map(|i| i.message.as_str()).collect();
    assert_eq!(
        p.study.view.deck,
        vec!["e1".to_string(), "task=xor&lr=abc".to_string()]
    );
    assert_eq!(p.study.view.slide, 2, "{text:?}");
    assert!(
        text.iter().any(|t| t.contains("'nope' is neither a preset id")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|t| t.contains("past the deck's 2 slides")),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t.starts_with("slide 2: lr:")), "{text:?}");
    assert_eq!(p.study.experiment.task, Task::Xor);
    let q = url::to_query(&p.study);
    assert_eq!(url::parse(&q).study, p.study, "{q}");
    assert!(url::parse_strict("slide=2").is_err(), "a slide without a deck");
    // A slide's sweep cleared on the page stays cleared in its link.
    let mut cleared = url::parse("deck=e1").study;
    cleared.sweep = Default::default();
    let q = url::to_query(&cleared);
    assert_eq!(url::parse_strict(&q).expect("a valid link"), cleared, "{q}");
    // Items are written one way: a preset in any case, a link without '?', a pasted link's
    // own escapes kept for its reader.
    let typed = url::parse("deck=E1,%3Ftask%3Dxor,task%3Dxor%26lr%3D2%255E-7").study;
    assert_eq!(typed.view.deck, vec!["e1", "task=xor", "task=xor&lr=2%5E-7"]);
    assert_eq!(url::parse(&url::to_query(&typed)).study, typed);
    assert!(
        url::parse_strict("deck=task%3Dxor%26deck%3De1").is_err(),
        "a deck in a deck"
    );
}

/// The CLI's `--svg` writes exactly the figures the page shows for a study, from the same policy
/// (`report::Figures`): a two-knob sweep's sweep chart as the main file, its loss curves, best-value
/// plot and heatmap beside it.
#[test]
fn the_cli_writes_the_figures_the_page_shows() {
    use tinytune::report::{Chart, Figures, Results};
    let link = "task=xor&w=8&steps=12&sweep=lr:0.01,0.1;d:1,2";
    let dir = std::env::temp_dir().join(format!("tinytune-figures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tinytune"))
        .args([link, "--summary", "--svg"])
        .arg(dir.join("study.svg"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut written: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();

    // The page's policy over the same runs.
    let study = parse_strict(link).unwrap();
    let points = study.sweep.expand(&study.experiment).unwrap();
    let device = tinytune::model::backend::cpu();
    let runs = pollster::block_on(tinytune::train::train_sweep(&points, &device, 4, |_, _| {})).unwrap();
    let samples = tinytune::page::boundary_points(&study.experiment);
    let figures = Figures::of(Results {
        study: &study,
        runs: &runs,
        grid: None,
        points: &samples,
        planted_sigma: None,
        before: None,
    });
    assert_eq!(figures.main(), Chart::Sweep);
    let mut want: Vec<String> = figures
        .shown_charts()
        .into_iter()
        .map(|c| {
            if c == Chart::Sweep {
                "study.svg".to_string()
            } else {
                format!("study-{}.svg", c.name())
            }
        })
        .collect();
    want.sort();
    assert_eq!(written, want);
    assert!(want.len() >= 4, "loss, sweep, best value, heatmap: {want:?}");
}
