//! What a study's results become for people and other tools, the same on the page and in the
//! CLI: its figures (which charts a study shows, which leads, their drawing) and its tables
//! (CSV and JSON).

pub mod export;
pub mod figures;

pub use figures::{Chart, Figures, Results, draw_loss, planted_sigma, svg};
