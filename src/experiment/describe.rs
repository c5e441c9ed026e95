//! The knobs in words, one line each for the page and the CLI: what the adaptation phase trains,
//! what μP gives each group, the schedule and decay, and what quantization does.

use crate::experiment::rates::rate;
use crate::knobs::ExperimentConfig;
use crate::knobs::lora::{Rank, ScaleRule, gamma};
use crate::knobs::mup::{Part, Role, Rule};
use crate::knobs::quant::Granularity;
use crate::knobs::schedule::{Schedule, decay_kind};
use crate::vocab::{Named, format_number};

/// What the adaptation phase trains, in one line for the page and the CLI: the rank, γ and the
/// layers it applies to, and the trainable parameters as a count and a share of the model.
pub fn lora(cfg: &ExperimentConfig) -> Option<String> {
    let total = cfg.parameter_estimate();
    let trainable = cfg.trainable_params();
    let pct = 100.0 * trainable as f64 / total.max(1) as f64;
    let rank = match cfg.lora.rank {
        Rank::None => return None,
        Rank::Full => return Some(format!("full fine-tuning: all {total} parameters train")),
        Rank::Bias => {
            return Some(format!(
                "bias-only tuning (BitFit): the {trainable} bias terms of {total} parameters train ({pct:.2} %)"
            ));
        }
        Rank::Subspace(d) => {
            return Some(format!(
                "a random {d}-dimensional subspace: θ = θ0 + P·z over all {total} parameters, P a fixed \
                 random {total}×{d} matrix with unit columns; only z's {d} coordinates train ({pct:.2} %)"
            ));
        }
        Rank::Lora(r) => r.get(),
    };
    let g = gamma(cfg.lora.alpha, rank, cfg.lora.scale);
    let rule = match cfg.lora.scale {
        ScaleRule::Standard => "α/r",
        ScaleRule::RankStabilized => "α/√r",
    };
    let layers = cfg.adapted_layer_names();
    let plus = if cfg.lora.lplus != 1.0 {
        format!(", LoRA+ lr(B) = {}·lr(A)", format_number(cfg.lora.lplus))
    } else {
        String::new()
    };
    Some(format!(
        "LoRA {}, γ = {rule} = {} on {} ({}{plus}): {trainable} of {total} parameters train ({pct:.2} %)",
        crate::keys::R.is(&rank.to_string()),
        format_number((g * 1e6).round() / 1e6),
        layers.join(", "),
        cfg.lora.train.label()
    ))
}

/// What μP gives each group, for the page and the CLI: learning rates, decays (when there is
/// decay), the readout's init and its input multiplier.
pub fn mup(cfg: &ExperimentConfig) -> Option<String> {
    let p = &cfg.mup;
    if !p.mup() {
        return None;
    }
    if !cfg.arch().has_width() {
        return Some(format!(
            "μP changes nothing here: {} has no width",
            cfg.arch().sized_by(cfg).0
        ));
    }
    let w = cfg.width;
    let n = format_number;
    let groups = [
        ("input", Role::Input, Part::Weight),
        ("hidden", Role::Hidden, Part::Weight),
        ("readout", Role::Readout, Part::Weight),
        ("biases", Role::Hidden, Part::Bias),
        ("readout bias", Role::Readout, Part::Bias),
    ];
    let list = |f: &dyn Fn(Rule) -> f64| {
        groups
            .iter()
            .map(|(name, role, part)| format!("{name} {}", n(f(rate(cfg, *role, *part)))))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let mut out = format!(
        "μP, m = {}/{} = {}: lr {}",
        w,
        p.base_width,
        n(p.width_mult(w)),
        list(&|r| r.lr)
    );
    if cfg.wd > 0.0 {
        out += &format!("; wd {}", list(&|r| r.wd));
    }
    let readout_std = p.init_std(Role::Readout, Part::Weight, w, w);
    out += &format!(
        "; readout init std {}, its input × {}",
        n((readout_std * 1e6).round() / 1e6),
        n(p.input_mult(Role::Readout, w))
    );
    if p.alpha_in != 1.0 {
        out += &format!("; input layer output × {}", n(p.alpha_in));
    }
    // The adaptation phase's adapters are classified too (LoRA+'s λ on B comes on top).
    if cfg.lora.rank.adapter().is_some() {
        let factors: Vec<String> = [
            ("input", Role::Input),
            ("hidden", Role::Hidden),
            ("readout", Role::Readout),
        ]
        .iter()
        .map(|(name, role)| {
            let (a, b) = (rate(cfg, *role, Part::LoraA), rate(cfg, *role, Part::LoraB));
            format!("{name} A {} B {}", n(a.lr), n(b.lr))
        })
        .collect();
        out += &format!("; adapters lr {}", factors.join(" · "));
    }
    Some(out)
}

/// The schedule and decay in words, or `None` for a constant rate without decay.
pub fn schedule(cfg: &ExperimentConfig) -> Option<String> {
    let mut parts = Vec::new();
    match cfg.sched {
        Schedule::Const => {}
        Schedule::Warmup => parts.push(format!("linear warm-up over {} steps, then constant", cfg.warm)),
        Schedule::Cosine if cfg.warm > 0 => parts.push(format!(
            "linear warm-up over {} steps, then cosine decay to 0",
            cfg.warm
        )),
        Schedule::Cosine => parts.push("cosine decay to 0".to_string()),
    }
    if cfg.wd > 0.0 {
        parts.push(format!(
            "weight decay {} ({})",
            format_number(cfg.wd),
            decay_kind(cfg.opt)
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// What a sparse run's cut does, in words, or `None` for a dense run.
pub fn sparse(cfg: &ExperimentConfig) -> Option<String> {
    use crate::knobs::prune::Start;
    let sp = &cfg.sparse;
    if !sp.enabled() {
        return None;
    }
    let n: usize = cfg.layer_dims().iter().map(|(i, o)| i * o).sum();
    // Whole percents as written in the link; a round's share to a tenth of a percent.
    let pct = |f: f64| {
        let v = 100.0 * f;
        if (v - v.round()).abs() < 1e-9 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    };
    let when = if sp.rounds > 1 {
        let cuts: Vec<String> = sp.cuts(cfg.total_steps()).iter().map(usize::to_string).collect();
        format!(
            "in {} cuts at steps {} (each keeping {} % of what is left)",
            sp.rounds,
            cuts.join(", "),
            pct(sp.keep.powf(1.0 / sp.rounds as f64))
        )
    } else {
        format!("cut at step {}", sp.at)
    };
    let from = match sp.from {
        Start::Trained => "go on from their trained values".to_string(),
        Start::Rewind => format!("restart from step {}'s values", sp.rewind),
    };
    Some(format!(
        "sparse: {} % of the {n} linear weights kept by {}, {when}; the survivors {from}, the rest held at 0",
        pct(sp.keep),
        sp.rule.label()
    ))
}

/// What the quantization does, in words, or `None` for a float model; `native` says whether
/// Burn's own quantization runs it (`model::quant::native::used`).
pub fn quant(cfg: &ExperimentConfig, native: bool) -> Option<String> {
    let q = &cfg.quant;
    if !q.enabled() {
        return None;
    }
    let fmt = q
        .fmt
        .int_name(q.bits)
        .unwrap_or_else(|| q.fmt.label().to_string());
    let gran = match q.gran {
        Granularity::Group => format!("per group of {}", q.group),
        g => g.label().to_string(),
    };
    let kb = |b: usize| format!("{:.1} kB", b as f64 / 1000.0);
    Some(format!(
        "{}: weights in {fmt} {gran}, {} clipping; {}; packed size {} vs {} in f32",
        q.mode.label(),
        q.clip.label(),
        if native {
            format!("Burn's native Q{}S quantization", q.bits)
        } else {
            "fake quantization (rounded values computed in f32, no packed kernels)".into()
        },
        kb(cfg.model_bytes()),
        kb(cfg.float_bytes()),
    ))
}
