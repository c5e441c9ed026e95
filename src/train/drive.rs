//! Driving trainers to the end outside the page's frame loop (the native CLI and the tests), and
//! the one readback a run makes once it ends ([`read_analysis`]): the learned ΔW's spectrum, the
//! weights and their quantization figure, the bytes Burn stores a natively quantized model in, and
//! the transformer's attention pattern, answers and sample.

use burn::prelude::*;

use crate::data::spectrum;
use crate::knobs::ExperimentConfig;
use crate::model::checkpoint::{self, Checkpoint, Named};
use crate::train::metrics::{Run, read_reports};
use crate::train::objective::{Boundary, GRID_RES};
use crate::train::sequence_views::SeqViews;
use crate::train::stack::{StackStep, StackTrainer};
use crate::train::stack_readback::read_stack;
use crate::train::{Job, StepOutput, Training};

/// Trains `cfg` to the end, reading losses back every `chunk` steps (the native CLI and the tests;
/// the page paces its own loop per animation frame).
pub async fn train_run(cfg: &ExperimentConfig, device: &Device, chunk: usize) -> Result<Run, String> {
    Ok(train_run_from(cfg, device, chunk, None, false).await?.0)
}

/// The trained weights of a run: the base, and the adapters where an adaptation attached some.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub base: Checkpoint,
    pub adapters: Option<Checkpoint>,
}

/// [`train_run`] from a checkpoint's weights (`start`, #35), and with `save` the weights it
/// ended with, read back once, its link and family in their metadata.
pub async fn train_run_from(
    cfg: &ExperimentConfig,
    device: &Device,
    chunk: usize,
    start: Option<&Checkpoint>,
    save: bool,
) -> Result<(Run, Option<Weights>), String> {
    if let Some(ck) = start {
        checkpoint::check_family(ck, cfg)?;
    }
    let mut trainer = Job::new_from(cfg, device, start)?;
    let mut run = Run::new(cfg.clone());
    while !trainer.is_done() && !run.diverged {
        let outs: Vec<StepOutput> = (0..chunk.max(1)).map_while(|_| trainer.step()).collect();
        let (reports, _) = read_reports(outs, Vec::new()).await?;
        run.extend(reports);
    }
    read_analysis(&mut trainer, true).await?.apply_to(&mut run);
    let weights = match save {
        true => Some(read_weights(&*trainer).await?),
        false => None,
    };
    Ok((run, weights))
}

/// The trainer's weights now, read back: the base and the adapters apart.
pub async fn read_weights(trainer: &dyn Training) -> Result<Weights, String> {
    let meta = checkpoint::metadata(trainer.config(), trainer.steps_done());
    let mut base = Checkpoint {
        tensors: Vec::new(),
        meta: meta.clone(),
    };
    let mut adapters = Checkpoint {
        tensors: Vec::new(),
        meta,
    };
    adapters
        .meta
        .insert(checkpoint::META_KIND.into(), "adapters".into());
    for q in trainer.queue_weights() {
        let values = q
            .values
            .into_data_async()
            .await
            .map_err(|e| format!("reading {} failed: {e:?}", q.name))?
            .try_to_vec::<f32>()
            .map_err(|e| format!("reading {} failed: {e:?}", q.name))?;
        let named = Named {
            name: q.name,
            shape: q.shape,
            values,
        };
        if q.adapter {
            adapters.tensors.push(named);
        } else {
            base.tensors.push(named);
        }
    }
    Ok(Weights {
        base,
        adapters: (!adapters.tensors.is_empty()).then_some(adapters),
    })
}

/// What Burn really stores for the PTQ model where it quantizes natively: every layer's
/// quantized weight read back as bytes (values and scales), plus the f32 biases. `None` where the
/// configuration runs on the reference rounding.
pub async fn read_packed_bytes(trainer: &dyn Training) -> Result<Option<usize>, String> {
    let cfg = trainer.config();
    let native = crate::model::quant::native::on(trainer.device());
    if !crate::model::quant::native::used(cfg, native) {
        return Ok(None);
    }
    let mut total = 0;
    for (_, l) in trainer.linears() {
        let Some(packed) = crate::model::quant::native::quantize(l.weight.val().detach(), &cfg.quant) else {
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

/// What a run's end-of-run figures need from the device, read back once.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    /// Singular values of every adapted layer's learned ΔW (empty without adaptation).
    pub spectra: Vec<spectrum::LayerSpectrum>,
    /// Every layer's weights (merged with any adapter) of a quantized run, the figure's source;
    /// empty when the run does not quantize. Not sent to the page (the figure is): the training
    /// worker keeps them to re-grid them when only a PTQ knob moves.
    #[serde(skip)]
    pub weights: Vec<crate::model::quant::weights::LayerWeights>,
    /// The quantization figure of those weights under the run's setting (computed here, where the
    /// run trained: it rounds the whole model 22 times, 352 with the MSE search).
    pub weights_figure: Option<crate::model::quant::weights::WeightsFigure>,
    /// Bytes of Burn's natively quantized model (see [`read_packed_bytes`]).
    pub packed_bytes: Option<usize>,
    /// The transformer's attention pattern, answers and sample.
    pub seq: Option<SeqViews>,
    /// A 2-D classification run's decision boundary at its end. Not sent to the page, whose
    /// runner reads it with the last frame.
    #[serde(skip)]
    pub boundary: Option<Boundary>,
}

impl Analysis {
    /// Puts the figures' data into the run they belong to.
    pub fn apply_to(self, run: &mut Run) {
        run.spectra = self.spectra;
        run.weights_figure = self.weights_figure;
        run.packed_bytes = self.packed_bytes;
        run.seq_views = self.seq;
        run.boundary = self.boundary;
    }
}

/// The end of a run in ONE batched readback: the ΔW factors (or dense changes) of the spectra and,
/// for a quantized run, every layer's weights, concatenated and read together. The packed size is
/// read only where Burn quantizes natively, which is the CPU backend: there "reading" is a copy in
/// memory, not a device transfer.
///
/// With `boundary`, a 2-D classification run's decision boundary is read too (the CLI's figure;
/// the page's runner reads it with its last frame).
pub async fn read_analysis(job: &mut Job, boundary: bool) -> Result<Analysis, String> {
    let grid = if boundary { job.grid(GRID_RES) } else { None };
    // ΔW spectra of an adapted run; weights for any quantized run.
    let probe = job.delta_probe();
    let layers = if job.config().quant.enabled() {
        job.linears()
    } else {
        Vec::new()
    };
    let views = job.views(true);
    let mut tensors: Vec<Tensor<1>> = probe.as_ref().map(|(_, t)| t.clone()).unwrap_or_default();
    let n_probe = tensors.len();
    tensors.extend(layers.iter().map(|(_, l)| {
        let [i, o] = l.weight.lazy_shape().dims();
        l.weight.val().detach().reshape([i * o])
    }));
    let n_weights = layers.len();
    tensors.extend(views.as_ref().map(|(_, t)| t.clone()).unwrap_or_default());
    let n_views = tensors.len() - n_probe - n_weights;
    let (classes, points) = match grid {
        Some(g) => {
            tensors.push(g.probs);
            (g.classes, Some(g.points))
        }
        None => (0, None),
    };
    let (_, mut values) = read_reports(Vec::new(), tensors).await?;
    let grid_values = values.split_off((n_probe + n_weights + n_views).min(values.len()));
    let boundary = points
        .zip(grid_values.into_iter().next())
        .map(|(points, probs)| Boundary {
            res: GRID_RES,
            classes,
            probs,
            points,
        });
    let view_values = values.split_off((n_probe + n_weights).min(values.len()));
    let weight_values = values.split_off(n_probe.min(values.len()));
    let seq = views.and_then(|(p, _)| p.read(&view_values));
    let spectra = probe.map(|(p, _)| p.spectra(&values)).unwrap_or_default();
    let weights: Vec<_> = layers
        .iter()
        .zip(weight_values)
        .map(|((name, l), values)| {
            let [d_in, d_out] = l.weight.lazy_shape().dims();
            crate::model::quant::weights::LayerWeights {
                name: name.clone(),
                d_in,
                d_out,
                values,
            }
        })
        .collect();
    let packed_bytes = read_packed_bytes(&**job).await?;
    let weights_figure = crate::model::quant::weights::figure(&weights, &job.config().quant);
    Ok(Analysis {
        spectra,
        weights,
        weights_figure,
        packed_bytes,
        seq,
        boundary,
    })
}

/// Trains every run of a sweep, interleaved in the order of `sweep::interleave`: rounds of `chunk`
/// steps per unfinished run, so partial results cover the whole grid. Each share is read back on
/// its own (the page batches a whole frame instead). A diverged run stops; the others go on.
/// `progress(done_runs, total_runs)` after every share.
pub async fn train_sweep(
    points: &[crate::link::sweep::SweepPoint],
    device: &Device,
    chunk: usize,
    progress: impl FnMut(usize, usize),
) -> Result<Vec<Run>, String> {
    let alone: Vec<Vec<usize>> = (0..points.len()).map(|i| vec![i]).collect();
    train_sweep_stacked(points, device, chunk, &alone, progress).await
}

/// What trains a group of a sweep's runs: one run's trainer, or a stack (#33) with the runs it
/// holds (indices into the sweep).
enum Unit {
    One(Job),
    Stack(Box<StackTrainer>, Vec<usize>),
}

/// [`train_sweep`] with the runs in `groups` (`experiment::stack::stacks`): a group of several
/// trains as one stack, interleaved with the other groups as a run is. A run of a stack that
/// diverges is marked and frozen; the stack's other runs train on.
pub async fn train_sweep_stacked(
    points: &[crate::link::sweep::SweepPoint],
    device: &Device,
    chunk: usize,
    groups: &[Vec<usize>],
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Run>, String> {
    let mut units = groups
        .iter()
        .map(|g| match g.as_slice() {
            [i] => Job::new(&points[*i].config, device).map(Unit::One),
            _ => {
                let cfgs: Vec<ExperimentConfig> = g.iter().map(|&i| points[i].config.clone()).collect();
                StackTrainer::new(&cfgs, device).map(|s| Unit::Stack(Box::new(s), g.clone()))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut runs: Vec<Run> = points
        .iter()
        .map(|p| Run::with_knobs(p.config.clone(), p.knobs.clone()))
        .collect();
    let steps: Vec<usize> = groups.iter().map(|g| points[g[0]].config.total_steps()).collect();
    for (u, n) in crate::link::sweep::interleave(&steps, chunk) {
        match &mut units[u] {
            Unit::One(job) => {
                let i = groups[u][0];
                if runs[i].diverged {
                    continue;
                }
                let outs: Vec<StepOutput> = (0..n).map_while(|_| job.step()).collect();
                let (reports, _) = read_reports(outs, Vec::new()).await?;
                runs[i].extend(reports);
                if job.is_done() && !runs[i].diverged {
                    read_analysis(job, false).await?.apply_to(&mut runs[i]);
                }
            }
            Unit::Stack(stack, members) => {
                if members.iter().all(|&i| runs[i].diverged) {
                    continue;
                }
                let outs: Vec<StackStep> = (0..n).map_while(|_| stack.step()).collect();
                let reports = read_stack(outs, members.len()).await?;
                for (k, (&i, mine)) in members.iter().zip(reports).enumerate() {
                    if !runs[i].diverged {
                        runs[i].extend(mine);
                        if runs[i].diverged {
                            stack.freeze(k);
                        }
                    }
                }
            }
        }
        let done = runs
            .iter()
            .zip(&run_done(&units, groups, points.len()))
            .filter(|(r, done)| **done || r.diverged)
            .count();
        progress(done, runs.len());
    }
    Ok(runs)
}

/// Which runs' trainers have taken every step.
fn run_done(units: &[Unit], groups: &[Vec<usize>], runs: usize) -> Vec<bool> {
    let mut done = vec![false; runs];
    for (unit, g) in units.iter().zip(groups) {
        let finished = match unit {
            Unit::One(job) => job.is_done(),
            Unit::Stack(stack, _) => stack.is_done(),
        };
        for &i in g {
            done[i] = finished;
        }
    }
    done
}

/// A sweep spread over `threads` threads (the CLI's `--jobs`, #33): each thread takes the next
/// group of runs not yet taken (`groups`: one run each, or stacks, `experiment::stack`), the
/// heaviest first (`experiment::pool::by_work`), and trains it to its end as
/// [`train_sweep_stacked`] trains a group, so a thread whose run diverged early takes another at
/// once (the page interleaves fixed shares instead, so that its figure grows as a whole). The
/// caller's rayon pool needs a thread a job for them to run at once; the runs come back in the
/// sweep's order, each as it trains alone (or in its stack). `progress(done_runs, total_runs)`
/// after every group, from any thread.
#[cfg(not(target_family = "wasm"))]
pub fn train_sweep_pooled(
    points: &[crate::link::sweep::SweepPoint],
    device: &Device,
    chunk: usize,
    groups: &[Vec<usize>],
    threads: usize,
    progress: impl Fn(usize, usize) + Sync,
) -> Result<Vec<Run>, String> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // A group weighs what its runs weigh together; ties in the groups' order.
    let configs: Vec<ExperimentConfig> = points.iter().map(|p| p.config.clone()).collect();
    let work = crate::experiment::pool::work(&configs);
    let weight: Vec<f64> = groups.iter().map(|g| g.iter().map(|&i| work[i]).sum()).collect();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| weight[b].total_cmp(&weight[a]).then(a.cmp(&b)));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let runs: Mutex<Vec<Option<Result<Run, String>>>> = Mutex::new(vec![None; points.len()]);
    rayon::scope(|scope| {
        for _ in 0..threads.clamp(1, groups.len().max(1)) {
            scope.spawn(|_| {
                while let Some(&g) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let members = &groups[g];
                    let mine: Vec<_> = members.iter().map(|&i| points[i].clone()).collect();
                    let all: Vec<usize> = (0..mine.len()).collect();
                    let trained = pollster::block_on(train_sweep_stacked(
                        &mine,
                        device,
                        chunk,
                        std::slice::from_ref(&all),
                        |_, _| {},
                    ));
                    let failed = trained.is_err();
                    if let Ok(mut slots) = runs.lock() {
                        match trained {
                            Ok(trained) => {
                                for (&i, run) in members.iter().zip(trained) {
                                    slots[i] = Some(Ok(run));
                                }
                            }
                            Err(e) => {
                                for &i in members {
                                    slots[i] = Some(Err(e.clone()));
                                }
                            }
                        }
                    }
                    let n = members.len();
                    progress(done.fetch_add(n, Ordering::Relaxed) + n, points.len());
                    if failed {
                        break;
                    }
                }
            });
        }
    });
    let runs = runs
        .into_inner()
        .map_err(|_| "a training thread panicked".to_string())?;
    runs.into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|| Err(format!("run {i} was not trained"))))
        .collect()
}
