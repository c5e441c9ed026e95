//! The model's shape as settings: the family (MLP or transformer, link key `model`), activation and
//! residual blocks (`act`, `res`); width and depth are plain numbers of the experiment.

use crate::vocab::Named;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Activation {
    #[default]
    Relu,
    Tanh,
    Gelu,
}

impl Named for Activation {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Activation::Relu, "relu", "ReLU"),
        (Activation::Tanh, "tanh", "tanh"),
        (Activation::Gelu, "gelu", "GELU"),
    ];
}

/// Plain MLP or residual blocks, and the branch multiplier (link key `res`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Residual {
    #[default]
    None,
    /// h ← h + W·φ(h) + b.
    One,
    /// h ← h + (W·φ(h) + b)/√L.
    InvSqrtDepth,
}

impl Named for Residual {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Residual::None, "none", "plain MLP"),
        (Residual::One, "1", "residual, branch × 1"),
        (Residual::InvSqrtDepth, "isqrt", "residual, branch × 1/√L"),
    ];
}

impl Residual {
    /// β for `blocks` residual blocks; `None` for a plain MLP.
    pub fn branch_mult(self, blocks: usize) -> Option<f64> {
        match self {
            Residual::None => None,
            Residual::One => Some(1.0),
            Residual::InvSqrtDepth => Some(1.0 / (blocks.max(1) as f64).sqrt()),
        }
    }
}

/// Which model family trains (link key `model`). `auto` is the MLP for vector tasks and the
/// transformer for sequence tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Family {
    #[default]
    Auto,
    Mlp,
    Gpt,
    /// The factorised matrix X·Xᵀ or F·Gᵀ of the matrix-sensing task (`knobs::sensing`).
    Factor,
}

impl Named for Family {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Family::Auto, "auto", "auto (MLP, GPT or factors by task)"),
        (Family::Mlp, "mlp", "MLP"),
        (Family::Gpt, "gpt", "transformer (GPT)"),
        (Family::Factor, "factor", "factorised matrix (sensing)"),
    ];
}
