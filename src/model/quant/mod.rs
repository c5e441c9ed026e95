//! Quantization applied: the scalar reference, the tensor fake-quantizer, Burn's native path and
//! the weight-error figure. The settings are `knobs::quant`.

pub mod native;
pub mod scalar;
pub mod tensor;
pub mod weights;

use crate::experiment::ExperimentConfig;
use crate::knobs::quant::{Granularity, QFormat, QuantConfig};
use crate::model::Mlp;
use crate::vocab::Named;

/// `model` as it is quantized: with the outlier channel when asked for.
pub fn prepare(q: &QuantConfig, model: &Mlp) -> Mlp {
    if q.outlier == 1.0 {
        model.clone()
    } else {
        model.with_outlier(q.outlier)
    }
}

/// What the quantization does, in words, or `None` for a float model; `native_device` says
/// whether the run's device uses Burn's own quantization ([`native::on`]).
pub fn describe(cfg: &ExperimentConfig, native_device: bool) -> Option<String> {
    let q = &cfg.quant;
    if !q.enabled() {
        return None;
    }
    let fmt = match q.fmt {
        QFormat::Int => format!("INT{} (symmetric)", q.bits),
        QFormat::UInt => format!("INT{} (asymmetric, zero point)", q.bits),
        _ => q.fmt.label().to_string(),
    };
    let gran = match q.gran {
        Granularity::Group => format!("per group of {}", q.group),
        g => g.label().to_string(),
    };
    let kb = |b: usize| format!("{:.1} kB", b as f64 / 1000.0);
    Some(format!(
        "{}: weights in {fmt} {gran}, {} clipping; {}; packed size {} vs {} in f32",
        q.mode.label(),
        q.clip.label(),
        native::describe(cfg, native_device),
        kb(cfg.model_bytes()),
        kb(cfg.float_bytes()),
    ))
}
