//! The matrix-sensing task's objective (docs/EXPERIMENTS.md E11), for the factorised model
//! (`model::Factor`): its m measurements on the device, batches from the shared walk (the whole
//! set when `bs` ≥ m: plain gradient descent), the squared measurement error, and the recovery
//! error computed exactly from M*.
//!
//! Both losses are divided by ‖M*‖²_F. Training: (1/b)·Σᵢ (⟨Aᵢ, M⟩ − yᵢ)² / ‖M*‖²_F over the
//! batch. Validation: ‖M − M*‖²_F / ‖M*‖²_F, the expected training loss on fresh noiseless
//! measurements (E⟨A, Δ⟩² = ‖Δ‖²_F for Gaussian A), so a gap between the two is over-fitting the
//! m measurements. The figure draws its square root, ‖M − M*‖_F / ‖M*‖_F, as the papers do.

use burn::prelude::*;

use super::objective::{BatchLoss, Evaluation, Objective, Setup};
use crate::data::device::BatchWalk;
use crate::data::sensing::Sensing;
use crate::data::{Rng, streams};
use crate::knobs::ExperimentConfig;
use crate::knobs::quant::QuantConfig;
use crate::model::{Factor, Family};

/// The measurements on the device and the walk over them.
pub struct Measurements {
    /// Sensing matrices, flattened: [m, n·n].
    a: Tensor<2>,
    /// Measurements: [m, 1].
    y: Tensor<2>,
    /// M*: [n, n].
    target: Tensor<2>,
    /// 1 / ‖M*‖²_F.
    scale: f64,
    walk: BatchWalk,
    device: Device,
}

impl Measurements {
    /// (1/b)·Σ (⟨Aᵢ, M⟩ − yᵢ)² / ‖M*‖²_F of `model` on measurements `a` [b, n·n], `y` [b, 1]: [1].
    fn error(&self, model: &Factor, a: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        let r = model.forward(a, None) - y; // [b, 1]
        (r.clone() * r).mean().mul_scalar(self.scale)
    }
}

impl Objective for Measurements {
    type Model = Factor;
    /// Sensing matrices [b, n·n] and their measurements [b, 1].
    type Batch = (Tensor<2>, Tensor<2>);

    fn setup(
        cfg: &ExperimentConfig,
        steps: usize,
        device: &Device,
        batch_rng: &mut Rng,
    ) -> Result<Setup<Self>, String> {
        let s = Sensing::new(cfg);
        let (n, m) = (s.n, s.measurements());
        let model = Factor::new(&cfg.sensing, n, &mut Rng::stream(cfg.seed, streams::INIT), device);
        let target: Vec<f32> = s.target.iter().map(|&t| t as f32).collect();
        let objective = Self {
            a: Tensor::from_data(TensorData::new(s.a.clone(), [m, n * n]), device),
            y: Tensor::from_data(TensorData::new(s.y.clone(), [m, 1]), device),
            target: Tensor::from_data(TensorData::new(target, [n, n]), device),
            scale: 1.0 / s.norm2(),
            walk: BatchWalk::new(m, steps, batch_rng),
            device: device.clone(),
        };
        Ok(Setup { objective, model })
    }

    fn has_pending(&self) -> bool {
        false
    }

    fn switch(&mut self, _steps: usize, _device: &Device, _batch_rng: &mut Rng) {}

    fn next_batch(&mut self, batch: usize, batch_rng: &mut Rng) -> Self::Batch {
        match self.walk.next(batch, batch_rng, &self.device) {
            None => (self.a.clone(), self.y.clone()),
            Some(idx) => (
                self.a.clone().select(0, idx.clone()),
                self.y.clone().select(0, idx),
            ), // [b, n·n], [b, 1]
        }
    }

    fn rows(&self, (a, _): &Self::Batch) -> usize {
        a.dims()[0]
    }

    fn head(&self, (a, y): &Self::Batch, rows: usize) -> Self::Batch {
        let k = rows.min(a.dims()[0]);
        (a.clone().narrow(0, 0, k), y.clone().narrow(0, 0, k)) // [k, n·n], [k, 1]
    }

    fn loss(&self, _cfg: &ExperimentConfig, model: &Factor, (a, y): Self::Batch) -> BatchLoss {
        BatchLoss {
            loss: self.error(model, a, y), // [1]
            stats: None,
        }
    }

    /// ‖M − M*‖²_F / ‖M*‖²_F, and M itself for its singular values.
    fn evaluate(&self, _cfg: &ExperimentConfig, model: &Factor) -> Option<Evaluation> {
        let m = model.valid().matrix(); // [n, n]
        let [n, _] = m.dims();
        let d = m.clone() - self.target.clone().inner(); // [n, n]
        Some(Evaluation {
            loss: (d.clone() * d).sum().mul_scalar(self.scale), // [1]
            accuracy: None,
            matrix: Some(m.reshape([n * n])),
            val_acc: None,
        })
    }

    /// Refused by validation (`experiment::factor`): the factors have no width.
    fn coord(&self, _model: &Factor) -> Tensor<1> {
        Tensor::zeros([0], &self.device)
    }

    /// The recovery error of the matrix the rounded factors form.
    fn quantized_loss(
        &self,
        cfg: &ExperimentConfig,
        model: &Factor,
        q: &QuantConfig,
        native: bool,
    ) -> Option<Tensor<1>> {
        self.evaluate(cfg, &model.quantized(q, native)).map(|e| e.loss)
    }
}
