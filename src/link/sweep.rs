//! Sweeps: a grid over up to three knobs (plus seeds) expanded into a queue of configs, with caps on
//! the total work, and the interleaved order that makes every curve of a sweep grow together.
//!
//! Link syntax (docs/ARCHITECTURE.md §5): `sweep=lr:0.0001..0.1*2;w:64,128,256;seed:1,2`. Each axis is a link
//! key and its values: a list (`a,b,c`) or a range, geometric (`lo..hi*f`) or arithmetic
//! (`lo..hi+s`, `lo..hi` = step 1). Values go through the same per-key parsing as the link itself.

use crate::keys::{self, Key};
use crate::knobs::ExperimentConfig;
use crate::vocab::{clip, format_number, parse_number};

/// Axes besides seeds: a figure has an x axis, one curve per value of a second knob and one panel
/// per value of a third (SP | μP side by side).
pub const MAX_AXES: usize = 3;
pub const MAX_VALUES: usize = 64;
pub const MAX_RUNS: usize = 256;
/// Work cap in GFLOP. The width-transfer preset (`e4`, widths to 1024) is the largest sweep a
/// person is expected to run: ≈ 2.7 TFLOP, 78 s natively and a few minutes in the browser's CPU
/// backend (README, "Presets"); the cap leaves it room without letting a link ask for hours.
pub const MAX_GFLOP: f64 = crate::experiment::limits::RUN_GFLOP;
/// Total optimizer steps: small models are bound by per-step overhead, not FLOPs (the browser's
/// CPU backend runs ~300 small steps/s, so this is about ten minutes).
pub const MAX_TOTAL_STEPS: usize = 200_000;

/// One swept knob.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub key: &'static Key,
    /// As written in the link, so links round-trip unchanged.
    pub spec: String,
    /// The values, as link text for `key`.
    pub values: Vec<String>,
}

/// A sweep: up to [`MAX_AXES`] axes plus an optional seed axis. Empty = a single run.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Sweep {
    pub axes: Vec<Axis>,
    pub seeds: Option<Axis>,
}

/// One run of an expanded sweep: its config and the swept values that name it.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPoint {
    pub config: ExperimentConfig,
    pub knobs: Vec<(&'static Key, String)>,
}

fn clean_number(x: f64) -> String {
    // 12 significant digits hide the rounding of repeated multiplication (0.001·10 → 0.01).
    let rounded: f64 = format!("{x:.11e}").parse().unwrap_or(x);
    format_number(rounded)
}

/// Expands `lo..hi*f`, `lo..hi+s` or `lo..hi` into numbers, or `None` when `spec` is not a range.
fn expand_range(spec: &str) -> Option<Result<Vec<String>, String>> {
    let (lo, rest) = spec.split_once("..")?;
    let shown = clip(spec);
    // A '+' typed into a link arrives as a space (form encoding), so a space means '+' too.
    let (hi, op, step) = match rest.find(['*', '+', ' ']) {
        Some(i) => (
            &rest[..i],
            if &rest[i..=i] == "*" { "*" } else { "+" },
            &rest[i + 1..],
        ),
        None => (rest, "+", "1"),
    };
    // Whole-number ranges (seeds, widths, steps) in integer arithmetic: exact for any u64.
    let whole = |t: &str| t.trim().parse::<u64>().ok();
    if let (true, Some(a), Some(b), Some(d)) = (op == "+", whole(lo), whole(hi), whole(step)) {
        return Some(if b < a {
            Err(format!("range '{shown}' ends below its start"))
        } else if d == 0 {
            Err(format!("range '{shown}': the step must be positive"))
        } else if (b - a) / d >= MAX_VALUES as u64 {
            Err(format!("range '{shown}' has more than {MAX_VALUES} values"))
        } else {
            Ok((0..=(b - a) / d).map(|i| (a + i * d).to_string()).collect())
        });
    }
    let parsed = (|| {
        let lo = parse_number(lo)?;
        let hi = parse_number(hi)?;
        let step = parse_number(step)?;
        if hi < lo {
            return Err(format!("range '{shown}' ends below its start"));
        }
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let v = if op == "*" {
                if step <= 1.0 {
                    return Err(format!("range '{shown}': the factor must be greater than 1"));
                }
                if lo <= 0.0 {
                    return Err(format!("range '{shown}': a geometric range must start above 0"));
                }
                lo * step.powi(i)
            } else {
                if step <= 0.0 {
                    return Err(format!("range '{shown}': the step must be positive"));
                }
                lo + step * f64::from(i)
            };
            // Tolerance relative to the step (arithmetic) or the value (geometric), not to hi.
            let tol = if op == "*" { v.abs() * 1e-9 } else { step * 1e-9 };
            if v > hi + tol {
                break;
            }
            out.push(clean_number(v));
            if out.len() > MAX_VALUES {
                return Err(format!("range '{shown}' has more than {MAX_VALUES} values"));
            }
            i += 1;
        }
        Ok(out)
    })();
    Some(parsed)
}

impl Sweep {
    pub fn is_empty(&self) -> bool {
        self.axes.is_empty() && self.seeds.is_none()
    }

    /// Axes in run order: the figure's x axis first, then its series, then seeds.
    pub fn all_axes(&self) -> impl Iterator<Item = &Axis> {
        self.axes.iter().chain(self.seeds.iter())
    }

    /// Swept keys, in run order.
    pub fn keys(&self) -> Vec<&'static Key> {
        self.all_axes().map(|a| a.key).collect()
    }

    /// Reads the link text of a sweep. Values are checked with the link's own per-key parsing.
    pub fn parse(text: &str) -> Result<Sweep, String> {
        let mut sweep = Sweep::default();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, spec) = part
                .split_once(':')
                .ok_or_else(|| format!("'{}' should be key:values, e.g. lr:0.001,0.01", clip(part)))?;
            let key: &'static Key = keys::key(key.trim()).filter(|k| k.sweepable).ok_or_else(|| {
                let names: Vec<&str> = keys::sweepable().map(|k| k.name).collect();
                format!(
                    "'{}' cannot be swept (sweepable: {})",
                    clip(key.trim()),
                    names.join(", ")
                )
            })?;
            let name = key.name;
            if sweep.keys().contains(&key) {
                return Err(format!("{name} is swept twice"));
            }
            let spec = spec.trim();
            let values = match expand_range(spec) {
                Some(r) => r?,
                None => spec.split(',').map(|v| v.trim().to_string()).collect(),
            };
            if values.is_empty() || values.iter().any(String::is_empty) {
                return Err(format!("{name}: empty value in '{}'", clip(spec)));
            }
            if values.len() > MAX_VALUES {
                return Err(format!("{name}: more than {MAX_VALUES} values"));
            }
            // Each value must read as a value of its key (ranges are checked against the config
            // later, by `expand`).
            let mut probe = ExperimentConfig::default();
            for v in &values {
                key.set_experiment(&mut probe, v)
                    .map_err(|e| format!("{name}: {e}"))?;
            }
            let axis = Axis {
                key,
                spec: spec.to_string(),
                values,
            };
            if *key == keys::SEED {
                sweep.seeds = Some(axis);
            } else if sweep.axes.len() == MAX_AXES {
                return Err(format!(
                    "at most {MAX_AXES} knobs can be swept (plus seed): x axis, curves, panels; drop one of {}",
                    sweep.keys().iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                ));
            } else {
                sweep.axes.push(axis);
            }
        }
        Ok(sweep)
    }

    /// The link text: `key:spec` joined by `;`, in run order.
    pub fn to_text(&self) -> String {
        self.all_axes()
            .map(|a| format!("{}:{}", a.key.name, a.spec))
            .collect::<Vec<_>>()
            .join(";")
    }

    pub fn run_count(&self) -> usize {
        self.all_axes().map(|a| a.values.len()).product()
    }

    /// Drops the swept ranks above every adapted layer's full rank over the whole sweep (an
    /// in×out layer's ΔW has rank ≤ min(in, out), so a higher rank only adds parameters and
    /// would plot as a copy of the full rank); returns what was dropped, for the link's message.
    /// Keeps the largest full rank when every value is above it.
    pub fn drop_ranks_above_full(&mut self, base: &ExperimentConfig) -> Option<String> {
        let at = self.axes.iter().position(|a| *a.key == keys::R)?;
        // The full rank of each combination of the other axes, with adapters of rank 1.
        let mut others = self.clone();
        others.axes[at].values = vec!["1".into()];
        let points = others.expand(base).ok()?;
        let full = points.iter().filter_map(|p| p.config.full_adapter_rank()).max()?;
        let axis = &mut self.axes[at];
        let above = |v: &String| v.parse::<usize>().is_ok_and(|r| r > full);
        let dropped: Vec<String> = axis.values.iter().filter(|v| above(v)).cloned().collect();
        if dropped.is_empty() {
            return None;
        }
        axis.values.retain(|v| !above(v));
        if axis.values.is_empty() {
            axis.values.push(full.to_string());
        }
        axis.spec = axis.values.join(",");
        Some(format!(
            "{r}: swept rank{} {} {} above the full rank of every adapted layer (at most {full}: an in×out layer's \
             ΔW has rank ≤ min(in, out)); sweeping {r}:{}",
            if dropped.len() == 1 { "" } else { "s" },
            dropped.join(", "),
            if dropped.len() == 1 { "is" } else { "are" },
            axis.spec,
            r = keys::R.name,
        ))
    }

    /// Every run of the sweep on top of `base`, validated, within the caps.
    pub fn expand(&self, base: &ExperimentConfig) -> Result<Vec<SweepPoint>, String> {
        let n = self.run_count();
        if n > MAX_RUNS {
            return Err(format!("the sweep has {n} runs; the limit is {MAX_RUNS}"));
        }
        let mut points = vec![SweepPoint {
            config: base.clone(),
            knobs: Vec::new(),
        }];
        for axis in self.all_axes() {
            let key = axis.key;
            let mut next = Vec::with_capacity(points.len() * axis.values.len());
            for p in &points {
                for v in &axis.values {
                    let mut config = p.config.clone();
                    key.set_experiment(&mut config, v)
                        .map_err(|e| format!("{}: {e}", key.name))?;
                    let mut knobs = p.knobs.clone();
                    knobs.push((key, v.clone()));
                    next.push(SweepPoint { config, knobs });
                }
            }
            points = next;
        }
        for p in &points {
            crate::experiment::validate(&p.config).map_err(|errs| {
                let what: Vec<String> = errs.iter().map(ToString::to_string).collect();
                format!("run {} is invalid: {}", describe(&p.knobs), what.join("; "))
            })?;
        }
        let steps: usize = points.iter().map(|p| p.config.total_steps()).sum();
        if steps > MAX_TOTAL_STEPS {
            return Err(format!(
                "the sweep has {steps} steps in all ({n} runs); the limit is {MAX_TOTAL_STEPS} (about ten \
                 minutes in a browser): use fewer values or steps"
            ));
        }
        let gflop: f64 = points.iter().map(|p| p.config.training_flops()).sum::<f64>() / 1e9;
        if gflop > MAX_GFLOP {
            return Err(format!(
                "the sweep needs about {gflop:.0} GFLOP of training ({n} runs); the limit is {MAX_GFLOP:.0} \
                 GFLOP (about five minutes on a laptop CPU): use fewer values, steps or a smaller width"
            ));
        }
        Ok(points)
    }
}

/// "lr=0.01 w=64": the swept values of a run, for legends and messages.
pub fn describe(knobs: &[(&'static Key, String)]) -> String {
    knobs.iter().map(|(k, v)| k.is(v)).collect::<Vec<_>>().join(" ")
}

/// Round-robin order of work: each round gives every unfinished run up to `chunk` steps, so all
/// curves of a sweep grow together. `steps[i]` is run i's total; returns (run, steps) pairs.
pub fn interleave(steps: &[usize], chunk: usize) -> Vec<(usize, usize)> {
    let chunk = chunk.max(1);
    let mut left = steps.to_vec();
    let mut order = Vec::new();
    while left.iter().any(|&s| s > 0) {
        for (i, s) in left.iter_mut().enumerate() {
            if *s > 0 {
                let n = (*s).min(chunk);
                order.push((i, n));
                *s -= n;
            }
        }
    }
    order
}
