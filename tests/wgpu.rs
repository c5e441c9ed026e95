//! The page's GPU code path, natively (#15): Burn's wgpu backend — WebGPU in the page, Vulkan
//! here — trains a link to the losses the CPU backend gives, step by step. CI runs it on Mesa's
//! lavapipe (a CPU Vulkan; `scripts/setup.sh` installs it and `scripts/test.sh` requires it);
//! on a machine where no wgpu adapter starts it says so and passes, unless `TINYTUNE_WGPU=require`.

use tinytune::device::probe::{self, Pick};
use tinytune::link::url;
use tinytune::model::backend;
use tinytune::train;

/// Train losses of `link` on `device`, one per step.
fn losses(link: &str, device: &burn::prelude::Device) -> Vec<f32> {
    let study = url::parse_strict(link).expect("a valid link");
    let run = pollster::block_on(train::train_run(&study.experiment, device, 10)).expect("it trains");
    run.reports.iter().map(|r| r.train_loss).collect()
}

#[test]
fn wgpu_trains_the_same_curve_as_the_cpu() {
    let (gpu, adapter) = match backend::wgpu() {
        Ok(d) => d,
        Err(e) if std::env::var("TINYTUNE_WGPU").as_deref() != Ok("require") => {
            eprintln!("skipped: no wgpu adapter here ({e})");
            return;
        }
        Err(e) => panic!("TINYTUNE_WGPU=require, but {e}"),
    };
    eprintln!("wgpu adapter: {adapter}");
    if std::env::var("TINYTUNE_WGPU").as_deref() == Ok("require") {
        assert!(
            adapter.contains("Vulkan"),
            "expected a Vulkan adapter (lavapipe), got {adapter}"
        );
    }
    // The reference MLP (with decoupled weight decay too: AdamW), then a LoRA adaptation of it
    // with 4-bit fake-quantized weights (QAT): the optimizer groups, the adapters and the rounding
    // kernels all run on the GPU path, and the GPU path's Adam derives its corrections on the
    // device (train::adam) where the CPU's are scalars, so this also checks the two agree. The
    // tolerance: float sums in another order (measured 9e-8 on lavapipe); with QAT a weight that
    // sits on a rounding boundary may round the other way (measured 8e-4).
    for (link, tolerance) in [
        ("task=spiral&steps=12", 1e-4),
        ("task=spiral&steps=8&wd=0.1", 1e-4),
        ("task=xor&w=32&d=2&steps=6&r=4&asteps=6&bits=4&qmode=qat", 1e-2),
        // The transformer: on the CPU its GELU, attention softmax, LayerNorm, linear layers and
        // loss are tinytune's fused ops (model::fused), on wgpu Burn's own composition, so this
        // checks the two against each other through a whole step, backward and Adam included
        // (measured 6.5e-5 over 6 steps on lavapipe; the README's bound for the two is 1e-3).
        ("task=reverse&model=gpt&w=32&d=2&heads=2&bs=8&n=64&steps=6", 1e-3),
    ] {
        let (cpu, wgpu) = (losses(link, &backend::cpu()), losses(link, &gpu));
        assert_eq!(cpu.len(), wgpu.len(), "{link}");
        let worst = cpu
            .iter()
            .zip(&wgpu)
            .map(|(a, b)| (a - b).abs() / a.abs().max(1e-3))
            .fold(0f32, f32::max);
        eprintln!(
            "{link}: {} steps, largest relative difference {worst:.1e}",
            cpu.len()
        );
        for (t, (a, b)) in cpu.iter().zip(&wgpu).enumerate() {
            let tol = tolerance * a.abs().max(1e-3);
            assert!((a - b).abs() <= tol, "{link}: step {t}: CPU {a} against wgpu {b}");
        }
    }

    // `auto`'s probe (device::probe) on this adapter, in the same test: one wgpu runtime per
    // process. Both devices are really timed; lavapipe, a CPU Vulkan, is far slower than the CPU
    // backend on the reference MLP (24 ms against 0.63 a step measured), so it must lose there.
    let cfg = url::parse_strict("task=spiral&steps=12").unwrap().experiment;
    let d = pollster::block_on(probe::decide(&cfg, &backend::cpu(), &gpu)).expect("both devices time");
    eprintln!("auto: {}", d.measured(&adapter));
    for t in [d.cpu, d.gpu] {
        assert!(
            t.steps >= 1 && t.ms_per_step > 0.0 && t.ms_per_step.is_finite(),
            "{d:?}"
        );
    }
    if std::env::var("TINYTUNE_WGPU").as_deref() == Ok("require") {
        assert_eq!(d.pick, Pick::Cpu, "lavapipe against the CPU: {d:?}");
    }
}
