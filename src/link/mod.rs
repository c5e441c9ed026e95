//! The link: a study (experiment, sweep, view) as a query string. Its keys are the key table's
//! (`keys`); `url` is the codec, `sweep` the grid, `presets` the gallery, `ladder` the presenter's knobs,
//! `deck` a talk's slides.

pub mod applies;
pub mod bundle;
pub mod deck;
pub mod ladder;
pub mod presets;
pub mod study;
pub mod sweep;
pub mod url;
