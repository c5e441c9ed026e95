//! The transformer's norm: Burn's own [`Normalization`], LayerNorm or RMSNorm over the last axis
//! as the link's `norm` says.

use burn::nn::norm::Normalization;
use burn::nn::{LayerNormConfig, RmsNormConfig};
use burn::prelude::*;

use crate::knobs::gpt::Norm;

/// A `kind` norm over the last axis of width `d`; its forward maps [..., d] → [..., d].
pub fn norm(kind: Norm, d: usize, device: &Device) -> Normalization {
    match kind {
        Norm::Layer => LayerNormConfig::new(d).init(device).into(),
        Norm::Rms => RmsNormConfig::new(d).init(device).into(),
    }
}
