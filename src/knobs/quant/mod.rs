//! Quantization, the third knob (docs/KNOBS.md §4), as settings: weights stored in fewer bits. `format`
//! holds the number formats and codebooks; applying them to a model is `model::quant` (the scalar
//! reference quantizer, the tensor one for the device with the straight-through estimator QAT
//! trains through, and Burn's native path).

pub mod format;

use crate::vocab::Named;
pub use format::QFormat;

/// Which values share a scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Granularity {
    #[default]
    Tensor,
    /// One scale per output channel (column of Burn's `[in, out]` weight).
    Channel,
    /// One scale per `group` consecutive inputs of an output channel.
    Group,
}

impl Named for Granularity {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Granularity::Tensor, "tensor", "per tensor"),
        (Granularity::Channel, "channel", "per output channel"),
        (Granularity::Group, "group", "per group"),
    ];
}

/// When the weights are quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum QMode {
    /// Post-training: train in float, quantize the weights, evaluate.
    #[default]
    Ptq,
    /// Quantization-aware training: fake-quantized weights in every forward, gradients passed
    /// straight through (w + detach(q(w) − w)).
    Qat,
    /// QLoRA-style: the pre-trained base is quantized and frozen, LoRA adapters train on top.
    Qlora,
}

impl Named for QMode {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (QMode::Ptq, "ptq", "PTQ (after training)"),
        (QMode::Qat, "qat", "QAT (fake-quant, straight-through)"),
        (QMode::Qlora, "qlora", "quantized base under LoRA"),
    ];
}

/// How a block's range is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Clip {
    /// The block's absolute maximum (min and max for the asymmetric format).
    #[default]
    Max,
    /// The range, 100 % down to 25 % of the maximum in 5 % steps, with the least squared error.
    Mse,
}

impl Named for Clip {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Clip::Max, "max", "absmax"),
        (Clip::Mse, "mse", "MSE-optimal search"),
    ];
}

/// The quantization knobs (link keys `bits`, `qfmt`, `qgran`, `qgs`, `qmode`, `qclip`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QuantConfig {
    /// Bits per weight; 32 = float (no quantization).
    pub bits: u32,
    pub fmt: QFormat,
    pub gran: Granularity,
    /// Group size for `Granularity::Group`.
    pub group: usize,
    pub mode: QMode,
    pub clip: Clip,
    /// Outlier channel: before quantizing, the first hidden unit is made this many times larger
    /// (compensated in the next layer, so the float model is unchanged); 1 = off.
    pub outlier: f64,
    /// The transformer's token embedding is rounded too (one scale per token's row under
    /// per-channel granularity, as torch quantizes `nn.Embedding`); off: it stays float, as
    /// most LLM quantizers leave it.
    pub embed: bool,
}

impl Default for QuantConfig {
    fn default() -> Self {
        Self {
            bits: 32,
            fmt: QFormat::Int,
            gran: Granularity::Tensor,
            group: 32,
            mode: QMode::Ptq,
            clip: Clip::Max,
            outlier: 1.0,
            embed: false,
        }
    }
}

pub mod limits {
    /// Integer bit-widths (32 = float); the key table's `bits` row lists them.
    pub const BITS: (u32, u32) = (2, 8);
}

impl QuantConfig {
    /// Whether weights are quantized at all.
    pub fn enabled(&self) -> bool {
        self.bits < 32
    }
}
