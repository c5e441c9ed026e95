//! `ExperimentConfig` ⇄ query string: the link format of DESIGN.md §6, a public interface.
//!
//! - versioned (`v=1`, always written first), short stable keys, defaults omitted;
//! - the page reads links leniently: every unknown key, bad value or out-of-range number becomes a
//!   [`LinkIssue`] saying what was used instead, and the rest of the link still applies;
//! - the CLI reads the same string strictly ([`parse_strict`]) and refuses it on any issue.
//!
//! Percent-decoding and encoding go through `serde_urlencoded`; this module owns only the keys.

use crate::config::{
    Activation, BackendChoice, ExperimentConfig, Named, OptimizerKind, Task, format_number, parse_count,
    parse_number,
};
use crate::data::Shift;
use crate::lora::{AInit, Factors, ScaleRule, Target};
use crate::metrics::SweepMetric;
use crate::model::Residual;
use crate::mup::Parameterization;
use crate::planted::SvProfile;
use crate::quant::{Clip, Granularity, QFormat, QMode};
use crate::schedule::Schedule;
use crate::sweep::Sweep;

/// The link format version this build writes and reads.
pub const VERSION: u32 = 1;

/// Every key this version understands, in the order links are written.
pub const KEYS: &[&str] = &[
    "v", "task", "n", "w", "d", "res", "act", "opt", "lr", "bs", "steps", "seed", "sched", "warm", "wd",
    "param", "bw", "ain", "aout", "rzero", "r", "alpha", "scale", "ainit", "train", "lplus", "target",
    "asteps", "shift", "pr", "dim", "noise", "k", "sv", "bits", "qfmt", "qgran", "qgs", "qmode", "qclip",
    "qout", "coord", "backend", "ylog", "xlog", "metric", "sweep",
];

/// Text of an optional count: `none` for no value (LoRA rank absent).
fn opt_text(v: Option<usize>, none: &str) -> String {
    v.map_or_else(|| none.to_string(), |n| n.to_string())
}

/// Reads an optional count: any of `nones` (or nothing) means absent.
fn parse_opt(s: &str, nones: &[&str]) -> Result<Option<usize>, String> {
    let t = s.trim();
    if t.is_empty() || nones.iter().any(|n| n.eq_ignore_ascii_case(t)) {
        Ok(None)
    } else {
        parse_count(t)
            .map(Some)
            .map_err(|e| format!("{e} (or {})", nones[0]))
    }
}

/// Something in a link that could not be used as given.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkIssue {
    /// The key as written in the link (may be an unknown key).
    pub key: String,
    /// What was wrong and what was used instead, e.g. "lr: 'abc' is not a number; using 0.01".
    pub message: String,
}

impl std::fmt::Display for LinkIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A link read leniently: the config to run and what had to be replaced.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedLink {
    pub config: ExperimentConfig,
    pub issues: Vec<LinkIssue>,
}

/// User text shown back in messages is clipped so a hostile link cannot flood the page.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// The link text of `key`'s value in `d`.
fn value_text(d: &ExperimentConfig, key: &str) -> String {
    match key {
        "task" => d.task.key().into(),
        "n" => d.points.to_string(),
        "w" => d.width.to_string(),
        "d" => d.depth.to_string(),
        "act" => d.act.key().into(),
        "opt" => d.opt.key().into(),
        "lr" => format_number(d.lr),
        "bs" => d.batch.to_string(),
        "steps" => d.steps.to_string(),
        "seed" => d.seed.to_string(),
        "sched" => d.sched.key().into(),
        "warm" => d.warm.to_string(),
        "wd" => format_number(d.wd),
        "res" => d.residual.key().into(),
        "coord" => d.coord.to_string(),
        "bits" => d.quant.bits.to_string(),
        "qfmt" => d.quant.fmt.key().into(),
        "qgran" => d.quant.gran.key().into(),
        "qgs" => d.quant.group.to_string(),
        "qmode" => d.quant.mode.key().into(),
        "qclip" => d.quant.clip.key().into(),
        "qout" => format_number(d.quant.outlier),
        "param" => d.mup.param.key().into(),
        "bw" => d.mup.base_width.to_string(),
        "ain" => format_number(d.mup.alpha_in),
        "aout" => format_number(d.mup.alpha_out),
        "rzero" => u8::from(d.mup.readout_zero).to_string(),
        "r" => opt_text(d.lora.rank, "none"),
        "alpha" => format_number(d.lora.alpha),
        "scale" => d.lora.scale.key().into(),
        "ainit" => d.lora.ainit.key().into(),
        "train" => d.lora.train.key().into(),
        "lplus" => format_number(d.lora.lplus),
        "target" => d.lora.target.to_text(),
        "asteps" => d.adapt_steps.to_string(),
        "shift" => d.shift.key().into(),
        "pr" => d.planted.rank.to_string(),
        "dim" => d.planted.dim.to_string(),
        "noise" => format_number(d.planted.noise),
        "k" => opt_text(d.planted.k, "all"),
        "sv" => d.planted.sv.key().into(),
        "backend" => d.backend.key().into(),
        "ylog" => u8::from(d.log_y).to_string(),
        "xlog" => u8::from(d.log_x).to_string(),
        "metric" => d.metric.key().into(),
        "sweep" if d.sweep.is_empty() => "no sweep".into(),
        "sweep" => d.sweep.to_text(),
        _ => String::new(),
    }
}

fn parse_flag(s: &str) -> Result<bool, String> {
    match s.trim() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(format!("'{}' is not 0 or 1", clip(s))),
    }
}

/// Applies one key to `cfg`; an `Err` leaves `cfg` unchanged. Sweeps use it for their values.
pub(crate) fn apply_value(cfg: &mut ExperimentConfig, key: &str, value: &str) -> Result<(), String> {
    // No valid value is this long; refusing early keeps echoed text short.
    let max = if key == "sweep" { 300 } else { 40 };
    if value.chars().count() > max {
        return Err(format!("'{}' is too long to be a value", clip(value)));
    }
    match key {
        "task" => cfg.task = Task::parse_key(value)?,
        "n" => cfg.points = parse_count(value)?,
        "w" => cfg.width = parse_count(value)?,
        "d" => cfg.depth = parse_count(value)?,
        "act" => cfg.act = Activation::parse_key(value)?,
        "opt" => cfg.opt = OptimizerKind::parse_key(value)?,
        "lr" => cfg.lr = parse_number(value)?,
        "bs" => cfg.batch = parse_count(value)?,
        "steps" => cfg.steps = parse_count(value)?,
        "seed" => {
            cfg.seed = value
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("'{}' is not a whole number ≥ 0", clip(value)))?
        }
        "sched" => cfg.sched = Schedule::parse_key(value)?,
        "warm" => cfg.warm = parse_count(value)?,
        "wd" => cfg.wd = parse_number(value)?,
        "res" => cfg.residual = Residual::parse_key(value)?,
        "coord" => cfg.coord = parse_count(value)?,
        "bits" => {
            cfg.quant.bits = value
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("'{}' is not a whole number (2–8, or 32 for float)", clip(value)))?
        }
        "qfmt" => cfg.quant.fmt = QFormat::parse_key(value)?,
        "qgran" => cfg.quant.gran = Granularity::parse_key(value)?,
        "qgs" => cfg.quant.group = parse_count(value)?,
        "qmode" => cfg.quant.mode = QMode::parse_key(value)?,
        "qclip" => cfg.quant.clip = Clip::parse_key(value)?,
        "qout" => cfg.quant.outlier = parse_number(value)?,
        "param" => cfg.mup.param = Parameterization::parse_key(value)?,
        "bw" => cfg.mup.base_width = parse_count(value)?,
        "ain" => cfg.mup.alpha_in = parse_number(value)?,
        "aout" => cfg.mup.alpha_out = parse_number(value)?,
        "rzero" => cfg.mup.readout_zero = parse_flag(value)?,
        "r" => cfg.lora.rank = parse_opt(value, &["none", "-"])?,
        "alpha" => cfg.lora.alpha = parse_number(value)?,
        "scale" => cfg.lora.scale = ScaleRule::parse_key(value)?,
        "ainit" => cfg.lora.ainit = AInit::parse_key(value)?,
        "train" => cfg.lora.train = Factors::parse_key(value)?,
        "lplus" => cfg.lora.lplus = parse_number(value)?,
        "target" => cfg.lora.target = Target::parse(value)?,
        "asteps" => cfg.adapt_steps = parse_count(value)?,
        "shift" => cfg.shift = Shift::parse_key(value)?,
        "pr" => cfg.planted.rank = parse_count(value)?,
        "dim" => cfg.planted.dim = parse_count(value)?,
        "noise" => cfg.planted.noise = parse_number(value)?,
        "k" => cfg.planted.k = parse_opt(value, &["all"])?,
        "sv" => cfg.planted.sv = SvProfile::parse_key(value)?,
        "backend" => cfg.backend = BackendChoice::parse_key(value)?,
        "ylog" => cfg.log_y = parse_flag(value)?,
        "xlog" => cfg.log_x = parse_flag(value)?,
        "metric" => cfg.metric = SweepMetric::parse_key(value)?,
        "sweep" => cfg.sweep = Sweep::parse(value)?,
        _ => unreachable!("apply is only called with known keys"),
    }
    Ok(())
}

/// Puts `base`'s value back into the field that `key` names.
fn reset(cfg: &mut ExperimentConfig, base: &ExperimentConfig, key: &str) {
    match key {
        "sweep" => cfg.sweep = base.sweep.clone(),
        _ => {
            // `base` is a valid config, so its own value always applies.
            let _ = apply_value(cfg, key, &value_text(base, key));
        }
    }
}

/// At most this many problems are listed; a hostile link must not flood the page.
pub const MAX_ISSUES: usize = 10;

/// Reads a link (with or without the leading `?`) leniently: the page's entry point.
pub fn parse(query: &str) -> ParsedLink {
    parse_onto(&ExperimentConfig::default(), query)
}

/// Reads `query` on top of `base` (a valid config): keys it names replace base's values, and a
/// value that cannot be used keeps base's. The page reads its controls this way, so a typo in one
/// box keeps that box's previous value.
pub fn parse_onto(base: &ExperimentConfig, query: &str) -> ParsedLink {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut cfg = base.clone();
    let mut issues = Vec::new();
    let mut issue = |key: &str, message: String| {
        issues.push(LinkIssue {
            key: clip(key),
            message,
        })
    };

    let pairs: Vec<(String, String)> = match serde_urlencoded::from_str(query) {
        Ok(p) => p,
        Err(e) => {
            issue(
                "",
                format!("the link could not be read ({e}); using the defaults"),
            );
            Vec::new()
        }
    };

    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in &pairs {
        let Some(known) = KEYS.iter().find(|k| **k == key.as_str()) else {
            if !key.is_empty() {
                issue(key, format!("unknown key '{}' was ignored", clip(key)));
            }
            continue;
        };
        if seen.contains(known) {
            issue(
                key,
                format!("{key} is given more than once; using the last value"),
            );
        }
        seen.push(known);
        if *known == "v" {
            match value.trim().parse::<u32>() {
                Ok(VERSION) => {}
                Ok(v) => issue(
                    key,
                    format!(
                        "link version {v} is not supported by this page (it reads v={VERSION}); reading it as v={VERSION}"
                    ),
                ),
                Err(_) => issue(
                    key,
                    format!(
                        "v: '{}' is not a link version; reading it as v={VERSION}",
                        clip(value)
                    ),
                ),
            }
            continue;
        }
        if let Err(msg) = apply_value(&mut cfg, known, value) {
            // Reset too, so "using …" is true even when an earlier duplicate of the key applied.
            reset(&mut cfg, base, known);
            issue(key, format!("{key}: {msg}; using {}", value_text(base, known)));
        }
    }

    // Range checks after all keys are in, so a message names the value that was actually asked for.
    if let Err(errs) = cfg.validate() {
        for e in errs {
            reset(&mut cfg, base, e.key);
            issue(
                e.key,
                format!("{}: {}; using {}", e.key, e.message, value_text(base, e.key)),
            );
        }
        if cfg.validate().is_err() {
            // Several keys together made the config invalid (a model too big, a warm-up without
            // its schedule): fall back to the base sizes and schedule.
            for key in [
                "n", "w", "d", "bs", "steps", "dim", "pr", "k", "target", "bw", "sched", "warm", "asteps",
                "bits", "qmode",
            ] {
                reset(&mut cfg, base, key);
            }
        }
    }
    // The sweep is checked against the final base config: value ranges and the work cap.
    if let Err(msg) = cfg.sweep.expand(&cfg) {
        cfg.sweep = base.sweep.clone();
        if cfg.sweep.expand(&cfg).is_err() {
            cfg.sweep = Sweep::default();
        }
        issue(
            "sweep",
            format!("sweep: {msg}; using {}", value_text(&cfg, "sweep")),
        );
    }
    if issues.len() > MAX_ISSUES {
        let more = issues.len() - (MAX_ISSUES - 1);
        issues.truncate(MAX_ISSUES - 1);
        issues.push(LinkIssue {
            key: String::new(),
            message: format!("… and {more} more problems in this link"),
        });
    }
    ParsedLink { config: cfg, issues }
}

/// Reads a link strictly: the CLI's entry point. Any issue refuses the whole link.
pub fn parse_strict(query: &str) -> Result<ExperimentConfig, Vec<LinkIssue>> {
    let parsed = parse(query);
    if parsed.issues.is_empty() {
        Ok(parsed.config)
    } else {
        Err(parsed.issues)
    }
}

/// Writes the link for `cfg`: `v=1` first, then every non-default key in [`KEYS`] order.
pub fn to_query(cfg: &ExperimentConfig) -> String {
    let d = ExperimentConfig::default();
    let mut pairs: Vec<(&str, String)> = vec![("v", VERSION.to_string())];
    for &key in &KEYS[1..] {
        let value = value_text(cfg, key);
        if value != value_text(&d, key) {
            pairs.push((key, value));
        }
    }
    // Values are plain ASCII words and numbers, so encoding cannot fail.
    serde_urlencoded::to_string(&pairs).unwrap_or_else(|_| format!("v={VERSION}"))
}
