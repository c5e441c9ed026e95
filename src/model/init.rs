//! Seeded parameter init shared by the model families.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;

use crate::data::Rng;

/// Weights drawn on the CPU from our own seeded stream, so a seed gives the same initial model on
/// every backend (Burn's device RNGs differ between backends). Init: w ~ N(0, std²) with the std
/// μP's table gives (1/√fan_in; √m/√fan_in for a μP readout, as `set_base_shapes` rescales it;
/// 0 for a zero readout); biases zero. The draws happen even for std 0, so the knob never shifts
/// the other layers' weights.
pub fn seeded_linear(d_in: usize, d_out: usize, std: f64, rng: &mut Rng, device: &Device) -> Linear {
    let w: Vec<f32> = (0..d_in * d_out).map(|_| (rng.normal() * std) as f32).collect();
    // Burn stores linear weights as [in, out]: y = x·W + b.
    let weight = Tensor::<2>::from_data(TensorData::new(w, [d_in, d_out]), device);
    let bias = Tensor::<1>::zeros([d_out], device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
    }
}
