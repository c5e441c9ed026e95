//! The tasks as settings: which data set, how the adaptation phase shifts it, and the planted
//! task's knobs. Generating the data is `data`'s job; this is what a link names.

use crate::vocab::Named;

/// A data set. The 2-D toys are classification tasks with a decision boundary to draw; `Planted`
/// is the linear teacher–student regression of docs/EXPERIMENTS.md E1; `Digits` the bundled 8×8 digits;
/// the sequence tasks (copy, reverse, sort, modadd, text) are the transformer's (`knobs::sequence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Task {
    #[default]
    Spiral,
    Xor,
    Circles,
    Moons,
    Blobs,
    Planted,
    Digits,
    /// Low-rank matrix sensing (docs/EXPERIMENTS.md E11): recover a PSD rank-r* matrix from
    /// random linear measurements with a factorised model (`knobs::sensing`).
    Sense,
    /// Your own data (#35): a table of features with a class or a target a row, or 2-D points
    /// (`knobs::own`; the link's `data`).
    Table,
    Copy,
    Reverse,
    Sort,
    Modadd,
    Text,
}

impl Named for Task {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (Task::Spiral, "spiral", "Two spirals"),
        (Task::Xor, "xor", "XOR quadrants"),
        (Task::Circles, "circles", "Concentric circles"),
        (Task::Moons, "moons", "Two moons"),
        (Task::Blobs, "blobs", "Three Gaussian blobs"),
        (Task::Planted, "planted", "Planted-rank teacher (regression)"),
        (Task::Digits, "digits", "Digits 8×8 (UCI)"),
        (Task::Sense, "sense", "Matrix sensing (low rank)"),
        (Task::Table, "table", "Your data: points or a CSV"),
        (Task::Copy, "copy", "Copy a sequence (transformer)"),
        (Task::Reverse, "reverse", "Reverse a sequence (transformer)"),
        (Task::Sort, "sort", "Sort a sequence (transformer)"),
        (Task::Modadd, "modadd", "a + b mod p (transformer)"),
        (Task::Text, "text", "Char LM on Shakespeare (transformer)"),
    ];
}

impl Task {
    /// The sequence task this is, if it is one (they are the transformer's).
    pub fn sequence(self) -> Option<crate::knobs::sequence::SeqKind> {
        use crate::knobs::sequence::SeqKind;
        match self {
            Task::Copy => Some(SeqKind::Copy),
            Task::Reverse => Some(SeqKind::Reverse),
            Task::Sort => Some(SeqKind::Sort),
            Task::Modadd => Some(SeqKind::ModAdd),
            Task::Text => Some(SeqKind::Text),
            _ => None,
        }
    }

    pub fn is_sequence(self) -> bool {
        self.sequence().is_some()
    }
}

/// How the adaptation phase's task differs from the pre-training task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Shift {
    /// The inputs' geometry changes: 2-D points and digit images turn a quarter turn; on a
    /// sequence task the rule changes (copy ↔ reverse, sort descending, a − b mod p) and the char
    /// LM moves to another author (Milton after Shakespeare). See [`Shift::describe`].
    #[default]
    Rotate,
    /// Labels reversed (class c becomes classes − 1 − c; a sequence task's answer symbols s
    /// become S − 1 − s; the char LM's letters swap case): same inputs, new readout mapping.
    Flip,
    /// No shift and no pre-training: the adaptation phase (`r`) trains the task itself from
    /// the initialisation for `steps` steps, as the planted task's does. Training from scratch
    /// in a random subspace (E10, Li et al.), with biases only, or with LoRA on a random base.
    None,
}

impl Shift {
    /// What the shift does to `task`, in words, for the page and the CLI.
    pub fn describe(self, task: Task) -> &'static str {
        match (self, task) {
            (Shift::Rotate, Task::Copy) => "copy becomes reverse",
            (Shift::Rotate, Task::Reverse) => "reverse becomes copy",
            (Shift::Rotate, Task::Sort) => "sort ascending becomes sort descending",
            (Shift::Rotate, Task::Modadd) => "a + b becomes a − b (mod p)",
            (Shift::Rotate, Task::Text) => "Milton after Shakespeare",
            (Shift::Rotate, Task::Digits) => "images rotated a quarter turn",
            (Shift::Rotate, _) => "points rotated a quarter turn",
            (Shift::Flip, Task::Text) => "every letter's case swapped",
            (Shift::Flip, t) if t.is_sequence() => "answer symbols reversed (s → S−1−s)",
            (Shift::Flip, _) => "labels reversed",
            (Shift::None, _) => "none: the task itself, from init",
        }
    }
}

impl Named for Shift {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        // The page shows each task's own wording (`describe`).
        (Shift::Rotate, "rot", "inputs rotated a quarter turn"),
        (Shift::Flip, "flip", "labels reversed"),
        (Shift::None, "none", "none: the task itself, from init"),
    ];
}

/// Classes of a built-in classification task; 0 for the regression tasks (and for your own
/// data, whose classes are its own: `ExperimentConfig::classes`).
pub fn classes(task: Task) -> usize {
    match task {
        Task::Blobs => 3,
        Task::Digits => DIGIT_CLASSES,
        Task::Planted | Task::Sense | Task::Table => 0,
        _ => 2,
    }
}

/// How the planted singular values fall off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SvProfile {
    /// σ_i = 4·(r* − i + 1)/r*: (4, 3, 2, 1) for r* = 4.
    #[default]
    Linear,
    /// σ_i = 4/i: a power law, as in docs/EXPERIMENTS.md E2.
    Power,
}

impl Named for SvProfile {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (SvProfile::Linear, "lin", "linear: 4, 3, 2, 1 for r* = 4"),
        (SvProfile::Power, "pow", "power law: 4/i"),
    ];
}

/// The knobs of the planted task (link keys `pr`, `dim`, `noise`, `k`, `sv`, `stream`, `xs`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlantedConfig {
    /// r*: rank of the planted change ΔW*.
    pub rank: usize,
    /// d: input and output dimension.
    pub dim: usize,
    /// Standard deviation of the label noise ε.
    pub noise: f64,
    /// Inputs confined to a random k-dimensional subspace (E3); `None` = all of R^d.
    pub k: Option<usize>,
    pub sv: SvProfile,
    /// Fresh training points every step, drawn from the teacher (`stream`): no point is read
    /// twice however long the run or large the batch; `n` then sizes the validation set only.
    #[serde(default)]
    pub stream: bool,
    /// The input spectrum (`xs`): input direction i has variance ∝ i^(−xs), the variances
    /// averaging 1, so the loss's curvature spans a condition number of d^xs (k^xs in a
    /// subspace); 0 = isotropic inputs.
    #[serde(default)]
    pub xs: f64,
}

impl Default for PlantedConfig {
    fn default() -> Self {
        Self {
            rank: 4,
            dim: 64,
            noise: 0.01,
            k: None,
            sv: SvProfile::Linear,
            stream: false,
            xs: 0.0,
        }
    }
}

impl PlantedConfig {
    /// The planted singular values σ_1 ≥ … ≥ σ_r*.
    pub fn sigma(&self) -> Vec<f64> {
        let r = self.rank as f64;
        (1..=self.rank)
            .map(|i| match self.sv {
                SvProfile::Linear => 4.0 * (r - i as f64 + 1.0) / r,
                SvProfile::Power => 4.0 / i as f64,
            })
            .collect()
    }

    /// The standard deviation of each input direction (of R^d, or of the subspace's k): the
    /// square roots of variances ∝ i^(−xs) that average 1.
    pub fn input_scales(&self) -> Vec<f64> {
        let n = self.k();
        let var: Vec<f64> = (1..=n).map(|i| (i as f64).powf(-self.xs)).collect();
        let mean = var.iter().sum::<f64>() / n.max(1) as f64;
        var.iter().map(|v| (v / mean).sqrt()).collect()
    }

    /// The input subspace's dimension (d when inputs fill R^d).
    pub fn k(&self) -> usize {
        self.k.unwrap_or(self.dim)
    }
}

/// Classes of the bundled digits.
pub const DIGIT_CLASSES: usize = 10;
/// Pixels of a digit image (8×8).
pub const DIGIT_PIXELS: usize = 64;
