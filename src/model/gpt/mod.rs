//! The transformer family (#13): a decoder-only GPT built from Burn's modules — token embedding,
//! learned positions or RoPE, pre-norm residual blocks of causal multi-head attention and an MLP,
//! a final norm and a tied or untied readout.
//!
//! Linear layers are named as peft's `target_modules` would see them, so the knobs address them by
//! name and role: `block.{i}.attn.{q,k,v,o}`, `block.{i}.mlp.{fc,proj}`, `readout`. Weights are
//! drawn from tinytune's seeded generator, so a link replays the same model on every backend.
//!
//! μP is `mup`'s Transformer recipe (its `examples/Transformer` and README): attention logits
//! q·k·√attn_mult/d_head (1/d_head up to a constant; by default √d_base/d_head, so μP's scale
//! equals SP's 1/√d_head at the base width); queries start at zero (`qzero`); the readout's input
//! is scaled by α_out/m (MuReadout) and its init follows `mup`'s table (zero with `rzero`); a tied
//! readout is `MuSharedReadout`, so the shared embedding starts at N(0, m) as `set_base_shapes`
//! leaves it; the embedding is input-like (its Adam rate does not change with width) and α_in
//! scales the input to the blocks, tokens and positions; the hidden matrices get η/m through the
//! optimizer groups (`param_specs` gives each tensor its role). Residual branches are scaled by
//! β = 1 or 1/√L (`res`, Depth-μP's branch multiplier).

use burn::module::{Module, Param};
use burn::nn::{Embedding, Linear, RotaryEncoding, RotaryEncodingConfig};
use burn::prelude::*;

mod attention;
pub mod stacked;

pub use attention::Attention;

use super::family::{Family, Layer};
use super::fused;
use super::init::seeded_linear;
use super::norm::{self, norm};
use super::trace::Trace;
use crate::data::Rng;
use crate::knobs::gpt::{GptConfig, Pos};
use crate::knobs::mup::{MupConfig, Part, Role};
use crate::knobs::quant::QuantConfig;
use crate::model::quant::tensor::{fake_quant, straight_through};
use attention::Pass;
use burn::nn::norm::Normalization;

/// Pre-norm residual block: h ← h + β·attn(norm(h)); h ← h + β·mlp(norm(h)).
#[derive(Module, Debug)]
pub struct Block {
    norm1: Normalization,
    pub attn: Attention,
    norm2: Normalization,
    pub fc: Linear,
    pub proj: Linear,
    /// β, the residual branches' multiplier (1, or 1/√L with `res=isqrt`).
    branch: f64,
}

impl Block {
    /// h: [batch, time, d] → [batch, time, d].
    fn forward(&self, h: Tensor<3>, pass: &mut Pass) -> Tensor<3> {
        if self.attn.takes_rows(&h, pass) {
            return self.forward_rows(h, pass);
        }
        let h = h.clone() + self.branch(self.attn.forward(norm::apply(&self.norm1, h), pass));
        let hidden = fused::gelu(pass.linear(&self.fc, norm::apply(&self.norm2, h.clone())));
        h + self.branch(pass.linear(&self.proj, hidden))
    }

    /// The same block in the GPU's order, h: [batch, time, d] → [batch, time, d]: the residual
    /// stream as rows [batch·time, d] throughout, so that each product's bias, GELU, β and
    /// residual add follow the product on a tensor of its shape, which Burn's fusion runs as one
    /// block (a reshape in between closes it: one kernel more each), and the attention's
    /// [`Attention::forward_rows`].
    fn forward_rows(&self, h: Tensor<3>, pass: &mut Pass) -> Tensor<3> {
        let [b, t, d] = h.dims();
        let x = h.reshape([b * t, d]);
        let attended = self
            .attn
            .forward_rows(norm::apply(&self.norm1, x.clone()), [b, t], pass);
        let x = x + self.branch(attended);
        let hidden = fused::gelu(pass.linear_rows(&self.fc, norm::apply(&self.norm2, x.clone())));
        let x = x + self.branch(pass.linear_rows(&self.proj, hidden));
        x.reshape([b, t, d])
    }

    /// y·β, the residual branch's multiplier (no operation at β = 1).
    fn branch<const D: usize>(&self, y: Tensor<D>) -> Tensor<D> {
        if self.branch == 1.0 {
            y
        } else {
            y.mul_scalar(self.branch)
        }
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
    norm: Normalization,
    /// Untied readout d → vocab; `None` when tied to the embedding.
    pub readout: Option<Linear>,
    vocab: usize,
    /// α_in on the blocks' input, token embedding plus positions (μP; 1 under SP).
    embed_mult: f64,
    /// MuReadout's α_out/m on the readout's input (1 under SP).
    readout_input_mult: f64,
    /// QAT: every linear weight is fake-quantized in the forward pass, gradients pass straight
    /// through.
    #[module(skip)]
    qat: Option<QuantConfig>,
}

/// The attention logits' scale: 1/√d_head under SP; √attn_mult/d_head under μP
/// ([`MupConfig::attention_scale`], by default with attn_mult the head width at the base width,
/// so the two agree there).
pub fn attention_scale(gpt: &GptConfig, mup: &MupConfig, width: usize) -> f64 {
    mup.attention_scale(gpt.head_dim(width), gpt.head_dim(mup.base_width))
}

impl Gpt {
    /// A `blocks`-block model of width `width` over a `vocab`-token alphabet, parameterized by
    /// `mup` (SP by default), residual branches × 1 ([`Gpt::with_branch`] sets β). Linear
    /// weights start as `mup`'s table says (N(0, 1/fan_in) under SP; queries at 0 with μP's
    /// `qzero`), biases at 0, embeddings at N(0, 1) (a tied one at N(0, m) under μP).
    pub fn new(
        cfg: &GptConfig,
        mup: &MupConfig,
        vocab: usize,
        width: usize,
        blocks: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        let d = width;
        let dh = cfg.head_dim(d);
        let attn_scale = attention_scale(cfg, mup, width);
        let std = |fan_in: usize| mup.init_std(Role::Hidden, Part::Weight, fan_in, width);
        let hidden = cfg.mlp_ratio * d;
        let blocks = (0..blocks)
            .map(|_| Block {
                norm1: norm(cfg.norm, d, device),
                attn: Attention {
                    // Drawn and then zeroed, so the other weights keep their draws.
                    q: seeded_linear(d, d, std(d), rng, device),
                    k: seeded_linear(d, d, std(d), rng, device),
                    v: seeded_linear(d, d, std(d), rng, device),
                    o: seeded_linear(d, d, std(d), rng, device),
                    q_norm: cfg.qk_norm.then(|| norm(cfg.norm, dh, device)),
                    k_norm: cfg.qk_norm.then(|| norm(cfg.norm, dh, device)),
                    heads: cfg.heads,
                    scale: attn_scale,
                },
                norm2: norm(cfg.norm, d, device),
                fc: seeded_linear(d, hidden, std(d), rng, device),
                proj: seeded_linear(hidden, d, std(hidden), rng, device),
                branch: 1.0,
            })
            .map(|mut b: Block| {
                if mup.zero_queries() {
                    b.attn.q.weight = Param::from_tensor(Tensor::zeros([d, d], device));
                }
                b
            })
            .collect();
        let embed_std = if cfg.tied {
            mup.tied_embedding_std(width)
        } else {
            1.0
        };
        Self {
            embed: seeded_embedding(vocab, d, embed_std, rng, device),
            pos: (cfg.pos == Pos::Learned).then(|| seeded_embedding(cfg.ctx, d, 1.0, rng, device)),
            rope: (cfg.pos == Pos::Rope).then(|| RotaryEncodingConfig::new(cfg.ctx, dh).init(device)),
            blocks,
            norm: norm(cfg.norm, d, device),
            readout: (!cfg.tied).then(|| {
                seeded_linear(
                    d,
                    vocab,
                    mup.init_std(Role::Readout, Part::Weight, d, width),
                    rng,
                    device,
                )
            }),
            vocab,
            embed_mult: mup.output_mult(Role::Input),
            readout_input_mult: mup.input_mult(Role::Readout, width),
            qat: None,
        }
    }

    /// The same model with its residual branches multiplied by `beta` (`res`).
    pub fn with_branch(mut self, beta: f64) -> Self {
        for b in &mut self.blocks {
            b.branch = beta;
        }
        self
    }

    /// The token embedding [vocab, d] as the forward pass uses it: under QAT with `qemb` rounded
    /// (straight-through), one scale per token's row under per-channel granularity.
    fn embedding(&self) -> Tensor<2> {
        let e = self.embed.weight.val();
        match &self.qat {
            Some(q) if q.embed => straight_through(e.transpose(), q).transpose(),
            _ => e,
        }
    }

    /// Tokens: [batch, time] → logits: [batch, time, vocab]; a trace records every linear
    /// layer's mean |output|, each attention layer's largest logit and a head's pattern.
    fn forward_traced(&self, tokens: Tensor<2, Int>, trace: Option<&mut Trace>) -> Tensor<3> {
        let mut pass = Pass {
            rope: self.rope.as_ref(),
            trace,
            qat: self.qat.as_ref(),
        };
        let [b, t] = tokens.dims();
        // [b, t, d]: the rows of the (possibly fake-quantized) embedding the tokens pick.
        let e = self.embedding();
        let [_, d] = e.dims();
        let mut h = e.clone().select(0, tokens.reshape([b * t])).reshape([b, t, d]);
        if let Some(pos) = &self.pos {
            // Positions 0..t are the table's first t rows: a view, where looking them up (an
            // arange and a gather, #32) cost the GPU three launches a forward.
            // (The whole table where the window fills the context: a narrow to every row is
            // still an operation to autodiff, whose backward zero-fills a table and copies the
            // gradient in, two launches a step on a GPU.)
            let table = pos.weight.val();
            let rows = match table.dims()[0] == t {
                true => table,
                false => table.narrow(0, 0, t),
            }
            .reshape([1, t, d]);
            h = h + rows.expand([b, t, d]);
        }
        // α_in scales what the blocks read, positions included: both are input layers.
        if self.embed_mult != 1.0 {
            h = h.mul_scalar(self.embed_mult);
        }
        if let Some(tr) = pass.trace.as_deref_mut() {
            tr.embedding(&h);
        }
        for block in &self.blocks {
            h = block.forward(h, &mut pass);
        }
        let mut h = norm::apply(&self.norm, h);
        if self.readout_input_mult != 1.0 {
            h = h.mul_scalar(self.readout_input_mult);
        }
        match &self.readout {
            Some(r) => pass.linear(r, h),
            None => {
                // Tied: logits = h · Eᵀ, E: [vocab, d].
                let y = fused::linear(h.reshape([b * t, d]), e.transpose(), None).reshape([b, t, self.vocab]);
                if let Some(tr) = pass.trace.as_deref_mut() {
                    tr.linear(&y);
                }
                y
            }
        }
    }

    /// Continues `prompt` ([1, p] tokens) by `noise.dims()[0]` tokens, each drawn from the model's
    /// next-token distribution by the Gumbel-max trick: argmax(logits + g) with g = `noise`
    /// ([n, vocab] Gumbel draws from tinytune's seeded generator, so a link replays the same
    /// sample on every backend). The window slides once it fills `ctx`. Stays on the device:
    /// returns the continuation, [n].
    pub fn sample(&self, prompt: Tensor<2, Int>, noise: Tensor<2>, ctx: usize) -> Tensor<1, Int> {
        let [n, v] = noise.dims();
        let mut tokens = prompt;
        for i in 0..n {
            let len = tokens.dims()[1];
            let w = len.min(ctx);
            let window = tokens.clone().narrow(1, len - w, w);
            // [1, w, vocab] → the last position's logits, [1, vocab]
            let last = self
                .forward_traced(window, None)
                .narrow(1, w - 1, 1)
                .reshape([1, v])
                .detach();
            let next = (last + noise.clone().narrow(0, i, 1)).argmax(1); // [1, 1]
            tokens = Tensor::cat(vec![tokens, next], 1);
        }
        let len = tokens.dims()[1];
        tokens.narrow(1, len - n, n).reshape([n])
    }
}

impl Family for Gpt {
    type Input = Tensor<2, Int>;
    type Output = Tensor<3>;

    /// Tokens: [batch, time] → logits: [batch, time, vocab] (see [`Gpt::forward_traced`]).
    fn forward(&self, tokens: Tensor<2, Int>, trace: Option<&mut Trace>) -> Tensor<3> {
        self.forward_traced(tokens, trace)
    }

    /// In forward order, with the roles `mup`'s `set_base_shapes` gives them: the embeddings
    /// input-like; each block's norms, projections `block.{i}.attn.{q,k,v,o}` and MLP
    /// `block.{i}.mlp.{fc,proj}` hidden (a norm's gain and bias are vector-like, as a hidden
    /// layer's bias); the final norm hidden; the readout readout-like. The linear layers keep
    /// the names peft's `target_modules` would see.
    fn layers(&self) -> Vec<Layer<'_>> {
        let mut out = vec![Layer::embedding("tok_embed", Role::Input, &self.embed)];
        if let Some(p) = &self.pos {
            out.push(Layer::embedding("pos_embed", Role::Input, p));
        }
        for (i, b) in self.blocks.iter().enumerate() {
            let a = &b.attn;
            let at = |part: &str| format!("block.{i}.{part}");
            out.push(Layer::norm(at("norm1"), Role::Hidden, &b.norm1));
            out.push(Layer::linear(at("attn.q"), Role::Hidden, &a.q));
            out.push(Layer::linear(at("attn.k"), Role::Hidden, &a.k));
            out.push(Layer::linear(at("attn.v"), Role::Hidden, &a.v));
            if let (Some(q), Some(k)) = (&a.q_norm, &a.k_norm) {
                out.push(Layer::norm(at("attn.q_norm"), Role::Hidden, q));
                out.push(Layer::norm(at("attn.k_norm"), Role::Hidden, k));
            }
            out.push(Layer::linear(at("attn.o"), Role::Hidden, &a.o));
            out.push(Layer::norm(at("norm2"), Role::Hidden, &b.norm2));
            out.push(Layer::linear(at("mlp.fc"), Role::Hidden, &b.fc));
            out.push(Layer::linear(at("mlp.proj"), Role::Hidden, &b.proj));
        }
        out.push(Layer::norm("final_norm", Role::Hidden, &self.norm));
        if let Some(r) = &self.readout {
            out.push(Layer::linear("readout", Role::Readout, r));
        }
        out
    }

    /// The reference rounding whatever `native` says (Burn's native path serves the MLP).
    fn quantized(&self, q: &QuantConfig, _native: bool) -> Self {
        crate::model::quant::round::rounded(self, q, &|w| fake_quant(w, q))
    }

    /// The token embedding with `qemb`, one scale per token's row (as torch quantizes
    /// `nn.Embedding`); positions stay float.
    fn extra_rounded(&self, q: &QuantConfig) -> Vec<burn::module::ParamId> {
        if q.embed {
            vec![self.embed.weight.id]
        } else {
            Vec::new()
        }
    }

    fn with_qat(mut self, q: Option<QuantConfig>) -> Self {
        self.qat = q;
        self
    }
}

/// An embedding table [n, d] drawn from N(0, std²) with tinytune's generator.
fn seeded_embedding(n: usize, d: usize, std: f64, rng: &mut Rng, device: &Device) -> Embedding {
    let w: Vec<f32> = (0..n * d).map(|_| (rng.normal() * std) as f32).collect();
    Embedding {
        weight: Param::from_tensor(Tensor::<2>::from_data(TensorData::new(w, [n, d]), device)),
    }
}
