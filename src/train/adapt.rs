//! The adaptation phase, whichever model family it adapts: attaching LoRA (or unfreezing
//! everything for full fine-tuning, or only the biases, or a random subspace of every
//! parameter) on a QLoRA-rounded base when asked, and, at the end, the learned change ΔW of
//! every adapted layer queued for the one readback.

use crate::model::subspace::Projection;
use burn::prelude::*;

use crate::data::spectrum;
use crate::knobs::ExperimentConfig;
use crate::knobs::lora::Rank;
use crate::model::Family;
use crate::model::lora::{self, AdaptedLayer};
use burn::module::ParamId;

/// The adaptation phase as it was set up: what trains and at which scale.
#[derive(Clone, Debug)]
pub struct Adaptation {
    /// Step at which it began.
    pub start: usize,
    /// `None` for full fine-tuning (rank 0), bias-only tuning and a subspace.
    pub rank: Option<usize>,
    /// What the phase trains (`r`).
    pub kind: Rank,
    /// A subspace's coordinates z: the optimizer updates one copy, the trainer ties the others
    /// to it after each step (`model::subspace::tie`).
    pub subspace: Option<ParamId>,
    pub layers: Vec<AdaptedLayer>,
    pub trainable: usize,
    pub base_params: usize,
    /// Weights of each layer when adaptation began: full fine-tuning's ΔW is measured from them.
    base_weights: Vec<Tensor<2>>,
}

impl Adaptation {
    /// Each linear layer's weight when the adaptation began, in `Family::linears` order: what
    /// the fine-tuned change Δ is measured from.
    pub fn base_weights(&self) -> &[Tensor<2>] {
        &self.base_weights
    }
}

/// Begins the adaptation of `model` at step `start`: the adapters of `cfg.lora` attached to the
/// (already QLoRA-rounded, where asked) base, every other parameter frozen; rank 0 trains all.
pub fn begin<M: Family>(model: M, cfg: &ExperimentConfig, start: usize) -> (M, Adaptation) {
    let base_weights = model
        .linears()
        .iter()
        .map(|(_, l)| l.weight.val().detach())
        .collect();
    let base_params = model.num_params();
    let mut subspace = None;
    let (model, layers, trainable) = match cfg.lora.rank {
        Rank::Bias => {
            let (model, trainable) = crate::model::bias_only::attach(model);
            (model, Vec::new(), trainable)
        }
        Rank::Subspace(d) => {
            let kind = if cfg.dense_subspace(d.get()) {
                Projection::Dense
            } else {
                Projection::Fastfood
            };
            let (model, z) = crate::model::subspace::attach(model, d.get(), cfg.seed, kind);
            subspace = Some(z);
            (model, Vec::new(), d.get())
        }
        _ => {
            let adapted = lora::attach(model, &cfg.lora, cfg.seed);
            (adapted.model, adapted.layers, adapted.trainable)
        }
    };
    let adaptation = Adaptation {
        start,
        rank: cfg.lora.rank.adapter(),
        kind: cfg.lora.rank,
        subspace,
        layers,
        trainable,
        base_params,
        base_weights,
    };
    (model, adaptation)
}

/// The learned change of every adapted layer of `model`, queued for one readback, and how to read
/// it: the factors A and B of a LoRA layer, or W − W0 of a fully fine-tuned layer (a subspace's
/// too: its W is θ0 + P·z; bias-only tuning changes no weight and shows none) (skipped above
/// [`spectrum::DENSE_SPECTRUM_MAX`] entries, which the CPU SVD would take too long on).
pub fn delta_probe(model: &impl Family, adaptation: &Adaptation) -> (spectrum::DeltaProbe, Vec<Tensor<1>>) {
    let mut probe = spectrum::DeltaProbe::default();
    let mut tensors = Vec::new();
    for (i, (name, layer)) in model.linears().iter().enumerate() {
        let [d_in, d_out] = layer.weight.lazy_shape().dims();
        match (layer.weight.adapter(), adaptation.rank) {
            (Some(ad), Some(r)) => {
                tensors.push(ad.a.val().detach().reshape([d_in * r]));
                tensors.push(ad.b.val().detach().reshape([r * d_out]));
                probe.push(name, d_in, d_out, Some((r, ad.scale)));
            }
            // Bias-only tuning leaves every weight where it was: no change to show.
            (None, None) if adaptation.kind != Rank::Bias && d_in * d_out <= spectrum::DENSE_SPECTRUM_MAX => {
                let Some(w0) = adaptation.base_weights.get(i) else {
                    continue;
                };
                tensors.push((layer.weight.val().detach() - w0.clone()).reshape([d_in * d_out]));
                probe.push(name, d_in, d_out, None);
            }
            _ => {}
        }
    }
    (probe, tensors)
}
