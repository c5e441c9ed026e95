//! LayerNorm on CubeCL (#32): one kernel forward, two backward. Burn's composition is about
//! eighteen launches per norm under autodiff (means, variance, the normalised product, and a
//! dozen element-wise passes and reductions backward); a transformer step has five norms
//! (measured on lavapipe: these kernels took a reference step from 338 launches to 262).
//!
//! A thread owns a row (forward, and dx backward) or a column (dγ and dβ): rows are short
//! (d_model), so one thread walks one in registers and global memory is read once per pass.

use burn_cubecl::kernel::{into_contiguous, untile};
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::{f32_type, launch_grid, scalar_like};

/// y = (x − μ)·r·γ + β per row, with μ and r = 1/√(σ² + ε) kept for the backward.
#[cube(launch)]
fn forward_kernel<F: Float>(
    x: &Tensor<F>,
    gamma: &Tensor<F>,
    beta: &Tensor<F>,
    y: &mut Tensor<F>,
    mean: &mut Tensor<F>,
    rstd: &mut Tensor<F>,
    eps: f32,
    #[define(F)] _dtype: ElemType,
) {
    let row = ABSOLUTE_POS;
    if row >= mean.len() {
        terminate!();
    }
    let d = x.shape(x.rank() - 1);
    let base = row * d;
    let at = param_row(row, mean.len(), gamma.len(), d);
    let n = F::cast_from(d as u32);
    let mut sum = F::new(0.0);
    for c in 0..d {
        sum += x[base + c];
    }
    let mu = sum / n;
    let mut var = F::new(0.0);
    for c in 0..d {
        let e = x[base + c] - mu;
        var += e * e;
    }
    let r = F::new(1.0) / (var / n + F::cast_from(eps)).sqrt();
    for c in 0..d {
        y[base + c] = (x[base + c] - mu) * r * gamma[at + c] + beta[at + c];
    }
    mean[row] = mu;
    rstd[row] = r;
}

/// dx = r·(g − mean(g) − x̂·mean(g·x̂)) per row, with g = dy·γ and x̂ = (x − μ)·r; with
/// `accumulate`, added to what dx holds (x's gradient from its other users, the residual path).
#[cube(launch)]
fn dx_kernel<F: Float>(
    x: &Tensor<F>,
    gamma: &Tensor<F>,
    mean: &Tensor<F>,
    rstd: &Tensor<F>,
    dy: &Tensor<F>,
    dx: &mut Tensor<F>,
    #[comptime] accumulate: bool,
    #[define(F)] _dtype: ElemType,
) {
    let row = ABSOLUTE_POS;
    if row >= mean.len() {
        terminate!();
    }
    let d = x.shape(x.rank() - 1);
    let base = row * d;
    let at = param_row(row, mean.len(), gamma.len(), d);
    let (mu, r) = (mean[row], rstd[row]);
    let mut sum_g = F::new(0.0);
    let mut sum_gx = F::new(0.0);
    for c in 0..d {
        let g = dy[base + c] * gamma[at + c];
        sum_g += g;
        sum_gx += g * (x[base + c] - mu) * r;
    }
    let n = F::cast_from(d as u32);
    let (a, b) = (sum_g / n, sum_gx / n);
    for c in 0..d {
        let g = dy[base + c] * gamma[at + c];
        let grad = r * (g - a - (x[base + c] - mu) * r * b);
        if accumulate {
            let before = dx[base + c];
            dx[base + c] = before + grad;
        } else {
            dx[base + c] = grad;
        }
    }
}

/// dγ_c = Σ_rows dy·x̂ and dβ_c = Σ_rows dy, a thread per column (per run's column, the run's
/// rows summed, where γ and β are a stack's, see [`param_row`]).
#[cube(launch)]
fn dparams_kernel<F: Float>(
    x: &Tensor<F>,
    mean: &Tensor<F>,
    rstd: &Tensor<F>,
    dy: &Tensor<F>,
    dgamma: &mut Tensor<F>,
    dbeta: &mut Tensor<F>,
    #[define(F)] _dtype: ElemType,
) {
    let at = ABSOLUTE_POS;
    if at >= dgamma.len() {
        terminate!();
    }
    let d = x.shape(x.rank() - 1);
    let (run, c) = (at / d, at % d);
    let per_run = mean.len() / (dgamma.len() / d);
    let mut sum_g = F::new(0.0);
    let mut sum_b = F::new(0.0);
    for k in 0..per_run {
        let row = run * per_run + k;
        let i = row * d + c;
        let g = dy[i];
        sum_b += g;
        sum_g += g * (x[i] - mean[row]) * rstd[row];
    }
    dgamma[at] = sum_g;
    dbeta[at] = sum_b;
}

/// Where row `row`'s gain and bias start in γ and β of `params` values: 0 for one model's
/// ([d]); for a stack's ([K, 1, d], `model::gpt::stacked`), run k's d values, the `rows` rows
/// being the K runs' in turn.
#[cube]
fn param_row(row: usize, rows: usize, params: usize, d: usize) -> usize {
    let runs = params / d;
    (row / (rows / runs)) * d
}

/// x's last axis: the width a norm normalises.
fn last(x: &CubeTensor) -> usize {
    let shape = x.meta.shape();
    shape[shape.num_dims() - 1]
}

/// The rows of x [..., d] as one contiguous buffer (a no-op for the residual stream).
fn rows(x: CubeTensor) -> CubeTensor {
    into_contiguous(untile(x))
}

/// (y, μ, r): y like x [..., d]; μ and r [rows].
pub(super) fn forward(
    x: CubeTensor,
    gamma: CubeTensor,
    beta: CubeTensor,
    eps: f32,
) -> (CubeTensor, CubeTensor, CubeTensor) {
    let (x, gamma, beta) = (rows(x), rows(gamma), rows(beta));
    let d = last(&x);
    let n = x.meta.num_elements() / d;
    let y = scalar_like(&x, x.meta.shape().clone());
    let mean = scalar_like(&x, [n].into());
    let rstd = scalar_like(&x, [n].into());
    let (count, dim) = launch_grid(&x, n);
    forward_kernel::launch(
        &x.client.clone(),
        count,
        dim,
        x.into_tensor_arg(),
        gamma.into_tensor_arg(),
        beta.into_tensor_arg(),
        y.clone().into_tensor_arg(),
        mean.clone().into_tensor_arg(),
        rstd.clone().into_tensor_arg(),
        eps,
        f32_type(),
    );
    (y, mean, rstd)
}

/// (dx like x, dγ and dβ like γ) from the forward's x, γ, μ, r and dL/dy; with `into`, dx is
/// added to it (in place where the gradient is not shared, else to a copy).
pub(super) fn backward(
    x: CubeTensor,
    gamma: CubeTensor,
    mean: CubeTensor,
    rstd: CubeTensor,
    dy: CubeTensor,
    into: Option<CubeTensor>,
) -> (CubeTensor, CubeTensor, CubeTensor) {
    let (x, gamma, dy) = (rows(x), rows(gamma), rows(dy));
    let params = gamma.meta.num_elements();
    let n = mean.meta.num_elements();
    let client = x.client.clone();
    let accumulate = into.is_some();
    let dx = match into {
        Some(g) => {
            let g = rows(g);
            if g.can_mut() { g } else { g.copy() }
        }
        None => scalar_like(&x, x.meta.shape().clone()),
    };
    let dgamma = scalar_like(&x, gamma.meta.shape().clone());
    let dbeta = scalar_like(&x, gamma.meta.shape().clone());
    let (count, dim) = launch_grid(&x, n);
    dx_kernel::launch(
        &client,
        count,
        dim,
        x.clone().into_tensor_arg(),
        gamma.into_tensor_arg(),
        mean.clone().into_tensor_arg(),
        rstd.clone().into_tensor_arg(),
        dy.clone().into_tensor_arg(),
        dx.clone().into_tensor_arg(),
        accumulate,
        f32_type(),
    );
    let (count, dim) = launch_grid(&x, params);
    dparams_kernel::launch(
        &client,
        count,
        dim,
        x.into_tensor_arg(),
        mean.into_tensor_arg(),
        rstd.into_tensor_arg(),
        dy.into_tensor_arg(),
        dgamma.clone().into_tensor_arg(),
        dbeta.clone().into_tensor_arg(),
        f32_type(),
    );
    (dx, dgamma, dbeta)
}
