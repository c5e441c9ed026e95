//! The knobs presenter mode shows (link key `knobs`, #14) and the values each steps through: a
//! talk moves a knob along its meaningful values, not through a number box — a rank through
//! 0, 1, 2, 4, …, the bits through 2–8 and float, a learning rate in ×2 steps, μP against SP.

use crate::keys::{self, Key, Range, Ty};
use crate::vocab::{clip, format_number, parse_number};

/// Keys a presenter's knob may be: the experiment's sweepable knobs with a ladder of values.
pub fn laddered(key: &Key) -> bool {
    key.sweepable && !matches!(key.ty, Ty::Text)
}

/// The first of `knobs` that is not a laddered key, with the message that says which are.
pub fn unknown_knob(knobs: &[String]) -> Option<(usize, String)> {
    let at = knobs
        .iter()
        .position(|n| keys::key(n).is_none_or(|k| !laddered(k)))?;
    let names: Vec<&str> = keys::sweepable()
        .filter(|k| laddered(k))
        .map(|k| k.name)
        .collect();
    Some((
        at,
        format!(
            "'{}' cannot be a presenter's knob (choose from: {})",
            clip(&knobs[at]),
            names.join(", ")
        ),
    ))
}

/// The values `key`'s knob steps through, as link text, in order, always including `current`:
/// every choice (numeric choices by value: bits 2 … 8, then 32 = float); a flag's 0 and 1; a whole
/// number's powers of two in its range (a rank's `none` first, then 0 = full fine-tuning); a
/// number in ×2 steps around `current`, six each way within its range.
pub fn ladder(key: &Key, current: &str) -> Vec<String> {
    let mut values: Vec<String> = match (key.ty, key.range) {
        (Ty::Choice(choices), _) => {
            let mut v: Vec<&str> = choices().into_iter().map(|(value, _)| value).collect();
            if v.iter().all(|x| x.parse::<f64>().is_ok()) {
                v.sort_by(|a, b| {
                    a.parse::<f64>()
                        .unwrap_or(0.0)
                        .total_cmp(&b.parse().unwrap_or(0.0))
                });
            }
            v.into_iter().map(String::from).collect()
        }
        (Ty::Flag, _) => vec!["0".into(), "1".into()],
        (Ty::Count | Ty::Optional(_), Some(Range::Count(lo, hi))) => {
            let mut v: Vec<String> = match key.ty {
                Ty::Optional(none) => vec![none.to_string()],
                _ => Vec::new(),
            };
            if lo == 0 {
                v.push("0".into());
            }
            let mut p = 1usize;
            while p <= hi {
                if p >= lo {
                    v.push(p.to_string());
                }
                p = p.saturating_mul(2);
            }
            v
        }
        (Ty::Number, Some(Range::Number(lo, hi))) => {
            let x = parse_number(current).unwrap_or(1.0);
            (-6..=6)
                .map(|k| x * 2f64.powi(k))
                .filter(|v| (lo..=hi).contains(v))
                .map(format_number)
                .collect()
        }
        _ => Vec::new(),
    };
    if !values.iter().any(|v| v == current) {
        // The link's own value belongs on the ladder, in its place when it is a number.
        let at = current
            .parse::<f64>()
            .ok()
            .and_then(|c| values.iter().position(|v| v.parse::<f64>().is_ok_and(|v| v > c)))
            .unwrap_or(values.len());
        values.insert(at, current.to_string());
    }
    values
}
