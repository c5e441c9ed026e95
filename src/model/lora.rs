//! LoRA, the first knob (docs/KNOBS.md §2): per adapted weight W0 ∈ R^{in×out},
//! y = x·W0 + γ·(x·A)·B with A ∈ R^{in×r}, B ∈ R^{r×out}.
//!
//! The adapters are Burn's own [`LoraAdapter`]s, attached with `apply_reparameterization`, so the
//! unchanged `Linear` computes `base + γ·(A·B)`, `materialize()` merges them, and the optimizer sees
//! A and B as ordinary parameters. What tinytune adds is a [`Reparameterizer`] that draws the
//! factors from its own seeded stream (Burn's `Lora` draws from the device RNG, which differs
//! between backends, so a link would not replay the same run), sets γ by the chosen rule, and
//! freezes the factor that the factor mode says stays fixed. LoRA+ (λ × the learning rate of the B
//! factors) is applied with μP's rates in the trainer's one table (`groups::param_rates`).

use burn::module::{LoraAdapter, Param, ParamId, Reparameterizer};
use burn::prelude::*;

use crate::data::{Rng, streams};
use crate::knobs::lora::{AInit, Factors, LoraConfig, adapter_params, gamma};
use crate::model::Family;

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

/// A model (the MLP or the transformer) ready for the adaptation phase.
pub struct Adapted<M> {
    pub model: M,
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
pub fn attach<M: Family>(model: M, cfg: &LoraConfig, seed: u64) -> Adapted<M> {
    let base_params = model.num_params();
    let Some(rank) = cfg.rank.adapter() else {
        return Adapted {
            model,
            layers: Vec::new(),
            trainable: base_params,
            base_params,
        };
    };
    let gamma = gamma(cfg.alpha, rank, cfg.scale);
    let mut layers = Vec::new();
    let mut targets = Vec::new();
    for (index, (name, layer)) in model.linears().into_iter().enumerate() {
        if cfg.target.includes(index, &name) {
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
