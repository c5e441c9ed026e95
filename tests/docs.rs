//! The design notes are in the repository (`docs/`), and every place that cites one cites what
//! is there: a document that exists, and the section, experiment or pitfall it names.

use std::path::Path;

mod source;

/// Every file that may cite a note: the sources, the tests, the build's configuration, the page.
fn citing_files() -> Vec<std::path::PathBuf> {
    let mut files = source::rust_files(Path::new("src"));
    files.extend(source::rust_files(Path::new("tests")));
    for f in [
        "index.html",
        "Trunk.toml",
        "Cargo.toml",
        "webgpu/Cargo.toml",
        "www/worker.js",
        "README.md",
    ] {
        files.push(f.into());
    }
    for dir in ["scripts", "bench", "tests/browser"] {
        for entry in std::fs::read_dir(dir).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files
}

/// What a citation names after the document: `§5`, `E3`, `pitfall 8`, `pitfalls 6–7`.
fn target(rest: &str) -> Option<String> {
    let rest = rest.trim_start();
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '§' || *c == ' ')
        .collect();
    let word = word.trim();
    if let Some(n) = word.strip_prefix('§') {
        return Some(format!("## {}.", n.trim()));
    }
    if let Some(n) = word
        .strip_prefix("pitfalls ")
        .or_else(|| word.strip_prefix("pitfall "))
    {
        let first: String = n.chars().take_while(char::is_ascii_digit).collect();
        return Some(format!("\n{first}. **"));
    }
    if word.starts_with('E') && word[1..].chars().next().is_some_and(|c| c.is_ascii_digit()) {
        let n: String = word[1..].chars().take_while(char::is_ascii_digit).collect();
        return Some(format!("## E{n} "));
    }
    None
}

#[test]
fn every_cited_note_is_in_the_repository() {
    let mut wrong = Vec::new();
    let mut cited = 0;
    for path in citing_files() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for (at, _) in text.match_indices(".md") {
            // The document's name: the word before ".md" (DESIGN, docs/KNOBS, README).
            let start = text[..at]
                .rfind(|c: char| !(c.is_alphanumeric() || c == '/' || c == '_' || c == '.' || c == '-'))
                .map_or(0, |i| i + 1);
            let name = &text[start..at];
            if name.is_empty() || name.starts_with("http") || name.contains("://") {
                continue;
            }
            let doc = if name.contains('/') {
                Path::new(name).with_extension("md")
            } else if path.starts_with("docs") {
                Path::new("docs").join(format!("{name}.md"))
            } else {
                Path::new(name).with_extension("md")
            };
            let line = text[..at].lines().count();
            let Ok(body) = std::fs::read_to_string(&doc) else {
                wrong.push(format!(
                    "{}:{line}: cites {}, which is not in the repository",
                    path.display(),
                    doc.display()
                ));
                continue;
            };
            cited += 1;
            if let Some(heading) = target(&text[at + 3..])
                && !body.contains(&heading)
            {
                wrong.push(format!(
                    "{}:{line}: {} has no {heading:?}",
                    path.display(),
                    doc.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "citations:\n{}", wrong.join("\n"));
    assert!(
        cited >= 20,
        "only {cited} citations were found: the reader misses them"
    );
}

#[test]
fn the_notes_a_newcomer_needs_are_there() {
    for note in ["ARCHITECTURE", "KNOBS", "TOOLCHAIN", "EXPERIMENTS"] {
        let path = format!("docs/{note}.md");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(text.lines().count() > 100, "{path} is a stub");
    }
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    assert!(
        readme.contains("docs/ARCHITECTURE.md"),
        "the README points at the notes"
    );
}

/// The notes and the README name files by path (`src/train/adam.rs`); a file that moved leaves the
/// newcomer at a dead end, so every such path must exist. Paths inside a quoted error message
/// (`burn-tensor-0.22.1/src/…`) are another crate's and are skipped: they follow a non-space.
#[test]
fn every_path_the_notes_name_exists() {
    let mut docs: Vec<std::path::PathBuf> = std::fs::read_dir("docs")
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .collect();
    docs.push("README.md".into());
    let mut missing = Vec::new();
    let mut named = 0;
    for doc in docs {
        let text = std::fs::read_to_string(&doc).expect("readable note");
        for root in ["src/", "tests/", "scripts/", "www/", "webgpu/", "bench/"] {
            for (at, _) in text.match_indices(root) {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| !matches!(c, ' ' | '`' | '(' | '\n')) {
                    continue;
                }
                let path: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '/' | '_' | '-' | '.'))
                    .collect();
                let path = path.trim_end_matches('.');
                named += 1;
                if !Path::new(path).exists() {
                    missing.push(format!("{}: {path}", doc.display()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "named but not there:\n{}", missing.join("\n"));
    assert!(
        named >= 50,
        "only {named} paths were found: the reader misses them"
    );
}
