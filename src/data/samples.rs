//! Data sets as the trainer and the charts see them: inputs, targets, train and validation.

use crate::knobs::task::Task;

/// What a task asks the model to predict.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Targets {
    /// Classification: one label per sample.
    Labels(Vec<i64>),
    /// Regression: `dim` values per sample, row-major `[n, dim]`.
    Values { y: Vec<f32>, dim: usize },
}

/// Samples of a task: inputs row-major `[n, dim]` and their targets.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Samples {
    pub x: Vec<f32>,
    pub dim: usize,
    pub targets: Targets,
}

impl Samples {
    pub fn len(&self) -> usize {
        self.x.len() / self.dim.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The labels of a classification task (empty for regression).
    pub fn labels(&self) -> &[i64] {
        match &self.targets {
            Targets::Labels(l) => l,
            Targets::Values { .. } => &[],
        }
    }
}

/// Train and validation sets drawn from the same distribution with independent streams.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub task: Task,
    /// Classes of a classification task; 0 for regression.
    pub classes: usize,
    pub train: Samples,
    pub val: Samples,
}
