//! The char LM's live sample (#13): what the model writes while it trains, a few characters per
//! side-chart refresh, with the end-of-run sample's noise.

use super::sequence_views::{PROMPT, SAMPLE, Sample, sample_noise};
use crate::data::sequence::{SeqDataset, decode};

/// The most characters a live sample writes per side-chart refresh, so a whole sample takes ten.
pub const LIVE_CHUNK: usize = 16;

/// Training steps a GPU takes per live character (see [`live_chars`]).
pub const GPU_STEPS_PER_CHAR: usize = 8;

/// How many characters a live sample writes on a refresh of a frame that took `steps` training
/// steps, keeping the sample to a small share of the frame's work. Each character is one forward
/// pass on a single window. On the CPU backend that is compute-bound and cheap (measured natively
/// on the reference transformer: 2.5 ms a character against 340 ms a step), so a refresh always
/// writes [`LIVE_CHUNK`]. On a GPU a step of a model this small costs its kernel launches, and a
/// one-window forward pass launches a quarter of a step's (#32, measured on lavapipe with the
/// GPU's fused kernels: 43 of a step's 169), so a refresh writes one character per
/// [`GPU_STEPS_PER_CHAR`] `steps` (the page's runner counts those since the last refresh; a
/// character and the window the views trace are then about a tenth of the launches) and none
/// after fewer.
pub fn live_chars(steps: usize, gpu: bool) -> usize {
    if gpu {
        (steps / GPU_STEPS_PER_CHAR).min(LIVE_CHUNK)
    } else {
        LIVE_CHUNK
    }
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
    /// The live sample of a run on `ds` with `seed`, for the char LM only.
    pub fn of(ds: &SeqDataset, seed: u64) -> Option<Self> {
        if !ds.text || ds.val.n == 0 {
            return None;
        }
        let vocab = ds.vocab();
        Some(Self {
            prompt: ds.val.row(0)[..PROMPT.min(ds.val.t)].to_vec(),
            noise: sample_noise(seed, vocab),
            vocab,
            written: Vec::new(),
            steps: (0, 0),
            queued_at: 0,
            symbols: ds.symbols.clone(),
        })
    }

    /// What the next `chars` characters (at least one) continue and their draws, for the model
    /// as it is after `step` steps (a whole sample written, the next one starts over): the
    /// context tokens, the Gumbel draws [n·vocab] and n ≤ chars. The run's trainer queues them
    /// (`Training::sample`).
    pub fn next(&mut self, chars: usize, step: usize) -> (Vec<i64>, Vec<f32>, usize) {
        if self.written.len() >= SAMPLE {
            self.written.clear();
        }
        let done = self.written.len();
        let n = chars.clamp(1, SAMPLE - done);
        let noise = self.noise[done * self.vocab..(done + n) * self.vocab].to_vec();
        let context: Vec<i64> = self.prompt.iter().chain(&self.written).copied().collect();
        self.queued_at = step;
        (context, noise, n)
    }

    /// Takes the values read back for the chunk [`LiveSample::next`] gave last.
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
            live: true,
        })
    }
}
