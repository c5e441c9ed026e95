//! What a row of the key table says, and what a row can do with a value (set it, check its
//! range, describe it). Rows are built with the `const` builder below, so each is a few lines
//! and every field is checked by the compiler or by `tests/keys.rs`, not written as notes.

use crate::knobs::ExperimentConfig;
use crate::knobs::view::View;
use crate::vocab::{Named, clip, format_number};

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
    /// Key-specific text (LoRA targets, the sweep grammar, a deck).
    Text,
}

/// The inclusive range a value must lie in; keys whose bounds depend on other keys (`pr`, `k`,
/// `warm`, `bits`) have none here and are checked with the experiment's relations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Range {
    Count(usize, usize),
    Number(f64, f64),
}

/// How the page shows a key (its element id is the key's name): follows from its type.
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
pub struct Access<T: 'static> {
    /// The field it reads and writes ("mup.base_width"), as the accessor names it.
    pub field: &'static str,
    pub get: fn(&T) -> String,
    /// Sets the field from link text; the row is given for its messages (what it is called).
    pub set: fn(&mut T, &str, &Key) -> Result<(), String>,
}

/// Where a key's value lives.
pub enum Slot {
    /// The link format's version (`v`), read and written by the codec itself.
    Version,
    /// A knob of the experiment: changing it trains a new run.
    Experiment(Access<ExperimentConfig>),
    /// How results are shown: changing it redraws (or picks the device again).
    View(Access<View>),
    /// The sweep grid (`link::sweep`).
    Sweep,
}

/// Why a key changes nothing in a run of a config (`None`: it acts).
pub type Unused = fn(&ExperimentConfig) -> Option<&'static str>;

fn acts(_: &ExperimentConfig) -> Option<&'static str> {
    None
}

/// One link key: everything the link, the CLI, the page and the README know of it.
pub struct Key {
    /// Link key, CLI key and the id of the page's control.
    pub name: &'static str,
    /// The control's label on the page.
    pub label: &'static str,
    /// The fieldset it sits in.
    pub group: Group,
    /// What messages call it ("width").
    pub what: &'static str,
    pub ty: Ty,
    pub range: Option<Range>,
    pub sweepable: bool,
    /// One line: the page's tooltip and the README's description.
    pub help: &'static str,
    pub slot: Slot,
    /// Why the key changes nothing in a run (width on the planted task, α without a rank): the
    /// page disables its control and says why.
    pub unused_in: Unused,
    /// The key sizes the run (its model, data, phases or their cost): when a link's values do
    /// not fit together, these fall back to the previous study's first.
    pub sizes: bool,
    /// The longest text a valid value can be; longer text is refused before it is read, so the
    /// text echoed in messages stays short.
    pub max_len: usize,
}

impl Key {
    /// A row: `name`, its label on the page, what messages call it, its fieldset, and what its
    /// value is and where it lives (the accessor macros of `table.rs` give both); the builder
    /// methods below fill in the rest.
    pub const fn new(
        name: &'static str,
        label: &'static str,
        what: &'static str,
        group: Group,
        (ty, slot): (Ty, Slot),
    ) -> Key {
        Key {
            name,
            label,
            group,
            what,
            ty,
            range: None,
            sweepable: false,
            help: "",
            slot,
            unused_in: acts,
            sizes: false,
            max_len: 40,
        }
    }

    pub const fn help(mut self, help: &'static str) -> Self {
        self.help = help;
        self
    }

    /// A whole-number range, inclusive.
    pub const fn count(mut self, lo: usize, hi: usize) -> Self {
        self.range = Some(Range::Count(lo, hi));
        self
    }

    /// A number range, inclusive.
    pub const fn number(mut self, lo: f64, hi: f64) -> Self {
        self.range = Some(Range::Number(lo, hi));
        self
    }

    /// A sweep may vary it.
    pub const fn sweep(mut self) -> Self {
        self.sweepable = true;
        self
    }

    pub const fn sizes(mut self) -> Self {
        self.sizes = true;
        self
    }

    pub const fn unused(mut self, why: Unused) -> Self {
        self.unused_in = why;
        self
    }

    pub const fn max_len(mut self, n: usize) -> Self {
        self.max_len = n;
        self
    }

    /// The page's control for this key's type.
    pub fn control(&self) -> Control {
        match self.ty {
            Ty::Choice(_) => Control::Select,
            Ty::Flag => Control::Check,
            Ty::Count => Control::Number,
            Ty::Number | Ty::Optional(_) | Ty::Text => Control::Text,
        }
    }

    /// The field it sets ("mup.base_width", "view.log_y"), for readers of the README.
    pub fn field(&self) -> String {
        match &self.slot {
            Slot::Version => "link format".into(),
            Slot::Experiment(a) => a.field.to_string(),
            Slot::View(a) => format!("view.{}", a.field),
            Slot::Sweep => "study.sweep".into(),
        }
    }

    /// `name=value` as a link writes it, for messages that say what to set.
    pub fn is(&self, value: &str) -> String {
        format!("{}={value}", self.name)
    }

    /// A knob of the experiment.
    pub fn is_knob(&self) -> bool {
        matches!(self.slot, Slot::Experiment(_))
    }

    /// Refuses text longer than any valid value of this key.
    pub fn check_len(&self, value: &str) -> Result<(), String> {
        if value.chars().count() > self.max_len {
            Err(format!("'{}' is too long to be a value", clip(value)))
        } else {
            Ok(())
        }
    }

    /// Sets an experiment key from link text; `Err` leaves `cfg` unchanged.
    pub fn set_experiment(&self, cfg: &mut ExperimentConfig, value: &str) -> Result<(), String> {
        self.check_len(value)?;
        match &self.slot {
            Slot::Experiment(a) => (a.set)(cfg, value, self),
            _ => Err(format!("{} is not a knob of the experiment", self.name)),
        }
    }

    /// Sets a view key from link text.
    pub fn set_view(&self, view: &mut View, value: &str) -> Result<(), String> {
        self.check_len(value)?;
        match &self.slot {
            Slot::View(a) => (a.set)(view, value, self),
            _ => Err(format!("{} is not a view setting", self.name)),
        }
    }

    /// The label of `value` where the key has named values (`param=mup` → "μP").
    pub fn value_label(&self, value: &str) -> Option<&'static str> {
        let Ty::Choice(list) = self.ty else {
            return None;
        };
        list()
            .into_iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(value))
            .map(|(_, label)| label)
    }

    /// "8 – 8192", "`relu` `tanh` `gelu`", "`0` `1`": the values column of the README.
    pub fn values_text(&self) -> String {
        let quoted = |v: &[&str]| v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" ");
        match (self.ty, self.range) {
            (Ty::Choice(list), _) => quoted(&list().iter().map(|(k, _)| *k).collect::<Vec<_>>()),
            (Ty::Flag, _) => quoted(&["0", "1"]),
            (Ty::Optional(none), Some(Range::Count(lo, hi))) => format!("{lo} – {hi}, `{none}`"),
            (Ty::Optional(none), Some(Range::Number(lo, hi))) => {
                format!("{} – {}, `{none}`", short(lo), short(hi))
            }
            (Ty::Optional(none), _) => format!("a whole number, `{none}`"),
            (_, Some(Range::Count(lo, hi))) => format!("{lo} – {hi}"),
            (_, Some(Range::Number(lo, hi))) => format!("{} – {}", short(lo), short(hi)),
            (Ty::Count, None) => "a whole number".into(),
            (Ty::Number, None) => "a number".into(),
            (Ty::Text, None) => "text".into(),
        }
    }
}

/// Keys are one row each (`tests/keys.rs` checks the names are unique): a row is its name.
impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Key {}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The (value, label) pairs of a named choice, for [`Ty::Choice`].
pub fn choices<N: Named + PartialEq>() -> Vec<(&'static str, &'static str)> {
    N::NAMES.iter().map(|(_, k, l)| (*k, *l)).collect()
}

/// A bound as the README writes it: `1e-7` rather than `0.0000001`, whichever is shorter.
fn short(x: f64) -> String {
    let plain = format_number(x);
    let exp = format!("{x:e}");
    if exp.len() < plain.len() { exp } else { plain }
}
