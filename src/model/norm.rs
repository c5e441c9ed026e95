//! The transformer's norm: Burn's own [`Normalization`], LayerNorm or RMSNorm over the last axis
//! as the link's `norm` says; LayerNorm runs fused on the CPU (`model::fused`).

use burn::nn::norm::Normalization;
use burn::nn::{LayerNormConfig, RmsNormConfig};
use burn::prelude::*;

use crate::knobs::gpt::Norm;
use crate::model::fused::{self, LAYER_NORM_EPS};

/// A `kind` norm over the last axis of width `d`; its forward maps [..., d] → [..., d].
pub fn norm(kind: Norm, d: usize, device: &Device) -> Normalization {
    match kind {
        Norm::Layer => LayerNormConfig::new(d)
            .with_epsilon(LAYER_NORM_EPS)
            .init(device)
            .into(),
        Norm::Rms => RmsNormConfig::new(d).init(device).into(),
    }
}

/// `n`(x): [..., d] → [..., d].
pub fn apply<const D: usize>(n: &Normalization, x: Tensor<D>) -> Tensor<D> {
    match n {
        Normalization::Layer(ln) => fused::layer_norm(ln, x),
        other => other.forward(x),
    }
}
