//! What a config builds: input and output sizes, the linear layers and their names, parameter
//! counts (whole model and trainable in the adaptation phase), the steps of each phase and the
//! stored model's bytes. Validation, the costs (`cost`), the trainer and the charts all read
//! these, so a size is worked out in one place.

use super::family::Architecture;
use crate::knobs::ExperimentConfig;
use crate::knobs::task::Task;

/// Validation loss is evaluated every this many steps (and at the last step of each phase): often
/// enough for a smooth curve, rare enough not to double the work per step. The base interval: a
/// planted stream is evaluated every step, the char LM at a multiple of it (`eval_every`).
pub const EVAL_EVERY: usize = 10;

/// Evaluations a char-LM run keeps at least, however small its batches: fewer would not draw a
/// validation curve.
const MIN_TEXT_EVALS: usize = 5;

impl ExperimentConfig {
    /// Steps between validation losses: every step for a planted stream, whose batch sweep counts
    /// the steps to reach a loss (`plot::critical`) and must not round them to tens; for the char
    /// LM the first multiple of [`EVAL_EVERY`] whose training outweighs an evaluation
    /// ([`Self::text_eval_every`]); else [`EVAL_EVERY`].
    pub fn eval_every(&self) -> usize {
        match self.task {
            Task::Planted if self.planted.stream => 1,
            Task::Text => self.text_eval_every(),
            _ => EVAL_EVERY,
        }
    }

    /// The char LM's validation is 16,384 characters, four times the other tasks' (for its
    /// standard error, `knobs::sequence::TEXT_VAL_TOKENS`), and its training accuracy 4,096 more:
    /// with small batches, scoring that every 10 steps cost more than the training it watched
    /// (`gpt-width`, 16 windows of 32: 20,480 characters scored against 5,120 trained on, ≈ 15,360
    /// in forward passes — a forward and a backward are ≈ 3 — about 60 % of the preset's work,
    /// #32). So it is scored every 10, 20, 30 … steps: the first interval whose training is at
    /// least the scoring, but no longer than leaves [`MIN_TEXT_EVALS`] evaluations in the run.
    /// Batches of 32 windows of 64 (the reference link) keep 10.
    fn text_eval_every(&self) -> usize {
        use crate::knobs::sequence::{TEXT_VAL_TOKENS, VAL_TOKENS};
        let scored = TEXT_VAL_TOKENS + VAL_TOKENS;
        let trained = 3 * self.tokens_per_step() * EVAL_EVERY;
        let by_cost = scored.div_ceil(trained.max(1));
        let by_curve = self.total_steps() / (MIN_TEXT_EVALS * EVAL_EVERY);
        EVAL_EVERY * by_cost.min(by_curve).max(1)
    }

    /// The family this experiment trains, as the experiment's arithmetic sees it: the
    /// transformer for a sequence task (or `model=gpt`), the planted task's linear student, or
    /// the MLP.
    pub fn arch(&self) -> &'static dyn Architecture {
        use crate::knobs::arch::Family;
        match self.family() {
            Family::Gpt => &super::gpt::Gpt,
            Family::Factor => &super::factor::Factor,
            _ if self.task == Task::Planted => &super::planted::Planted,
            Family::Mlp | Family::Auto => &super::mlp::Mlp,
        }
    }

    /// Parameters of the model this config builds (weights and biases of every layer).
    pub fn parameter_estimate(&self) -> usize {
        self.arch().parameters(self)
    }

    /// Features per sample (tokens per example for a sequence task).
    pub fn input_dim(&self) -> usize {
        self.arch().input_dim(self)
    }

    /// Examples in a training step's batch: `bs`, or the whole training set where `bs` covers it
    /// (modadd's is the share `tfrac` of the p² sums); the char LM and a planted stream draw
    /// `bs` fresh examples whatever `n` is.
    pub fn batch_examples(&self) -> usize {
        let examples = match self.task {
            Task::Text => self.batch,
            Task::Planted if self.planted.stream => self.batch,
            Task::Modadd => self.seq.modadd_train(),
            Task::Table => self
                .own_table()
                .map_or(self.points, |t| crate::knobs::own::split(t.rows()).0),
            _ => self.points,
        };
        self.batch.min(examples).max(1)
    }

    /// Tokens a training step reads (the transformer; a vector counts as one).
    pub fn tokens_per_step(&self) -> usize {
        self.batch_examples() * self.arch().positions(self)
    }

    /// Whether the task is 2-D classification, so its decision boundary can be drawn.
    pub fn has_boundary(&self) -> bool {
        !self.task.is_sequence() && self.input_dim() == 2 && self.classes() > 0
    }

    /// Model outputs: classes, or the planted task's d.
    pub fn outputs(&self) -> usize {
        self.arch().outputs(self)
    }

    /// The names of the linear layers, in forward order (as the model names them).
    pub fn layer_names(&self) -> Vec<String> {
        self.arch().linears(self).into_iter().map(|(n, _, _)| n).collect()
    }

    /// What the coordinate check records, in its order (every linear layer; the transformer's
    /// embedding and attention logits too).
    pub fn coord_names(&self) -> Vec<String> {
        self.arch().coord_names(self)
    }

    /// (name, in, out) of every linear layer `target` selects, whatever the rank.
    fn targeted_layers(&self) -> Vec<(String, usize, usize)> {
        self.arch()
            .linears(self)
            .into_iter()
            .enumerate()
            .filter(|(i, (name, _, _))| self.lora.target.includes(*i, name))
            .map(|(_, l)| l)
            .collect()
    }

    /// The names of the layers the adapters attach to (none without a positive rank).
    pub fn adapted_layer_names(&self) -> Vec<String> {
        if self.lora.rank.adapter().is_none() {
            return Vec::new();
        }
        self.targeted_layers().into_iter().map(|(n, _, _)| n).collect()
    }

    /// (in, out) of every linear layer, in forward order.
    pub fn layer_dims(&self) -> Vec<(usize, usize)> {
        self.arch()
            .linears(self)
            .into_iter()
            .map(|(_, i, o)| (i, o))
            .collect()
    }

    /// Scalars the adaptation phase trains (the whole model without one, or for rank 0):
    /// r·(in + out) per adapted layer with both factors. A sparse run counts what trains after
    /// its cut: the model less the linear weights removed (exact for a magnitude mask; for a
    /// random one its expected count, ⌊(1 − p)·n⌉ kept).
    pub fn trainable_params(&self) -> usize {
        use crate::knobs::prune::{Criterion, kept};
        let sp = &self.sparse;
        if sp.enabled() && self.lora.rank.adapter().is_none() {
            let sizes: Vec<usize> = self.layer_dims().iter().map(|(i, o)| i * o).collect();
            let n: usize = sizes.iter().sum();
            let p = sp.sparsity();
            let removed = match sp.rule {
                Criterion::Layer => sizes.iter().map(|&s| s - kept(s, p)).sum(),
                Criterion::Global | Criterion::Random => n - kept(n, p),
            };
            return self.parameter_estimate() - removed;
        }
        match self.lora.rank {
            crate::knobs::lora::Rank::Subspace(d) => return d.get(),
            crate::knobs::lora::Rank::Bias => return self.bias_terms(),
            _ => {}
        }
        match self.lora.rank.adapter() {
            None => self.parameter_estimate(),
            Some(r) => self
                .targeted_layers()
                .into_iter()
                .map(|(_, i, o)| crate::knobs::lora::adapter_params(i, o, r, self.lora.train))
                .sum(),
        }
    }

    /// Bias terms of the model: one per output of each linear layer (the MLP's layers all have
    /// a bias; bias-only tuning is refused for the other families).
    pub fn bias_terms(&self) -> usize {
        self.layer_dims().iter().map(|&(_, o)| o).sum()
    }

    /// The (d_in, d_out) of every layer the adapters attach to (none without a positive rank).
    pub(super) fn adapted_dims(&self) -> Vec<(usize, usize)> {
        if self.lora.rank.adapter().is_none() {
            return Vec::new();
        }
        self.targeted_layers()
            .into_iter()
            .map(|(_, i, o)| (i, o))
            .collect()
    }

    /// The largest rank any adapted layer can use: an in×out layer's ΔW = B·A has rank at most
    /// min(in, out), so a higher rank only adds parameters (`None` without adapters).
    pub fn full_adapter_rank(&self) -> Option<usize> {
        self.adapted_dims().into_iter().map(|(i, o)| i.min(o)).max()
    }

    /// Steps before the adaptation phase begins (all of them when there is none).
    pub fn pretrain_steps(&self) -> usize {
        if self.lora.rank.adapts() && !self.pretrains() {
            0
        } else {
            self.steps
        }
    }

    /// Whether an adaptation phase (where there is one) follows a pre-training phase: not on
    /// the planted task (it adapts its teacher's W0 from the start) nor with `shift=none` (the
    /// phase trains the task itself from the initialisation).
    pub fn pretrains(&self) -> bool {
        self.task != Task::Planted && self.shift != crate::knobs::task::Shift::None
    }

    /// Steps of the run's first phase: pre-training where an adaptation phase follows it, else
    /// the whole run (the first data serve pre-training only when an adaptation task waits).
    pub fn first_phase_steps(&self) -> usize {
        if self.lora.rank.adapts() && self.pretrain_steps() > 0 {
            self.pretrain_steps()
        } else {
            self.total_steps()
        }
    }

    /// Steps of the whole run, pre-training and adaptation.
    pub fn total_steps(&self) -> usize {
        if self.lora.rank.adapts() && self.pretrains() {
            self.steps + self.adapt_steps
        } else {
            self.steps
        }
    }

    /// Bytes to store the model with its weights quantized (`quant`): packed codes, a 2-byte
    /// (fp16) scale per block (plus a 1-byte zero point for the asymmetric format) and f32 biases;
    /// all f32 without quantization.
    pub fn model_bytes(&self) -> usize {
        use crate::knobs::quant::Granularity;
        use crate::knobs::quant::QFormat;
        let q = &self.quant;
        if !q.enabled() {
            return self.float_bytes();
        }
        let bits = q.fmt.width(q.bits) as usize;
        let per_block = if q.fmt == QFormat::UInt { 3 } else { 2 };
        let mut dims = self.layer_dims();
        dims.extend(self.arch().extra_quantized(self));
        let biases = self.parameter_estimate() - dims.iter().map(|(i, o)| i * o).sum::<usize>();
        let weights: usize = dims
            .iter()
            .map(|&(i, o)| {
                let blocks = match q.gran {
                    Granularity::Tensor => 1,
                    Granularity::Channel => o,
                    Granularity::Group => o * i.div_ceil(q.group.max(1)),
                };
                (i * o * bits).div_ceil(8) + blocks * per_block
            })
            .sum();
        weights + 4 * biases
    }

    /// Bytes of the model in f32.
    pub fn float_bytes(&self) -> usize {
        4 * self.parameter_estimate()
    }

    /// Number of output classes of the task (a sequence task's alphabet).
    pub fn classes(&self) -> usize {
        match self.task.sequence() {
            Some(crate::knobs::sequence::SeqKind::Text)
                if let Some(d) = self.data.as_ref().filter(|d| d.text().is_some()) =>
            {
                d.symbols()
            }
            Some(kind) => self.seq.vocab(kind),
            None if self.task == Task::Table => self.own_table().map_or(0, |t| t.classes()),
            None => crate::knobs::task::classes(self.task),
        }
    }

    /// The text the char LM trains on instead of the plays, where this machine has it.
    pub fn own_text(&self) -> Option<&str> {
        self.data.as_ref()?.text()
    }

    /// The table `task=table` trains on, where this machine has it.
    pub fn own_table(&self) -> Option<&crate::knobs::own::Table> {
        self.data.as_ref()?.table()
    }
}
