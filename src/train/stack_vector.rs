//! The stacked MLP's side of a stack (#33, `train::stack`): the runs' vector-task examples
//! stacked run after run (the planted teacher's too), each run's batches from its own walk, and
//! each run's loss — mean cross-entropy for labels, mean squared error for values — as its
//! unstacked step measures it; the adaptation phase (LoRA or full fine-tuning, on a
//! QLoRA-rounded base, on the shifted task) and PTQ's end-of-run loss, each run at its own
//! settings.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::stack_walks::Walks;
use crate::data::device::BatchWalk;
use crate::data::planted::Teacher;
use crate::data::{Dataset, Rng, Samples, Targets, streams};
use crate::knobs::ExperimentConfig;
use crate::knobs::lora::Factors;
use crate::knobs::mup::{Part, Role};
use crate::knobs::quant::QMode;
use crate::knobs::task::Task;
use crate::model::stacked::StackedMlp;
use crate::model::{Family, Mlp, VectorFamily, lora};

/// Targets of K runs, stacked: labels `[K·n]` or values `[K·n, d]`.
#[derive(Clone)]
enum StackTargets {
    Labels(Tensor<1, Int>),
    Values(Tensor<2>),
}

impl StackTargets {
    fn select(&self, idx: Tensor<1, Int>) -> Self {
        match self {
            Self::Labels(y) => Self::Labels(y.clone().select(0, idx)),
            Self::Values(y) => Self::Values(y.clone().select(0, idx)),
        }
    }
}

impl Split {
    /// Only the runs at `idx` (`[K']`, positions among the `runs` stacked here).
    fn retain(&mut self, runs: usize, idx: &Tensor<1, Int>) {
        let (n, kept) = (self.n, idx.dims()[0]);
        let dim = self.x.dims()[1];
        let x = self.x.clone().reshape([runs, n, dim]).select(0, idx.clone());
        self.x = x.reshape([kept * n, dim]);
        self.y = match &self.y {
            StackTargets::Labels(y) => {
                let y = y.clone().reshape([runs, n]).select(0, idx.clone());
                StackTargets::Labels(y.reshape([kept * n]))
            }
            StackTargets::Values(y) => {
                let d = y.dims()[1];
                let y = y.clone().reshape([runs, n, d]).select(0, idx.clone());
                StackTargets::Values(y.reshape([kept * n, d]))
            }
        };
    }
}

/// One split of every run, run after run: inputs `[K·n, d]` and targets.
#[derive(Clone)]
struct Split {
    x: Tensor<2>,
    y: StackTargets,
    n: usize,
}

fn upload(splits: &[&Samples], device: &Device) -> Split {
    let n = splits[0].len();
    let dim = splits[0].dim;
    let rows = n * splits.len();
    let x: Vec<f32> = splits.iter().flat_map(|s| s.x.iter().copied()).collect();
    let x = Tensor::<2>::from_data(TensorData::new(x, [rows, dim]), device);
    let y = match &splits[0].targets {
        Targets::Labels(_) => {
            let l: Vec<i64> = splits.iter().flat_map(|s| s.labels().iter().copied()).collect();
            StackTargets::Labels(Tensor::from_data(TensorData::new(l, [rows]), device))
        }
        Targets::Values { dim: d, .. } => {
            let y: Vec<f32> = splits
                .iter()
                .flat_map(|s| match &s.targets {
                    Targets::Values { y, .. } => y.clone(),
                    Targets::Labels(_) => Vec::new(),
                })
                .collect();
            StackTargets::Values(Tensor::from_data(TensorData::new(y, [rows, *d]), device))
        }
    };
    Split { x, y, n }
}

/// The stacked MLP, its runs' examples and their batches.
pub(super) struct VectorStack {
    model: StackedMlp,
    train: Split,
    val: Split,
    walks: Walks,
    /// Each run's shifted task, waiting for the adaptation phase (`None` when none waits).
    pending: Option<Vec<Dataset>>,
}

/// What the adaptation phase begins with: every parameter (the base's, then the adapters'
/// factors), which of them train, and for each trainable one which runs train it (a factor a
/// run's `train` mode freezes has a rate of 0 for that run).
pub(super) struct Adaptation {
    pub params: Vec<Tensor<3>>,
    pub trains: Vec<bool>,
    pub frozen: Vec<Vec<bool>>,
}

impl VectorStack {
    /// The stack of `cfgs` (valid runs of one shape) on `device` (plain), and its initial
    /// parameters.
    pub(super) fn new(cfgs: &[ExperimentConfig], device: &Device) -> (Self, Vec<Tensor<3>>) {
        let mut models = Vec::with_capacity(cfgs.len());
        let mut walks = Vec::with_capacity(cfgs.len());
        let mut datasets = Vec::with_capacity(cfgs.len());
        let first = &cfgs[0];
        let first_phase = first.first_phase_steps();
        for cfg in cfgs {
            // As `Trainer::new` and `Vectors::setup` do for one run: the batch stream first
            // shuffles the walk, the init stream draws the weights (the planted task's student
            // starts at its teacher's W0).
            let mut batch_rng = Rng::stream(cfg.seed, streams::BATCHES);
            let (dataset, model) = if cfg.task == Task::Planted {
                let teacher = Teacher::new(&cfg.planted, cfg.seed);
                let d = cfg.planted.dim;
                (
                    teacher.dataset(cfg.points, cfg.seed),
                    Mlp::linear(teacher.w0, d, d, device),
                )
            } else {
                let mut init_rng = Rng::stream(cfg.seed, streams::INIT);
                let model = Mlp::build(cfg, cfg.input_dim(), cfg.outputs(), &mut init_rng, device);
                (crate::data::generate(cfg), model)
            };
            let walk = BatchWalk::new(dataset.train.len(), first_phase, &mut batch_rng);
            models.push(model);
            walks.push((walk, batch_rng));
            datasets.push(dataset);
        }
        let pending = (first.lora.rank.adapts() && first.pretrains()).then(|| {
            cfgs.iter()
                .zip(&datasets)
                .map(|(c, d)| crate::data::shift(c.shift, d))
                .collect()
        });
        let (model, params) = StackedMlp::new(&models, device);
        // QAT, as `Trainer::new` sets it for every run that quantizes.
        let model = match first.quant.mode {
            QMode::Qat => model.with_qat(&cfgs.iter().map(|c| &c.quant).collect::<Vec<_>>(), device),
            _ => model,
        };
        let train = upload(&datasets.iter().map(|d| &d.train).collect::<Vec<_>>(), device);
        let val = upload(&datasets.iter().map(|d| &d.val).collect::<Vec<_>>(), device);
        let stack = Self {
            model,
            train,
            val,
            walks: Walks::new(walks, first.batch.max(1), first_phase),
            pending,
        };
        (stack, params)
    }

    /// Begins the adaptation phase of the runs `cfgs` (those still in the stack) from
    /// `params`, over `steps` steps, as `Trainer::begin_adaptation` begins each run's: the base
    /// rounded under QLoRA (each run at its own bits and format), the adapters of each run's
    /// LoRA settings drawn by `model::lora` from its own stream (rank 0: every parameter
    /// trains), and the shifted task's data with a fresh walk from each run's batch stream.
    pub(super) fn begin_adaptation(
        &mut self,
        cfgs: &[&ExperimentConfig],
        params: &[Tensor<3>],
        steps: usize,
        device: &Device,
    ) -> Adaptation {
        let mut bases = Vec::with_capacity(cfgs.len());
        let mut adapted = Vec::with_capacity(cfgs.len());
        for (k, cfg) in cfgs.iter().enumerate() {
            let mut base = self.model.unstack(params, k);
            let q = &cfg.quant;
            if q.enabled() && q.mode == QMode::Qlora {
                base = base.quantized(q, false);
            }
            adapted.push(lora::attach(base.clone(), &cfg.lora, cfg.seed));
            bases.push(base);
        }
        let mut params = StackedMlp::parameters(&bases);
        let base_len = params.len();
        let layers: Vec<usize> = adapted[0].layers.iter().map(|l| l.index).collect();
        if layers.is_empty() {
            // Full fine-tuning: every parameter trains, for every run.
            let trains = vec![true; base_len];
            let frozen = vec![vec![false; cfgs.len()]; base_len];
            self.switch(steps, device);
            return Adaptation {
                params,
                trains,
                frozen,
            };
        }
        let mut frozen = Vec::new();
        for &l in &layers {
            let factor = |m: &Mlp, b: bool| {
                let layer = m.linears()[l].1;
                let ad = layer.weight.adapter().expect("the layer carries an adapter");
                let f = if b { &ad.b } else { &ad.a };
                f.val().inner()
            };
            for b in [false, true] {
                let each = adapted.iter().map(|a| factor(&a.model, b)).collect();
                params.push(Tensor::stack::<3>(each, 0)); // A [K, in, r], B [K, r, out]
                frozen.push(
                    cfgs.iter()
                        .map(|c| match c.lora.train {
                            Factors::Both => false,
                            Factors::BOnly => !b,
                            Factors::AOnly => b,
                        })
                        .collect(),
                );
            }
        }
        let gammas = adapted.iter().map(|a| a.layers[0].gamma).collect();
        self.model.attach(layers, gammas, device);
        let mut trains = vec![false; base_len];
        trains.extend(vec![true; params.len() - base_len]);
        self.switch(steps, device);
        Adaptation {
            params,
            trains,
            frozen,
        }
    }

    /// The shifted task's data, where one waits, with each run's walk over it for `steps` steps
    /// drawn from its batch stream where pre-training's walk left it.
    fn switch(&mut self, steps: usize, device: &Device) {
        let Some(next) = self.pending.take() else {
            return;
        };
        let batch = self.walks.batch();
        let rngs = std::mem::replace(&mut self.walks, Walks::new(Vec::new(), batch, 0)).into_streams();
        let walks = rngs
            .into_iter()
            .zip(&next)
            .map(|(mut rng, d)| (BatchWalk::new(d.train.len(), steps, &mut rng), rng))
            .collect();
        self.train = upload(&next.iter().map(|d| &d.train).collect::<Vec<_>>(), device);
        self.val = upload(&next.iter().map(|d| &d.val).collect::<Vec<_>>(), device);
        self.walks = Walks::new(walks, batch, steps);
    }

    /// Every run's validation loss with its weights rounded as PTQ rounds them (`q` of each run
    /// in `cfgs`, those still in the stack; a run that does not quantize keeps its float
    /// weights), `[K]`: each run's model rounded on its own as the unstacked run rounds it
    /// (`native`: Burn's quantization where it covers the run), then one stacked pass.
    pub(super) fn quantized_losses(
        &self,
        cfgs: &[&ExperimentConfig],
        params: &[Tensor<3>],
        native: bool,
    ) -> Tensor<1> {
        let models: Vec<Mlp> = cfgs
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let m = self.model.unstack(params, k);
                if c.quant.enabled() {
                    m.quantized(&c.quant, native)
                } else {
                    m
                }
            })
            .collect();
        let rounded = StackedMlp::parameters(&models);
        let k = self.model.runs;
        let dim = self.val.x.dims()[1];
        let x = self.val.x.clone().reshape([k, self.val.n, dim]);
        let unadapted = self.model.without_adapters();
        Self::losses(unadapted.forward(&rounded, x), self.val.y.clone())
    }

    pub(super) fn roles(&self) -> &[(Role, Part)] {
        &self.model.roles
    }

    /// Keeps only the runs `keep` of the `runs` in the stack (`idx` the same on the device).
    pub(super) fn retain(&mut self, runs: usize, keep: &[usize], idx: &Tensor<1, Int>, device: &Device) {
        self.model.retain(keep, idx);
        if let Some(p) = &mut self.pending {
            *p = keep.iter().map(|&k| p[k].clone()).collect();
        }
        self.train.retain(runs, idx);
        self.val.retain(runs, idx);
        self.walks.retain(keep, self.train.n, device);
    }

    /// Every run's mean loss, `[K]`: cross-entropy for labels, MSE over every output for values.
    /// pred: `[K, rows, out]`.
    fn losses(pred: Tensor<3>, y: StackTargets) -> Tensor<1> {
        let [k, rows, _] = pred.dims();
        match y {
            StackTargets::Labels(y) => {
                let picked = log_softmax(pred, 2).gather(2, y.reshape([k, rows, 1])); // [K, rows, 1]
                picked.mean_dim(1).reshape([k]).neg()
            }
            StackTargets::Values(y) => {
                let d = y.dims()[1];
                let err = (pred - y.reshape([k, rows, d])).square(); // [K, rows, d]
                err.reshape([k, rows * d]).mean_dim(1).reshape([k])
            }
        }
    }

    /// Every run's validation loss, `[K]`, with `params` plain (off the autodiff graph), and on
    /// a classification task its accuracy, `[K]` (as `vector::accuracy` gives one run's).
    pub(super) fn evaluate(&self, params: &[Tensor<3>]) -> (Tensor<1>, Option<Tensor<1>>) {
        let k = self.model.runs;
        let dim = self.val.x.dims()[1];
        let x = self.val.x.clone().reshape([k, self.val.n, dim]);
        let pred = self.model.forward(params, x); // [K, n, out]
        let acc = match &self.val.y {
            StackTargets::Labels(y) => {
                let n = self.val.n;
                let hit = pred
                    .clone()
                    .argmax(2)
                    .reshape([k, n])
                    .equal(y.clone().reshape([k, n])); // [K, n]
                Some(hit.float().mean_dim(1).reshape([k]))
            }
            StackTargets::Values(_) => None,
        };
        (Self::losses(pred, self.val.y.clone()), acc)
    }

    /// Every run's loss on its next batch, `[K]`, on the graph of `leaves` (the parameters as
    /// autodiff leaves).
    pub(super) fn loss(&mut self, leaves: &[Tensor<3>], device: &Device) -> Tensor<1> {
        let k = self.model.runs;
        let dim = self.train.x.dims()[1];
        let (x, y) = match self.walks.next(self.train.n, device) {
            None => (self.train.x.clone(), self.train.y.clone()),
            Some(idx) => (
                self.train.x.clone().select(0, idx.clone()),
                self.train.y.select(idx),
            ),
        };
        let rows = x.dims()[0] / k;
        let x = x.reshape([k, rows, dim]); // [K, batch, d_in]
        let pred = self.model.forward(leaves, x.autodiff()); // [K, batch, out]
        let y = match y {
            StackTargets::Labels(y) => StackTargets::Labels(y.autodiff()),
            StackTargets::Values(y) => StackTargets::Values(y.autodiff()),
        };
        Self::losses(pred, y)
    }
}
