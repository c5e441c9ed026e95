//! Causal multi-head self-attention, and what a forward pass carries through the blocks: the
//! rotary table, QAT's format and the trace (`model::trace`).

use burn::module::Module;
use burn::nn::{Linear, RotaryEncoding};
use burn::prelude::*;

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
        let x = x.reshape([b * t, d_in]);
        let bias = l.bias.as_ref().map(|b| b.val());
        let y = match self.qat {
            None => fused::linear(x, l.weight.val(), bias),
            Some(q) => fused::linear(x, straight_through(l.weight.val(), q), bias),
        };
        let [_, d_out] = y.dims();
        let y = y.reshape([b, t, d_out]);
        if let Some(t) = self.trace.as_deref_mut() {
            t.linear(&y);
        }
        y
    }
}

impl Attention {
    /// x: [batch, time, d] → [batch, time, d]. `rope` rotates queries and keys per head.
    pub(super) fn forward(&self, x: Tensor<3>, pass: &mut Pass) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let h = self.heads;
        let dh = d / h;
        // Where the GPU's attention kernel runs (and the trace records no scores) the heads stay
        // in the projections' rows, [b, t, h, dh], which the kernel reads in place; otherwise
        // they go head-major, [b, h, t, dh], for the products over time (the CPU's order, kept
        // so its curves replay to the last digit).
        let scores_traced = pass
            .trace
            .as_deref()
            .is_some_and(|tr| tr.coords || tr.pattern_of == Some(tr.seen));
        let rows = !scores_traced && fused::attention_kernel_takes(&x, dh);
        let split = |y: Tensor<3>| {
            let y = y.reshape([b, t, h, dh]);
            if rows { y } else { y.swap_dims(1, 2) }
        };
        let mut q = split(pass.linear(&self.q, x.clone()));
        let mut k = split(pass.linear(&self.k, x.clone()));
        let v = split(pass.linear(&self.v, x));
        if let (Some(qn), Some(kn)) = (&self.q_norm, &self.k_norm) {
            q = norm::apply(qn, q);
            k = norm::apply(kn, k);
        }
        if let Some(r) = pass.rope {
            // Rotary positions index the time axis of [b, h, t, dh].
            let rotate = |x: Tensor<4>| match rows {
                true => r.forward(x.swap_dims(1, 2)).swap_dims(1, 2),
                false => r.forward(x),
            };
            q = rotate(q);
            k = rotate(k);
        }
        // Position i attends to j ≤ i only; [b, t, h, dh] out.
        let out = if rows {
            // The scale, the mask, the softmax and both products in one kernel, and the
            // largest logit where it is traced.
            let (out, max) = fused::causal_attention(q, k, v, self.scale, pass.trace.is_some());
            if let (Some(tr), Some(max)) = (pass.trace.as_deref_mut(), max) {
                tr.max_logits.push(max);
                tr.seen += 1;
            }
            out
        } else {
            Self::head_major(q, k, v, self.scale, pass.trace.as_deref_mut())
        };
        pass.linear(&self.o, out.reshape([b, t, d]))
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
        let (probs, largest) = fused::causal_softmax(scores, scale, trace.is_some());
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
