//! A sequence task's examples on the device — one run's split, or a stack's splits run after run
//! (#33) — and the rows a pass or a batch takes of them.

use burn::prelude::*;

use crate::data::sequence::Sequences as Split;

/// Splits on the device: tokens `[R·n, t]`, next tokens `[R·n, t]`, the scored mask `[R·n, t]`,
/// each of R runs' n examples in turn (R = 1 for one run).
pub(super) struct DeviceSeqs {
    pub(super) x: Tensor<2, Int>,
    pub(super) y: Tensor<2, Int>,
    pub(super) mask: Tensor<2>,
    /// Examples a run.
    pub(super) n: usize,
}

impl DeviceSeqs {
    /// The first `rows` examples of `s` (all when it has fewer).
    pub(super) fn upload(s: &Split, rows: usize, device: &Device) -> Self {
        Self::upload_runs(&[s], rows, device)
    }

    /// The first `rows` examples (all where there are fewer) of each run's split, run after run.
    pub(super) fn upload_runs(splits: &[&Split], rows: usize, device: &Device) -> Self {
        let (n, t) = (splits[0].n.min(rows), splits[0].t);
        let k = splits.len();
        let ints = |f: fn(&Split) -> &Vec<i64>| -> Vec<i64> {
            splits
                .iter()
                .flat_map(|s| f(s)[..n * t].iter().copied())
                .collect()
        };
        let mask: Vec<f32> = splits
            .iter()
            .flat_map(|s| s.mask[..n * t].iter().copied())
            .collect();
        Self {
            x: Tensor::from_data(TensorData::new(ints(|s| &s.x), [k * n, t]), device),
            y: Tensor::from_data(TensorData::new(ints(|s| &s.y), [k * n, t]), device),
            mask: Tensor::from_data(TensorData::new(mask, [k * n, t]), device),
            n,
        }
    }

    /// Rows `rows` of one run's split: ([k, t], [k, t], [k, t]).
    pub(super) fn rows(&self, rows: std::ops::Range<usize>) -> (Tensor<2, Int>, Tensor<2, Int>, Tensor<2>) {
        let (at, k) = (rows.start, rows.len());
        (
            self.x.clone().narrow(0, at, k),
            self.y.clone().narrow(0, at, k),
            self.mask.clone().narrow(0, at, k),
        )
    }

    /// Each of the `runs` runs' examples `rows`, run after run: `[runs·len, t]` each.
    pub(super) fn run_rows(
        &self,
        runs: usize,
        rows: std::ops::Range<usize>,
    ) -> (Tensor<2, Int>, Tensor<2, Int>, Tensor<2>) {
        let t = self.x.dims()[1];
        let (at, len) = (rows.start, rows.len());
        if at == 0 && len == self.n {
            return (self.x.clone(), self.y.clone(), self.mask.clone());
        }
        let part_i = |x: &Tensor<2, Int>| {
            x.clone()
                .reshape([runs, self.n, t])
                .narrow(1, at, len)
                .reshape([runs * len, t])
        };
        let mask = self.mask.clone().reshape([runs, self.n, t]).narrow(1, at, len);
        (part_i(&self.x), part_i(&self.y), mask.reshape([runs * len, t]))
    }

    /// The rows `idx` (a batch drawn by a walk), or with `None` every row.
    pub(super) fn pick(&self, idx: Option<Tensor<1, Int>>) -> (Tensor<2, Int>, Tensor<2, Int>, Tensor<2>) {
        match idx {
            None => (self.x.clone(), self.y.clone(), self.mask.clone()),
            Some(idx) => (
                self.x.clone().select(0, idx.clone()),
                self.y.clone().select(0, idx.clone()),
                self.mask.clone().select(0, idx),
            ),
        }
    }

    /// Only the runs at `idx` of the `runs` held here.
    pub(super) fn retain(&mut self, runs: usize, idx: &Tensor<1, Int>) {
        let t = self.x.dims()[1];
        let kept = idx.dims()[0];
        let pick_i = |x: &Tensor<2, Int>| {
            x.clone()
                .reshape([runs, self.n, t])
                .select(0, idx.clone())
                .reshape([kept * self.n, t])
        };
        self.x = pick_i(&self.x);
        self.y = pick_i(&self.y);
        let mask = self
            .mask
            .clone()
            .reshape([runs, self.n, t])
            .select(0, idx.clone());
        self.mask = mask.reshape([kept * self.n, t]);
    }
}
