//! Names used in links, on the page and in the CLI: one table per enum keeps the three in step.

/// Names used in links, on the page and in the CLI. One table per enum keeps the three in step.
/// What the value is called in messages ("task", "activation") is its key's row's.
pub trait Named: Sized + Copy + 'static {
    /// (link value, human label) for every variant, default first.
    const NAMES: &'static [(Self, &'static str, &'static str)];

    fn key(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::NAMES
            .iter()
            .find(|(v, _, _)| *v == self)
            .map(|(_, k, _)| *k)
            .unwrap_or("?")
    }

    fn label(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::NAMES
            .iter()
            .find(|(v, _, _)| *v == self)
            .map(|(_, _, l)| *l)
            .unwrap_or("?")
    }

    /// The value written `s` (any case); `what` is what messages call it: "unknown task
    /// 'banana' (choose one of: …)".
    fn parse_key(s: &str, what: &str) -> Result<Self, String> {
        Self::NAMES
            .iter()
            .find(|(_, k, _)| k.eq_ignore_ascii_case(s))
            .map(|(v, _, _)| *v)
            .ok_or_else(|| {
                let choices: Vec<&str> = Self::NAMES.iter().map(|(_, k, _)| *k).collect();
                format!(
                    "unknown {what} '{}' (choose one of: {})",
                    super::clip(s),
                    choices.join(", ")
                )
            })
    }
}
