//! The wire format between the page and its training worker: [`ToWorker`] and [`FromWorker`]
//! as bytes (postcard, a compact serde format), posted as a `Uint8Array`. One codec on both
//! sides, in the core, so what crosses is tested natively (`tests/messages.rs`): every value a
//! link accepts — a seed up to 2⁶⁴ − 1, which a JavaScript number cannot hold — and every loss,
//! NaN and infinities included, arrives as it left. Both sides run the same build (the page's
//! module and the WebGPU module compile one library), so the format needs no version.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::msg::{FromWorker, ToWorker};

/// A message to the worker with its number (the worker says which it has heard).
pub type Envelope = (u64, ToWorker);

/// `msg` as bytes.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(msg).map_err(|e| format!("it could not be written ({e})"))
}

/// The message `bytes` hold.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("it could not be read ({e})"))
}

/// A message to the worker.
pub fn to_worker(seq: u64, msg: &ToWorker) -> Result<Vec<u8>, String> {
    encode(&(seq, msg))
}

/// A message from the worker.
pub fn from_worker(bytes: &[u8]) -> Result<FromWorker, String> {
    decode(bytes)
}
