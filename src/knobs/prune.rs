//! Pruning at the end of a run (docs/EXPERIMENTS.md E13; link key `prune`): the trained model's
//! linear weights cut to each sparsity of [`LEVELS`] by every [`Method`] and scored on the
//! validation examples, the way PTQ scores a rounded copy. Applying it is `model::prune`.

use crate::vocab::Named;

/// The fractions of the weights (or of the fine-tuned change Δ) removed, ascending. One run
/// scores all of them, so a sweep over seeds gives every curve: the cut is post hoc and the
/// same trained model underlies each point, as in the papers' one-shot figures. 0 is the model
/// as trained; 0.99 keeps one weight in a hundred.
pub const LEVELS: [f32; 8] = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99];

/// How the weights to remove are chosen. The first three act on the weights; the last three on
/// Δ = θ_ft − θ_base, the change the adaptation phase made (they need one: `r=0` with a
/// pre-training phase, or LoRA, whose merged change is Δ).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Method {
    /// Magnitude pruning with one threshold over every layer (Han et al. 2015; the lottery
    /// ticket's "global" variant): a layer of small weights can lose most of them.
    Global,
    /// Magnitude pruning of each layer to the same sparsity.
    Layer,
    /// Each weight removed independently with probability p (no rescale): the baseline a
    /// criterion must beat.
    Random,
    /// DARE (Yu et al. 2023): each entry of Δ dropped with probability p and the rest scaled
    /// by 1/(1 − p), which keeps Δ's expectation.
    Dare,
    /// The same drops without the rescale: what the 1/(1 − p) buys.
    Drop,
    /// Magnitude pruning of Δ with one threshold over every layer: the largest changes kept.
    Delta,
}

impl Named for Method {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Method::Global, "global", "magnitude, global"),
        (Method::Layer, "layer", "magnitude, per layer"),
        (Method::Random, "random", "random"),
        (Method::Dare, "dare", "DARE on Δ (rescaled)"),
        (Method::Drop, "drop", "Δ dropped, no rescale"),
        (Method::Delta, "delta", "magnitude of Δ"),
    ];
}

impl Method {
    /// The methods on the weights, scored for every run that prunes.
    pub const WEIGHTS: [Method; 3] = [Method::Global, Method::Layer, Method::Random];
    /// The methods on Δ, scored when the run has an adaptation phase.
    pub const DELTA: [Method; 3] = [Method::Dare, Method::Drop, Method::Delta];

    /// Whether it acts on Δ rather than on the weights.
    pub fn on_delta(self) -> bool {
        Self::DELTA.contains(&self)
    }
}

/// Which weights survive the cut of a sparse run (link key `pmask`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Criterion {
    /// The largest magnitudes, one threshold over every layer.
    #[default]
    Global,
    /// The largest magnitudes of each layer, every layer to the same share.
    Layer,
    /// A random share: the control a criterion must beat.
    Random,
}

impl Named for Criterion {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Criterion::Global, "global", "magnitude, global"),
        (Criterion::Layer, "layer", "magnitude, per layer"),
        (Criterion::Random, "random", "random"),
    ];
}

impl Criterion {
    /// The end-of-run method that cuts the same way.
    pub fn method(self) -> Method {
        match self {
            Criterion::Global => Method::Global,
            Criterion::Layer => Method::Layer,
            Criterion::Random => Method::Random,
        }
    }
}

/// What the kept weights start from after the cut (link key `pfrom`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Start {
    /// Their trained values: pruning then fine-tuning (Han et al. 2015).
    #[default]
    Trained,
    /// Their values at step `prew`: the lottery ticket (Frankle & Carbin 2019 at step 0,
    /// with rewinding to an early step Frankle et al. 2020).
    Rewind,
}

impl Named for Start {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Start::Trained, "trained", "trained values (fine-tune)"),
        (Start::Rewind, "rewind", "values at step prew (lottery ticket)"),
    ];
}

/// A sparse run (link keys `pkeep`, `pat`, `pfrom`, `prew`, `pmask`, `prounds`): at step `at` the
/// linear layers' weights are cut to the share `keep` by `rule` (or, in R rounds, towards it),
/// the survivors set to their values of `from`, and training goes on with the mask held (the removed weights' gradients are zeroed,
/// and a fresh optimizer, whose moments start at zero, never moves them).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SparseConfig {
    /// Share of the weights kept; 1 = no cut.
    pub keep: f64,
    /// The step of the cut: 0 prunes the initial weights (pruning at init).
    pub at: usize,
    pub from: Start,
    /// The step whose weights `Start::Rewind` restores (0: the initial weights).
    pub rewind: usize,
    pub rule: Criterion,
    /// Cuts R (link key `prounds`): iterative magnitude pruning cuts R times, evenly spaced from
    /// step `at` on, the i-th keeping keep^(i/R) of the weights, so the last reaches `keep`
    /// (Han et al. 2015; Frankle & Carbin 2019's IMP, rewound before each round with `Rewind`).
    #[serde(default = "one")]
    pub rounds: usize,
}

fn one() -> usize {
    1
}

impl Default for SparseConfig {
    fn default() -> Self {
        Self {
            keep: 1.0,
            at: 0,
            from: Start::Trained,
            rewind: 0,
            rule: Criterion::Global,
            rounds: 1,
        }
    }
}

impl SparseConfig {
    /// Whether the run is cut at all.
    pub fn enabled(&self) -> bool {
        self.keep < 1.0
    }

    /// The sparsity of the last cut, p = 1 − keep.
    pub fn sparsity(&self) -> f32 {
        (1.0 - self.keep) as f32
    }

    /// The steps of the cuts in a run of `total` steps: `at`, then every ⌊(total − at)/R⌋.
    pub fn cuts(&self, total: usize) -> Vec<usize> {
        let rounds = self.rounds.max(1);
        let every = total.saturating_sub(self.at) / rounds;
        (0..rounds).map(|i| self.at + i * every).collect()
    }

    /// The sparsity of cut `i` (from 0) of R: 1 − keep^((i + 1)/R).
    pub fn sparsity_of(&self, i: usize) -> f32 {
        let rounds = self.rounds.max(1) as f64;
        (1.0 - self.keep.powf((i + 1) as f64 / rounds)) as f32
    }
}

/// Entries kept of `n` at sparsity `p`: ⌊(1 − p)·n⌉, the count a magnitude threshold aims at.
pub fn kept(n: usize, p: f32) -> usize {
    ((1.0 - f64::from(p)) * n as f64).round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_ascend_from_the_trained_model() {
        assert_eq!(LEVELS[0], 0.0);
        assert!(LEVELS.windows(2).all(|w| w[0] < w[1]));
        assert!(*LEVELS.last().unwrap() < 1.0);
        assert_eq!(kept(1000, 0.99), 10);
        assert_eq!(kept(7, 0.5), 4);
    }

    #[test]
    fn iterative_cuts_reach_the_share_kept_by_equal_ratios() {
        let sp = SparseConfig {
            keep: 0.008,
            at: 100,
            rounds: 3,
            ..SparseConfig::default()
        };
        assert_eq!(sp.cuts(1000), vec![100, 400, 700]);
        let kept: Vec<f64> = (0..3).map(|i| 1.0 - f64::from(sp.sparsity_of(i))).collect();
        for (k, want) in kept.iter().zip([0.2, 0.04, 0.008]) {
            assert!((k - want).abs() < 1e-6, "{kept:?}");
        }
        let one = SparseConfig {
            keep: 0.1,
            at: 5,
            ..SparseConfig::default()
        };
        assert_eq!(one.cuts(50), vec![5]);
        assert!((one.sparsity_of(0) - 0.9).abs() < 1e-6);
    }

    #[test]
    fn methods_split_into_weights_and_delta() {
        assert!(Method::WEIGHTS.iter().all(|m| !m.on_delta()));
        assert!(Method::DELTA.iter().all(|m| m.on_delta()));
        assert_eq!(Method::NAMES.len(), Method::WEIGHTS.len() + Method::DELTA.len());
    }
}
