//! The transformer's views (#13): one attention head's pattern on a validation example, the
//! model's answers on a few validation examples, and for the char LM a sample of generated text.
//! Queued as tensors for a readback ([`SeqProbe`], [`LiveSample`]), then decoded into plain data
//! the charts and the CLI show ([`SeqViews`]).

use burn::prelude::*;

use super::sequence::SeqTrainer;
use crate::data::sequence::decode;
use crate::data::{Rng, streams};

/// Validation examples whose answers the page shows.
pub const ANSWERS: usize = 4;
/// Characters of held-out text the sample continues.
pub const PROMPT: usize = 24;
/// Characters the sample generates.
pub const SAMPLE: usize = 160;
/// The most characters a live sample writes per side-chart refresh, so a whole sample takes ten.
pub const LIVE_CHUNK: usize = 16;

/// How many characters a live sample writes on a refresh of a frame that took `steps` training
/// steps, keeping the sample to a small share of the frame's work. Each character is one forward
/// pass on a single window. On the CPU backend that is compute-bound and cheap (measured natively
/// on the reference transformer: 2.5 ms a character against 340 ms a step), so a refresh always
/// writes [`LIVE_CHUNK`]. On a GPU a step of a model this small costs its kernel launches, and a
/// one-window forward pass launches as many kernels as a step's forward half (the backward and
/// the optimizer launch the rest), so a frame writes one character per four steps and none when
/// it took fewer than four: on a slow adapter the
/// sample waits for the end of the run.
pub fn live_chars(steps: usize, gpu: bool) -> usize {
    if gpu {
        (steps / 4).min(LIVE_CHUNK)
    } else {
        LIVE_CHUNK
    }
}

/// The Gumbel(0, 1) draws of a sample, [`SAMPLE`] rows of `vocab`, from the run's seeded stream:
/// every sample of a run (live or final) uses the same draws, so two samples differ only where
/// the weights do, and a link replays the final one on every backend.
pub fn sample_noise(seed: u64, vocab: usize) -> Vec<f32> {
    let mut rng = Rng::stream(seed, streams::SAMPLE);
    // −ln(−ln U), U in (0, 1].
    (0..SAMPLE * vocab)
        .map(|_| -(-(1.0 - rng.uniform()).ln()).ln() as f32)
        .collect()
}

/// What the views' tensors are, in queue order: the pattern [t·t], the answers' argmax
/// [rows·t], and the sample [SAMPLE] when there is one.
#[derive(Clone, Debug)]
pub struct SeqProbe {
    /// Tokens of the example the pattern is of, and the block it is from (0-based).
    pub pattern_tokens: Vec<i64>,
    pub pattern_block: usize,
    /// The shown validation examples: input tokens, next tokens and the scored mask, `t` each.
    pub rows: Vec<(Vec<i64>, Vec<i64>, Vec<f32>)>,
    /// The prompt the sample continues (the char LM, at the end of a run only), and the steps
    /// taken then.
    pub prompt: Option<Vec<i64>>,
    pub step: usize,
    /// How tokens are shown: the alphabet, and whether it is a text's characters.
    pub symbols: Vec<String>,
    pub text: bool,
}

/// One validation example as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub prompt: String,
    pub want: String,
    pub got: String,
    /// Every scored token right.
    pub exact: bool,
}

/// The views, read back and decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct SeqViews {
    /// Sequence length and the pattern row-major: `pattern[i·t + j]` is how much position i
    /// attends to j (0 for j > i).
    pub t: usize,
    pub pattern: Vec<f32>,
    /// Each position's token as text, the axis labels of the pattern.
    pub labels: Vec<String>,
    /// Which block's first head the pattern is of (0-based).
    pub block: usize,
    pub answers: Vec<Answer>,
    /// The char LM's sample: live while the run trains, the final one when it ends.
    pub sample: Option<Sample>,
}

/// A sample of the char LM as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The held-out text it continues, and what the model wrote after it.
    pub prompt: String,
    pub text: String,
    /// The steps taken when its first and its last characters were written (equal for the
    /// end-of-run sample; a live sample is written while the weights move).
    pub steps: (usize, usize),
    /// Whether all [`SAMPLE`] characters are written.
    pub done: bool,
}

/// A char-LM sample written while the model trains, [`LIVE_CHUNK`] characters per refresh; once
/// it is whole the next one starts from the same prompt with the weights of that moment.
#[derive(Clone, Debug)]
pub struct LiveSample {
    prompt: Vec<i64>,
    noise: Vec<f32>,
    vocab: usize,
    written: Vec<i64>,
    steps: (usize, usize),
    /// The step count when the chunk in flight was queued.
    queued_at: usize,
    symbols: Vec<String>,
}

impl LiveSample {
    /// The live sample of `t`'s run, for the char LM only.
    pub fn of(t: &SeqTrainer) -> Option<Self> {
        let ds = t.dataset();
        if !ds.text || ds.val.n == 0 {
            return None;
        }
        let vocab = ds.vocab();
        Some(Self {
            prompt: ds.val.row(0)[..PROMPT.min(ds.val.t)].to_vec(),
            noise: sample_noise(t.config().seed, vocab),
            vocab,
            written: Vec::new(),
            steps: (0, 0),
            queued_at: 0,
            symbols: ds.symbols.clone(),
        })
    }

    /// Queues the next `chars` characters (at least one) on `t`'s model as it is now (a whole
    /// sample written, the next one starts over): their tokens, [n ≤ chars].
    pub fn queue(&mut self, t: &SeqTrainer, chars: usize) -> Tensor<1> {
        if self.written.len() >= SAMPLE {
            self.written.clear();
        }
        let done = self.written.len();
        let n = chars.clamp(1, SAMPLE - done);
        let noise = self.noise[done * self.vocab..(done + n) * self.vocab].to_vec();
        let context: Vec<i64> = self.prompt.iter().chain(&self.written).copied().collect();
        self.queued_at = t.steps_taken();
        t.sample_tokens(&context, noise, n).float()
    }

    /// Takes the values read back for the chunk [`LiveSample::queue`] queued last.
    pub fn read(&mut self, tokens: &[f32]) {
        if self.written.is_empty() {
            self.steps.0 = self.queued_at;
        }
        self.steps.1 = self.queued_at;
        let room = SAMPLE - self.written.len();
        self.written.extend(tokens.iter().take(room).map(|&v| v as i64));
    }

    /// The sample as written so far (`None` before the first chunk is read).
    pub fn view(&self) -> Option<Sample> {
        (!self.written.is_empty()).then(|| Sample {
            prompt: decode(&self.symbols, true, &self.prompt),
            text: decode(&self.symbols, true, &self.written),
            steps: self.steps,
            done: self.written.len() >= SAMPLE,
        })
    }
}

impl SeqProbe {
    /// Decodes the values read back for this probe's tensors (in queue order).
    pub fn read(&self, values: &[Vec<f32>]) -> Option<SeqViews> {
        let mut it = values.iter();
        let pattern = it.next()?.clone();
        let argmax = it.next()?;
        let decode = |tokens: &[i64]| decode(&self.symbols, self.text, tokens);
        let one = |t: i64| decode(&[t]);
        let t = self.pattern_tokens.len();
        let answers = self
            .rows
            .iter()
            .enumerate()
            .map(|(r, (x, y, mask))| {
                let got_all: Vec<i64> = argmax[r * t..(r + 1) * t].iter().map(|&v| v as i64).collect();
                let scored: Vec<usize> = (0..t).filter(|&j| mask[j] > 0.0).collect();
                let first = scored.first().copied().unwrap_or(t);
                let want: Vec<i64> = scored.iter().map(|&j| y[j]).collect();
                let got: Vec<i64> = scored.iter().map(|&j| got_all[j]).collect();
                Answer {
                    // The tokens read before the first scored prediction, and the one it is made at.
                    prompt: decode(&x[..(first + 1).min(t)]),
                    exact: want == got,
                    want: decode(&want),
                    got: decode(&got),
                }
            })
            .collect();
        let sample = match (&self.prompt, it.next()) {
            (Some(p), Some(s)) => {
                let s: Vec<i64> = s.iter().map(|&v| v as i64).collect();
                Some(Sample {
                    prompt: decode(p),
                    text: decode(&s),
                    steps: (self.step, self.step),
                    done: true,
                })
            }
            _ => None,
        };
        Some(SeqViews {
            t,
            pattern,
            labels: self.pattern_tokens.iter().map(|&tok| one(tok)).collect(),
            block: self.pattern_block,
            answers,
            sample,
        })
    }
}
