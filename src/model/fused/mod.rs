//! Fused ops (#32): GELU, attention's causal softmax, LayerNorm and the loss's log-softmax, each
//! one pass forward and one backward with a hand-written gradient, on the CPU backend (flex)
//! through Burn's `#[backend_extension]`. Under Burn's autodiff these would otherwise be chains
//! of primitive ops (five to a dozen passes over the tensor, each recorded for the backward), and
//! flex evaluates GELU's erf with scalar libm calls.
//!
//! Everywhere else (CubeCL's devices: WebGPU, Vulkan) and for any dtype but f32, the functions
//! here are Burn's own composition, which Burn's fusion already merges into few kernels. Each
//! fused op equals that composition up to float rounding, in value and gradient (tests/fused.rs).

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Dispatch, Flex, backend_extension};
use burn::nn::LayerNorm;
use burn::prelude::*;
use burn::tensor::{DType, activation};
use burn_flex::FlexTensor;

#[cfg(feature = "webgpu")]
pub(crate) mod cube;
mod flex;
mod gelu;
mod layer_norm;
mod linear;
mod softmax;

/// LayerNorm's ε, as Burn's and torch's default; the transformer's norms are built with it.
pub const LAYER_NORM_EPS: f64 = 1e-5;

/// The fused ops, on flex and on flex under autodiff (their backward hand-written).
#[backend_extension(Flex, Autodiff)]
pub trait FusedOps: burn::backend::Backend {
    /// GELU(x) = x·Φ(x), elementwise.
    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Scores [..., t, t] → attention weights: softmax over j ≤ i of scale·x_ij, 0 above.
    fn fused_causal_softmax(x: FloatTensor<Self>, scale: f32) -> FloatTensor<Self>;
    /// max over i and j ≤ i of scale·x_ij, [1]; not differentiated.
    fn fused_causal_max(x: FloatTensor<Self>, scale: f32) -> FloatTensor<Self>;
    /// log softmax over the last axis.
    fn fused_log_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// x [n, in]·W [in, out] + b [out] → [n, out].
    fn fused_linear(x: FloatTensor<Self>, w: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self>;
    /// LayerNorm over the last axis: x [..., d], γ and β [d].
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self>;
}

impl FusedOps for Flex {
    fn fused_gelu(x: FlexTensor) -> FlexTensor {
        gelu::forward(x)
    }
    fn fused_causal_softmax(x: FlexTensor, scale: f32) -> FlexTensor {
        softmax::causal_forward(x, scale)
    }
    fn fused_causal_max(x: FlexTensor, scale: f32) -> FlexTensor {
        softmax::causal_max(x, scale)
    }
    fn fused_log_softmax(x: FlexTensor) -> FlexTensor {
        softmax::log_forward(x)
    }
    fn fused_layer_norm(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, eps: f32) -> FlexTensor {
        layer_norm::forward(x, &gamma, &beta, eps).0
    }
    fn fused_linear(x: FlexTensor, w: FlexTensor, b: FlexTensor) -> FlexTensor {
        linear::forward(x, w, b)
    }
}

/// A one-input op whose backward needs one tensor of the forward (GELU its input, the
/// log-softmax its output): y = `forward`(x), dL/dx = `grad_of`(kept, dL/dy).
#[derive(Debug)]
struct Unary {
    forward: fn(FlexTensor) -> FlexTensor,
    grad_of: fn(FlexTensor, FlexTensor) -> FlexTensor,
    keeps_output: bool,
}

impl Unary {
    /// The op on a tracked tensor, recorded for the backward when `x` is tracked.
    fn apply<C: CheckpointStrategy>(self, x: Tracked<C>) -> Tracked<C> {
        let (forward, keeps_output) = (self.forward, self.keeps_output);
        match self.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                let y = forward(input.clone());
                let kept = if keeps_output { y.clone() } else { input };
                prep.finish(kept, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(x.into_primitive())),
        }
    }
}

impl Backward<Flex, 1> for Unary {
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        if let [Some(parent)] = ops.parents {
            grads.register::<Flex>(parent.id, (self.grad_of)(ops.state, grad));
        }
    }
}

/// The causal softmax's backward keeps its output and the scale.
#[derive(Debug)]
struct CausalSoftmaxBackward;

impl Backward<Flex, 1> for CausalSoftmaxBackward {
    type State = (FlexTensor, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        if let [Some(parent)] = ops.parents {
            let (y, scale) = ops.state;
            grads.register::<Flex>(parent.id, softmax::causal_backward(y, grad, scale));
        }
    }
}

/// The linear layer's backward keeps its input and weight; it feeds x, W and b.
#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 3> for LinearBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, w) = ops.state;
        let need = [0, 1, 2].map(|i| ops.parents[i].is_some());
        let values = linear::backward(&x, &w, grad, need);
        for (parent, value) in ops.parents.into_iter().zip(values) {
            if let (Some(parent), Some(value)) = (parent, value) {
                grads.register::<Flex>(parent.id, value);
            }
        }
    }
}

/// LayerNorm's backward keeps x̂, 1/σ and γ; it feeds the input, γ and β.
#[derive(Debug)]
struct LayerNormBackward;

impl Backward<Flex, 3> for LayerNormBackward {
    type State = (layer_norm::Saved, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (saved, gamma) = ops.state;
        let [dx, dgamma, dbeta] = layer_norm::backward(saved, &gamma, grad);
        let [x, g, b] = ops.parents;
        for (parent, value) in [(x, dx), (g, dgamma), (b, dbeta)] {
            if let Some(parent) = parent {
                grads.register::<Flex>(parent.id, value);
            }
        }
    }
}

/// Autodiff's float tensor over flex (its type is not exported by name).
type Tracked<C> = FloatTensor<Autodiff<Flex, C>>;

impl<C: CheckpointStrategy> FusedOps for Autodiff<Flex, C> {
    fn fused_gelu(x: Tracked<C>) -> Tracked<C> {
        let (forward, grad_of) = (gelu::forward, gelu::backward);
        Unary {
            forward,
            grad_of,
            keeps_output: false,
        }
        .apply::<C>(x)
    }

    fn fused_causal_softmax(x: Tracked<C>, scale: f32) -> Tracked<C> {
        match CausalSoftmaxBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = softmax::causal_forward(x.primitive().clone(), scale);
                prep.finish((y.clone(), scale), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(softmax::causal_forward(x.into_primitive(), scale)),
        }
    }

    fn fused_causal_max(x: Tracked<C>, scale: f32) -> Tracked<C> {
        Tracked::<C>::new(softmax::causal_max(x.into_primitive(), scale))
    }

    fn fused_log_softmax(x: Tracked<C>) -> Tracked<C> {
        let (forward, grad_of) = (softmax::log_forward, softmax::log_backward);
        Unary {
            forward,
            grad_of,
            keeps_output: true,
        }
        .apply::<C>(x)
    }

    fn fused_layer_norm(x: Tracked<C>, gamma: Tracked<C>, beta: Tracked<C>, eps: f32) -> Tracked<C> {
        let nodes = [x.node(), gamma.node(), beta.node()];
        match LayerNormBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let g = gamma.primitive().clone();
                let (y, saved) = layer_norm::forward(x.primitive().clone(), &g, beta.primitive(), eps);
                prep.finish((saved, g), y)
            }
            OpsKind::UnTracked(prep) => {
                let (y, _) =
                    layer_norm::forward(x.into_primitive(), gamma.primitive(), beta.primitive(), eps);
                prep.finish(y)
            }
        }
    }

    fn fused_linear(x: Tracked<C>, w: Tracked<C>, b: Tracked<C>) -> Tracked<C> {
        match LinearBackward
            .prepare::<C>([x.node(), w.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                // Kept laid out as the backward reads them: a tied readout's weight is the
                // embedding's transposed view, which the backward's products cannot read in place.
                let (x, w) = (
                    flex::contiguous(x.primitive().clone()),
                    flex::contiguous(w.primitive().clone()),
                );
                let y = linear::forward(x.clone(), w.clone(), b.into_primitive());
                prep.finish((x, w), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(linear::forward(
                x.into_primitive(),
                w.into_primitive(),
                b.into_primitive(),
            )),
        }
    }
}

/// Whether `x` takes the fused path: an f32 tensor on the CPU backend (flex). CubeCL's devices
/// (which report an identity) keep Burn's ops, fused there by Burn's own fusion.
fn fused_here<const D: usize>(x: &Tensor<D>) -> bool {
    !crate::model::backend::scalars_are_uploads(&x.device()) && x.dtype() == DType::F32
}

/// The fused op `op` on `x`'s dispatch primitive, back as a tensor of rank `E`.
fn run<const D: usize, const E: usize>(
    x: Tensor<D>,
    op: impl FnOnce(FloatTensor<Dispatch>) -> FloatTensor<Dispatch>,
) -> Tensor<E> {
    Tensor::from_dispatch(op(x.into_dispatch()))
}

/// GELU, x·Φ(x) (the exact form, torch's default): any shape.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if fused_here(&x) {
        run(x, <Dispatch as FusedOps>::fused_gelu)
    } else {
        activation::gelu(x)
    }
}

/// Causal attention weights: scores [b, h, t, t] → softmax over j ≤ i of `scale`·scores_ij,
/// 0 above the diagonal, [b, h, t, t]; with `largest: Some(n)`, also the largest attended logit
/// (max over i and j ≤ i of `scale`·scores_ij, detached) of each of n equal consecutive parts of
/// the batch, [n] (a stack's runs, `model::gpt::stacked`; n = 1 for one model) — from the same
/// masked scores on a GPU, so asking for it adds one reduction there.
pub fn causal_softmax(
    scores: Tensor<4>,
    scale: f64,
    largest: Option<usize>,
) -> (Tensor<4>, Option<Tensor<1>>) {
    if fused_here(&scores) {
        let max = largest.map(|parts| {
            let max_of = |x: Tensor<4>| {
                run(x.detach(), |x| {
                    <Dispatch as FusedOps>::fused_causal_max(x, scale as f32)
                })
            };
            match parts {
                0 | 1 => max_of(scores.clone()),
                n => {
                    let each = scores.dims()[0] / n;
                    Tensor::cat(
                        (0..n)
                            .map(|i| max_of(scores.clone().narrow(0, i * each, each)))
                            .collect(),
                        0,
                    )
                }
            }
        });
        let probs = run(scores, |x| {
            <Dispatch as FusedOps>::fused_causal_softmax(x, scale as f32)
        });
        (probs, max)
    } else {
        let [b, h, t, _] = scores.dims();
        let future = future(b, h, t, &scores.device());
        let masked = scores.mul_scalar(scale).mask_fill(future, f32::NEG_INFINITY);
        let max = largest.map(|n| per_part_max(masked.clone().detach(), n));
        (activation::softmax(masked, 3), max)
    }
}

/// The largest value of each of `parts` equal consecutive parts of x's first axis, [parts]
/// (one part: the largest of all, [1]).
fn per_part_max<const D: usize>(x: Tensor<D>, parts: usize) -> Tensor<1> {
    let parts = parts.max(1);
    if parts == 1 {
        return x.max().reshape([1]);
    }
    let n = x.shape().num_elements();
    x.reshape([parts, n / parts]).max_dim(1).reshape([parts])
}

/// [b, h, t, t], true exactly above the diagonal: the positions a query may not attend to.
pub fn future(b: usize, h: usize, t: usize, device: &Device) -> Tensor<4, Bool> {
    Tensor::<2, Bool>::tril_mask([t, t], 0, device)
        .reshape([1, 1, t, t])
        .expand([b, h, t, t])
}

/// log softmax over the last axis of x [n, v].
pub fn log_softmax(x: Tensor<2>) -> Tensor<2> {
    if fused_here(&x) {
        run(x, <Dispatch as FusedOps>::fused_log_softmax)
    } else {
        activation::log_softmax(x, 1)
    }
}

/// Each row's log-probability of its target and its log-partition: logits [n, v], targets
/// y [n, 1] → (log p(y) [n, 1], log Z [n, 1]), the log-softmax's.
pub fn log_prob_and_log_z(logits: Tensor<2>, y: Tensor<2, Int>) -> (Tensor<2>, Tensor<2>) {
    let lsm = log_softmax(logits.clone());
    let log_z = logits.narrow(1, 0, 1) - lsm.clone().narrow(1, 0, 1);
    (lsm.gather(1, y), log_z)
}

/// The masked mean cross-entropy and mean log-partition, where the GPU's kernel takes them:
/// logits [n, v], targets y [n, 1], mask [n, 1] → (−Σ m·log p(y) / S, Σ m·log Z / S) with
/// S = max(Σ m, 1), [1] each, the second a statistic (not differentiated). One kernel forward
/// and one backward (`cube`) where the composition launched a dozen; `None` off a GPU (or for
/// targets of a type the kernel does not read), where [`log_prob_and_log_z`] and the sums
/// keep the CPU's order.
pub fn masked_cross_entropy(
    logits: &Tensor<2>,
    y: &Tensor<2, Int>,
    mask: &Tensor<2>,
) -> Option<(Tensor<1>, Tensor<1>)> {
    #[cfg(feature = "webgpu")]
    if fused_on_gpu(logits) && cube::cross_entropy::index_type(y.dtype()).is_some() {
        let (loss, mean_z, _) = <Dispatch as cube::CubeOps>::cube_masked_ce(
            logits.clone().into_dispatch(),
            y.clone().into_dispatch(),
            mask.clone().into_dispatch(),
        );
        return Some((Tensor::from_dispatch(loss), Tensor::from_dispatch(mean_z)));
    }
    let _ = (logits, y, mask);
    None
}

/// A linear layer: x [n, in]·W [in, out] + b ([out], or none) → [n, out].
pub fn linear(x: Tensor<2>, w: Tensor<2>, b: Option<Tensor<1>>) -> Tensor<2> {
    if fused_on_gpu(&x) && w.dtype() == DType::F32 {
        // The bias viewed as a row before the product, not after it (as Burn's linear op does):
        // Burn's fusion takes a block from a product onwards only while each operation's output
        // is the block's shape, so a [1, out] reshape between the product and the add closed it
        // and the add ran as a kernel of its own; now the add, and whatever element-wise work
        // follows (GELU, the residual add), joins the product's block, and on a GPU where the
        // fused product wins its tuning, the product's own kernel (#32: with the transformer's
        // blocks on rows and one product for q, k and v, a reference step on lavapipe went
        // from 169 launches to 145).
        let [_, d_out] = w.dims();
        let row = b.map(|b| b.reshape([1, d_out]));
        let y = x.matmul(w);
        return match row {
            Some(r) => y + r,
            None => y,
        };
    }
    if !fused_here(&x) || w.dtype() != DType::F32 {
        // Burn's own linear op, which its GPU fusion can merge with the bias (and which keeps a
        // natively quantized weight packed).
        return burn::tensor::module::linear(x, w, b);
    }
    let [_, d_out] = w.dims();
    let b = b.unwrap_or_else(|| Tensor::zeros([d_out], &x.device()));
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_linear(
        x.into_dispatch(),
        w.into_dispatch(),
        b.into_dispatch(),
    ))
}

/// Whether `x` takes the GPU's fused kernels (`cube`): an f32 tensor on CubeCL's device.
fn fused_on_gpu<const D: usize>(x: &Tensor<D>) -> bool {
    cfg!(feature = "webgpu")
        && crate::model::backend::scalars_are_uploads(&x.device())
        && x.dtype() == DType::F32
}

/// `norm`'s LayerNorm of x [..., d] (built with [`LAYER_NORM_EPS`]).
pub fn layer_norm<const D: usize>(norm: &LayerNorm, x: Tensor<D>) -> Tensor<D> {
    if !fused_here(&x) && !fused_on_gpu(&x) {
        return norm.forward(x);
    }
    let gamma = norm.gamma.val();
    let beta = match &norm.beta {
        Some(b) => b.val(),
        None => gamma.zeros_like(),
    };
    layer_norm_with(x, gamma, beta)
}

/// LayerNorm of x [..., d] without its affine part, (x − mean)/√(var + ε) over the last axis
/// ([`LAYER_NORM_EPS`]): what a stack of runs scales by each run's own gain and bias
/// (`model::gpt::stacked`), by the same kernel as [`layer_norm`] (with γ = 1 and β = 0, exact).
pub fn layer_norm_bare<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let d = x.dims()[D - 1];
    let device = x.device();
    if !fused_here(&x) && !fused_on_gpu(&x) {
        // Burn's LayerNorm op, as `LayerNorm::forward` runs it there.
        return burn::tensor::module::layer_norm(x, Tensor::ones([d], &device), None, LAYER_NORM_EPS);
    }
    layer_norm_with(x, Tensor::ones([d], &device), Tensor::zeros([d], &device))
}

/// Each run's LayerNorm of a stack's rows (`model::gpt::stacked`): x [K, n, d] (run k's n rows
/// k-th), γ and β [K, 1, d] → [K, n, d]. On a GPU the kernel of [`layer_norm`], each row with
/// its run's γ and β; elsewhere [`layer_norm_bare`] times γ plus β.
pub fn layer_norm_runs(x: Tensor<3>, gamma: Tensor<3>, beta: Option<Tensor<3>>) -> Tensor<3> {
    #[cfg(feature = "webgpu")]
    if fused_on_gpu(&x) {
        let beta = beta.unwrap_or_else(|| gamma.zeros_like());
        let (y, _, _) = <Dispatch as cube::CubeOps>::cube_layer_norm(
            x.into_dispatch(),
            gamma.into_dispatch(),
            beta.into_dispatch(),
            LAYER_NORM_EPS as f32,
        );
        return Tensor::from_dispatch(y);
    }
    let y = layer_norm_bare(x) * gamma;
    match beta {
        Some(b) => y + b,
        None => y,
    }
}

/// The fused LayerNorm of x [..., d] with gain and bias [d], on the CPU's op or the GPU's kernel.
fn layer_norm_with<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, beta: Tensor<1>) -> Tensor<D> {
    let eps = LAYER_NORM_EPS as f32;
    #[cfg(feature = "webgpu")]
    if fused_on_gpu(&x) {
        let (y, _, _) = <Dispatch as cube::CubeOps>::cube_layer_norm(
            x.into_dispatch(),
            gamma.into_dispatch(),
            beta.into_dispatch(),
            eps,
        );
        return Tensor::from_dispatch(y);
    }
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_layer_norm(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        eps,
    ))
}

/// Whether [`causal_attention`] runs as the GPU's kernel for an attention layer reading x
/// [b, t, d] with heads `head_dim` wide (an f32 tensor on CubeCL's device, heads no wider than
/// the kernel keeps in registers).
pub fn attention_kernel_takes(x: &Tensor<3>, head_dim: usize) -> bool {
    #[cfg(feature = "webgpu")]
    return fused_on_gpu(x) && head_dim <= cube::attention::MAX_HEAD_DIM;
    #[cfg(not(feature = "webgpu"))]
    {
        let _ = (x, head_dim);
        false
    }
}

/// Causal attention's core: qkv [b, t, 3h, dh] (one projection's rows split into heads: the
/// queries' h heads, then the keys', then the values'; any layout) → softmax over j ≤ i of
/// `scale`·q_i·k_j, times v: [b, t, h, dh]; with `largest`, also the largest attended logit of
/// each part (as [`causal_softmax`] gives it), and where the GPU's kernel ran, each row's log-sum-exp
/// [b, h, t] (not differentiated). Where [`attention_kernel_takes`] it, one kernel forward and
/// two backward (`cube`), whose gradient reaches qkv as one tensor; elsewhere the two products
/// around [`causal_softmax`].
pub fn causal_attention(
    qkv: Tensor<4>,
    scale: f64,
    largest: Option<usize>,
) -> (Tensor<4>, Option<Tensor<1>>, Option<Tensor<3>>) {
    let h = qkv.dims()[2] / 3;
    #[cfg(feature = "webgpu")]
    if fused_on_gpu(&qkv) && qkv.dims()[3] <= cube::attention::MAX_HEAD_DIM {
        let (o, lse, rows) = <Dispatch as cube::CubeOps>::cube_attention(qkv.into_dispatch(), scale as f32);
        let max = largest.map(|n| per_part_max(Tensor::<3>::from_dispatch(rows).detach(), n));
        return (
            Tensor::from_dispatch(o),
            max,
            Some(Tensor::<3>::from_dispatch(lse).detach()),
        );
    }
    // [b, h, t, dh] for the products over time.
    let part = |i: usize| qkv.clone().narrow(2, i * h, h).swap_dims(1, 2);
    let (q, k, v) = (part(0), part(1), part(2));
    let (probs, max) = causal_softmax(q.matmul(k.swap_dims(2, 3)), scale, largest);
    (probs.matmul(v).swap_dims(1, 2), max, None)
}

/// The first example's first head's attention weights, [t·t] row by row (0 above the diagonal),
/// from qkv [b, t, 3h, dh] and the rows' log-sum-exp [b, h, t] that [`causal_attention`]'s
/// kernel kept: p_ij = e^(scale·q_i·k_j − lse_i). One product of [t, dh] by [dh, t] and an
/// element-wise pass, where recomputing the layer's softmax by Burn's composition for the view
/// took about forty launches. Detached: a view, not a loss.
pub fn first_head_pattern(qkv: Tensor<4>, lse: Tensor<3>, scale: f64) -> Tensor<1> {
    let [_, t, h3, dh] = qkv.dims();
    let qkv = qkv.detach().narrow(0, 0, 1);
    let q = qkv.clone().narrow(2, 0, 1).reshape([t, dh]);
    let k = qkv.narrow(2, h3 / 3, 1).reshape([t, dh]);
    let lse = lse.narrow(0, 0, 1).narrow(1, 0, 1).reshape([t, 1]);
    let future = Tensor::<2, Bool>::tril_mask([t, t], 0, &q.device());
    let p = (q.matmul(k.transpose()).mul_scalar(scale) - lse).exp();
    p.mask_fill(future, 0.0).reshape([t * t])
}
