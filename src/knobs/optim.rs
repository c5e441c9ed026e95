//! The optimizer as a setting (link keys `opt`, `beta1`, `beta2`, and the share of the batch
//! `gns` measures the noise scale on); its rates per parameter come from `mup` and `schedule`.

use crate::vocab::Named;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum OptimizerKind {
    #[default]
    Adam,
    Sgd,
}

impl Named for OptimizerKind {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (OptimizerKind::Adam, "adam", "Adam"),
        (OptimizerKind::Sgd, "sgd", "SGD"),
    ];
}

/// Adam's first-moment decay by default (PyTorch's), as PyTorch holds it: a double (`beta1`).
pub const BETA_1: f64 = 0.9;
/// Adam's second-moment decay by default (`beta2`).
pub const BETA_2: f64 = 0.999;

/// The gradient noise scale's small batch (`gns`): this share of the step's batch, its first
/// examples (`train::noise`; the cost estimate counts its extra forward and backward).
pub const GNS_SMALL_SHARE: usize = 4;
