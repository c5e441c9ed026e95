//! Burn's own quantization, used for PTQ where it covers the configuration: symmetric INT8, INT4
//! and INT2 (Burn's Q8S/Q4S/Q2S) with one scale per tensor, per group of inputs or per output
//! channel (Burn's blocks are at most 255 values along a dimension), on the CPU backend (flex).
//! On WebGPU Burn 0.22's dynamic quantization of these schemes did not finish in the page
//! (measured with a 32-wide model on SwiftShader), so the GPU runs the reference rounding. Burn's
//! minifloat schemes (E4M3, E5M2, E2M1) on the CPU backend disagree with rounding to the OCP
//! codebooks (per tensor on N(0, 1) weights: 759 of 1024 E4M3 values differ, by up to 2.4), so
//! the minifloats run on the reference too. Burn's rounding matches the
//! reference quantizer exactly (tested), so the two paths give the same model; the native one
//! also gives the storage Burn really uses, read back as bytes.

use burn::prelude::*;
use burn::tensor::quantization::{QuantScheme, QuantValue, ScaleDtype};

use crate::knobs::quant::{Clip, Granularity, QFormat, QMode, QuantConfig};

/// Burn's scheme for a `[d_in, d_out]` weight under `q`, or `None` where Burn has no equivalent
/// (asymmetric, NF4, minifloats here, 3/5/6/7 bits, MSE clipping, blocks over 255).
pub fn scheme(q: &QuantConfig, d_in: usize) -> Option<QuantScheme> {
    if q.fmt != QFormat::Int || q.clip != Clip::Max {
        return None;
    }
    let value = match q.bits {
        8 => QuantValue::Q8S,
        4 => QuantValue::Q4S,
        2 => QuantValue::Q2S,
        _ => return None,
    };
    let base = QuantScheme::default().with_value(value);
    // Blocks run down the input dimension of one output channel: [g, 1] of Burn's [in, out].
    let block = match q.gran {
        Granularity::Tensor => return Some(base.per_tensor(ScaleDtype::F32)),
        Granularity::Channel => d_in,
        Granularity::Group => q.group.min(d_in),
    };
    let block = u8::try_from(block).ok()?;
    d_in.is_multiple_of(usize::from(block))
        .then(|| base.per_block([block, 1], ScaleDtype::F32))
}

/// Whether every layer of `cfg`'s model quantizes natively.
pub fn covers(cfg: &crate::knobs::ExperimentConfig) -> bool {
    cfg.quant.enabled()
        && cfg
            .layer_dims()
            .iter()
            .all(|&(d_in, _)| scheme(&cfg.quant, d_in).is_some())
}

/// Whether `device` runs Burn's native quantization here: the CPU backend.
pub fn on(device: &Device) -> bool {
    *device == crate::model::backend::cpu()
}

/// The weight quantized by Burn (still quantized, on the device).
pub fn quantize(w: Tensor<2>, q: &QuantConfig) -> Option<Tensor<2>> {
    let [d_in, _] = w.dims();
    scheme(q, d_in).map(|s| w.quantize_dynamic(&s))
}

/// Whether Burn's own quantization runs for `cfg` (PTQ, every layer covered by a Burn scheme) on
/// a device where the native path is used ([`on`]); otherwise the reference fake quantization
/// does.
pub fn used(cfg: &crate::knobs::ExperimentConfig, native_device: bool) -> bool {
    // The transformer takes the reference rounding everywhere (`Gpt::quantized`).
    native_device && cfg.quant.mode == QMode::Ptq && covers(cfg) && !cfg.is_transformer()
}
