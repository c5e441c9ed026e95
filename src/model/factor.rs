//! The matrix-sensing task's model family (docs/EXPERIMENTS.md E11): an n×n matrix held as factors,
//! M = X·Xᵀ (symmetric, one factor `x`) or M = F·Gᵀ (asymmetric, `x` = F and `g` = G), each factor
//! [n, k]. It reads a measurement's sensing matrix, flattened, and returns ⟨A, M⟩: the
//! over-parameterised toy of LoRA's low-rank change, whose implicit bias small init reveals.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::prelude::*;

use super::family::{Family, Layer};
use super::trace::Trace;
use crate::data::Rng;
use crate::knobs::mup::Role;
use crate::knobs::quant::QuantConfig;
use crate::knobs::sensing::SensingConfig;
use crate::model::quant::tensor::{fake_quant, straight_through};

#[derive(Module, Debug)]
pub struct Factor {
    /// X (or F): [n, k], stored as a bias-free linear layer so that the knobs address it by name.
    pub x: Linear,
    /// G of F·Gᵀ: [n, k]; `None` for X·Xᵀ.
    pub g: Option<Linear>,
    #[module(skip)]
    pub qat: Option<QuantConfig>,
}

/// A bias-free [n, k] factor with entries N(0, α²/n) from `rng`.
fn factor(n: usize, k: usize, init: f64, rng: &mut Rng, device: &Device) -> Linear {
    let std = init / (n as f64).sqrt();
    let w: Vec<f32> = (0..n * k).map(|_| (rng.normal() * std) as f32).collect();
    Linear {
        weight: Param::from_tensor(Tensor::<2>::from_data(TensorData::new(w, [n, k]), device)),
        bias: None,
    }
}

impl Factor {
    /// The factors for an n×n matrix as `cfg` sets them, drawn from `rng` (X, then G).
    pub fn new(cfg: &SensingConfig, n: usize, rng: &mut Rng, device: &Device) -> Self {
        let k = cfg.k(n);
        let x = factor(n, k, cfg.init, rng, device);
        let g = (!cfg.symmetric).then(|| factor(n, k, cfg.init, rng, device));
        Self { x, g, qat: None }
    }

    /// A factor's weight as the forward uses it: through fake quantization under QAT.
    fn weight(&self, l: &Linear) -> Tensor<2> {
        match &self.qat {
            Some(q) => straight_through(l.weight.val(), q),
            None => l.weight.val(),
        }
    }

    /// M = X·Xᵀ or F·Gᵀ: [n, n].
    pub fn matrix(&self) -> Tensor<2> {
        let x = self.weight(&self.x); // [n, k]
        let g = match &self.g {
            Some(g) => self.weight(g),
            None => x.clone(),
        }; // [n, k]
        x.matmul(g.transpose())
    }
}

impl Family for Factor {
    /// Sensing matrices, flattened row-major: [batch, n·n].
    type Input = Tensor<2>;
    /// ⟨Aᵢ, M⟩: [batch, 1].
    type Output = Tensor<2>;

    fn forward(&self, a: Tensor<2>, _trace: Option<&mut Trace>) -> Tensor<2> {
        let m = self.matrix(); // [n, n]
        let [n, _] = m.dims();
        a.matmul(m.reshape([n * n, 1])) // [batch, 1]
    }

    /// The factors have no width for μP to scale: both are `Fixed`.
    fn layers(&self) -> Vec<Layer<'_>> {
        let mut out = vec![Layer::linear("x", Role::Fixed, &self.x)];
        if let Some(g) = &self.g {
            out.push(Layer::linear("g", Role::Fixed, g));
        }
        out
    }

    /// The factors rounded to `q` as any linear weight is (each stored [n, k]); M is then formed
    /// from the rounded factors.
    fn quantized(&self, q: &QuantConfig, _native: bool) -> Self {
        crate::model::quant::round::rounded(self, q, &|w| fake_quant(w, q))
    }

    fn with_qat(mut self, q: Option<QuantConfig>) -> Self {
        self.qat = q;
        self
    }
}
