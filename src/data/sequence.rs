//! Seeded sequence tasks for the transformer (#13): examples as token ids with next-token targets
//! and a mask of the positions that are scored (the answer, not the prompt), split into train and
//! validation. Drawn on the CPU from tinytune's generator, like every other data set.

use super::rng::{Rng, streams};
use crate::knobs::sequence::{SeqConfig, SeqKind};

/// Examples of one split, row-major: `x[i·t + j]` is token j of example i; `y` is `x` shifted by
/// one (the next token) and `mask` is 1 where that next token is scored.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequences {
    pub x: Vec<i64>,
    pub y: Vec<i64>,
    pub mask: Vec<f32>,
    /// Examples.
    pub n: usize,
    /// Tokens per example.
    pub t: usize,
}

impl Sequences {
    fn new(t: usize) -> Self {
        Self {
            x: Vec::new(),
            y: Vec::new(),
            mask: Vec::new(),
            n: 0,
            t,
        }
    }

    /// Appends the example whose full token string is `tokens` (t + 1 of them), scoring the
    /// predictions of tokens `answer..`.
    fn push(&mut self, tokens: &[i64], answer: usize) {
        debug_assert_eq!(tokens.len(), self.t + 1);
        self.x.extend(&tokens[..self.t]);
        self.y.extend(&tokens[1..]);
        // y[j] is token j + 1: scored when j + 1 ≥ answer.
        self.mask
            .extend((0..self.t).map(|j| if j + 1 >= answer { 1.0 } else { 0.0 }));
        self.n += 1;
    }

    /// Tokens of example `i` (its input row).
    pub fn row(&self, i: usize) -> &[i64] {
        &self.x[i * self.t..(i + 1) * self.t]
    }
}

/// A sequence task's train and validation sets and its alphabet's names.
#[derive(Clone, Debug, PartialEq)]
pub struct SeqDataset {
    pub train: Sequences,
    pub val: Sequences,
    /// What each token id is shown as.
    pub symbols: Vec<String>,
}

impl SeqDataset {
    pub fn vocab(&self) -> usize {
        self.symbols.len()
    }

    /// Token ids as text, for the page's sample of answers.
    pub fn decode(&self, tokens: &[i64]) -> String {
        tokens
            .iter()
            .map(|&t| self.symbols.get(t as usize).map_or("?", String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Draws `n` training and `n` validation examples of task `kind` (modadd: the p² sums split by
/// `train_frac`, whatever `n`).
pub fn generate(kind: SeqKind, cfg: &SeqConfig, n: usize, seed: u64) -> SeqDataset {
    match kind {
        SeqKind::ModAdd => modadd(cfg, seed),
        kind => {
            let sep = cfg.symbols as i64;
            let mut symbols: Vec<String> = (0..cfg.symbols).map(|s| s.to_string()).collect();
            symbols.push("|".into());
            let draw = |rng: &mut Rng| {
                let mut out = Sequences::new(cfg.seq_len(kind));
                for _ in 0..n {
                    let half: Vec<i64> = (0..cfg.len).map(|_| rng.below(cfg.symbols) as i64).collect();
                    let mut answer = half.clone();
                    match kind {
                        SeqKind::Reverse => answer.reverse(),
                        SeqKind::Sort => answer.sort_unstable(),
                        _ => {}
                    }
                    // s₁ … s_L | a₁ … a_L: the model reads 2L tokens and predicts from the
                    // separator on.
                    let mut tokens = half;
                    tokens.push(sep);
                    tokens.extend(answer);
                    out.push(&tokens, cfg.len + 1);
                }
                out
            };
            SeqDataset {
                train: draw(&mut Rng::stream(seed, streams::TRAIN_DATA)),
                val: draw(&mut Rng::stream(seed, streams::VAL_DATA)),
                symbols,
            }
        }
    }
}

/// Every sum a + b (mod p), shuffled by the seed; the first `train_frac` train, the rest validate.
fn modadd(cfg: &SeqConfig, seed: u64) -> SeqDataset {
    let p = cfg.modulus;
    let (plus, eq) = (p as i64, p as i64 + 1);
    let mut pairs: Vec<(usize, usize)> = (0..p).flat_map(|a| (0..p).map(move |b| (a, b))).collect();
    Rng::stream(seed, streams::SEQ_SPLIT).shuffle(&mut pairs);
    let cut = ((pairs.len() as f64) * cfg.train_frac).round() as usize;
    let cut = cut.clamp(1, pairs.len().saturating_sub(1).max(1));
    let split = |pairs: &[(usize, usize)]| {
        let mut out = Sequences::new(cfg.seq_len(SeqKind::ModAdd));
        for &(a, b) in pairs {
            let c = (a + b) % p;
            // a + b = c: only c is scored.
            out.push(&[a as i64, plus, b as i64, eq, c as i64], 4);
        }
        out
    };
    let mut symbols: Vec<String> = (0..p).map(|v| v.to_string()).collect();
    symbols.extend(["+".to_string(), "=".to_string()]);
    SeqDataset {
        train: split(&pairs[..cut]),
        val: split(&pairs[cut..]),
        symbols,
    }
}
