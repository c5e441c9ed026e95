//! The key table (`keys`) is the one home of the keys: the README's table, the page's controls,
//! the sweepable set and every message follow it, and no other file of `src/` names a key in a
//! string.

use std::collections::BTreeSet;
use std::path::Path;

use tinytune::keys::{self, KEYS, Slot};

mod source;
use tinytune::link::study::Study;
use tinytune::link::url;

#[test]
fn the_readme_key_table_is_the_table() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let (begin, end) = ("<!-- link-keys:begin -->\n", "<!-- link-keys:end -->");
    let start = readme.find(begin).expect("README marks its key table") + begin.len();
    let stop = readme[start..].find(end).expect("README closes its key table") + start;
    let expected = keys::markdown_table();
    assert!(
        readme[start..stop] == expected,
        "README.md's key table differs from the key table; replace it with:\n{expected}"
    );
}

#[test]
fn every_group_has_its_box_on_the_page() {
    // The page builds each key's control from the table into the group the table names: a
    // collapsible <details> with its note of knobs that change nothing, or the Run fieldset.
    let html = std::fs::read_to_string("index.html").expect("index.html");
    for group in keys::Group::ALL {
        let details = format!("<details id=\"{}\" class=\"group\"", group.id());
        let fieldset = format!("<fieldset id=\"{}\"", group.id());
        assert!(
            html.contains(&details) || html.contains(&fieldset),
            "index.html has no group #{}",
            group.id()
        );
        if html.contains(&details) {
            let at = html.find(&details).unwrap();
            let end = at + html[at..].find("</details>").unwrap();
            assert!(
                html[at..end].contains("class=\"group-why\""),
                "#{} has no .group-why",
                group.id()
            );
        }
    }
    for key in KEYS {
        assert!(
            !html.contains(&format!("id=\"{}\"", key.name)),
            "#{} is written by hand in index.html; the table builds it",
            key.name
        );
        assert!(!key.label.is_empty());
    }
}

#[test]
fn names_are_unique_and_every_key_reads_back_its_own_default() {
    let names: BTreeSet<&str> = KEYS.iter().map(|k| k.name).collect();
    assert_eq!(names.len(), KEYS.len(), "a key is declared twice");
    let d = Study::default();
    for key in KEYS {
        let text = url::value_text(&d, key);
        let mut s = Study::default();
        if !matches!(key.slot, Slot::Sweep) {
            url::apply(&mut s, key, &text).unwrap_or_else(|e| panic!("{}: {e}", key.name));
            assert_eq!(s, d, "{} changed reading its default {text}", key.name);
        }
        assert!(!key.help.is_empty() && !key.what.is_empty() && !key.field().is_empty());
    }
}

#[test]
fn sweeps_take_exactly_the_sweepable_keys() {
    for key in KEYS {
        let value = url::value_text(&Study::default(), key);
        let parsed = tinytune::link::sweep::Sweep::parse(&format!("{}:{value}", key.name));
        assert_eq!(parsed.is_ok(), key.sweepable, "{}: {parsed:?}", key.name);
        if key.sweepable {
            assert!(
                matches!(key.slot, Slot::Experiment(_)),
                "{} is not a knob",
                key.name
            );
        }
    }
}

#[test]
fn ranges_come_from_the_table() {
    let w = keys::key("w").unwrap();
    let mut cfg = tinytune::knobs::ExperimentConfig::default();
    assert!(keys::check(w, &cfg).is_none());
    cfg.width = 5000;
    assert_eq!(
        keys::check(w, &cfg).unwrap().to_string(),
        "w: width must be between 1 and 4096, got 5000"
    );
    cfg.width = 64;
    cfg.lr = 200.0;
    let errs = tinytune::experiment::validate(&cfg).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "lr: learning rate must be between 0.0000001 and 100, got 200"
    );
}

#[test]
fn v1_links_keep_their_meaning() {
    // Bookmarked links from before the table: each reads without issues and writes back unchanged.
    for q in [
        "v=1&task=moons&n=512&w=128&d=2&act=gelu&opt=sgd&lr=0.000244140625&bs=32&steps=1234&seed=42&backend=cpu&ylog=0&xlog=1",
        "v=1&task=planted&steps=300&r=8&alpha=16&scale=rs&ainit=inv&train=b&lplus=16&target=0&pr=6&dim=32&noise=0.1&k=12&sv=pow",
        "v=1&task=digits&bs=128&steps=40&rzero=1&metric=best&sweep=lr%3A2%5E-14..2%5E-2*2%3Bw%3A64%2C128%2C256%2C512%2C1024%3Bparam%3Asp%2Cmup",
        "v=1&task=digits&w=128&d=2&lr=0.003&bs=128&steps=300&bits=4&qfmt=nf4&qgran=group&qgs=64&qmode=qat&qclip=mse",
        "v=1&w=32&sched=cosine&warm=50&wd=0.1&param=mup&bw=16&ain=2&aout=0.5&coord=5",
    ] {
        let p = url::parse(q);
        assert!(p.issues.is_empty(), "{q}: {:?}", p.issues);
        assert_eq!(url::to_query(&p.study), q);
    }
}

/// Why a string names a link key, or `None`: it is the key itself, it sets one (`lr=`, also
/// inside a sentence: "set param=mup"), or it starts a message with one (`r: …`).
fn names_a_key(text: &str) -> Option<&'static str> {
    KEYS.iter().map(|k| k.name).find(|name| {
        let sets = text.match_indices(&format!("{name}=")).any(|(at, _)| {
            // Not the tail of a longer word or path (`w=` in `bw=`, `d` in `seed=`).
            !text[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        });
        text == *name || sets || text.starts_with(&format!("{name}: "))
    })
}

/// The files of `src/` where strings may name keys: the table itself, and the gallery, whose
/// presets are links (each read strictly by `tests/link.rs`, so a typo in one fails there).
const HOMES: [&str; 2] = ["src/keys/table.rs", "src/link/presets.rs"];

/// What a line says to mark a string that only looks like a key (a chart's id, an HTML tag, the
/// R key): the reason follows it.
const NOT_A_KEY: &str = "// not a link key";

#[test]
fn no_file_names_a_key_in_a_string_outside_the_table() {
    let mut found = Vec::new();
    let mut marked = 0;
    for path in source::rust_files(Path::new("src")) {
        let shown = path.display().to_string();
        if HOMES.contains(&shown.as_str()) {
            continue;
        }
        let code = source::without_test_modules(&std::fs::read_to_string(&path).expect("readable"));
        let lines: Vec<&str> = code.lines().collect();
        for lit in source::literals(&code) {
            let Some(key) = names_a_key(&lit.text) else {
                continue;
            };
            // The mark sits on the string's line or on the line above it.
            let above = lit
                .line
                .checked_sub(2)
                .and_then(|i| lines.get(i))
                .copied()
                .unwrap_or_default();
            if lit.source_line.contains(NOT_A_KEY) || above.trim_start().starts_with(NOT_A_KEY) {
                marked += 1;
                continue;
            }
            found.push(format!(
                "{shown}:{}: \"{}\" names the key {key}",
                lit.line, lit.text
            ));
        }
    }
    assert!(
        found.is_empty(),
        "strings that name a link key; take the name from its row (keys::R.name, keys::LR.is(\"0.1\")):\n{}",
        found.join("\n")
    );
    // The marks are few and each says why; a flood of them would mean the check is dodged.
    assert!(marked <= 12, "{marked} strings are marked {NOT_A_KEY:?}");
}

#[test]
fn the_key_check_sees_keys_in_strings() {
    // The check above passes vacuously if it finds nothing: it must see each form.
    assert_eq!(names_a_key("lr"), Some("lr"));
    assert_eq!(names_a_key("choose sched=warmup or sched=cosine"), Some("sched"));
    assert_eq!(names_a_key("r: rank 9 is above the full rank"), Some("r"));
    assert_eq!(names_a_key("?v=1&{}"), Some("v"));
    assert_eq!(names_a_key("a seed of 3"), None);
    assert_eq!(names_a_key("base bw=8"), Some("bw"));
    assert_eq!(names_a_key("x.w=1 and yw=2"), None);
    let lits =
        source::literals("let a = \"lr=0.1\"; // \"w\"\nlet b = r#\"task\"#; let c = '\"'; let d = \"x\";");
    let texts: Vec<&str> = lits.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["lr=0.1", "task", "x"]);
    assert_eq!(lits[1].line, 2);
}
