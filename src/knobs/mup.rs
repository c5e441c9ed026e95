//! Learning-rate scaling, the second knob (docs/KNOBS.md §3): standard parameterization vs μP, as
//! small pure functions of a parameter's place in the model and the width multiplier
//! m = width / base width. The model asks them for init scales and forward multipliers, the
//! trainer for each parameter's learning rate and weight decay (Burn parameter groups).
//!
//! μP is what the `mup` package (1.0.0) computes, rule for rule; `tests/reference.rs` checks
//! these tables against fixtures made by `mup` itself (`scripts/fixtures.py`):
//! - `set_base_shapes` gives each parameter an [`InfShape`]: which of its dimensions grow with
//!   width. Two: matrix-like (hidden weights). One: vector-like (input weights, hidden biases, the
//!   readout weight, a hidden layer's LoRA factors). None: scalar-like (the readout bias, the
//!   input layer's LoRA A, the readout's LoRA B).
//! - MuAdam / MuAdamW: matrix-like lr η/m and weight decay wd·m (so lr·wd does not depend on
//!   width); everything else η, wd.
//! - MuSGD: vector-like lr η·m and wd/m; matrix-like lr η·(fan-out mult / fan-in mult) = η for a
//!   square hidden weight; scalar-like η, wd.
//! - MuReadout computes Linear(α_out·x/m): the readout's *input* is scaled, its bias is not.
//! - Without a zero readout, `set_base_shapes` multiplies the readout's weight and bias by √m and
//!   every other bias by √(fan-in mult); tinytune's biases start at zero, so only the readout
//!   weight's std changes: √m/√width = 1/√(base width).
//! - α_in multiplies the input layer's output (a model-side multiplier, as in mup's examples).
//!
//! With m = 1 and α_in = α_out = 1 every factor is 1, so μP at the base width is SP exactly.

use crate::knobs::optim::OptimizerKind;
use crate::vocab::Named;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Parameterization {
    /// One learning rate and decay for all, fan-in init, no multipliers.
    #[default]
    Standard,
    /// Maximal-update parameterization (Tensor Programs V).
    MuP,
}

impl Named for Parameterization {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Parameterization::Standard, "sp", "standard (SP)"),
        (Parameterization::MuP, "mup", "μP"),
    ];
}

/// The μP knobs (link keys `param`, `bw`, `ain`, `aout`, `rzero`, and the transformer's `qzero`,
/// `amult`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MupConfig {
    pub param: Parameterization,
    /// The width at which μP and SP coincide (where a learning rate was tuned).
    pub base_width: usize,
    /// α_in: multiplier on the input layer's output.
    pub alpha_in: f64,
    /// α_out: multiplier on the readout's input (divided by m under μP, as MuReadout does).
    pub alpha_out: f64,
    /// Start the readout at zero (`MuReadout(readout_zero_init=True)`).
    pub readout_zero: bool,
    /// Start the transformer's query projections at zero, as `mup`'s Transformer example does
    /// and its README recommends (the attention logits then start at zero at every width).
    pub query_zero: bool,
    /// `mup`'s `attn_mult`: attention logits q·k·√attn_mult/d_head under μP. 0 means the head
    /// width at the base width, so μP's scale equals SP's 1/√d_head there (the README's
    /// "8/d … backward compatible with 1/√d when d = 64"); `mup`'s example defaults to 1.
    pub attn_mult: f64,
}

impl Default for MupConfig {
    fn default() -> Self {
        Self {
            param: Parameterization::Standard,
            base_width: 64,
            alpha_in: 1.0,
            alpha_out: 1.0,
            readout_zero: false,
            query_zero: true,
            attn_mult: 0.0,
        }
    }
}

/// A linear layer's place in the MLP, which decides which of its dimensions grow with width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// data → width: fan-in fixed, fan-out grows.
    Input,
    /// width → width: both grow.
    Hidden,
    /// width → outputs: fan-in grows, fan-out fixed.
    Readout,
    /// A layer with no width at all (the planted task's linear student).
    Fixed,
}

impl Role {
    /// (fan-in grows, fan-out grows).
    fn grows(self) -> (bool, bool) {
        match self {
            Role::Input => (false, true),
            Role::Hidden => (true, true),
            Role::Readout => (true, false),
            Role::Fixed => (false, false),
        }
    }
}

/// Which tensor of a layer: its weight, its bias, or one of its LoRA factors
/// (A: [in, r], B: [r, out]; the rank never grows with width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Weight,
    Bias,
    LoraA,
    LoraB,
}

impl Part {
    /// The suffix tinytune (and the fixtures) name the tensor by: "hidden.1.weight".
    pub fn suffix(self) -> &'static str {
        match self {
            Part::Weight => "weight",
            Part::Bias => "bias",
            Part::LoraA => "lora_a",
            Part::LoraB => "lora_b",
        }
    }
}

/// `mup`'s InfShape of one tensor: the width multiplier of its fan-in and of its fan-out
/// dimension, `None` where the dimension does not grow (a bias has only a fan-out).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InfShape {
    pub fan_in: Option<f64>,
    pub fan_out: Option<f64>,
}

impl InfShape {
    /// How many dimensions grow: 2 matrix-like, 1 vector-like, 0 scalar-like.
    pub fn ninf(&self) -> usize {
        usize::from(self.fan_in.is_some()) + usize::from(self.fan_out.is_some())
    }

    /// `InfShape.width_mult()`: the fan-in's multiplier when it grows, else the fan-out's, else 1.
    pub fn width_mult(&self) -> f64 {
        self.fan_in.or(self.fan_out).unwrap_or(1.0)
    }
}

/// A parameter's learning rate and weight decay as factors on the base η and wd.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    pub lr: f64,
    pub wd: f64,
}

impl Rule {
    pub const ONE: Rule = Rule { lr: 1.0, wd: 1.0 };

    /// MuAdam(W) / MuSGD's scaling of a parameter of shape `s` (mup/optim.py).
    pub fn of(s: InfShape, opt: OptimizerKind) -> Rule {
        let m = s.width_mult();
        match (opt, s.ninf()) {
            (OptimizerKind::Adam, 2) => Rule { lr: 1.0 / m, wd: m },
            (OptimizerKind::Adam, _) => Rule::ONE,
            (OptimizerKind::Sgd, 1) => Rule { lr: m, wd: 1.0 / m },
            (OptimizerKind::Sgd, 2) => {
                let ratio = s.fan_in.unwrap_or(1.0) / s.fan_out.unwrap_or(1.0);
                Rule {
                    lr: 1.0 / ratio,
                    wd: ratio,
                }
            }
            (OptimizerKind::Sgd, _) => Rule::ONE,
        }
    }
}

impl MupConfig {
    /// Whether μP is on (otherwise every factor is SP's 1).
    pub fn mup(&self) -> bool {
        self.param == Parameterization::MuP
    }

    /// m = width / base width under μP; 1 under SP.
    pub fn width_mult(&self, width: usize) -> f64 {
        if self.mup() {
            width as f64 / self.base_width.max(1) as f64
        } else {
            1.0
        }
    }

    /// The InfShape `set_base_shapes` gives `part` of a `role` layer (SP: nothing grows).
    pub fn inf_shape(&self, role: Role, part: Part, width: usize) -> InfShape {
        if !self.mup() {
            return InfShape {
                fan_in: None,
                fan_out: None,
            };
        }
        let m = self.width_mult(width);
        let (grows_in, grows_out) = role.grows();
        let dim = |grows: bool| grows.then_some(m);
        match part {
            Part::Weight => InfShape {
                fan_in: dim(grows_in),
                fan_out: dim(grows_out),
            },
            Part::Bias => InfShape {
                fan_in: None,
                fan_out: dim(grows_out),
            },
            // A: fan-in = the layer's, fan-out = the rank; B: fan-in = the rank, fan-out = the layer's.
            Part::LoraA => InfShape {
                fan_in: dim(grows_in),
                fan_out: None,
            },
            Part::LoraB => InfShape {
                fan_in: None,
                fan_out: dim(grows_out),
            },
        }
    }

    /// The learning-rate and weight-decay factors of `part` of a `role` layer under `opt`.
    pub fn rule(&self, role: Role, part: Part, opt: OptimizerKind, width: usize) -> Rule {
        Rule::of(self.inf_shape(role, part, width), opt)
    }

    /// The factor `set_base_shapes` puts on a parameter's SP init: √m on the readout's weight and
    /// bias (MuReadout), √(fan-in mult) on every other bias, 1 elsewhere.
    pub fn init_mult(&self, role: Role, part: Part, width: usize) -> f64 {
        let s = self.inf_shape(role, Part::Weight, width);
        match (role, part) {
            (Role::Readout, Part::Weight | Part::Bias) => s.width_mult().sqrt(),
            (_, Part::Bias) => s.fan_in.unwrap_or(1.0).sqrt(),
            _ => 1.0,
        }
    }

    /// Init standard deviation of a weight with `fan_in` inputs: N(0, 1/fan_in) in SP, times
    /// [`init_mult`](Self::init_mult); 0 for a zero readout. Biases start at 0 in both.
    pub fn init_std(&self, role: Role, part: Part, fan_in: usize, width: usize) -> f64 {
        match (role, part) {
            (_, Part::Bias) => 0.0,
            (Role::Readout, _) if self.mup() && self.readout_zero => 0.0,
            _ => self.init_mult(role, part, width) / (fan_in.max(1) as f64).sqrt(),
        }
    }

    /// Factor on a layer's input, before its weight (the bias is added unscaled): MuReadout's
    /// α_out/m.
    pub fn input_mult(&self, role: Role, width: usize) -> f64 {
        match role {
            Role::Readout if self.mup() => self.alpha_out / self.width_mult(width),
            _ => 1.0,
        }
    }

    /// The attention logits' scale for heads `head_dim` wide, `base_head_dim` at the base width:
    /// 1/√d_head under SP; √attn_mult/d_head under μP (`attn_mult` 0: the base head width).
    pub fn attention_scale(&self, head_dim: usize, base_head_dim: usize) -> f64 {
        let dh = head_dim.max(1) as f64;
        if !self.mup() {
            return 1.0 / dh.sqrt();
        }
        let mult = if self.attn_mult > 0.0 {
            self.attn_mult
        } else {
            base_head_dim.max(1) as f64
        };
        mult.sqrt() / dh
    }

    /// Whether the transformer's queries start at zero (μP with `qzero`).
    pub fn zero_queries(&self) -> bool {
        self.mup() && self.query_zero
    }

    /// The token embedding's init std when the readout is tied to it: `MuSharedReadout` is a
    /// `MuReadout`, so `set_base_shapes` multiplies the shared [vocab, d] weight by
    /// √(width mult) (its fan-in, d, grows); 1 (N(0, 1), torch's default) under SP.
    pub fn tied_embedding_std(&self, width: usize) -> f64 {
        self.width_mult(width).sqrt()
    }

    /// Factor on a layer's output, bias included: α_in on the input layer.
    pub fn output_mult(&self, role: Role) -> f64 {
        match role {
            Role::Input if self.mup() => self.alpha_in,
            _ => 1.0,
        }
    }
}
