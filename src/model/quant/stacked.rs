//! QAT for a stack of runs (#33): every run's weights fake-quantized in one pass, each at its
//! own bits, with the straight-through gradient of `quant::tensor`. The runs of a stack share
//! the format, the scales' granularity and group and the clipping rule (`experiment::stack`
//! groups them so); their bits differ, and a run at 32 bits trains in float beside the others.
//!
//! A stacked weight `[K, in, out]` is cut into the blocks `quant::tensor` cuts one run's weight
//! into, the runs' blocks one after another (`[K·blocks, len]`), and each block row is rounded at
//! its run's top integer level: a `[K·blocks, 1]` column made once per layer shape, so a step
//! uploads nothing. Every operation is per row, so each run's rounding is the one it takes alone.

use burn::prelude::*;

use super::tensor::{blocks, top_level};
use crate::knobs::quant::{Granularity, QuantConfig};

/// The stack's QAT: the shared format and, per layer shape, each block row's level.
#[derive(Clone)]
pub struct RunsQuant {
    /// The format every run rounds to (its `bits` unused: the levels carry each run's).
    cfg: QuantConfig,
    /// Each run's bits (32: it does not quantize).
    bits: Vec<u32>,
    /// 1 for a run that quantizes, 0 for one at 32 bits, `[K, 1, 1]`; `None` when all do.
    on: Option<Tensor<3>>,
    /// Per layer shape `(in, out)`: each block row's level, `[K·blocks, 1]`.
    levels: Vec<((usize, usize), Tensor<2>)>,
}

impl RunsQuant {
    /// The QAT of runs with settings `cfgs` (one a run; the same format, granularity, group and
    /// clipping) for layers of `shapes` (`[in, out]` each), on `device`; `None` when no run
    /// quantizes.
    pub fn new(cfgs: &[&QuantConfig], shapes: &[(usize, usize)], device: &Device) -> Option<Self> {
        let first = cfgs.iter().find(|c| c.enabled())?;
        let bits: Vec<u32> = cfgs.iter().map(|c| c.bits).collect();
        let on = (!cfgs.iter().all(|c| c.enabled())).then(|| {
            let v: Vec<f32> = cfgs.iter().map(|c| f32::from(u8::from(c.enabled()))).collect();
            Tensor::from_data(TensorData::new(v, [cfgs.len(), 1, 1]), device)
        });
        let mut q = Self {
            cfg: (*first).clone(),
            bits,
            on,
            levels: Vec::new(),
        };
        let mut seen: Vec<(usize, usize)> = Vec::new();
        for &shape in shapes {
            if !seen.contains(&shape) {
                seen.push(shape);
                q.levels.push((shape, q.levels_of(shape, device)));
            }
        }
        Some(q)
    }

    /// Block rows one run's `[in, out]` weight has.
    fn blocks_of(&self, (d_in, d_out): (usize, usize)) -> usize {
        match self.cfg.gran {
            Granularity::Tensor => 1,
            Granularity::Channel => d_out,
            Granularity::Group => d_out * d_in.div_ceil(self.cfg.group.max(1)),
        }
    }

    /// Each block row's level for a layer of `shape`, run after run, `[K·blocks, 1]`. A run at
    /// 32 bits takes 1 (its rounding is discarded).
    fn levels_of(&self, shape: (usize, usize), device: &Device) -> Tensor<2> {
        let b = self.blocks_of(shape);
        let v: Vec<f32> = self
            .bits
            .iter()
            .flat_map(|&bits| {
                let level = if bits < 32 {
                    top_level(self.cfg.fmt, bits)
                } else {
                    1.0
                };
                std::iter::repeat_n(level, b)
            })
            .collect();
        let n = v.len();
        Tensor::from_data(TensorData::new(v, [n, 1]), device)
    }

    /// Keeps only the runs at `idx` (`[K']`, positions in the stack; `keep` the same on the
    /// host).
    pub fn retain(&mut self, keep: &[usize], idx: &Tensor<1, Int>) {
        let runs = self.bits.len();
        self.bits = keep.iter().map(|&k| self.bits[k]).collect();
        self.on = self.on.take().map(|on| on.select(0, idx.clone()));
        for (_, levels) in &mut self.levels {
            let [rows, _] = levels.dims();
            let per_run = rows / runs.max(1);
            let kept = levels.clone().reshape([runs, per_run]).select(0, idx.clone());
            *levels = kept.reshape([keep.len() * per_run, 1]);
        }
    }

    /// Every run's `w` (`[K, in, out]`) rounded to its format at its bits and back to f32, no
    /// gradient through the rounding (`quant::tensor::fake_quant`, run by run, in one pass).
    fn fake_quant(&self, w: Tensor<3>) -> Tensor<3> {
        let [k, d_in, d_out] = w.dims();
        let device = w.device();
        let levels = self
            .levels
            .iter()
            .find(|(s, _)| *s == (d_in, d_out))
            .map(|(_, l)| l.clone())
            .expect("a level column for every layer shape");
        match self.cfg.gran {
            Granularity::Tensor => {
                let x = w.reshape([k, d_in * d_out]);
                let mask = Tensor::ones([k, d_in * d_out], &device);
                blocks(&x, &mask, &self.cfg, Some(&levels)).reshape([k, d_in, d_out])
            }
            Granularity::Channel => {
                let x = w.swap_dims(1, 2).reshape([k * d_out, d_in]); // each run's [out, in]
                let mask = Tensor::ones([k * d_out, d_in], &device);
                let q = blocks(&x, &mask, &self.cfg, Some(&levels));
                q.reshape([k, d_out, d_in]).swap_dims(1, 2)
            }
            Granularity::Group => {
                // A channel's last group padded with copies of its last input, as one run's.
                let g = self.cfg.group.max(1);
                let groups = d_in.div_ceil(g);
                let padded = groups * g;
                let t = w.swap_dims(1, 2); // [K, out, in]
                let (t, mask) = if padded > d_in {
                    let last = t.clone().narrow(2, d_in - 1, 1); // [K, out, 1]
                    let pad = last.repeat_dim(2, padded - d_in);
                    let mask = Tensor::cat(
                        vec![
                            Tensor::<3>::ones([k, d_out, d_in], &device),
                            Tensor::zeros([k, d_out, padded - d_in], &device),
                        ],
                        2,
                    );
                    (Tensor::cat(vec![t, pad], 2), mask)
                } else {
                    (t, Tensor::ones([k, d_out, d_in], &device))
                };
                let rows = k * d_out * groups;
                let q = blocks(
                    &t.reshape([rows, g]),
                    &mask.reshape([rows, g]),
                    &self.cfg,
                    Some(&levels),
                );
                q.reshape([k, d_out, padded]).narrow(2, 0, d_in).swap_dims(1, 2)
            }
        }
    }

    /// QAT's weights: each run's quantized values in the forward pass, the identity in the
    /// backward pass (w + detach(q(w) − w)); a run at 32 bits keeps w.
    pub fn straight_through(&self, w: Tensor<3>) -> Tensor<3> {
        let q = self.fake_quant(w.clone().detach());
        let delta = (q - w.clone().detach()).detach();
        match &self.on {
            Some(on) => w + delta * on.clone(),
            None => w + delta,
        }
    }
}
