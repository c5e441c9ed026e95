//! The fused ops on CubeCL's devices (#32: WebGPU in the page, Vulkan natively): LayerNorm,
//! causal attention's core and the loss's masked cross-entropy as hand-written kernels with a
//! hand-written backward, through Burn's `#[backend_extension]` like the CPU's (`super`), so
//! that each launches a kernel or two where Burn's composition launched dozens (the count is
//! what a WebGPU step costs: every launch is a dispatch, and a small model's kernels are short;
//! a reference step on lavapipe: 338 launches before, 98 with these, the model's GPU order
//! (`model::gpt`'s rows) and `train::multi_adam`).
//!
//! Under Burn's fusion (the backend the page and `--backend wgpu` run) each op is one opaque
//! step in the fusion stream: what comes before and after it still fuses.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::fusion::custom::TensorSpec;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Cube, backend_extension};
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;
use cubecl::{CubeCount, CubeDim, calculate_cube_count_elemwise};

pub mod adam;
pub mod attention;
pub mod cross_entropy;
mod layer_norm;

/// The forward ops, differentiable (their backward is [`CubeGrads`]).
#[backend_extension(Cube, Fusion, Autodiff)]
pub trait CubeOps: burn::backend::Backend {
    /// LayerNorm over the last axis: x [..., d], γ and β [d] → (y like x, μ [rows], 1/σ [rows]);
    /// or a stack's (`model::gpt::stacked`): x [K, n, d], each run's γ and β [K, 1, d].
    #[fusion(meta = |x, _g, _b, _eps| (x.clone(), rows_spec(x), rows_spec(x)))]
    fn cube_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        eps: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// Causal attention's core: qkv [batch, time, 3·heads, dh] (the queries' heads, then the
    /// keys', then the values') → (o [batch, time, heads, dh], the rows' log-sum-exp and
    /// largest scaled logit, each [batch, heads, time]; neither is differentiated).
    #[fusion(meta = |qkv, _scale| (heads_spec(qkv), lse_spec(qkv), lse_spec(qkv)))]
    fn cube_attention(
        qkv: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// The masked mean cross-entropy: logits [n, v], targets y [n, 1], mask [n, 1] →
    /// (−Σ m·log p(y) / S [1], Σ m·log Z / S [1], what the backward reads [n + 1]) with
    /// S = max(Σ m, 1); only the first is differentiated, and only for the logits.
    #[fusion(meta = |logits, _y, _m| (one_spec(logits), one_spec(logits), saved_spec(logits)))]
    fn cube_masked_ce(
        logits: FloatTensor<Self>,
        y: IntTensor<Self>,
        mask: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// The backward ops (not themselves differentiated).
#[backend_extension(Cube, Fusion)]
pub trait CubeGrads: burn::backend::Backend {
    /// (dx, dγ, dβ) of [`CubeOps::cube_layer_norm`].
    #[fusion(meta = |x, g, _m, _r, _dy| (x.clone(), g.clone(), g.clone()))]
    fn cube_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        rstd: FloatTensor<Self>,
        dy: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// [`CubeGrads::cube_layer_norm_backward`] with dx added to `into` (x's gradient from its
    /// other users so far), which it returns in dx's place: the residual stream's two gradients
    /// summed as the kernel writes, not by a launch of their own.
    #[fusion(meta = |x, g, _m, _r, _dy, _into| (x.clone(), g.clone(), g.clone()))]
    fn cube_layer_norm_backward_into(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        rstd: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        into: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// d(qkv) of [`CubeOps::cube_attention`], [batch, time, 3·heads, dh], contiguous.
    #[fusion(dtype = qkv, shape = qkv)]
    fn cube_attention_backward(
        qkv: FloatTensor<Self>,
        o: FloatTensor<Self>,
        lse: FloatTensor<Self>,
        dout: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self>;

    /// dL/dlogits of [`CubeOps::cube_masked_ce`] from its inputs, what it saved and dL/dloss.
    #[fusion(dtype = logits, shape = logits)]
    fn cube_masked_ce_backward(
        logits: FloatTensor<Self>,
        y: IntTensor<Self>,
        mask: FloatTensor<Self>,
        saved: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// [1], a scalar of logits' dtype.
fn one_spec(logits: &TensorSpec) -> TensorSpec {
    TensorSpec::new(Shape::new([1]), logits.dtype)
}

/// [n + 1] for logits [n, v]: each row's log Z, then S.
fn saved_spec(logits: &TensorSpec) -> TensorSpec {
    TensorSpec::new(Shape::new([logits.shape[0] + 1]), logits.dtype)
}

/// A [rows] tensor for x [..., d]: one value per row.
fn rows_spec(x: &TensorSpec) -> TensorSpec {
    let rows = (0..x.shape.num_dims() - 1).map(|i| x.shape[i]).product::<usize>();
    TensorSpec::new(Shape::new([rows]), x.dtype)
}

/// [batch, time, heads, dh] for qkv [batch, time, 3·heads, dh].
fn heads_spec(qkv: &TensorSpec) -> TensorSpec {
    let d = &qkv.shape;
    TensorSpec::new(Shape::new([d[0], d[1], d[2] / 3, d[3]]), qkv.dtype)
}

/// [batch, heads, time] for qkv [batch, time, 3·heads, dh].
fn lse_spec(qkv: &TensorSpec) -> TensorSpec {
    let d = &qkv.shape;
    TensorSpec::new(Shape::new([d[0], d[2] / 3, d[1]]), qkv.dtype)
}

impl CubeOps for CubeBackend {
    fn cube_layer_norm(
        x: CubeTensor,
        gamma: CubeTensor,
        beta: CubeTensor,
        eps: f32,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        layer_norm::forward(x, gamma, beta, eps)
    }

    fn cube_attention(qkv: CubeTensor, scale: f32) -> (CubeTensor, CubeTensor, CubeTensor) {
        attention::forward(qkv, scale)
    }

    fn cube_masked_ce(
        logits: CubeTensor,
        y: CubeTensor,
        mask: CubeTensor,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        cross_entropy::forward(logits, y, mask)
    }
}

impl CubeGrads for CubeBackend {
    fn cube_layer_norm_backward(
        x: CubeTensor,
        gamma: CubeTensor,
        mean: CubeTensor,
        rstd: CubeTensor,
        dy: CubeTensor,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        layer_norm::backward(x, gamma, mean, rstd, dy, None)
    }

    fn cube_layer_norm_backward_into(
        x: CubeTensor,
        gamma: CubeTensor,
        mean: CubeTensor,
        rstd: CubeTensor,
        dy: CubeTensor,
        into: CubeTensor,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        layer_norm::backward(x, gamma, mean, rstd, dy, Some(into))
    }

    fn cube_attention_backward(
        qkv: CubeTensor,
        o: CubeTensor,
        lse: CubeTensor,
        dout: CubeTensor,
        scale: f32,
    ) -> CubeTensor {
        attention::backward(qkv, o, lse, dout, scale)
    }

    fn cube_masked_ce_backward(
        logits: CubeTensor,
        y: CubeTensor,
        mask: CubeTensor,
        saved: CubeTensor,
        grad: CubeTensor,
    ) -> CubeTensor {
        cross_entropy::backward(logits, y, mask, saved, grad)
    }
}

/// The element type the kernels are compiled for (the fused path is f32 only).
fn f32_type() -> ElemType {
    ElemType::Float(cubecl::ir::FloatKind::F32)
}

/// A contiguous f32 tensor of `shape` on `like`'s device, uninitialised.
fn scalar_like(like: &CubeTensor, shape: Shape) -> CubeTensor {
    empty_device_contiguous_dtype(
        like.client.clone(),
        like.device.clone(),
        shape,
        burn::tensor::DType::F32,
    )
}

/// Cubes and their size for one thread per unit of `n` (rows, columns or query rows).
fn launch_grid(like: &CubeTensor, n: usize) -> (CubeCount, CubeDim) {
    let dim = CubeDim::new_1d(64);
    (calculate_cube_count_elemwise(&like.client, n, dim), dim)
}

/// Autodiff's float tensor over CubeCL's backend.
type Tracked<C> = FloatTensor<Autodiff<Cube, C>>;
type Inner = FloatTensor<Cube>;

/// LayerNorm's backward keeps x (with its autodiff node, to find the gradient x has so far), γ,
/// μ and 1/σ; it feeds x, γ and β.
#[derive(Debug)]
struct LayerNormBackward;

impl Backward<Cube, 3> for LayerNormBackward {
    type State = (FloatTensor<Autodiff<Cube>>, Inner, Inner, Inner);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Cube>(&ops.node);
        let (x, gamma, mean, rstd) = ops.state;
        // Where x's other users (the residual path) have given it a gradient already, dx is
        // added to that one as the kernel writes it; registering dx apart would add the two in
        // a launch of their own.
        let so_far = ops.parents[0]
            .is_some()
            .then(|| grads.remove::<Cube>(&x))
            .flatten();
        let x = x.into_primitive();
        let (dx, dgamma, dbeta) = match so_far {
            Some(g) => <Cube as CubeGrads>::cube_layer_norm_backward_into(x, gamma, mean, rstd, dy, g),
            None => <Cube as CubeGrads>::cube_layer_norm_backward(x, gamma, mean, rstd, dy),
        };
        // Each gradient goes to its parent where the parent is tracked.
        for (parent, value) in ops.parents.into_iter().zip([dx, dgamma, dbeta]) {
            if let Some(parent) = parent {
                grads.register::<Cube>(parent.id, value);
            }
        }
    }
}

/// Attention's backward keeps qkv, o, the log-sum-exp and the scale; it feeds qkv.
#[derive(Debug)]
struct AttentionBackward;

impl Backward<Cube, 1> for AttentionBackward {
    type State = (Inner, Inner, Inner, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<Cube>(&ops.node);
        if let [Some(parent)] = ops.parents {
            let (qkv, o, lse, scale) = ops.state;
            let dqkv = <Cube as CubeGrads>::cube_attention_backward(qkv, o, lse, dout, scale);
            grads.register::<Cube>(parent.id, dqkv);
        }
    }
}

/// The cross-entropy's backward keeps the logits, the targets, the mask and what the forward
/// saved; it feeds the logits.
#[derive(Debug)]
struct MaskedCeBackward;

impl Backward<Cube, 1> for MaskedCeBackward {
    type State = (Inner, IntTensor<Cube>, Inner, Inner);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cube>(&ops.node);
        if let [Some(parent)] = ops.parents {
            let (logits, y, mask, saved) = ops.state;
            let dlogits = <Cube as CubeGrads>::cube_masked_ce_backward(logits, y, mask, saved, grad);
            grads.register::<Cube>(parent.id, dlogits);
        }
    }
}

impl<C: CheckpointStrategy> CubeOps for Autodiff<Cube, C> {
    fn cube_layer_norm(
        x: Tracked<C>,
        gamma: Tracked<C>,
        beta: Tracked<C>,
        eps: f32,
    ) -> (Tracked<C>, Tracked<C>, Tracked<C>) {
        let nodes = [x.node(), gamma.node(), beta.node()];
        let (xp, gp) = (x.primitive().clone(), gamma.primitive().clone());
        let tracked_x = x.clone();
        let (y, mean, rstd) = <Cube as CubeOps>::cube_layer_norm(xp, gp.clone(), beta.into_primitive(), eps);
        let side = |t: &Inner| Tracked::<C>::new(t.clone());
        let (m, r) = (side(&mean), side(&rstd));
        let y = match LayerNormBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((tracked_x, gp, mean, rstd), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        (y, m, r)
    }

    fn cube_attention(qkv: Tracked<C>, scale: f32) -> (Tracked<C>, Tracked<C>, Tracked<C>) {
        let node = qkv.node();
        let qkv = qkv.into_primitive();
        let (o, lse, largest) = <Cube as CubeOps>::cube_attention(qkv.clone(), scale);
        let side = |t: &Inner| Tracked::<C>::new(t.clone());
        let (l, m) = (side(&lse), side(&largest));
        let o = match AttentionBackward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((qkv, o.clone(), lse, scale), o),
            OpsKind::UnTracked(prep) => prep.finish(o),
        };
        (o, l, m)
    }

    fn cube_masked_ce(
        logits: Tracked<C>,
        y: IntTensor<Cube>,
        mask: Tracked<C>,
    ) -> (Tracked<C>, Tracked<C>, Tracked<C>) {
        let node = logits.node();
        let (logits, mask) = (logits.into_primitive(), mask.into_primitive());
        let (loss, mean_z, saved) =
            <Cube as CubeOps>::cube_masked_ce(logits.clone(), y.clone(), mask.clone());
        let side = |t: &Inner| Tracked::<C>::new(t.clone());
        let (z, kept) = (side(&mean_z), side(&saved));
        let loss = match MaskedCeBackward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((logits, y, mask, saved), loss),
            OpsKind::UnTracked(prep) => prep.finish(loss),
        };
        (loss, z, kept)
    }
}
