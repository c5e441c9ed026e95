//! The sequence tasks of the transformer family (#13) as settings: which algorithmic task, its
//! length and alphabet, and modular addition's modulus and train fraction (the grokking task).
//! The char LM reads windows as long as the model's context.

/// Distinct characters of the bundled texts (`data::corpus` checks it): the char LM's alphabet.
pub const TEXT_VOCAB: usize = 80;

use crate::vocab::Named;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SeqKind {
    /// `s₁ … s_L | s₁ … s_L`: repeat the first half.
    #[default]
    Copy,
    /// `s₁ … s_L | s_L … s₁`.
    Reverse,
    /// `s₁ … s_L | sorted(s)`.
    Sort,
    /// `a + b = c` with c = (a + b) mod p (Power et al. 2022, "Grokking").
    ModAdd,
    /// Character-level language modelling on the bundled plays (`data::corpus`).
    Text,
}

impl Named for SeqKind {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (SeqKind::Copy, "copy", "copy a sequence"),
        (SeqKind::Reverse, "reverse", "reverse a sequence"),
        (SeqKind::Sort, "sort", "sort a sequence"),
        (SeqKind::ModAdd, "modadd", "a + b mod p"),
        (SeqKind::Text, "text", "character-level language modelling"),
    ];
}

/// The sequence tasks' knobs (which task is the experiment's `task`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeqConfig {
    /// Symbols per half (copy, reverse, sort).
    pub len: usize,
    /// Alphabet size (copy, reverse, sort).
    pub symbols: usize,
    /// The modulus p (modadd).
    pub modulus: usize,
    /// Share of the p² sums that train (modadd); the rest validate.
    pub train_frac: f64,
}

impl Default for SeqConfig {
    fn default() -> Self {
        Self {
            len: 8,
            symbols: 10,
            modulus: 97,
            train_frac: 0.3,
        }
    }
}

impl SeqConfig {
    /// Sums of a + b (mod p) that train: the share `train_frac` of all p², at least one and
    /// leaving at least one to validate.
    pub fn modadd_train(&self) -> usize {
        let sums = self.modulus * self.modulus;
        (((sums as f64) * self.train_frac).round() as usize).clamp(1, sums.saturating_sub(1).max(1))
    }

    /// Tokens of `kind`'s alphabet: the symbols (or residues) and the task's marks.
    pub fn vocab(&self, kind: SeqKind) -> usize {
        match kind {
            // s… then the separator.
            SeqKind::Copy | SeqKind::Reverse | SeqKind::Sort => self.symbols + 1,
            // 0 … p−1, '+', '='.
            SeqKind::ModAdd => self.modulus + 2,
            SeqKind::Text => TEXT_VOCAB,
        }
    }

    /// Tokens the model reads per example of `kind` (targets are the same shifted by one); the
    /// char LM's windows fill the context `ctx`.
    pub fn seq_len(&self, kind: SeqKind, ctx: usize) -> usize {
        match kind {
            SeqKind::Copy | SeqKind::Reverse | SeqKind::Sort => 2 * self.len,
            // a + b = → c
            SeqKind::ModAdd => 4,
            SeqKind::Text => ctx,
        }
    }
}

/// Share of a text's characters whose windows train; validation windows come from the rest.
pub const TEXT_TRAIN_SHARE: f64 = 0.9;

/// Validation tokens scored at each evaluation of an algorithmic task (256 examples of 16 tokens,
/// 1024 sums), and as many training tokens for the training accuracy: enough for a steady curve,
/// few enough that evaluating every 10 steps costs less than the steps between.
pub const VAL_TOKENS: usize = 4096;

/// Validation characters of the char LM (256 windows of 64): its loss averages correlated
/// characters, and across windows its standard error was 0.03 nats at 4,096 characters, more than
/// the width and seed differences the presets show; 16,384 halve it to 0.015 (docs/KNOBS.md §7).
/// Its training accuracy is scored on [`VAL_TOKENS`] characters. With small batches both are
/// scored less often than every 10 steps (`ExperimentConfig::eval_every`).
pub const TEXT_VAL_TOKENS: usize = 16_384;

/// Examples of `t` tokens scored in one forward pass ([`VAL_TOKENS`] tokens): validation is scored
/// in such chunks, so the char LM's larger set costs passes, not memory.
pub fn chunk_rows(t: usize) -> usize {
    (VAL_TOKENS / t.max(1)).max(1)
}

/// Validation examples of `t` tokens for task `kind`.
pub fn val_rows(kind: SeqKind, t: usize) -> usize {
    let tokens = if kind == SeqKind::Text {
        TEXT_VAL_TOKENS
    } else {
        VAL_TOKENS
    };
    (tokens / t.max(1)).max(1)
}
