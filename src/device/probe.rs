//! `auto`'s choice between the CPU and a GPU for the experiment at hand (#15): a short timed probe
//! of the experiment's own training steps on each device, the same on both targets (the page's
//! worker with WebGPU, `tinytune --backend auto` with wgpu natively).
//!
//! Why a probe and not a size rule: which device is faster depends on the model and on the
//! machine. Measured on the reference MLP, the CPU path runs 2424 steps/s natively and 489 in the
//! page while a GPU step is ~190 kernel launches whatever the width (lavapipe: 33.8 steps/s; a
//! width-1024 MLP 0.9 on lavapipe against 23.1 on the CPU); where a real GPU overtakes the CPU has
//! not been measured here and differs from one GPU (and browser) to the next. Timing a few steps of
//! the very experiment on the visitor's own devices answers it where it is asked.
//!
//! The rule: after [`WARMUP_STEPS`] untimed steps on each device (a GPU compiles its kernels
//! then; the real run reuses them), each device trains for about [`PROBE_MS`]; the GPU is chosen
//! only when it is more than [`GPU_MARGIN`] faster per step — within that the CPU wins, as it has
//! no shader compilation for later shapes and no device to lose.

use burn::prelude::Device;
use web_time::Instant;

use crate::knobs::ExperimentConfig;
use crate::train::Job;
use crate::train::metrics::read_reports;

/// Untimed steps on each device before its clock starts (kernel compilation, first allocations).
pub const WARMUP_STEPS: usize = 2;
/// About how long each device is timed, after its warm-up.
pub const PROBE_MS: f64 = 150.0;
/// At most this many timed steps on a device (a fast one reaches it before [`PROBE_MS`]).
pub const MAX_PROBE_STEPS: usize = 64;
/// The GPU must be this much faster per step (0.1: 10 %) to be chosen over the CPU.
pub const GPU_MARGIN: f64 = 0.1;

/// A device's measured time per training step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    pub ms_per_step: f64,
    /// Timed steps (the warm-up left out).
    pub steps: usize,
}

/// The device `auto` picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Cpu,
    Gpu,
}

/// `auto`'s decision for one experiment, with what it measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub pick: Pick,
    pub cpu: Timing,
    pub gpu: Timing,
}

impl Decision {
    /// The rule (see the module's documentation).
    pub fn of(cpu: Timing, gpu: Timing) -> Self {
        let pick = if gpu.ms_per_step * (1.0 + GPU_MARGIN) < cpu.ms_per_step {
            Pick::Gpu
        } else {
            Pick::Cpu
        };
        Self { pick, cpu, gpu }
    }

    /// What was measured, in words: "3.10 ms a step on the GPU against 9.42 on the CPU".
    pub fn measured(&self, gpu_name: &str) -> String {
        format!(
            "{} a step on {gpu_name} against {} on the CPU, timed on this experiment",
            ms_text(self.gpu.ms_per_step),
            ms_text(self.cpu.ms_per_step),
        )
    }
}

fn ms_text(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The run a study's probe times: the one with the most work a step (a sweep's widest point),
/// since it dominates the study's time.
pub fn heaviest(configs: &[ExperimentConfig]) -> Option<&ExperimentConfig> {
    configs
        .iter()
        .max_by(|a, b| a.step_flops().total_cmp(&b.step_flops()))
}

/// Which experiments cost the same a step, so one decision serves them (a restart after an
/// edit of the learning rate does not probe again): the model's size and the work of a step.
pub fn probe_key(cfg: &ExperimentConfig) -> (usize, u64) {
    (cfg.parameter_estimate(), cfg.step_flops().round() as u64)
}

/// Times `cfg`'s training steps on `device`: [`WARMUP_STEPS`] untimed, then rounds of 1, 2, 4, …
/// steps, each ending in one readback (as the page's runner reads), until [`PROBE_MS`] or
/// [`MAX_PROBE_STEPS`]. The trainer is a throwaway: the real run starts afresh from its seed.
pub async fn time_steps(cfg: &ExperimentConfig, device: &Device) -> Result<Timing, String> {
    let mut cfg = cfg.clone();
    // Enough steps for the probe whatever the run's length (the schedule does not change a
    // step's cost).
    cfg.steps = cfg.steps.max(WARMUP_STEPS + MAX_PROBE_STEPS);
    let mut job = Job::new(&cfg, device)?;
    let warm: Vec<_> = (0..WARMUP_STEPS).map_while(|_| job.step()).collect();
    read_reports(warm, Vec::new()).await?;
    let start = Instant::now();
    let (mut steps, mut chunk) = (0, 1);
    let elapsed = loop {
        let outs: Vec<_> = (0..chunk).map_while(|_| job.step()).collect();
        if outs.is_empty() {
            break start.elapsed().as_secs_f64() * 1e3;
        }
        steps += outs.len();
        read_reports(outs, Vec::new()).await?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if ms >= PROBE_MS || steps >= MAX_PROBE_STEPS {
            break ms;
        }
        chunk = (chunk * 2).min(MAX_PROBE_STEPS - steps);
    };
    if steps == 0 {
        return Err("the experiment has no training steps to time".into());
    }
    Ok(Timing {
        ms_per_step: elapsed / steps as f64,
        steps,
    })
}

/// Why a probe gave no decision.
#[derive(Clone, Debug, PartialEq)]
pub enum ProbeError {
    /// The CPU could not train it: the experiment itself cannot run (the trainer refused it), which
    /// the run will say; no device is to blame.
    Cpu(String),
    /// The GPU failed while it was timed (CubeCL poisons a failed device: do not use it again).
    Gpu(String),
}

/// Times `cfg` on the CPU and on the GPU and applies the rule.
pub async fn decide(cfg: &ExperimentConfig, cpu: &Device, gpu: &Device) -> Result<Decision, ProbeError> {
    let on_cpu = time_steps(cfg, cpu).await.map_err(ProbeError::Cpu)?;
    let on_gpu = time_steps(cfg, gpu).await.map_err(ProbeError::Gpu)?;
    Ok(Decision::of(on_cpu, on_gpu))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: f64) -> Timing {
        Timing {
            ms_per_step: ms,
            steps: 10,
        }
    }

    #[test]
    fn the_gpu_wins_only_by_more_than_the_margin() {
        assert_eq!(Decision::of(t(10.0), t(5.0)).pick, Pick::Gpu);
        assert_eq!(
            Decision::of(t(10.0), t(9.5)).pick,
            Pick::Cpu,
            "within 10 %: the CPU"
        );
        assert_eq!(Decision::of(t(10.0), t(10.0)).pick, Pick::Cpu);
        assert_eq!(Decision::of(t(2.0), t(30.0)).pick, Pick::Cpu);
        assert_eq!(
            Decision::of(t(f64::NAN), t(1.0)).pick,
            Pick::Cpu,
            "an unmeasured CPU keeps the safe default"
        );
    }

    #[test]
    fn a_probe_times_real_steps_even_of_a_one_step_run() {
        let cfg = crate::link::url::parse_strict("task=spiral&steps=1")
            .unwrap()
            .experiment;
        let t = pollster::block_on(time_steps(&cfg, &crate::model::backend::cpu())).unwrap();
        assert!((1..=MAX_PROBE_STEPS).contains(&t.steps), "{t:?}");
        assert!(t.ms_per_step > 0.0 && t.ms_per_step.is_finite(), "{t:?}");
    }

    #[test]
    fn a_sweep_is_timed_on_its_heaviest_run_and_alike_runs_share_a_decision() {
        let study = crate::link::url::parse_strict("task=spiral&sweep=w:32,256,64").unwrap();
        let configs: Vec<_> = study
            .sweep
            .expand(&study.experiment)
            .unwrap()
            .into_iter()
            .map(|p| p.config)
            .collect();
        assert_eq!(heaviest(&configs).unwrap().width, 256);
        assert_eq!(heaviest(&[]), None);
        let lr = crate::link::url::parse_strict("task=spiral&w=256&lr=0.1")
            .unwrap()
            .experiment;
        assert_eq!(
            probe_key(&lr),
            probe_key(heaviest(&configs).unwrap()),
            "the learning rate costs nothing"
        );
        assert_ne!(probe_key(&configs[0]), probe_key(&configs[1]));
    }

    #[test]
    fn a_run_the_trainer_refuses_blames_no_device() {
        let mut cfg = crate::link::url::parse_strict("task=spiral").unwrap().experiment;
        cfg.width = 0; // past validation: the trainer itself refuses it
        let cpu = crate::model::backend::cpu();
        match pollster::block_on(decide(&cfg, &cpu, &cpu)) {
            Err(ProbeError::Cpu(_)) => {}
            other => panic!("expected the CPU's refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_decision_says_what_was_measured() {
        let d = Decision::of(t(9.42), t(3.1));
        assert_eq!(
            d.measured("WebGPU — NVIDIA"),
            "3.10 ms a step on WebGPU — NVIDIA against 9.42 ms on the CPU, timed on this experiment"
        );
        assert_eq!(
            Decision::of(t(12.4), t(250.0)).measured("the GPU"),
            "250 ms a step on the GPU against 12 ms on the CPU, timed on this experiment"
        );
    }
}
