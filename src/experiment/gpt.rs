//! The transformer's arithmetic: its linear layers (`block.{i}.attn.{q,k,v,o}`,
//! `block.{i}.mlp.{fc,proj}`, `readout` unless tied), parameters, attention's work and memory,
//! and the relations its knobs must keep.

use super::family::{Architecture, MemoryItem};
use crate::keys::{self, ConfigError, Key};
use crate::knobs::ExperimentConfig;
use crate::knobs::arch::{Activation, Family};
use crate::knobs::gpt::Pos;
use crate::knobs::task::Task;
use crate::vocab::Named;

pub struct Gpt;

impl Architecture for Gpt {
    fn linears(&self, cfg: &ExperimentConfig) -> Vec<(String, usize, usize)> {
        cfg.gpt.linear_layers(cfg.classes(), cfg.width, cfg.depth)
    }

    /// `embedding` (tokens and positions, what the first block reads), then per block its q, k, v,
    /// `block.{i}.attn.logits` (mean |q·k·scale| over the positions attended to), o, fc and proj,
    /// and the readout's logits (tied or not): the embedding outputs, every linear layer and the
    /// attention logits, as `mup`'s Transformer coord check records them.
    fn coord_names(&self, cfg: &ExperimentConfig) -> Vec<String> {
        let mut out = vec!["embedding".to_string()];
        for i in 0..cfg.depth {
            for p in [
                "attn.q",
                "attn.k",
                "attn.v",
                "attn.logits",
                "attn.o",
                "mlp.fc",
                "mlp.proj",
            ] {
                out.push(format!("block.{i}.{p}"));
            }
        }
        out.push("readout".to_string());
        out
    }

    fn parameters(&self, cfg: &ExperimentConfig) -> usize {
        cfg.gpt.parameters(cfg.classes(), cfg.width, cfg.depth)
    }

    fn input_dim(&self, cfg: &ExperimentConfig) -> usize {
        cfg.task
            .sequence()
            .map_or(0, |kind| cfg.seq.seq_len(kind, cfg.gpt.ctx))
    }

    fn outputs(&self, cfg: &ExperimentConfig) -> usize {
        cfg.classes()
    }

    fn positions(&self, cfg: &ExperimentConfig) -> usize {
        self.input_dim(cfg)
    }

    /// 12·blocks·t²·d: q·kᵀ and probabilities·v, forward and backward.
    fn mixing_flops(&self, cfg: &ExperimentConfig) -> f64 {
        let t = self.input_dim(cfg) as f64;
        12.0 * cfg.depth as f64 * t * t * cfg.width as f64
    }

    /// heads × t² per block.
    fn scores(&self, cfg: &ExperimentConfig) -> f64 {
        let t = self.input_dim(cfg) as f64;
        cfg.gpt.heads as f64 * t * t * cfg.depth as f64
    }

    fn val_positions(&self, cfg: &ExperimentConfig) -> f64 {
        let t = self.input_dim(cfg);
        (val_rows(cfg, t) * t) as f64
    }

    /// The token embedding with `qemb`: [d, vocab] as the blocks see it, one channel per token.
    fn has_token_embedding(&self) -> bool {
        true
    }

    fn extra_quantized(&self, cfg: &ExperimentConfig) -> Vec<(usize, usize)> {
        if cfg.quant.embed {
            vec![(cfg.width, cfg.classes())]
        } else {
            Vec::new()
        }
    }

    fn step_memory(&self, cfg: &ExperimentConfig, batch: f64) -> Vec<MemoryItem> {
        let f = 4.0;
        let t = self.input_dim(cfg) as f64;
        let (d, blocks, heads) = (cfg.width as f64, cfg.depth as f64, cfg.gpt.heads as f64);
        let hidden = (cfg.gpt.mlp_ratio as f64) * d;
        let vocab = cfg.classes() as f64;
        // Per token and block, saved for the backward pass and their gradients: the norms'
        // inputs and outputs, q, k, v and their heads, the attention output, the MLP's
        // hidden activations before and after GELU, the residual stream (fitted to the CLI's
        // peak on the reference transformer, `scripts/bench.sh memory`).
        let per_token = blocks * (12.0 * d + 3.0 * hidden) + 3.0 * vocab;
        // Scores, their softmax and both gradients, per head and block.
        let scores = 4.0 * heads * t * t * blocks;
        // Validation runs without gradients, a block at a time and
        // `knobs::sequence::VAL_TOKENS` tokens at a time, between training steps.
        let val = crate::knobs::sequence::chunk_rows(self.input_dim(cfg)) as f64;
        vec![
            MemoryItem {
                what: "activations",
                bytes: f * batch * t * per_token,
                key: &keys::BS,
                step: true,
                gpu: true,
            },
            MemoryItem {
                what: "attention scores",
                bytes: f * (batch * scores).max(2.0 * val * heads * t * t),
                key: &keys::CTX,
                step: true,
                gpu: cfg.gpt.head_dim(cfg.width) > crate::knobs::gpt::KERNEL_HEAD_DIM,
            },
        ]
    }

    fn sized_by(&self, cfg: &ExperimentConfig) -> (String, &'static str) {
        (
            format!(
                "a {}-wide, {}-block transformer at context {}",
                cfg.width, cfg.depth, cfg.gpt.ctx
            ),
            "the width, depth, context or batch size",
        )
    }

    fn size_key(&self) -> &'static Key {
        &keys::W
    }

    fn refuses(&self, cfg: &ExperimentConfig) -> Option<String> {
        let tk = &keys::TASK;
        (!cfg.task.is_sequence()).then(|| {
            let sequences: Vec<&str> = Task::NAMES
                .iter()
                .filter(|(t, _, _)| t.is_sequence())
                .map(|&(_, name, _)| name)
                .collect();
            format!(
                "the transformer reads token sequences and {} is not one: choose {}={}, or {}",
                tk.is(cfg.task.key()),
                tk.name,
                sequences.join(", "),
                keys::MODEL.is(Family::Mlp.key()),
            )
        })
    }

    /// Heads divide the width, RoPE's head width is even, the context holds an example, and
    /// the MLP's own knobs are not given.
    fn validate(&self, cfg: &ExperimentConfig, errs: &mut Vec<ConfigError>) {
        let g = &cfg.gpt;
        if !cfg.width.is_multiple_of(g.heads.max(1)) {
            errs.push(ConfigError::new(
                &keys::HEADS,
                format!(
                    "{} is not a multiple of {}: choose {} dividing the width",
                    keys::W.is(&cfg.width.to_string()),
                    keys::HEADS.is(&g.heads.to_string()),
                    keys::HEADS.name
                ),
            ));
        } else if g.pos == Pos::Rope && !g.head_dim(cfg.width).is_multiple_of(2) {
            errs.push(ConfigError::new(
                &keys::POS,
                format!(
                    "RoPE rotates pairs of coordinates, and a head is {} wide ({}/{}): make it even, or {}",
                    g.head_dim(cfg.width),
                    keys::W.name,
                    keys::HEADS.name,
                    keys::POS.is(Pos::Learned.key())
                ),
            ));
        }
        let t = self.input_dim(cfg);
        if g.ctx < t {
            errs.push(ConfigError::new(
                &keys::CTX,
                format!(
                    "{} reads {t} tokens an example; {} must be at least {t}",
                    keys::TASK.is(cfg.task.key()),
                    keys::CTX.name
                ),
            ));
        }
        // The MLP's knobs, each with the change that makes the link run.
        let mlp_only = [(
            cfg.act != Activation::Relu,
            &keys::ACT,
            "the transformer's MLP uses GELU",
        )];
        for (on, key, why) in mlp_only {
            if on {
                errs.push(ConfigError::new(
                    key,
                    format!("{why}; {} applies to the MLP: remove it", key.name),
                ));
            }
        }
    }

    fn describe(&self, cfg: &ExperimentConfig) -> String {
        format!(
            "{} · gpt w{} d{} h{}",
            cfg.task.key(),
            cfg.width,
            cfg.depth,
            cfg.gpt.heads
        )
    }
}

/// Validation examples of `t` tokens for `cfg`'s sequence task.
fn val_rows(cfg: &ExperimentConfig, t: usize) -> usize {
    crate::knobs::sequence::val_rows(cfg.task.sequence().unwrap_or_default(), t)
}
