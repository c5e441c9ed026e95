//! The joint scaling law of parameters and data (docs/EXPERIMENTS.md E14):
//! L(N, D) = E + A·N^(−α) + B·D^(−β), Hoffmann et al.'s (2022) third approach, fitted through
//! (N, D, L) points of a sweep over a model's size and its training examples.
//!
//! As [`super::powerlaw`] fits L(N), the fit minimises the squared relative residuals
//! Σ ((Lᵢ − f) / Lᵢ)², so every loss weighs alike on the log axes the figure draws. For given
//! exponents (α, β) the law is linear in (E, A, B), each kept ≥ 0 (a floor and two terms that fall):
//! the best such triple is the best of the least-squares solves over the subsets of them left free
//! whose solution has no negative entry (with three unknowns, exact non-negative least squares). So
//! only (α, β) is searched: a log grid over [`super::powerlaw::ALPHA_RANGE`] squared, then a grid
//! that shrinks around the best cell. Hoffmann et al. minimise a Huber loss of log L with L-BFGS
//! from a grid of starts; with a few dozen points and no outliers the relative squares find the
//! same basin, and the uncertainty is again a seeded bootstrap over each cell's seeds.

use super::Rng;
use super::powerlaw::{ALPHA_RANGE, RESAMPLES};

/// One fit: L(N, D) = E + A·N^(−α) + B·D^(−β).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JointLaw {
    pub e: f64,
    pub a: f64,
    pub alpha: f64,
    pub b: f64,
    pub beta: f64,
}

impl JointLaw {
    pub fn at(&self, n: f64, d: f64) -> f64 {
        self.e + self.a * n.powf(-self.alpha) + self.b * d.powf(-self.beta)
    }
}

/// One measured loss: the model's parameters N, its training examples D, and the loss.
pub type Point = (f64, f64, f64);

/// Grid lines per exponent in the first scan, and the shrinking grids after it.
const GRID: usize = 24;
const ZOOM_ROUNDS: usize = 14;
const ZOOM_GRID: usize = 7;

/// The points reduced to what the normal equations read: each (N, D) cell's Σ 1/L² and Σ 1/L
/// (the weights 1/L² times 1 and times L), and the distinct N and D, so a trial of exponents
/// takes one power per distinct size instead of two per point (the bootstrap fits 200 times).
struct Cells {
    ns: Vec<f64>,
    ds: Vec<f64>,
    /// (index into `ns`, index into `ds`, Σ 1/L², Σ 1/L).
    cells: Vec<(usize, usize, f64, f64)>,
    count: f64,
}

impl Cells {
    fn of(points: &[Point]) -> Self {
        let (ns, ds) = (distinct(points, |p| p.0), distinct(points, |p| p.1));
        let index = |v: &[f64], x: f64| v.iter().position(|&y| y == x).unwrap_or(0);
        let mut cells: Vec<(usize, usize, f64, f64)> = Vec::new();
        for &(n, d, l) in points {
            let (i, j) = (index(&ns, n), index(&ds, d));
            match cells.iter_mut().find(|c| c.0 == i && c.1 == j) {
                Some(c) => {
                    c.2 += 1.0 / (l * l);
                    c.3 += 1.0 / l;
                }
                None => cells.push((i, j, 1.0 / (l * l), 1.0 / l)),
            }
        }
        Self {
            ns,
            ds,
            cells,
            count: points.len() as f64,
        }
    }

    /// The best non-negative (E, A, B) for fixed exponents and the relative residuals' sum of
    /// squares.
    fn linear_part(&self, alpha: f64, beta: f64) -> Option<(JointLaw, f64)> {
        let xn: Vec<f64> = self.ns.iter().map(|n| n.powf(-alpha)).collect();
        let xd: Vec<f64> = self.ds.iter().map(|d| d.powf(-beta)).collect();
        // Features (1, N^−α, D^−β) weighted by 1/L²: the normal equations of the relative residuals.
        let mut m = [[0f64; 3]; 3];
        let mut v = [0f64; 3];
        for &(i, j, sw, swl) in &self.cells {
            let x = [1.0, xn[i], xd[j]];
            for r in 0..3 {
                v[r] += swl * x[r];
                for c in 0..3 {
                    m[r][c] += sw * x[r] * x[c];
                }
            }
        }
        // The sum of squares of a solve is Σw·L² − cᵀv (normal equations), Σw·L² the count of
        // points. All three free first: where that solve has no negative entry it is the
        // constrained optimum too; else the best admissible solve over the subsets left free
        // (the others held at 0), which with three unknowns is exact non-negative least squares.
        let sse = |c: &[f64; 3]| self.count - (0..3).map(|r| c[r] * v[r]).sum::<f64>();
        let all = solve(&m, &v, &[0, 1, 2]).filter(|c| c.iter().all(|&x| x >= 0.0));
        let (c, err) = match all {
            Some(c) => (c, sse(&c)),
            None => (1u8..7)
                .filter_map(|mask| {
                    let free: Vec<usize> = (0..3).filter(|i| mask & (1 << i) != 0).collect();
                    solve(&m, &v, &free).filter(|c| c.iter().all(|&x| x >= 0.0))
                })
                .map(|c| (c, sse(&c)))
                .min_by(|a, b| a.1.total_cmp(&b.1))?,
        };
        Some((
            JointLaw {
                e: c[0],
                a: c[1],
                alpha,
                b: c[2],
                beta,
            },
            err.max(0.0),
        ))
    }
}

/// The normal equations restricted to the `free` coefficients (the others 0), by Gaussian
/// elimination with partial pivoting; `None` when singular. The features are scaled to unit
/// diagonal first (Jacobi): N^(−α) can be 1e-6 of the constant's scale at large α·ln N, and a
/// singularity test against the largest entry would refuse it.
fn solve(m: &[[f64; 3]; 3], v: &[f64; 3], free: &[usize]) -> Option<[f64; 3]> {
    let k = free.len();
    if free.iter().any(|&i| m[i][i].is_nan() || m[i][i] <= 0.0) {
        return None;
    }
    let scale: Vec<f64> = free.iter().map(|&i| m[i][i].sqrt()).collect();
    let mut a = [[0f64; 4]; 3];
    for (r, &i) in free.iter().enumerate() {
        for (c, &j) in free.iter().enumerate() {
            a[r][c] = m[i][j] / (scale[r] * scale[c]);
        }
        a[r][k] = v[i] / scale[r];
    }
    for col in 0..k {
        let pivot = (col..k).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col];
        for (r, row) in a.iter_mut().enumerate().take(k) {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (x, p) in row.iter_mut().zip(pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    let mut out = [0f64; 3];
    for (r, &i) in free.iter().enumerate() {
        out[i] = a[r][k] / a[r][r] / scale[r];
    }
    Some(out)
}

/// Distinct values of one coordinate, sorted.
pub fn distinct(points: &[Point], of: impl Fn(&Point) -> f64) -> Vec<f64> {
    let mut v: Vec<f64> = points.iter().map(of).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// The points a fit reads: N, D and L finite and positive.
fn usable(points: &[Point]) -> Vec<Point> {
    points
        .iter()
        .copied()
        .filter(|&(n, d, l)| [n, d, l].iter().all(|x| x.is_finite() && *x > 0.0))
        .collect()
}

/// The least-squares L(N, D) through `points` (N, D, L > 0; others are ignored); `None` unless
/// N and D each take at least three values (two would leave an exponent and its term's floor
/// undetermined).
pub fn fit(points: &[Point]) -> Option<JointLaw> {
    let points = usable(points);
    if distinct(&points, |p| p.0).len() < 3 || distinct(&points, |p| p.1).len() < 3 {
        return None;
    }
    let cells = Cells::of(&points);
    let cost = |a: f64, b: f64| cells.linear_part(a, b).map_or(f64::INFINITY, |(_, s)| s);
    // Search on log exponents: a coarse grid, then [`ZOOM_ROUNDS`] grids around the best point,
    // each spanning the previous one's cells either side of it, so halving: the last resolves
    // the exponents to about 1e-5 of themselves.
    let (lo, hi) = (ALPHA_RANGE.0.ln(), ALPHA_RANGE.1.ln());
    let step0 = (hi - lo) / (GRID - 1) as f64;
    let mut best = (lo, lo, f64::INFINITY);
    for i in 0..GRID {
        for j in 0..GRID {
            let (a, b) = (lo + step0 * i as f64, lo + step0 * j as f64);
            let c = cost(a.exp(), b.exp());
            if c < best.2 {
                best = (a, b, c);
            }
        }
    }
    let mut half = step0;
    for _ in 0..ZOOM_ROUNDS {
        let (ca, cb) = (best.0, best.1);
        let step = 2.0 * half / (ZOOM_GRID - 1) as f64;
        for i in 0..ZOOM_GRID {
            for j in 0..ZOOM_GRID {
                let a = (ca - half + step * i as f64).clamp(lo, hi);
                let b = (cb - half + step * j as f64).clamp(lo, hi);
                let c = cost(a.exp(), b.exp());
                if c < best.2 {
                    best = (a, b, c);
                }
            }
        }
        half = step * 1.5;
    }
    cells.linear_part(best.0.exp(), best.1.exp()).map(|(law, _)| law)
}

/// The best law with the exponents (α, β) held, and its sum of squared relative residuals: the
/// fit's profile, what the search minimises (tests check the fit against its neighbours on it).
pub fn profile(points: &[Point], alpha: f64, beta: f64) -> Option<(JointLaw, f64)> {
    Cells::of(&usable(points)).linear_part(alpha, beta)
}

/// The 95 % bootstrap intervals of α and β ([`RESAMPLES`] fits, each drawing every (N, D)
/// cell's points with replacement, from `seed`): as [`super::powerlaw::alpha_interval`], the
/// spread between seeds, and only that. A resample whose A or B is 0 leaves that exponent
/// undetermined and is not counted; fewer than half counted gives no interval.
pub fn intervals(points: &[Point], seed: u64) -> Option<((f64, f64), (f64, f64))> {
    let mut cells: Vec<Vec<Point>> = Vec::new();
    for &p in points {
        match cells.iter_mut().find(|c| c[0].0 == p.0 && c[0].1 == p.1) {
            Some(c) => c.push(p),
            None => cells.push(vec![p]),
        }
    }
    let mut rng = Rng::new(seed);
    let fits: Vec<JointLaw> = (0..RESAMPLES)
        .filter_map(|_| {
            let sample: Vec<Point> = cells
                .iter()
                .flat_map(|c| (0..c.len()).map(|_| c[rng.below(c.len())]).collect::<Vec<_>>())
                .collect();
            fit(&sample)
        })
        .collect();
    let quantiles = |mut v: Vec<f64>| {
        if v.len() < RESAMPLES / 2 {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        Some((q(0.025), q(0.975)))
    };
    Some((
        quantiles(fits.iter().filter(|f| f.a > 0.0).map(|f| f.alpha).collect())?,
        quantiles(fits.iter().filter(|f| f.b > 0.0).map(|f| f.beta).collect())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(law: JointLaw) -> Vec<Point> {
        let mut points = Vec::new();
        for n in [500.0, 1.5e3, 5e3, 1.5e4, 5e4] {
            for d in [100.0, 200.0, 400.0, 800.0, 1600.0] {
                points.push((n, d, law.at(n, d)));
            }
        }
        points
    }

    fn close(got: JointLaw, truth: JointLaw, tol: f64) -> bool {
        let near = |a: f64, b: f64| (a - b).abs() <= tol * (1.0 + b.abs());
        near(got.alpha, truth.alpha)
            && near(got.beta, truth.beta)
            && near(got.e, truth.e)
            && (got.a - truth.a).abs() <= 10.0 * tol * truth.a.max(1e-9)
            && (got.b - truth.b).abs() <= 10.0 * tol * truth.b.max(1e-9)
    }

    #[test]
    fn the_fit_recovers_a_known_law() {
        for truth in [
            JointLaw {
                e: 0.05,
                a: 8.0,
                alpha: 0.6,
                b: 4.0,
                beta: 0.8,
            },
            // Chinchilla's own fit (Hoffmann et al. 2022, eq. 10).
            JointLaw {
                e: 1.69,
                a: 406.4,
                alpha: 0.34,
                b: 410.7,
                beta: 0.28,
            },
            // A steep term, 1e-5 of the floor at the largest N: the solve must not call it
            // singular (its features are scaled to unit diagonal).
            JointLaw {
                e: 0.1,
                a: 1e6,
                alpha: 2.5,
                b: 5.0,
                beta: 0.5,
            },
            // No floor: E held at its bound 0 by the non-negative solve.
            JointLaw {
                e: 0.0,
                a: 300.0,
                alpha: 1.2,
                b: 2.0,
                beta: 0.4,
            },
        ] {
            let got = fit(&grid(truth)).unwrap();
            assert!(close(got, truth, 1e-4), "{got:?} vs {truth:?}");
        }
    }

    #[test]
    fn noisy_seeds_give_intervals_around_the_truth_and_small_sweeps_fit_nothing() {
        let truth = JointLaw {
            e: 0.05,
            a: 8.0,
            alpha: 0.6,
            b: 4.0,
            beta: 0.8,
        };
        let draw = |seed: u64| {
            let mut rng = Rng::new(seed);
            let mut points = Vec::new();
            for p in grid(truth) {
                for _ in 0..3 {
                    points.push((p.0, p.1, p.2 * (1.0 + 0.03 * rng.normal())));
                }
            }
            points
        };
        let covered = (0..6)
            .filter(|&s| {
                let ((a_lo, a_hi), (b_lo, b_hi)) = intervals(&draw(s), 1).unwrap();
                assert!(a_lo < a_hi && b_lo < b_hi);
                (a_lo..=a_hi).contains(&truth.alpha) && (b_lo..=b_hi).contains(&truth.beta)
            })
            .count();
        assert!(covered >= 4, "{covered} of 6");
        let points = draw(2);
        assert_eq!(intervals(&points, 1), intervals(&points, 1), "seeded");
        // Two data sizes (or two model sizes) leave an exponent undetermined.
        let two_d: Vec<Point> = points.iter().copied().filter(|p| p.1 <= 200.0).collect();
        let two_n: Vec<Point> = points.iter().copied().filter(|p| p.0 <= 1.5e3).collect();
        assert!(fit(&two_d).is_none() && fit(&two_n).is_none());
        assert!(fit(&points).is_some());
    }
}
