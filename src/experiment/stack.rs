//! Which runs of a sweep train as one stacked model (#33, link key `stack`): runs whose models
//! have the same shapes and whose steps are the same computation up to per-run numbers. A stack
//! holds every parameter with a leading run axis and takes one batched product where each run
//! took its own, so on a GPU K runs cost about one run's kernel launches (`train::stack`).
//!
//! Runs may differ within a stack in what only changes numbers: the learning rate, the seed (the
//! initial weights, the data and the batches), the schedule and its warm-up, the weight decay and
//! what it acts on, and for the MLP the parameterization (μP's multipliers, initial scales and
//! per-layer rates at one width), the residual branch's multiplier, the planted teacher (its
//! rank, spectrum, noise and input subspace), LoRA's α and γ's rule, A's init, which factors
//! train and LoRA+'s λ, and quantization's bits, format, scales, clipping and outlier channel
//! under PTQ (the transformer's too) and QLoRA (QAT's bits: its format, scales and clipping are
//! the stack's). A transformer's stack holds SP and μP runs alike (each run's multipliers and
//! attention scale its own) and shares β. Everything else must be equal — the
//! width, depth, heads, norm, positions, activation, task, its size and batch, the steps, the
//! rank and the layers it adapts, Adam's betas — and [`refuses`] says what still trains one run
//! at a time: QAT with an adaptation phase, the coordinate check, the norms' record, gradient
//! clipping with a frozen LoRA factor, and the transformer's qk-norm, adaptation phase and QAT. The clipping threshold is the stack's (each run clipped by its own norm).

use crate::knobs::ExperimentConfig;
use crate::knobs::arch::{Family, Residual};
use crate::knobs::lora::{Factors, LoraConfig, Rank};
use crate::knobs::quant::{QMode, QuantConfig};
use crate::knobs::task::{PlantedConfig, Task};
use crate::knobs::view::{MAX_STACK, Stack};

use super::limits;

/// Why `cfg` trains alone even in a stacking sweep, or `None` when it can stack.
pub fn refuses(cfg: &ExperimentConfig) -> Option<&'static str> {
    if cfg.family() == Family::Factor {
        // Its runs are a few kernels a step on matrices of at most 64×64: nothing to stack.
        return Some("matrix sensing trains one run at a time");
    }
    let transformer = cfg.family() == Family::Gpt;
    if transformer && cfg.gpt.qk_norm {
        return Some("a transformer with qk-norm trains one run at a time");
    }
    if transformer && cfg.lora.rank.adapts() {
        return Some("a transformer's adaptation phase trains one run at a time");
    }
    if transformer && cfg.quant.enabled() && cfg.quant.mode == QMode::Qat {
        return Some("a transformer's QAT trains one run at a time");
    }
    if cfg.quant.enabled() && cfg.quant.mode == QMode::Qat && cfg.lora.rank.adapts() {
        return Some("quantization-aware training with an adaptation phase trains one run at a time");
    }
    if matches!(cfg.lora.rank, Rank::Bias | Rank::Subspace(_)) {
        // Their phases freeze or reparameterise per run: a stack's tensors hold K runs' weights.
        return Some("bias-only tuning and random subspaces train one run at a time");
    }
    if cfg.prune || cfg.sparse.enabled() {
        // Its cuts are per run: 48 scored copies of each model at the end, or a mask held.
        return Some("pruning trains one run at a time");
    }
    if cfg.task == Task::Planted && cfg.planted.stream {
        // Each run's batches are drawn on the host from its own teacher: no shared walk to stack.
        return Some("a planted stream trains one run at a time");
    }
    if cfg.coord > 0 || cfg.norms || cfg.gns {
        return Some("the coordinate check, the norms' record and the noise scale measure one run at a time");
    }
    if cfg.clip > 0.0 && cfg.lora.rank.adapts() && cfg.lora.train != Factors::Both {
        // A factor one run freezes would count in its stacked norm, where alone it has none.
        return Some("gradient clipping with a frozen LoRA factor trains one run at a time");
    }
    None
}

/// `cfg` with every field a stack's runs may differ in set to one value: two runs stack when
/// these are equal.
fn shape_of(cfg: &ExperimentConfig) -> ExperimentConfig {
    let base = ExperimentConfig::default();
    let mut c = cfg.clone();
    c.lr = base.lr;
    c.seed = base.seed;
    c.sched = base.sched;
    c.warm = base.warm;
    c.wd = base.wd;
    c.decay = base.decay;
    // PTQ rounds each run's weights on its own at the end, and QLoRA each run's base when its
    // adaptation begins: the format is each run's. QAT rounds every run's weights in one pass
    // (`model::quant::stacked`): one format, granularity and clipping, each run's bits.
    c.quant = match cfg.quant.mode {
        QMode::Qat => QuantConfig {
            bits: base.quant.bits,
            ..cfg.quant.clone()
        },
        mode => QuantConfig {
            mode,
            ..base.quant.clone()
        },
    };
    // SP and μP are numbers: initial scales, per-layer rates, multipliers and the attention's
    // scale (each run's, `model::gpt::stacked`).
    c.mup = base.mup.clone();
    if cfg.family() == Family::Gpt {
        // The stacked transformer keeps β as a scalar.
        return c;
    }
    // A residual MLP's β is a number; whether there are residual blocks is its shape.
    if c.residual != Residual::None {
        c.residual = Residual::One;
    }
    // The planted teacher is each run's data; only its dimension shapes the student.
    c.planted = PlantedConfig {
        dim: cfg.planted.dim,
        ..base.planted.clone()
    };
    // LoRA's scale, init, trained factors and LoRA+'s λ are each run's numbers; the rank and
    // the layers adapted are the stack's shape.
    c.lora = LoraConfig {
        rank: cfg.lora.rank,
        target: cfg.lora.target.clone(),
        ..base.lora.clone()
    };
    c
}

/// Whether `auto` stacks runs of `cfg`'s shape on this device: on a GPU, where a step costs its
/// kernel launches and K runs in one launch cost about one run's. Not on the CPU: there a stack
/// of small runs is faster on one thread (a 16-rate sweep of the reference MLP 2.1×), but the
/// gallery's sweeps of them with runs that diverge early (`e4`, `e5`) took longer stacked on the
/// CLI's 2 threads (24.2 against 21.2 s, 9.3 against 7.4; README, "Stacked runs"), and a wide run
/// is slower batched (Burn's CPU backend); `stack=K` asks for stacks there.
pub fn auto_on(gpu: bool, _cfg: &ExperimentConfig) -> bool {
    gpu
}

/// The runs of `configs` (indices) in groups that train together under `stack` on a GPU
/// (`gpu`) or the CPU: equal shapes, in run order, split into near-equal stacks of at most
/// `K` runs (`auto`: [`MAX_STACK`] where [`auto_on`], within the memory cap). A run that cannot stack, or whose
/// shape no other run shares, is a group of one. Groups are ordered by their first run.
pub fn stacks(configs: &[ExperimentConfig], stack: Stack, gpu: bool) -> Vec<Vec<usize>> {
    let most = match stack {
        Stack::Off => 1,
        Stack::Auto => MAX_STACK,
        Stack::Count(k) => k.clamp(1, MAX_STACK),
    };
    let mut groups: Vec<(Option<ExperimentConfig>, Vec<usize>)> = Vec::new();
    for (i, cfg) in configs.iter().enumerate() {
        let wanted = match stack {
            Stack::Auto => auto_on(gpu, cfg),
            _ => most > 1,
        };
        let key = (wanted && refuses(cfg).is_none()).then(|| shape_of(cfg));
        match groups.iter_mut().find(|(k, _)| k.is_some() && *k == key) {
            Some((_, runs)) => runs.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let mut out = Vec::new();
    for (_, runs) in groups {
        let cap = most.min(by_memory(&configs[runs[0]], gpu)).max(1);
        out.extend(even(&runs, runs.len().div_ceil(cap)));
    }
    out.sort_by_key(|g| g[0]);
    out
}

/// `runs` in `parts` near-equal consecutive parts (the first ones a run longer), at most one a
/// run.
fn even(runs: &[usize], parts: usize) -> Vec<Vec<usize>> {
    let parts = parts.clamp(1, runs.len().max(1));
    let (size, extra) = (runs.len() / parts, runs.len() % parts);
    let mut rest = runs;
    (0..parts)
        .map(|p| {
            let (head, tail) = rest.split_at(size + usize::from(p < extra));
            rest = tail;
            head.to_vec()
        })
        .collect()
}

/// `groups` with each stack split into at least `parts` near-equal stacks where it has the runs:
/// so that `parts` threads of a pool each get one (the CLI's `--jobs` on the CPU).
pub fn split(groups: Vec<Vec<usize>>, parts: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = groups.iter().flat_map(|g| even(g, parts)).collect();
    out.sort_by_key(|g| g[0]);
    out
}

/// Runs of `cfg`'s shape one stack may hold within the memory cap: a stack keeps every run's
/// step memory (activations, gradients) at once, where runs taking turns share one — on a GPU
/// (`gpu`) what its kernels hold (no attention scores).
fn by_memory(cfg: &ExperimentConfig, gpu: bool) -> usize {
    let held = |m: &&super::family::MemoryItem| m.step && (m.gpu || !gpu);
    let step: f64 = cfg.memory().iter().filter(held).map(|m| m.bytes).sum();
    (limits::MEMORY_BYTES / step.max(1.0)).floor().max(1.0) as usize
}
