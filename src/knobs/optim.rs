//! The optimizer as a setting (link key `opt`); its rates per parameter come from `mup` and
//! `schedule`.

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
