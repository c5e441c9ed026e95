//! The link keys, declared once: name, field, type, range, whether a sweep may vary it, help text
//! and page control. Parsing and writing links, range checks, sweep axes, the page's controls
//! (options, limits, tooltips, reading and writing them) and the README's key table all derive
//! from [`KEYS`]; the page builds its controls from it too (label, fieldset, element, limits,
//! tooltip). Adding a knob means one row in `table.rs` and the code that uses the knob.
//!
//! Defaults are not repeated here: a key's default is its field's value in
//! `ExperimentConfig::default()` / `View::default()`, read through the row's getter.

mod spec;
mod table;

pub use spec::{Access, Control, Group, Key, Range, Slot, Ty};
pub use table::KEYS;

use crate::experiment::{ConfigError, ExperimentConfig};
use crate::link::view::View;

/// The row of `name`.
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// Keys a sweep may vary.
pub fn sweepable() -> impl Iterator<Item = &'static Key> {
    KEYS.iter().filter(|k| k.sweepable)
}

/// Every range check of the table on `cfg`.
pub fn check_ranges(cfg: &ExperimentConfig) -> Vec<ConfigError> {
    KEYS.iter().filter_map(|k| k.check(cfg)).collect()
}

/// Everything wrong with `cfg`: the table's ranges, then (once sizes are in range) the relations
/// between keys and the size caps (`ExperimentConfig::validate_relations`).
pub fn validate(cfg: &ExperimentConfig) -> Result<(), Vec<ConfigError>> {
    let mut errs = check_ranges(cfg);
    errs.extend(cfg.validate_relations(errs.is_empty()));
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// The README's key table (a test keeps README.md equal to it).
pub fn markdown_table() -> String {
    let experiment = ExperimentConfig::default();
    let view = View::default();
    let mut out = String::from(
        "| key | meaning | values | default | sweep |\n|---|---|---|---|---|\n| `v` | link format version | `1` | `1` | |\n",
    );
    for k in KEYS {
        let text = match &k.slot {
            Slot::Experiment(a) => (a.get)(&experiment),
            Slot::View(a) => (a.get)(&view),
            Slot::Sweep => String::new(),
        };
        let default = if text.is_empty() {
            "none".to_string()
        } else {
            format!("`{text}`")
        };
        let values = if matches!(k.slot, Slot::Sweep) {
            "e.g. `lr:2^-12..2^-2*2;w:16,64,256;seed:1,2`".to_string()
        } else {
            k.values_text()
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
