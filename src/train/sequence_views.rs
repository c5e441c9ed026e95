//! The transformer's views (#13): one attention head's pattern on a validation example, the
//! model's answers on a few validation examples, and for the char LM a sample of generated text.
//! Queued as tensors for a readback ([`SeqProbe`]; the live sample is `live_sample`'s), then decoded into plain data
//! the charts and the CLI show ([`SeqViews`]).

use crate::data::sequence::decode;
use crate::data::{Rng, streams};

/// Validation examples whose answers the page shows.
pub const ANSWERS: usize = 4;
/// Characters of held-out text the sample continues.
pub const PROMPT: usize = 24;
/// Characters the sample generates.
pub const SAMPLE: usize = 160;
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
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Answer {
    pub prompt: String,
    pub want: String,
    pub got: String,
    /// Every scored token right.
    pub exact: bool,
}

/// The views, read back and decoded.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// The held-out text it continues, and what the model wrote after it.
    pub prompt: String,
    pub text: String,
    /// The steps taken when its first and its last characters were written (equal for the
    /// end-of-run sample; a live sample is written while the weights move).
    pub steps: (usize, usize),
    /// Whether all [`SAMPLE`] characters are written.
    pub done: bool,
    /// Written while the run trains (`LiveSample`), not by the final weights at its end.
    pub live: bool,
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
                    live: false,
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
