//! LoRA, the first knob (DESIGN.md §5): per adapted weight W0 ∈ R^{in×out},
//! y = x·W0 + γ·(x·A)·B with A ∈ R^{in×r}, B ∈ R^{r×out}.
//!
//! The adapters are Burn's own [`LoraAdapter`]s, attached with `apply_reparameterization`, so the
//! unchanged `Linear` computes `base + γ·(A·B)`, `materialize()` merges them, and the optimizer sees
//! A and B as ordinary parameters. What tinytune adds is a [`Reparameterizer`] that draws the
//! factors from its own seeded stream (Burn's `Lora` draws from the device RNG, which differs
//! between backends, so a link would not replay the same run), sets γ by the chosen rule, and
//! freezes the factor that the factor mode says stays fixed. LoRA+ (λ × the learning rate of the B
//! factors) is applied with μP's rates in the trainer's one table (`groups::param_rates`).

use burn::module::{LoraAdapter, Module, Param, ParamId, Reparameterizer};
use burn::prelude::*;

use crate::config::Named;
use crate::data::{Rng, streams};
use crate::model::Mlp;

/// How γ depends on the rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ScaleRule {
    /// γ = α/r (LoRA, peft's default).
    #[default]
    Standard,
    /// γ = α/√r (rsLoRA, peft's `use_rslora=True`).
    RankStabilized,
}

impl Named for ScaleRule {
    const WHAT: &'static str = "LoRA scale rule";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (ScaleRule::Standard, "std", "α/r (LoRA)"),
        (ScaleRule::RankStabilized, "rs", "α/√r (rsLoRA)"),
    ];
}

/// The distribution of the random factor at attach time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AInit {
    /// Kaiming-uniform over the factor's fan-in, U(−1/√in, 1/√in) for A: peft's default,
    /// independent of the rank.
    #[default]
    Peft,
    /// N(0, (1/r)²): Burn's default, shrinking with the rank.
    InvRank,
}

impl Named for AInit {
    const WHAT: &'static str = "A init";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (AInit::Peft, "peft", "U(±1/√in), rank-independent (peft)"),
        (AInit::InvRank, "inv", "N(0, 1/r²) (Burn)"),
    ];
}

/// Which factors train (RESEARCH.md E3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
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
    const WHAT: &'static str = "trainable factors";
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Factors::Both, "ab", "A and B"),
        (Factors::BOnly, "b", "B only (A frozen random)"),
        (Factors::AOnly, "a", "A only (B frozen random)"),
    ];
}

/// Which linear layers get adapters, by position in the forward pass (0 = the first layer).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Target {
    #[default]
    All,
    Layers(Vec<usize>),
}

impl Target {
    pub fn parse(s: &str) -> Result<Target, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(Target::All);
        }
        let mut v: Vec<usize> = s
            .split([',', ' '])
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<usize>()
                    .map_err(|_| format!("'{}' is not 'all' or a layer index", crate::url::clip(t)))
            })
            .collect::<Result<_, _>>()?;
        if v.is_empty() {
            return Err("name 'all' or layer indices, e.g. 0,2".into());
        }
        v.sort_unstable();
        v.dedup();
        Ok(Target::Layers(v))
    }

    pub fn to_text(&self) -> String {
        match self {
            Target::All => "all".into(),
            Target::Layers(v) => v.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        }
    }

    pub fn includes(&self, layer: usize) -> bool {
        match self {
            Target::All => true,
            Target::Layers(v) => v.contains(&layer),
        }
    }
}

/// The LoRA knobs (link keys `r`, `alpha`, `scale`, `ainit`, `train`, `lplus`, `target`).
#[derive(Clone, Debug, PartialEq)]
pub struct LoraConfig {
    /// `None`: no adaptation phase. `Some(0)`: full fine-tuning. `Some(r)`: rank-r adapters.
    pub rank: Option<usize>,
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
            rank: None,
            alpha: 8.0,
            scale: ScaleRule::Standard,
            ainit: AInit::Peft,
            train: Factors::Both,
            lplus: 1.0,
            target: Target::All,
        }
    }
}

pub mod limits {
    pub const RANK: usize = 4096;
    pub const ALPHA: (f64, f64) = (1e-6, 1e6);
    pub const LPLUS: (f64, f64) = (1.0 / 1024.0, 1024.0);
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

/// What the adaptation phase trains, in one line for the page and the CLI: the rank, γ and the
/// layers it applies to, and the trainable parameters as a count and a share of the model.
pub fn describe(cfg: &crate::config::ExperimentConfig) -> Option<String> {
    let rank = cfg.lora.rank?;
    let total = cfg.parameter_estimate();
    let trainable = cfg.trainable_params();
    let pct = 100.0 * trainable as f64 / total.max(1) as f64;
    if rank == 0 {
        return Some(format!("full fine-tuning: all {total} parameters train"));
    }
    let g = gamma(cfg.lora.alpha, rank, cfg.lora.scale);
    let rule = match cfg.lora.scale {
        ScaleRule::Standard => "α/r",
        ScaleRule::RankStabilized => "α/√r",
    };
    let layers: Vec<String> = (0..cfg.layer_count())
        .filter(|&i| cfg.lora.target.includes(i))
        .map(|i| cfg.layer_name(i))
        .collect();
    let plus = if cfg.lora.lplus != 1.0 {
        format!(
            ", LoRA+ lr(B) = {}·lr(A)",
            crate::config::format_number(cfg.lora.lplus)
        )
    } else {
        String::new()
    };
    Some(format!(
        "LoRA r={rank}, γ = {rule} = {} on {} ({}{plus}): {trainable} of {total} parameters train ({pct:.2} %)",
        crate::config::format_number((g * 1e6).round() / 1e6),
        layers.join(", "),
        cfg.lora.train.label()
    ))
}

/// One layer with an adapter, as shown on the page.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptedLayer {
    /// Position in the forward pass and the model's name for it ("hidden.1").
    pub index: usize,
    pub name: String,
    pub d_in: usize,
    pub d_out: usize,
    pub gamma: f64,
    pub trainable: usize,
}

/// A model ready for the adaptation phase.
pub struct Adapted {
    pub model: Mlp,
    pub layers: Vec<AdaptedLayer>,
    /// Scalars the optimizer updates.
    pub trainable: usize,
    /// Scalars of the base model (adapters not counted).
    pub base_params: usize,
}

/// Draws factor values; kept apart from the reparameterizer so tests and the trainer agree.
fn kaiming_uniform(n: usize, fan_in: usize, rng: &mut Rng) -> Vec<f32> {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    (0..n)
        .map(|_| ((2.0 * rng.uniform() - 1.0) * bound) as f32)
        .collect()
}

struct SeededLora {
    targets: Vec<ParamId>,
    rank: usize,
    gamma: f64,
    ainit: AInit,
    train: Factors,
    rng: Rng,
}

impl Reparameterizer for SeededLora {
    type Reparam = LoraAdapter;

    fn reparameterize<const D: usize>(
        &mut self,
        _path: &str,
        param: Param<Tensor<D>>,
    ) -> (Param<Tensor<D>>, Option<LoraAdapter>) {
        // As in Burn's `Lora`: every base parameter (biases included, peft's bias="none") freezes.
        if D != 2 || !self.targets.contains(&param.id) {
            return (param.set_require_grad(false), None);
        }
        let base = param.base();
        let device = base.device();
        let dims = base.dims();
        let (d_in, d_out, r) = (dims[0], dims[1], self.rank);
        let random_a = |rng: &mut Rng| match self.ainit {
            AInit::Peft => kaiming_uniform(d_in * r, d_in, rng),
            AInit::InvRank => (0..d_in * r).map(|_| (rng.normal() / r as f64) as f32).collect(),
        };
        let (a, b, a_trains, b_trains) = match self.train {
            Factors::Both => (random_a(&mut self.rng), vec![0.0; r * d_out], true, true),
            Factors::BOnly => (random_a(&mut self.rng), vec![0.0; r * d_out], false, true),
            // B plays A's role: random over its fan-in r, so γ·x·A·B starts at 0 through A = 0.
            Factors::AOnly => (
                vec![0.0; d_in * r],
                kaiming_uniform(r * d_out, r, &mut self.rng),
                true,
                false,
            ),
        };
        let factor = |v: Vec<f32>, shape: [usize; 2], trains: bool| {
            Param::from_tensor(Tensor::<2>::from_data(TensorData::new(v, shape), &device))
                .set_require_grad(trains)
        };
        let adapter = LoraAdapter {
            a: factor(a, [d_in, r], a_trains),
            b: factor(b, [r, d_out], b_trains),
            scale: self.gamma,
        };
        (param.set_require_grad(false), Some(adapter))
    }
}

/// Attaches the adaptation of `cfg` to `model` (rank ≥ 1: adapters on the target layers, all else
/// frozen; rank 0: full fine-tuning, every parameter trains). Factors come from `seed`'s own
/// stream, so the same link gives the same adapters on every backend.
pub fn attach(model: Mlp, cfg: &LoraConfig, seed: u64) -> Adapted {
    let base_params = model.num_params();
    let rank = cfg.rank.unwrap_or(0);
    if rank == 0 {
        return Adapted {
            model,
            layers: Vec::new(),
            trainable: base_params,
            base_params,
        };
    }
    let gamma = gamma(cfg.alpha, rank, cfg.scale);
    let mut layers = Vec::new();
    let mut targets = Vec::new();
    for (index, (name, layer)) in model.layers().into_iter().enumerate() {
        if cfg.target.includes(index) {
            let [d_in, d_out] = layer.weight.lazy_shape().dims();
            targets.push(layer.weight.id);
            layers.push(AdaptedLayer {
                index,
                name,
                d_in,
                d_out,
                gamma,
                trainable: adapter_params(d_in, d_out, rank, cfg.train),
            });
        }
    }
    let model = model.apply_reparameterization(SeededLora {
        targets,
        rank,
        gamma,
        ainit: cfg.ainit,
        train: cfg.train,
        rng: Rng::stream(seed, streams::ADAPTER),
    });
    let trainable = layers.iter().map(|l| l.trainable).sum();
    Adapted {
        model,
        layers,
        trainable,
        base_params,
    }
}
