//! Your own data (#35): a table (points or a CSV) and a text read, carried by a link (inline or by
//! hash) and trained on — the same losses whichever way the data came — and bad files refused
//! with what is wrong, in the library and in the CLI.

use tinytune::data::read_table::{TableOptions, read_table};
use tinytune::keys;
use tinytune::knobs::own::{Body, OwnData};
use tinytune::link::study::Study;
use tinytune::link::url;
use tinytune::model::backend;
use tinytune::train::metrics::Run;
use tinytune::train::train_run;

/// Two rings far from the origin, 2 classes named by words: `n` rows of `u,v,ring`.
fn rings_csv(n: usize) -> String {
    let mut s = String::from("u,v,ring\n");
    for i in 0..n {
        let c = i % 2;
        let a = i as f32 * 2.399; // the golden angle: spread without a generator
        let r = if c == 0 { 1.0 } else { 3.0 } + 0.2 * (i as f32 * 0.7).sin();
        let name = if c == 0 { "inner" } else { "outer" };
        s.push_str(&format!(
            "{:.3},{:.3},{name}\n",
            10.0 + r * a.cos(),
            -5.0 + r * a.sin()
        ));
    }
    s
}

fn table(csv: &str) -> OwnData {
    OwnData::new(Body::Table(read_table(csv, &TableOptions::default()).unwrap())).unwrap()
}

fn run(study: &Study) -> Run {
    pollster::block_on(train_run(&study.experiment, &backend::cpu(), 50)).unwrap()
}

fn losses(r: &Run) -> Vec<f32> {
    r.reports.iter().map(|s| s.train_loss).collect()
}

#[test]
fn a_table_trains_the_same_inline_in_the_link_as_named_by_hash_with_its_file() {
    let data = table(&rings_csv(200));
    let mut with = Study::default();
    with.experiment.task = tinytune::knobs::task::Task::Table;
    with.experiment.steps = 120;
    with.experiment.width = 32;
    with.experiment.data = Some(data.clone());
    let link = url::to_query(&with);
    assert!(link.contains("data=z."), "small data rides inline: {link}");
    let inline = url::parse_strict(&link).unwrap();
    assert_eq!(inline.experiment, with.experiment);
    assert_eq!(inline.experiment.data.as_ref().unwrap().body(), data.body());

    // The same experiment naming its data by hash, opened where the file is (the CLI's --data).
    let by_hash = format!(
        "task=table&steps=120&w=32&{}",
        keys::DATA.is(&format!("h.{}", data.hash()))
    );
    let mut base = Study::default();
    base.experiment.data = Some(data.clone());
    let resolved = url::parse_strict_onto(&base, &by_hash).unwrap();
    assert_eq!(resolved.experiment, with.experiment);

    let (a, b) = (run(&inline), run(&resolved));
    assert_eq!(losses(&a), losses(&b));
    // Two rings, standardised: the MLP separates them.
    let acc = a.reports.iter().rev().find_map(|s| s.val_acc).unwrap();
    assert!(acc >= 0.95, "validation accuracy {acc}");
    assert!(
        a.boundary.is_some(),
        "two features and classes: the boundary is drawn"
    );
}

#[test]
fn a_link_whose_data_is_elsewhere_says_so_and_other_data_is_not_taken_for_it() {
    let data = table(&rings_csv(40));
    let query = format!("task=table&{}", keys::DATA.is(&format!("h.{}", data.hash())));
    let issues = url::parse_strict(&query).unwrap_err();
    let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("kept in the browser that made it")),
        "{text:?}"
    );
    let mut base = Study::default();
    base.experiment.data = Some(table(&rings_csv(41)));
    let issues = url::parse_strict_onto(&base, &query).unwrap_err();
    assert!(
        issues
            .iter()
            .any(|i| i.to_string().contains("the data given is not the link's")),
        "another file is not the named data: {issues:?}"
    );
    // A table task with no data at all.
    let issues = url::parse_strict("task=table").unwrap_err();
    assert!(
        issues
            .iter()
            .any(|i| i.to_string().contains("trains on your data")),
        "{issues:?}"
    );
}

#[test]
fn a_regression_table_trains_on_its_standardised_target() {
    let mut csv = String::from("a,b,y\n");
    for i in 0..300 {
        let (a, b) = ((i as f32 * 0.61).sin(), (i as f32 * 0.37).cos());
        csv.push_str(&format!("{a},{b},{}\n", 100.0 + 40.0 * a * b + 10.0 * a));
    }
    let mut s = Study::default();
    s.experiment.task = tinytune::knobs::task::Task::Table;
    s.experiment.steps = 300;
    s.experiment.lr = 0.003;
    s.experiment.data = Some(table(&csv));
    assert_eq!(s.experiment.outputs(), 1);
    let r = run(&s);
    let val = r.reports.iter().rev().find_map(|x| x.val_loss).unwrap();
    // Mean squared error in units of the target's variance: 1 predicts the mean.
    assert!(val < 0.05, "validation MSE {val}");
}

#[test]
fn your_text_trains_the_char_lm_on_its_own_alphabet() {
    let text = "the cat sat on the mat. the dog sat on the log. ".repeat(200);
    let data = OwnData::new(Body::Text(text)).unwrap();
    let mut s = url::parse_strict("task=text&w=32&d=1&heads=2&ctx=16&bs=16&steps=80&lr=0.01").unwrap();
    s.experiment.data = Some(data);
    assert_eq!(s.experiment.classes(), 14, "the distinct characters");
    let r = run(&s);
    let first = r.reports[0].train_loss;
    let last = r.reports.last().unwrap().train_loss;
    // A fresh model's loss is about ln 14 (2.6), above it by its initial logits' spread.
    assert!(first > 14f32.ln() - 0.3, "starts near or above ln 14: {first}");
    assert!(last < 1.0, "a repeated sentence is learned: {last}");
    let sample = r.seq_views.and_then(|v| v.sample).expect("the char LM's sample");
    assert!(!sample.text.is_empty());
    assert!(
        (sample.prompt.clone() + &sample.text)
            .chars()
            .all(|c| " .acdeghlmnost".contains(c)),
        "prompt and sample in the text's alphabet: {} | {}",
        sample.prompt,
        sample.text
    );
}

#[test]
fn the_cli_reads_a_file_and_names_what_is_wrong_with_a_bad_one() {
    let dir = std::env::temp_dir().join(format!("tinytune-own-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cli = |file: &str, body: &[u8], args: &[&str]| {
        let path = dir.join(file);
        std::fs::write(&path, body).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_tinytune"))
            .args(args)
            .arg("--data")
            .arg(&path)
            .output()
            .unwrap()
    };
    let ok = cli(
        "rings.csv",
        rings_csv(100).as_bytes(),
        &["steps=20&w=16", "--summary"],
    );
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let err = String::from_utf8_lossy(&ok.stderr);
    assert!(err.contains("100 rows × 2 features, 2 classes"), "{err}");
    let ragged = cli("ragged.csv", b"a,b,c\n1,2,0\n3,4\n", &[]);
    assert_eq!(ragged.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ragged.stderr).contains("line 3 has 2 columns; the header has 3"));
    let cell = cli("cell.csv", b"a,b,c\n1,2,0\n3,four,1\n", &[]);
    assert!(String::from_utf8_lossy(&cell.stderr).contains("line 3: column 'b' holds 'four', not a number"));
    let empty = cli("empty.csv", b"", &[]);
    assert!(String::from_utf8_lossy(&empty.stderr).contains("the file is empty"));
    let binary = cli("weights.csv", b"\x89PNG\r\n\x1a\n\0\0", &[]);
    assert!(String::from_utf8_lossy(&binary.stderr).contains("binary"));
    let huge = dir.join("huge.txt");
    std::fs::File::create(&huge).unwrap().set_len(9 << 20).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tinytune"))
        .arg("--data")
        .arg(&huge)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("9.4 MB against the cap of 8.4 MB"));
    for out in [ragged, cell, empty, binary] {
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_clis_experiment_file_carries_data_too_large_for_a_link_and_opens_the_same_run() {
    let dir = std::env::temp_dir().join(format!("tinytune-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (csv, saved) = (dir.join("rings.csv"), dir.join("rings.tinytune"));
    // 1,500 rows: far past what a link holds, so the link alone names it by hash.
    std::fs::write(&csv, rings_csv(1500)).unwrap();
    let tinytune = || std::process::Command::new(env!("CARGO_BIN_EXE_tinytune"));
    let first = tinytune()
        .args(["steps=15&w=16", "--summary", "--data"])
        .arg(&csv)
        .arg("--save-experiment")
        .arg(&saved)
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let file = std::fs::read_to_string(&saved).unwrap();
    assert!(
        file.starts_with("# tinytune experiment") && file.contains("data=z."),
        "{file:.200}"
    );
    // No --data: the file alone runs the same experiment, to the last digit.
    let opened = tinytune()
        .arg("--summary")
        .arg("--open")
        .arg(&saved)
        .output()
        .unwrap();
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    assert_eq!(opened.stdout, first.stdout);
    // The link alone (by hash) cannot run here.
    let link = tinytune::link::bundle::read(&file).unwrap().query;
    assert!(url::data_hash_named(&link).is_some(), "{link:.200}");
    let alone = tinytune().arg(&link).output().unwrap();
    assert_eq!(alone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&alone.stderr).contains("kept in the browser that made it"));
    // A damaged file is named and runs nothing.
    let cut = dir.join("cut.tinytune");
    std::fs::write(&cut, &file[..file.len() / 2]).unwrap();
    let out = tinytune().arg("--open").arg(&cut).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--open") && err.contains("damaged"), "{err}");
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}
