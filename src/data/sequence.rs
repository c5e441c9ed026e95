//! Seeded sequence tasks for the transformer (#13): examples as token ids with next-token targets
//! and a mask of the positions that are scored (the answer, not the prompt), split into train and
//! validation. Drawn on the CPU from tinytune's generator, like every other data set; the char
//! LM's windows come from the bundled texts (`corpus`).

use super::corpus::{self, Source};
use std::sync::{Arc, Mutex, OnceLock};

use super::rng::{Rng, streams};
use crate::knobs::own::OwnData;
use crate::knobs::sequence::{SeqConfig, SeqKind, chunk_rows, val_rows};
use crate::knobs::task::Shift;

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
    /// Whether the tokens are characters of a text (shown joined) or task symbols (spaced).
    pub text: bool,
    /// The char LM's training text, which batches draw fresh windows from; `None` where `train`
    /// is the whole training set.
    pub windows: Option<Windows>,
}

impl SeqDataset {
    pub fn vocab(&self) -> usize {
        self.symbols.len()
    }

    /// Token ids as text, for the page's samples: characters joined, task symbols spaced.
    pub fn decode(&self, tokens: &[i64]) -> String {
        decode(&self.symbols, self.text, tokens)
    }
}

/// `tokens` in the alphabet `symbols`: characters of a text joined, task symbols spaced.
pub fn decode(symbols: &[String], text: bool, tokens: &[i64]) -> String {
    let sep = if text { "" } else { " " };
    tokens
        .iter()
        .map(|&t| symbols.get(t as usize).map_or("?", String::as_str))
        .collect::<Vec<_>>()
        .join(sep)
}

pub use crate::knobs::sequence::TEXT_TRAIN_SHARE;

/// The char LM's training text: each mini-batch draws fresh windows of `ctx` + 1 characters from
/// anywhere in it, as nanoGPT's `get_batch` does (#31), so a run never sees the same few windows
/// again and again (training on a fixed set of 256 windows memorised them: validation loss rose
/// from step 50 on).
#[derive(Clone, Debug, PartialEq)]
pub struct Windows {
    /// Shared by the runs and the batches that draw from it (the bundled plays are 0.9 M
    /// tokens); the bundled texts' or yours (`knobs::own`).
    text: Arc<[u8]>,
    ctx: usize,
}

impl Windows {
    /// Characters a window may start at.
    fn starts(&self) -> usize {
        self.text.len().saturating_sub(self.ctx + 1).max(1)
    }

    /// Characters of the training text.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// `n` windows at uniformly drawn starts (one draw of `rng` each, in order).
    pub fn draw(&self, n: usize, rng: &mut Rng) -> Sequences {
        let starts = self.starts();
        self.at((0..n).map(|_| rng.below(starts)))
    }

    /// The windows starting at `starts`; every next character is scored.
    fn at(&self, starts: impl Iterator<Item = usize>) -> Sequences {
        let mut out = Sequences::new(self.ctx);
        let mut window = Vec::with_capacity(self.ctx + 1);
        for at in starts {
            window.clear();
            let end = (at + self.ctx + 1).min(self.text.len());
            window.extend(self.text[at.min(end)..end].iter().map(|&b| i64::from(b)));
            window.resize(self.ctx + 1, 0);
            out.push(&window, 0);
        }
        out
    }

    /// `n` windows evenly spaced over the whole text, the first at its start: a fixed sample that
    /// does not depend on the seed, without overlap while the text holds `n` of them.
    fn spaced(&self, n: usize) -> Sequences {
        let stride = self.starts() as f64 / n.max(1) as f64;
        self.at((0..n).map(|i| (i as f64 * stride) as usize))
    }
}

/// Draws task `kind` (modadd: the p² sums split by `train_frac`, whatever `n`; copy, reverse and
/// sort: `n` training examples and up to `n` validation examples, none of them a training
/// example; text: the training text to draw windows of `ctx` + 1 characters from, a fixed sample
/// of training windows to score training accuracy on, and `val` windows spread over the held-out
/// text). `shift` gives the adaptation phase's task instead (`Shift::describe` says what
/// changes); the inputs are drawn from the same streams, so only the rule differs. `own` is your
/// text (#35), which the char LM trains on instead of the plays (no shift applies to it).
pub fn generate(
    kind: SeqKind,
    cfg: &SeqConfig,
    ctx: usize,
    n: usize,
    seed: u64,
    shift: Option<Shift>,
    own: Option<&OwnData>,
) -> SeqDataset {
    let val = val_rows(kind, cfg.seq_len(kind, ctx));
    match kind {
        SeqKind::ModAdd => modadd(cfg, seed, shift),
        SeqKind::Text => text(ctx, val, seed, shift, own),
        kind => algorithmic(kind, cfg, n, val.min(n), seed, shift),
    }
}

/// `n` training examples of copy, reverse or sort and `val` validation examples whose inputs
/// never occur in training (#31: drawn independently, ~18 % of them did with small alphabets).
/// Validation is drawn first — distinct inputs, at most half of all there are, so training keeps
/// at least half — and training draws again whenever it meets a held-out input.
fn algorithmic(
    kind: SeqKind,
    cfg: &SeqConfig,
    n: usize,
    val: usize,
    seed: u64,
    shift: Option<Shift>,
) -> SeqDataset {
    let sep = cfg.symbols as i64;
    let top = cfg.symbols as i64 - 1;
    let mut symbols: Vec<String> = (0..cfg.symbols).map(|s| s.to_string()).collect();
    symbols.push("|".into());
    let inputs = (cfg.symbols as u128)
        .checked_pow(cfg.len as u32)
        .unwrap_or(u128::MAX);
    let held_out = (val as u128).min(inputs / 2) as usize;
    let input = |rng: &mut Rng| -> Vec<i64> { (0..cfg.len).map(|_| rng.below(cfg.symbols) as i64).collect() };
    let example = |out: &mut Sequences, half: Vec<i64>| {
        let mut answer = half.clone();
        match (kind, shift) {
            (SeqKind::Reverse, None | Some(Shift::Flip | Shift::None))
            | (SeqKind::Copy, Some(Shift::Rotate)) => answer.reverse(),
            (SeqKind::Sort, None | Some(Shift::Flip | Shift::None)) => answer.sort_unstable(),
            (SeqKind::Sort, Some(Shift::Rotate)) => answer.sort_unstable_by(|a, b| b.cmp(a)),
            _ => {}
        }
        if shift == Some(Shift::Flip) {
            answer.iter_mut().for_each(|s| *s = top - *s);
        }
        // s₁ … s_L | a₁ … a_L: the model reads 2L tokens and predicts from the separator on.
        let mut tokens = half;
        tokens.push(sep);
        tokens.extend(answer);
        out.push(&tokens, cfg.len + 1);
    };
    let t = cfg.seq_len(kind, 0);
    let mut seen = std::collections::HashSet::new();
    let mut val_set = Sequences::new(t);
    let mut rng = Rng::stream(seed, streams::VAL_DATA);
    while seen.len() < held_out {
        let half = input(&mut rng);
        if seen.insert(half.clone()) {
            example(&mut val_set, half);
        }
    }
    let mut train = Sequences::new(t);
    let mut rng = Rng::stream(seed, streams::TRAIN_DATA);
    while train.n < n {
        let half = input(&mut rng);
        if !seen.contains(&half) {
            example(&mut train, half);
        }
    }
    SeqDataset {
        train,
        val: val_set,
        symbols,
        text: false,
        windows: None,
    }
}

/// Every sum a + b (mod p), shuffled by the seed; the first `train_frac` train, the rest validate.
/// Shifted: a − b (rotate) or p − 1 − (a + b) (flip) on the same split.
fn modadd(cfg: &SeqConfig, seed: u64, shift: Option<Shift>) -> SeqDataset {
    let p = cfg.modulus;
    let (plus, eq) = (p as i64, p as i64 + 1);
    let mut pairs: Vec<(usize, usize)> = (0..p).flat_map(|a| (0..p).map(move |b| (a, b))).collect();
    Rng::stream(seed, streams::SEQ_SPLIT).shuffle(&mut pairs);
    let cut = cfg.modadd_train();
    let answer = |a: usize, b: usize| match shift {
        None | Some(Shift::None) => (a + b) % p,
        Some(Shift::Rotate) => (a + p - b) % p,
        Some(Shift::Flip) => p - 1 - (a + b) % p,
    };
    let split = |pairs: &[(usize, usize)]| {
        let mut out = Sequences::new(cfg.seq_len(SeqKind::ModAdd, 0));
        for &(a, b) in pairs {
            // a + b = c: only c is scored.
            out.push(&[a as i64, plus, b as i64, eq, answer(a, b) as i64], 4);
        }
        out
    };
    let mut symbols: Vec<String> = (0..p).map(|v| v.to_string()).collect();
    let op = if shift == Some(Shift::Rotate) { "−" } else { "+" };
    symbols.extend([op.to_string(), "=".to_string()]);
    SeqDataset {
        train: split(&pairs[..cut]),
        val: split(&pairs[cut..]),
        symbols,
        text: false,
        windows: None,
    }
}

/// The first [`TEXT_TRAIN_SHARE`] of the text trains (fresh windows every batch, and fixed
/// windows of `knobs::sequence::VAL_TOKENS` characters drawn once for the training accuracy); `val` windows
/// evenly spread over the rest validate, the same for every seed.
fn text(ctx: usize, val: usize, seed: u64, shift: Option<Shift>, own: Option<&OwnData>) -> SeqDataset {
    let split = match own {
        Some(data) => own_split(data),
        None => {
            let source = match shift {
                None | Some(Shift::None) => Source::Shakespeare,
                Some(Shift::Rotate) => Source::Milton,
                Some(Shift::Flip) => Source::ShakespeareSwapped,
            };
            bundled_split(source)
        }
    };
    let train = Windows {
        text: split.train.clone(),
        ctx,
    };
    let held_out = Windows {
        text: split.held_out.clone(),
        ctx,
    };
    SeqDataset {
        train: train.draw(chunk_rows(ctx), &mut Rng::stream(seed, streams::TRAIN_DATA)),
        val: held_out.spaced(val),
        symbols: split.symbols.clone(),
        text: true,
        windows: Some(train),
    }
}

/// A text's tokens cut into its training and held-out parts, with its alphabet: made once and
/// shared by every run and batch that reads it (a sweep of 130 runs holds one copy).
struct TextSplit {
    train: Arc<[u8]>,
    held_out: Arc<[u8]>,
    symbols: Vec<String>,
}

fn cut(all: &[u8], symbols: Vec<String>) -> Arc<TextSplit> {
    let at = (all.len() as f64 * TEXT_TRAIN_SHARE) as usize;
    Arc::new(TextSplit {
        train: all[..at].into(),
        held_out: all[at..].into(),
        symbols,
    })
}

fn bundled_split(source: Source) -> Arc<TextSplit> {
    static SPLITS: [OnceLock<Arc<TextSplit>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = match source {
        Source::Shakespeare => 0,
        Source::Milton => 1,
        Source::ShakespeareSwapped => 2,
    };
    let make = || {
        cut(
            corpus::tokens(source),
            corpus::alphabet().iter().map(|c| c.to_string()).collect(),
        )
    };
    // Before the page's worker has the texts, nothing is cached (the trainer refuses first).
    if !corpus::loaded() {
        return make();
    }
    SPLITS[i].get_or_init(make).clone()
}

/// Your text's split, kept for the last text asked for (by its hash).
fn own_split(data: &OwnData) -> Arc<TextSplit> {
    static LAST: Mutex<Option<(String, Arc<TextSplit>)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((hash, split)) = last.as_ref()
        && hash == data.hash()
    {
        return split.clone();
    }
    let (tokens, symbols) = own_tokens(data.text().unwrap_or_default());
    let split = cut(&tokens, symbols);
    *last = Some((data.hash().to_string(), split.clone()));
    split
}

/// Your text as tokens: each character's place in its sorted alphabet (`knobs::own::alphabet`;
/// at most 128 symbols, so a byte each).
fn own_tokens(text: &str) -> (Vec<u8>, Vec<String>) {
    let alphabet = crate::knobs::own::alphabet(text);
    let tokens = text
        .chars()
        .map(|c| alphabet.binary_search(&c).unwrap_or(0) as u8)
        .collect();
    (tokens, alphabet.iter().map(|c| c.to_string()).collect())
}
