//! The matrix-sensing task's model as settings (docs/EXPERIMENTS.md E11; link keys `fk`, `finit`,
//! `fsym`): the factorised estimate M = X·Xᵀ or F·Gᵀ of rank k and the scale it starts from. The
//! matrix it recovers is the planted task's (`dim` = n, `pr` = r*, `sv`, `noise`): M* =
//! Σ σᵢ uᵢuᵢᵀ, PSD of rank r*.

/// The factorised model of the sensing task.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SensingConfig {
    /// k: columns of each factor; `None` = n (a full-rank factorisation).
    pub rank: Option<usize>,
    /// α: the factors start with entries N(0, α²/n), so a factor's spectral norm is about
    /// α·(1 + √(k/n)): α is the scale of the start, whatever n.
    pub init: f64,
    /// M = X·Xᵀ (one factor, PSD by construction) rather than F·Gᵀ (two).
    pub symmetric: bool,
}

impl Default for SensingConfig {
    fn default() -> Self {
        Self {
            rank: None,
            init: 0.01,
            symmetric: true,
        }
    }
}

impl SensingConfig {
    /// k for an n×n matrix: the factors' columns.
    pub fn k(&self, n: usize) -> usize {
        self.rank.unwrap_or(n)
    }

    /// Number of factors: 1 for X·Xᵀ, 2 for F·Gᵀ.
    pub fn factors(&self) -> usize {
        if self.symmetric { 1 } else { 2 }
    }
}
