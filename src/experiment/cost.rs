//! What one run costs, worked out from its config before anything is built: the work of a step
//! (matrix products, attention scores, fake-quantization roundings), of generating the data, of
//! the whole training and of the end-of-run analyses, and the memory it holds. The caps in
//! [`limits`] refuse a link over any of them up front, with the reason and the knob to lower
//! (#16): a link must never freeze a tab or exhaust its memory.
//!
//! Each figure counts what dominates its cost on the page's CPU backend, measured natively
//! (README, "Caps"): matrix products as FLOPs, but a softmax over attention scores and the
//! rounding of a weight are elementwise chains that cost far more than their FLOPs (≈ 0.1 µs a
//! score and ≈ 15 ns a rounding on a laptop core, against 14 GFLOP/s for products), so they are
//! counted and capped in their own units.

use super::family::MemoryItem;
use crate::keys::{self, ConfigError};
use crate::knobs::ExperimentConfig;
use crate::knobs::quant::{Clip, QMode};
use crate::knobs::task::Task;
use crate::vocab::Named;

/// Caps on what one run may cost, shared by validation, the sweep and the docs: they keep a run
/// small enough to train in a browser tab. Each key's own range is in its row of the key table
/// (`keys`).
pub mod limits {
    /// Parameters of one model: with gradients and Adam's two moments, 5 M parameters take
    /// ~80 MB, comfortable in a browser tab's 32-bit address space.
    pub const PARAMS: usize = 5_000_000;
    /// Matrix-product work of one training step: the training worker keeps the tab responsive
    /// whatever a step costs, but a step of many seconds makes Pause slow and the curve stall. 6,
    /// not 5: the reference transformer (2 blocks, d_model 128, context 64, batch 32)
    /// costs 5.6 by `step_flops`, about a second on the page's CPU backend.
    pub const STEP_GFLOP: f64 = 6.0;
    /// Attention scores of one training step (batch × heads × t² × blocks): each goes through a
    /// mask, a softmax and their gradients, ≈ 0.1 µs natively, so 16 M is about 1.5 s.
    pub const STEP_SCORES: f64 = 16e6;
    /// Weight roundings of one step of quantization-aware training (weights × clip trials):
    /// 16 M is ≈ 0.25 s natively in INT, ≈ 0.9 s in a minifloat format.
    pub const STEP_ROUNDINGS: f64 = 16e6;
    /// Work of generating a run's data before its first step (the planted task's n·dim²
    /// products): measured in the page at 0.46 GFLOP/s (8.6 GFLOP took 18.8 s), so about 4 s at
    /// the cap.
    pub const DATA_GFLOP: f64 = 2.0;
    /// Weight roundings of the end-of-run quantization figure (every bit-width and granularity),
    /// computed in the training worker: measured there at 13–25 ns a rounding (INT to E4M3's
    /// codebook search), so about 5–10 s at the cap, with the tab responsive meanwhile.
    pub const ANALYSIS_ROUNDINGS: f64 = 400e6;
    /// Training work of one run, as of a whole sweep (`link::sweep::MAX_GFLOP`): about five
    /// minutes on a laptop CPU.
    pub const RUN_GFLOP: f64 = 4000.0;
    /// Memory one run may hold: a browser tab's wasm memory is 32-bit (4 GiB at most, and far
    /// less on a phone), and Burn's allocator holds freed blocks for reuse.
    pub const MEMORY_BYTES: f64 = 1e9;
    /// Entries D·d of a random subspace's dense projection P (`r=sub<d>`): 64 MB of f32, drawn
    /// on the CPU when the phase begins (about a second in the page at the cap). Beyond it P is
    /// the structured Fastfood map (`model::fastfood`).
    pub const SUBSPACE_ENTRIES: usize = 16_000_000;
}

/// Clip ratios the MSE search tries for every block (`quant::scalar::clip_ratios`).
const CLIP_TRIALS: f64 = 16.0;

impl ExperimentConfig {
    /// FLOPs of the matrix products of one training step: forward + backward ≈ 6 × parameters ×
    /// examples; a transformer's example is t tokens, plus attention's 12·blocks·t²·d.
    pub fn step_flops(&self) -> f64 {
        let batch = self.batch_examples() as f64;
        let arch = self.arch();
        let positions = arch.positions(self) as f64;
        (6.0 * self.parameter_estimate() as f64 * positions + arch.mixing_flops(self)) * batch
    }

    /// Whether a subspace's P is dense (D·d within [`limits::SUBSPACE_ENTRIES`]) rather than the
    /// structured Fastfood map.
    pub fn dense_subspace(&self, d: usize) -> bool {
        d.saturating_mul(self.parameter_estimate()) <= limits::SUBSPACE_ENTRIES
    }

    /// Rows the Fastfood map computes for a subspace of d dimensions, whole blocks of d' = 2^k ≥ d,
    /// and the sizes 2^a + 2^b of H's two Kronecker factors: (rows, d', 2^a + 2^b). Each tensor
    /// computes every block its rows touch, so a block shared by two tensors is computed twice:
    /// up to one more block a tensor, which this count leaves out (an MLP's few tensors add a few
    /// per cent; a transformer's many small norms and biases more).
    fn fastfood_shape(&self, d: usize) -> (f64, f64, f64) {
        let k = d.max(2).next_power_of_two().trailing_zeros();
        let n = (1usize << k) as f64;
        let rows = (self.parameter_estimate() as f64 / n).ceil().max(1.0) * n;
        (rows, n, ((1u64 << (k / 2)) + (1u64 << (k - k / 2))) as f64)
    }

    /// Work the adapters add to an adaptation step: x·A and (x·A)·B, forward and backward, are
    /// 6·r·(in + out) per example (per token for the transformer) and adapted layer.
    /// A subspace's P·z and Pᵀ·∇θ are 2·D·d each a step, whatever the batch; with the Fastfood
    /// map two Hadamard transforms a block, each two products by its factors, forward and
    /// backward.
    pub fn adapter_step_flops(&self) -> f64 {
        if let Some(d) = self.lora.rank.subspace() {
            if !self.dense_subspace(d) {
                let (rows, _, factors) = self.fastfood_shape(d);
                // Forward and backward (z's gradient only), two transforms each, each two
                // products of rows × (2^a or 2^b) multiply-adds: 2·2·2·rows·(2^a + 2^b) FLOPs.
                return 2.0 * 2.0 * 2.0 * rows * factors;
            }
            return 4.0 * (self.parameter_estimate() * d) as f64;
        }
        let r = self.lora.rank.adapter().unwrap_or(0) as f64;
        let per: f64 = self.adapted_dims().iter().map(|&(i, o)| r * (i + o) as f64).sum();
        let tokens = self.arch().positions(self) as f64;
        6.0 * per * tokens * self.batch_examples() as f64
    }

    /// Attention scores of one training step: batch × heads × t² per block (0 for the MLP).
    pub fn step_scores(&self) -> f64 {
        self.batch_examples() as f64 * self.arch().scores(self)
    }

    /// Weights the quantizer rounds: every linear layer's (and the token embedding's with
    /// `qemb`); 0 without quantization.
    pub fn quantized_weights(&self) -> f64 {
        if !self.quant.enabled() {
            return 0.0;
        }
        let mut dims = self.layer_dims();
        dims.extend(self.arch().extra_quantized(self));
        dims.iter().map(|(i, o)| i * o).sum::<usize>() as f64
    }

    /// Roundings per weight for one quantization: one, or one per clip ratio the MSE search tries.
    fn trials(&self) -> f64 {
        match self.quant.clip {
            Clip::Max => 1.0,
            Clip::Mse => CLIP_TRIALS,
        }
    }

    /// Weight roundings of one training step: quantization-aware training fake-quantizes every
    /// weight in each forward; PTQ rounds once at the end and QLoRA once before adapting.
    pub fn step_roundings(&self) -> f64 {
        if self.quant.mode != QMode::Qat {
            return 0.0;
        }
        self.quantized_weights() * self.trials()
    }

    /// Work of one planted sample: its input (in the k-dimensional subspace when `k` is set)
    /// times the dim × dim teacher, a multiply-add per weight.
    fn planted_sample_flops(&self) -> f64 {
        let d = self.planted.dim as f64;
        let k = self.planted.k.map_or(0.0, |k| k as f64);
        2.0 * d * d + 2.0 * k * d
    }

    /// Work of generating the data before the first step: the planted task draws n training and
    /// n validation inputs ([`Self::planted_sample_flops`] each); the other tasks' data is read or
    /// drawn in time linear in its size, which the key ranges bound. A planted stream's batches
    /// are drawn during training: [`Self::training_flops`] counts them.
    pub fn data_flops(&self) -> f64 {
        if self.task == Task::Sense {
            // m sensing matrices of n² draws, each's inner product with M*.
            let (m, n) = (self.points as f64, self.planted.dim as f64);
            return 2.0 * m * n * n;
        }
        if self.task != Task::Planted {
            return 0.0;
        }
        2.0 * self.points as f64 * self.planted_sample_flops()
    }

    /// FLOPs of the whole run's training: every step's products (adapters in the adaptation
    /// phase) plus the validation forward every [`eval_every`](ExperimentConfig::eval_every) steps
    /// and a planted stream's batches.
    pub fn training_flops(&self) -> f64 {
        let val = self.arch().val_positions(self);
        let eval = 2.0 * self.parameter_estimate() as f64 * val / self.eval_every() as f64;
        let adapt = self.adapter_step_flops() * self.adaptation_steps() as f64;
        // The noise scale's small batch: a quarter of a step more.
        let step = if self.gns {
            self.step_flops() * (1.0 + 1.0 / crate::knobs::optim::GNS_SMALL_SHARE as f64)
        } else {
            self.step_flops()
        };
        // A planted stream draws each step's batch on the host.
        let drawn = if self.task == Task::Planted && self.planted.stream {
            self.batch as f64 * self.planted_sample_flops()
        } else {
            0.0
        };
        (step + eval + drawn) * self.total_steps() as f64 + adapt
    }

    /// Steps of the adaptation phase (0 without one).
    fn adaptation_steps(&self) -> usize {
        self.total_steps() - self.pretrain_steps()
    }

    /// Weight roundings of the end-of-run quantization figure: the weight error at every
    /// bit-width of `weights::CURVE_BITS` in each of the three granularities (each with the MSE
    /// search when it is on), plus the configured setting itself.
    pub fn analysis_roundings(&self) -> f64 {
        if !self.quant.enabled() {
            return 0.0;
        }
        let curves = 7.0 * 3.0;
        self.quantized_weights() * self.trials() * (curves + 1.0)
    }

    /// What the run holds in memory at its peak, item by item (bytes, f32 throughout).
    pub fn memory(&self) -> Vec<MemoryItem> {
        let f = 4.0;
        let params = self.parameter_estimate() as f64;
        let batch = self.batch_examples() as f64;
        let size_key = self.arch().size_key();
        // The program itself: the module's code and statics, the bundled texts and digits, the
        // allocator's pools (the page's worker holds 7.6 MB before its first run).
        let mut items = vec![MemoryItem {
            what: "the program and its bundled data",
            bytes: 8e6,
            key: size_key,
            step: false,
            gpu: true,
        }];
        // Weights, gradients and Adam's two moments; the adaptation phase adds its adapters'
        // four and keeps the pre-trained weights for ΔW.
        let adapters = if self.lora.rank.adapter().is_some() {
            self.trainable_params() as f64
        } else {
            0.0
        };
        items.push(MemoryItem {
            what: "weights, gradients and optimizer state",
            bytes: f * (4.0 * params + params + 4.0 * adapters),
            key: size_key,
            step: false,
            gpu: true,
        });
        items.extend(self.arch().step_memory(self, batch));
        if let Some(d) = self.lora.rank.subspace() {
            // Fastfood: signs, scaled Gaussians and the permutation (8-byte indices) for every
            // row it computes, and a Hadamard transform's intermediates.
            let bytes = if self.dense_subspace(d) {
                f * (self.parameter_estimate() * d) as f64
            } else {
                let (rows, n, _) = self.fastfood_shape(d);
                f * (4.0 * rows + 2.0 * n)
            };
            items.push(MemoryItem {
                what: "the subspace's projection P",
                bytes,
                key: &keys::R,
                step: false,
                gpu: true,
            });
        }
        if self.quant.enabled() {
            // Each clip trial's rounded copy and its error live until the search picks one.
            items.push(MemoryItem {
                what: "quantization",
                bytes: f * 2.5 * self.trials() * self.quantized_weights(),
                key: &keys::QCLIP,
                step: true,
                gpu: true,
            });
        }
        items
    }

    /// Bytes of [`memory`](Self::memory) in all.
    pub fn memory_bytes(&self) -> f64 {
        self.memory().iter().map(|m| m.bytes).sum()
    }
}

/// One cost of a run against its cap (`tinytune --costs` prints these as CSV).
#[derive(Clone, Debug, PartialEq)]
pub struct Cost {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    /// The cap; `None` for the items that make up the memory.
    pub limit: Option<f64>,
}

impl ExperimentConfig {
    /// Every cost the caps judge, in the order they are checked, then the memory by item.
    pub fn costs(&self) -> Vec<Cost> {
        let row = |name: &str, value: f64, unit, limit| Cost {
            name: name.to_string(),
            value,
            unit,
            limit,
        };
        let adapters = if self.lora.rank.adapter().is_some() {
            self.trainable_params()
        } else {
            0
        };
        let mut rows = vec![
            row(
                "parameters",
                (self.parameter_estimate() + adapters) as f64,
                "parameters",
                Some(limits::PARAMS as f64),
            ),
            row(
                "matrix products a step",
                (self.step_flops() + self.adapter_step_flops()) / 1e9,
                "GFLOP",
                Some(limits::STEP_GFLOP),
            ),
            row(
                "data before the first step",
                self.data_flops() / 1e9,
                "GFLOP",
                Some(limits::DATA_GFLOP),
            ),
            row("memory", self.memory_bytes(), "bytes", Some(limits::MEMORY_BYTES)),
            row(
                "attention scores a step",
                self.step_scores(),
                "scores",
                Some(limits::STEP_SCORES),
            ),
            row(
                "roundings a QAT step",
                self.step_roundings(),
                "roundings",
                Some(limits::STEP_ROUNDINGS),
            ),
            row(
                "end-of-run quantization figure",
                self.analysis_roundings(),
                "roundings",
                Some(limits::ANALYSIS_ROUNDINGS),
            ),
            row(
                "training",
                self.training_flops() / 1e9,
                "GFLOP",
                Some(limits::RUN_GFLOP),
            ),
        ];
        rows.extend(
            self.memory()
                .into_iter()
                .map(|m| row(&format!("memory: {}", m.what), m.bytes, "bytes", None)),
        );
        rows
    }
}

/// "1.2 GB", "340 MB": a size for messages.
pub fn bytes_text(b: f64) -> String {
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else {
        format!("{:.0} MB", (b / 1e6).max(1.0))
    }
}

/// "3.1 M", "201 M", "1.3 G": a count for messages.
pub fn count_text(n: f64) -> String {
    match n {
        n if n >= 1e9 => format!("{:.1} G", n / 1e9),
        n if n >= 1e8 => format!("{:.0} M", n / 1e6),
        n => format!("{:.1} M", n / 1e6),
    }
}

impl ExperimentConfig {
    /// Every cost cap, on a config whose keys are in range and consistent. A model over the size
    /// caps is the one message (its other costs follow from its size), and a run over the memory
    /// cap is not told about the work of the same tensors too: one cause, one message.
    pub(super) fn validate_costs(&self, errs: &mut Vec<ConfigError>) {
        let err = ConfigError::new;
        let size_key = self.arch().size_key();
        let params = self.parameter_estimate();
        let adapters = if self.lora.rank.adapter().is_some() {
            self.trainable_params()
        } else {
            0
        };
        // Adapters count too: their parameters, gradients and Adam moments live beside the base
        // model's, and their products run every adaptation step.
        let step_gflop = (self.step_flops() + self.adapter_step_flops()) / 1e9;
        let batch = self.batch_examples();
        let before = errs.len();
        if params + adapters > limits::PARAMS || step_gflop > limits::STEP_GFLOP {
            let (model, knobs) = self.arch().sized_by(self);
            let (with, knobs) = if adapters > 0 {
                (
                    format!(
                        " (and {adapters} more in its rank-{} adapters)",
                        self.lora.rank.adapter().unwrap_or(0)
                    ),
                    format!("{knobs} or the rank"),
                )
            } else {
                (String::new(), knobs.to_string())
            };
            errs.push(err(
                size_key,
                format!(
                    "{model} has {params} parameters{with} and a step of batch {batch} costs {step_gflop:.1} GFLOP; \
                     the limits are {} parameters and {} GFLOP a step: lower {knobs}",
                    limits::PARAMS,
                    limits::STEP_GFLOP
                ),
            ));
        }
        // The data comes before the first step: its cost is waited for, whatever the steps cost.
        let data_gflop = self.data_flops() / 1e9;
        if data_gflop > limits::DATA_GFLOP {
            errs.push(err(
                &keys::N,
                format!(
                    "generating {} costs {data_gflop:.1} GFLOP before the first step; the limit is {} GFLOP (a few \
                     seconds): lower {} or {}",
                    if self.task == Task::Sense {
                        format!("{0} measurements of a {1}×{1} matrix", self.points, self.planted.dim)
                    } else {
                        format!(
                            "{0} training and {0} validation samples of dimension {1}",
                            self.points, self.planted.dim
                        )
                    },
                    limits::DATA_GFLOP,
                    keys::N.name,
                    keys::DIM.name
                ),
            ));
        }
        if errs.len() > before {
            return;
        }
        let items = self.memory();
        let total: f64 = items.iter().map(|m| m.bytes).sum();
        if total > limits::MEMORY_BYTES {
            let mut sorted = items.clone();
            sorted.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
            let parts: Vec<String> = sorted
                .iter()
                .filter(|m| m.bytes >= 0.05 * total)
                .map(|m| format!("{} {}", m.what, bytes_text(m.bytes)))
                .collect();
            let (_, sizes) = self.arch().sized_by(self);
            let advice = match sorted[0].key.name {
                k if k == keys::CTX.name => "lower the context, heads or batch size".to_string(),
                k if k == keys::QCLIP.name => {
                    format!("choose {} or a smaller model", keys::QCLIP.is(Clip::Max.key()))
                }
                k if k == keys::N.name && self.task == Task::Sense => {
                    format!("lower {} or {}", keys::N.name, keys::DIM.name)
                }
                k if k == keys::N.name => format!("lower {} or the width", keys::N.name),
                _ => format!("lower {sizes}"),
            };
            errs.push(err(
                sorted[0].key,
                format!(
                    "the run would hold about {} in memory ({}); the limit is {} for a browser tab: {advice}",
                    bytes_text(total),
                    parts.join(", "),
                    bytes_text(limits::MEMORY_BYTES)
                ),
            ));
        }
        if errs.len() > before {
            return;
        }
        let scores = self.step_scores();
        if scores > limits::STEP_SCORES {
            errs.push(err(
                &keys::CTX,
                format!(
                    "attention scores {} token pairs a step (batch {batch} × {} heads × {}² tokens × {} block{}), \
                     each through a mask, a softmax and their gradients; the limit is {} a step: lower the \
                     context, heads or batch size",
                    count_text(scores),
                    self.gpt.heads,
                    self.input_dim(),
                    self.depth,
                    if self.depth == 1 { "" } else { "s" },
                    count_text(limits::STEP_SCORES)
                ),
            ));
        }
        let roundings = self.step_roundings();
        if roundings > limits::STEP_ROUNDINGS {
            errs.push(err(
                &keys::QMODE,
                format!(
                    "quantization-aware training rounds the model's {} weights {}a step ({} roundings); the limit \
                     is {} a step: choose {}, {} or a smaller model",
                    count_text(self.quantized_weights()),
                    self.trials_words(),
                    count_text(roundings),
                    count_text(limits::STEP_ROUNDINGS),
                    keys::QCLIP.is(Clip::Max.key()),
                    keys::QMODE.is(QMode::Ptq.key())
                ),
            ));
        }
        let analysis = self.analysis_roundings();
        if analysis > limits::ANALYSIS_ROUNDINGS {
            errs.push(err(
                &keys::QCLIP,
                format!(
                    "the end-of-run quantization figure rounds the model's {} weights at 7 bit-widths in 3 \
                     granularities{} ({} roundings); the limit is {}: {}",
                    count_text(self.quantized_weights()),
                    match self.quant.clip {
                        Clip::Mse => ", 16 clip trials each",
                        Clip::Max => "",
                    },
                    count_text(analysis),
                    count_text(limits::ANALYSIS_ROUNDINGS),
                    match self.quant.clip {
                        Clip::Mse => format!("choose {} or a smaller model", keys::QCLIP.is(Clip::Max.key())),
                        Clip::Max => "choose a smaller model".to_string(),
                    }
                ),
            ));
        }
        let gflop = self.training_flops() / 1e9;
        if gflop > limits::RUN_GFLOP {
            errs.push(err(
                &keys::STEPS,
                format!(
                    "the run needs about {gflop:.0} GFLOP of training ({} steps of {step_gflop:.2} GFLOP and their \
                     evaluations); the limit is {:.0} GFLOP (about five minutes on a laptop CPU): lower {}",
                    self.total_steps(),
                    limits::RUN_GFLOP,
                    if self.adaptation_steps() > 0 {
                        format!("{} or {}", keys::STEPS.name, keys::ASTEPS.name)
                    } else {
                        keys::STEPS.name.to_string()
                    }
                ),
            ));
        }
    }

    /// "16 times " under the MSE clip search, "" (once) without.
    fn trials_words(&self) -> &'static str {
        match self.quant.clip {
            Clip::Mse => "16 times (the MSE clip search) ",
            Clip::Max => "once ",
        }
    }
}
