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
            let e = i32::from_str(exp).map_err(|_| format!("'{s}' is not a number"))?;
            if !(-1000..=1000).contains(&e) {
                return Err(format!("'{s}' is out of range"));
            }
            2f64.powi(e)
        }
        None => f64::from_str(t).map_err(|_| format!("'{s}' is not a number"))?,
    };
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("'{s}' is not a finite number"))
    }
}

/// Parses a whole number, with a message a person can act on.
pub fn parse_count(s: &str) -> Result<usize, String> {
    usize::from_str(s.trim()).map_err(|_| format!("'{s}' is not a whole number"))
}

/// User text shown back in messages is clipped so a hostile link cannot flood the page.
pub fn clip(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// Reads a 0/1 switch (also true/false, on/off, yes/no).
pub fn parse_flag(s: &str) -> Result<bool, String> {
    match s.trim() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(format!("'{}' is not 0 or 1", clip(s))),
    }
}
