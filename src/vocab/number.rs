//! Numbers as people write them in links and as tinytune writes them back, and user text clipped
//! before it is echoed.

use std::str::FromStr;

/// Shortest decimal that reads back as the same f64 (Rust's `Display` already does this), so
/// links stay short and exact.
pub fn format_number(x: f64) -> String {
    format!("{x}")
}

/// Parses a number a person typed: plain decimals, exponents (`1e-3`) and powers of two (`2^-7`),
/// the way learning rates are written in the μP papers.
pub fn parse_number(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_prefix("2^") {
        Some(exp) => {
            let e = i32::from_str(exp).map_err(|_| format!("'{}' is not a number", clip(s)))?;
            if !(-1000..=1000).contains(&e) {
                return Err(format!("'{}' is out of range", clip(s)));
            }
            2f64.powi(e)
        }
        None => f64::from_str(t).map_err(|_| format!("'{}' is not a number", clip(s)))?,
    };
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("'{}' is not a finite number", clip(s)))
    }
}

/// Parses a whole number, with a message a person can act on.
pub fn parse_count(s: &str) -> Result<usize, String> {
    usize::from_str(s.trim()).map_err(|_| format!("'{}' is not a whole number", clip(s)))
}

/// User text shown back in messages is clipped so a hostile link cannot flood the page.
pub fn clip(s: &str) -> String {
    const MAX: usize = 40;
    let s = visible(s);
    if s.chars().count() <= MAX {
        s
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// `s` with every control character and every bidirectional override written as an escape
/// (`\u{1b}`), so text from a link can neither drive a terminal (an ESC sequence retitles it)
/// nor reorder what the page shows around it.
pub fn visible(s: &str) -> String {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(hidden) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if hidden(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A number as a message shows it: as written when short, else in scientific notation with five
/// significant digits (a subnormal learning rate written out in full is 300 characters).
pub fn short_number(x: f64) -> String {
    let plain = format!("{x}");
    if plain.len() <= 12 {
        return plain;
    }
    let sci = format!("{x:.4e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    format!("{mantissa}e{exp}")
}

/// Reads a 0/1 switch (also true/false, on/off, yes/no).
pub fn parse_flag(s: &str) -> Result<bool, String> {
    match s.trim() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(format!("'{}' is not 0 or 1", clip(s))),
    }
}
