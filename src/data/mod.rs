//! Seeded data sets. Generated on the CPU with our own generator (not the backend's RNG) so the
//! same seed gives bit-identical data on every backend and platform; the trainer uploads them once
//! and they stay on the device — but for the char LM's batches, fresh windows of its text drawn
//! and uploaded every step (`sequence::Windows`).

pub mod corpus;
pub mod device;
pub mod digits;
pub mod joint_law;
pub mod planted;
pub mod powerlaw;
pub mod read_file;
pub mod read_table;
pub mod rng;
pub mod samples;
pub mod sensing;
pub mod sequence;
pub mod shift;
pub mod spectrum;
pub mod table;
pub mod toys;

pub use rng::{Rng, streams};
pub use samples::{Dataset, Samples, Targets};
pub use shift::shift;
pub use toys::{EXTENT, generate};
