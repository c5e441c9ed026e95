//! Page ↔ worker messages lose nothing (#30): every value a link accepts — for every key its
//! smallest and largest number, odd spellings, every choice, its longest text — crosses to the
//! training worker and back through the real codec (`page::codec`) unchanged, and so does every
//! loss a run reports, NaN and the infinities included.

use tinytune::keys::{KEYS, Range, Ty};
use tinytune::knobs::view::BackendChoice;
use tinytune::link::study::Study;
use tinytune::link::url;
use tinytune::page::codec::{self, Envelope};
use tinytune::page::{FrameReport, FromWorker, Msg, RunState, ToWorker};
use tinytune::train::metrics::{SeqStats, StepReport};

/// Links a key's value is tried on, so that keys which only act together (a warm-up and its
/// schedule, a planted rank and its dimension) find the company they need.
const CONTEXTS: [&str; 13] = [
    "task=planted&n=8&pr=1",
    "warm=10",
    "w=1024&d=2",
    "",
    "sched=warmup&steps=100000",
    "task=planted&n=8&dim=512",
    "task=copy",
    "task=modadd",
    "r=4",
    "bits=4&qgran=group",
    "param=mup",
    "task=copy&bits=4",
    "task=sense&dim=8&pr=2",
];

/// The contexts, and one holding your own data inline (what `task=table` needs).
fn contexts() -> Vec<String> {
    use tinytune::knobs::own::{Body, OwnData, Table, Target};
    let points = OwnData::new(Body::Table(Table {
        features: vec!["x".into(), "y".into()],
        x: vec![0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8],
        target: Target::Classes {
            labels: vec![0, 1, 0, 1],
            names: vec!["a".into(), "b".into()],
        },
        target_name: "class".into(),
        plane: true,
    }))
    .unwrap();
    let mut all: Vec<String> = CONTEXTS.iter().map(|c| c.to_string()).collect();
    all.push(tinytune::keys::DATA.is(&points.link_text()));
    all
}

/// The values to try for `key`: its range's ends (and just inside them), odd spellings, every
/// choice, the longest text.
fn candidates(key: &tinytune::keys::Key) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    match (key.ty, key.range) {
        (Ty::Choice(list), _) => v.extend(list().into_iter().map(|(value, _)| value.to_string())),
        (Ty::Flag, _) => v.extend(["0".into(), "1".into()]),
        (Ty::Count | Ty::Optional(_), Some(Range::Count(lo, hi))) => {
            v.extend([lo.to_string(), (lo + 1).to_string(), hi.to_string()]);
        }
        (Ty::Number, Some(Range::Number(lo, hi))) => {
            v.extend([
                format!("{lo}"),
                format!("{hi}"),
                format!("{:e}", hi),
                format!("{lo:e}"),
            ]);
            // A power of two inside the range, as the μP papers write rates.
            let p = (lo.max(f64::MIN_POSITIVE).log2().ceil() as i32).max(-1000);
            if 2f64.powi(p) <= hi {
                v.push(format!("2^{p}"));
            }
        }
        _ => {}
    }
    if let Ty::Optional(none) = key.ty {
        v.push(none.to_string());
    }
    match key.name {
        // Unranged whole numbers: their own ends.
        "seed" => v.extend(["0".into(), u64::MAX.to_string(), (1u64 << 53).to_string()]),
        "warm" => v.extend(["1".into(), "50000".into(), "100000".into()]),
        "pr" => v.extend(["1".into(), "512".into()]),
        // A rank is bounded by the model's layers and the parameter cap, not by its row: 512
        // on a 1024-wide MLP is the largest that fits.
        "r" => v.push("512".into()),
        "k" => v.extend(["1".into(), "512".into()]),
        // The longest names the models answer to (40 characters at most).
        "target" => v.extend([
            "all".into(),
            "0,1,2,3".into(),
            "input,hidden.1,hidden.2,readout".into(),
            "attn.q,attn.k,attn.v,attn.o,fc,proj".into(),
        ]),
        _ => {}
    }
    v
}

/// `link` when the link reads it without a word of complaint.
fn accepted(link: &str) -> Option<Study> {
    let parsed = url::parse(link);
    parsed.issues.is_empty().then_some(parsed.study)
}

/// Sends `study`'s runs to the worker and reads them back as the worker would.
fn round_trip(study: &Study) {
    let start = ToWorker::Start {
        generation: u64::MAX,
        configs: study.runs().into_iter().map(|p| p.config).collect(),
        // A pool's share (#33): the study's indices of its runs, and which share it is.
        runs: (0..study.runs().len()).rev().chain([usize::MAX]).collect(),
        share: usize::MAX,
        sweep: study.is_sweep(),
        stack: study.view.stack,
        weights: None,
    };
    let bytes = codec::to_worker(u64::MAX - 1, &start).expect("every accepted study is written");
    let (seq, back): Envelope = codec::decode(&bytes).expect("and read back");
    assert_eq!(seq, u64::MAX - 1);
    assert_eq!(back, start, "{}", url::to_query(study));
}

#[test]
fn every_value_a_link_accepts_crosses_to_the_worker() {
    let mut tried = 0;
    for key in KEYS.iter().filter(|k| k.is_knob()) {
        for value in candidates(key) {
            let link = contexts()
                .iter()
                .map(|c| {
                    let own = format!("{}={}", key.name, value);
                    if c.is_empty() { own } else { format!("{c}&{own}") }
                })
                .find_map(|l| accepted(&l).map(|s| (l, s)));
            let Some((link, study)) = link else {
                // Every end of a range and every choice must be a value some link accepts.
                let must = match key.ty {
                    Ty::Choice(_) | Ty::Flag => true,
                    // A rank's upper end is the models' (above).
                    _ if key.name == "r" => value == "512",
                    _ => {
                        matches!(key.range, Some(Range::Count(lo, hi)) if value == lo.to_string() || value == hi.to_string())
                    }
                };
                assert!(!must, "no link accepts {}={value}", key.name);
                continue;
            };
            // The value the link kept is the one asked for (as the key writes it).
            let mut probe = Study::default();
            url::apply(&mut probe, key, &value).unwrap_or_else(|e| panic!("{link}: {e}"));
            assert_eq!(
                url::value_text(&study, key),
                url::value_text(&probe, key),
                "{link}"
            );
            round_trip(&study);
            tried += 1;
        }
    }
    assert!(tried > 150, "only {tried} values were tried");
}

#[test]
fn the_largest_seed_and_the_longest_sweep_cross() {
    let seed = accepted(&format!("seed={}", u64::MAX)).expect("the largest seed is a seed");
    assert_eq!(seed.experiment.seed, u64::MAX);
    round_trip(&seed);
    // A sweep over seeds near the top of u64: 14 values of 20 digits, near the 300-character cap.
    let seeds: Vec<String> = (0..14).map(|i| (u64::MAX - i).to_string()).collect();
    let sweep = format!("seed:{}", seeds.join(","));
    assert!(sweep.len() > 290 && sweep.len() <= 300, "{}", sweep.len());
    let study = accepted(&format!("steps=20&sweep={}", url_encode(&sweep))).expect("the sweep is accepted");
    assert_eq!(study.runs().len(), 14);
    round_trip(&study);
    // The longest deck's text a link holds, as a view (view keys stay on the page): its slides
    // are presets.
    let deck: Vec<&str> = tinytune::link::presets::PRESETS.iter().map(|p| p.id).collect();
    let study = accepted(&format!("deck={}", deck.join(","))).expect("a deck of every preset");
    round_trip(&study);
}

fn url_encode(s: &str) -> String {
    s.replace(':', "%3A").replace(',', "%2C").replace(';', "%3B")
}

#[test]
fn every_message_kind_crosses_with_its_extremes() {
    for choice in [BackendChoice::Auto, BackendChoice::Webgpu, BackendChoice::Cpu] {
        let m = ToWorker::ChooseBackend {
            ticket: u64::MAX,
            choice,
        };
        let (_, back): Envelope = codec::decode(&codec::to_worker(1, &m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
    for run_state in [
        RunState::Idle,
        RunState::Running,
        RunState::Paused,
        RunState::Done,
        RunState::Diverged,
        RunState::Cancelled,
        RunState::Failed,
    ] {
        let m = ToWorker::Steer {
            generation: u64::MAX,
            run_state,
        };
        let (_, back): Envelope = codec::decode(&codec::to_worker(2, &m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
    // A round's report with every float a loss can be, read back to the bit.
    let odd = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN_POSITIVE,
        -0.0,
        1e-45,
    ];
    let reports: Vec<StepReport> = odd
        .iter()
        .enumerate()
        .map(|(i, &x)| StepReport {
            step: 199_999 - i,
            train_loss: x,
            val_loss: Some(x),
            coord: Some(vec![x; 3]),
            quant_val_loss: Some(x),
            seq: Some(SeqStats {
                max_logit: x,
                log_z: x,
                z_loss: Some(x),
                train_acc: Some(x),
                val_acc: None,
            }),
            norms: Some(tinytune::train::metrics::Norms { grad: x, update: x }),
            singular: Some(vec![x; 2]),
            prune: Some(tinytune::train::prune::Pruned {
                levels: vec![0.0, 0.5],
                curves: vec![(tinytune::knobs::prune::Method::Dare, vec![x, 2.0 * x])],
                layers: vec![tinytune::train::prune::PrunedLayer {
                    name: "hidden.0".into(),
                    size: 64,
                    kept: vec![1.0, x],
                }],
            }),
            val_acc: Some(x),
            gns: Some(tinytune::train::noise::NoiseSample {
                small: x,
                big: x,
                b_small: 1,
                b_big: 4,
            }),
        })
        .collect();
    let frame = FromWorker::Page(Box::new(Msg::Frame(FrameReport {
        generation: u64::MAX,
        share: usize::MAX,
        counts: vec![(255, odd.len())],
        reports: reports.clone(),
        started_ms: f64::MAX,
        ended_ms: f64::MIN_POSITIVE,
        previous_end_ms: -1.0,
        grid: None,
        views: None,
    })));
    let bytes = codec::encode(&frame).unwrap();
    let Ok(FromWorker::Page(msg)) = codec::from_worker(&bytes) else {
        panic!("a frame reads back as a frame")
    };
    let Msg::Frame(back) = *msg else { panic!("a frame") };
    let bits = |r: &[StepReport]| -> Vec<u32> { r.iter().map(|s| s.train_loss.to_bits()).collect() };
    assert_eq!(bits(&back.reports), bits(&reports));
    assert_eq!(back.started_ms, f64::MAX);
    assert_eq!(
        codec::encode(&FromWorker::Page(Box::new(Msg::Frame(back)))).unwrap(),
        bytes
    );
}

#[test]
fn what_cannot_be_read_is_an_error_not_a_panic() {
    assert!(codec::from_worker(&[]).is_err());
    assert!(codec::from_worker(&[0xff; 7]).is_err());
    assert!(codec::decode::<Envelope>(&[1, 250, 3]).is_err());
    let e = codec::decode::<Envelope>(b"not a message").unwrap_err();
    assert!(e.starts_with("it could not be read"), "{e}");
}
