//! One run's trainer, whichever family it trains, behind the calls the loops make (the page's
//! runner, `drive`, `probe`): a [`Trainer`] of the family's objective seen through
//! [`Training`]. [`Job::new`] is the one place that picks the family for an experiment.

use burn::nn::Linear;
use burn::prelude::*;

use super::live_sample::LiveSample;
use super::objective::{Grid, Objective};
use super::sensing::Measurements;
use super::sequence::Sequences;
use super::sequence_views::SeqProbe;
use super::trainer::{StepOutput, Trainer};
use super::vector::Vectors;
use crate::data::spectrum::DeltaProbe;
use crate::knobs::ExperimentConfig;
use crate::knobs::arch::Family;
use crate::model::{Family as _, Mlp};

/// A run's trainer as the loops drive it, whatever the family.
pub trait Training {
    /// Queues one optimizer step; `None` once all steps are done.
    fn step(&mut self) -> Option<StepOutput>;
    fn is_done(&self) -> bool;
    fn config(&self) -> &ExperimentConfig;
    /// The device the run trains on (autodiff enabled).
    fn device(&self) -> &Device;
    /// Steps queued so far.
    fn steps_done(&self) -> usize;
    /// Parameters of the model (adapters included once attached).
    fn parameter_count(&self) -> usize;
    /// Every linear layer with its name (what quantization and its figure read).
    fn linears(&self) -> Vec<(String, &Linear)>;
    /// The learned change of every adapted layer, queued for the one end-of-run readback.
    fn delta_probe(&self) -> Option<(DeltaProbe, Vec<Tensor<1>>)>;
    /// The decision boundary of a 2-D classification task, queued.
    fn grid(&mut self, res: usize) -> Option<Grid>;
    /// The transformer's views (with the char LM's sample at the end of a run), queued.
    fn views(&self, sample: bool) -> Option<(SeqProbe, Vec<Tensor<1>>)>;
    /// The char LM's live sample of this run.
    fn live_sample(&self) -> Option<LiveSample>;
    /// Continues `context` by `n` tokens drawn with `noise` on the model as it is now.
    fn sample(&self, context: &[i64], noise: Vec<f32>, n: usize) -> Option<Tensor<1, Int>>;
    /// Every tensor of the model as it is now, named, queued for a checkpoint (#35).
    fn queue_weights(&self) -> Vec<crate::model::checkpoint::Queued>;

    /// Queues the next `chars` characters of `live` on the model as it is now: their tokens,
    /// [n ≤ chars].
    fn queue_sample(&self, live: &mut LiveSample, chars: usize) -> Option<Tensor<1>> {
        let (context, noise, n) = live.next(chars, self.steps_done());
        self.sample(&context, noise, n).map(|s| s.float())
    }
}

impl<O: Objective> Training for Trainer<O> {
    fn step(&mut self) -> Option<StepOutput> {
        Trainer::step(self)
    }

    fn is_done(&self) -> bool {
        Trainer::is_done(self)
    }

    fn config(&self) -> &ExperimentConfig {
        Trainer::config(self)
    }

    fn device(&self) -> &Device {
        Trainer::device(self)
    }

    fn steps_done(&self) -> usize {
        Trainer::steps_done(self)
    }

    fn parameter_count(&self) -> usize {
        Trainer::parameter_count(self)
    }

    fn linears(&self) -> Vec<(String, &Linear)> {
        self.model().linears()
    }

    fn delta_probe(&self) -> Option<(DeltaProbe, Vec<Tensor<1>>)> {
        Trainer::delta_probe(self)
    }

    fn grid(&mut self, res: usize) -> Option<Grid> {
        Trainer::grid(self, res)
    }

    fn views(&self, sample: bool) -> Option<(SeqProbe, Vec<Tensor<1>>)> {
        self.objective()
            .views(self.config(), self.model(), sample, self.steps_done())
    }

    fn live_sample(&self) -> Option<LiveSample> {
        self.objective().live_sample(self.config())
    }

    fn sample(&self, context: &[i64], noise: Vec<f32>, n: usize) -> Option<Tensor<1, Int>> {
        self.objective()
            .sample(self.config(), self.model(), context, noise, n)
    }

    fn queue_weights(&self) -> Vec<crate::model::checkpoint::Queued> {
        crate::model::checkpoint::queue(self.model())
    }
}

/// One run's trainer; a sweep holds one per run.
pub struct Job(Box<dyn Training>);

impl Job {
    /// The trainer of `cfg`'s model family (`ExperimentConfig::family`): the transformer on
    /// the sequence tasks, the factors on matrix sensing, the MLP on the vector tasks.
    pub fn new(cfg: &ExperimentConfig, device: &Device) -> Result<Self, String> {
        Self::new_from(cfg, device, None)
    }

    /// [`Job::new`] starting from a checkpoint's weights (`Trainer::new_from`).
    pub fn new_from(
        cfg: &ExperimentConfig,
        device: &Device,
        start: Option<&crate::model::checkpoint::Checkpoint>,
    ) -> Result<Self, String> {
        let trainer: Box<dyn Training> = match cfg.family() {
            Family::Gpt => Box::new(Trainer::<Sequences>::new_from(cfg, device, start)?),
            Family::Factor => Box::new(Trainer::<Measurements>::new_from(cfg, device, start)?),
            Family::Mlp | Family::Auto => Box::new(Trainer::<Vectors<Mlp>>::new_from(cfg, device, start)?),
        };
        Ok(Self(trainer))
    }
}

impl std::ops::Deref for Job {
    type Target = dyn Training;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

impl std::ops::DerefMut for Job {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.as_mut()
    }
}

/// The MLP's trainer.
pub type MlpTrainer = Trainer<Vectors<Mlp>>;
/// The transformer's trainer.
pub type GptTrainer = Trainer<Sequences>;
