//! Devices the core runs on, and how they are named on screen and in the CLI.

use burn::prelude::Device;

/// Burn's pure-Rust CPU backend (flex): native, and the browser's fallback.
pub fn cpu() -> Device {
    configure();
    Device::flex()
}

/// Independent blocks of operations Burn's fusion search weighs at once (its default is 5).
/// At 1 it fuses each block as it closes instead of holding several open and then running some
/// of them unfused: natively on lavapipe the reference MLP's step went from 62 kernel launches
/// to 46 (2 blocks: 54, 3: 48, 8: 74, 16: 160), with the same loss to the last digit (#15).
pub const FUSION_MAX_BLOCKS: usize = 1;

/// Burn's global settings, set once before any device is made (Burn reads them on first use
/// and keeps them; a `burn.toml` found beside the program is therefore not read).
pub fn configure() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use burn_std::config::RuntimeConfig;
        // `try_set` is false only if something read Burn's settings first: they stay Burn's
        // defaults, which train the same, with more launches.
        if let Some(config) = settings() {
            // Burn's own environment switches (`BURN_FUSION_LOG`, …) still apply natively, as
            // they would have had Burn read its settings itself (its rule: these four systems).
            #[cfg(any(
                target_os = "linux",
                target_os = "windows",
                target_os = "macos",
                target_os = "android"
            ))]
            let config = config.override_from_env();
            burn::BurnConfig::try_set(config);
        }
    });
}

/// Burn's defaults with [`FUSION_MAX_BLOCKS`] (its settings have private fields: they are built
/// as Burn reads a `burn.toml`, by deserializing).
fn settings() -> Option<burn::BurnConfig> {
    let settings = serde_json::json!({ "fusion": { "beam_search": { "max_blocks": FUSION_MAX_BLOCKS } } });
    serde_json::from_value(settings).ok()
}

/// Whether a kernel's scalars on `device` are an upload: on CubeCL's devices (WebGPU, Vulkan, …)
/// they travel in the launch's metadata buffer, uploaded again whenever they change; on the CPU
/// (flex) they are plain arguments. Optimizers whose per-step values would change every launch
/// keep them on the device where this holds (`train::adam`).
pub fn scalars_are_uploads(device: &Device) -> bool {
    // Only CubeCL's devices report an identity (an autodiff device answers for the one it wraps).
    #[cfg(feature = "webgpu")]
    return device.identity().is_some();
    // A build without Burn's wgpu backend has only the CPU.
    #[cfg(not(feature = "webgpu"))]
    {
        let _ = device;
        false
    }
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
    configure();
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

#[cfg(test)]
mod tests {
    #[test]
    fn burns_settings_carry_the_fusion_search_width() {
        let config = super::settings().expect("Burn's settings deserialize");
        assert_eq!(config.fusion().beam_search.max_blocks, super::FUSION_MAX_BLOCKS);
        // Everything else stays Burn's default.
        assert_eq!(
            config.fusion().growth_patience,
            burn::BurnConfig::default().fusion().growth_patience
        );
    }
}
