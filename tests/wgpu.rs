//! The page's GPU code path, natively (#15): Burn's wgpu backend — WebGPU in the page, Vulkan
//! here — trains a link to the losses the CPU backend gives, step by step. CI runs it on Mesa's
//! lavapipe (a CPU Vulkan; `scripts/setup.sh` installs it and `scripts/test.sh` requires it);
//! on a machine where no wgpu adapter starts it says so and passes, unless `TINYTUNE_WGPU=require`.

use burn::prelude::*;
use tinytune::device::probe::{self, Pick};
use tinytune::link::url;
use tinytune::model::backend;
use tinytune::train;

/// A tensor's values, read back the way the page must (asynchronously).
fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    pollster::block_on(t.into_data_async())
        .expect("a readback")
        .try_to_vec::<f32>()
        .expect("f32 values")
}

/// max |a − b| / max |b|: the gap between two results in units of the reference's scale.
fn gap(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-12);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// Deterministic, varied values of `shape` on `device` (no RNG: tests share it).
fn varied<const D: usize>(shape: [usize; D], seed: f32, device: &Device) -> Tensor<D> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((i as f32 * 0.7548 + seed).sin() * 1.7 + 0.1 * seed).tanh() * 2.0)
        .collect();
    Tensor::<1>::from_floats(v.as_slice(), device).reshape(shape)
}

/// `model::fused`'s LayerNorm, causal attention and masked cross-entropy on a CubeCL device (its
/// kernels, #32) equal Burn's composition there, in value and in every input's gradient; the attention also reads
/// q, k and v laid out head-major (a strided view), as rotary positions leave them.
fn fused_kernels_match_burn(gpu: &Device) {
    use burn::nn::LayerNormConfig;
    use tinytune::model::fused::{self, LAYER_NORM_EPS};
    let device = gpu.clone().autodiff();
    const TOL: f32 = 2e-5;

    // LayerNorm of [3, 5, 48] with a non-trivial γ and β (rows offset far from 0).
    let mut norm = LayerNormConfig::new(48)
        .with_epsilon(LAYER_NORM_EPS)
        .init(&device);
    norm.gamma = burn::module::Param::from_tensor(varied([48], 1.0, &device) + 1.0);
    norm.beta = Some(burn::module::Param::from_tensor(varied([48], 2.0, &device)));
    let x = (varied([3, 5, 48], 3.0, &device) + 30.0).require_grad();
    let w = varied([3, 5, 48], 4.0, &device);
    let fused_y = fused::layer_norm(&norm, x.clone());
    let burn_y = norm.forward(x.clone());
    assert!(
        gap(&values(fused_y.clone()), &values(burn_y.clone())) < TOL,
        "LayerNorm forward"
    );
    let g1 = (fused_y * w.clone()).sum().backward();
    let g2 = (burn_y * w).sum().backward();
    let beta = norm.beta.as_ref().expect("a β");
    let flat = |g: Option<Tensor<1>>| values(g.expect("a gradient"));
    let dx = |g: &_| values(x.grad(g).expect("a gradient"));
    for (name, a, b) in [
        ("dx", dx(&g1), dx(&g2)),
        (
            "dγ",
            flat(norm.gamma.val().grad(&g1)),
            flat(norm.gamma.val().grad(&g2)),
        ),
        ("dβ", flat(beta.val().grad(&g1)), flat(beta.val().grad(&g2))),
    ] {
        let e = gap(&a, &b);
        eprintln!("LayerNorm {name}: {e:.1e}");
        assert!(e < TOL, "LayerNorm {name}: {e}");
    }
    // As in a pre-norm block, x + f(LayerNorm(x)): x's gradient from the residual path is there
    // before the norm's backward runs, which adds its dx to it as it writes (no add launch).
    let w = varied([3, 5, 48], 6.0, &device);
    let block = |y: Tensor<3>| (x.clone() + y.tanh() * 0.5) * w.clone();
    let g1 = block(fused::layer_norm(&norm, x.clone())).sum().backward();
    let g2 = block(norm.forward(x.clone())).sum().backward();
    let e = gap(&dx(&g1), &dx(&g2));
    eprintln!("LayerNorm dx beside a residual path: {e:.1e}");
    assert!(e < TOL, "LayerNorm dx beside a residual path: {e}");

    // The loss's masked mean cross-entropy and mean log Z over logits [300, 11] (more rows than
    // the kernel's threads, some masked out) against the log-softmax's composition, and the
    // logits' gradient of 3·loss.
    let n = 300;
    let logits = (varied([n, 11], 9.0, &device) * 3.0).require_grad();
    let targets: Vec<i64> = (0..n).map(|i| (i * 7 % 11) as i64).collect();
    let y = Tensor::<1, Int>::from_ints(targets.as_slice(), &device).reshape([n, 1]);
    let kept: Vec<f32> = (0..n).map(|i| if i % 5 == 3 { 0.0 } else { 1.0 }).collect();
    let mask = Tensor::<1>::from_floats(kept.as_slice(), &device).reshape([n, 1]);
    let (kernel_ce, kernel_z) = fused::masked_cross_entropy(&logits, &y, &mask).expect("the GPU's kernel");
    let (logp, log_z) = fused::log_prob_and_log_z(logits.clone(), y);
    let scored = mask.clone().sum();
    let burn_ce = (logp * mask.clone()).sum().neg() / scored.clone();
    let burn_z = (log_z * mask).sum() / scored;
    for (name, a, b) in [
        ("cross-entropy", kernel_ce.clone(), burn_ce.clone()),
        ("mean log Z", kernel_z, burn_z),
    ] {
        let (a, b) = (values(a), values(b));
        let e = gap(&a, &b);
        eprintln!("masked {name}: {e:.1e} ({a:?} against {b:?})");
        assert!(e < TOL, "masked {name}: {e}");
    }
    let g1 = kernel_ce.mul_scalar(3.0).backward();
    let g2 = burn_ce.mul_scalar(3.0).backward();
    let grad = |g: &_| values(logits.grad(g).expect("a gradient"));
    let e = gap(&grad(&g1), &grad(&g2));
    eprintln!("masked cross-entropy dlogits: {e:.1e}");
    assert!(e < TOL, "masked cross-entropy dlogits: {e}");

    // Attention: qkv [b, t, 3h, dh] row-major (the projection's rows) and head-major (a strided
    // view, as rotary positions leave it); its gradient reaches qkv as one tensor.
    for (head_major, [b, t, h, dh]) in [
        (false, [2, 7, 3, 8]),
        (true, [2, 64, 4, 32]),
        (false, [1, 1, 1, 4]),
    ] {
        let qkv = if head_major {
            varied([b, 3 * h, t, dh], 5.0, &device).swap_dims(1, 2)
        } else {
            varied([b, t, 3 * h, dh], 5.0, &device)
        }
        .require_grad();
        let w = varied([b, t, h, dh], 8.0, &device);
        let scale = 1.0 / (dh as f64).sqrt();
        let (fused_o, largest, lse) = fused::causal_attention(qkv.clone(), scale, Some(1));
        // Burn's composition, as the CPU's path before its fused ops, on [b, h, t, dh] parts.
        let part = |i: usize| qkv.clone().narrow(2, i * h, h).swap_dims(1, 2);
        let (qh, kh, vh) = (part(0), part(1), part(2));
        let scores = qh.matmul(kh.swap_dims(2, 3)).mul_scalar(scale);
        let masked = scores.mask_fill(fused::future(b, h, t, &device), f32::NEG_INFINITY);
        let burn_max = masked.clone().max().reshape([1]);
        let probs = burn::tensor::activation::softmax(masked, 3);
        let burn_pattern = probs.clone().narrow(0, 0, 1).narrow(1, 0, 1).reshape([t * t]);
        let burn_o = probs.matmul(vh).swap_dims(1, 2);
        let case = format!(
            "attention [{b}, {t}, 3·{h}, {dh}]{}",
            if head_major { " head-major" } else { "" }
        );
        assert!(
            gap(&values(fused_o.clone()), &values(burn_o.clone())) < TOL,
            "{case} forward"
        );
        let largest = largest.expect("the largest logit");
        assert!(
            gap(&values(largest), &values(burn_max)) < TOL,
            "{case} largest logit"
        );
        // The view's pattern (first example, first head) from the kernel's log-sum-exp.
        let pattern = fused::first_head_pattern(qkv.clone(), lse.expect("the kernel's log-sum-exp"), scale);
        let e = gap(&values(pattern), &values(burn_pattern));
        eprintln!("{case} pattern: {e:.1e}");
        assert!(e < TOL, "{case} pattern: {e}");
        let g1 = (fused_o * w.clone()).sum().backward();
        let g2 = (burn_o * w).sum().backward();
        let grad = |g: &_| qkv.grad(g).expect("a gradient");
        // Queries', keys' and values' parts apart, so a failure says which.
        for (i, name) in ["dq", "dk", "dv"].into_iter().enumerate() {
            let at = |g: Tensor<4>| values(g.narrow(2, i * h, h));
            let e = gap(&at(grad(&g1)), &at(grad(&g2)));
            eprintln!("{case} {name}: {e:.1e}");
            assert!(e < TOL, "{case} {name}: {e}");
        }
    }
}

/// `train::multi_adam` (three parameters a launch, in place) gives the weights Burn's
/// per-parameter optimizer gives with tinytune's Adam on the same device: two linear layers (four
/// tensors: a group of three and a group of one), a learning rate that changes every step, and a
/// decay of its own for one tensor (AdamW), as the optimizer groups set them.
fn multi_adam_matches_adam(gpu: &Device) {
    use burn::module::{Module, ParamGroup};
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
    use burn::optim::{GradientsParams, ModuleOptimizer};
    use tinytune::train::adam::{Adam, AdamClock, BETA_1, BETA_2};
    use tinytune::train::multi_adam::MultiAdam;

    #[derive(Module, Debug)]
    struct Two {
        a: Linear,
        b: Linear,
    }
    let device = gpu.clone().autodiff();
    let fresh = || {
        let mut m = Two {
            a: LinearConfig::new(5, 6).init(&device),
            b: LinearConfig::new(6, 3).init(&device),
        };
        // Fixed values, not the device's RNG (both models start equal).
        m.a.weight = burn::module::Param::from_tensor(varied([5, 6], 1.0, &device));
        m.a.bias = Some(burn::module::Param::from_tensor(varied([6], 2.0, &device)));
        m.b.weight = burn::module::Param::from_tensor(varied([6, 3], 3.0, &device));
        m.b.bias = Some(burn::module::Param::from_tensor(varied([3], 4.0, &device)));
        m
    };
    let x = varied([7, 5], 5.0, &device);
    let loss = |m: &Two| m.b.forward(m.a.forward(x.clone()).tanh()).powf_scalar(2.0).mean();
    let (wd, own_wd) = (0.05, 0.3);
    let steps = 12;

    let weights = |m: &Two| {
        let mut v = values(m.a.weight.val().reshape([30]));
        for t in [
            m.a.bias.as_ref().map(|b| b.val()),
            Some(m.b.weight.val().reshape([18])),
            m.b.bias.as_ref().map(|b| b.val()),
        ] {
            v.extend(values(t.expect("a tensor")));
        }
        v
    };
    let mut theirs = fresh();
    let their_clock = AdamClock::new(steps);
    let adam = |wd| Adam::new(their_clock.clone(), wd, (BETA_1, BETA_2), gpu);
    let mut optim = ModuleOptimizer::from(adam(wd)).with_group(
        ParamGroup::from_ids(vec![theirs.b.weight.id]),
        adam(own_wd),
        None,
    );
    let lr = |t: usize| 0.05 / (1.0 + t as f64);
    for t in 0..steps {
        let grads = GradientsParams::from_grads(loss(&theirs).backward(), &theirs);
        their_clock.advance();
        theirs = optim.step(lr(t), theirs, grads);
    }
    let b = weights(&theirs);
    // Three a launch (a group of three and one of one), and as an adapter binding fewer
    // storage buffers runs them: two a launch, one a launch.
    for per_launch in [3, 2, 1] {
        let mut ours = fresh();
        let clock = AdamClock::new(steps);
        let decay = [(ours.b.weight.id, own_wd)].into();
        let mut multi =
            MultiAdam::new(clock.clone(), wd, decay, (BETA_1, BETA_2)).with_per_launch(per_launch);
        for t in 0..steps {
            let grads = GradientsParams::from_grads(loss(&ours).backward(), &ours);
            clock.advance();
            ours = multi.step(ModuleLearningRate::from(lr(t)), ours, grads);
        }
        let a = weights(&ours);
        let e = gap(&a, &b);
        eprintln!(
            "multi-tensor Adam ({per_launch} a launch) against per-tensor Adam, {steps} steps: {e:.1e}"
        );
        assert!(
            e < 1e-6,
            "multi-tensor Adam, {per_launch} a launch: {e}\n{a:?}\n{b:?}"
        );
    }
    // The weights moved (the comparison is not of two untouched models).
    assert!(gap(&b, &weights(&fresh())) > 1e-2);
}

/// #33: a stack of same-shape runs on the GPU (one batched model, per-run rates in the stack's
/// Adam, its rate table viewed in place) trains each run's unstacked curve on the GPU, within
/// float tolerance, with a diverging run marked and frozen (measured 2026-12-06 on lavapipe:
/// 1.5e-6 at most; 1.2e-6 on the CPU).
fn stacked_runs_match_unstacked(gpu: &Device) {
    let worst = stacked_gap(
        gpu,
        "task=spiral&w=32&bs=50&steps=12&sched=cosine&warm=3&wd=0.1&sweep=lr:0.003,9,0.03;param:sp,mup",
        true,
    );
    eprintln!("stacked against unstacked on the GPU: largest relative difference {worst:.1e}");
    // The transformer (#33): the char LM's fresh windows per run, the attention kernel over the
    // stack's K·b sequences (SP's and μP's runs each at its attention scale), each run's
    // cross-entropy and log Z (measured on lavapipe: see the line this prints).
    let worst = stacked_gap(
        gpu,
        "task=text&w=32&d=2&heads=4&ctx=16&bs=8&steps=8&sched=cosine&warm=2&bw=16&sweep=lr:0.003,0.02;param:sp,mup",
        false,
    );
    eprintln!(
        "the stacked transformer against unstacked on the GPU: largest relative difference {worst:.1e}"
    );
    // An adaptation phase on a QLoRA base at each run's bits, PTQ's end-of-run loss at each
    // run's bits and scales (the reference rounding, as the GPU's unstacked run rounds), QAT at
    // each run's bits, and the transformer's PTQ.
    let worst = stacked_gap(
        gpu,
        "task=digits&w=32&d=2&bs=64&steps=5&asteps=5&r=2&qmode=qlora&sweep=bits:2,32;lplus:1,16",
        false,
    );
    eprintln!("stacked LoRA on a QLoRA base against unstacked on the GPU: {worst:.1e}");
    let worst = stacked_gap(
        gpu,
        "task=digits&w=32&d=2&bs=64&steps=8&sweep=bits:2,4,32;qgran:tensor,group",
        false,
    );
    eprintln!("stacked PTQ against unstacked on the GPU: {worst:.1e}");
    let worst = stacked_gap(
        gpu,
        "task=digits&w=32&d=2&bs=64&steps=6&qmode=qat&qgran=group&qgs=24&sweep=bits:2,4,32",
        false,
    );
    eprintln!("stacked QAT against unstacked on the GPU: {worst:.1e}");
    let worst = stacked_gap(
        gpu,
        "task=reverse&w=16&d=1&heads=2&ctx=8&seqlen=4&syms=6&bs=16&steps=4&sweep=bits:2,4,32;qgran:tensor,channel",
        false,
    );
    eprintln!("a stacked transformer's PTQ against unstacked on the GPU: {worst:.1e}");
}

/// The largest relative gap between the stacked and unstacked curves (train and validation
/// losses, PTQ's loss, and the transformer's log Z) of `link`'s sweep on `gpu`, each within 1e-4; with
/// `diverges`, some run must diverge (and be marked so in both).
fn stacked_gap(gpu: &Device, link: &str, diverges: bool) -> f32 {
    let study = url::parse_strict(link).unwrap();
    let points = study.sweep.expand(&study.experiment).unwrap();
    let alone = pollster::block_on(train::train_sweep(&points, gpu, 5, |_, _| {})).unwrap();
    let all = vec![(0..points.len()).collect::<Vec<_>>()];
    let stacked = pollster::block_on(train::train_sweep_stacked(&points, gpu, 5, &all, |_, _| {})).unwrap();
    let mut worst = 0f32;
    for (a, s) in alone.iter().zip(&stacked) {
        assert_eq!(a.diverged, s.diverged, "{}", a.config.label());
        assert_eq!(a.reports.len(), s.reports.len(), "{}", a.config.label());
        for (x, y) in a.reports.iter().zip(&s.reports) {
            assert_eq!(x.seq.is_some(), y.seq.is_some());
            let log_z = |r: &tinytune::train::metrics::StepReport| r.seq.map(|q| q.log_z);
            for (u, v) in [
                (Some(x.train_loss), Some(y.train_loss)),
                (x.val_loss, y.val_loss),
                (log_z(x), log_z(y)),
                (x.quant_val_loss, y.quant_val_loss),
            ] {
                let (Some(u), Some(v)) = (u, v) else {
                    assert_eq!(u.is_some(), v.is_some());
                    continue;
                };
                if u.is_nan() && v.is_nan() {
                    continue;
                }
                let gap = (u - v).abs() / u.abs().max(1e-3);
                worst = worst.max(gap);
                assert!(
                    gap <= 1e-4,
                    "{} step {}: {u} alone, {v} stacked",
                    a.config.label(),
                    x.step
                );
            }
        }
    }
    if diverges {
        assert!(alone.iter().any(|r| r.diverged), "lr = 9 diverges");
    }
    worst
}

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
        // Matrix sensing's factors (E11): a mini-batch walk and plain SGD on F·Gᵀ.
        (
            "task=sense&dim=12&pr=2&n=80&bs=40&fk=4&fsym=0&finit=0.5&opt=sgd&lr=0.1&steps=12",
            1e-4,
        ),
        // A lottery ticket (E13): the cut's threshold bisected on the device, the rewind, and
        // the mask held through Adam.
        (
            "task=digits&w=16&d=1&bs=64&steps=10&pkeep=0.1&pat=5&pfrom=rewind&prew=2",
            1e-4,
        ),
        // Intrinsic dimension (E10): a random subspace, its one z shared by every tensor's
        // delta and updated by the GPU's fused Adam (one copy written, the others tied), and
        // bias-only tuning after pre-training.
        (
            "task=digits&w=16&d=1&bs=64&steps=10&lr=0.01&r=sub64&shift=none",
            1e-4,
        ),
        // Beyond the dense cap (85 k parameters × 200 = 17 M entries): the Fastfood projection,
        // its Hadamard factors, permutation gather and slices on the device.
        (
            "task=digits&w=256&d=2&bs=64&steps=6&lr=0.01&r=sub200&shift=none",
            1e-4,
        ),
        ("task=digits&w=16&d=1&bs=64&steps=5&asteps=5&lr=0.01&r=bias", 1e-4),
        // The planted stream (E6 (b)): a fresh batch uploaded every step, inputs with a
        // spectrum, plain SGD, validation every step.
        (
            "task=planted&dim=16&pr=2&noise=0.5&n=64&stream=1&xs=1&r=0&opt=sgd&bs=32&lr=1&steps=10",
            1e-4,
        ),
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

    // Pruning's end-of-run scores (E13): every method at every level, the thresholds found by
    // bisection on the device; a loss whose cut shares a tie may differ, float sums do not.
    let link = "task=digits&w=16&d=1&bs=64&steps=6&r=0&asteps=6&shift=rot&prune=1";
    let pruned = |device: &Device| {
        let study = url::parse_strict(link).expect("a valid link");
        let run = pollster::block_on(train::train_run(&study.experiment, device, 10)).expect("it trains");
        run.pruned().expect("scores").clone()
    };
    let (cpu, wgpu) = (pruned(&backend::cpu()), pruned(&gpu));
    assert_eq!(cpu.curves.len(), 6);
    for ((m, a), (_, b)) in cpu.curves.iter().zip(&wgpu.curves) {
        eprintln!("{m:?}: CPU {a:?}\n      wgpu {b:?}");
        assert!(gap(a, b) <= 1e-3, "{m:?}: {a:?} against {b:?}");
    }

    // The gradient noise scale (E6): the small batch's extra backward and both norms on the
    // device, the same squared norms as the CPU's.
    let link = "task=digits&w=16&d=1&bs=64&steps=6&lr=0.01&gns=1";
    let samples = |device: &Device| -> Vec<(f32, f32)> {
        let study = url::parse_strict(link).expect("a valid link");
        let run = pollster::block_on(train::train_run(&study.experiment, device, 10)).expect("it trains");
        run.reports
            .iter()
            .map(|r| r.gns.map(|g| (g.small, g.big)).expect("every step"))
            .collect()
    };
    let (cpu, wgpu) = (samples(&backend::cpu()), samples(&gpu));
    for (t, (a, b)) in cpu.iter().zip(&wgpu).enumerate() {
        eprintln!("gns step {t}: CPU {a:?} wgpu {b:?}");
        assert!(
            (a.0 - b.0).abs() <= 1e-3 * a.0 && (a.1 - b.1).abs() <= 1e-3 * a.1,
            "step {t}: {a:?} vs {b:?}"
        );
    }

    // The GPU's own fused kernels against Burn's composition, op by op (same process: one wgpu
    // runtime per process).
    fused_kernels_match_burn(&gpu);
    multi_adam_matches_adam(&gpu);
    stacked_runs_match_unstacked(&gpu);

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
