//! The transformer family (#13), natively on Burn's CPU backend: shapes, the causal mask, layer
//! names, the parameter count, seeded init, and that it learns a small sequence task.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use tinytune::data::Rng;
use tinytune::knobs::gpt::{GptConfig, Norm, Pos};
use tinytune::knobs::mup::MupConfig;
use tinytune::model::Family;
use tinytune::model::backend;
use tinytune::model::gpt::Gpt;

const VOCAB: usize = 11;

fn model(cfg: &GptConfig, width: usize, blocks: usize, seed: u64) -> Gpt {
    Gpt::new(
        cfg,
        &MupConfig::default(),
        VOCAB,
        width,
        blocks,
        &mut Rng::new(seed),
        &backend::cpu(),
    )
}

fn tokens(rows: &[Vec<i64>]) -> Tensor<2, Int> {
    let (b, t) = (rows.len(), rows[0].len());
    let flat: Vec<i64> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [b, t]), &backend::cpu())
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// Every variant the knobs can build.
fn variants() -> Vec<GptConfig> {
    let base = GptConfig {
        ctx: 16,
        heads: 2,
        ..GptConfig::default()
    };
    vec![
        base.clone(),
        GptConfig {
            pos: Pos::Rope,
            ..base.clone()
        },
        GptConfig {
            norm: Norm::Rms,
            qk_norm: true,
            ..base.clone()
        },
        GptConfig { tied: true, ..base },
    ]
}

#[test]
fn logits_have_one_row_per_position_and_token() {
    for cfg in variants() {
        let m = model(&cfg, 16, 2, 1);
        let logits = m.forward(tokens(&[vec![1, 2, 3, 4, 5], vec![5, 4, 3, 2, 1]]), None);
        assert_eq!(logits.dims(), [2, 5, VOCAB], "{cfg:?}");
        assert!(values(logits).iter().all(|v| v.is_finite()));
    }
}

#[test]
fn a_later_token_never_changes_an_earlier_position() {
    for cfg in variants() {
        let m = model(&cfg, 16, 2, 3);
        let a = values(m.forward(tokens(&[vec![1, 2, 3, 4, 5, 6]]), None));
        let b = values(m.forward(tokens(&[vec![1, 2, 3, 9, 0, 7]]), None));
        let row = VOCAB;
        // Positions 0..3 read only tokens 1, 2, 3: identical logits.
        for (x, y) in a[..3 * row].iter().zip(&b[..3 * row]) {
            assert!((x - y).abs() < 1e-5, "{cfg:?}: {x} vs {y}");
        }
        // The changed positions do change (the check above is not vacuous).
        let diff: f32 = a[3 * row..]
            .iter()
            .zip(&b[3 * row..])
            .map(|(x, y)| (x - y).abs())
            .sum();
        assert!(diff > 1e-3, "{cfg:?}");
    }
}

#[test]
fn layers_are_named_for_the_knobs_and_the_count_is_exact() {
    for cfg in variants() {
        let m = model(&cfg, 16, 2, 1);
        let names: Vec<String> = m.linears().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            &names[..6],
            [
                "block.0.attn.q",
                "block.0.attn.k",
                "block.0.attn.v",
                "block.0.attn.o",
                "block.0.mlp.fc",
                "block.0.mlp.proj"
            ]
        );
        assert_eq!(names.len(), 12 + usize::from(!cfg.tied), "{cfg:?}");
        assert_eq!(cfg.parameters(VOCAB, 16, 2), m.num_params(), "{cfg:?}");
    }
}

#[test]
fn a_seed_gives_the_same_model() {
    let cfg = GptConfig::default();
    let x = tokens(&[vec![1, 2, 3]]);
    assert_eq!(
        values(model(&cfg, 16, 1, 5).forward(x.clone(), None)),
        values(model(&cfg, 16, 1, 5).forward(x.clone(), None))
    );
    assert_ne!(
        values(model(&cfg, 16, 1, 5).forward(x.clone(), None)),
        values(model(&cfg, 16, 1, 6).forward(x, None))
    );
}

/// Next-token cross-entropy over every position: logits [b, t, vocab], targets [b, t] → [1].
fn next_token_loss(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
    let [b, t, v] = logits.dims();
    let logp = log_softmax(logits.reshape([b * t, v]), 1);
    let picked = logp.gather(1, targets.reshape([b * t, 1]));
    picked.mean().neg().reshape([1])
}

#[test]
fn it_learns_to_copy_a_sequence() {
    // "a b c d | a b c d": the second half is predictable only by attending back.
    let device = backend::cpu().autodiff();
    let cfg = GptConfig {
        ctx: 16,
        heads: 2,
        ..GptConfig::default()
    };
    let mut m = Gpt::new(
        &cfg,
        &MupConfig::default(),
        VOCAB,
        32,
        2,
        &mut Rng::new(1),
        &device,
    );
    let mut optim = ModuleOptimizer::from(AdamConfig::new().with_epsilon(1e-8).build());
    let mut rng = Rng::new(7);
    let batch = |rng: &mut Rng| {
        let rows: Vec<Vec<i64>> = (0..32)
            .map(|_| {
                let half: Vec<i64> = (0..4).map(|_| rng.below(9) as i64).collect();
                let mut row = half.clone();
                row.push(10); // separator
                row.extend(&half);
                row
            })
            .collect();
        let flat: Vec<i64> = rows.iter().flatten().copied().collect();
        let all = Tensor::<2, Int>::from_data(TensorData::new(flat, [32, 9]), &device);
        (all.clone().narrow(1, 0, 8), all.narrow(1, 1, 8))
    };
    // The copied half: positions 4..8 predict tokens 5..9.
    let copied_loss = |m: &Gpt, x: Tensor<2, Int>, y: Tensor<2, Int>| {
        next_token_loss(m.forward(x, None).narrow(1, 4, 4), y.narrow(1, 4, 4))
    };
    let (x0, y0) = batch(&mut rng);
    let first: f32 = values(copied_loss(&m, x0, y0))[0];
    for _ in 0..150 {
        let (x, y) = batch(&mut rng);
        let loss = next_token_loss(m.forward(x, None), y);
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        m = optim.step(3e-3, m, grads);
    }
    let (x, y) = batch(&mut rng);
    let last: f32 = values(copied_loss(&m, x, y))[0];
    // Chance is ln 9 ≈ 2.2 nats; copying brings it near 0.
    assert!(first > 1.8, "starts near chance: {first}");
    assert!(last < 0.5, "learns to copy: {first} → {last}");
}
