//! Causal multi-head self-attention, and what a forward pass carries through the blocks: the
//! rotary table, QAT's format and the trace (`model::trace`).

use burn::module::Module;
use burn::nn::{Linear, RotaryEncoding};
use burn::prelude::*;
use burn::tensor::DType;

use crate::knobs::quant::QuantConfig;
use crate::model::fused;
use crate::model::norm;
use crate::model::quant::tensor::straight_through;
use crate::model::trace::Trace;
use burn::nn::norm::Normalization;

/// Causal multi-head self-attention with its four projections.
#[derive(Module, Debug)]
pub struct Attention {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    /// Per-head norms on queries and keys (qk-layernorm), when on.
    pub(super) q_norm: Option<Normalization>,
    pub(super) k_norm: Option<Normalization>,
    pub(super) heads: usize,
    pub(super) scale: f64,
}

/// What a forward pass carries through the blocks: the rotary table, the trace being recorded,
/// and QAT's format.
pub(super) struct Pass<'a> {
    pub(super) rope: Option<&'a RotaryEncoding>,
    pub(super) trace: Option<&'a mut Trace>,
    pub(super) qat: Option<&'a QuantConfig>,
}

impl Pass<'_> {
    /// `l`(x): [batch, time, in] → [batch, time, out]; under QAT with the weight fake-quantized
    /// (straight-through) and the bias in float, as the MLP does; recording mean |output| when
    /// tracing.
    ///
    /// The product runs on [batch·time, in]: Burn 0.22 sends a 3-D input through a batched
    /// matmul against the weight broadcast to [batch, in, out], so the weight's gradient came back
    /// as `batch` separate products summed afterwards; one 2-D product is the same sums in one
    /// kernel (#32: the reference run's 60 steps took 9.8–9.9 s natively instead of 10.9–11.1);
    /// on the CPU that product starts from the bias (`fused::linear`).
    pub(super) fn linear(&mut self, l: &Linear, x: Tensor<3>) -> Tensor<3> {
        let [b, t, d_in] = x.dims();
        let y = self.product(l, self.weight(l), x.reshape([b * t, d_in]));
        let [_, d_out] = y.dims();
        let y = y.reshape([b, t, d_out]);
        if let Some(t) = self.trace.as_deref_mut() {
            t.linear(&y);
        }
        y
    }

    /// `l`(x) on rows: [n, in] → [n, out], as [`Pass::linear`] (the GPU's order, which keeps
    /// the residual stream as rows; see [`super::Block`]).
    pub(super) fn linear_rows(&mut self, l: &Linear, x: Tensor<2>) -> Tensor<2> {
        let y = self.product(l, self.weight(l), x);
        if let Some(t) = self.trace.as_deref_mut() {
            t.linear(&y);
        }
        y
    }

    /// `l`'s weight as this pass uses it: fake-quantized (straight-through) under QAT.
    fn weight(&self, l: &Linear) -> Tensor<2> {
        match self.qat {
            None => l.weight.val(),
            Some(q) => straight_through(l.weight.val(), q),
        }
    }

    /// x [n, in]·`w` + `l`'s bias (in float) → [n, out].
    fn product(&self, l: &Linear, w: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
        fused::linear(x, w, l.bias.as_ref().map(|b| b.val()))
    }
}

impl Attention {
    /// x: [batch, time, d] → [batch, time, d], head-major: queries, keys and values as
    /// [b, h, t, dh] for the products over time (the CPU's order, kept so its curves replay to
    /// the last digit; the GPU's kernel takes [`Attention::forward_rows`]). `rope` rotates
    /// queries and keys per head.
    pub(super) fn forward(&self, x: Tensor<3>, pass: &mut Pass) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let h = self.heads;
        let dh = d / h;
        let split = |y: Tensor<3>| y.reshape([b, t, h, dh]).swap_dims(1, 2);
        let mut q = split(pass.linear(&self.q, x.clone()));
        let mut k = split(pass.linear(&self.k, x.clone()));
        let v = split(pass.linear(&self.v, x));
        if let (Some(qn), Some(kn)) = (&self.q_norm, &self.k_norm) {
            q = norm::apply(qn, q);
            k = norm::apply(kn, k);
        }
        if let Some(r) = pass.rope {
            // Rotary positions index the time axis of [b, h, t, dh].
            q = r.forward(q);
            k = r.forward(k);
        }
        // Position i attends to j ≤ i only; [b, t, h, dh] out.
        let out = Self::head_major(q, k, v, self.scale, pass.trace.as_deref_mut());
        pass.linear(&self.o, out.reshape([b, t, d]))
    }

    /// Whether [`Attention::forward_rows`] takes a pass over x [b, t, d]: where the GPU's
    /// attention kernel runs and the trace does not record the logits (the coordinate check).
    pub(super) fn takes_rows(&self, x: &Tensor<3>, pass: &Pass) -> bool {
        let logits_traced = pass.trace.as_deref().is_some_and(|tr| tr.coords);
        !logits_traced && fused::attention_kernel_takes(x, x.dims()[2] / self.heads)
    }

    /// The GPU's attention: x [b·t, d] (rows of `bt` = [b, t]) → [b·t, d]. Queries, keys and
    /// values come from one product against [W_q | W_k | W_v] ([d, 3d], their biases alike),
    /// read by the kernel in place as [b, t, 3·heads, d_head] views: the same sums as three
    /// products, but one product forward and two backward where three took three and six, and
    /// x's gradient arrives whole instead of as three parts added up (#32: with the blocks on
    /// rows, a reference step on lavapipe went from 169 launches to 145). A weight that is not
    /// f32 (natively quantized) keeps the three products.
    pub(super) fn forward_rows(&self, x: Tensor<2>, [b, t]: [usize; 2], pass: &mut Pass) -> Tensor<2> {
        let [n, d] = x.dims();
        let h = self.heads;
        let dh = d / h;
        let (wq, wk, wv) = (pass.weight(&self.q), pass.weight(&self.k), pass.weight(&self.v));
        let qkv = if [&wq, &wk, &wv].iter().all(|w| w.dtype() == DType::F32) {
            let bias = |l: &Linear| match &l.bias {
                Some(b) => b.val(),
                None => Tensor::zeros([d], &x.device()),
            };
            let w = Tensor::cat(vec![wq, wk, wv], 1); // [d, 3d]
            let bias = Tensor::cat(vec![bias(&self.q), bias(&self.k), bias(&self.v)], 0); // [3d]
            let y = fused::linear(x, w, Some(bias));
            if let Some(tr) = pass.trace.as_deref_mut() {
                tr.linear(&y);
            }
            y
        } else {
            let q = pass.product(&self.q, wq, x.clone());
            let k = pass.product(&self.k, wk, x.clone());
            let v = pass.product(&self.v, wv, x);
            Tensor::cat(vec![q, k, v], 1)
        };
        // [b, t, 3h, dh]: heads of queries, then of keys, then of values.
        let mut qkv = qkv.reshape([b, t, 3 * h, dh]);
        if self.q_norm.is_some() || pass.rope.is_some() {
            // Queries and keys changed per head before the kernel reads them, then put back
            // beside the values (a copy these options cost).
            let mut q = qkv.clone().narrow(2, 0, h);
            let mut k = qkv.clone().narrow(2, h, h);
            let v = qkv.narrow(2, 2 * h, h);
            if let (Some(qn), Some(kn)) = (&self.q_norm, &self.k_norm) {
                q = norm::apply(qn, q);
                k = norm::apply(kn, k);
            }
            if let Some(r) = pass.rope {
                // Rotary positions index the time axis of [b, h, t, dh].
                let rotate = |x: Tensor<4>| r.forward(x.swap_dims(1, 2)).swap_dims(1, 2);
                q = rotate(q);
                k = rotate(k);
            }
            qkv = Tensor::cat(vec![q, k, v], 2);
        }
        let pattern = pass
            .trace
            .as_deref()
            .is_some_and(|tr| tr.pattern_of == Some(tr.seen));
        let kept = pattern.then(|| qkv.clone());
        let (out, max, lse) = fused::causal_attention(qkv, self.scale, pass.trace.is_some().then_some(1));
        if let (Some(tr), Some(max)) = (pass.trace.as_deref_mut(), max) {
            tr.max_logits.push(max);
            if let (Some(qkv), Some(lse)) = (kept, lse) {
                tr.pattern = Some(fused::first_head_pattern(qkv, lse, self.scale));
            }
            tr.seen += 1;
        }
        pass.linear_rows(&self.o, out.reshape([n, d]))
    }

    /// Attention from head-major q, k, v [b, h, t, dh] → [b, t, h, dh]: the scores [b, h, t, t],
    /// the fused causal softmax, and the trace's records (each layer's largest logit, a head's
    /// pattern, the coordinate check's logits).
    fn head_major(
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
        scale: f64,
        mut trace: Option<&mut Trace>,
    ) -> Tensor<4> {
        let t = q.dims()[2];
        // Unscaled: the scale, the mask and the softmax are one op (`model::fused`).
        let scores = q.matmul(k.swap_dims(2, 3));
        if let Some(tr) = trace.as_deref_mut() {
            tr.attention_logits(&scores, scale);
        }
        let (probs, largest) = fused::causal_softmax(scores, scale, trace.is_some().then_some(1));
        if let Some(tr) = trace {
            tr.max_logits.extend(largest);
            if tr.pattern_of == Some(tr.seen) {
                let head = probs.clone().narrow(0, 0, 1).narrow(1, 0, 1);
                tr.pattern = Some(head.detach().reshape([t * t]));
            }
            tr.seen += 1;
        }
        probs.matmul(v).swap_dims(1, 2)
    }
}
