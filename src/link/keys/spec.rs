//! What a row of the key table says: a key's type, range, page control and fieldset, and where
//! its value lives; and what a row can do with a value (set it, check its range, describe it).

use crate::experiment::{ConfigError, ExperimentConfig};
use crate::link::view::View;
use crate::vocab::{clip, format_number, short_number};

/// What a key's value is, as people write it.
#[derive(Clone, Copy)]
pub enum Ty {
    /// A whole number.
    Count,
    /// A decimal, an exponent (`1e-3`) or a power of two (`2^-7`).
    Number,
    /// `0` or `1`.
    Flag,
    /// One of the listed link values (value, label).
    Choice(fn() -> Vec<(&'static str, &'static str)>),
    /// A whole number, or the given word for "none" (an empty box on the page means it too).
    Optional(&'static str),
    /// Key-specific text (LoRA targets, the sweep grammar).
    Text,
}

/// The inclusive range a value must lie in; keys whose bounds depend on other keys (`pr`, `k`,
/// `warm`, `bits`) have none here and are checked with the experiment's relations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Range {
    Count(usize, usize),
    Number(f64, f64),
}

/// How the page shows a key (its element id is the key's name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Select,
    /// `<input type=number>`, with the range as min/max.
    Number,
    Text,
    Check,
}

/// The fieldset a key's control sits in on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Data,
    Model,
    Optimizer,
    Scaling,
    Lora,
    Quant,
    Planted,
    Transformer,
    Run,
}

impl Group {
    /// The id of the page's fieldset.
    pub fn id(self) -> &'static str {
        match self {
            Group::Data => "group-data",
            Group::Model => "group-model",
            Group::Optimizer => "group-optimizer",
            Group::Scaling => "group-scaling",
            Group::Lora => "group-lora",
            Group::Quant => "group-quant",
            Group::Planted => "planted-knobs",
            Group::Transformer => "group-gpt",
            Group::Run => "group-run",
        }
    }

    pub const ALL: [Group; 9] = [
        Group::Data,
        Group::Model,
        Group::Optimizer,
        Group::Scaling,
        Group::Lora,
        Group::Quant,
        Group::Planted,
        Group::Transformer,
        Group::Run,
    ];
}

/// Reads and writes a key's value as link text.
pub struct Access<T> {
    pub get: fn(&T) -> String,
    pub set: fn(&mut T, &str) -> Result<(), String>,
}

/// Where a key's value lives.
pub enum Slot {
    /// A knob of the experiment: changing it trains a new run.
    Experiment(Access<ExperimentConfig>),
    /// How results are shown: changing it redraws (or picks the device again).
    View(Access<View>),
    /// The sweep grid (`link::sweep`).
    Sweep,
}

/// One link key.
pub struct Key {
    /// Link key, CLI key and the id of the page's control.
    pub name: &'static str,
    /// The control's label on the page.
    pub label: &'static str,
    /// The fieldset it sits in.
    pub group: Group,
    /// The field it sets, for readers of the code and the README.
    pub field: &'static str,
    /// What messages call it ("width").
    pub what: &'static str,
    pub ty: Ty,
    pub range: Option<Range>,
    pub sweepable: bool,
    pub control: Control,
    /// One line: the page's tooltip and the README's description.
    pub help: &'static str,
    pub slot: Slot,
}

impl Key {
    /// Refuses text longer than any valid value of this key (300 characters for a sweep, 40
    /// otherwise): refusing early keeps the text echoed in messages short.
    pub fn check_len(&self, value: &str) -> Result<(), String> {
        let max = match (&self.slot, self.name) {
            (Slot::Sweep, _) => 300,
            (_, "deck") => crate::link::deck::MAX_TEXT,
            _ => 40,
        };
        if value.chars().count() > max {
            Err(format!("'{}' is too long to be a value", clip(value)))
        } else {
            Ok(())
        }
    }

    /// Sets an experiment key from link text; `Err` leaves `cfg` unchanged.
    pub fn set_experiment(&self, cfg: &mut ExperimentConfig, value: &str) -> Result<(), String> {
        self.check_len(value)?;
        match &self.slot {
            Slot::Experiment(a) => (a.set)(cfg, value),
            _ => Err(format!("{} is not a knob of the experiment", self.name)),
        }
    }

    /// Sets a view key from link text.
    pub fn set_view(&self, view: &mut View, value: &str) -> Result<(), String> {
        self.check_len(value)?;
        match &self.slot {
            Slot::View(a) => (a.set)(view, value),
            _ => Err(format!("{} is not a view setting", self.name)),
        }
    }

    /// The range check of this key on `cfg`, with the message validation gives.
    pub fn check(&self, cfg: &ExperimentConfig) -> Option<ConfigError> {
        let (Some(range), Slot::Experiment(a)) = (self.range, &self.slot) else {
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
        (!inside).then(|| ConfigError {
            key: self.name,
            message: format!(
                "{} must be between {lo} and {hi}, got {}",
                self.what,
                match range {
                    Range::Number(..) => short_number(v),
                    Range::Count(..) => (a.get)(cfg),
                }
            ),
        })
    }

    /// "8 – 8192", "`relu` `tanh` `gelu`", "`0` `1`": the values column of the README.
    pub fn values_text(&self) -> String {
        let quoted = |v: &[&str]| v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" ");
        match (self.ty, self.range) {
            (Ty::Choice(list), _) => quoted(&list().iter().map(|(k, _)| *k).collect::<Vec<_>>()),
            (Ty::Flag, _) => quoted(&["0", "1"]),
            (Ty::Optional(none), Some(Range::Count(lo, hi))) => format!("{lo} – {hi}, `{none}`"),
            (Ty::Optional(none), _) => format!("a whole number, `{none}`"),
            (_, Some(Range::Count(lo, hi))) => format!("{lo} – {hi}"),
            (_, Some(Range::Number(lo, hi))) => format!("{} – {}", short(lo), short(hi)),
            (Ty::Count, None) => "a whole number".into(),
            (Ty::Number, None) => "a number".into(),
            (Ty::Text, None) => "text".into(),
        }
    }
}

/// A bound as the README writes it: `1e-7` rather than `0.0000001`, whichever is shorter.
fn short(x: f64) -> String {
    let plain = format_number(x);
    let exp = format!("{x:e}");
    if exp.len() < plain.len() { exp } else { plain }
}
