//! The rows: every key of link format `v=1`, in the order links are written, each a `static`
//! other code names it by (`keys::W`). A row is built by `Key::new(name, label, what, group,
//! access)` and the builder of `spec.rs`; the accessor macros below bind it to the field it sets, so the
//! compiler checks the field and its type.

use super::spec::{Access, Group::*, Key, Slot, Ty, choices};
use crate::knobs::ExperimentConfig;
use crate::knobs::lora::{Factors, Rank, Target};
use crate::knobs::mup::Parameterization;
use crate::knobs::quant::Granularity;
use crate::knobs::task::Task;
use crate::knobs::view::{Jobs, MAX_JOBS, MAX_KNOBS, MAX_STACK, Stack, View};
use crate::vocab::{Named, clip, format_number, parse_count, parse_flag, parse_number};

/// Every key, in the order links are written (`v` first).
pub static KEYS: &[&Key] = &[
    &V, &TASK, &N, &W, &D, &RES, &ACT, &OPT, &LR, &BS, &STEPS, &SEED, &SCHED, &WARM, &WD, &DECAY, &BETA1,
    &BETA2, &CLIP, &NORMS, &GNS, &PARAM, &BW, &AIN, &AOUT, &RZERO, &QZERO, &AMULT, &R, &ALPHA, &SCALE,
    &AINIT, &TRAIN, &LPLUS, &TARGET, &ASTEPS, &SHIFT, &PR, &DIM, &NOISE, &K, &SV, &XS, &STREAM, &FK, &FINIT,
    &FSYM, &BITS, &QFMT, &QGRAN, &QGS, &QMODE, &QCLIP, &QOUT, &QEMB, &PRUNE, &PKEEP, &PAT, &PFROM, &PREW,
    &PMASK, &PROUNDS, &COORD, &MODEL, &HEADS, &CTX, &MLPR, &NORM, &POS, &QKLN, &ZLOSS, &TIED, &SEQLEN, &SYMS,
    &P, &TFRAC, &BACKEND, &JOBS, &STACK, &YLOG, &XLOG, &METRIC, &REACH, &FIG, &PRESENT, &KNOBS, &EMBED,
    &DECK, &SLIDE, &SWEEP, &DATA,
];

/// The type of a named field's values, for its row: its (value, label) list.
const fn named<S, T: Named + PartialEq>(_field: fn(&S) -> T) -> Ty {
    Ty::Choice(choices::<T>)
}

/// The row's type and accessor of an experiment field, by how its value is written:
/// `exp!(count width)`, or `exp!(field.path: type, parse, show)` for the others.
macro_rules! exp {
    (count $($f:ident).+) => {
        exp!($($f).+: Ty::Count, parse_count, |v: &usize| v.to_string())
    };
    (number $($f:ident).+) => {
        exp!($($f).+: Ty::Number, parse_number, |v: &f64| format_number(*v))
    };
    (flag $($f:ident).+) => {
        exp!($($f).+: Ty::Flag, parse_flag, |v: &bool| u8::from(*v).to_string())
    };
    (named $($f:ident).+) => {
        (
            named(|c: &ExperimentConfig| c.$($f).+),
            Slot::Experiment(Access {
                field: stringify!($($f).+),
                get: |c| c.$($f).+.key().to_string(),
                set: |c, s, key| {
                    c.$($f).+ = Named::parse_key(s, key.what)?;
                    Ok(())
                },
            }),
        )
    };
    ($($f:ident).+: $ty:expr, $parse:expr, $show:expr) => {
        (
            $ty,
            Slot::Experiment(Access {
                field: stringify!($($f).+),
                get: |c| ($show)(&c.$($f).+),
                set: |c, s, _| {
                    c.$($f).+ = ($parse)(s)?;
                    Ok(())
                },
            }),
        )
    };
}

/// The same for a view field.
macro_rules! view {
    (named $f:ident) => {
        (
            named(|v: &View| v.$f),
            Slot::View(Access {
                field: stringify!($f),
                get: |v| v.$f.key().to_string(),
                set: |v, s, key| {
                    v.$f = Named::parse_key(s, key.what)?;
                    Ok(())
                },
            }),
        )
    };
    (flag $f:ident) => {
        view!($f: Ty::Flag, parse_flag, |v: &bool| u8::from(*v).to_string())
    };
    ($f:ident: $ty:expr, $parse:expr, $show:expr) => {
        (
            $ty,
            Slot::View(Access {
                field: stringify!($f),
                get: |v| ($show)(&v.$f),
                set: |v, s, _| {
                    v.$f = ($parse)(s)?;
                    Ok(())
                },
            }),
        )
    };
}

// Value text of the keys with their own syntax.

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

/// `knobs=r,bits` as written: distinct names, at most [`MAX_KNOBS`] (whether each is a knob is
/// checked once the whole link is read: `link::ladder::unknown_knob`).
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

/// The losses `reach` takes (a view key: the table's range check covers experiment keys only).
const REACH_RANGE: (f64, f64) = (1e-9, 1e6);

/// `auto` (or nothing) for the critical-batch figure's own choice, else a positive loss.
fn parse_reach(s: &str) -> Result<Option<f64>, String> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    let v = parse_number(t)?;
    if (REACH_RANGE.0..=REACH_RANGE.1).contains(&v) {
        Ok(Some(v))
    } else {
        Err(format!(
            "{} is not a loss between {} and {} (or auto)",
            clip(t),
            format_number(REACH_RANGE.0),
            format_number(REACH_RANGE.1)
        ))
    }
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

/// `none` (or `-`) for no adaptation phase, 0 for full fine-tuning, r for rank-r adapters,
/// `bias` for bias-only tuning, `sub<d>` for a d-dimensional random subspace.
fn parse_rank(s: &str) -> Result<Rank, String> {
    Rank::parse(s)
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

fn parse_slide(s: &str) -> Result<usize, String> {
    use crate::knobs::deck::MAX_SLIDES;
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("'{}' is not a slide number", clip(s)))?;
    if !(1..=MAX_SLIDES).contains(&n) {
        return Err(format!("slide {n} is outside 1–{MAX_SLIDES}"));
    }
    Ok(n)
}

// Where a key acts: why it changes nothing in a run of a config, shared by several rows.

fn planted_linear(c: &ExperimentConfig) -> Option<&'static str> {
    match c.task {
        Task::Planted => Some("the planted task trains one linear layer d×d (its size is dim)"),
        Task::Sense => Some("matrix sensing trains the factors of an n×n matrix (dim, fk, fsym)"),
        _ => None,
    }
}

fn no_pretraining(c: &ExperimentConfig) -> Option<&'static str> {
    if c.task == Task::Planted {
        return Some("the planted task has no pre-training: it adapts from the start for steps steps");
    }
    (c.shift == crate::knobs::task::Shift::None)
        .then_some("shift=none has no pre-training: the phase trains from the initialisation for steps steps")
}

fn no_adaptation(c: &ExperimentConfig) -> Option<&'static str> {
    (!c.lora.rank.adapts()).then_some("there is no adaptation phase: set a rank r")
}

fn no_adapter(c: &ExperimentConfig) -> Option<&'static str> {
    match c.lora.rank {
        Rank::None => no_adaptation(c),
        Rank::Full => Some("r = 0 fine-tunes every weight: there is no adapter"),
        Rank::Bias => Some("r = bias trains the biases: there is no adapter"),
        Rank::Subspace(_) => Some("r = sub<d> trains a random subspace: there is no adapter"),
        Rank::Lora(_) => None,
    }
}

fn sp(c: &ExperimentConfig) -> Option<&'static str> {
    no_width(c)
        .or_else(|| (c.mup.param == Parameterization::Standard).then_some("these are μP's: set param=mup"))
}

fn no_width(c: &ExperimentConfig) -> Option<&'static str> {
    match c.task {
        Task::Planted => Some("the planted task's linear student has no width: μP changes nothing"),
        Task::Sense => Some("the sensing task's factors have no width: μP changes nothing"),
        _ => None,
    }
}

fn float(c: &ExperimentConfig) -> Option<&'static str> {
    (!c.quant.enabled()).then_some("the weights stay float: set bits")
}

fn transformer(c: &ExperimentConfig) -> Option<&'static str> {
    (!c.is_transformer()).then_some("the transformer's: choose a sequence task")
}

fn modadd(c: &ExperimentConfig) -> Option<&'static str> {
    (c.task != Task::Modadd).then_some("for modadd")
}

fn not_planted(c: &ExperimentConfig) -> Option<&'static str> {
    (c.task != Task::Planted).then_some("for the planted task")
}

/// The planted matrix's keys serve matrix sensing too: its M* is planted the same way.
fn no_planted_matrix(c: &ExperimentConfig) -> Option<&'static str> {
    (!matches!(c.task, Task::Planted | Task::Sense)).then_some("for the planted and sensing tasks")
}

fn not_sensing(c: &ExperimentConfig) -> Option<&'static str> {
    (c.task != Task::Sense).then_some("for matrix sensing")
}

pub static V: Key = Key::new(
    "v",
    "Link version",
    "link version",
    Run,
    (Ty::Count, Slot::Version),
)
.help("link format version");

pub static TASK: Key = Key::new("task", "Task", "task", Data, exp!(named task))
    .sweep()
    .help("data set");

pub static N: Key = Key::new("n", "Points", "training points", Data, exp!(count points))
    .count(8, 8192)
    .sweep()
    .sizes()
    .unused(|c| match c.task {
        Task::Text => Some("the char LM draws fresh windows from the whole training text every batch"),
        Task::Modadd => Some("modadd trains on the share tfrac of all p² sums"),
        Task::Table => Some("your table trains on all its rows but a seeded fifth, which validates"),
        _ => None,
    })
    .help("training points (validation draws as many fresh ones, none of them a training point); sensing: the measurements m");

pub static W: Key = Key::new("w", "Width", "width", Model, exp!(count width))
    .count(1, 4096)
    .sweep()
    .sizes()
    .unused(planted_linear)
    .help("MLP hidden width");

pub static D: Key = Key::new("d", "Hidden layers", "hidden layers", Model, exp!(count depth))
    .count(1, 32)
    .sweep()
    .sizes()
    .unused(planted_linear)
    .help("hidden layers (residual blocks with res)");

pub static RES: Key = Key::new("res", "Residual", "residual option", Model, exp!(named residual))
    .sweep()
    .unused(planted_linear)
    .help("plain MLP, or residual blocks h ← h + β·(W·φ(h) + b) with β = 1 or 1/√L (the transformer: β on both branches of every block; none means 1)");

pub static ACT: Key = Key::new("act", "Activation", "activation", Model, exp!(named act))
    .sweep()
    .unused(|c| planted_linear(c).or_else(|| c.is_transformer().then_some("the transformer's MLP uses GELU")))
    .help("activation");

pub static OPT: Key = Key::new("opt", "Optimizer", "optimizer", Optimizer, exp!(named opt))
    .sweep()
    .help("optimizer (Adam ε = 1e-8 as in PyTorch)");

pub static LR: Key = Key::new("lr", "Learning rate", "learning rate", Optimizer, exp!(number lr))
    .number(1e-7, 100.0)
    .sweep()
    .help("learning rate, e.g. 0.01, 1e-3 or 2^-7 (up to 100: plain SGD on the planted task's squared error, averaged over d outputs, steps best near d/2 with isotropic inputs)");

pub static BS: Key = Key::new("bs", "Batch size", "batch size", Optimizer, exp!(count batch))
    .count(1, 8192)
    .sweep()
    .sizes()
    .help("batch size (≥ points: full batch)");

pub static STEPS: Key = Key::new("steps", "Steps", "steps", Optimizer, exp!(count steps))
    .count(1, 100_000)
    .sweep()
    .sizes()
    .help("optimizer steps (of pre-training, when there is an adaptation phase)");

pub static SEED: Key = Key::new(
    "seed",
    "Seed",
    "seed",
    Data,
    exp!(seed: Ty::Count, parse_seed, |v: &u64| v.to_string()),
)
.sweep()
.help("seed for data, init and batch order (any u64)");

pub static SCHED: Key = Key::new("sched", "Schedule", "schedule", Optimizer, exp!(named sched))
    .sweep()
    .sizes()
    .help(
        "learning-rate schedule: const, warmup (linear, then constant), cosine (warm-up, then cosine to 0)",
    );

pub static WARM: Key = Key::new("warm", "Warm-up", "warm-up steps", Optimizer, exp!(count warm))
    .sweep()
    .sizes()
    .help("linear warm-up steps (with sched=warmup or cosine; at most a phase's steps)");

pub static WD: Key = Key::new("wd", "Weight decay", "weight decay", Optimizer, exp!(number wd))
    .number(0.0, 10.0)
    .sweep()
    .help("weight decay: Adam decoupled (AdamW), SGD L2 (as torch SGD)");

pub static DECAY: Key = Key::new(
    "decay",
    "Decay on",
    "weight decay's tensors",
    Optimizer,
    exp!(named decay),
)
.sweep()
.unused(|c| (c.wd == 0.0).then_some("there is no weight decay: set wd"))
.help("which tensors weight decay acts on: all, or matrices (nanoGPT: none on biases and norm gains)");

fn no_moments(c: &ExperimentConfig) -> Option<&'static str> {
    (c.opt == crate::knobs::optim::OptimizerKind::Sgd).then_some("SGD keeps no moments: choose Adam")
}

pub static BETA1: Key = Key::new("beta1", "β₁", "Adam's β₁", Optimizer, exp!(number beta1))
    .number(0.5, 0.999)
    .sweep()
    .unused(no_moments)
    .help("Adam's first-moment decay β₁ (torch's betas[0])");

pub static BETA2: Key = Key::new("beta2", "β₂", "Adam's β₂", Optimizer, exp!(number beta2))
    .number(0.9, 0.99999)
    .sweep()
    .unused(no_moments)
    .help("Adam's second-moment decay β₂ (torch's betas[1]; nanoGPT uses 0.95)");

pub static CLIP: Key = Key::new("clip", "Gradient clip", "gradient clipping", Optimizer, exp!(number clip))
    .number(0.0, 1e6)
    .sweep()
    .help("gradient clipping: scale every gradient so their global norm is at most this, as torch's clip_grad_norm_ (0 = off)");

pub static NORMS: Key = Key::new("norms", "Norm traces", "norm traces", Optimizer, exp!(flag norms))
    .help("record every step's global gradient norm (before clipping) and update norm ‖Δθ‖, and draw them against step");

pub static GNS: Key = Key::new("gns", "Noise scale", "gradient noise scale", Optimizer, exp!(flag gns))
    .help("measure the gradient noise scale B_simple = tr(Σ)/|G|² every step from the gradients of the batch and of its first quarter (McCandlish et al. 2018's two-batch estimator; a quarter more work a step) and draw it against the loss");

pub static PARAM: Key = Key::new(
    "param",
    "Scheme",
    "parameterization",
    Scaling,
    exp!(named mup.param),
)
.sweep()
.unused(no_width)
.help("parameterization: standard (SP) or μP as the mup package computes it");

pub static BW: Key = Key::new(
    "bw",
    "Base width",
    "base width",
    Scaling,
    exp!(count mup.base_width),
)
.count(1, 4096)
.sweep()
.sizes()
.unused(sp)
.help("μP base width: m = w/bw; μP = SP at this width (the transformer: but for qzero's zero queries)");

pub static AIN: Key = Key::new(
    "ain",
    "α_in",
    "input multiplier α_in",
    Scaling,
    exp!(number mup.alpha_in),
)
.number(1e-6, 1e6)
.sweep()
.unused(sp)
.help("μP input multiplier α_in on the input layer's output (the transformer: tokens and positions)");

pub static AOUT: Key = Key::new(
    "aout",
    "α_out",
    "output multiplier α_out",
    Scaling,
    exp!(number mup.alpha_out),
)
.number(1e-6, 1e6)
.sweep()
.unused(sp)
.help("μP output multiplier α_out (MuReadout's output_mult, divided by m)");

pub static RZERO: Key = Key::new(
    "rzero",
    "zero-init readout (μP)",
    "zero-init readout",
    Scaling,
    exp!(flag mup.readout_zero),
)
.sweep()
.unused(sp)
.help("μP zero-init readout");

pub static QZERO: Key = Key::new(
    "qzero",
    "zero-init queries (μP)",
    "zero-init queries",
    Scaling,
    exp!(flag mup.query_zero),
)
.sweep()
.unused(|c| sp(c).or_else(|| transformer(c)))
.help("μP transformer: queries start at zero, as mup's Transformer example and README do (on by default)");

pub static AMULT: Key = Key::new(
    "amult",
    "attn_mult",
    "attention multiplier attn_mult",
    Scaling,
    exp!(number mup.attn_mult),
)
.number(0.0, 1e6)
.sweep()
.unused(|c| sp(c).or_else(|| transformer(c)))
.help("μP transformer: mup's attn_mult, logits q·k·√attn_mult/d_head; 0 = the head width at the base width, so μP's scale equals SP's there (mup's example: 1)");

pub static R: Key = Key::new(
    "r",
    "Rank r",
    "LoRA rank",
    Lora,
    exp!(lora.rank: Ty::Optional("none"), parse_rank, |v: &Rank| v.to_text()),
)
.count(0, 4096)
.sweep()
.help("LoRA rank; none = no adaptation phase, 0 = full fine-tuning, bias = only the biases train (BitFit), sub and a number d (e.g. sub300) = only a random d-dimensional subspace of all the weights trains");

pub static ALPHA: Key = Key::new("alpha", "α", "LoRA α", Lora, exp!(number lora.alpha))
    .number(1e-6, 1e6)
    .sweep()
    .unused(no_adapter)
    .help("LoRA α");

pub static SCALE: Key = Key::new(
    "scale",
    "Scale γ",
    "LoRA scale rule",
    Lora,
    exp!(named lora.scale),
)
.sweep()
.unused(no_adapter)
.help("γ rule: std = α/r, rs = α/√r");

pub static AINIT: Key = Key::new("ainit", "A init", "A init", Lora, exp!(named lora.ainit))
    .sweep()
    .unused(no_adapter)
    .help("random factor's init: peft = U(±1/√in), inv = N(0, 1/r²)");

pub static TRAIN: Key = Key::new(
    "train",
    "Trains",
    "trainable factors",
    Lora,
    exp!(named lora.train),
)
.sweep()
.unused(no_adapter)
.help("factors that train: ab, b (A frozen random), a (B frozen random, A = 0)");

pub static LPLUS: Key = Key::new("lplus", "LoRA+ λ", "LoRA+ ratio λ", Lora, exp!(number lora.lplus))
    .number(1.0 / 1024.0, 1024.0)
    .sweep()
    .unused(|c| {
        no_adapter(c).or_else(|| {
            (c.lora.train == Factors::AOnly).then_some("LoRA+ scales B's rate, and B is frozen (train=a)")
        })
    })
    .help("LoRA+ ratio λ: lr(B) = λ · lr(A) (1 = plain LoRA)");

pub static TARGET: Key = Key::new("target", "Layers", "adapted layers", Lora, exp!(lora.target: Ty::Text, Target::parse, Target::to_text))
    .sizes()
    .unused(no_adapter)
    .help("adapted layers: all, all-linear (peft's: all but the readout), indices from 0 (first) to the readout (0,3), or names as peft's target_modules: a layer (hidden.1, block.0.attn.q) or its last parts (q, attn.q), or a module holding layers (hidden, attn, block.1)");

pub static ASTEPS: Key = Key::new(
    "asteps",
    "Adapt steps",
    "adaptation steps",
    Lora,
    exp!(count adapt_steps),
)
.count(1, 100_000)
.sweep()
.sizes()
.unused(|c| no_adaptation(c).or_else(|| no_pretraining(c)))
.help("adaptation steps after pre-training (the planted task and shift=none have no pre-training)");

pub static SHIFT: Key = Key::new("shift", "Shift", "shift", Lora, exp!(named shift))
    .sweep()
    .unused(|c| {
        (c.task == Task::Planted)
            .then_some("the planted task has no pre-training: it adapts from the start for steps steps")
            .or_else(|| no_adaptation(c))
    })
    .help("adaptation task: rot (inputs turned 90°), flip (labels reversed), none (no pre-training: the phase r trains the task itself from the initialisation for steps steps)");

pub static PR: Key = Key::new(
    "pr",
    "Planted rank r*",
    "planted rank",
    Planted,
    exp!(count planted.rank),
)
.sweep()
.sizes()
.unused(no_planted_matrix)
.help("planted rank r* (1 to dim): of ΔW* (planted) or of M* (sensing)");

pub static DIM: Key = Key::new(
    "dim",
    "Dimension d",
    "planted dimension",
    Planted,
    exp!(count planted.dim),
)
.count(2, 512)
.sweep()
.sizes()
.unused(no_planted_matrix)
.help("planted input = output dimension d; sensing: the matrix side n (≤ 64)");

pub static NOISE: Key = Key::new(
    "noise",
    "Noise std",
    "noise std",
    Planted,
    exp!(number planted.noise),
)
.number(0.0, 10.0)
.sweep()
.unused(no_planted_matrix)
.help("planted label-noise std (sensing: measurement-noise std)");

pub static XS: Key = Key::new("xs", "Input spectrum", "input spectrum", Planted, exp!(number planted.xs))
    .number(0.0, 3.0)
    .sweep()
    .unused(not_planted)
    .help("planted: input direction i has variance ∝ i^−xs (averaging 1), so the loss's curvature spans a condition number of d^xs (k^xs in a subspace); 0 = isotropic");

pub static STREAM: Key = Key::new("stream", "Stream", "data stream", Planted, exp!(flag planted.stream))
    .sweep()
    .unused(not_planted)
    .help("planted: fresh training points every step from the teacher (no point read twice, whatever the batch and steps); n then sizes the validation set only");

pub static K: Key = Key::new("k", "Input subspace k", "input subspace", Planted, exp!(planted.k: Ty::Optional("all"), |s| parse_opt(s, "all", "all"), |v: &Option<usize>| opt_text(*v, "all")))
    .sweep()
    .sizes()
    .unused(not_planted)
    .help("planted inputs in a random k-dimensional subspace (E3), 1 to dim; all = all d");

pub static SV: Key = Key::new(
    "sv",
    "σ profile",
    "singular-value profile",
    Planted,
    exp!(named planted.sv),
)
.sweep()
.unused(no_planted_matrix)
.help("planted singular values: lin 4·(r*−i+1)/r*, pow 4/i (of ΔW*, or M*'s eigenvalues)");

pub static FK: Key = Key::new(
    "fk",
    "Factor rank k",
    "factor rank",
    Planted,
    exp!(sensing.rank: Ty::Optional("n"), |s| parse_opt(s, "n", "n"), |v: &Option<usize>| opt_text(*v, "n")),
)
.sweep()
.sizes()
.unused(not_sensing)
.help("sensing: columns k of each factor, 1 to dim (n = full rank); k > r* over-parameterises");

pub static FINIT: Key = Key::new(
    "finit",
    "Init scale α",
    "init scale",
    Planted,
    exp!(number sensing.init),
)
.number(1e-6, 10.0)
.sweep()
.unused(not_sensing)
.help("sensing: the factors start with entries N(0, α²/n), spectral norm about α");

pub static FSYM: Key = Key::new(
    "fsym",
    "Symmetric X·Xᵀ",
    "symmetric factors",
    Planted,
    exp!(flag sensing.symmetric),
)
.sweep()
.sizes()
.unused(not_sensing)
.help("sensing: M = X·Xᵀ (1) or F·Gᵀ (0, two factors)");

pub static BITS: Key = Key::new(
    "bits",
    "Bits",
    "bit-width",
    Quant,
    exp!(quant.bits: Ty::Choice(bit_choices), parse_bits, |v: &u32| v.to_string()),
)
.sweep()
.sizes()
.help("bits per weight, 2 to 8; 32 = float (no quantization)");

pub static QFMT: Key = Key::new("qfmt", "Format", "number format", Quant, exp!(named quant.fmt))
    .sweep()
    .unused(float)
    .help("number format: int symmetric, uint asymmetric (zero point), nf4, e4m3, e5m2, e2m1 (the last four fix bits to 4 or 8)");

pub static QGRAN: Key = Key::new(
    "qgran",
    "Scales",
    "scale granularity",
    Quant,
    exp!(named quant.gran),
)
.sweep()
.unused(float)
.help("scale granularity: tensor, channel (output channel), group");

pub static QGS: Key = Key::new("qgs", "Group size", "group size", Quant, exp!(count quant.group))
    .count(1, 4096)
    .sweep()
    .unused(|c| {
        float(c).or_else(|| (c.quant.gran != Granularity::Group).then_some("a group size is for qgran=group"))
    })
    .help("group size: inputs per scale with per-group scales");

pub static QMODE: Key = Key::new(
    "qmode",
    "Mode",
    "quantization mode",
    Quant,
    exp!(named quant.mode),
)
.sweep()
.sizes()
.unused(float)
.help("ptq after training, qat fake-quant + straight-through, qlora quantized frozen base under LoRA");

pub static QCLIP: Key = Key::new("qclip", "Clipping", "clipping", Quant, exp!(named quant.clip))
    .sweep()
    .sizes()
    .unused(float)
    .help("range: max (absmax) or mse (least-squares search)");

pub static QOUT: Key = Key::new("qout", "Outlier ×", "outlier factor", Quant, exp!(number quant.outlier))
    .number(1.0, 1000.0)
    .sweep()
    .unused(|c| float(c).or_else(|| (c.is_transformer() || matches!(c.task, Task::Planted | Task::Sense)).then_some("an outlier channel is for a plain ReLU MLP")))
    .help("outlier channel: one hidden unit × k before quantizing, compensated in the next layer (ReLU MLPs); 1 = off");

pub static QEMB: Key = Key::new("qemb", "Quantize embedding", "embedding quantization", Quant, exp!(flag quant.embed))
    .sweep()
    .unused(|c| float(c).or_else(|| (!c.is_transformer()).then_some("only the transformer has a token embedding")))
    .help("transformer: round the token embedding too (one scale per token under per-channel granularity); off keeps it float");

pub static PRUNE: Key = Key::new("prune", "Prune at the end", "pruning", Quant, exp!(flag prune))
    .sweep()
    .help("score the trained model pruned to sparsity 0–0.99 by magnitude (global, per layer), at random, and its fine-tuned Δ by DARE, drops and magnitude");

fn dense(c: &ExperimentConfig) -> Option<&'static str> {
    (!c.sparse.enabled()).then_some("no weights are cut: set pkeep below 1")
}

pub static PKEEP: Key = Key::new("pkeep", "Weights kept", "share of weights kept", Quant, exp!(number sparse.keep))
    .number(0.001, 1.0)
    .sweep()
    .sizes()
    .help("sparse run: the share of the linear weights kept at step pat (1 = no cut); training goes on with the mask held");

pub static PAT: Key = Key::new(
    "pat",
    "Cut at step",
    "step of the cut",
    Quant,
    exp!(count sparse.at),
)
.count(0, 100_000)
.sweep()
.sizes()
.unused(dense)
.help("sparse run: the step at which the weights are cut (0 = the initial weights: pruning at init)");

pub static PFROM: Key = Key::new("pfrom", "Kept weights from", "start of the kept weights", Quant, exp!(named sparse.from))
    .sweep()
    .unused(dense)
    .help("sparse run: the kept weights go on from their trained values (fine-tune) or from step prew (rewind: the lottery ticket)");

pub static PREW: Key = Key::new(
    "prew",
    "Rewind to step",
    "rewind step",
    Quant,
    exp!(count sparse.rewind),
)
.count(0, 100_000)
.sweep()
.sizes()
.unused(|c| {
    dense(c).or_else(|| {
        (c.sparse.from != crate::knobs::prune::Start::Rewind)
            .then_some("the kept weights are not rewound: set pfrom=rewind")
    })
})
.help("sparse run: the step whose weights a rewound ticket restarts from (0 = the initial weights)");

pub static PMASK: Key = Key::new(
    "pmask",
    "Cut by",
    "pruning criterion",
    Quant,
    exp!(named sparse.rule),
)
.sweep()
.unused(dense)
.help("sparse run: which weights survive: global or per-layer magnitude, or random (the control)");

pub static PROUNDS: Key = Key::new("prounds", "Pruning rounds", "pruning rounds", Quant, exp!(count sparse.rounds))
    .count(1, 10)
    .sweep()
    .sizes()
    .unused(dense)
    .help("sparse run: cut in R rounds evenly spaced from step pat, each keeping pkeep^(1/R) of what is left (iterative magnitude pruning)");

pub static COORD: Key = Key::new(
    "coord",
    "Coord. check",
    "coordinate-check steps",
    Scaling,
    exp!(count coord),
)
.count(0, 20)
.help("coordinate check: record the mean |output| of every layer after each of the first N steps (0 = off)");

pub static MODEL: Key = Key::new("model", "Model", "model", Transformer, exp!(named model))
    .sweep()
    .help("model family: mlp, gpt (a decoder-only transformer), factor (matrix sensing's X·Xᵀ or F·Gᵀ), or auto (mlp; gpt for the sequence tasks; factor for sense)");

pub static HEADS: Key = Key::new(
    "heads",
    "Heads",
    "attention heads",
    Transformer,
    exp!(count gpt.heads),
)
.count(1, 64)
.sweep()
.sizes()
.unused(transformer)
.help("transformer: attention heads (w must be a multiple)");

pub static CTX: Key = Key::new(
    "ctx",
    "Context",
    "context length",
    Transformer,
    exp!(count gpt.ctx),
)
.count(2, 512)
.sweep()
.sizes()
.unused(transformer)
.help("transformer: context length, at least the task's tokens per example");

pub static MLPR: Key = Key::new(
    "mlpr",
    "MLP ratio",
    "MLP ratio",
    Transformer,
    exp!(count gpt.mlp_ratio),
)
.count(1, 8)
.sweep()
.unused(transformer)
.help("transformer: each block's MLP width as a multiple of w");

pub static NORM: Key = Key::new("norm", "Norm", "norm", Transformer, exp!(named gpt.norm))
    .sweep()
    .unused(transformer)
    .help("transformer: layer (LayerNorm) or rms (RMSNorm), pre-norm");

pub static POS: Key = Key::new(
    "pos",
    "Positions",
    "positional encoding",
    Transformer,
    exp!(named gpt.pos),
)
.sweep()
.unused(transformer)
.help("transformer: learned positions or rope (rotary, on queries and keys)");

pub static QKLN: Key = Key::new("qkln", "qk-norm", "qk-norm", Transformer, exp!(flag gpt.qk_norm))
    .sweep()
    .unused(transformer)
    .help("transformer: normalise queries and keys per head (qk-layernorm)");

pub static ZLOSS: Key = Key::new(
    "zloss",
    "z-loss",
    "z-loss weight",
    Transformer,
    exp!(number gpt.z_loss),
)
.number(0.0, 1.0)
.sweep()
.unused(transformer)
.help("transformer: weight of the z-loss on log²Z of the output (PaLM; 1e-4 is usual; 0 = off)");

pub static TIED: Key = Key::new(
    "tied",
    "tied readout",
    "tied readout",
    Transformer,
    exp!(flag gpt.tied),
)
.sweep()
.unused(transformer)
.help("transformer: readout tied to the token embedding");

pub static SEQLEN: Key = Key::new(
    "seqlen",
    "Sequence length",
    "sequence length",
    Transformer,
    exp!(count seq.len),
)
.count(1, 128)
.sweep()
.unused(|c| {
    (!matches!(c.task, Task::Copy | Task::Reverse | Task::Sort)).then_some("for copy, reverse and sort")
})
.help("copy, reverse, sort: symbols to read (the answer is as long)");

pub static SYMS: Key = Key::new(
    "syms",
    "Symbols",
    "alphabet size",
    Transformer,
    exp!(count seq.symbols),
)
.count(2, 64)
.sweep()
.unused(|c| {
    (!matches!(c.task, Task::Copy | Task::Reverse | Task::Sort)).then_some("for copy, reverse and sort")
})
.help("copy, reverse, sort: alphabet size");

pub static P: Key = Key::new("p", "Modulus p", "modulus", Transformer, exp!(count seq.modulus))
    .count(2, 257)
    .sweep()
    .unused(modadd)
    .help("modadd: the modulus p of a + b mod p");

pub static TFRAC: Key = Key::new(
    "tfrac",
    "Train fraction",
    "train fraction",
    Transformer,
    exp!(number seq.train_frac),
)
.number(0.01, 0.99)
.sweep()
.unused(modadd)
.help("modadd: share of the p² sums that train; the rest validate (grokking: 0.3)");

pub static BACKEND: Key = Key::new("backend", "Backend", "backend", Run, view!(named backend))
    .help("page only: auto (the faster of WebGPU and the CPU, timed on the experiment; never a software adapter), webgpu, cpu");

pub static JOBS: Key = Key::new(
    "jobs",
    "Workers",
    "training workers",
    Run,
    view!(jobs: Ty::Optional("auto"), Jobs::parse, |v: &Jobs| v.text()),
)
.count(1, MAX_JOBS)
.help(
    "a sweep's training workers on the CPU (the CLI: threads), each run on one: auto = the cores less one in the page (every core in the CLI), at most one a run, within the memory cap; the curves are the same with any number",
);

pub static STACK: Key = Key::new(
    "stack",
    "Stack runs",
    "runs a stack",
    Run,
    view!(stack: Ty::Optional("auto"), Stack::parse, |v: &Stack| v.text()),
)
.count(0, MAX_STACK)
.help(
    "a sweep's same-shape runs (MLP or transformer) trained as one stacked model, K runs for about one run's kernel launches: auto = on a GPU, 0 = never, K = stacks of at most K runs; each curve equals its unstacked curve within float tolerance",
);

pub static YLOG: Key = Key::new("ylog", "log-scale loss", "log-scale loss", Run, view!(flag log_y))
    .help("view: log-scale loss axis");

pub static XLOG: Key = Key::new(
    "xlog",
    "log-scale steps",
    "log-scale steps",
    Run,
    view!(flag log_x),
)
.help("view: log-scale step axis");

pub static METRIC: Key = Key::new("metric", "Sweep plots", "sweep metric", Run, view!(named metric))
    .help("view: what sweep charts compare runs by, the final or the best (early-stopped) validation loss");

pub static REACH: Key = Key::new(
    "reach",
    "Target loss",
    "target loss",
    Run,
    view!(reach: Ty::Optional("auto"), parse_reach, |v: &Option<f64>| v.map_or_else(|| "auto".into(), format_number)),
)
.number(REACH_RANGE.0, REACH_RANGE.1)
.help("view: the validation loss the critical-batch figure counts steps to (auto: halfway on a log scale from the starting loss to the lowest loss every batch size reaches)");

pub static FIG: Key = Key::new(
    "fig",
    "Presenter figure",
    "presenter figure",
    Run,
    view!(named lead),
)
.help(
    "view: the figure presenter and embed mode show beside the loss curves (auto: what the study is about)",
);

pub static PRESENT: Key = Key::new("present", "Present", "presenter mode", Run, view!(flag present))
    .help("view: presenter mode, the charts full screen in large type with only the knobs= bar (P key)");

pub static KNOBS: Key = Key::new(
    "knobs",
    "Presenter knobs",
    "presenter knobs",
    Run,
    view!(knobs: Ty::Text, parse_knob_list, |v: &Vec<String>| v.join(",")),
)
.help("view: the knobs presenter mode shows, link keys separated by ',' (e.g. r,bits; at most 4)");

pub static EMBED: Key = Key::new("embed", "Embed", "embed mode", Run, view!(flag embed))
    .help("view: embed mode for an iframe, the charts and a compact bar of the knobs= only");

pub static DECK: Key = Key::new("deck", "Deck", "deck", Run, view!(deck: Ty::Text, crate::knobs::deck::parse_list, |v: &Vec<String>| crate::knobs::deck::list_text(v)))
    .max_len(crate::knobs::deck::MAX_TEXT)
    .help("view: a talk's slides, preset ids or links separated by ',' (e.g. e1,e4); ←/→ or PageUp/PageDown step it");

pub static SLIDE: Key = Key::new(
    "slide",
    "Slide",
    "slide",
    Run,
    view!(slide: Ty::Count, parse_slide, |v: &usize| v.to_string()),
)
.count(1, crate::knobs::deck::MAX_SLIDES)
.help("view: the deck's slide on screen, from 1");

pub static SWEEP: Key = Key::new("sweep", "Sweep", "sweep", Run, (Ty::Text, Slot::Sweep))
    .max_len(300)
    .help("up to three knobs (x axis, curves, panels) plus seed: key:values separated by ';', a list (a,b,c) or a range lo..hi*factor / lo..hi+step");

/// Last, so a link's readable knobs come before its data.
pub static DATA: Key = Key::new(
    "data",
    "Your data",
    "data",
    Data,
    (
        Ty::Text,
        Slot::Experiment(Access {
            field: "data",
            get: |c| c.data.as_ref().map_or(String::new(), |d| d.link_text()),
            set: |c, s, _| {
                c.data = match s.trim() {
                    "" => None,
                    text => Some(crate::knobs::own::OwnData::from_link(text)?),
                };
                Ok(())
            },
        }),
    ),
)
.max_len(crate::knobs::own::MAX_LINK_CHARS)
.sizes()
.unused(|c| match c.task {
    Task::Table | Task::Text => None,
    _ => Some("only task=table and task=text train on your data"),
})
.help("your data for task=table (points or a CSV) or task=text (a text): inline, deflated (z.…), or named by its hash (h.…) where the browser keeps it; the CLI's --data FILE gives the file");
