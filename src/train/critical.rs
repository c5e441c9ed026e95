//! The critical batch of a batch-size sweep (docs/EXPERIMENTS.md E6 (b); McCandlish et al. 2018,
//! "An Empirical Model of Large-Batch Training", §2.2): the steps S a batch of B takes to reach a
//! target loss at its best learning rate, and the hyperbola the paper derives for them,
//!
//!   S(B) = S_min · (1 + B_crit / B),   equivalently (S/S_min − 1)(E/E_min − 1) = 1,
//!
//! with E = B·S the examples read and B_crit = E_min / S_min: well below B_crit a batch twice as
//! large halves the steps (perfect scaling), well above it the steps stay near S_min and only the
//! examples grow. B_crit is read off a sweep by fitting that law; McCandlish et al. predict it
//! with the gradient noise scale measured at the same loss (`train::noise`), which the figure
//! sets beside it.

use std::collections::BTreeMap;

use super::metrics::Run;

/// A smoothed noise scale is read only where it has averaged this many steps: its moving average
/// (`noise::SMOOTHING`, a window of about 20 steps) lags a fast-falling loss, which would bias it.
pub const SETTLED_STEPS: usize = 40;

/// The law S(B) = S_min·(1 + B_crit/B) fitted to (B, S) points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Law {
    pub s_min: f64,
    pub b_crit: f64,
}

impl Law {
    pub fn steps(&self, b: f64) -> f64 {
        self.s_min * (1.0 + self.b_crit / b)
    }

    /// E_min = S_min·B_crit: the fewest examples, reached by the smallest batches.
    pub fn e_min(&self) -> f64 {
        self.s_min * self.b_crit
    }

    /// The least-squares fit of S = a + c/B in relative error (each point weighted by 1/S², so
    /// a run of 40 steps and one of 2 count alike, as on the figure's log axis): a 2×2 linear
    /// system, solved exactly; S_min = a, B_crit = c/a. `None` with fewer than three batch sizes
    /// or where the points do not bend the way the law does (a ≤ 0 or c ≤ 0).
    pub fn fit(points: &[(f64, f64)]) -> Option<Law> {
        let pts: Vec<(f64, f64)> = points
            .iter()
            .copied()
            .filter(|&(b, s)| b > 0.0 && s > 0.0 && b.is_finite() && s.is_finite())
            .collect();
        let mut sizes: Vec<f64> = pts.iter().map(|p| p.0).collect();
        sizes.sort_by(f64::total_cmp);
        sizes.dedup();
        if sizes.len() < 3 {
            return None;
        }
        let (mut a11, mut a12, mut a22, mut r1, mut r2) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(b, s) in &pts {
            let (w, x) = (1.0 / (s * s), 1.0 / b);
            a11 += w;
            a12 += w * x;
            a22 += w * x * x;
            r1 += w * s;
            r2 += w * x * s;
        }
        let det = a11 * a22 - a12 * a12;
        if det.abs() < f64::MIN_POSITIVE {
            return None;
        }
        let a = (r1 * a22 - r2 * a12) / det;
        let c = (a11 * r2 - a12 * r1) / det;
        (a > 0.0 && c > 0.0).then(|| Law {
            s_min: a,
            b_crit: c / a,
        })
    }
}

/// McCandlish et al.'s best rate against the batch, ε(B) = ε_max / (1 + B_crit/B) (their eq.
/// 2.6, with the B_crit the steps gave): ε_max fitted to the batches' best rates by least squares
/// on log ε, which with B_crit fixed is the mean of log(ε·(1 + B_crit/B)). `None` without rates.
pub fn rate_max(batches: &[BatchSteps], b_crit: f64) -> Option<f64> {
    let logs: Vec<f64> = batches
        .iter()
        .map(|b| b.rate().ln() + (b_crit / b.batch as f64).ln_1p())
        .filter(|v| v.is_finite())
        .collect();
    (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

/// One batch size of the sweep: the steps to the target at its best rate, over the seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchSteps {
    pub batch: usize,
    /// Per seed, the fewest steps any of its runs at this batch took.
    pub steps: Vec<f64>,
    /// The learning rate of the fastest run of each seed, in the same order.
    pub rates: Vec<f64>,
}

impl BatchSteps {
    pub fn mean(&self) -> f64 {
        self.steps.iter().sum::<f64>() / self.steps.len().max(1) as f64
    }

    /// The best rates' geometric mean over the seeds (a grid of rates is even in log).
    pub fn rate(&self) -> f64 {
        let logs: f64 = self.rates.iter().map(|r| r.ln()).sum();
        (logs / self.rates.len().max(1) as f64).exp()
    }

    /// The seeds' fewest and most steps.
    pub fn range(&self) -> (f64, f64) {
        spread(&self.steps)
    }

    /// The seeds' lowest and highest best rate.
    pub fn rate_range(&self) -> (f64, f64) {
        spread(&self.rates)
    }
}

/// The lowest and highest of `v`.
fn spread(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// A batch sweep read at one target loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Critical {
    pub target: f64,
    /// Whether the target was chosen by [`auto_target`] rather than the link's `reach`.
    pub auto: bool,
    /// Every batch size that reached the target, smallest first.
    pub batches: Vec<BatchSteps>,
    /// The law fitted to every seed's points together.
    pub law: Option<Law>,
    /// B_crit fitted to each seed's points alone: its lowest and highest (the spread).
    pub seed_range: Option<(f64, f64)>,
    /// The noise scale B_simple at the target, from the runs that measured it (`gns`): the
    /// median and the quartiles over those runs, and how many.
    pub b_simple: Option<(f64, f64, f64, usize)>,
}

/// Whether `runs` are a sweep the figure can read: over the batch size, with at most the
/// learning rate and the seed swept beside it (any other knob would be mixed into "the fastest
/// run"), each evaluated every step (a planted stream: steps to a loss are not rounded to tens).
pub fn is_batch_sweep(runs: &[Run]) -> bool {
    use crate::keys::{BS, LR};
    let swept: Vec<&'static crate::keys::Key> = runs.iter().flat_map(Run::swept).collect();
    swept.contains(&&BS)
        && swept.iter().all(|k| **k == BS || **k == LR)
        && runs.iter().all(|r| r.config.eval_every() == 1)
        && batch_sizes(runs).len() >= 3
}

/// Distinct batch sizes among `runs`.
pub fn batch_sizes(runs: &[Run]) -> Vec<usize> {
    let mut b: Vec<usize> = runs.iter().map(|r| r.config.batch_examples()).collect();
    b.sort_unstable();
    b.dedup();
    b
}

/// The target an `auto` figure counts to: halfway on a log scale between where the runs start
/// (the mean first validation loss) and the lowest loss every batch size reaches (the highest of
/// the batch sizes' best losses), so every batch size has a run that gets there.
pub fn auto_target(runs: &[Run]) -> Option<f64> {
    let starts: Vec<f64> = runs
        .iter()
        .filter_map(first_val_loss)
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if starts.is_empty() {
        return None;
    }
    let start = starts.iter().sum::<f64>() / starts.len() as f64;
    let mut floor: Option<f64> = None;
    for b in batch_sizes(runs) {
        let best = runs
            .iter()
            .filter(|r| r.config.batch_examples() == b && !r.diverged)
            .filter_map(|r| r.best_val_loss().map(f64::from))
            .fold(f64::INFINITY, f64::min);
        if !best.is_finite() {
            continue;
        }
        floor = Some(floor.map_or(best, |f: f64| f.max(best)));
    }
    let floor = floor.filter(|&f| f > 0.0 && f < start)?;
    Some((start * floor).sqrt())
}

fn first_val_loss(r: &Run) -> Option<f64> {
    let from = r.adaptation_start().unwrap_or(0);
    r.reports
        .iter()
        .filter(|x| x.step >= from)
        .find_map(|x| x.val_loss)
        .map(f64::from)
}

/// The sweep read at `target` (`None`: [`auto_target`]); `None` without three batch sizes that
/// reach it after at least one update.
pub fn critical(runs: &[Run], target: Option<f64>) -> Option<Critical> {
    let auto = target.is_none();
    let target = target.or_else(|| auto_target(runs))?;
    // (batch, seed) → the fastest run's steps and rate.
    let mut fastest: BTreeMap<(usize, u64), (f64, f64)> = BTreeMap::new();
    for r in runs.iter().filter(|r| !r.diverged) {
        // S = 0 (a run that starts at or below the target) has no place on a log axis or in
        // the law.
        let Some(s) = r.steps_to(target).filter(|&s| s > 0.0) else {
            continue;
        };
        let key = (r.config.batch_examples(), r.config.seed);
        let entry = fastest.entry(key).or_insert((s, r.config.lr));
        if s < entry.0 {
            *entry = (s, r.config.lr);
        }
    }
    let mut batches: Vec<BatchSteps> = Vec::new();
    for (&(batch, _), &(s, lr)) in &fastest {
        match batches.last_mut() {
            Some(last) if last.batch == batch => {
                last.steps.push(s);
                last.rates.push(lr);
            }
            _ => batches.push(BatchSteps {
                batch,
                steps: vec![s],
                rates: vec![lr],
            }),
        }
    }
    if batches.len() < 3 {
        return None;
    }
    let points: Vec<(f64, f64)> = fastest.iter().map(|(&(b, _), &(s, _))| (b as f64, s)).collect();
    let law = Law::fit(&points);
    let mut seeds: Vec<u64> = fastest.keys().map(|k| k.1).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let per_seed: Vec<f64> = seeds
        .iter()
        .filter_map(|&seed| {
            let pts: Vec<(f64, f64)> = fastest
                .iter()
                .filter(|(k, _)| k.1 == seed)
                .map(|(&(b, _), &(s, _))| (b as f64, s))
                .collect();
            Law::fit(&pts).map(|l| l.b_crit)
        })
        .collect();
    let seed_range = (per_seed.len() > 1).then(|| spread(&per_seed));
    Some(Critical {
        target,
        auto,
        batches,
        law,
        seed_range,
        b_simple: b_simple_at(runs, target),
    })
}

/// B_simple where each run's smoothed training loss first reaches `target`, from the runs that
/// measured it and got there after [`SETTLED_STEPS`] (all that got there where none did so late,
/// the figure's best reading then):
/// (median, lower quartile, upper quartile, runs). Quartiles rather than the range: a run whose
/// averaged |G|² is near zero at the crossing reads a huge, meaningless B_simple.
pub fn b_simple_at(runs: &[Run], target: f64) -> Option<(f64, f64, f64, usize)> {
    let crossings: Vec<(usize, f64)> = runs
        .iter()
        .filter(|r| !r.diverged)
        .filter_map(|r| {
            let from = r.adaptation_start().unwrap_or(0);
            r.noise_scale()
                .into_iter()
                .find(|&(_, loss, _)| loss <= target)
                .map(|(step, _, b)| (step - from.min(step), b))
        })
        .filter(|(_, b)| b.is_finite() && *b > 0.0)
        .collect();
    let settled: Vec<f64> = crossings
        .iter()
        .filter(|(s, _)| *s >= SETTLED_STEPS)
        .map(|c| c.1)
        .collect();
    let mut values = if settled.is_empty() {
        crossings.iter().map(|c| c.1).collect()
    } else {
        settled
    };
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some((
        quantile(&values, 0.5),
        quantile(&values, 0.25),
        quantile(&values, 0.75),
        values.len(),
    ))
}

/// The `q` quantile of sorted `v` (not empty), linear between the two nearest ranks.
fn quantile(v: &[f64], q: f64) -> f64 {
    let at = q * (v.len() - 1) as f64;
    let (i, f) = (at.floor() as usize, at.fract());
    let next = v[(i + 1).min(v.len() - 1)];
    v[i] + f * (next - v[i])
}
