//! Driving trainers to the end outside the page's frame loop (the native CLI and the tests), and
//! the small readbacks a run makes once it ends: the learned ΔW's spectrum, the weights for the
//! quantization figures, and the bytes Burn stores a natively quantized model in.

use burn::prelude::*;

use crate::config::ExperimentConfig;
use crate::metrics::{Run, read_reports};
use crate::quant::QMode;
use crate::spectrum;
use crate::train::{StepOutput, Trainer};

/// Trains `cfg` to the end, reading losses back every `chunk` steps (the native CLI and the tests;
/// the page paces its own loop per animation frame).
pub async fn train_run(cfg: &ExperimentConfig, device: &Device, chunk: usize) -> Result<Run, String> {
    let mut trainer = Trainer::new(cfg, device)?;
    let mut run = Run::new(cfg.clone());
    while !trainer.is_done() && !run.diverged {
        let outs: Vec<StepOutput> = (0..chunk.max(1)).map_while(|_| trainer.step()).collect();
        let (reports, _) = read_reports(outs, Vec::new()).await?;
        run.extend(reports);
    }
    run.spectra = read_spectra(&trainer).await?;
    run.set_weights(read_weights(&trainer).await?);
    run.packed_bytes = read_packed_bytes(&trainer).await?;
    Ok(run)
}

/// What Burn really stores for the PTQ model where it quantizes natively: every layer's
/// quantized weight read back as bytes (values and scales), plus the f32 biases. `None` where the
/// configuration runs on the reference rounding.
pub async fn read_packed_bytes(trainer: &Trainer) -> Result<Option<usize>, String> {
    let cfg = trainer.config();
    let native = crate::quant::native::on(trainer.device());
    if cfg.quant.mode != QMode::Ptq || !native || !crate::quant::native::covers(cfg) {
        return Ok(None);
    }
    let mut total = 0;
    for (_, l) in trainer.model().layers() {
        let Some(packed) = crate::quant::native::quantize(l.weight.val().detach(), &cfg.quant) else {
            return Ok(None);
        };
        let data = packed
            .into_data_async()
            .await
            .map_err(|e| format!("reading the quantized weights failed: {e:?}"))?;
        total += data.bytes().len();
        total += l.bias.as_ref().map_or(0, |b| 4 * b.val().dims()[0]);
    }
    Ok(Some(total))
}

/// Every layer's weights (merged with any adapter), read once at the end of a quantized run for
/// the weight-error and histogram figures; empty when the run does not quantize.
pub async fn read_weights(trainer: &Trainer) -> Result<Vec<crate::quant::weights::LayerWeights>, String> {
    if !trainer.config().quant.enabled() {
        return Ok(Vec::new());
    }
    let layers = trainer.model().layers();
    let tensors: Vec<Tensor<1>> = layers
        .iter()
        .map(|(_, l)| {
            let [i, o] = l.weight.lazy_shape().dims();
            l.weight.val().detach().reshape([i * o])
        })
        .collect();
    let (_, values) = read_reports(Vec::new(), tensors).await?;
    Ok(layers
        .iter()
        .zip(values)
        .map(|((name, l), values)| {
            let [d_in, d_out] = l.weight.lazy_shape().dims();
            crate::quant::weights::LayerWeights {
                name: name.clone(),
                d_in,
                d_out,
                values,
            }
        })
        .collect())
}

/// The learned ΔW's singular values of every adapted layer (empty without an adaptation phase).
pub async fn read_spectra(trainer: &Trainer) -> Result<Vec<spectrum::LayerSpectrum>, String> {
    let Some((probe, tensors)) = trainer.delta_probe() else {
        return Ok(Vec::new());
    };
    let (_, values) = read_reports(Vec::new(), tensors).await?;
    Ok(probe.spectra(&values))
}

/// Trains every run of a sweep, interleaved in the order of `sweep::interleave`: rounds of `chunk`
/// steps per unfinished run, so partial results cover the whole grid. Each share is read back on
/// its own (the page batches a whole frame instead). A diverged run stops; the others go on.
/// `progress(done_runs, total_runs)` after every share.
pub async fn train_sweep(
    points: &[crate::sweep::SweepPoint],
    device: &Device,
    chunk: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Run>, String> {
    let mut trainers = points
        .iter()
        .map(|p| Trainer::new(&p.config, device))
        .collect::<Result<Vec<_>, _>>()?;
    let mut runs: Vec<Run> = points
        .iter()
        .map(|p| Run::with_knobs(p.config.clone(), p.knobs.clone()))
        .collect();
    let steps: Vec<usize> = points.iter().map(|p| p.config.total_steps()).collect();
    for (i, n) in crate::sweep::interleave(&steps, chunk) {
        if runs[i].diverged {
            continue;
        }
        let outs: Vec<StepOutput> = (0..n).map_while(|_| trainers[i].step()).collect();
        let (reports, _) = read_reports(outs, Vec::new()).await?;
        runs[i].extend(reports);
        if trainers[i].is_done() && !runs[i].diverged {
            runs[i].spectra = read_spectra(&trainers[i]).await?;
        }
        let done = trainers
            .iter()
            .zip(&runs)
            .filter(|(t, r)| t.is_done() || r.diverged)
            .count();
        progress(done, runs.len());
    }
    Ok(runs)
}
