//! Same-shape runs stacked into one model (#33): which runs stack (`stack`, shapes, what cannot),
//! and that a stacked run's curve is its unstacked curve within float tolerance, a diverging run
//! marked and frozen without moving the others.

use tinytune::experiment::stack::{refuses, stacks};
use tinytune::knobs::ExperimentConfig;
use tinytune::knobs::view::Stack;
use tinytune::link::sweep::SweepPoint;
use tinytune::link::url::{parse, parse_strict, to_query};
use tinytune::model::backend;
use tinytune::train::{self, metrics::Run};

fn points(query: &str) -> Vec<SweepPoint> {
    let study = parse_strict(query).unwrap();
    study.sweep.expand(&study.experiment).unwrap()
}

fn configs(query: &str) -> Vec<ExperimentConfig> {
    points(query).into_iter().map(|p| p.config).collect()
}

/// The tolerance a stacked run's losses keep to its unstacked run's, relative: a batched product
/// and a per-run loss sum in another order than one run's, a few f32 ulps a step that Adam's
/// normalisation carries on (measured 2026-12-06 on the CPU: at most 1.2e-6 over these MLP runs,
/// 2.6e-7 over the transformer's, its accuracy exact).
pub const TOLERANCE: f32 = 1e-5;

/// The largest attention logit's tolerance, relative: looser, and growing with the learning
/// rate, because the keys' bias has no effect on the loss (a row's softmax ignores a constant
/// q·b_k) and so a gradient of rounding noise alone, which Adam scales up to steps of about η in
/// a direction the summation order picks; the logits, not the losses, carry that walk
/// (measured 2026-12-06: at most 9.7e-4 over 12 steps at η = 0.02, 4.9e-5 at η = 3e-4, and the
/// losses within 2.6e-7; μP's zero queries leave it at 5.5e-7).
pub const LOGIT_TOLERANCE: f32 = 3e-3;

/// PTQ's loss's tolerance, relative: the rounded weights are those of weights that agree within
/// float tolerance, so a weight within that distance of a rounding boundary (or a block's scale
/// moving it across one) rounds to the other level — rare, and then a change of one level in one
/// weight (measured 2026-12-07: at most 4.6e-7 over these runs, the losses 6.4e-7).
pub const QUANT_TOLERANCE: f32 = 1e-4;

fn close(a: f32, b: f32) -> bool {
    close_within(a, b, TOLERANCE)
}

fn close_within(a: f32, b: f32, tolerance: f32) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= tolerance * a.abs().max(b.abs()).max(1e-3)
}

fn assert_curves_agree(alone: &[Run], stacked: &[Run]) {
    assert_eq!(alone.len(), stacked.len());
    for (a, s) in alone.iter().zip(stacked) {
        assert_eq!(a.config, s.config, "in the sweep's order");
        for (x, y) in a.reports.iter().zip(&s.reports) {
            // The MLP's validation accuracy: a share of the same examples, so equal where
            // the logits agree to within their tolerance (one example may flip at a tie).
            assert_eq!(
                x.val_acc.is_some(),
                y.val_acc.is_some(),
                "the accuracy at step {}",
                x.step
            );
            if let (Some(p), Some(q)) = (x.val_acc, y.val_acc) {
                assert!(
                    (p - q).abs() <= 0.01,
                    "step {}: accuracy {p} alone, {q} stacked",
                    x.step
                );
            }
            assert_eq!(x.seq.is_some(), y.seq.is_some(), "the transformer's statistics");
            let (Some(u), Some(v)) = (x.seq, y.seq) else {
                continue;
            };
            let pairs = [
                ("largest logit", Some(u.max_logit), Some(v.max_logit)),
                ("log Z", Some(u.log_z), Some(v.log_z)),
                ("z-loss", u.z_loss, v.z_loss),
                ("training accuracy", u.train_acc, v.train_acc),
                ("validation accuracy", u.val_acc, v.val_acc),
            ];
            for (what, p, q) in pairs {
                assert_eq!(p.is_some(), q.is_some(), "{what} at step {}", x.step);
                if let (Some(p), Some(q)) = (p, q) {
                    let tolerance = if what == "largest logit" {
                        LOGIT_TOLERANCE
                    } else {
                        TOLERANCE
                    };
                    assert!(
                        close_within(p, q, tolerance),
                        "{} step {}: {what} {p} alone, {q} stacked",
                        a.config.label(),
                        x.step
                    );
                }
            }
        }
        assert_eq!(
            a.quant_val_loss().is_some(),
            s.quant_val_loss().is_some(),
            "PTQ's loss: {}",
            a.config.label()
        );
        if let (Some(u), Some(v)) = (a.quant_val_loss(), s.quant_val_loss()) {
            assert!(
                close_within(u, v, QUANT_TOLERANCE),
                "{}: PTQ's loss {u} alone, {v} stacked",
                a.config.label()
            );
        }
        assert_eq!(a.diverged, s.diverged, "{}", a.config.label());
        assert_eq!(a.reports.len(), s.reports.len(), "{}", a.config.label());
        for (x, y) in a.reports.iter().zip(&s.reports) {
            assert_eq!(x.step, y.step);
            assert!(
                close(x.train_loss, y.train_loss),
                "{} step {}: train {} alone, {} stacked",
                a.config.label(),
                x.step,
                x.train_loss,
                y.train_loss
            );
            assert_eq!(
                x.val_loss.is_some(),
                y.val_loss.is_some(),
                "the same evaluation steps"
            );
            if let (Some(u), Some(v)) = (x.val_loss, y.val_loss) {
                assert!(
                    close(u, v),
                    "{} step {}: val {u} alone, {v} stacked",
                    a.config.label(),
                    x.step
                );
            }
        }
    }
}

#[test]
fn stack_reads_auto_off_or_a_count() {
    assert_eq!(Stack::parse("auto"), Ok(Stack::Auto));
    assert_eq!(Stack::parse("0"), Ok(Stack::Off));
    assert_eq!(Stack::parse("1"), Ok(Stack::Off));
    assert_eq!(Stack::parse("16"), Ok(Stack::Count(16)));
    assert!(Stack::parse("65").is_err());
    assert!(Stack::parse("lots").is_err());
    let study = parse("v=1&stack=8&sweep=lr:0.01,0.1").study;
    assert_eq!(study.view.stack, Stack::Count(8));
    assert!(to_query(&study).contains("stack=8"));
    assert!(!to_query(&parse("v=1").study).contains("stack"));
    let bad = parse("v=1&stack=99");
    assert_eq!(
        bad.study.view.stack,
        Stack::Auto,
        "a bad value falls back on auto"
    );
    assert!(bad.issues.iter().any(|i| i.message.contains("stack")));
    assert!(parse_strict("stack=99").is_err(), "the CLI refuses it");
}

#[test]
fn runs_stack_by_shape_and_only_where_asked() {
    // e4's grid: 3 rates × 2 widths × SP/μP: one stack a width (μP only changes numbers).
    let c = configs("task=digits&steps=10&sweep=lr:0.001,0.01,0.1;w:64,128;param:sp,mup");
    let gpu = stacks(&c, Stack::Auto, true);
    assert_eq!(gpu.len(), 2, "{gpu:?}");
    for g in &gpu {
        assert_eq!(g.len(), 6);
        assert!(g.iter().all(|&i| c[i].width == c[g[0]].width));
    }
    assert_eq!(
        stacks(&c, Stack::Auto, false).len(),
        12,
        "auto: the CPU trains runs alone"
    );
    assert_eq!(stacks(&c, Stack::Count(64), false), gpu, "unless asked");
    // A pool of 4 threads gets a stack each: a 6-run stack in 4 parts is 2, 2, 1, 1 — every run
    // once, none empty.
    let parts = tinytune::experiment::stack::split(vec![(0..6).collect()], 4);
    assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1, 1]);
    assert_eq!(stacks(&c, Stack::Off, true).len(), 12);
    // At most K a stack, split evenly: 6 → 3 + 3 with K = 4.
    let four = stacks(&c, Stack::Count(4), false);
    assert_eq!(four.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3, 3, 3]);
    let mut all: Vec<usize> = four.concat();
    all.sort_unstable();
    assert_eq!(all, (0..12).collect::<Vec<_>>(), "every run once");
    // A rank is a shape: a stack a rank, LoRA's numbers within it.
    let lora = configs("task=digits&steps=10&asteps=10&sweep=r:1,2;alpha:4,16;lplus:1,16");
    let g = stacks(&lora, Stack::Auto, true);
    assert_eq!(g.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4], "{g:?}");
    assert!(
        g.iter()
            .all(|g| g.iter().all(|&i| lora[i].lora.rank == lora[g[0]].lora.rank))
    );
    // E3's grid (input subspace × trained factors) is one stack; the planted rank's too.
    let e3 = configs("task=planted&pr=16&steps=10&r=8&sweep=k:2,4,8;train:ab,b,a;pr:2,4");
    assert_eq!(stacks(&e3, Stack::Auto, true), vec![(0..18).collect::<Vec<_>>()]);
    // PTQ's bits, scales and outlier channel are each run's, and QLoRA's bits; QAT's bits, but
    // its scales are the stack's (one rounding pass for all runs); QAT under LoRA trains alone.
    let ptq = configs("task=digits&steps=10&sweep=bits:2,4,32;qgran:tensor,channel;qout:1,8");
    assert_eq!(stacks(&ptq, Stack::Auto, true), vec![(0..12).collect::<Vec<_>>()]);
    let qlora = configs("task=digits&steps=10&asteps=10&qmode=qlora&sweep=bits:2,4,32;r:1,4");
    assert_eq!(stacks(&qlora, Stack::Auto, true).len(), 2);
    // E9's grid: PTQ and QAT each one stack of their bits and seeds.
    let e9 = configs("task=digits&steps=10&sweep=bits:2,4,32;qmode:ptq,qat;seed:1,2");
    let g = stacks(&e9, Stack::Auto, true);
    assert_eq!(g.iter().map(Vec::len).collect::<Vec<_>>(), vec![6, 6], "{g:?}");
    assert!(
        g.iter()
            .all(|g| g.iter().all(|&i| e9[i].quant.mode == e9[g[0]].quant.mode))
    );
    let qat = configs("task=digits&steps=10&qmode=qat&sweep=bits:2,4;qgran:tensor,channel");
    assert_eq!(stacks(&qat, Stack::Auto, true).len(), 2, "a stack a granularity");
    let qat_lora = configs("task=digits&steps=10&asteps=10&r=2&qmode=qat&sweep=bits:2,4");
    assert!(refuses(&qat_lora[0]).is_some());
    // A transformer's PTQ stacks (gpt-bits: one stack); its adaptation and QAT train alone.
    let gpt_bits = configs("task=modadd&steps=10&sweep=bits:2,4,32;qgran:tensor,channel");
    assert_eq!(
        stacks(&gpt_bits, Stack::Auto, true),
        vec![(0..6).collect::<Vec<_>>()]
    );
    let gpt_lora = configs("task=modadd&steps=10&asteps=10&r=2&sweep=lr:0.01,0.1");
    assert!(refuses(&gpt_lora[0]).is_some());
    let gpt_qat = configs("task=modadd&steps=10&qmode=qat&sweep=bits:4,8");
    assert!(refuses(&gpt_qat[0]).is_some());
    // The transformer stacks too, SP and μP together (each run's attention scale and
    // multipliers its own): gpt-width's grid is a stack a width; qk-norm trains alone.
    let gpt = configs("task=text&d=1&ctx=32&steps=10&sweep=lr:2^-8..2^-4*2;w:32,64;param:sp,mup");
    let g = stacks(&gpt, Stack::Auto, true);
    assert_eq!(g.iter().map(Vec::len).collect::<Vec<_>>(), vec![10; 2], "{g:?}");
    for g in &g {
        assert!(g.iter().all(|&i| gpt[i].width == gpt[g[0]].width));
    }
    let qk = configs("task=modadd&steps=10&qkln=1&sweep=lr:0.01,0.1");
    assert!(refuses(&qk[0]).is_some());
    assert!(stacks(&qk, Stack::Auto, true).iter().all(|g| g.len() == 1));
}

#[test]
fn a_stacked_run_follows_its_unstacked_curve_on_the_cpu() {
    // Rates, seeds, a schedule with warm-up and weight decay, SP and μP, a residual MLP's β:
    // everything a stack's runs may differ in. Batch 50 of 256 points: walks across epochs, the
    // indices not a multiple of the 256-byte row.
    let query = "task=spiral&w=32&d=2&bs=50&steps=45&sched=cosine&warm=5&res=1\
                 &sweep=lr:0.003,0.03;param:sp,mup;seed:1,2";
    let pts = points(query);
    let device = backend::cpu();
    let alone = pollster::block_on(train::train_sweep(&pts, &device, 7, |_, _| {})).unwrap();
    let groups = vec![(0..pts.len()).collect::<Vec<_>>()];
    let stacked =
        pollster::block_on(train::train_sweep_stacked(&pts, &device, 7, &groups, |_, _| {})).unwrap();
    assert_curves_agree(&alone, &stacked);
    // Weight decay and the residual branch 1/√L per run, the full batch (no walk).
    let pts = points("task=moons&w=16&d=3&bs=512&steps=30&res=isqrt&sweep=wd:0,0.1;lr:0.01,0.05");
    let alone = pollster::block_on(train::train_sweep(&pts, &device, 9, |_, _| {})).unwrap();
    let groups = vec![(0..pts.len()).collect::<Vec<_>>()];
    let stacked =
        pollster::block_on(train::train_sweep_stacked(&pts, &device, 9, &groups, |_, _| {})).unwrap();
    assert_curves_agree(&alone, &stacked);
}

#[test]
fn a_diverging_run_is_marked_and_frozen_and_the_others_train_on() {
    // lr = 9 diverges with either seed, between runs that do not; each seed has its own data and
    // batches (50 a batch: rows not a multiple of the 256-byte view), so a run that leaves the
    // stack must take exactly its own slices of them with it.
    let pts = points("task=spiral&w=32&bs=50&steps=40&sweep=lr:0.003,9,0.03;seed:1,2");
    let device = backend::cpu();
    let alone = pollster::block_on(train::train_sweep(&pts, &device, 5, |_, _| {})).unwrap();
    let diverged: Vec<bool> = alone.iter().map(|r| r.diverged).collect();
    assert_eq!(diverged.iter().filter(|&&d| d).count(), 2, "{diverged:?}");
    assert!(!diverged[0] && !diverged[5], "{diverged:?}");
    let mut seen = (0, 0);
    let stacked = pollster::block_on(train::train_sweep_stacked(
        &pts,
        &device,
        5,
        &[(0..6).collect()],
        |d, t| seen = (d, t),
    ))
    .unwrap();
    assert_eq!(seen, (6, 6), "progress counts the stack's runs");
    assert_curves_agree(&alone, &stacked);
}

#[test]
fn a_stacked_transformer_follows_its_unstacked_curve_on_the_cpu() {
    // The char LM (fresh windows per run from its own stream), learned positions, LayerNorm,
    // an untied readout: rates, seeds, cosine with warm-up and weight decay per run.
    let query = "task=text&w=32&d=2&heads=4&ctx=16&bs=8&steps=12&sched=cosine&warm=3&wd=0.1\
                 &sweep=lr:0.003,0.02;seed:1,2";
    let pts = points(query);
    let device = backend::cpu();
    let alone = pollster::block_on(train::train_sweep(&pts, &device, 5, |_, _| {})).unwrap();
    let groups = vec![(0..pts.len()).collect::<Vec<_>>()];
    let stacked =
        pollster::block_on(train::train_sweep_stacked(&pts, &device, 5, &groups, |_, _| {})).unwrap();
    assert!(alone.iter().all(|r| r.reports.iter().all(|p| p.seq.is_some())));
    assert_curves_agree(&alone, &stacked);
    // A fixed-example task walked in batches (scored answers only, exact-match accuracy), RoPE,
    // RMSNorm, a tied readout, μP, the z-loss and β = 1/√L, batch 20 of the examples.
    let query = "task=reverse&w=32&d=2&heads=2&ctx=8&seqlen=4&syms=6&bs=20&steps=14\
                 &pos=rope&norm=rms&tied=1&param=mup&zloss=0.001&res=isqrt&sweep=lr:0.002,0.01;seed:1,3";
    let pts = points(query);
    let alone = pollster::block_on(train::train_sweep(&pts, &device, 6, |_, _| {})).unwrap();
    let groups = vec![(0..pts.len()).collect::<Vec<_>>()];
    let stacked =
        pollster::block_on(train::train_sweep_stacked(&pts, &device, 6, &groups, |_, _| {})).unwrap();
    assert!(
        alone[0]
            .reports
            .iter()
            .any(|p| p.seq.and_then(|s| s.z_loss).is_some())
    );
    assert_curves_agree(&alone, &stacked);
}

#[test]
fn a_transformer_stack_holds_sp_and_mup_runs() {
    // Each run's attention scale (1/d_head under μP at twice the base width, 1/√d_head under
    // SP) on its queries, its multipliers as factors; learned positions and RoPE, tied and
    // untied readouts.
    for arch in ["pos=learned", "pos=rope&tied=1"] {
        stacked_agrees(
            &format!(
                "task=reverse&w=32&d=2&heads=2&ctx=8&seqlen=4&syms=6&bs=16&steps=8&bw=16&{arch}\
                 &sweep=param:sp,mup;lr:0.002,0.005"
            ),
            4,
        );
    }
}

#[test]
fn a_diverging_transformer_leaves_its_stack() {
    // lr = 9 diverges; the runs beside it, with their own seeds' windows, keep their curves.
    let pts = points("task=text&w=16&d=1&heads=2&ctx=8&bs=4&steps=16&sweep=lr:0.001,9,0.0003;seed:1,2");
    let device = backend::cpu();
    let alone = pollster::block_on(train::train_sweep(&pts, &device, 4, |_, _| {})).unwrap();
    let diverged: Vec<bool> = alone.iter().map(|r| r.diverged).collect();
    assert!(diverged.iter().any(|&d| d) && !diverged[0], "{diverged:?}");
    let stacked = pollster::block_on(train::train_sweep_stacked(
        &pts,
        &device,
        4,
        &[(0..6).collect()],
        |_, _| {},
    ))
    .unwrap();
    assert_curves_agree(&alone, &stacked);
}

/// Trains `query`'s sweep alone and as one stack on the CPU (`chunk` steps a readback) and
/// checks the curves agree.
fn stacked_agrees(query: &str, chunk: usize) -> Vec<Run> {
    let pts = points(query);
    let device = backend::cpu();
    let alone = pollster::block_on(train::train_sweep(&pts, &device, chunk, |_, _| {})).unwrap();
    let groups = vec![(0..pts.len()).collect::<Vec<_>>()];
    let stacked = pollster::block_on(train::train_sweep_stacked(
        &pts,
        &device,
        chunk,
        &groups,
        |_, _| {},
    ))
    .unwrap();
    assert_curves_agree(&alone, &stacked);
    alone
}

#[test]
fn a_stacked_adaptation_follows_its_unstacked_curve_on_the_cpu() {
    // The planted task (adapters from step 0 on its linear student): E3's trained factors and
    // input subspaces, and the planted rank, in one stack; a frozen factor stays frozen.
    let runs = stacked_agrees(
        "task=planted&dim=16&pr=2&n=256&bs=32&steps=20&r=4&lr=0.01&sweep=train:ab,b,a;k:4,16;pr:1,3",
        6,
    );
    assert!(runs.iter().all(|r| r.reports.len() == 20));
    // α, γ's rule and LoRA+'s λ per run (A's init Burn's), a schedule with warm-up.
    stacked_agrees(
        "task=planted&dim=16&n=256&bs=64&steps=16&r=2&sched=cosine&warm=2&ainit=inv\
         &sweep=alpha:4,16;scale:std,rs;lplus:1,16",
        5,
    );
    // Digits pre-trained, then adapted to the rotated digits on a QLoRA base at each run's
    // bits (32: a float base) with each run's seed.
    stacked_agrees(
        "task=digits&w=32&d=2&bs=64&steps=9&asteps=9&lr=0.003&r=2&qmode=qlora&sweep=bits:2,4,32;seed:1,2",
        4,
    );
    // LoRA on the digits from the initialisation (`shift=none`: no pre-training, no switch of
    // data), each run at its rate and seed (a stack's runs share their rank).
    let runs = stacked_agrees(
        "task=digits&w=32&d=1&bs=64&steps=8&r=4&shift=none&sweep=lr:0.003,0.01;seed:1,2",
        3,
    );
    assert!(
        runs.iter()
            .all(|r| r.adaptation_start().is_none() && r.final_val_acc().is_some())
    );
    // Full fine-tuning (rank 0): everything trains again, each run at its rate.
    stacked_agrees(
        "task=spiral&w=16&bs=32&steps=8&asteps=8&r=0&sweep=lr:0.003,0.03;seed:1,2",
        3,
    );
    // PTQ after the adaptation: each run's adapters merged into its weights, then rounded.
    let runs = stacked_agrees(
        "task=digits&w=32&d=1&bs=64&steps=6&asteps=6&r=2&qgran=channel&sweep=bits:3,32;alpha:4,16",
        4,
    );
    assert!(runs.iter().any(|r| r.quant_val_loss().is_some()));
}

#[test]
fn stacked_ptq_scores_each_run_at_its_own_bits() {
    // Bits, scales, the group size, clipping and the outlier channel per run; 32 bits is a
    // float run without PTQ's loss.
    let runs = stacked_agrees(
        "task=digits&w=32&d=2&bs=64&steps=12&lr=0.003&qgs=8\
         &sweep=bits:2,4,32;qgran:tensor,channel,group;qout:1,8",
        5,
    );
    assert!(
        runs.iter()
            .all(|r| r.quant_val_loss().is_some() == (r.config.quant.bits < 32))
    );
    stacked_agrees(
        "task=digits&w=32&d=1&bs=64&steps=6&lr=0.003&bits=3&sweep=qfmt:int,uint;qclip:max,mse",
        3,
    );
}

#[test]
fn stacked_qat_rounds_each_run_at_its_own_bits() {
    // Each granularity (a group size that pads the 64 pixels' last group), INT and UINT, the MSE
    // search; 32 bits trains in float beside the rounded runs.
    for scales in [
        "qgran=tensor",
        "qgran=channel&qfmt=uint",
        "qgran=group&qgs=24&qclip=mse",
    ] {
        stacked_agrees(
            &format!(
                "task=digits&w=32&d=2&bs=64&steps=8&lr=0.01&qmode=qat&{scales}&sweep=bits:2,3,32;seed:1,2"
            ),
            3,
        );
    }
    // NF4's levels are fixed: its runs differ in seeds and rates only.
    stacked_agrees(
        "task=digits&w=32&d=1&bs=64&steps=6&qmode=qat&bits=4&qfmt=nf4&sweep=lr:0.003,0.03",
        3,
    );
}

#[test]
fn a_stacked_transformer_scores_ptq_at_each_runs_bits() {
    // gpt-bits in small: q, k and v rounded apart (their scales are their own), per tensor and
    // per channel; 32 bits a float run.
    let runs = stacked_agrees(
        "task=reverse&w=16&d=1&heads=2&ctx=8&seqlen=4&syms=6&bs=16&steps=6&lr=0.01\
         &sweep=bits:2,4,32;qgran:tensor,channel",
        3,
    );
    assert!(
        runs.iter()
            .all(|r| r.quant_val_loss().is_some() == (r.config.quant.bits < 32))
    );
    // The char LM with a tied readout: the embedding rounded (`qemb`) in one run, not the other.
    stacked_agrees(
        "task=text&w=16&d=1&heads=2&ctx=8&bs=4&steps=4&tied=1&bits=3&qgran=channel&sweep=qemb:0,1;seed:1,2",
        2,
    );
}

#[test]
fn stacked_clipping_clips_each_run_by_its_own_norm() {
    // A threshold that binds at the larger rate and not the smaller; the MLP, LoRA on the
    // planted task and the transformer.
    stacked_agrees(
        "task=spiral&w=32&d=2&bs=32&steps=12&clip=0.5&sweep=lr:0.003,0.1;seed:1,2",
        4,
    );
    stacked_agrees(
        "task=planted&dim=16&n=256&bs=32&steps=10&r=4&clip=0.05&sweep=lr:0.003,0.03;alpha:4,16",
        4,
    );
    stacked_agrees(
        "task=reverse&w=16&d=1&heads=2&ctx=8&seqlen=4&syms=6&bs=16&steps=6&clip=0.1&sweep=lr:0.003,0.03",
        3,
    );
    let frozen = configs("task=planted&steps=10&r=4&clip=1&train=b&sweep=lr:0.01,0.1");
    assert!(
        refuses(&frozen[0]).is_some(),
        "a frozen factor would count in the stack's norm"
    );
}

#[test]
fn a_stacked_sgd_run_follows_its_unstacked_curve() {
    // Plain SGD with L2 decay per run, SP and μP (whose SGD rules differ from Adam's) together.
    stacked_agrees(
        "task=spiral&w=32&d=2&bs=32&steps=12&opt=sgd&sweep=lr:0.05,0.3;wd:0,0.01;param:sp,mup",
        4,
    );
    stacked_agrees(
        "task=reverse&w=16&d=1&heads=2&ctx=8&seqlen=4&syms=6&bs=16&steps=6&opt=sgd&sweep=lr:0.1,0.5",
        3,
    );
}
