//! Step reports and runs, and the one GPU→CPU readback. Writing runs out (CSV, JSON) is `export`.

use burn::prelude::*;

use crate::keys::Key;
use crate::knobs::ExperimentConfig;
use crate::knobs::view::SweepMetric;
use crate::train::StepOutput;

/// Losses of one step, read back.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepReport {
    pub step: usize,
    pub train_loss: f32,
    pub val_loss: Option<f32>,
    /// Coordinate check: mean |output| per linear layer after this step's update.
    pub coord: Option<Vec<f32>>,
    /// PTQ (last step only): validation loss after quantizing the trained weights.
    pub quant_val_loss: Option<f32>,
    /// The transformer's statistics (`None` for the MLP).
    pub seq: Option<SeqStats>,
    /// With `norms`: the step's global gradient norm (before clipping) and update norm.
    #[serde(default)]
    pub norms: Option<Norms>,
    /// Matrix sensing, at evaluation steps: the singular values of the model's M, largest first.
    #[serde(default)]
    pub singular: Option<Vec<f32>>,
    /// With `prune`, at the last step: every pruning method's validation loss at each sparsity.
    #[serde(default)]
    pub prune: Option<super::prune::Pruned>,
    /// A classification task's validation accuracy at evaluation steps (the MLP's; the
    /// transformer's is in `seq`).
    #[serde(default)]
    pub val_acc: Option<f32>,
    /// With `gns`: the step's two squared gradient norms (`train::noise`).
    #[serde(default)]
    pub gns: Option<super::noise::NoiseSample>,
}

/// A step's global norms, read back (`train::norms`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Norms {
    /// ‖g‖ over every parameter that trains, before clipping.
    pub grad: f32,
    /// ‖θ_after − θ_before‖ over the same parameters.
    pub update: f32,
}

/// A transformer step's statistics, read back.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeqStats {
    /// Largest attention logit over layers, heads and positions.
    pub max_logit: f32,
    /// Mean log Z (log-sum-exp of the output logits) over the batch's scored positions.
    pub log_z: f32,
    /// The z-loss term of the training loss, `zloss` × the mean log² Z (`None` without a
    /// z-loss): the training loss less this is its cross-entropy. Validation is cross-entropy
    /// only (#31), so this is reported beside it.
    #[serde(default)]
    pub z_loss: Option<f32>,
    /// Exact-match accuracy (per character for text) on training / validation examples, at
    /// evaluation steps.
    pub train_acc: Option<f32>,
    pub val_acc: Option<f32>,
}

/// What one step queued, as `read_reports` unpacks it.
struct Queued {
    step: usize,
    val: bool,
    quant: bool,
    /// The coordinate check's length.
    coord: Option<usize>,
    /// The transformer statistics' length, and whether accuracies follow.
    seq: Option<(usize, bool)>,
    norms: bool,
    /// Matrix sensing: M's side.
    side: Option<usize>,
    /// A classification task's validation accuracy follows.
    acc: bool,
    /// The gradient noise scale's two squared norms follow, of batches of these sizes.
    gns: Option<[usize; 2]>,
    prune: Option<super::prune::PruneShape>,
}

/// Reads the losses of `outputs` and any `extra` tensors with ONE async transfer: every scalar and
/// extra is concatenated on the device first. Returns the reports and each extra's values.
/// This is the only place that waits on the device (sync reads panic on WebGPU in the browser).
pub async fn read_reports(
    outputs: Vec<StepOutput>,
    extra: Vec<Tensor<1>>,
) -> Result<(Vec<StepReport>, Vec<Vec<f32>>), String> {
    let n_train = outputs.len();
    let mut parts: Vec<Tensor<1>> = Vec::with_capacity(2 * n_train + extra.len());
    let mut shape: Vec<Queued> = Vec::with_capacity(n_train);
    let (mut vals, mut quants, mut coords, mut seqs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for o in outputs {
        shape.push(Queued {
            step: o.step,
            val: o.val_loss.is_some(),
            quant: o.quant_loss.is_some(),
            coord: o.coord.as_ref().map(|c| c.dims()[0]),
            seq: o
                .seq
                .as_ref()
                .map(|s| (s.stability.dims()[0], s.accuracy.is_some())),
            norms: o.norms.is_some(),
            side: o.matrix.as_ref().map(|m| m.dims()[0].isqrt()),
            acc: o.val_acc.is_some(),
            gns: o.gns.as_ref().map(|(_, sizes)| *sizes),
            prune: o.prune.as_ref().map(super::prune::PruneOutput::shape),
        });
        parts.push(o.train_loss);
        vals.extend(o.val_loss);
        quants.extend(o.quant_loss);
        coords.extend(o.coord);
        if let Some(s) = o.seq {
            seqs.push(s.stability);
            seqs.extend(s.accuracy);
        }
        seqs.extend(o.norms);
        seqs.extend(o.matrix);
        seqs.extend(o.prune.into_iter().flat_map(super::prune::PruneOutput::tensors));
        seqs.extend(o.val_acc);
        seqs.extend(o.gns.map(|(t, _)| t));
    }
    let (n_val, n_quant) = (vals.len(), quants.len());
    parts.extend(vals);
    parts.extend(quants);
    parts.extend(coords);
    parts.extend(seqs);
    let extra_lens: Vec<usize> = extra.iter().map(|t| t.dims()[0]).collect();
    parts.extend(extra);
    if parts.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let data = Tensor::cat(parts, 0).into_data_async().await.map_err(|e| {
        format!(
            "reading results from the device failed: {}",
            one_line(&format!("{e:?}"))
        )
    })?;
    let flat: Vec<f32> = data
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| format!("unexpected result data: {e:?}"))?;

    // Same order as queued: train losses, val losses, PTQ losses, coordinate checks, each step's
    // statistics (transformer, norms, matrix, pruning, accuracy, noise scale), extras.
    let (train, rest) = flat.split_at(n_train);
    let (val, rest) = rest.split_at(n_val);
    let (quant, mut rest) = rest.split_at(n_quant);
    let (mut val, mut quant) = (val.iter(), quant.iter());
    let mut take = |len: usize| {
        let (head, tail) = rest.split_at(len);
        rest = tail;
        head.to_vec()
    };
    let mut coords_read = Vec::with_capacity(n_train);
    for q in &shape {
        coords_read.push(q.coord.map(&mut take));
    }
    let mut reports = Vec::with_capacity(n_train);
    for ((q, &train_loss), coord) in shape.into_iter().zip(train).zip(coords_read) {
        let seq = q.seq.map(|(len, with_acc)| {
            let s = take(len);
            let acc = if with_acc { take(2) } else { Vec::new() };
            SeqStats {
                max_logit: s[0],
                log_z: s[1],
                z_loss: s.get(2).copied(),
                train_acc: acc.first().copied(),
                val_acc: acc.get(1).copied(),
            }
        });
        // Queued after the step's transformer statistics, in the same part of the readback.
        let norms = q.norms.then(|| {
            let n = take(2);
            Norms {
                grad: n[0],
                update: n[1],
            }
        });
        // Queued after the norms; n ≤ 64, so its SVD here takes well under a millisecond.
        let singular = q.side.map(|n| {
            let m: Vec<f64> = take(n * n).into_iter().map(f64::from).collect();
            let s = crate::data::spectrum::singular_values(&m, n, n);
            s.into_iter().map(|v| v as f32).collect()
        });
        let prune = q.prune.map(|p| p.read(&mut take));
        // Queued after pruning's scores.
        let val_acc = q.acc.then(|| take(1)[0]);
        let gns = q.gns.map(|[b_small, b_big]| {
            let n = take(2);
            super::noise::NoiseSample {
                small: n[0],
                big: n[1],
                b_small: b_small as u32,
                b_big: b_big as u32,
            }
        });
        reports.push(StepReport {
            step: q.step,
            train_loss,
            val_loss: if q.val { val.next().copied() } else { None },
            coord,
            quant_val_loss: if q.quant { quant.next().copied() } else { None },
            seq,
            norms,
            singular,
            prune,
            val_acc,
            gns,
        });
    }
    let extras = extra_lens.into_iter().map(take).collect();
    Ok((reports, extras))
}

/// Burn's execution errors print as a multi-line cause chain with a backtrace note; a person needs
/// the chain on one line: "An error happened during execution: the staging buffer could not be …".
fn one_line(chain: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for line in chain.lines().map(str::trim) {
        let noise = line.is_empty()
            || line == "Caused by:"
            || line.starts_with("Backtrace")
            || line == "No backtrace available";
        if !noise && !parts.contains(&line) {
            parts.push(line);
        }
    }
    parts.join(": ")
}

/// Hands the reports of one batched readback back to their runs: `counts[j] = (run, n)` says the
/// next `n` reports belong to `run`, in the order they were queued. Each run gets exactly its own,
/// even when one diverges part-way through its share (its later reports are dropped).
pub fn assign_reports(runs: &mut [Run], counts: &[(usize, usize)], reports: Vec<StepReport>) {
    let mut reports = reports.into_iter();
    for &(run, n) in counts {
        let mine: Vec<StepReport> = reports.by_ref().take(n).collect();
        if let Some(r) = runs.get_mut(run) {
            r.extend(mine);
        }
    }
}

/// Divergence, seen one report at a time: a non-finite loss, or a loss [`DIVERGENCE_FACTOR`]
/// times the first of its phase (a shifted task starts high, so the adaptation phase is measured
/// against its own start). The page's runs see their reports through one, and the training
/// worker's runner keeps only these (no reports) to stop a run where the page marks it.
#[derive(Clone, Debug, PartialEq)]
pub struct Watch {
    adaptation_start: Option<usize>,
    total_steps: usize,
    /// The phase the first losses belong to, and those losses.
    phase: usize,
    first_train: Option<f32>,
    first_val: Option<f32>,
    /// Reports seen.
    pub steps: usize,
    pub diverged: bool,
}

impl Watch {
    pub fn new(cfg: &ExperimentConfig) -> Self {
        Self {
            adaptation_start: (cfg.lora.rank.adapts() && cfg.pretrain_steps() > 0)
                .then(|| cfg.pretrain_steps()),
            total_steps: cfg.total_steps(),
            phase: 0,
            first_train: None,
            first_val: None,
            steps: 0,
            diverged: false,
        }
    }

    /// Sees the next report; returns whether the run has diverged with it (it is still the
    /// run's last report then).
    pub fn see(&mut self, r: &StepReport) -> bool {
        let phase = match self.adaptation_start {
            Some(s) if r.step >= s => s,
            _ => 0,
        };
        if phase != self.phase {
            (self.phase, self.first_train, self.first_val) = (phase, None, None);
        }
        let finite = r.train_loss.is_finite() && r.val_loss.is_none_or(f32::is_finite);
        let first_train = *self.first_train.get_or_insert(r.train_loss);
        let blown_up = r.train_loss > DIVERGENCE_FACTOR * first_train
            || matches!((self.first_val, r.val_loss), (Some(a), Some(b)) if b > DIVERGENCE_FACTOR * a);
        if self.first_val.is_none() {
            self.first_val = r.val_loss;
        }
        self.steps += 1;
        self.diverged |= !finite || blown_up;
        self.diverged
    }

    /// Whether the run is over: it trained all its steps or diverged.
    pub fn finished(&self) -> bool {
        self.diverged || self.steps >= self.total_steps
    }
}

/// One training run's history.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub config: ExperimentConfig,
    /// The swept values that name this run in a sweep (empty for a single run).
    pub knobs: Vec<(&'static Key, String)>,
    pub reports: Vec<StepReport>,
    /// A loss became NaN/Inf or rose far above its start; training stops there and the run is marked.
    pub diverged: bool,
    /// Singular values of each adapted layer's learned ΔW, read when the run ends.
    pub spectra: Vec<crate::data::spectrum::LayerSpectrum>,
    /// The quantization figure of a quantized run's final weights under its setting, computed
    /// once where the run trained (the training worker on the page) when the run ends.
    pub weights_figure: Option<crate::model::quant::weights::WeightsFigure>,
    /// PTQ through Burn's native quantization: the bytes Burn stores the model in.
    pub packed_bytes: Option<usize>,
    /// The transformer's end-of-run views (attention pattern, answers, sample).
    pub seq_views: Option<crate::train::sequence_views::SeqViews>,
    /// A 2-D classification run's decision boundary at its end (the CLI's figure; the page
    /// keeps its own, read while the run trains).
    pub boundary: Option<crate::train::objective::Boundary>,
    /// The training worker that held it failed twice (the page's pool, #33): why. It has no
    /// curve, counts as finished and is marked in the sweep's table; the other runs go on.
    pub failed: Option<String>,
    /// Divergence, seen report by report.
    watch: Watch,
}

/// A loss this many times its first value means the run has blown up, even while still finite.
pub const DIVERGENCE_FACTOR: f32 = 10.0;

impl Run {
    pub fn new(config: ExperimentConfig) -> Self {
        Self {
            knobs: Vec::new(),
            reports: Vec::new(),
            diverged: false,
            spectra: Vec::new(),
            weights_figure: None,
            packed_bytes: None,
            seq_views: None,
            boundary: None,
            failed: None,
            watch: Watch::new(&config),
            config,
        }
    }

    /// A run of a sweep, named by its swept values.
    pub fn with_knobs(config: ExperimentConfig, knobs: Vec<(&'static Key, String)>) -> Self {
        Self {
            knobs,
            ..Self::new(config)
        }
    }

    /// The swept knobs that place this run in its sweep's figures, in run order: every swept
    /// key but the seed, whose runs are averaged.
    pub fn swept(&self) -> Vec<&'static Key> {
        self.knobs
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| **k != crate::keys::SEED)
            .collect()
    }

    /// This run's value of the swept `key`, as link text.
    pub fn value_of(&self, key: &Key) -> Option<&str> {
        self.knobs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The quantization figure of the run's weights under its own setting, once it is known.
    pub fn weights_figure(&self) -> Option<&crate::model::quant::weights::WeightsFigure> {
        self.weights_figure.as_ref()
    }

    /// The swept values when in a sweep, else the config's own label.
    pub fn label(&self) -> String {
        if self.knobs.is_empty() {
            self.config.label()
        } else {
            crate::link::sweep::describe(&self.knobs)
        }
    }

    /// Whether the run is over: it trained all its steps or diverged.
    pub fn finished(&self) -> bool {
        self.diverged || self.failed.is_some() || self.reports.len() >= self.config.total_steps()
    }

    /// Appends reports; the first non-finite loss marks the run diverged and ends its history there.
    pub fn extend(&mut self, reports: impl IntoIterator<Item = StepReport>) {
        for r in reports {
            if self.diverged {
                break;
            }
            let diverged = self.watch.see(&r);
            self.reports.push(r);
            self.diverged |= diverged;
        }
    }

    /// The step at which the adaptation phase began, when it followed a pre-training phase.
    pub fn adaptation_start(&self) -> Option<usize> {
        let c = &self.config;
        (c.lora.rank.adapts() && c.pretrain_steps() > 0).then(|| c.pretrain_steps())
    }

    /// The coordinate check: (steps taken, mean |output| per linear layer), in step order.
    pub fn coords(&self) -> Vec<(usize, &[f32])> {
        self.reports
            .iter()
            .filter_map(|r| r.coord.as_deref().map(|c| (r.step + 1, c)))
            .collect()
    }

    /// PTQ: the validation loss of the trained model with quantized weights.
    pub fn quant_val_loss(&self) -> Option<f32> {
        self.reports.iter().rev().find_map(|r| r.quant_val_loss)
    }

    /// Pruning's scores, read at the run's last step.
    pub fn pruned(&self) -> Option<&super::prune::Pruned> {
        self.reports.iter().rev().find_map(|r| r.prune.as_ref())
    }

    /// The loss a sweep chart shows for this run: under PTQ the quantized model's (the quantity
    /// a bit-width sweep is about), else the final or best validation loss.
    pub fn sweep_loss(&self, metric: SweepMetric) -> Option<f32> {
        let q = &self.config.quant;
        if q.enabled() && q.mode == crate::knobs::quant::QMode::Ptq {
            return self.quant_val_loss();
        }
        match metric {
            SweepMetric::Final => self.final_val_loss(),
            SweepMetric::Best => self.best_val_loss(),
        }
    }

    /// The steps the last phase took to bring the validation loss to `target`: where the first
    /// evaluation at or below it falls, interpolated on log loss from the evaluation before it
    /// (a loss read before step t's update is that of t updates). `None` when it never does: the
    /// last evaluation is before the last update, so a run that gets there only with its last
    /// step counts as not getting there.
    pub fn steps_to(&self, target: f64) -> Option<f64> {
        let from = self.adaptation_start().unwrap_or(0);
        let mut before: Option<(f64, f64)> = None;
        for r in self.reports.iter().filter(|r| r.step >= from) {
            let Some(v) = r.val_loss.map(f64::from).filter(|v| v.is_finite()) else {
                continue;
            };
            let t = (r.step - from) as f64;
            if v <= target {
                return Some(match before {
                    Some((t0, v0)) if v0 > target && v > 0.0 => {
                        t0 + (t - t0) * (v0.ln() - target.ln()) / (v0.ln() - v.ln())
                    }
                    _ => t,
                });
            }
            before = Some((t, v));
        }
        None
    }

    pub fn final_train_loss(&self) -> Option<f32> {
        self.reports.last().map(|r| r.train_loss)
    }

    /// The gradient noise scale along the run (`train::noise::b_simple`): (step, smoothed
    /// training loss, B_simple), empty without `gns`. Of the last phase only: an adaptation
    /// phase's gradients are of another task (and of other parameters), so its averages start
    /// afresh rather than carry the pre-training's.
    pub fn noise_scale(&self) -> Vec<(usize, f64, f64)> {
        let from = self.adaptation_start().unwrap_or(0);
        super::noise::b_simple(
            self.reports
                .iter()
                .filter(|r| r.step >= from)
                .filter_map(|r| Some((r.step, r.train_loss, r.gns?))),
        )
    }

    /// Validation accuracy at the last evaluation (the MLP's on a classification task, the
    /// transformer's exact-match), `None` where the task has none.
    pub fn final_val_acc(&self) -> Option<f32> {
        self.reports
            .iter()
            .rev()
            .find_map(|r| r.val_acc.or(r.seq.and_then(|s| s.val_acc)))
    }

    pub fn final_val_loss(&self) -> Option<f32> {
        self.reports.iter().rev().find_map(|r| r.val_loss)
    }

    /// Best validation loss of the final phase (pre-training losses are on another task).
    pub fn best_val_loss(&self) -> Option<f32> {
        let from = self.adaptation_start().unwrap_or(0);
        self.reports
            .iter()
            .filter(|r| r.step >= from)
            .filter_map(|r| r.val_loss)
            .filter(|v| v.is_finite())
            .reduce(f32::min)
    }
}
