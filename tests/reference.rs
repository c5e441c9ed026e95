//! tinytune against the reference libraries, through fixtures those libraries made themselves
//! (`scripts/fixtures.py`, run by hand with torch; the JSON in tests/fixtures/ names the versions):
//! - μP: every parameter's init std, learning rate and weight decay, and every layer's forward
//!   multipliers, as `mup` 1.0.0 (set_base_shapes, MuReadout, MuAdam/MuAdamW/MuSGD) gives them, in
//!   pre-training and in a full, LoRA or LoRA+ fine-tuning phase (peft's adapters and
//!   `create_loraplus_optimizer`);
//! - the coordinate check beside `mup`'s model trained by torch, within its seed spread;
//! - LoRA: peft's scaling, output and merged weight on given factors, and the law of A at init;
//! - minifloats: torch's float8 casts (and ml_dtypes' float4) on every value and every tie;
//! - NF4: bitsandbytes' table and its blockwise quantization of a weight.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::prelude::*;
use serde_json::Value;
use tinytune::knobs::lora;
use tinytune::knobs::lora::ScaleRule;
use tinytune::knobs::quant::format::{NF4, QFormat};
use tinytune::knobs::quant::{Clip, Granularity, QuantConfig};
use tinytune::link::url::parse_strict;
use tinytune::model::Family;
use tinytune::model::backend;
use tinytune::model::quant::{scalar, tensor};
use tinytune::train::MlpTrainer;
use tinytune::train::groups::param_rates;

mod fixture;

use fixture::{GivenAdapters, close, f, fixture, tinytune_coords};

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

/// A torch `[rows, cols]` matrix as rows.
fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(floats).collect()
}

/// Torch's `[out, in]` matrix in Burn's `[in, out]` layout, flattened row-major.
fn to_burn(rows: &[Vec<f64>]) -> (Vec<f32>, [usize; 2]) {
    let (out, inp) = (rows.len(), rows[0].len());
    let mut v = vec![0f32; out * inp];
    for (o, row) in rows.iter().enumerate() {
        for (i, x) in row.iter().enumerate() {
            v[i * out + o] = *x as f32;
        }
    }
    (v, [inp, out])
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

// ---------------------------------------------------------------------------------------------
// μP

#[test]
fn mup_tables_equal_the_mup_package() {
    let fx = fixture("mup_tables.json");
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    for case in cases {
        let link = case["link"].as_str().unwrap();
        let phase = case["phase"].as_str().unwrap();
        // Two steps, so a LoRA link's one pre-training step ends before the adaptation begins.
        let cfg = parse_strict(&format!("{link}&steps=1&asteps=1"))
            .unwrap()
            .experiment;
        let trainer = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
        let base = trainer.model().clone();
        let model = match phase {
            "pretrain" => base.clone(),
            _ => tinytune::model::lora::attach(base.clone(), &cfg.lora, cfg.seed).model,
        };
        let params = case["params"].as_object().unwrap();
        let rates = param_rates(&cfg, &model);
        let mut ours: Vec<&str> = rates.iter().map(|r| r.name.as_str()).collect();
        let mut theirs: Vec<&str> = params.keys().map(String::as_str).collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs, "{link}: the same parameters");
        for r in &rates {
            let p = &params[&r.name];
            if p["trains"].as_bool() == Some(true) {
                assert!(
                    close(r.lr, f(&p["lr"]), 1e-12) && close(r.wd, f(&p["wd"]), 1e-12),
                    "{link} ({phase}) {}: lr {} wd {}, mup {} {}",
                    r.name,
                    r.lr,
                    r.wd,
                    p["lr"],
                    p["wd"]
                );
            }
        }
        // Init: the table, and the weights the model really drew.
        let specs = base.param_specs();
        let roles: Vec<_> = base.layers().iter().map(|l| l.role).collect();
        for ((name, layer), role) in base.linears().into_iter().zip(roles) {
            let [fan_in, _] = layer.weight.val().dims();
            for (part, suffix) in [
                (tinytune::knobs::mup::Part::Weight, "weight"),
                (tinytune::knobs::mup::Part::Bias, "bias"),
            ] {
                let p = &params[&format!("{name}.{suffix}")];
                let std = cfg.mup.init_std(role, part, fan_in, cfg.width);
                let mult = cfg.mup.init_mult(role, part, cfg.width);
                assert!(
                    // torch's tensors are f32: the factor it applied is √m to f32 precision.
                    close(std, f(&p["init_std"]), 1e-6) && close(mult, f(&p["init_mult"]), 1e-6),
                    "{link} {name}.{suffix}: init std {std} × {mult}, mup {} × {}",
                    p["init_std"],
                    p["init_mult"]
                );
            }
            let w = values(layer.weight.val());
            let drawn = (w.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
            let want = f(&params[&format!("{name}.weight")]["init_std"]);
            assert!(
                (want == 0.0 && drawn == 0.0) || close(drawn, want, 0.1),
                "{link} {name}: drew std {drawn}, table {want}"
            );
        }
        assert_eq!(specs.len(), 2 * base.linears().len());
        // Forward multipliers: MuReadout scales the readout's input, α_in the input layer's output.
        let layers = &case["layers"];
        assert!(
            close(
                model.readout_input_mult,
                f(&layers["readout"]["input_mult"]),
                1e-12
            ) && close(model.input_mult, f(&layers["input"]["output_mult"]), 1e-12),
            "{link}: readout input × {}, input output × {}",
            model.readout_input_mult,
            model.input_mult
        );
        for hidden in ["hidden.1", "hidden.2"] {
            assert_eq!(f(&layers[hidden]["input_mult"]), 1.0);
            assert_eq!(f(&layers[hidden]["output_mult"]), 1.0);
        }
    }
}

#[test]
fn coordinate_check_agrees_with_mup_trained_by_torch() {
    let fx = fixture("mup_coord.json");
    let seeds = fx["seeds"].as_u64().unwrap() as usize;
    let runs = fx["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 12);
    for run in runs {
        let link = run["link"].as_str().unwrap();
        let (ours, our_std) = tinytune_coords(link, seeds);
        let (theirs, their_std) = (matrix(&run["mean"]), matrix(&run["std"]));
        // SP at width 1024 blows up after two Adam steps (the readout's outputs are ≈ 23 after
        // one): tinytune stops a diverged run, torch goes on, so only those steps compare.
        let reached = if link.contains("w=1024") && !link.contains("param=mup") {
            2
        } else {
            5
        };
        assert!(
            ours.len() >= reached && ours[0].len() == 4,
            "{link}: {} steps × 4 layers",
            ours.len()
        );
        for s in 0..ours.len() {
            for l in 0..4 {
                // Both sides are means over `seeds` independent draws of data split, init and
                // batch order, so their difference has standard error √(σ₁² + σ₂²)/√n. The band is
                // four of those, plus 5 % for what 8 seeds cannot pin down.
                let se = ((our_std[s][l].powi(2) + their_std[s][l].powi(2)) / seeds as f64).sqrt();
                let band = 4.0 * se + 0.05 * theirs[s][l];
                assert!(
                    (ours[s][l] - theirs[s][l]).abs() <= band,
                    "{link}: step {} layer {l}: tinytune {:.4} vs mup {:.4} (band ±{band:.4})",
                    s + 1,
                    ours[s][l],
                    theirs[s][l]
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// LoRA

#[test]
fn lora_matches_peft_on_given_factors() {
    let fx = fixture("lora.json");
    let device = backend::cpu();
    let tensor2 =
        |(v, shape): (Vec<f32>, [usize; 2])| Tensor::<2>::from_data(TensorData::new(v, shape), &device);
    for case in fx["cases"].as_array().unwrap() {
        let (r, alpha) = (case["r"].as_u64().unwrap() as usize, f(&case["lora_alpha"]));
        let rule = if case["use_rslora"].as_bool().unwrap() {
            ScaleRule::RankStabilized
        } else {
            ScaleRule::Standard
        };
        let gamma = lora::gamma(alpha, r, rule);
        assert!(
            close(gamma, f(&case["scaling"]), 1e-12),
            "γ {gamma} vs peft {}",
            case["scaling"]
        );
        // peft: lora_A [r, in], lora_B [out, r]; tinytune: A [in, r], B [r, out].
        let linear = Linear {
            weight: Param::from_tensor(tensor2(to_burn(&matrix(&case["w0"])))),
            bias: Some(Param::from_tensor(Tensor::<1>::from_data(
                TensorData::new(
                    floats(&case["bias"]).iter().map(|x| *x as f32).collect(),
                    [floats(&case["bias"]).len()],
                ),
                &device,
            ))),
        };
        let factors = (
            tensor2(to_burn(&matrix(&case["lora_a"]))),
            tensor2(to_burn(&matrix(&case["lora_b"]))),
        );
        let by_id = [(linear.weight.id, factors)].into_iter().collect();
        let adapted = linear.apply_reparameterization(GivenAdapters { by_id, scale: gamma });
        let x_rows = matrix(&case["x"]);
        let (n, d_in) = (x_rows.len(), x_rows[0].len());
        let x: Vec<f32> = x_rows.iter().flatten().map(|v| *v as f32).collect();
        let y = values(adapted.forward(Tensor::<2>::from_data(TensorData::new(x, [n, d_in]), &device)));
        let want: Vec<f64> = matrix(&case["y"]).into_iter().flatten().collect();
        for (a, b) in y.iter().zip(&want) {
            assert!(
                (f64::from(*a) - b).abs() < 1e-4 * (1.0 + b.abs()),
                "output {a} vs peft {b}"
            );
        }
        let merged = values(adapted.weight.val());
        let (want, _) = to_burn(&matrix(&case["merged_weight"]));
        for (a, b) in merged.iter().zip(&want) {
            assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "merged {a} vs peft {b}");
        }
    }
}

/// The drawn A of layer `index` of a digits MLP of width `w` with rank-`r` adapters.
fn drawn_a(w: usize, r: usize, index: usize, ainit: &str) -> (Vec<f64>, Vec<f32>) {
    let cfg = parse_strict(&format!("task=digits&w={w}&d=2&steps=1&r={r}&ainit={ainit}"))
        .unwrap()
        .experiment;
    let t = MlpTrainer::new(&cfg, &backend::cpu()).unwrap();
    let adapted = tinytune::model::lora::attach(t.model().clone(), &cfg.lora, cfg.seed).model;
    let (_, layer) = &adapted.linears()[index];
    let ad = layer.weight.adapter().expect("an adapter");
    let a = values(ad.a.val()).iter().map(|x| f64::from(*x)).collect();
    (a, values(ad.b.val()))
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    // numpy's default (linear interpolation between closest ranks).
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[test]
fn lora_a_is_drawn_as_peft_draws_it() {
    let fx = fixture("lora.json");
    for init in fx["inits"].as_array().unwrap() {
        let (d_in, r) = (
            init["d_in"].as_u64().unwrap() as usize,
            init["r"].as_u64().unwrap() as usize,
        );
        let ainit = match init["init_lora_weights"].as_str().unwrap() {
            "kaiming" => "peft",
            "gaussian" => "inv",
            other => panic!("unknown init {other}"),
        };
        // A layer with fan-in d_in: the input layer (64 pixels) or hidden.1 (width 256).
        let (w, index) = if d_in == 64 { (64, 0) } else { (d_in, 1) };
        let (mut a, b) = drawn_a(w, r, index, ainit);
        assert_eq!(a.len(), init["count"].as_u64().unwrap() as usize);
        assert!(b.iter().all(|x| *x == 0.0) && init["b_all_zero"].as_bool().unwrap());
        let n = a.len() as f64;
        let mean = a.iter().sum::<f64>() / n;
        let std = (a.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let their_std = f(&init["std"]);
        // The law: U(±1/√in) (kaiming_uniform with a = √5) or N(0, 1/r²); both samples must fit
        // it, and each other, within five standard errors of n draws.
        let uniform = ainit == "peft";
        let sigma = if uniform {
            1.0 / (3.0 * d_in as f64).sqrt()
        } else {
            1.0 / r as f64
        };
        let kurtosis = if uniform { 1.8 } else { 3.0 };
        let se_std = sigma * ((kurtosis - 1.0) / (4.0 * n)).sqrt();
        for (who, s) in [("tinytune", std), ("peft", their_std)] {
            assert!(
                (s - sigma).abs() < 5.0 * se_std,
                "{ainit} in={d_in} r={r}: {who}'s std {s}, law {sigma}"
            );
        }
        assert!(
            (std - their_std).abs() < 5.0 * se_std * 2f64.sqrt(),
            "std {std} vs peft {their_std}"
        );
        assert!(mean.abs() < 5.0 * sigma / n.sqrt(), "mean {mean}");
        a.sort_by(f64::total_cmp);
        for (q, v) in init["quantiles"].as_object().unwrap() {
            let (q, theirs) = (q.parse::<f64>().unwrap(), f(v));
            let ours = quantile(&a, q);
            // A sample quantile's standard error: √(q(1−q)/n) over the density there.
            let density = if uniform {
                1.0 / (2.0 * 3f64.sqrt() * sigma)
            } else {
                (-0.5 * (theirs / sigma).powi(2)).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt())
            };
            let se = (q * (1.0 - q) / n).sqrt() / density;
            assert!(
                (ours - theirs).abs() < 5.0 * se * 2f64.sqrt(),
                "{ainit} in={d_in}: quantile {q} {ours} vs peft {theirs} (se {se})"
            );
        }
        if ainit == "peft" {
            // Kaiming-uniform: a hard bound at 1/√in that both samples come close to.
            let bound = 1.0 / (d_in as f64).sqrt();
            let max = a.iter().fold(0f64, |m, x| m.max(x.abs()));
            assert!(
                max <= bound && max > 0.99 * bound,
                "max |A| {max} vs 1/√in {bound}"
            );
            assert!(f(&init["max_abs"]) <= bound * (1.0 + 1e-6));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Minifloats and NF4

fn qcfg(fmt: QFormat, gran: Granularity, group: usize) -> QuantConfig {
    QuantConfig {
        bits: fmt.width(4),
        fmt,
        gran,
        group,
        clip: Clip::Max,
        ..QuantConfig::default()
    }
}

#[test]
fn minifloats_round_as_torch_casts_them() {
    let fx = fixture("minifloat.json");
    let device = backend::cpu();
    for (name, fmt) in [
        ("e4m3", QFormat::E4m3),
        ("e5m2", QFormat::E5m2),
        ("e2m1", QFormat::E2m1),
    ] {
        let case = &fx["formats"][name];
        let x: Vec<f32> = floats(&case["x"]).iter().map(|v| *v as f32).collect();
        let y: Vec<f32> = floats(&case["y"]).iter().map(|v| *v as f32).collect();
        // The grid holds ±max, so a per-tensor absmax scale is exactly 1: this is the format's
        // own rounding, every exact tie included.
        assert_eq!(f(&case["max"]) as f32, fmt.minifloat().unwrap().max);
        let n = x.len();
        let cfg = qcfg(fmt, Granularity::Tensor, 32);
        let reference = scalar::quantize(&x, 1, n, &cfg);
        let on_device = values(tensor::fake_quant(
            Tensor::<2>::from_data(TensorData::new(x.clone(), [1, n]), &device),
            &cfg,
        ));
        let mut wrong = Vec::new();
        for i in 0..n {
            if reference[i] != y[i] || on_device[i] != y[i] {
                wrong.push(format!(
                    "{} → {} / {} (torch {})",
                    x[i], reference[i], on_device[i], y[i]
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{name}: {} of {n} differ: {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(8)]
        );
    }
}

#[test]
fn nf4_matches_bitsandbytes() {
    let fx = fixture("nf4.json");
    let table: Vec<f32> = floats(&fx["table"]).iter().map(|v| *v as f32).collect();
    assert_eq!(table, NF4.to_vec(), "bitsandbytes' NF4 table");
    let g = fx["blocksize"].as_u64().unwrap() as usize;
    let (w, [d_in, d_out]) = to_burn(&matrix(&fx["w"]));
    let (want, _) = to_burn(&matrix(&fx["dequantized"]));
    // bitsandbytes' blocks are 64 consecutive inputs of one output row: tinytune's groups.
    let cfg = qcfg(QFormat::Nf4, Granularity::Group, g);
    let reference = scalar::quantize(&w, d_in, d_out, &cfg);
    let on_device = values(tensor::fake_quant(
        Tensor::<2>::from_data(TensorData::new(w.clone(), [d_in, d_out]), &backend::cpu()),
        &cfg,
    ));
    for i in 0..w.len() {
        for (ours, path) in [(reference[i], "reference"), (on_device[i], "tensor")] {
            assert!(
                (ours - want[i]).abs() <= 1e-6 * want[i].abs().max(1e-6),
                "{path}: {} → {ours}, bitsandbytes {}",
                w[i],
                want[i]
            );
        }
    }
}

#[test]
fn per_channel_scales_follow_the_output_channels() {
    // Rows (inputs) and columns (output channels) both span decades, so scales taken along the
    // wrong axis give other values. Expected: each output channel j of the [in, out] weight on its
    // own grid s_j = max_i |w_ij| / 7 (INT4).
    let (d_in, d_out) = (6, 5);
    let w: Vec<f32> = (0..d_in * d_out)
        .map(|k| {
            let (i, j) = (k / d_out, k % d_out);
            let sign = if (i + j) % 3 == 0 { -1.0 } else { 1.0 };
            sign * (1.0 + 0.37 * ((k * 7919) % 13) as f32) * 3f32.powi(i as i32) / 2f32.powi(j as i32 * 2)
        })
        .collect();
    let cfg = QuantConfig {
        bits: 4,
        gran: Granularity::Channel,
        ..QuantConfig::default()
    };
    let mut want = vec![0f32; w.len()];
    for j in 0..d_out {
        let s = (0..d_in).map(|i| w[i * d_out + j].abs()).fold(0f32, f32::max) / 7.0;
        for i in 0..d_in {
            want[i * d_out + j] = (w[i * d_out + j] / s).round_ties_even().clamp(-7.0, 7.0) * s;
        }
    }
    let reference = scalar::quantize(&w, d_in, d_out, &cfg);
    let on_device = values(tensor::fake_quant(
        Tensor::<2>::from_data(TensorData::new(w.clone(), [d_in, d_out]), &backend::cpu()),
        &cfg,
    ));
    for k in 0..w.len() {
        assert!(
            (reference[k] - want[k]).abs() <= 1e-6 * want[k].abs()
                && (on_device[k] - want[k]).abs() <= 1e-5 * want[k].abs().max(1e-6),
            "entry {k}: {} → {} / {}, per output channel {}",
            w[k],
            reference[k],
            on_device[k],
            want[k]
        );
    }
    // And it is not the per-input answer: the scales really differ along the two axes.
    let by_rows: Vec<f32> = (0..w.len())
        .map(|k| {
            let i = k / d_out;
            let s = (0..d_out).map(|j| w[i * d_out + j].abs()).fold(0f32, f32::max) / 7.0;
            (w[k] / s).round_ties_even().clamp(-7.0, 7.0) * s
        })
        .collect();
    assert!(
        by_rows
            .iter()
            .zip(&want)
            .any(|(a, b)| (a - b).abs() > 1e-3 * b.abs())
    );
}
