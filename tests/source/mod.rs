//! Reading the crate's own source, for the tests that check it (`layers.rs`: the imports;
//! `keys.rs`: no link key named by a string outside the key table): its files, without their
//! unit-test modules, and its string literals.

// Each test crate that includes this module uses part of it.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively, `src/main.rs` included.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `source` with every `#[cfg(test)] mod … { … }` block cut out, braces matched (those inside
/// strings, characters and comments are skipped), so what follows a test module stays. Lines
/// stay where they were: a cut module leaves its line breaks.
pub fn without_test_modules(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        let is_module = after.starts_with("mod ") || after.starts_with("pub mod ");
        let Some(open) = after.find('{').filter(|_| is_module) else {
            out.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
            continue;
        };
        out.push_str(&rest[..at]);
        let body = &after[open..];
        let end = matching_brace(body).unwrap_or(body.len());
        let cut = &rest[at..rest.len() - body.len() + end];
        out.extend(cut.chars().filter(|&c| c == '\n'));
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

/// The byte just past the `}` that closes the `{` at `text[0]`, skipping strings, character
/// literals and comments.
fn matching_brace(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            // A character literal ('{', '\'') but not a lifetime ('a).
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// One string literal of a file: its line (from 1), its text as written between the quotes, and
/// the whole source line it starts on.
pub struct Literal {
    pub line: usize,
    pub text: String,
    pub source_line: String,
}

/// Every string literal of `source` (plain, raw and byte strings), comments and character
/// literals skipped.
pub fn literals(source: &str) -> Vec<Literal> {
    let chars: Vec<char> = source.chars().collect();
    let lines: Vec<&str> = source.lines().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    let at = |i: usize| chars.get(i).copied();
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && at(i + 1) == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && at(i + 1) == Some('/')) {
                line += usize::from(chars[i] == '\n');
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            // A character literal ('x', '\n', '"') or a lifetime ('a): skip the character.
            if at(i + 1) == Some('\\') {
                i += 3; // past the quote, the backslash and the escaped character
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == Some('\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c == '"' || (matches!(c, 'r' | 'b') && starts_literal(&chars, i)) {
            let start_line = line;
            let mut j = i;
            while chars[j] != '"' && chars[j] != '#' {
                j += 1; // the prefix: r, b, br
            }
            let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
            let raw = c == 'r' || at(i + 1) == Some('r');
            j += hashes + 1; // past the opening quote
            let mut text = String::new();
            while let Some(d) = at(j) {
                if d == '\\' && !raw {
                    text.push(d);
                    if let Some(e) = at(j + 1) {
                        text.push(e);
                        line += usize::from(e == '\n');
                    }
                    j += 2;
                    continue;
                }
                if d == '"'
                    && chars[j + 1..].iter().take(hashes).all(|&h| h == '#')
                    && j + hashes < chars.len()
                {
                    j += 1 + hashes;
                    break;
                }
                line += usize::from(d == '\n');
                text.push(d);
                j += 1;
            }
            out.push(Literal {
                line: start_line,
                text,
                source_line: lines.get(start_line - 1).copied().unwrap_or_default().to_string(),
            });
            i = j;
        } else if c.is_alphanumeric() || c == '_' {
            // A whole word (an identifier ending in r or b is not a raw string's prefix).
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Whether `r"`, `r#"`, `b"`, `br"` or `br#"` starts at `i` (and not inside a word).
fn starts_literal(chars: &[char], i: usize) -> bool {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return false;
    }
    let mut j = i + 1;
    if chars[i] == 'b' && chars.get(j) == Some(&'r') {
        j += 1;
    }
    let raw = chars[i] == 'r' || j == i + 2;
    while raw && chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}
