//! Norms: LayerNorm or RMSNorm over the last axis, one module either way (the transformer's).

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, RmsNorm, RmsNormConfig};
use burn::prelude::*;

use crate::knobs::gpt::Norm;

/// LayerNorm or RMSNorm over the last axis (one of the two is set).
#[derive(Module, Debug)]
pub struct NormLayer {
    pub layer: Option<LayerNorm>,
    pub rms: Option<RmsNorm>,
}

impl NormLayer {
    pub fn new(kind: Norm, d: usize, device: &Device) -> Self {
        match kind {
            Norm::Layer => Self {
                layer: Some(LayerNormConfig::new(d).init(device)),
                rms: None,
            },
            Norm::Rms => Self {
                layer: None,
                rms: Some(RmsNormConfig::new(d).init(device)),
            },
        }
    }

    /// x: [..., d] → [..., d].
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match (&self.layer, &self.rms) {
            (Some(n), _) => n.forward(x),
            (None, Some(n)) => n.forward(x),
            (None, None) => x,
        }
    }
}
