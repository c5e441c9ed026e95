//! A stacked step's values on their way back (#33): where each step's `[K']` losses, statistics,
//! accuracy and PTQ losses sit among the tensors of the one readback a round makes, and how they
//! become each run's reports again (a run that left its stack has none after it left).

use burn::prelude::*;

use super::metrics::{SeqStats, StepReport, read_reports};
use super::stack::StackStep;

/// Where each stacked step's losses sit among the tensors a readback reads ([`queue`]): its
/// index and whether it has a validation loss.
pub struct Queued {
    shape: Vec<Shape>,
    runs: usize,
}

/// One queued step: its index, whether it has a validation loss, the runs it is of, the width
/// of each run's statistics (0: none) and whether it has accuracy.
struct Shape {
    step: usize,
    val: bool,
    alive: Vec<usize>,
    stats: usize,
    accuracy: bool,
    val_acc: bool,
    /// PTQ's losses: which of the runs report theirs.
    quant: Option<Vec<bool>>,
}

impl Queued {
    /// Tensors [`queue`] added to the readback.
    pub fn len(&self) -> usize {
        self.shape
            .iter()
            .map(|s| {
                1 + usize::from(s.val)
                    + usize::from(s.stats > 0)
                    + usize::from(s.accuracy)
                    + usize::from(s.val_acc)
                    + usize::from(s.quant.is_some())
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.shape.is_empty()
    }

    /// Each run's reports (`out[k]` for run k of the stack as it began; none for a step it had
    /// left by) from the values the readback returned for the queued tensors, in order.
    pub fn unpack(&self, values: &[Vec<f32>]) -> Vec<Vec<StepReport>> {
        let mut values = values.iter();
        let mut out = vec![Vec::with_capacity(self.shape.len()); self.runs];
        for shape in &self.shape {
            let train = values.next();
            let val = if shape.val { values.next() } else { None };
            let stats = if shape.stats > 0 { values.next() } else { None };
            let accuracy = if shape.accuracy { values.next() } else { None };
            let val_acc = if shape.val_acc { values.next() } else { None };
            let quant = if shape.quant.is_some() {
                values.next()
            } else {
                None
            };
            for (j, &k) in shape.alive.iter().enumerate() {
                let Some(reports) = out.get_mut(k) else {
                    continue;
                };
                let at = |v: Option<&Vec<f32>>, i: usize| v.and_then(|v| v.get(i).copied());
                let w = shape.stats;
                let seq = stats.map(|_| SeqStats {
                    max_logit: at(stats, j * w).unwrap_or(f32::NAN),
                    log_z: at(stats, j * w + 1).unwrap_or(f32::NAN),
                    z_loss: (w > 2).then(|| at(stats, j * w + 2)).flatten(),
                    train_acc: at(accuracy, 2 * j),
                    val_acc: at(accuracy, 2 * j + 1),
                });
                reports.push(StepReport {
                    step: shape.step,
                    train_loss: at(train, j).unwrap_or(f32::NAN),
                    val_loss: at(val, j),
                    coord: None,
                    quant_val_loss: shape
                        .quant
                        .as_ref()
                        .filter(|q| q.get(j).copied().unwrap_or(false))
                        .and_then(|_| at(quant, j)),
                    seq,
                    norms: None,
                    singular: None,
                    prune: None,
                    val_acc: at(val_acc, j),
                    gns: None,
                });
            }
        }
        out
    }
}

/// The `[K]` losses of `steps` as tensors for one readback (`metrics::read_reports`' extras),
/// and where they sit.
pub fn queue(steps: Vec<StackStep>, runs: usize) -> (Vec<Tensor<1>>, Queued) {
    let mut tensors = Vec::with_capacity(2 * steps.len());
    let mut shape = Vec::with_capacity(steps.len());
    // [K', w] → [K'·w], run after run.
    let flat = |t: Tensor<2>| {
        let [k, w] = t.dims();
        t.reshape([k * w])
    };
    for s in steps {
        shape.push(Shape {
            step: s.step,
            val: s.val_loss.is_some(),
            alive: s.runs,
            stats: s.stats.as_ref().map_or(0, |t| t.dims()[1]),
            accuracy: s.accuracy.is_some(),
            val_acc: s.val_acc.is_some(),
            quant: s.quant_loss.as_ref().map(|(_, q)| q.clone()),
        });
        tensors.push(s.train_loss);
        tensors.extend(s.val_loss);
        tensors.extend(s.stats.map(flat));
        tensors.extend(s.accuracy.map(flat));
        tensors.extend(s.val_acc);
        tensors.extend(s.quant_loss.map(|(l, _)| l));
    }
    (tensors, Queued { shape, runs })
}

/// Reads the losses of `steps` with one transfer, as `metrics::read_reports` does: each run's
/// reports, in step order (`out[k]` for run k of the stack).
pub async fn read_stack(steps: Vec<StackStep>, runs: usize) -> Result<Vec<Vec<StepReport>>, String> {
    let (tensors, queued) = queue(steps, runs);
    let (_, values) = read_reports(Vec::new(), tensors).await?;
    Ok(queued.unpack(&values))
}
