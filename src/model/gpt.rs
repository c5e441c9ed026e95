//! The transformer family (#13): a decoder-only GPT built from Burn's modules — token embedding,
//! learned positions or RoPE, pre-norm residual blocks of causal multi-head attention and an MLP,
//! a final norm and a tied or untied readout.
//!
//! Linear layers are named as peft's `target_modules` would see them, so the knobs address them by
//! name and role: `block.{i}.attn.{q,k,v,o}`, `block.{i}.mlp.{fc,proj}`, `readout`. Weights are
//! drawn from tinytune's seeded generator, so a link replays the same model on every backend.
//!
//! Attention logits are q·k scaled by `attn_scale`: 1/√d_head under SP, 1/d_head under μP
//! (Tensor Programs V), set by the caller.

use burn::module::{Module, Param};
use burn::nn::{
    Embedding, LayerNorm, LayerNormConfig, Linear, RmsNorm, RmsNormConfig, RotaryEncoding,
    RotaryEncodingConfig,
};
use burn::prelude::*;
use burn::tensor::activation;

use super::init::seeded_linear;
use crate::data::Rng;
use crate::knobs::gpt::{GptConfig, Norm, Pos};

/// LayerNorm or RMSNorm over the last axis (one of the two is set).
#[derive(Module, Debug)]
pub struct NormLayer {
    layer: Option<LayerNorm>,
    rms: Option<RmsNorm>,
}

impl NormLayer {
    fn new(kind: Norm, d: usize, device: &Device) -> Self {
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
    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match (&self.layer, &self.rms) {
            (Some(n), _) => n.forward(x),
            (None, Some(n)) => n.forward(x),
            (None, None) => x,
        }
    }
}

/// Causal multi-head self-attention with its four projections.
#[derive(Module, Debug)]
pub struct Attention {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    /// Per-head norms on queries and keys (qk-layernorm), when on.
    q_norm: Option<NormLayer>,
    k_norm: Option<NormLayer>,
    heads: usize,
    scale: f64,
}

/// What one attention layer saw, for the instability views: the largest logit (after scaling).
pub struct AttentionTrace {
    /// [1]: max over batch, heads and positions of the scaled, unmasked logits.
    pub max_logit: Tensor<1>,
}

impl Attention {
    /// x: [batch, time, d] → [batch, time, d]. `rope` rotates queries and keys per head.
    fn forward(
        &self,
        x: Tensor<3>,
        rope: Option<&RotaryEncoding>,
        trace: Option<&mut Vec<AttentionTrace>>,
    ) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let h = self.heads;
        let dh = d / h;
        // [b, t, d] → [b, h, t, dh]
        let split = |y: Tensor<3>| y.reshape([b, t, h, dh]).swap_dims(1, 2);
        let mut q = split(self.q.forward(x.clone()));
        let mut k = split(self.k.forward(x.clone()));
        let v = split(self.v.forward(x));
        if let (Some(qn), Some(kn)) = (&self.q_norm, &self.k_norm) {
            q = qn.forward(q);
            k = kn.forward(k);
        }
        if let Some(r) = rope {
            q = r.forward(q);
            k = r.forward(k);
        }
        // [b, h, t, t]: position i attends to j ≤ i only.
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(self.scale);
        // `tril_mask` is true outside the lower triangle (diagonal kept): exactly the future.
        let future = Tensor::<2, Bool>::tril_mask([t, t], 0, &scores.device())
            .reshape([1, 1, t, t])
            .expand([b, h, t, t]);
        if let Some(trace) = trace {
            let seen = scores.clone().mask_fill(future.clone(), f32::NEG_INFINITY);
            trace.push(AttentionTrace {
                max_logit: seen.max().reshape([1]),
            });
        }
        let probs = activation::softmax(scores.mask_fill(future, f32::NEG_INFINITY), 3);
        // [b, h, t, dh] → [b, t, d]
        let out = probs.matmul(v).swap_dims(1, 2).reshape([b, t, d]);
        self.o.forward(out)
    }
}

/// Pre-norm residual block: h ← h + attn(norm(h)); h ← h + mlp(norm(h)).
#[derive(Module, Debug)]
pub struct Block {
    norm1: NormLayer,
    pub attn: Attention,
    norm2: NormLayer,
    pub fc: Linear,
    pub proj: Linear,
}

impl Block {
    /// h: [batch, time, d] → [batch, time, d].
    fn forward(
        &self,
        h: Tensor<3>,
        rope: Option<&RotaryEncoding>,
        trace: Option<&mut Vec<AttentionTrace>>,
    ) -> Tensor<3> {
        let h = h.clone() + self.attn.forward(self.norm1.forward(h), rope, trace);
        let m = self
            .proj
            .forward(activation::gelu(self.fc.forward(self.norm2.forward(h.clone()))));
        h + m
    }
}

/// The decoder-only transformer.
#[derive(Module, Debug)]
pub struct Gpt {
    pub embed: Embedding,
    /// Learned positions [ctx, d], when `pos=learned`.
    pub pos: Option<Embedding>,
    rope: Option<RotaryEncoding>,
    pub blocks: Vec<Block>,
    norm: NormLayer,
    /// Untied readout d → vocab; `None` when tied to the embedding.
    pub readout: Option<Linear>,
    vocab: usize,
}

impl Gpt {
    /// A `blocks`-block model of width `width` over a `vocab`-token alphabet. Linear weights
    /// start at N(0, 1/fan_in), biases at 0, embeddings at N(0, 1); `attn_scale` multiplies the
    /// attention logits (1/√d_head for SP).
    pub fn new(
        cfg: &GptConfig,
        vocab: usize,
        width: usize,
        blocks: usize,
        attn_scale: f64,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        let d = width;
        let dh = cfg.head_dim(d);
        let std = |fan_in: usize| 1.0 / (fan_in.max(1) as f64).sqrt();
        let hidden = cfg.mlp_ratio * d;
        let blocks = (0..blocks)
            .map(|_| Block {
                norm1: NormLayer::new(cfg.norm, d, device),
                attn: Attention {
                    q: seeded_linear(d, d, std(d), rng, device),
                    k: seeded_linear(d, d, std(d), rng, device),
                    v: seeded_linear(d, d, std(d), rng, device),
                    o: seeded_linear(d, d, std(d), rng, device),
                    q_norm: cfg.qk_norm.then(|| NormLayer::new(cfg.norm, dh, device)),
                    k_norm: cfg.qk_norm.then(|| NormLayer::new(cfg.norm, dh, device)),
                    heads: cfg.heads,
                    scale: attn_scale,
                },
                norm2: NormLayer::new(cfg.norm, d, device),
                fc: seeded_linear(d, hidden, std(d), rng, device),
                proj: seeded_linear(hidden, d, std(hidden), rng, device),
            })
            .collect();
        Self {
            embed: seeded_embedding(vocab, d, 1.0, rng, device),
            pos: (cfg.pos == Pos::Learned).then(|| seeded_embedding(cfg.ctx, d, 1.0, rng, device)),
            rope: (cfg.pos == Pos::Rope).then(|| RotaryEncodingConfig::new(cfg.ctx, dh).init(device)),
            blocks,
            norm: NormLayer::new(cfg.norm, d, device),
            readout: (!cfg.tied).then(|| seeded_linear(d, vocab, std(d), rng, device)),
            vocab,
        }
    }

    /// Tokens: [batch, time] → logits: [batch, time, vocab].
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        self.forward_traced(tokens, None)
    }

    /// As [`forward`](Self::forward), recording each attention layer's largest logit.
    pub fn forward_traced(
        &self,
        tokens: Tensor<2, Int>,
        mut trace: Option<&mut Vec<AttentionTrace>>,
    ) -> Tensor<3> {
        let [b, t] = tokens.dims();
        let device = tokens.device();
        // [b, t, d]
        let mut h = self.embed.forward(tokens);
        if let Some(pos) = &self.pos {
            let positions = Tensor::<1, Int>::arange(0..t as i64, &device).reshape([1, t]);
            let [_, _, d] = h.dims();
            h = h + pos.forward(positions).expand([b, t, d]);
        }
        for block in &self.blocks {
            h = block.forward(h, self.rope.as_ref(), trace.as_deref_mut());
        }
        let h = self.norm.forward(h);
        match &self.readout {
            Some(r) => r.forward(h),
            None => {
                // Tied: logits = h · Eᵀ, E: [vocab, d].
                let [_, _, d] = h.dims();
                let e = self.embed.weight.val();
                h.reshape([b * t, d])
                    .matmul(e.transpose())
                    .reshape([b, t, self.vocab])
            }
        }
    }

    /// Every linear layer with its name, in forward order (what LoRA and quantization address).
    pub fn layers(&self) -> Vec<(String, &Linear)> {
        let mut out = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            let a = &b.attn;
            for (part, l) in [
                ("attn.q", &a.q),
                ("attn.k", &a.k),
                ("attn.v", &a.v),
                ("attn.o", &a.o),
            ] {
                out.push((format!("block.{i}.{part}"), l));
            }
            out.push((format!("block.{i}.mlp.fc"), &b.fc));
            out.push((format!("block.{i}.mlp.proj"), &b.proj));
        }
        if let Some(r) = &self.readout {
            out.push(("readout".to_string(), r));
        }
        out
    }

    pub fn parameter_count(&self) -> usize {
        self.num_params()
    }
}

/// An embedding table [n, d] drawn from N(0, std²) with tinytune's generator.
fn seeded_embedding(n: usize, d: usize, std: f64, rng: &mut Rng, device: &Device) -> Embedding {
    let w: Vec<f32> = (0..n * d).map(|_| (rng.normal() * std) as f32).collect();
    Embedding {
        weight: Param::from_tensor(Tensor::<2>::from_data(TensorData::new(w, [n, d]), device)),
    }
}
