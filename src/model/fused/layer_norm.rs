//! LayerNorm over the last axis on flex tensors — where Burn's autodiff decomposes it into a
//! dozen tensor ops, each with its own backward (`tinytune_kernels::layer_norm`).

use burn_flex::FlexTensor;
use burn_std::Shape;
use tinytune_kernels::layer_norm;

use super::flex::{contiguous, tensor, values};

/// What the backward needs from the forward: x̂ = (x − μ)/σ (the input's shape) and 1/σ per
/// row, σ = √(var + ε).
#[derive(Debug, Clone)]
pub struct Saved {
    pub normalized: FlexTensor,
    pub inv_std: Vec<f32>,
}

/// y = γ·(x − μ)/√(var + ε) + β over the last axis: x [..., d], γ and β [d] → (y [..., d], what
/// the backward needs).
pub fn forward(x: FlexTensor, gamma: &FlexTensor, beta: &FlexTensor, eps: f32) -> (FlexTensor, Saved) {
    let x = contiguous(x);
    let (g, b) = (values(gamma), values(beta));
    let n = values(&x).len();
    let (mut y, mut xhat) = (vec![0f32; n], vec![0f32; n]);
    let mut inv_std = vec![0f32; n / g.len().max(1)];
    layer_norm::forward(values(&x), (g, b), (&mut y, &mut xhat, &mut inv_std), eps);
    let shape = x.layout().shape().clone();
    let saved = Saved {
        normalized: tensor(xhat, shape.clone()),
        inv_std,
    };
    (tensor(y, shape), saved)
}

/// Gradients of the input, γ and β from dL/dy (`grad`, the input's shape).
pub fn backward(saved: Saved, gamma: &FlexTensor, grad: FlexTensor) -> [FlexTensor; 3] {
    let grad = contiguous(grad);
    let shape = saved.normalized.layout().shape().clone();
    let g = values(gamma);
    let d = g.len();
    let mut dx = vec![0f32; values(&grad).len()];
    let (mut dgamma, mut dbeta) = (vec![0f32; d], vec![0f32; d]);
    let inputs = (values(&saved.normalized), &saved.inv_std[..], g, values(&grad));
    layer_norm::backward(inputs, (&mut dx, &mut dgamma, &mut dbeta));
    let vector = || Shape::from(vec![d]);
    [
        tensor(dx, shape),
        tensor(dgamma, vector()),
        tensor(dbeta, vector()),
    ]
}
