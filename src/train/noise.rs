//! The gradient noise scale (link key `gns`, docs/EXPERIMENTS.md E6; McCandlish, Kaplan, Amodei
//! et al. 2018, "An Empirical Model of Large-Batch Training", arXiv:1812.06162, Appendix A).
//!
//! With G the true gradient and Σ the per-example gradients' covariance, a batch of B examples
//! has E|g_B|² = |G|² + tr(Σ)/B. Two batch sizes B_small < B_big then give unbiased estimates
//!
//!   |G|² ≈ (B_big·|g_big|² − B_small·|g_small|²) / (B_big − B_small)
//!   tr(Σ) ≈ (|g_small|² − |g_big|²) / (1/B_small − 1/B_big)
//!
//! and the simple noise scale B_simple = tr(Σ)/|G|², which predicts the critical batch: below
//! it, doubling the batch halves the steps to a given loss; above it, it mostly wastes examples.
//! tinytune's two batches are the step's own (B_big) and its first quarter (B_small), both at the
//! step's parameters before the update, the small one's gradient from one more backward pass.
//! One step's estimates are noisy (the |G|² one can be negative), so, as the paper does, each is
//! averaged over steps (an exponential moving average) before the ratio is taken.

/// One step's two squared gradient norms and their batch sizes, read back.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NoiseSample {
    /// |g|² of the first `b_small` examples' mean loss, and of all `b_big`.
    pub small: f32,
    pub big: f32,
    pub b_small: u32,
    pub b_big: u32,
}

/// The share of the batch the small gradient is taken on.
pub const SMALL_SHARE: usize = crate::knobs::optim::GNS_SMALL_SHARE;

/// The smoothing of both estimates: an exponential moving average with this decay a step (a
/// window of about 1/(1 − β) = 20 steps).
pub const SMOOTHING: f64 = 0.95;

impl NoiseSample {
    /// This step's unbiased estimates (|G|², tr Σ); `None` when both batches are the same size.
    pub fn estimates(&self) -> Option<(f64, f64)> {
        let (bs, bb) = (f64::from(self.b_small), f64::from(self.b_big));
        if bb <= bs || bs < 1.0 {
            return None;
        }
        let (small, big) = (f64::from(self.small), f64::from(self.big));
        let g2 = (bb * big - bs * small) / (bb - bs);
        let trace = (small - big) / (1.0 / bs - 1.0 / bb);
        Some((g2, trace))
    }
}

/// B_simple along a run: for each step with a sample, (step, the training loss and B_simple),
/// both smoothed by [`SMOOTHING`] over the steps so far; B_simple is left out while the
/// smoothed |G|² is not positive.
pub fn b_simple(samples: impl IntoIterator<Item = (usize, f32, NoiseSample)>) -> Vec<(usize, f64, f64)> {
    let (mut g2, mut trace, mut loss, mut weight) = (0.0, 0.0, 0.0, 0.0);
    let mut out = Vec::new();
    for (step, train_loss, s) in samples {
        let Some((g, t)) = s.estimates() else { continue };
        if !(g.is_finite() && t.is_finite() && train_loss.is_finite()) {
            continue;
        }
        g2 = SMOOTHING * g2 + (1.0 - SMOOTHING) * g;
        trace = SMOOTHING * trace + (1.0 - SMOOTHING) * t;
        loss = SMOOTHING * loss + (1.0 - SMOOTHING) * f64::from(train_loss);
        // The averages' weights: the bias correction of a moving average started at zero (it
        // cancels in the ratio but not in the loss).
        weight = SMOOTHING * weight + (1.0 - SMOOTHING);
        if g2 > 0.0 {
            out.push((step, loss / weight, trace / g2));
        }
    }
    out
}
