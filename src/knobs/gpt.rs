//! The transformer family's shape as settings (#13): heads, context length, MLP ratio, the norm,
//! the positional encoding, and the stability toggles (qk-layernorm, z-loss). Width is the
//! experiment's `w` (d_model) and depth its `d` (blocks), as for the MLP.

use crate::vocab::Named;

/// LayerNorm (with bias) or RMSNorm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Norm {
    #[default]
    Layer,
    Rms,
}

impl Named for Norm {
    const NAMES: &'static [(Self, &'static str, &'static str)] =
        &[(Norm::Layer, "layer", "LayerNorm"), (Norm::Rms, "rms", "RMSNorm")];
}

/// Where positions come from: a learned table added to the token embedding, or rotary
/// embeddings applied to queries and keys (RoFormer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Pos {
    #[default]
    Learned,
    Rope,
}

impl Named for Pos {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Pos::Learned, "learned", "learned positions"),
        (Pos::Rope, "rope", "rotary (RoPE)"),
    ];
}

/// The widest attention head the GPU's attention kernel takes (`model::fused::cube::attention`;
/// wider heads take Burn's composition, which stores the scores): the cost model's memory
/// reads it too.
pub const KERNEL_HEAD_DIM: usize = 128;

/// The transformer's knobs besides width and depth.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GptConfig {
    /// Attention heads; d_model must be a multiple of it.
    pub heads: usize,
    /// Context length: the longest sequence the model reads.
    pub ctx: usize,
    /// Hidden width of each block's MLP, as a multiple of d_model.
    pub mlp_ratio: usize,
    pub norm: Norm,
    pub pos: Pos,
    /// LayerNorm on queries and keys per head (Dehghani et al. 2023; Wortsman et al. 2023's
    /// "small-scale proxies" fix for attention-logit growth).
    pub qk_norm: bool,
    /// Weight of the z-loss z_loss · log²Z on the output log-partition (PaLM).
    pub z_loss: f64,
    /// Readout tied to the token embedding.
    pub tied: bool,
}

impl Default for GptConfig {
    fn default() -> Self {
        Self {
            heads: 4,
            ctx: 64,
            mlp_ratio: 4,
            norm: Norm::Layer,
            pos: Pos::Learned,
            qk_norm: false,
            z_loss: 0.0,
            tied: false,
        }
    }
}

impl GptConfig {
    /// Width of one head for d_model `width`.
    pub fn head_dim(&self, width: usize) -> usize {
        width / self.heads.max(1)
    }

    /// Every linear layer as (name, in, out), in forward order: the names `model::gpt` gives
    /// them and the knobs address (`block.{i}.attn.{q,k,v,o}`, `block.{i}.mlp.{fc,proj}`,
    /// `readout` unless tied).
    pub fn linear_layers(&self, vocab: usize, width: usize, blocks: usize) -> Vec<(String, usize, usize)> {
        let (d, hidden) = (width, self.mlp_ratio * width);
        let mut out = Vec::new();
        for i in 0..blocks {
            for p in ["attn.q", "attn.k", "attn.v", "attn.o"] {
                out.push((format!("block.{i}.{p}"), d, d));
            }
            out.push((format!("block.{i}.mlp.fc"), d, hidden));
            out.push((format!("block.{i}.mlp.proj"), hidden, d));
        }
        if !self.tied {
            out.push(("readout".to_string(), d, vocab));
        }
        out
    }

    /// Parameters of a model with `width` d_model, `blocks` blocks and a `vocab`-token alphabet:
    /// embeddings, per block the four attention projections and the MLP (with biases) and two
    /// norms, the final norm and the readout.
    pub fn parameters(&self, vocab: usize, width: usize, blocks: usize) -> usize {
        let d = width;
        let hidden = self.mlp_ratio * d;
        let norm = match self.norm {
            Norm::Layer => 2 * d,
            Norm::Rms => d,
        };
        let qk = if self.qk_norm {
            2 * match self.norm {
                Norm::Layer => 2 * self.head_dim(d),
                Norm::Rms => self.head_dim(d),
            }
        } else {
            0
        };
        let pos = if self.pos == Pos::Learned { self.ctx * d } else { 0 };
        let block = 4 * (d * d + d) + (d * hidden + hidden) + (hidden * d + d) + 2 * norm + qk;
        let readout = if self.tied { 0 } else { d * vocab + vocab };
        vocab * d + pos + blocks * block + norm + readout
    }
}
