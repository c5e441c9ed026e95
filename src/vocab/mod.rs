//! The leaf vocabulary every layer speaks: named choices and numbers as links write them. It
//! imports nothing from the crate.

mod names;
mod number;

pub use names::Named;
pub use number::{clip, format_number, parse_count, parse_flag, parse_number, short_number, visible};
