//! One run's trainer, whichever family it trains: the MLP's [`Trainer`] or the transformer's
//! [`SeqTrainer`], behind the calls the loops make (the page's runner and `drive`).

use burn::prelude::*;

use super::sequence::SeqTrainer;
use super::trainer::{StepOutput, Trainer};
use crate::knobs::ExperimentConfig;

/// Each trainer is boxed: they are a few kB each and a sweep holds one per run.
pub enum Job {
    Vector(Box<Trainer>),
    Sequence(Box<SeqTrainer>),
}

impl Job {
    /// The trainer `cfg`'s model family needs.
    pub fn new(cfg: &ExperimentConfig, device: &Device) -> Result<Self, String> {
        if cfg.is_transformer() {
            SeqTrainer::new(cfg, device).map(|t| Job::Sequence(Box::new(t)))
        } else {
            Trainer::new(cfg, device).map(|t| Job::Vector(Box::new(t)))
        }
    }

    pub fn step(&mut self) -> Option<StepOutput> {
        match self {
            Job::Vector(t) => t.step(),
            Job::Sequence(t) => t.step(),
        }
    }

    pub fn is_done(&self) -> bool {
        match self {
            Job::Vector(t) => t.is_done(),
            Job::Sequence(t) => t.is_done(),
        }
    }

    pub fn config(&self) -> &ExperimentConfig {
        match self {
            Job::Vector(t) => t.config(),
            Job::Sequence(t) => t.config(),
        }
    }

    /// Every linear layer of the model with its name (what quantization and its figure read).
    pub fn layers(&self) -> Vec<(String, &burn::nn::Linear)> {
        match self {
            Job::Vector(t) => t.model().layers(),
            Job::Sequence(t) => t.model().layers(),
        }
    }

    /// The learned change of every adapted layer, queued for the one end-of-run readback.
    pub fn delta_probe(&self) -> Option<(crate::data::spectrum::DeltaProbe, Vec<Tensor<1>>)> {
        match self {
            Job::Vector(t) => t.delta_probe(),
            Job::Sequence(t) => t.delta_probe(),
        }
    }

    /// The transformer's views (with the char LM's sample at the end of a run), queued for a
    /// readback (`None` for the MLP).
    pub fn view_probe(&self, sample: bool) -> Option<(super::sequence_views::SeqProbe, Vec<Tensor<1>>)> {
        match self {
            Job::Vector(_) => None,
            Job::Sequence(t) => t.view_probe(sample),
        }
    }

    /// The transformer's trainer, for what only it has (the char LM's live sample).
    pub fn sequence(&self) -> Option<&SeqTrainer> {
        match self {
            Job::Vector(_) => None,
            Job::Sequence(t) => Some(t),
        }
    }

    /// The MLP's trainer, for what only it has (the decision boundary, its end-of-run figures).
    pub fn vector(&self) -> Option<&Trainer> {
        match self {
            Job::Vector(t) => Some(t),
            Job::Sequence(_) => None,
        }
    }

    pub fn vector_mut(&mut self) -> Option<&mut Trainer> {
        match self {
            Job::Vector(t) => Some(t),
            Job::Sequence(_) => None,
        }
    }
}
