//! The experiment as plain data: every knob of one training run in one struct, the aggregate of
//! the settings in this folder. What it builds, costs and means is `experiment`'s; how a link
//! writes each field is the key table's (`keys`). A link and a CLI call with the same query string
//! fill the same struct, so they run the same experiment.

use crate::knobs::arch::Activation;
use crate::knobs::optim::OptimizerKind;
use crate::knobs::task::Task;

/// One training run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExperimentConfig {
    pub task: Task,
    /// Training points drawn from the task (validation gets the same number of fresh points).
    pub points: usize,
    /// Hidden width of the MLP.
    pub width: usize,
    /// Number of hidden layers.
    pub depth: usize,
    pub act: Activation,
    pub opt: OptimizerKind,
    pub lr: f64,
    pub batch: usize,
    pub steps: usize,
    pub seed: u64,
    /// Learning-rate schedule over each phase, its warm-up steps, and weight decay.
    pub sched: crate::knobs::schedule::Schedule,
    pub warm: usize,
    pub wd: f64,
    /// Which tensors `wd` acts on.
    pub decay: crate::knobs::schedule::DecayOn,
    /// Adam's β₁ and β₂ (PyTorch's `betas`).
    pub beta1: f64,
    pub beta2: f64,
    /// Gradient clipping: the most the global gradient norm may be (0 = no clipping).
    pub clip: f64,
    /// Record the global gradient norm and update norm of every step (`train::norms`).
    #[serde(default)]
    pub norms: bool,
    /// Measure the gradient noise scale every step (`train::noise`): the squared gradient norms
    /// of the batch and of its first quarter.
    #[serde(default)]
    pub gns: bool,
    /// Plain MLP or residual blocks, and the residual branch multiplier.
    pub residual: crate::knobs::arch::Residual,
    /// Coordinate check: record mean |output| of every layer after each of the first `coord`
    /// steps (0 = off).
    pub coord: usize,
    /// The adaptation phase (LoRA, full fine-tuning, biases only or a subspace), if any:
    /// `lora.rank`.
    pub lora: crate::knobs::lora::LoraConfig,
    /// Steps of the adaptation phase after pre-training (the planted task has no pre-training: its
    /// student starts at the teacher's W0 and `steps` is the adaptation).
    pub adapt_steps: usize,
    /// How the adaptation task differs from the pre-training task.
    pub shift: crate::knobs::task::Shift,
    pub planted: crate::knobs::task::PlantedConfig,
    /// The matrix-sensing task's factorised model (its matrix is `planted`'s).
    pub sensing: crate::knobs::sensing::SensingConfig,
    /// The model family, the transformer's shape and the sequence tasks' knobs (#13).
    pub model: crate::knobs::arch::Family,
    pub gpt: crate::knobs::gpt::GptConfig,
    pub seq: crate::knobs::sequence::SeqConfig,
    /// Standard parameterization or μP, and μP's base width and multipliers.
    pub mup: crate::knobs::mup::MupConfig,
    /// Weight quantization: bits, format, scale granularity, clipping and mode.
    pub quant: crate::knobs::quant::QuantConfig,
    /// Score the trained model pruned at every sparsity by every method at the end
    /// (`knobs::prune`).
    #[serde(default)]
    pub prune: bool,
    /// A sparse run: the weights cut at one step and trained on with the mask held.
    #[serde(default)]
    pub sparse: crate::knobs::prune::SparseConfig,
    /// Your own data (link key `data`): the table `task=table` trains on, or the text the char
    /// LM (`task=text`) trains on instead of the bundled plays.
    #[serde(default)]
    pub data: Option<crate::knobs::own::OwnData>,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            task: Task::Spiral,
            points: 256,
            width: 64,
            depth: 3,
            act: Activation::Relu,
            opt: OptimizerKind::Adam,
            lr: 0.01,
            batch: 64,
            steps: 500,
            seed: 1,
            sched: crate::knobs::schedule::Schedule::Const,
            warm: 0,
            wd: 0.0,
            decay: crate::knobs::schedule::DecayOn::All,
            beta1: crate::knobs::optim::BETA_1,
            beta2: crate::knobs::optim::BETA_2,
            clip: 0.0,
            norms: false,
            gns: false,
            residual: crate::knobs::arch::Residual::None,
            coord: 0,
            lora: crate::knobs::lora::LoraConfig::default(),
            adapt_steps: 500,
            shift: crate::knobs::task::Shift::Rotate,
            planted: crate::knobs::task::PlantedConfig::default(),
            sensing: crate::knobs::sensing::SensingConfig::default(),
            model: crate::knobs::arch::Family::Auto,
            gpt: crate::knobs::gpt::GptConfig::default(),
            seq: crate::knobs::sequence::SeqConfig::default(),
            mup: crate::knobs::mup::MupConfig::default(),
            quant: crate::knobs::quant::QuantConfig::default(),
            prune: false,
            sparse: crate::knobs::prune::SparseConfig::default(),
            data: None,
        }
    }
}

impl ExperimentConfig {
    /// The model family that trains: the link's `model`, with `auto` the transformer for a
    /// sequence task, the factorised matrix for matrix sensing and the MLP otherwise. The one
    /// place `auto` is resolved.
    pub fn family(&self) -> crate::knobs::arch::Family {
        use crate::knobs::arch::Family;
        match self.model {
            Family::Auto if self.task.is_sequence() => Family::Gpt,
            Family::Auto if self.task == Task::Sense => Family::Factor,
            Family::Auto => Family::Mlp,
            chosen => chosen,
        }
    }

    /// Whether the transformer trains (`model=gpt`, or `auto` on a sequence task).
    pub fn is_transformer(&self) -> bool {
        self.family() == crate::knobs::arch::Family::Gpt
    }
}
