//! The rows: every key of link format `v=1`, in the order links are written.

use super::spec::{Access, Control, Group, Key, Range, Slot, Ty};
use crate::knobs::arch::{Activation, Family, Residual};
use crate::knobs::gpt::{Norm, Pos};
use crate::knobs::lora::{AInit, Factors, ScaleRule, Target};
use crate::knobs::mup::Parameterization;
use crate::knobs::optim::OptimizerKind;
use crate::knobs::quant::{Clip, Granularity, QFormat, QMode};
use crate::knobs::schedule::Schedule;
use crate::knobs::task::{Shift, SvProfile, Task};
use crate::link::view::{BackendChoice, MAX_KNOBS, SweepMetric};
use crate::vocab::{Named, clip, format_number, parse_count, parse_flag, parse_number};

fn choices<N: Named + PartialEq>() -> Vec<(&'static str, &'static str)> {
    N::NAMES.iter().map(|(_, k, l)| (*k, *l)).collect()
}

fn bit_choices() -> Vec<(&'static str, &'static str)> {
    vec![
        ("32", "32 (float)"),
        ("8", "8"),
        ("7", "7"),
        ("6", "6"),
        ("5", "5"),
        ("4", "4"),
        ("3", "3"),
        ("2", "2"),
    ]
}

/// `knobs=r,bits` as written: distinct names, at most [`MAX_KNOBS`] (whether each is a knob is checked once
/// the whole link is read: `link::ladder::unknown_knob`).
fn parse_knob_list(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if out.iter().any(|n| n == name) {
            return Err(format!("{} is listed twice", clip(name)));
        }
        out.push(name.to_string());
    }
    if out.len() > MAX_KNOBS {
        return Err(format!(
            "at most {MAX_KNOBS} knobs fit a presenter's bar, got {}",
            out.len()
        ));
    }
    Ok(out)
}

/// Text of an optional count: `none` for no value.
fn opt_text(v: Option<usize>, none: &str) -> String {
    v.map_or_else(|| none.to_string(), |n| n.to_string())
}

/// Reads an optional count: `none` (or nothing) means absent; `also` is a second spelling.
fn parse_opt(s: &str, none: &str, also: &str) -> Result<Option<usize>, String> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case(none) || t.eq_ignore_ascii_case(also) {
        Ok(None)
    } else {
        parse_count(t).map(Some).map_err(|e| format!("{e} (or {none})"))
    }
}

fn parse_seed(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("'{}' is not a whole number ≥ 0", clip(s)))
}

fn parse_bits(s: &str) -> Result<u32, String> {
    s.trim()
        .parse::<u32>()
        .map_err(|_| format!("'{}' is not a whole number (2–8, or 32 for float)", clip(s)))
}

/// Getter and setter of an experiment field, by how its value is written.
macro_rules! exp {
    (count $($f:ident).+) => {
        Slot::Experiment(Access {
            get: |c| c.$($f).+.to_string(),
            set: |c, s| {
                c.$($f).+ = parse_count(s)?;
                Ok(())
            },
        })
    };
    (number $($f:ident).+) => {
        Slot::Experiment(Access {
            get: |c| format_number(c.$($f).+),
            set: |c, s| {
                c.$($f).+ = parse_number(s)?;
                Ok(())
            },
        })
    };
    (named $($f:ident).+) => {
        Slot::Experiment(Access {
            get: |c| c.$($f).+.key().to_string(),
            set: |c, s| {
                c.$($f).+ = Named::parse_key(s)?;
                Ok(())
            },
        })
    };
    (flag $($f:ident).+) => {
        Slot::Experiment(Access {
            get: |c| u8::from(c.$($f).+).to_string(),
            set: |c, s| {
                c.$($f).+ = parse_flag(s)?;
                Ok(())
            },
        })
    };
}

/// Getter and setter of a view field.
macro_rules! view {
    (named $f:ident) => {
        Slot::View(Access {
            get: |v| v.$f.key().to_string(),
            set: |v, s| {
                v.$f = Named::parse_key(s)?;
                Ok(())
            },
        })
    };
    (flag $f:ident) => {
        Slot::View(Access {
            get: |v| u8::from(v.$f).to_string(),
            set: |v, s| {
                v.$f = parse_flag(s)?;
                Ok(())
            },
        })
    };
}

use Control as C;
use Range as R;

/// Every key of link format `v=1` (besides `v` itself), in the order links are written.
pub static KEYS: &[Key] = &[
    Key {
        name: "task",
        label: "Task",
        group: Group::Data,
        field: "task",
        what: "task",
        ty: Ty::Choice(choices::<Task>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "data set",
        slot: exp!(named task),
    },
    Key {
        name: "n",
        label: "Points",
        group: Group::Data,
        field: "points",
        what: "training points",
        ty: Ty::Count,
        range: Some(R::Count(8, 8192)),
        sweepable: true,
        control: C::Number,
        help: "training points (validation draws as many fresh ones)",
        slot: exp!(count points),
    },
    Key {
        name: "w",
        label: "Width",
        group: Group::Model,
        field: "width",
        what: "width",
        ty: Ty::Count,
        range: Some(R::Count(1, 4096)),
        sweepable: true,
        control: C::Number,
        help: "MLP hidden width",
        slot: exp!(count width),
    },
    Key {
        name: "d",
        label: "Hidden layers",
        group: Group::Model,
        field: "depth",
        what: "hidden layers",
        ty: Ty::Count,
        range: Some(R::Count(1, 32)),
        sweepable: true,
        control: C::Number,
        help: "hidden layers (residual blocks with res)",
        slot: exp!(count depth),
    },
    Key {
        name: "res",
        label: "Residual",
        group: Group::Model,
        field: "residual",
        what: "residual option",
        ty: Ty::Choice(choices::<Residual>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "plain MLP, or residual blocks h ← h + β·φ(W·h + b) with β = 1 or 1/√L",
        slot: exp!(named residual),
    },
    Key {
        name: "act",
        label: "Activation",
        group: Group::Model,
        field: "act",
        what: "activation",
        ty: Ty::Choice(choices::<Activation>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "activation",
        slot: exp!(named act),
    },
    Key {
        name: "opt",
        label: "Optimizer",
        group: Group::Optimizer,
        field: "opt",
        what: "optimizer",
        ty: Ty::Choice(choices::<OptimizerKind>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "optimizer (Adam ε = 1e-8 as in PyTorch)",
        slot: exp!(named opt),
    },
    Key {
        name: "lr",
        label: "Learning rate",
        group: Group::Optimizer,
        field: "lr",
        what: "learning rate",
        ty: Ty::Number,
        range: Some(R::Number(1e-7, 10.0)),
        sweepable: true,
        control: C::Text,
        help: "learning rate, e.g. 0.01, 1e-3 or 2^-7",
        slot: exp!(number lr),
    },
    Key {
        name: "bs",
        label: "Batch size",
        group: Group::Optimizer,
        field: "batch",
        what: "batch size",
        ty: Ty::Count,
        range: Some(R::Count(1, 8192)),
        sweepable: true,
        control: C::Number,
        help: "batch size (≥ points: full batch)",
        slot: exp!(count batch),
    },
    Key {
        name: "steps",
        label: "Steps",
        group: Group::Optimizer,
        field: "steps",
        what: "steps",
        ty: Ty::Count,
        range: Some(R::Count(1, 100_000)),
        sweepable: true,
        control: C::Number,
        help: "optimizer steps (of pre-training, when there is an adaptation phase)",
        slot: exp!(count steps),
    },
    Key {
        name: "seed",
        label: "Seed",
        group: Group::Data,
        field: "seed",
        what: "seed",
        ty: Ty::Count,
        range: None,
        sweepable: true,
        control: C::Number,
        help: "seed for data, init and batch order (any u64)",
        slot: Slot::Experiment(Access {
            get: |c| c.seed.to_string(),
            set: |c, s| {
                c.seed = parse_seed(s)?;
                Ok(())
            },
        }),
    },
    Key {
        name: "sched",
        label: "Schedule",
        group: Group::Optimizer,
        field: "sched",
        what: "schedule",
        ty: Ty::Choice(choices::<Schedule>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "learning-rate schedule: const, warmup (linear, then constant), cosine (warm-up, then cosine to 0)",
        slot: exp!(named sched),
    },
    Key {
        name: "warm",
        label: "Warm-up",
        group: Group::Optimizer,
        field: "warm",
        what: "warm-up steps",
        ty: Ty::Count,
        range: None,
        sweepable: true,
        control: C::Number,
        help: "linear warm-up steps (with sched=warmup or cosine; at most a phase's steps)",
        slot: exp!(count warm),
    },
    Key {
        name: "wd",
        label: "Weight decay",
        group: Group::Optimizer,
        field: "wd",
        what: "weight decay",
        ty: Ty::Number,
        range: Some(R::Number(0.0, 10.0)),
        sweepable: true,
        control: C::Text,
        help: "weight decay: Adam decoupled (AdamW), SGD L2 (as torch SGD)",
        slot: exp!(number wd),
    },
    Key {
        name: "param",
        label: "Scheme",
        group: Group::Scaling,
        field: "mup.param",
        what: "parameterization",
        ty: Ty::Choice(choices::<Parameterization>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "parameterization: standard (SP) or μP as the mup package computes it",
        slot: exp!(named mup.param),
    },
    Key {
        name: "bw",
        label: "Base width",
        group: Group::Scaling,
        field: "mup.base_width",
        what: "base width",
        ty: Ty::Count,
        range: Some(R::Count(1, 4096)),
        sweepable: true,
        control: C::Number,
        help: "μP base width: μP = SP at this width, m = w/bw",
        slot: exp!(count mup.base_width),
    },
    Key {
        name: "ain",
        label: "α_in",
        group: Group::Scaling,
        field: "mup.alpha_in",
        what: "input multiplier α_in",
        ty: Ty::Number,
        range: Some(R::Number(1e-6, 1e6)),
        sweepable: true,
        control: C::Text,
        help: "μP input multiplier α_in on the input layer's output",
        slot: exp!(number mup.alpha_in),
    },
    Key {
        name: "aout",
        label: "α_out",
        group: Group::Scaling,
        field: "mup.alpha_out",
        what: "output multiplier α_out",
        ty: Ty::Number,
        range: Some(R::Number(1e-6, 1e6)),
        sweepable: true,
        control: C::Text,
        help: "μP output multiplier α_out (MuReadout's output_mult, divided by m)",
        slot: exp!(number mup.alpha_out),
    },
    Key {
        name: "rzero",
        label: "zero-init readout (μP)",
        group: Group::Scaling,
        field: "mup.readout_zero",
        what: "zero-init readout",
        ty: Ty::Flag,
        range: None,
        sweepable: true,
        control: C::Check,
        help: "μP zero-init readout",
        slot: exp!(flag mup.readout_zero),
    },
    Key {
        name: "r",
        label: "Rank r",
        group: Group::Lora,
        field: "lora.rank",
        what: "LoRA rank",
        ty: Ty::Optional("none"),
        range: Some(R::Count(0, 4096)),
        sweepable: true,
        control: C::Text,
        help: "LoRA rank; none = no adaptation phase, 0 = full fine-tuning",
        slot: Slot::Experiment(Access {
            get: |c| opt_text(c.lora.rank, "none"),
            set: |c, s| {
                c.lora.rank = parse_opt(s, "none", "-")?;
                Ok(())
            },
        }),
    },
    Key {
        name: "alpha",
        label: "α",
        group: Group::Lora,
        field: "lora.alpha",
        what: "LoRA α",
        ty: Ty::Number,
        range: Some(R::Number(1e-6, 1e6)),
        sweepable: true,
        control: C::Text,
        help: "LoRA α",
        slot: exp!(number lora.alpha),
    },
    Key {
        name: "scale",
        label: "Scale γ",
        group: Group::Lora,
        field: "lora.scale",
        what: "γ rule",
        ty: Ty::Choice(choices::<ScaleRule>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "γ rule: std = α/r, rs = α/√r",
        slot: exp!(named lora.scale),
    },
    Key {
        name: "ainit",
        label: "A init",
        group: Group::Lora,
        field: "lora.ainit",
        what: "A init",
        ty: Ty::Choice(choices::<AInit>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "random factor's init: peft = U(±1/√in), inv = N(0, 1/r²)",
        slot: exp!(named lora.ainit),
    },
    Key {
        name: "train",
        label: "Trains",
        group: Group::Lora,
        field: "lora.train",
        what: "trained factors",
        ty: Ty::Choice(choices::<Factors>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "factors that train: ab, b (A frozen random), a (B frozen random, A = 0)",
        slot: exp!(named lora.train),
    },
    Key {
        name: "lplus",
        label: "LoRA+ λ",
        group: Group::Lora,
        field: "lora.lplus",
        what: "LoRA+ ratio λ",
        ty: Ty::Number,
        range: Some(R::Number(1.0 / 1024.0, 1024.0)),
        sweepable: true,
        control: C::Text,
        help: "LoRA+ ratio λ: lr(B) = λ · lr(A) (1 = plain LoRA)",
        slot: exp!(number lora.lplus),
    },
    Key {
        name: "target",
        label: "Layers",
        group: Group::Lora,
        field: "lora.target",
        what: "adapted layers",
        ty: Ty::Text,
        range: None,
        sweepable: false,
        control: C::Text,
        help: "adapted layers: all, or indices from 0 (first) to the readout (0,3), or names as peft's target_modules: a layer (hidden.1), a role (input, hidden, readout)",
        slot: Slot::Experiment(Access {
            get: |c| c.lora.target.to_text(),
            set: |c, s| {
                c.lora.target = Target::parse(s)?;
                Ok(())
            },
        }),
    },
    Key {
        name: "asteps",
        label: "Adapt steps",
        group: Group::Lora,
        field: "adapt_steps",
        what: "adaptation steps",
        ty: Ty::Count,
        range: Some(R::Count(1, 100_000)),
        sweepable: true,
        control: C::Number,
        help: "adaptation steps after pre-training (the planted task has no pre-training)",
        slot: exp!(count adapt_steps),
    },
    Key {
        name: "shift",
        label: "Shift",
        group: Group::Lora,
        field: "shift",
        what: "shift",
        ty: Ty::Choice(choices::<Shift>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "adaptation task: rot (inputs turned 90°), flip (labels reversed)",
        slot: exp!(named shift),
    },
    Key {
        name: "pr",
        label: "Planted rank r*",
        group: Group::Planted,
        field: "planted.rank",
        what: "planted rank",
        ty: Ty::Count,
        range: None,
        sweepable: true,
        control: C::Number,
        help: "planted rank r* (1 to dim)",
        slot: exp!(count planted.rank),
    },
    Key {
        name: "dim",
        label: "Dimension d",
        group: Group::Planted,
        field: "planted.dim",
        what: "planted dimension",
        ty: Ty::Count,
        range: Some(R::Count(2, 512)),
        sweepable: true,
        control: C::Number,
        help: "planted input = output dimension d",
        slot: exp!(count planted.dim),
    },
    Key {
        name: "noise",
        label: "Noise std",
        group: Group::Planted,
        field: "planted.noise",
        what: "noise std",
        ty: Ty::Number,
        range: Some(R::Number(0.0, 10.0)),
        sweepable: true,
        control: C::Text,
        help: "planted label-noise std",
        slot: exp!(number planted.noise),
    },
    Key {
        name: "k",
        label: "Input subspace k",
        group: Group::Planted,
        field: "planted.k",
        what: "input subspace",
        ty: Ty::Optional("all"),
        range: None,
        sweepable: true,
        control: C::Text,
        help: "planted inputs in a random k-dimensional subspace (E3), 1 to dim; all = all d",
        slot: Slot::Experiment(Access {
            get: |c| opt_text(c.planted.k, "all"),
            set: |c, s| {
                c.planted.k = parse_opt(s, "all", "all")?;
                Ok(())
            },
        }),
    },
    Key {
        name: "sv",
        label: "σ profile",
        group: Group::Planted,
        field: "planted.sv",
        what: "singular-value profile",
        ty: Ty::Choice(choices::<SvProfile>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "planted singular values: lin 4·(r*−i+1)/r*, pow 4/i",
        slot: exp!(named planted.sv),
    },
    Key {
        name: "bits",
        label: "Bits",
        group: Group::Quant,
        field: "quant.bits",
        what: "bit-width",
        ty: Ty::Choice(bit_choices),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "bits per weight, 2 to 8; 32 = float (no quantization)",
        slot: Slot::Experiment(Access {
            get: |c| c.quant.bits.to_string(),
            set: |c, s| {
                c.quant.bits = parse_bits(s)?;
                Ok(())
            },
        }),
    },
    Key {
        name: "qfmt",
        label: "Format",
        group: Group::Quant,
        field: "quant.fmt",
        what: "number format",
        ty: Ty::Choice(choices::<QFormat>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "number format: int symmetric, uint asymmetric (zero point), nf4, e4m3, e5m2, e2m1 (the last four fix bits to 4 or 8)",
        slot: exp!(named quant.fmt),
    },
    Key {
        name: "qgran",
        label: "Scales",
        group: Group::Quant,
        field: "quant.gran",
        what: "scale granularity",
        ty: Ty::Choice(choices::<Granularity>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "scale granularity: tensor, channel (output channel), group",
        slot: exp!(named quant.gran),
    },
    Key {
        name: "qgs",
        label: "Group size",
        group: Group::Quant,
        field: "quant.group",
        what: "group size",
        ty: Ty::Count,
        range: Some(R::Count(1, 4096)),
        sweepable: true,
        control: C::Number,
        help: "group size: inputs per scale with per-group scales",
        slot: exp!(count quant.group),
    },
    Key {
        name: "qmode",
        label: "Mode",
        group: Group::Quant,
        field: "quant.mode",
        what: "quantization mode",
        ty: Ty::Choice(choices::<QMode>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "ptq after training, qat fake-quant + straight-through, qlora quantized frozen base under LoRA",
        slot: exp!(named quant.mode),
    },
    Key {
        name: "qclip",
        label: "Clipping",
        group: Group::Quant,
        field: "quant.clip",
        what: "clipping",
        ty: Ty::Choice(choices::<Clip>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "range: max (absmax) or mse (least-squares search)",
        slot: exp!(named quant.clip),
    },
    Key {
        name: "qout",
        label: "Outlier ×",
        group: Group::Quant,
        field: "quant.outlier",
        what: "outlier factor",
        ty: Ty::Number,
        range: Some(R::Number(1.0, 1000.0)),
        sweepable: true,
        control: C::Text,
        help: "outlier channel: one hidden unit × k before quantizing, compensated in the next layer (ReLU MLPs); 1 = off",
        slot: exp!(number quant.outlier),
    },
    Key {
        name: "qemb",
        label: "Quantize embedding",
        group: Group::Quant,
        field: "quant.embed",
        what: "embedding quantization",
        ty: Ty::Flag,
        range: None,
        sweepable: true,
        control: C::Check,
        help: "transformer: round the token embedding too (one scale per token under per-channel granularity); off keeps it float",
        slot: exp!(flag quant.embed),
    },
    Key {
        name: "coord",
        label: "Coord. check",
        group: Group::Scaling,
        field: "coord",
        what: "coordinate-check steps",
        ty: Ty::Count,
        range: Some(R::Count(0, 20)),
        sweepable: false,
        control: C::Number,
        help: "coordinate check: record the mean |output| of every layer after each of the first N steps (0 = off)",
        slot: exp!(count coord),
    },
    Key {
        name: "model",
        label: "Model",
        group: Group::Transformer,
        field: "model",
        what: "model",
        ty: Ty::Choice(choices::<Family>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "model family: mlp, gpt (a decoder-only transformer), or auto (mlp; gpt for the sequence tasks)",
        slot: exp!(named model),
    },
    Key {
        name: "heads",
        label: "Heads",
        group: Group::Transformer,
        field: "gpt.heads",
        what: "attention heads",
        ty: Ty::Count,
        range: Some(R::Count(1, 64)),
        sweepable: true,
        control: C::Number,
        help: "transformer: attention heads (w must be a multiple)",
        slot: exp!(count gpt.heads),
    },
    Key {
        name: "ctx",
        label: "Context",
        group: Group::Transformer,
        field: "gpt.ctx",
        what: "context length",
        ty: Ty::Count,
        range: Some(R::Count(2, 512)),
        sweepable: true,
        control: C::Number,
        help: "transformer: context length, at least the task's tokens per example",
        slot: exp!(count gpt.ctx),
    },
    Key {
        name: "mlpr",
        label: "MLP ratio",
        group: Group::Transformer,
        field: "gpt.mlp_ratio",
        what: "MLP ratio",
        ty: Ty::Count,
        range: Some(R::Count(1, 8)),
        sweepable: true,
        control: C::Number,
        help: "transformer: each block's MLP width as a multiple of w",
        slot: exp!(count gpt.mlp_ratio),
    },
    Key {
        name: "norm",
        label: "Norm",
        group: Group::Transformer,
        field: "gpt.norm",
        what: "norm",
        ty: Ty::Choice(choices::<Norm>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "transformer: layer (LayerNorm) or rms (RMSNorm), pre-norm",
        slot: exp!(named gpt.norm),
    },
    Key {
        name: "pos",
        label: "Positions",
        group: Group::Transformer,
        field: "gpt.pos",
        what: "positional encoding",
        ty: Ty::Choice(choices::<Pos>),
        range: None,
        sweepable: true,
        control: C::Select,
        help: "transformer: learned positions or rope (rotary, on queries and keys)",
        slot: exp!(named gpt.pos),
    },
    Key {
        name: "qkln",
        label: "qk-norm",
        group: Group::Transformer,
        field: "gpt.qk_norm",
        what: "qk-norm",
        ty: Ty::Flag,
        range: None,
        sweepable: true,
        control: C::Check,
        help: "transformer: normalise queries and keys per head (qk-layernorm)",
        slot: exp!(flag gpt.qk_norm),
    },
    Key {
        name: "zloss",
        label: "z-loss",
        group: Group::Transformer,
        field: "gpt.z_loss",
        what: "z-loss weight",
        ty: Ty::Number,
        range: Some(R::Number(0.0, 1.0)),
        sweepable: true,
        control: C::Text,
        help: "transformer: weight of the z-loss on log²Z of the output (PaLM; 1e-4 is usual; 0 = off)",
        slot: exp!(number gpt.z_loss),
    },
    Key {
        name: "tied",
        label: "tied readout",
        group: Group::Transformer,
        field: "gpt.tied",
        what: "tied readout",
        ty: Ty::Flag,
        range: None,
        sweepable: true,
        control: C::Check,
        help: "transformer: readout tied to the token embedding",
        slot: exp!(flag gpt.tied),
    },
    Key {
        name: "seqlen",
        label: "Sequence length",
        group: Group::Transformer,
        field: "seq.len",
        what: "sequence length",
        ty: Ty::Count,
        range: Some(R::Count(1, 128)),
        sweepable: true,
        control: C::Number,
        help: "copy, reverse, sort: symbols to read (the answer is as long)",
        slot: exp!(count seq.len),
    },
    Key {
        name: "syms",
        label: "Symbols",
        group: Group::Transformer,
        field: "seq.symbols",
        what: "alphabet size",
        ty: Ty::Count,
        range: Some(R::Count(2, 64)),
        sweepable: true,
        control: C::Number,
        help: "copy, reverse, sort: alphabet size",
        slot: exp!(count seq.symbols),
    },
    Key {
        name: "p",
        label: "Modulus p",
        group: Group::Transformer,
        field: "seq.modulus",
        what: "modulus",
        ty: Ty::Count,
        range: Some(R::Count(2, 257)),
        sweepable: true,
        control: C::Number,
        help: "modadd: the modulus p of a + b mod p",
        slot: exp!(count seq.modulus),
    },
    Key {
        name: "tfrac",
        label: "Train fraction",
        group: Group::Transformer,
        field: "seq.train_frac",
        what: "train fraction",
        ty: Ty::Number,
        range: Some(R::Number(0.01, 0.99)),
        sweepable: true,
        control: C::Text,
        help: "modadd: share of the p² sums that train; the rest validate (grokking: 0.3)",
        slot: exp!(number seq.train_frac),
    },
    Key {
        name: "backend",
        label: "Backend",
        group: Group::Run,
        field: "view.backend",
        what: "backend",
        ty: Ty::Choice(choices::<BackendChoice>),
        range: None,
        sweepable: false,
        control: C::Select,
        help: "page only: auto (the faster of WebGPU and the CPU, timed on the experiment; never a software adapter), webgpu, cpu",
        slot: view!(named backend),
    },
    Key {
        name: "ylog",
        label: "log-scale loss",
        group: Group::Run,
        field: "view.log_y",
        what: "log-scale loss",
        ty: Ty::Flag,
        range: None,
        sweepable: false,
        control: C::Check,
        help: "view: log-scale loss axis",
        slot: view!(flag log_y),
    },
    Key {
        name: "xlog",
        label: "log-scale steps",
        group: Group::Run,
        field: "view.log_x",
        what: "log-scale steps",
        ty: Ty::Flag,
        range: None,
        sweepable: false,
        control: C::Check,
        help: "view: log-scale step axis",
        slot: view!(flag log_x),
    },
    Key {
        name: "metric",
        label: "Sweep plots",
        group: Group::Run,
        field: "view.metric",
        what: "sweep metric",
        ty: Ty::Choice(choices::<SweepMetric>),
        range: None,
        sweepable: false,
        control: C::Select,
        help: "view: what sweep charts compare runs by, the final or the best (early-stopped) validation loss",
        slot: view!(named metric),
    },
    Key {
        name: "present",
        label: "Present",
        group: Group::Run,
        field: "view.present",
        what: "presenter mode",
        ty: Ty::Flag,
        range: None,
        sweepable: false,
        control: C::Check,
        help: "view: presenter mode, the charts full screen in large type with only the knobs= bar (P key)",
        slot: view!(flag present),
    },
    Key {
        name: "knobs",
        label: "Presenter knobs",
        group: Group::Run,
        field: "view.knobs",
        what: "presenter knobs",
        ty: Ty::Text,
        range: None,
        sweepable: false,
        control: C::Text,
        help: "view: the knobs presenter mode shows, link keys separated by ',' (e.g. r,bits; at most 4)",
        slot: Slot::View(Access {
            get: |v| v.knobs.join(","),
            set: |v, s| {
                v.knobs = parse_knob_list(s)?;
                Ok(())
            },
        }),
    },
    Key {
        name: "embed",
        label: "Embed",
        group: Group::Run,
        field: "view.embed",
        what: "embed mode",
        ty: Ty::Flag,
        range: None,
        sweepable: false,
        control: C::Check,
        help: "view: embed mode for an iframe, the charts and a compact bar of the knobs= only",
        slot: view!(flag embed),
    },
    Key {
        name: "deck",
        label: "Deck",
        group: Group::Run,
        field: "view.deck",
        what: "deck",
        ty: Ty::Text,
        range: None,
        sweepable: false,
        control: C::Text,
        help: "view: a talk's slides, preset ids or links separated by ',' (e.g. e1,e4); ←/→ or PageUp/PageDown step it",
        slot: Slot::View(Access {
            get: |v| crate::link::deck::list_text(&v.deck),
            set: |v, s| {
                v.deck = crate::link::deck::parse_list(s)?;
                Ok(())
            },
        }),
    },
    Key {
        name: "slide",
        label: "Slide",
        group: Group::Run,
        field: "view.slide",
        what: "slide",
        ty: Ty::Count,
        range: Some(R::Count(1, crate::link::deck::MAX_SLIDES)),
        sweepable: false,
        control: C::Number,
        help: "view: the deck's slide on screen, from 1",
        slot: Slot::View(Access {
            get: |v| v.slide.to_string(),
            set: |v, s| {
                let n: usize = s
                    .trim()
                    .parse()
                    .map_err(|_| format!("'{}' is not a slide number", clip(s)))?;
                if !(1..=crate::link::deck::MAX_SLIDES).contains(&n) {
                    return Err(format!(
                        "slide {n} is outside 1–{}",
                        crate::link::deck::MAX_SLIDES
                    ));
                }
                v.slide = n;
                Ok(())
            },
        }),
    },
    Key {
        name: "sweep",
        label: "Sweep",
        group: Group::Run,
        field: "sweep",
        what: "sweep",
        ty: Ty::Text,
        range: None,
        sweepable: false,
        control: C::Text,
        help: "up to three knobs (x axis, curves, panels) plus seed: key:values separated by ';', a list (a,b,c) or a range lo..hi*factor / lo..hi+step",
        slot: Slot::Sweep,
    },
];
