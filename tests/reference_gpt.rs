//! The transformer against the reference libraries, through fixtures they made themselves
//! (`scripts/fixtures_gpt.py`, run by hand with torch, `mup` 1.0.0 and peft; the JSON names the
//! versions; the torch model is `bench/tinytune_torch.py`, every tensor under tinytune's name):
//! - μP: every parameter's init, learning rate and weight decay as `set_base_shapes` and
//!   MuAdam / MuAdamW / MuSGD give them, untied (MuReadout) and tied (MuSharedReadout), widths
//!   32–256, and the attention scale and MuReadout's factor;
//! - the forward pass on given weights: attention scale, causal mask, qk-norm, RoPE's pairing,
//!   RMSNorm, residual β, the tied readout and μP's multipliers;
//! - `mup`'s coordinate check of the GPT trained by torch on tinytune's own batches, within the
//!   seed spread;
//! - peft's `target_modules` selection on the GPT, and the output and merged weights of given
//!   adapters.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use serde_json::Value;
use tinytune::data::Rng;
use tinytune::knobs::ExperimentConfig;
use tinytune::knobs::mup::Role;
use tinytune::link::url::parse_strict;
use tinytune::model::gpt::{Gpt, attention_scale};
use tinytune::model::{Family, backend};
use tinytune::train::groups::rates_of;

mod fixture;

use fixture::{GivenAdapters, close, f, fixture, tinytune_coords};

/// A nested JSON array's numbers in row-major order, and its shape.
fn flat(v: &Value) -> (Vec<f64>, Vec<usize>) {
    match v.as_array() {
        None => (vec![f(v)], Vec::new()),
        Some(items) => {
            let mut out = Vec::new();
            let mut inner = Vec::new();
            for item in items {
                let (vals, shape) = flat(item);
                out.extend(vals);
                inner = shape;
            }
            let mut shape = vec![items.len()];
            shape.extend(inner);
            (out, shape)
        }
    }
}

fn config(link: &str) -> ExperimentConfig {
    parse_strict(link)
        .unwrap_or_else(|e| panic!("{link}: {e:?}"))
        .experiment
}

/// The model a run of `cfg` starts from (before any training): its draws, its β.
fn model(cfg: &ExperimentConfig) -> Gpt {
    Gpt::new(
        &cfg.gpt,
        &cfg.mup,
        cfg.classes(),
        cfg.width,
        cfg.depth,
        &mut Rng::stream(cfg.seed, tinytune::data::streams::INIT),
        &backend::cpu(),
    )
    .with_branch(cfg.residual.branch_mult(cfg.depth).unwrap_or(1.0))
}

/// Every float tensor of a model by id, as f64.
struct Values(HashMap<ParamId, Vec<f64>>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        let v = p.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap(); // sync-ok: CPU
        self.0.insert(p.id, v.into_iter().map(f64::from).collect());
    }
}

fn values_by_name(m: &Gpt) -> HashMap<String, Vec<f64>> {
    let mut v = Values(HashMap::new());
    m.visit(&mut v);
    m.param_specs()
        .into_iter()
        .map(|s| (s.name, v.0.remove(&s.id).unwrap()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// μP tables

#[test]
fn the_transformers_mup_tables_equal_the_mup_package() {
    let fx = fixture("gpt_mup_tables.json");
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(
        cases.len(),
        6 * 4 * 2 + 3 * 4,
        "optimizers × widths × tied (+ zero readouts)"
    );
    for case in cases {
        let link = case["link"].as_str().unwrap();
        let cfg = config(link);
        let m = model(&cfg);
        let params = case["params"].as_object().unwrap();
        let rates = rates_of(&cfg, m.param_specs());
        let mut ours: Vec<&str> = rates.iter().map(|r| r.name.as_str()).collect();
        let mut theirs: Vec<&str> = params.keys().map(String::as_str).collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs, "{link}: the same parameters");
        for r in &rates {
            let p = &params[&r.name];
            assert!(
                close(r.lr, f(&p["lr"]), 1e-12) && close(r.wd, f(&p["wd"]), 1e-12),
                "{link} {}: lr {} wd {}, mup {} {}",
                r.name,
                r.lr,
                r.wd,
                p["lr"],
                p["wd"]
            );
        }
        // Init: what tinytune drew against the std `set_base_shapes` leaves (zero queries and
        // readout exactly zero; norms and biases their constants).
        for (name, drawn) in values_by_name(&m) {
            let p = &params[&name];
            if let Some(v) = p.get("init_value") {
                assert!(drawn.iter().all(|x| *x == f(v)), "{link} {name}: not all {v}");
                continue;
            }
            let want = f(&p["init_std"]);
            let rms = (drawn.iter().map(|x| x * x).sum::<f64>() / drawn.len() as f64).sqrt();
            // The RMS of n normal draws has relative sd ≈ 1/√(2n): four of those.
            let band = 4.0 / (2.0 * drawn.len() as f64).sqrt();
            assert!(
                (want == 0.0 && rms == 0.0) || (want > 0.0 && close(rms, want, band)),
                "{link} {name}: drew rms {rms:.5}, mup's std {want:.5} (±{:.1} %)",
                band * 100.0
            );
            // The fixture's own draw agrees with its table (the check checks itself).
            let theirs = f(&p["drawn_rms"]);
            assert!(
                (want == 0.0 && theirs == 0.0) || close(theirs, want, band),
                "{link} {name}: torch drew {theirs}"
            );
        }
        let scale = attention_scale(&cfg.gpt, &cfg.mup, cfg.width);
        assert!(
            close(scale, f(&case["attention_scale"]), 1e-12),
            "{link}: attention × {scale}, mup's example {}",
            case["attention_scale"]
        );
        let readout = cfg.mup.input_mult(Role::Readout, cfg.width);
        assert!(
            close(readout, f(&case["readout_input_mult"]), 1e-12),
            "{link}: readout input × {readout}, MuReadout {}",
            case["readout_input_mult"]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The forward pass on given weights

/// Puts given values (torch's layout, by tinytune's name) into a model's tensors: each tensor's
/// values, torch's shape, and whether it is a linear layer's weight (torch keeps those as
/// [out, in], Burn as [in, out]; embeddings and vectors have one layout).
struct Given {
    by_id: HashMap<ParamId, (Vec<f64>, Vec<usize>, bool)>,
}

impl Given {
    fn of(m: &Gpt, weights: &Value) -> Self {
        let by_id = m
            .param_specs()
            .into_iter()
            .map(|s| {
                let v = weights
                    .get(&s.name)
                    .unwrap_or_else(|| panic!("no weights for {}", s.name));
                let (vals, shape) = flat(v);
                let linear = s.name.ends_with(".weight") && !s.name.contains("embed");
                (s.id, (vals, shape, linear))
            })
            .collect();
        Self { by_id }
    }
}

impl ModuleMapper for Given {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some((v, shape, linear)) = self.by_id.get(&param.id) else {
            return param;
        };
        param.map(|t| {
            let dims = t.dims();
            let vals: Vec<f32> = v.iter().map(|x| *x as f32).collect();
            let given = Tensor::<1>::from_data(TensorData::new(vals, [v.len()]), &t.device());
            if *linear {
                let m: Tensor<2> = given.reshape([shape[0], shape[1]]).transpose();
                return m.reshape(dims);
            }
            given.reshape(dims)
        })
    }
}

fn tokens(v: &Value) -> Tensor<2, Int> {
    let (t, shape) = flat(v);
    let ints: Vec<i64> = t.iter().map(|x| *x as i64).collect();
    Tensor::<1, Int>::from_data(TensorData::new(ints, [t.len()]), &backend::cpu())
        .reshape([shape[0], shape[1]])
}

fn logits_of(m: &Gpt, toks: &Value) -> Vec<f64> {
    let y = m.forward(tokens(toks), None);
    let v = y.into_data().convert::<f32>().try_to_vec::<f32>().unwrap(); // sync-ok: CPU
    v.into_iter().map(f64::from).collect()
}

#[test]
fn the_transformers_forward_equals_torch_on_given_weights() {
    let fx = fixture("gpt_forward.json");
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let link = case["link"].as_str().unwrap();
        let cfg = config(link);
        let base = model(&cfg);
        let mut given = Given::of(&base, &case["weights"]);
        let m = base.map(&mut given);
        let scale = attention_scale(&cfg.gpt, &cfg.mup, cfg.width);
        assert!(
            close(scale, f(&case["attention_scale"]), 1e-12),
            "{link}: scale {scale}"
        );
        let ours = logits_of(&m, &case["tokens"]);
        let (theirs, shape) = flat(&case["logits"]);
        assert_eq!(shape, vec![2, 8, 80], "{link}");
        let worst = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-4,
            "{link}: logits differ from torch's by {worst:.2e} (relative)"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Coordinate check

/// Seeds tinytune's side averages: half the fixture's 16, for time (every char-LM run scores its
/// 16,384 validation characters twice); the band below counts each side's own n.
const OUR_SEEDS: usize = 8;

/// tinytune's check of every `param` run of the fixture against torch's.
fn coordinate_check_agrees(param: &str) {
    let fx = fixture("gpt_coord.json");
    let seeds = fx["seeds"].as_u64().unwrap() as usize;
    assert!(seeds >= 16);
    let names: Vec<&str> = fx["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let runs: Vec<&Value> = fx["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["param"] == param)
        .collect();
    assert_eq!(runs.len(), 4, "widths 32–256");
    for run in runs {
        let link = run["link"].as_str().unwrap();
        assert_eq!(config(link).coord_names(), names, "{link}: the same coordinates");
        let (ours, our_std) = tinytune_coords(link, OUR_SEEDS);
        let (theirs, _) = flat(&run["mean"]);
        let (their_std, shape) = flat(&run["std"]);
        let layers = shape[1];
        assert_eq!(ours.len(), shape[0], "{link}: steps");
        for s in 0..ours.len() {
            for l in 0..layers {
                let (t, ts) = (theirs[s * layers + l], their_std[s * layers + l]);
                // Both are means over independent inits on the very same batches, so their
                // difference has standard error √(σ₁²/n₁ + σ₂²/n₂): the band is four of those,
                // plus 5 % for what the seeds cannot pin down.
                let se = (our_std[s][l].powi(2) / OUR_SEEDS as f64 + ts.powi(2) / seeds as f64).sqrt();
                let band = 4.0 * se + 0.05 * t;
                assert!(
                    (ours[s][l] - t).abs() <= band,
                    "{link}: step {} {}: tinytune {:.4} vs mup {t:.4} (band ±{band:.4})",
                    s + 1,
                    names[l],
                    ours[s][l]
                );
            }
        }
    }
}

#[test]
fn the_transformers_coordinate_check_under_mup_agrees_with_mup_trained_by_torch() {
    coordinate_check_agrees("mup");
}

#[test]
fn the_transformers_coordinate_check_under_sp_agrees_with_torch() {
    coordinate_check_agrees("sp");
}

// ---------------------------------------------------------------------------------------------
// peft

/// torch's [rows, cols] as Burn's [cols, rows].
fn transposed(v: &Value) -> Tensor<2> {
    let (vals, shape) = flat(v);
    let vals: Vec<f32> = vals.iter().map(|x| *x as f32).collect();
    Tensor::<2>::from_data(TensorData::new(vals, [shape[0], shape[1]]), &backend::cpu()).transpose()
}

#[test]
fn peft_selects_the_same_layers_and_merges_the_same_weights_on_the_transformer() {
    let fx = fixture("gpt_peft.json");
    let link = "task=text&w=16&d=2&heads=2&ctx=8&r=2&alpha=4";
    for case in fx["cases"].as_array().unwrap() {
        let target = match &case["target"] {
            Value::String(s) => s.clone(),
            v => v
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join(","),
        };
        let cfg = config(&format!("{link}&target={target}"));
        let theirs: Vec<String> = case["adapted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let mut ours = cfg.adapted_layer_names();
        ours.sort();
        assert_eq!(ours, theirs, "target={target}: peft adapts {theirs:?}");
        let Some(factors) = case.get("factors") else {
            continue;
        };
        let base = model(&cfg);
        let mut given = Given::of(&base, &case["weights"]);
        let base = base.map(&mut given);
        let ids: HashMap<String, ParamId> = base
            .linears()
            .into_iter()
            .map(|(n, l)| (n, l.weight.id))
            .collect();
        let by_id = theirs
            .iter()
            .map(|name| {
                // peft: lora_A [r, in], lora_B [out, r]; Burn: A [in, r], B [r, out].
                let a = transposed(&factors[&format!("{name}.lora_a")]);
                let b = transposed(&factors[&format!("{name}.lora_b")]);
                (ids[name], (a, b))
            })
            .collect();
        let scale = f(&case["scaling"]);
        let adapted = base.apply_reparameterization(GivenAdapters { by_id, scale });
        let ours = logits_of(&adapted, &case["tokens"]);
        let (want, _) = flat(&case["logits"]);
        let worst = ours
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-4,
            "target={target}: logits differ from peft's by {worst:.2e}"
        );
        let merged = adapted.materialize();
        let weights: HashMap<String, Tensor<2>> = merged
            .linears()
            .into_iter()
            .map(|(n, l)| (n, l.weight.val()))
            .collect();
        for (name, w) in case["merged"].as_object().unwrap() {
            let want = transposed(w)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap(); // sync-ok: CPU
            let got = weights[name]
                .clone()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap(); // sync-ok: CPU
            for (a, b) in got.iter().zip(&want) {
                assert!(
                    (a - b).abs() < 1e-4 * (1.0 + b.abs()),
                    "{name}: merged {a} vs peft {b}"
                );
            }
        }
    }
}
