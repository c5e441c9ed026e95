//! The link keys, declared once: each row of [`table`] says a key's name, the field it sets, its
//! type and range, whether a sweep may vary it, whether it sizes the run, where it acts, its help
//! text, label and page control. Parsing and writing links, range checks, sweep axes, the page's
//! controls, which knobs a study uses, messages that name a key, and the README's key table all
//! take the key from its row: code elsewhere names a key by its row (`keys::W`), never by a
//! string (`tests/keys.rs` reads `src/` for strings that name one). Adding a knob means one row
//! and the code that uses the knob.
//!
//! Defaults are not repeated here: a key's default is its field's value in
//! `ExperimentConfig::default()` / `View::default()`, read through the row's getter.

mod error;
mod spec;
mod table;

pub use error::ConfigError;
pub use spec::{Access, Control, Group, Key, Range, Slot, Ty, Unused, choices};
pub use table::*;

use crate::knobs::ExperimentConfig;
use crate::knobs::view::View;
use crate::vocab::{format_number, short_number};

/// The link format version this build writes and reads (the `v` key). Renaming a key needs a
/// new version; `v=1` links keep working.
pub const VERSION: u32 = 1;

/// The row of `name`.
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().copied().find(|k| k.name == name)
}

/// Keys with a control on the page: all but `v`, which the link codec writes itself.
pub fn controls() -> impl Iterator<Item = &'static Key> {
    KEYS.iter().copied().filter(|k| !matches!(k.slot, Slot::Version))
}

/// Keys a sweep may vary.
pub fn sweepable() -> impl Iterator<Item = &'static Key> {
    KEYS.iter().copied().filter(|k| k.sweepable)
}

/// Every range check of the table on `cfg`.
pub fn check_ranges(cfg: &ExperimentConfig) -> Vec<ConfigError> {
    KEYS.iter().filter_map(|k| check(k, cfg)).collect()
}

/// The range check of `key` on `cfg`, with the message validation gives.
pub fn check(key: &'static Key, cfg: &ExperimentConfig) -> Option<ConfigError> {
    let (Some(range), Slot::Experiment(a)) = (key.range, &key.slot) else {
        return None;
    };
    // Optional values ("none", "all") have nothing to check.
    let v: f64 = (a.get)(cfg).parse().ok()?;
    let (inside, lo, hi) = match range {
        Range::Count(lo, hi) => (
            (lo as f64..=hi as f64).contains(&v),
            lo.to_string(),
            hi.to_string(),
        ),
        Range::Number(lo, hi) => ((lo..=hi).contains(&v), format_number(lo), format_number(hi)),
    };
    (!inside).then(|| {
        ConfigError::new(
            key,
            format!(
                "{} must be between {lo} and {hi}, got {}",
                key.what,
                match range {
                    Range::Number(..) => short_number(v),
                    Range::Count(..) => (a.get)(cfg),
                }
            ),
        )
    })
}

/// The README's key table (a test keeps README.md equal to it).
pub fn markdown_table() -> String {
    let experiment = ExperimentConfig::default();
    let view = View::default();
    let mut out = String::from("| key | meaning | values | default | sweep |\n|---|---|---|---|---|\n");
    for k in KEYS {
        let text = match &k.slot {
            Slot::Version => VERSION.to_string(),
            Slot::Experiment(a) => (a.get)(&experiment),
            Slot::View(a) => (a.get)(&view),
            Slot::Sweep => String::new(),
        };
        let default = if text.is_empty() {
            "none".to_string()
        } else {
            format!("`{text}`")
        };
        let values = match k.slot {
            Slot::Sweep => format!(
                "e.g. `{}:2^-12..2^-2*2;{}:16,64,256;{}:1,2`",
                LR.name, W.name, SEED.name
            ),
            Slot::Version => format!("`{}`", VERSION),
            _ => k.values_text(),
        };
        // `|` inside a cell would end it.
        let help = k.help.replace('|', "\\|");
        out += &format!(
            "| `{}` | {help} | {values} | {default} | {} |\n",
            k.name,
            if k.sweepable { "✓" } else { "" }
        );
    }
    out
}
