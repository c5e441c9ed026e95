//! Devices the core runs on, and how they are named on screen and in the CLI.

use burn::prelude::Device;

/// Burn's pure-Rust CPU backend (flex): native, and the browser's fallback.
pub fn cpu() -> Device {
    Device::flex()
}

/// Name of the CPU backend as shown to people.
pub const CPU_NAME: &str = "CPU (Burn flex)";
