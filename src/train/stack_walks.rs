//! A stack's mini-batches (#33): each run's own walk over its own examples, from its own
//! stream as when it trains alone, drawn ahead for many steps into one index table whose rows
//! are views in place (`train::stack` for the MLP's vector tasks and the transformer's
//! fixed-example sequence tasks).

use burn::prelude::*;

use crate::data::Rng;
use crate::data::device::BatchWalk;

/// Indices one upload holds at most, as the unstacked walk's.
const MAX_AHEAD: usize = 1 << 20;
/// `i32`s in 256 bytes (see `data::device::VIEW_ALIGN`).
const ALIGN: usize = crate::data::device::VIEW_ALIGN / size_of::<i32>();

/// Every run's batches drawn ahead: a row of `K·batch` indices a step (run k's offset by k·n),
/// rows `stride` apart so each row is a view in place (both ends a multiple of 256 bytes from
/// the buffer's ends).
struct Ahead {
    idx: Tensor<1, Int>,
    /// The same indices on the host, to drop a run's from the rows not yet taken.
    host: Vec<i64>,
    stride: usize,
    rows: usize,
    taken: usize,
}

/// Rows `width` indices long are this far apart in an upload: a multiple of 256 bytes.
fn stride(width: usize) -> usize {
    width.div_ceil(ALIGN) * ALIGN
}

impl Ahead {
    /// `rows` rows of `width` indices, row r filled by `fill(r, row)`, uploaded at once.
    fn new(rows: usize, width: usize, device: &Device, mut fill: impl FnMut(usize, &mut [i64])) -> Self {
        let stride = stride(width);
        let mut v = vec![0i64; (rows - 1) * stride + width];
        for r in 0..rows {
            fill(r, &mut v[r * stride..r * stride + width]);
        }
        let len = v.len();
        Self {
            idx: Tensor::from_data(TensorData::new(v.clone(), [len]), device),
            host: v,
            stride,
            rows,
            taken: 0,
        }
    }
}

/// The runs' mini-batch walks (each from its own stream, as alone) and their batches ahead.
pub(super) struct Walks {
    walks: Vec<(BatchWalk, Rng)>,
    batch: usize,
    /// Steps the phase will still draw beyond those drawn.
    planned: usize,
    ahead: Option<Ahead>,
}

impl Walks {
    /// The runs' walks (each with the stream it draws from) for `batch`-example batches over a
    /// phase of `planned` steps.
    pub(super) fn new(walks: Vec<(BatchWalk, Rng)>, batch: usize, planned: usize) -> Self {
        Self {
            walks,
            batch,
            planned,
            ahead: None,
        }
    }

    /// Examples a run's batch takes.
    pub(super) fn batch(&self) -> usize {
        self.batch
    }

    /// Each run's batch stream, where its walk left it (the next phase's walks draw from it).
    pub(super) fn into_streams(self) -> Vec<Rng> {
        self.walks.into_iter().map(|(_, rng)| rng).collect()
    }

    /// The next `[K·batch]` rows; `None` when the batch covers the training set.
    pub(super) fn next(&mut self, n: usize, device: &Device) -> Option<Tensor<1, Int>> {
        if self.batch >= n {
            return None;
        }
        let runs = self.walks.len();
        let width = runs * self.batch;
        if self.ahead.as_ref().is_none_or(|a| a.taken == a.rows) {
            let rows = self.planned.clamp(1, (MAX_AHEAD / stride(width)).max(1));
            self.planned = self.planned.saturating_sub(rows);
            let (walks, b) = (&mut self.walks, self.batch);
            self.ahead = Some(Ahead::new(rows, width, device, |_, row| {
                for (k, (walk, rng)) in walks.iter_mut().enumerate() {
                    for (j, i) in walk.draw(b, rng).into_iter().enumerate() {
                        row[k * b + j] = i + (k * n) as i64;
                    }
                }
            }));
        }
        let a = self.ahead.as_mut().expect("batches were just drawn");
        let rows = a.idx.clone().narrow(0, a.taken * a.stride, width); // [K·batch]
        a.taken += 1;
        Some(rows)
    }

    /// Keeps only the walks of `keep` (positions among the current runs, ascending), and the
    /// batches already drawn for them, their rows renumbered for the runs left (`n` samples a
    /// run).
    pub(super) fn retain(&mut self, keep: &[usize], n: usize, device: &Device) {
        let old: Vec<_> = std::mem::take(&mut self.walks).into_iter().map(Some).collect();
        let mut old = old;
        self.walks = keep.iter().filter_map(|&k| old[k].take()).collect();
        let Some(a) = self.ahead.take() else {
            return;
        };
        let rows = a.rows - a.taken;
        if rows == 0 || keep.is_empty() {
            return;
        }
        let b = self.batch;
        self.ahead = Some(Ahead::new(rows, keep.len() * b, device, |r, row| {
            for (j, &k) in keep.iter().enumerate() {
                let from = (a.taken + r) * a.stride + k * b;
                for i in 0..b {
                    // Run k's sample s was row k·n + s; it is now row j·n + s.
                    row[j * b + i] = a.host[from + i] - (k * n) as i64 + (j * n) as i64;
                }
            }
        }));
    }
}
