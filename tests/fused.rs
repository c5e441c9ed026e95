//! The fused CPU ops (#32, `model::fused`) against Burn's own composition of the same maths on
//! the same backend: values and gradients (through autodiff, of Σ y·w with random weights w),
//! on shapes whose lengths are not multiples of any SIMD width, and inputs reaching the tails.

use burn::nn::LayerNormConfig;
use burn::prelude::*;
use burn::tensor::activation;
use tinytune::data::Rng;
use tinytune::model::backend;
use tinytune::model::fused;

fn device() -> Device {
    backend::cpu().autodiff()
}

/// A tensor of `shape` drawn from N(0, std²) with the seeded generator, tracked by autodiff.
fn normal<const D: usize>(shape: [usize; D], std: f64, seed: u64) -> Tensor<D> {
    let mut rng = Rng::new(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| (rng.normal() * std) as f32).collect();
    Tensor::<D>::from_data(TensorData::new(v, shape), &device()).require_grad()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// Largest |a − b| over the largest |b|: differences measured against the tensor's scale, as
/// a gradient check does (an element that cancels to near 0 differs by rounding alone).
fn worst(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max) / scale
}

/// `got` within `tol` of `want` against `want`'s largest magnitude, with NaNs where it has them.
fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    let w = worst(got, want);
    eprintln!("{what}: worst {w:.1e}");
    assert!(w <= tol, "{what}: worst relative difference {w:.2e} > {tol:.0e}");
    let nans = |v: &[f32]| v.iter().filter(|x| x.is_nan()).count();
    assert_eq!(nans(got), nans(want), "{what}: NaNs differ");
}

/// Σ y·w for fixed random weights w: its gradient sends w back through the op.
fn weighted<const D: usize>(y: Tensor<D>, seed: u64) -> Tensor<1> {
    let w = normal(y.dims(), 1.0, seed).detach();
    (y * w).sum()
}

#[test]
fn gelu_matches_burns_in_value_and_gradient() {
    // N(0, 3²) reaches both tails (|x| up to ~12), plus exact points.
    let x = normal([7, 13, 37], 3.0, 1);
    let extremes = Tensor::<1>::from_floats([0.0, -0.0, 1e-6, -1e-6, 20.0, -20.0, 9.0, -9.0], &device());
    let x = Tensor::cat(vec![x.reshape([7 * 13 * 37]), extremes], 0)
        .detach()
        .require_grad();
    let (yf, yb) = (fused::gelu(x.clone()), activation::gelu(x.clone()));
    assert_close("gelu", &values(yf.clone()), &values(yb.clone()), 2e-6);
    let gf = x.grad(&weighted(yf, 2).backward()).unwrap();
    let gb = x.grad(&weighted(yb, 2).backward()).unwrap();
    assert_close(
        "gelu'",
        &values(Tensor::<1>::from_inner(gf)),
        &values(Tensor::<1>::from_inner(gb)),
        2e-6,
    );
}

#[test]
fn causal_softmax_matches_the_masked_softmax_in_value_and_gradient() {
    let scale = 0.37;
    let x = normal([2, 3, 11, 11], 4.0, 3);
    let [b, h, t, _] = x.dims();
    let burns = |x: Tensor<4>| {
        let future = fused::future(b, h, t, &x.device());
        activation::softmax(x.mul_scalar(scale).mask_fill(future, f32::NEG_INFINITY), 3)
    };
    let (yf, yb) = (fused::causal_softmax(x.clone(), scale, None).0, burns(x.clone()));
    let got = values(yf.clone());
    assert_close("causal softmax", &got, &values(yb.clone()), 2e-6);
    // Exactly 0 above the diagonal, rows summing to 1.
    for (r, row) in got.chunks(t).enumerate() {
        let i = r % t;
        assert!(row[i + 1..].iter().all(|&p| p == 0.0), "row {r} looks ahead");
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6, "row {r}");
    }
    let gf = x.grad(&weighted(yf, 4).backward()).unwrap();
    let gb = x.grad(&weighted(yb, 4).backward()).unwrap();
    assert_close(
        "causal softmax'",
        &values(Tensor::<4>::from_inner(gf)),
        &values(Tensor::<4>::from_inner(gb)),
        1e-5,
    );
}

#[test]
fn the_largest_attended_logit_ignores_the_future() {
    let scale = 0.5;
    let x = normal([2, 2, 9, 9], 1.0, 5);
    // A huge score above the diagonal must not count.
    let spike = Tensor::<4>::zeros([2, 2, 9, 9], &device()).slice_assign(
        [0..1, 0..1, 0..1, 5..6],
        Tensor::<4>::full([1, 1, 1, 1], 1e6, &device()),
    );
    let x = x + spike;
    let got = values(fused::causal_softmax(x.clone(), scale, Some(1)).1.unwrap())[0];
    let future = fused::future(2, 2, 9, &x.device());
    let want = values(x.mul_scalar(scale).mask_fill(future, f32::NEG_INFINITY).max())[0];
    assert_eq!(got, want);
    assert!(got < 10.0);
}

#[test]
fn log_softmax_matches_burns_in_value_and_gradient() {
    let x = normal([37, 29], 5.0, 6);
    let (yf, yb) = (
        fused::log_softmax(x.clone()),
        activation::log_softmax(x.clone(), 1),
    );
    assert_close("log softmax", &values(yf.clone()), &values(yb.clone()), 2e-6);
    let gf = x.grad(&weighted(yf, 7).backward()).unwrap();
    let gb = x.grad(&weighted(yb, 7).backward()).unwrap();
    assert_close(
        "log softmax'",
        &values(Tensor::<2>::from_inner(gf)),
        &values(Tensor::<2>::from_inner(gb)),
        1e-5,
    );
}

/// LayerNorm in f64 over rows of `d`: (y, dL/dx, dL/dγ, dL/dβ) for upstream gradient `w`.
fn layer_norm_f64(x: &[f32], g: &[f32], b: &[f32], w: &[f32], d: usize) -> [Vec<f32>; 4] {
    let eps = fused::LAYER_NORM_EPS;
    let (mut y, mut dx) = (vec![0f32; x.len()], vec![0f32; x.len()]);
    let (mut dg, mut db) = (vec![0f64; d], vec![0f64; d]);
    for (r, xr) in x.chunks(d).enumerate() {
        let xr: Vec<f64> = xr.iter().map(|&v| v as f64).collect();
        let mean = xr.iter().sum::<f64>() / d as f64;
        let var = xr.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d as f64;
        let inv = 1.0 / (var + eps).sqrt();
        let h: Vec<f64> = xr.iter().map(|v| (v - mean) * inv).collect();
        let wr = &w[r * d..(r + 1) * d];
        let s: Vec<f64> = (0..d).map(|j| wr[j] as f64 * g[j] as f64).collect();
        let ms = s.iter().sum::<f64>() / d as f64;
        let msh = s.iter().zip(&h).map(|(a, b)| a * b).sum::<f64>() / d as f64;
        for j in 0..d {
            y[r * d + j] = (h[j] * g[j] as f64 + b[j] as f64) as f32;
            dx[r * d + j] = (inv * (s[j] - ms - h[j] * msh)) as f32;
            dg[j] += wr[j] as f64 * h[j];
            db[j] += wr[j] as f64;
        }
    }
    let f = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    [y, dx, f(dg), f(db)]
}

#[test]
fn layer_norm_matches_burns_and_f64_in_value_and_gradients() {
    let d = 45;
    let mut norm = LayerNormConfig::new(d)
        .with_epsilon(fused::LAYER_NORM_EPS)
        .init(&device());
    // A gain and a bias away from their initial 1 and 0, so their gradients are exercised.
    norm.gamma = burn::module::Param::from_tensor(normal([d], 1.0, 8));
    norm.beta = Some(burn::module::Param::from_tensor(normal([d], 1.0, 9)));
    let (gamma, beta) = (norm.gamma.val(), norm.beta.as_ref().unwrap().val());
    let w = values(normal([3, 17, d], 1.0, 11));
    let grad3 =
        |g: &burn::tensor::Gradients, t: &Tensor<3>| values(Tensor::<3>::from_inner(t.grad(g).unwrap()));
    let grad1 =
        |g: &burn::tensor::Gradients, t: &Tensor<1>| values(Tensor::<1>::from_inner(t.grad(g).unwrap()));
    // Centred rows, where Burn's composition is accurate too; then rows far from 0 with a small
    // spread (f32 holds their mean to ~10⁻⁵ of their spread; Burn's error there printed).
    for (offset, tol) in [(0.0, 1e-5), (30.0, 1e-4)] {
        let against_burn = offset == 0.0;
        let x = (normal([3, 17, d], 0.1, 10) + offset).detach().require_grad();
        let yf = fused::layer_norm(&norm, x.clone());
        let exact = layer_norm_f64(
            &values(x.clone()),
            &values(gamma.clone()),
            &values(beta.clone()),
            &w,
            d,
        );
        let wt = Tensor::<3>::from_data(TensorData::new(w.clone(), [3, 17, d]), &device());
        let gf = (yf.clone() * wt.clone()).sum().backward();
        let got = [values(yf), grad3(&gf, &x), grad1(&gf, &gamma), grad1(&gf, &beta)];
        for (i, what) in ["y", "dx", "dγ", "dβ"].into_iter().enumerate() {
            assert_close(
                &format!("layer norm {what} (offset {offset}) vs f64"),
                &got[i],
                &exact[i],
                tol,
            );
        }
        if !against_burn {
            eprintln!(
                "Burn's y (offset {offset}) vs f64: worst {:.1e}",
                worst(&values(norm.forward(x.clone())), &exact[0])
            );
        } else {
            let yb = norm.forward(x.clone());
            let gb = (yb.clone() * wt).sum().backward();
            let burns = [values(yb), grad3(&gb, &x), grad1(&gb, &gamma), grad1(&gb, &beta)];
            for (i, what) in ["y", "dx", "dγ", "dβ"].into_iter().enumerate() {
                assert_close(&format!("layer norm {what} vs Burn"), &got[i], &burns[i], 1e-5);
            }
        }
    }
}

#[test]
fn nan_inputs_stay_nan() {
    let x = Tensor::<2>::from_floats([[1.0, f32::NAN, 2.0], [0.5, 0.25, -1.0]], &device());
    let y = values(fused::log_softmax(x.clone()));
    assert!(y[..3].iter().all(|v| v.is_nan()), "{y:?}");
    assert!(y[3..].iter().all(|v| v.is_finite()), "{y:?}");
    assert!(values(fused::gelu(x)).iter().filter(|v| v.is_nan()).count() == 1);
}

#[test]
fn linear_matches_burns_in_value_and_gradients() {
    let (n, d_in, d_out) = (37, 19, 23);
    let x = normal([n, d_in], 1.0, 12);
    let w = normal([d_in, d_out], 0.3, 13);
    let b = normal([d_out], 1.0, 14);
    let wt = Tensor::<2>::from_data(
        TensorData::new(values(normal([n, d_out], 1.0, 15)), [n, d_out]),
        &device(),
    );
    let grad2 =
        |g: &burn::tensor::Gradients, t: &Tensor<2>| values(Tensor::<2>::from_inner(t.grad(g).unwrap()));
    for bias in [true, false] {
        let yf = fused::linear(x.clone(), w.clone(), bias.then(|| b.clone()));
        let mut yb = x.clone().matmul(w.clone());
        if bias {
            yb = yb + b.clone().unsqueeze::<2>();
        }
        assert_close("linear", &values(yf.clone()), &values(yb.clone()), 1e-6);
        let (gf, gb) = (
            (yf * wt.clone()).sum().backward(),
            (yb * wt.clone()).sum().backward(),
        );
        assert_close("linear dx", &grad2(&gf, &x), &grad2(&gb, &x), 1e-6);
        assert_close("linear dW", &grad2(&gf, &w), &grad2(&gb, &w), 1e-6);
        if bias {
            let db = |g: &burn::tensor::Gradients| values(Tensor::<1>::from_inner(b.grad(g).unwrap()));
            assert_close("linear db", &db(&gf), &db(&gb), 1e-6);
        }
    }
    // A frozen weight (LoRA's base): no gradient asked of it, the input's still right.
    let frozen = w.clone().detach();
    let gf = (fused::linear(x.clone(), frozen.clone(), None) * wt.clone())
        .sum()
        .backward();
    let gb = (x.clone().matmul(frozen) * wt).sum().backward();
    assert_close("linear dx, frozen W", &grad2(&gf, &x), &grad2(&gb, &x), 1e-6);
}
