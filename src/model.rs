//! The MLP. Layers are named `input`, `hidden.{i}` and `readout` so parameter paths are stable: the
//! μP and LoRA knobs select parameter groups by these names.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation;

use crate::config::{Activation, ExperimentConfig};
use crate::data::Rng;

/// Input dimension of the 2-D tasks.
pub const INPUT_DIM: usize = 2;

#[derive(Module, Debug)]
pub struct Mlp {
    pub input: Linear,
    pub hidden: Vec<Linear>,
    pub readout: Linear,
    #[module(skip)]
    pub act: Activation,
}

/// Weights drawn on the CPU from our own seeded stream, so a seed gives the same initial model on
/// every backend (Burn's device RNGs differ between backends). Init: w ~ N(0, 1/fan_in) (σ = 1
/// fan-in init, the σ/√fan_in of DESIGN.md §5), biases zero.
fn linear(d_in: usize, d_out: usize, rng: &mut Rng, device: &Device) -> Linear {
    let std = 1.0 / (d_in as f64).sqrt();
    let w: Vec<f32> = (0..d_in * d_out).map(|_| (rng.normal() * std) as f32).collect();
    // Burn stores linear weights as [in, out]: y = x·W + b.
    let weight = Tensor::<2>::from_data(TensorData::new(w, [d_in, d_out]), device);
    let bias = Tensor::<1>::zeros([d_out], device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
    }
}

impl Mlp {
    /// `depth` hidden layers of `width` units: input (d_in→w), depth−1 hidden (w→w), readout (w→classes).
    pub fn new(cfg: &ExperimentConfig, d_in: usize, classes: usize, rng: &mut Rng, device: &Device) -> Self {
        let w = cfg.width;
        Self {
            input: linear(d_in, w, rng, device),
            hidden: (1..cfg.depth).map(|_| linear(w, w, rng, device)).collect(),
            readout: linear(w, classes, rng, device),
            act: cfg.act,
        }
    }

    fn activate(&self, x: Tensor<2>) -> Tensor<2> {
        match self.act {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => activation::tanh(x),
            Activation::Gelu => activation::gelu(x),
        }
    }

    /// x: [batch, d_in] → logits: [batch, classes].
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = self.activate(self.input.forward(x)); // [batch, width]
        for layer in &self.hidden {
            h = self.activate(layer.forward(h)); // [batch, width]
        }
        self.readout.forward(h) // [batch, classes]
    }

    /// Number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        self.num_params()
    }
}
