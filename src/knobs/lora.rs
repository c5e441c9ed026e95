//! LoRA as settings (docs/KNOBS.md §2): the rank, γ's rule, A's init, which factors train, LoRA+'s λ
//! and the target layers, with the closed-form γ and adapter sizes. The adapters themselves are
//! `model::lora`.

use std::num::NonZeroUsize;

use crate::vocab::{Named, clip};

/// How γ depends on the rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ScaleRule {
    /// γ = α/r (LoRA, peft's default).
    #[default]
    Standard,
    /// γ = α/√r (rsLoRA, peft's `use_rslora=True`).
    RankStabilized,
}

impl Named for ScaleRule {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (ScaleRule::Standard, "std", "α/r (LoRA)"),
        (ScaleRule::RankStabilized, "rs", "α/√r (rsLoRA)"),
    ];
}

/// The distribution of the random factor at attach time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum AInit {
    /// Kaiming-uniform over the factor's fan-in, U(−1/√in, 1/√in) for A: peft's default,
    /// independent of the rank.
    #[default]
    Peft,
    /// N(0, (1/r)²): Burn's default, shrinking with the rank.
    InvRank,
}

impl Named for AInit {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (AInit::Peft, "peft", "U(±1/√in), rank-independent (peft)"),
        (AInit::InvRank, "inv", "N(0, 1/r²) (Burn)"),
    ];
}

/// Which factors train (docs/EXPERIMENTS.md E3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Factors {
    /// A random, B = 0, both train.
    #[default]
    Both,
    /// A random and frozen, B = 0 trains.
    BOnly,
    /// B random and frozen, A = 0 trains.
    AOnly,
}

impl Named for Factors {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Factors::Both, "ab", "A and B"),
        (Factors::BOnly, "b", "B only (A frozen random)"),
        (Factors::AOnly, "a", "A only (B frozen random)"),
    ];
}

/// One entry of `target`: a layer by position in the forward pass (0 = the first layer; v=1's
/// syntax), or a name. A name selects as peft's `target_modules` list does: the layer whose full
/// name it is (`hidden.1`, `block.0.attn.q`, `readout`) or whose name ends in `.` + it (`q`,
/// `attn.q`, `fc`). Beyond peft, the name of a module that holds linear layers (`hidden`,
/// `block.1`, `attn`, `mlp`) selects every linear inside it, where peft refuses a target that is
/// not a linear layer; no layer's name is a module of another's, so wherever peft accepts a name
/// it selects exactly peft's layers (a test checks).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Selector {
    Index(usize),
    Name(String),
}

impl Selector {
    /// Whether the selector picks layer `index` called `name` (e.g. "hidden.2").
    pub fn matches(&self, index: usize, name: &str) -> bool {
        match self {
            Selector::Index(i) => *i == index,
            Selector::Name(n) => Self::peft(n, name) || Self::inside(n, name),
        }
    }

    /// peft's rule for one entry of a `target_modules` list: the full name or a `.`-suffix.
    pub fn peft(n: &str, name: &str) -> bool {
        name == n || name.strip_suffix(n).is_some_and(|head| head.ends_with('.'))
    }

    /// Whether layer `name` lies inside the module `n` (`hidden` holds `hidden.2`, `attn` holds
    /// `block.0.attn.q`).
    fn inside(n: &str, name: &str) -> bool {
        let dotted = format!("{n}.");
        name.starts_with(&dotted) || name.contains(&format!(".{dotted}"))
    }
}

/// The output layer's name in both families (peft's `all-linear` leaves it out).
pub const OUTPUT: &str = "readout";

/// Which linear layers get adapters.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Target {
    /// Every linear layer, the readout included.
    #[default]
    All,
    /// Every linear layer but the output layer (`readout`), as peft's `all-linear` leaves the
    /// LM head out.
    AllLinear,
    /// Indices first, ascending, then names, sorted: one spelling per set, so links round-trip.
    Layers(Vec<Selector>),
}

impl Target {
    /// Layers by index only (the v=1 form).
    pub fn indices(v: impl IntoIterator<Item = usize>) -> Target {
        Target::Layers(v.into_iter().map(Selector::Index).collect())
    }

    pub fn parse(s: &str) -> Result<Target, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(Target::All);
        }
        if s.eq_ignore_ascii_case("all-linear") {
            return Ok(Target::AllLinear);
        }
        let mut v: Vec<Selector> = s
            .split([',', ' '])
            .filter(|t| !t.is_empty())
            .map(|t| match t.parse::<usize>() {
                Ok(i) => Ok(Selector::Index(i)),
                Err(_)
                    if t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_') =>
                {
                    Ok(Selector::Name(t.to_ascii_lowercase()))
                }
                Err(_) => Err(format!(
                    "'{}' is not 'all', 'all-linear', a layer index or a layer name",
                    clip(t)
                )),
            })
            .collect::<Result<_, _>>()?;
        if v.is_empty() {
            return Err(
                "name 'all', 'all-linear', layer indices or layer names, e.g. 0,2 or hidden,readout".into(),
            );
        }
        v.sort_unstable();
        v.dedup();
        Ok(Target::Layers(v))
    }

    pub fn to_text(&self) -> String {
        match self {
            Target::All => "all".into(),
            Target::AllLinear => "all-linear".into(),
            Target::Layers(v) => v
                .iter()
                .map(|s| match s {
                    Selector::Index(i) => i.to_string(),
                    Selector::Name(n) => n.clone(),
                })
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// Whether layer `index`, called `name`, gets an adapter.
    pub fn includes(&self, index: usize, name: &str) -> bool {
        match self {
            Target::All => true,
            Target::AllLinear => name != OUTPUT,
            Target::Layers(v) => v.iter().any(|s| s.matches(index, name)),
        }
    }
}

/// What the adaptation phase does (link key `r`): there is none, every weight trains, rank-r
/// adapters train on the target layers with everything else frozen, only the biases train
/// (BitFit), or the weights move in a random d-dimensional subspace (docs/KNOBS.md §2, E10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Rank {
    /// No adaptation phase (`r=none`): the run pre-trains and ends.
    #[default]
    None,
    /// Full fine-tuning (`r=0`): an adaptation phase in which every weight trains.
    Full,
    /// Rank-r LoRA adapters (`r` ≥ 1).
    Lora(NonZeroUsize),
    /// Bias-only tuning (`r=bias`, BitFit: Ben Zaken et al. 2021): every bias term trains, every
    /// weight matrix stays frozen.
    Bias,
    /// A random subspace (`r=sub<d>`, e.g. `sub300`; Li et al. 2018): θ = θ0 + P·z over every
    /// parameter, P a fixed random D×d matrix with unit columns, only z ∈ R^d trains.
    Subspace(NonZeroUsize),
}

/// How a link spells a subspace's dimension: `sub300`.
pub const SUBSPACE_PREFIX: &str = "sub";
/// How a link spells bias-only tuning.
pub const BIAS_ONLY: &str = "bias";

impl Rank {
    /// The rank a link writes as a number: 0 is full fine-tuning, r ≥ 1 adapters of rank r.
    pub fn of(r: usize) -> Rank {
        NonZeroUsize::new(r).map_or(Rank::Full, Rank::Lora)
    }

    /// Whether the run has an adaptation phase (any value but `none`).
    pub fn adapts(self) -> bool {
        self != Rank::None
    }

    /// The adapters' rank, when there are adapters.
    pub fn adapter(self) -> Option<usize> {
        match self {
            Rank::Lora(r) => Some(r.get()),
            _ => None,
        }
    }

    /// The subspace's dimension d, when the phase trains in one.
    pub fn subspace(self) -> Option<usize> {
        match self {
            Rank::Subspace(d) => Some(d.get()),
            _ => None,
        }
    }

    /// The link's text: `none`, `0`, `8`, `bias`, `sub300`.
    pub fn to_text(self) -> String {
        match self {
            Rank::None => "none".into(),
            Rank::Full => "0".into(),
            Rank::Lora(r) => r.to_string(),
            Rank::Bias => BIAS_ONLY.into(),
            Rank::Subspace(d) => format!("{SUBSPACE_PREFIX}{d}"),
        }
    }

    /// Reads the link's text (see [`Rank::to_text`]); `none`, `-` and nothing mean no phase.
    pub fn parse(s: &str) -> Result<Rank, String> {
        let t = s.trim().to_ascii_lowercase();
        if t.is_empty() || t == "none" || t == "-" {
            return Ok(Rank::None);
        }
        if t == BIAS_ONLY {
            return Ok(Rank::Bias);
        }
        let fail = || {
            format!(
                "'{}' is not a whole number (0 = full fine-tuning), none, {BIAS_ONLY} or {SUBSPACE_PREFIX}<d> \
                 (e.g. {SUBSPACE_PREFIX}300)",
                clip(s)
            )
        };
        if let Some(d) = t.strip_prefix(SUBSPACE_PREFIX) {
            let d: usize = d.parse().map_err(|_| fail())?;
            return NonZeroUsize::new(d)
                .map(Rank::Subspace)
                .ok_or_else(|| format!("a subspace needs d ≥ 1, got '{}'", clip(s)));
        }
        t.parse::<usize>().map(Rank::of).map_err(|_| fail())
    }
}

/// The LoRA knobs (link keys `r`, `alpha`, `scale`, `ainit`, `train`, `lplus`, `target`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoraConfig {
    pub rank: Rank,
    pub alpha: f64,
    pub scale: ScaleRule,
    pub ainit: AInit,
    pub train: Factors,
    /// LoRA+ ratio λ: the learning rate of B is λ × that of A.
    pub lplus: f64,
    pub target: Target,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            rank: Rank::None,
            alpha: 8.0,
            scale: ScaleRule::Standard,
            ainit: AInit::Peft,
            train: Factors::Both,
            lplus: 1.0,
            target: Target::All,
        }
    }
}

/// γ for rank `r` under `rule` (r ≥ 1).
pub fn gamma(alpha: f64, r: usize, rule: ScaleRule) -> f64 {
    match rule {
        ScaleRule::Standard => alpha / r as f64,
        ScaleRule::RankStabilized => alpha / (r as f64).sqrt(),
    }
}

/// Trainable scalars one adapter adds to an `in`×`out` layer: r·(in + out) with both factors.
pub fn adapter_params(d_in: usize, d_out: usize, r: usize, train: Factors) -> usize {
    match train {
        Factors::Both => r * (d_in + d_out),
        Factors::BOnly => r * d_out,
        Factors::AOnly => r * d_in,
    }
}
