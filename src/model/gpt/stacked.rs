//! K transformers of one shape as one model (#33), as `model::stacked` stacks the MLP: every
//! parameter with a leading run axis, so each linear layer is one batched product for all K runs,
//! each run's tokens look up its own rows of one `[K·vocab, d]` table, and the attention core is
//! the unstacked model's (`fused::causal_attention`: the GPU's kernel, or the CPU's products)
//! over a batch of K·b sequences. Built from the K runs' own [`Gpt`]s (each initialised from its
//! run's seed exactly as it is alone).
//!
//! The runs share everything but their weights and their parameterization: the width, depth and
//! heads, the norm, the positions (`experiment::stack` groups transformers only where these are
//! equal). SP's and μP's runs stack together: their multipliers are `[K, 1, 1]` factors where
//! they differ, and each run's attention scale multiplies its queries (a logit is q·k times the
//! scale either way), the kernel's own scale then 1. Nothing mixes runs: a
//! norm normalises a row of one run and then takes that run's gain and bias (`[K, 1, d]`), a
//! product is per run, attention is per sequence. The parameters live outside the model
//! (`train::stack`), as for the stacked MLP.

use burn::nn::RotaryEncoding;
use burn::nn::norm::Normalization;
use burn::prelude::*;

use super::Gpt;
use crate::knobs::mup::{Part, Role};
use crate::model::fused;

/// A linear layer's parameters: weight `[K, in, out]`, bias `[K, 1, out]`.
#[derive(Clone, Copy)]
struct LinearAt {
    w: usize,
    b: usize,
}

/// A norm's parameters: gain `[K, 1, d]`, and LayerNorm's bias `[K, 1, d]`.
#[derive(Clone, Copy)]
struct NormAt {
    gamma: usize,
    beta: Option<usize>,
    /// RMSNorm's ε; `None` for LayerNorm (`fused::LAYER_NORM_EPS`).
    rms_eps: Option<f64>,
}

struct BlockAt {
    norm1: NormAt,
    /// [W_q | W_k | W_v] `[K, d, 3d]` and their biases `[K, 1, 3d]`: one tensor for the three
    /// (one role, one rate and decay, and Adam is element-wise, so the update is the three's),
    /// which the attention reads whole where a concatenation a step and its backward, and two
    /// more optimizer launches, would go with three.
    qkv: LinearAt,
    o: LinearAt,
    norm2: NormAt,
    fc: LinearAt,
    proj: LinearAt,
}

/// The stacked transformer's structure; its parameters are the caller's.
pub struct StackedGpt {
    /// Runs in the stack.
    pub runs: usize,
    /// Each parameter's μP role and part, in [`StackedGpt::new`]'s order (as `Gpt::layers`
    /// gives them: embeddings input-like, norms and blocks hidden, the readout readout-like).
    pub roles: Vec<(Role, Part)>,
    /// Tokens in the alphabet: run k's rows of the embedding table start at k·vocab.
    pub vocab: usize,
    embed: usize,
    pos: Option<usize>,
    rope: Option<RotaryEncoding>,
    blocks: Vec<BlockAt>,
    norm: NormAt,
    readout: Option<LinearAt>,
    heads: usize,
    /// The attention logits' scale: every run's, or 1 where the runs' differ (SP's and μP's in
    /// one stack) and each run's queries carry their own (`q_scale`).
    scale: f64,
    /// Each run's attention scale on its queries' columns of the q/k/v product, `[K, 1, 3d]`
    /// (1 on the keys' and values'); `None` when the runs share one.
    q_scale: Option<Tensor<3>>,
    branch: f64,
    /// α_in on the blocks' input and MuReadout's α_out/m, every run's or each run's.
    embed_mult: Factor,
    readout_input_mult: Factor,
    /// Where each run's rows of the embedding table start, k·vocab: `[K, 1]`.
    offsets: Tensor<2, Int>,
}

/// A multiplier of every run, or of each run (`[K, 1, 1]`) where the runs' differ.
#[derive(Clone)]
enum Factor {
    All(f64),
    Each(Box<Tensor<3>>),
}

impl Factor {
    /// Every run's `values` as one number, or `[K, 1, 1]` where they differ.
    fn of(values: &[f64], device: &Device) -> Self {
        if values.iter().all(|&v| v == values[0]) {
            return Factor::All(values[0]);
        }
        let v: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let each = Tensor::from_data(TensorData::new(v, [values.len(), 1, 1]), device);
        Factor::Each(Box::new(each))
    }

    /// x `[K, n, d]` times each run's multiplier (no operation when every run's is 1).
    fn apply(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            Factor::All(m) if *m == 1.0 => x,
            Factor::All(m) => x.mul_scalar(*m),
            Factor::Each(m) => x * (**m).clone(),
        }
    }

    fn retain(&mut self, idx: &Tensor<1, Int>) {
        if let Factor::Each(m) = self {
            **m = (**m).clone().select(0, idx.clone());
        }
    }
}

/// `[K, 1]`: 0, v, 2v, ….
fn offsets(runs: usize, vocab: usize, device: &Device) -> Tensor<2, Int> {
    let v: Vec<i64> = (0..runs).map(|k| (k * vocab) as i64).collect();
    Tensor::from_data(TensorData::new(v, [runs, 1]), device)
}

/// x `[K, n, in]` · W `[K, in, out]` + b `[K, 1, out]` → `[K, n, out]`.
fn linear(params: &[Tensor<3>], at: LinearAt, x: Tensor<3>) -> Tensor<3> {
    x.matmul(params[at.w].clone()) + params[at.b].clone()
}

/// Builds the parameter list: each tensor stacked from every model's, with its role.
struct Params<'a> {
    models: &'a [Gpt],
    out: Vec<Tensor<3>>,
    roles: Vec<(Role, Part)>,
}

impl Params<'_> {
    fn push(&mut self, role: Role, part: Part, of: impl Fn(&Gpt) -> Tensor<3>) -> usize {
        let parts: Vec<Tensor<3>> = self.models.iter().map(of).collect();
        self.out.push(Tensor::cat(parts, 0));
        self.roles.push((role, part));
        self.out.len() - 1
    }

    /// A `[rows, cols]` table per model, `[K, rows, cols]`.
    fn table(&mut self, role: Role, of: impl Fn(&Gpt) -> Tensor<2>) -> usize {
        self.push(role, Part::Weight, |m| of(m).unsqueeze_dim(0))
    }

    /// A vector per model, `[K, 1, n]`.
    fn row(&mut self, role: Role, part: Part, of: impl Fn(&Gpt) -> Tensor<1>) -> usize {
        self.push(role, part, |m| {
            let v = of(m);
            let n = v.dims()[0];
            v.reshape([1, 1, n])
        })
    }

    fn linear(&mut self, role: Role, of: impl Fn(&Gpt) -> &burn::nn::Linear) -> LinearAt {
        self.linears(role, |m| vec![of(m)])
    }

    /// Linear layers reading one input as one: their weights side by side `[K, in, Σ out]`,
    /// their biases alike.
    fn linears(&mut self, role: Role, of: impl Fn(&Gpt) -> Vec<&burn::nn::Linear>) -> LinearAt {
        let w = self.table(role, |m| {
            Tensor::cat(of(m).iter().map(|l| l.weight.val()).collect(), 1)
        });
        let b = self.row(role, Part::Bias, |m| {
            let biases = of(m)
                .iter()
                .map(|l| {
                    l.bias
                        .as_ref()
                        .expect("the transformer's linear layers have biases")
                        .val()
                })
                .collect();
            Tensor::cat(biases, 0)
        });
        LinearAt { w, b }
    }

    fn norm(&mut self, of: impl Fn(&Gpt) -> &Normalization) -> NormAt {
        let first = of(&self.models[0]);
        let (has_beta, rms_eps) = match first {
            Normalization::Layer(l) => (l.beta.is_some(), None),
            Normalization::Rms(r) => (false, Some(r.epsilon)),
            _ => unreachable!("the transformer's norms are LayerNorm or RMSNorm"),
        };
        let gamma = self.row(Role::Hidden, Part::Bias, |m| match of(m) {
            Normalization::Layer(l) => l.gamma.val(),
            Normalization::Rms(r) => r.gamma.val(),
            _ => unreachable!("the transformer's norms are LayerNorm or RMSNorm"),
        });
        let beta = has_beta.then(|| {
            self.row(Role::Hidden, Part::Bias, |m| match of(m) {
                Normalization::Layer(l) => l.beta.as_ref().expect("every run's norm has a bias").val(),
                _ => unreachable!("a norm with a bias is LayerNorm"),
            })
        });
        NormAt { gamma, beta, rms_eps }
    }
}

impl StackedGpt {
    /// The stack of `models` (one shape and configuration, each from its run's seed; not
    /// quantized, no adapters, no qk-norm), and its initial parameters.
    pub fn new(models: &[Gpt]) -> (Self, Vec<Tensor<3>>) {
        let first = &models[0];
        let mut p = Params {
            models,
            out: Vec::new(),
            roles: Vec::new(),
        };
        let embed = p.table(Role::Input, |m| m.embed.weight.val());
        let pos = first.pos.as_ref().map(|_| {
            p.table(Role::Input, |m| {
                m.pos.as_ref().expect("every run has positions").weight.val()
            })
        });
        let blocks = (0..first.blocks.len())
            .map(|i| BlockAt {
                norm1: p.norm(|m| &m.blocks[i].norm1),
                qkv: p.linears(Role::Hidden, |m| {
                    let a = &m.blocks[i].attn;
                    vec![&a.q, &a.k, &a.v]
                }),
                o: p.linear(Role::Hidden, |m| &m.blocks[i].attn.o),
                norm2: p.norm(|m| &m.blocks[i].norm2),
                fc: p.linear(Role::Hidden, |m| &m.blocks[i].fc),
                proj: p.linear(Role::Hidden, |m| &m.blocks[i].proj),
            })
            .collect();
        let norm = p.norm(|m| &m.norm);
        let readout = first.readout.as_ref().map(|_| {
            p.linear(Role::Readout, |m| {
                m.readout.as_ref().expect("every run's readout is untied")
            })
        });
        let attn = &first.blocks[0].attn;
        let device = first.embed.weight.val().device();
        let each = |f: &dyn Fn(&Gpt) -> f64| models.iter().map(f).collect::<Vec<_>>();
        let scales = each(&|m| m.blocks[0].attn.scale);
        let shared = scales.iter().all(|&s| s == scales[0]);
        // Mixed scales: each run's on its queries' columns, 1 on the keys' and values'.
        let q_scale = (!shared).then(|| {
            let d = first.embed.weight.val().dims()[1];
            let v: Vec<f32> = scales
                .iter()
                .flat_map(|&s| (0..3 * d).map(move |c| if c < d { s as f32 } else { 1.0 }))
                .collect();
            Tensor::from_data(TensorData::new(v, [models.len(), 1, 3 * d]), &device)
        });
        let model = Self {
            runs: models.len(),
            roles: p.roles,
            vocab: first.vocab,
            embed,
            pos,
            rope: first.rope.clone(),
            blocks,
            norm,
            readout,
            heads: attn.heads,
            scale: if shared { attn.scale } else { 1.0 },
            q_scale,
            branch: first.blocks[0].branch,
            embed_mult: Factor::of(&each(&|m| m.embed_mult), &device),
            readout_input_mult: Factor::of(&each(&|m| m.readout_input_mult), &device),
            offsets: offsets(models.len(), first.vocab, &first.embed.weight.val().device()),
        };
        (model, p.out)
    }

    /// `params` with each run's weights rounded as the unstacked `Gpt::quantized` rounds them:
    /// every linear layer's weight on its own (q, k and v apart, as the three layers they are
    /// alone), by `round(k, w)` for run k and a `[in, out]` weight; with `embed(k)` run k's token
    /// embedding too, one scale per token's row (rounded transposed). Biases, norms and
    /// positions stay as they are. Run by run: PTQ's one rounding at the end of a run.
    pub fn rounded(
        &self,
        params: &[Tensor<3>],
        round: &dyn Fn(usize, Tensor<2>) -> Tensor<2>,
        embed: &dyn Fn(usize) -> bool,
    ) -> Vec<Tensor<3>> {
        let mut out = params.to_vec();
        let runs = |p: &Tensor<3>, each: &dyn Fn(usize, Tensor<2>) -> Tensor<2>| {
            let [k, a, b] = p.dims();
            let slices = (0..k)
                .map(|r| each(r, p.clone().narrow(0, r, 1).reshape([a, b])).unsqueeze_dim(0))
                .collect();
            Tensor::cat(slices, 0)
        };
        // A weight of `parts` layers side by side, each rounded on its own.
        let linear = |p: &Tensor<3>, parts: usize| {
            runs(p, &|r, w| {
                let out = w.dims()[1] / parts;
                let each = (0..parts)
                    .map(|i| round(r, w.clone().narrow(1, i * out, out)))
                    .collect();
                Tensor::cat(each, 1)
            })
        };
        for at in &self.blocks {
            out[at.qkv.w] = linear(&params[at.qkv.w], 3);
            for l in [at.o, at.fc, at.proj] {
                out[l.w] = linear(&params[l.w], 1);
            }
        }
        if let Some(l) = self.readout {
            out[l.w] = linear(&params[l.w], 1);
        }
        out[self.embed] = runs(&params[self.embed], &|r, w| match embed(r) {
            true => round(r, w.transpose()).transpose(),
            false => w,
        });
        out
    }

    /// Keeps only the runs at `idx` (`[K']`): nothing of the model is per run but where each
    /// run's rows of the embedding start.
    pub fn retain(&mut self, idx: &Tensor<1, Int>) {
        self.runs = idx.dims()[0];
        self.embed_mult.retain(idx);
        self.readout_input_mult.retain(idx);
        if let Some(s) = &mut self.q_scale {
            *s = s.clone().select(0, idx.clone());
        }
        self.offsets = offsets(self.runs, self.vocab, &idx.device());
    }

    /// Tokens `[K·b, t]` (run k's b sequences the k-th b rows) → logits `[K, b·t, vocab]`, run
    /// k through `params`' slice k: the unstacked [`Gpt`]'s forward pass. With `largest`, also
    /// each run's largest attended logit over layers, heads and positions, `[K]` (detached), as
    /// the unstacked pass's trace records it.
    pub fn forward(
        &self,
        params: &[Tensor<3>],
        tokens: Tensor<2, Int>,
        largest: bool,
    ) -> (Tensor<3>, Option<Tensor<1>>) {
        let k = self.runs;
        let [kb, t] = tokens.dims();
        let b = kb / k;
        let table = params[self.embed].clone(); // [K, vocab, d]
        let d = table.dims()[2];
        let v = self.vocab;
        // Run k's token i is row k·vocab + i of the runs' tables one after another.
        let idx = (tokens.reshape([k, b * t]) + self.offsets.clone()).reshape([k * b * t]);
        let mut h = table.reshape([k * v, d]).select(0, idx).reshape([k, b, t, d]);
        if let Some(p) = self.pos {
            // Positions 0..t: each run's first t rows, a view (see `Gpt::forward_traced`).
            let rows = params[p].clone(); // [K, ctx, d]
            let rows = match rows.dims()[1] == t {
                true => rows,
                false => rows.narrow(1, 0, t),
            };
            h = h + rows.reshape([k, 1, t, d]).expand([k, b, t, d]);
        }
        let mut h = self.embed_mult.apply(h.reshape([k, b * t, d]));
        let mut maxes = Vec::new();
        for at in &self.blocks {
            let x = self.normed(params, at.norm1, h.clone());
            let attended = self.attention(params, at, x, [b, t], largest.then_some(&mut maxes));
            h = h + self.branch(attended);
            let hidden = fused::gelu(linear(params, at.fc, self.normed(params, at.norm2, h.clone())));
            h = h + self.branch(linear(params, at.proj, hidden));
        }
        let h = self.normed(params, self.norm, h);
        let h = self.readout_input_mult.apply(h);
        let logits = match self.readout {
            Some(r) => linear(params, r, h),
            // Tied: each run's h · Eᵀ, [K, b·t, d] · [K, d, vocab].
            None => h.matmul(params[self.embed].clone().swap_dims(1, 2)),
        };
        // Pairwise over layers, as the unstacked step reduces its trace's.
        let max = largest.then(|| {
            maxes
                .into_iter()
                .reduce(|a, b| a.max_pair(b))
                .unwrap_or_else(|| Tensor::zeros([k], &logits.device()))
        });
        (logits, max)
    }

    /// Causal self-attention of every run: x `[K, b·t, d]` → `[K, b·t, d]`. Queries, keys and
    /// values from one product per run against its [W_q | W_k | W_v] (one parameter), split into heads as
    /// `[K·b, t, 3·heads, d_head]`: the unstacked model's attention core over K·b sequences.
    fn attention(
        &self,
        params: &[Tensor<3>],
        at: &BlockAt,
        x: Tensor<3>,
        [b, t]: [usize; 2],
        maxes: Option<&mut Vec<Tensor<1>>>,
    ) -> Tensor<3> {
        let [k, n, d] = x.dims();
        let (h, dh) = (self.heads, d / self.heads);
        let mut qkv = linear(params, at.qkv, x); // [K, b·t, 3d]
        if let Some(s) = &self.q_scale {
            // Each run's attention scale on its queries (a logit is q·k times it either way).
            qkv = qkv * s.clone();
        }
        let mut qkv = qkv.reshape([k * b, t, 3 * h, dh]); // [K·b, t, 3h, dh]
        if let Some(r) = &self.rope {
            // Rotary positions index the time axis of [K·b, heads, t, dh].
            let rotate = |x: Tensor<4>| r.forward(x.swap_dims(1, 2)).swap_dims(1, 2);
            let q = rotate(qkv.clone().narrow(2, 0, h));
            let keys = rotate(qkv.clone().narrow(2, h, h));
            qkv = Tensor::cat(vec![q, keys, qkv.narrow(2, 2 * h, h)], 2);
        }
        let (out, max, _) = fused::causal_attention(qkv, self.scale, maxes.is_some().then_some(k));
        if let (Some(m), Some(max)) = (maxes, max) {
            m.push(max);
        }
        linear(params, at.o, out.reshape([k, n, d]))
    }

    /// The norm `at` of x `[K, n, d]`: each row normalised with its run's gain (and bias).
    fn normed(&self, params: &[Tensor<3>], at: NormAt, x: Tensor<3>) -> Tensor<3> {
        let gamma = params[at.gamma].clone();
        let Some(eps) = at.rms_eps else {
            return fused::layer_norm_runs(x, gamma, at.beta.map(|b| params[b].clone()));
        };
        // Burn's RMSNorm's arithmetic, x / √(mean x² + ε) · γ.
        let rms = (x.clone().square().mean_dim(2) + eps).sqrt();
        (x / rms) * gamma
    }

    /// y·β, the residual branches' multiplier (no operation at β = 1).
    fn branch(&self, y: Tensor<3>) -> Tensor<3> {
        if self.branch == 1.0 {
            y
        } else {
            y.mul_scalar(self.branch)
        }
    }
}
