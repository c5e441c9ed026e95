//! What a traced forward pass records, for any family: the coordinate check's mean |output| of
//! every linear layer, each attention layer's largest logit (the instability proxy of Wortsman et
//! al. 2023) and one head's attention pattern. A family records what it has.

use burn::prelude::*;

/// What a traced forward saw. Every tensor stays on the device, for the one readback.
#[derive(Default)]
pub struct Trace {
    /// Whether to record `outputs` (the coordinate check).
    pub coords: bool,
    /// [1] each: mean |output| of a linear layer (after μP's multipliers, before the
    /// activation), and for the transformer also of the blocks' input (embedding and positions)
    /// and each layer's attention logits, in forward order (`ExperimentConfig::coord_names`):
    /// what `mup`'s coord check hooks.
    pub outputs: Vec<Tensor<1>>,
    /// [1] each: max over batch, heads and positions of the scaled, unmasked attention logits.
    pub max_logits: Vec<Tensor<1>>,
    /// Which attention layer's pattern to keep (0 = the first block's).
    pub pattern_of: Option<usize>,
    /// [t·t]: that layer's first head's attention probabilities on the first example, row i
    /// (a query position) over the columns j ≤ i it attends to.
    pub pattern: Option<Tensor<1>>,
    /// Attention layers seen so far in this pass.
    pub seen: usize,
}

impl Trace {
    /// Records every linear layer's mean |output| (and the attention logits, where there are).
    pub fn with_coords() -> Self {
        Self {
            coords: true,
            ..Self::default()
        }
    }

    /// Records the attention logits and block `block`'s first-head pattern.
    pub fn with_pattern(block: usize) -> Self {
        Self {
            pattern_of: Some(block),
            ..Self::default()
        }
    }

    /// A linear layer's output `y` (any shape) as the coordinate check sees it: its mean |y|.
    pub fn linear<const D: usize>(&mut self, y: &Tensor<D>) {
        if self.coords {
            self.outputs.push(y.clone().abs().mean().detach().reshape([1]));
        }
    }

    /// The transformer's embedding output (what the first block reads), [batch, time, d]: its
    /// mean |h|, as `mup`'s coord check hooks an `nn.Embedding`.
    pub fn embedding(&mut self, h: &Tensor<3>) {
        self.linear(h);
    }

    /// Attention scores [batch, heads, t, t] before the scale `scale`: the mean |scale·logit|
    /// over the positions attended to (j ≤ i), when recording coordinates.
    pub fn attention_logits(&mut self, scores: &Tensor<4>, scale: f64) {
        if self.coords {
            let [b, h, t, _] = scores.dims();
            let seen = (b * h * t * (t + 1) / 2) as f64;
            let future = crate::model::fused::future(b, h, t, &scores.device());
            let sum = scores
                .clone()
                .detach()
                .mul_scalar(scale)
                .abs()
                .mask_fill(future, 0.0)
                .sum();
            self.outputs.push(sum.div_scalar(seen).reshape([1]));
        }
    }
}
