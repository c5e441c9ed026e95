//! Devices the core runs on, and how they are named on screen and in the CLI.

use burn::prelude::Device;

/// Burn's pure-Rust CPU backend (flex): native, and the browser's fallback.
pub fn cpu() -> Device {
    Device::flex()
}

/// Name of the CPU backend as shown to people.
pub const CPU_NAME: &str = "CPU (Burn flex)";

/// Kernel launches CubeCL gathers into one command buffer before it submits (its default is 32).
/// At 256 the reference MLP's step takes 2 queue submits instead of 7.1 in the page (#15): each
/// submit is a validation and a hand-over to the GPU process there. On SwiftShader, interleaved
/// runs measured 1.97–2.02 steady steps/s against 2.06–2.11 at 32 (the same loss).
pub const WGPU_TASKS_MAX: usize = 256;

/// Burn's wgpu backend natively — Vulkan, Metal or DX12, or a CPU Vulkan such as Mesa's lavapipe
/// where there is no GPU — the page's WebGPU code path without a browser; with the adapter named
/// (name, device type, graphics API). `CUBECL_WGPU_MAX_TASKS` overrides [`WGPU_TASKS_MAX`] for
/// benchmarks. Burn starts its wgpu runtime once per process: call this once.
#[cfg(not(target_family = "wasm"))]
pub fn wgpu() -> Result<(Device, String), String> {
    let mut options = Device::wgpu_options();
    if std::env::var_os("CUBECL_WGPU_MAX_TASKS").is_none() {
        options = options.tasks_max(WGPU_TASKS_MAX);
    }
    let (device, setup) = options
        .init_with_setup()
        .map_err(|e| format!("Burn could not start wgpu: {e}"))?;
    let info = setup.adapter.get_info();
    Ok((
        device,
        format!("{} ({:?}, {:?})", info.name, info.device_type, info.backend),
    ))
}
