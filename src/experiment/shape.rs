//! What a config builds: input and output sizes, the linear layers and their names, parameter
//! counts (whole model and trainable in the adaptation phase), the steps of each phase and the
//! stored model's bytes. Validation, the costs (`cost`), the trainer and the charts all read
//! these, so a size is worked out in one place.

use crate::knobs::ExperimentConfig;
use crate::knobs::task::Task;

/// Validation loss is evaluated every this many steps (and at the last step of each phase): often
/// enough for a smooth curve, rare enough not to double the work per step.
pub const EVAL_EVERY: usize = 10;

impl ExperimentConfig {
    /// Parameters of the model this config builds (weights and biases of every layer).
    pub fn parameter_estimate(&self) -> usize {
        if self.task == Task::Planted {
            return self.planted.dim * self.planted.dim;
        }
        if self.is_transformer() {
            return self.gpt.parameters(self.classes(), self.width, self.depth);
        }
        let (w, k) = (self.width, self.outputs());
        let input = self.input_dim() * w + w;
        let hidden = self.hidden_layers() * (w * w + w);
        input + hidden + w * k + k
    }

    /// Width × width layers: d − 1 in a plain MLP (whose input layer is its first hidden layer),
    /// one per residual block with `res` (d blocks on top of the input layer).
    pub fn hidden_layers(&self) -> usize {
        match self.residual {
            crate::knobs::arch::Residual::None => self.depth.saturating_sub(1),
            _ => self.depth,
        }
    }

    /// Features per sample (tokens per example for a sequence task).
    pub fn input_dim(&self) -> usize {
        match (self.task, self.task.sequence()) {
            (_, Some(kind)) => self.seq.seq_len(kind, self.gpt.ctx),
            (Task::Planted, _) => self.planted.dim,
            (Task::Digits, _) => crate::knobs::task::DIGIT_PIXELS,
            _ => 2,
        }
    }

    /// Whether the task is 2-D classification, so its decision boundary can be drawn.
    pub fn has_boundary(&self) -> bool {
        !self.task.is_sequence() && self.input_dim() == 2 && self.classes() > 0
    }

    /// Model outputs: classes, or the planted task's d.
    pub fn outputs(&self) -> usize {
        match self.task {
            Task::Planted => self.planted.dim,
            _ => self.classes(),
        }
    }

    /// Linear layers of the model (what LoRA's `target` selects by index or name).
    pub fn layer_count(&self) -> usize {
        self.layer_dims().len()
    }

    /// The model's name for layer `i` (as `Mlp::layers` and `Gpt::layers` name it).
    pub fn layer_name(&self, i: usize) -> String {
        if self.is_transformer() {
            return self
                .gpt
                .linear_layers(self.classes(), self.width, self.depth)
                .get(i)
                .map(|(n, _, _)| n.clone())
                .unwrap_or_default();
        }
        let last = self.layer_count() - 1;
        match i {
            _ if i == last => "readout".into(),
            0 => "input".into(),
            _ => format!("hidden.{i}"),
        }
    }

    /// (in, out) of every linear layer, in forward order.
    pub fn layer_dims(&self) -> Vec<(usize, usize)> {
        if self.task == Task::Planted {
            return vec![(self.planted.dim, self.planted.dim)];
        }
        if self.is_transformer() {
            return self
                .gpt
                .linear_layers(self.classes(), self.width, self.depth)
                .into_iter()
                .map(|(_, i, o)| (i, o))
                .collect();
        }
        let w = self.width;
        let mut v = vec![(self.input_dim(), w)];
        v.extend((0..self.hidden_layers()).map(|_| (w, w)));
        v.push((w, self.outputs()));
        v
    }

    /// Scalars the adaptation phase trains (the whole model without one, or for rank 0):
    /// r·(in + out) per adapted layer with both factors.
    pub fn trainable_params(&self) -> usize {
        match self.lora.rank.adapter() {
            None => self.parameter_estimate(),
            Some(r) => self
                .layer_dims()
                .iter()
                .enumerate()
                .filter(|(i, _)| self.lora.target.includes(*i, &self.layer_name(*i)))
                .map(|(_, &(i, o))| crate::knobs::lora::adapter_params(i, o, r, self.lora.train))
                .sum(),
        }
    }

    /// The (d_in, d_out) of every layer the adapters attach to (none without a positive rank).
    pub(super) fn adapted_dims(&self) -> Vec<(usize, usize)> {
        if self.lora.rank.adapter().is_none() {
            return Vec::new();
        }
        self.layer_dims()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| self.lora.target.includes(*i, &self.layer_name(*i)))
            .map(|(_, d)| d)
            .collect()
    }

    /// The largest rank any adapted layer can use: an in×out layer's ΔW = B·A has rank at most
    /// min(in, out), so a higher rank only adds parameters (`None` without adapters).
    pub fn full_adapter_rank(&self) -> Option<usize> {
        self.adapted_dims().into_iter().map(|(i, o)| i.min(o)).max()
    }

    /// Steps before the adaptation phase begins (all of them when there is none).
    pub fn pretrain_steps(&self) -> usize {
        if self.lora.rank.adapts() && self.task == Task::Planted {
            0
        } else {
            self.steps
        }
    }

    /// Steps of the whole run, pre-training and adaptation.
    pub fn total_steps(&self) -> usize {
        if self.lora.rank.adapts() && self.task != Task::Planted {
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
        if self.is_transformer() && q.embed {
            // [d, vocab] as the blocks see it: one channel per token.
            dims.push((self.width, self.classes()));
        }
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
            Some(kind) => self.seq.vocab(kind),
            None => crate::knobs::task::classes(self.task),
        }
    }
}
