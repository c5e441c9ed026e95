//! Scaling-law fits (docs/EXPERIMENTS.md E14): L(N) = E + A·N^(−α) through (N, L) points, as
//! Kaplan et al. (2020) and Hoffmann et al. (2022) fit loss against parameters.
//!
//! The fit minimises the squared *relative* residuals Σ ((Lᵢ − f(Nᵢ)) / Lᵢ)², close to least
//! squares on log L (the scale the figure draws) while keeping E and A linear: for a given α the
//! best (E, A) solve 2×2 weighted normal equations exactly, so only α is searched (a scan of
//! [`ALPHA_RANGE`], then golden-section refinement). E is a loss floor and kept ≥ 0: where the
//! free optimum has E < 0 the pure power law (E = 0) is fitted instead. The uncertainty is a
//! bootstrap over the points of each size (the seeds), seeded, so a figure redraws the same.

use super::Rng;

/// α is searched in this range: flatter or steeper laws than these are not resolved by a sweep
/// of a few sizes.
pub const ALPHA_RANGE: (f64, f64) = (0.02, 4.0);

/// Bootstrap resamples behind an interval.
pub const RESAMPLES: usize = 200;

/// One fit: L(N) = E + A·N^(−α).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerLaw {
    pub e: f64,
    pub a: f64,
    pub alpha: f64,
}

impl PowerLaw {
    pub fn at(&self, n: f64) -> f64 {
        self.e + self.a * n.powf(-self.alpha)
    }
}

/// Whether E is fitted (≥ 0) or held at 0 (a pure power law).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Floor {
    Fitted,
    Zero,
}

/// The best (E, A) for a fixed α and the relative residuals' sum of squares.
fn linear_part(points: &[(f64, f64)], alpha: f64, floor: Floor) -> Option<(PowerLaw, f64)> {
    // Weights 1/L²: residuals relative to each loss.
    let (mut sw, mut sx, mut sxx, mut sy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(n, l) in points {
        let (w, x) = (1.0 / (l * l), n.powf(-alpha));
        sw += w;
        sx += w * x;
        sxx += w * x * x;
        sy += w * l;
        sxy += w * x * l;
    }
    let pure = |sxx: f64, sxy: f64| (sxx > 0.0).then(|| sxy / sxx);
    let (e, a) = match floor {
        Floor::Zero => (0.0, pure(sxx, sxy)?),
        Floor::Fitted => {
            let det = sw * sxx - sx * sx;
            let free =
                (det.abs() > 1e-300).then(|| ((sy * sxx - sx * sxy) / det, (sw * sxy - sx * sy) / det));
            match free {
                Some((e, a)) if e >= 0.0 => (e, a),
                _ => (0.0, pure(sxx, sxy)?),
            }
        }
    };
    let law = PowerLaw { e, a, alpha };
    let sse = points.iter().map(|&(n, l)| ((l - law.at(n)) / l).powi(2)).sum();
    Some((law, sse))
}

/// The least-squares L = E + A·N^(−α) through `points` (N > 0, L > 0; others are ignored); `None`
/// with fewer than three distinct N.
pub fn fit(points: &[(f64, f64)], floor: Floor) -> Option<PowerLaw> {
    let points: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|&(n, l)| n > 0.0 && l > 0.0 && n.is_finite() && l.is_finite())
        .collect();
    let mut sizes: Vec<f64> = points.iter().map(|p| p.0).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    if sizes.len() < 3 {
        return None;
    }
    let cost = |alpha: f64| linear_part(&points, alpha, floor).map_or(f64::INFINITY, |(_, s)| s);
    // A scan on a log grid finds the basin; golden sections refine it.
    let (lo, hi) = (ALPHA_RANGE.0.ln(), ALPHA_RANGE.1.ln());
    // 60 steps of ×1.09 over the range, then 40 golden sections (the bracket shrinks 1e-8×):
    // the page fits on every view of a sweep, so the search is kept short.
    let grid = 60;
    let at = |i: usize| (lo + (hi - lo) * i as f64 / grid as f64).exp();
    let best = (0..=grid).min_by(|&i, &j| cost(at(i)).total_cmp(&cost(at(j))))?;
    let (mut a, mut b) = (at(best.saturating_sub(1)), at((best + 1).min(grid)));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..40 {
        let (c, d) = (b - g * (b - a), a + g * (b - a));
        if cost(c) < cost(d) {
            b = d;
        } else {
            a = c;
        }
    }
    linear_part(&points, (a + b) / 2.0, floor).map(|(law, _)| law)
}

/// The 95 % bootstrap interval of α (its 2.5th and 97.5th percentiles over [`RESAMPLES`] fits):
/// each resample draws, for every size, as many of that size's points as it has, with
/// replacement (from `seed`). With three seeds a size it is wide, and still too narrow: it
/// cannot see spread the seeds do not show.
pub fn alpha_interval(points: &[(f64, f64)], floor: Floor, seed: u64) -> Option<(f64, f64)> {
    let mut sizes: Vec<f64> = points.iter().map(|p| p.0).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    let groups: Vec<Vec<(f64, f64)>> = sizes
        .iter()
        .map(|&n| points.iter().copied().filter(|p| p.0 == n).collect())
        .collect();
    let mut rng = Rng::new(seed);
    let mut alphas: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| {
            let sample: Vec<(f64, f64)> = groups
                .iter()
                .flat_map(|g| (0..g.len()).map(|_| g[rng.below(g.len())]).collect::<Vec<_>>())
                .collect();
            fit(&sample, floor).map(|f| f.alpha)
        })
        .collect();
    if alphas.len() < RESAMPLES / 2 {
        return None;
    }
    alphas.sort_by(f64::total_cmp);
    let q = |p: f64| alphas[((alphas.len() - 1) as f64 * p).round() as usize];
    Some((q(0.025), q(0.975)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn law_points(law: PowerLaw, sizes: &[f64]) -> Vec<(f64, f64)> {
        sizes.iter().map(|&n| (n, law.at(n))).collect()
    }

    #[test]
    fn the_fit_recovers_a_known_law() {
        let sizes = [100.0, 300.0, 1e3, 3e3, 1e4, 3e4];
        for truth in [
            PowerLaw {
                e: 0.5,
                a: 20.0,
                alpha: 0.7,
            },
            PowerLaw {
                e: 1e-3,
                a: 3.0,
                alpha: 1.0,
            },
            PowerLaw {
                e: 0.0,
                a: 5.0,
                alpha: 0.3,
            },
        ] {
            let got = fit(&law_points(truth, &sizes), Floor::Fitted).unwrap();
            assert!((got.alpha - truth.alpha).abs() < 1e-4, "{got:?} vs {truth:?}");
            assert!(
                (got.e - truth.e).abs() < 1e-4 * (1.0 + truth.e),
                "{got:?} vs {truth:?}"
            );
            assert!((got.a - truth.a).abs() < 1e-3 * truth.a, "{got:?} vs {truth:?}");
        }
        // Held at E = 0: a pure power law is recovered, and a law with a floor is fitted flatter.
        let pure = PowerLaw {
            e: 0.0,
            a: 5.0,
            alpha: 0.3,
        };
        let got = fit(&law_points(pure, &sizes), Floor::Zero).unwrap();
        assert!(
            (got.alpha - 0.3).abs() < 1e-4 && (got.a - 5.0).abs() < 1e-3 && got.e == 0.0,
            "{got:?}"
        );
        let floored = law_points(
            PowerLaw {
                e: 0.5,
                a: 20.0,
                alpha: 0.7,
            },
            &sizes,
        );
        assert!(fit(&floored, Floor::Zero).unwrap().alpha < 0.5);
    }

    #[test]
    fn noisy_seeds_give_an_interval_around_the_truth() {
        let truth = PowerLaw {
            e: 0.1,
            a: 10.0,
            alpha: 0.8,
        };
        let draw = |seed: u64| {
            let mut rng = Rng::new(seed);
            let mut points = Vec::new();
            for n in [64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0] {
                for _ in 0..3 {
                    points.push((n, truth.at(n) * (1.0 + 0.03 * rng.normal())));
                }
            }
            points
        };
        // Ten noise draws: the 95 % interval holds the true α in most of them.
        let covered = (0..10)
            .filter(|&s| {
                let (lo, hi) = alpha_interval(&draw(s), Floor::Fitted, 1).unwrap();
                assert!(lo < hi, "{lo}–{hi}");
                lo <= 0.8 && 0.8 <= hi
            })
            .count();
        assert!(covered >= 7, "{covered} of 10");
        let points = draw(3);
        assert_eq!(
            alpha_interval(&points, Floor::Fitted, 1),
            alpha_interval(&points, Floor::Fitted, 1),
            "seeded"
        );
        assert!(
            fit(&points[..6], Floor::Fitted).is_none(),
            "two sizes fit nothing"
        );
    }
}
