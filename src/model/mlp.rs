//! The MLP. Layers are named `input`, `hidden.{i}` and `readout` so parameter paths are stable: the
//! μP and LoRA knobs select parameter groups by these names. The planted-rank task's student is the
//! same type with no hidden layer: a single linear map (`readout`, no bias) starting at the
//! teacher's W0.
//!
//! With `res`, the input layer writes a residual stream h = α_in·(W_in·x + b) and every hidden
//! layer is a block h ← h + β·(W·φ(h) + b) with branch multiplier β = 1 or 1/√L for L blocks; the
//! readout reads φ(h). This is the Depth-μP form (Tensor Programs VI; docs/EXPERIMENTS.md E5): each
//! branch adds a zero-mean term, so with β = 1/√L the stream's variance grows by a bounded
//! factor (1 + c/L)^L ≤ e^c as depth grows, and a learning rate tuned at one depth transfers.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation;

use super::family::{Family, Layer, VectorFamily};
use super::init::seeded_linear;
use super::trace::Trace;
use crate::data::Rng;
use crate::knobs::ExperimentConfig;
use crate::knobs::arch::Activation;
use crate::knobs::mup::{Part, Role};
use crate::knobs::quant::QuantConfig;
use crate::model::quant::tensor::{fake_quant, straight_through};

#[derive(Module, Debug)]
pub struct Mlp {
    /// `None` for the linear student of the planted task.
    pub input: Option<Linear>,
    pub hidden: Vec<Linear>,
    pub readout: Linear,
    #[module(skip)]
    pub act: Activation,
    /// μP's forward multipliers (1 under SP): α_in on the input layer's output, and MuReadout's
    /// α_out/m on the readout's *input*, so the readout bias is added unscaled.
    #[module(skip)]
    pub input_mult: f64,
    #[module(skip)]
    pub readout_input_mult: f64,
    /// β of the residual blocks; `None` for a plain MLP.
    #[module(skip)]
    pub branch_mult: Option<f64>,
    /// QAT: every weight is fake-quantized in the forward pass, gradients pass straight through.
    #[module(skip)]
    pub qat: Option<QuantConfig>,
}

/// `x · k`, skipping the multiply when k = 1 (SP): x: [batch, n] → [batch, n].
fn scaled(x: Tensor<2>, k: f64) -> Tensor<2> {
    if k == 1.0 { x } else { x.mul_scalar(k) }
}

impl Mlp {
    /// Input (d_in→w), [`ExperimentConfig::hidden_layers`] hidden (w→w), readout (w→classes).
    pub fn new(cfg: &ExperimentConfig, d_in: usize, classes: usize, rng: &mut Rng, device: &Device) -> Self {
        let (w, p) = (cfg.width, &cfg.mup);
        let blocks = cfg.hidden_layers();
        let std = |role, fan_in| p.init_std(role, Part::Weight, fan_in, w);
        Self {
            input: Some(seeded_linear(d_in, w, std(Role::Input, d_in), rng, device)),
            hidden: (0..blocks)
                .map(|_| seeded_linear(w, w, std(Role::Hidden, w), rng, device))
                .collect(),
            readout: seeded_linear(w, classes, std(Role::Readout, w), rng, device),
            act: cfg.act,
            input_mult: p.output_mult(Role::Input),
            readout_input_mult: p.input_mult(Role::Readout, w),
            branch_mult: cfg.residual.branch_mult(blocks),
            // The trainer sets QAT for every family (`Family::with_qat`).
            qat: None,
        }
    }

    /// The linear map x ↦ x·W (no bias) with W = `w` (`[d_in, d_out]` row-major): the planted
    /// task's student, starting at the teacher's W0.
    pub fn linear(w: Vec<f32>, d_in: usize, d_out: usize, device: &Device) -> Self {
        let weight = Tensor::<2>::from_data(TensorData::new(w, [d_in, d_out]), device);
        Self {
            input: None,
            hidden: Vec::new(),
            readout: Linear {
                weight: Param::from_tensor(weight),
                bias: None,
            },
            act: Activation::Relu,
            input_mult: 1.0,
            readout_input_mult: 1.0,
            branch_mult: None,
            qat: None,
        }
    }

    fn activate(&self, x: Tensor<2>) -> Tensor<2> {
        match self.act {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => activation::tanh(x),
            Activation::Gelu => activation::gelu(x),
        }
    }

    /// x: [batch, d_in] → logits: [batch, classes] (or predictions [batch, d_out] for the linear
    /// student, which applies its one layer with no activation). A trace records every linear
    /// layer's output (after μP's multipliers, before the activation), [batch, out]: what
    /// `mup`'s coord check hooks, each Linear's (and MuReadout's) output.
    fn forward_traced(&self, x: Tensor<2>, mut trace: Option<&mut Trace>) -> Tensor<2> {
        let mut seen = |z: &Tensor<2>| {
            if let Some(t) = trace.as_deref_mut() {
                t.linear(z);
            }
        };
        let Some(input) = &self.input else {
            let y = self.apply(&self.readout, x); // [batch, d_out]
            seen(&y);
            return y;
        };
        let z = scaled(self.apply(input, x), self.input_mult); // [batch, width]
        seen(&z);
        let h = match self.branch_mult {
            None => {
                let mut h = self.activate(z); // [batch, width]
                for layer in &self.hidden {
                    let z = self.apply(layer, h); // [batch, width]
                    seen(&z);
                    h = self.activate(z);
                }
                h
            }
            Some(beta) => {
                let mut stream = z; // [batch, width]
                for layer in &self.hidden {
                    let z = self.apply(layer, self.activate(stream.clone())); // [batch, width]
                    seen(&z);
                    stream = stream + scaled(z, beta);
                }
                self.activate(stream)
            }
        };
        // MuReadout: Linear(α_out·h/m), the bias unscaled.
        let y = self.apply(&self.readout, scaled(h, self.readout_input_mult)); // [batch, classes]
        seen(&y);
        y
    }

    /// One linear layer, x: [batch, in] → [batch, out]; under QAT with the weight fake-quantized
    /// (straight-through), the bias kept in float as quantized kernels do.
    fn apply(&self, layer: &Linear, x: Tensor<2>) -> Tensor<2> {
        let Some(q) = &self.qat else {
            return layer.forward(x);
        };
        let y = x.matmul(straight_through(layer.weight.val(), q));
        match &layer.bias {
            Some(b) => y + b.val().unsqueeze_dim(0),
            None => y,
        }
    }

    /// A copy with every weight rounded to `q`'s format (biases stay float). With `native`,
    /// Burn quantizes and dequantizes where it supports `q` for every layer; the reference
    /// rounding otherwise (both give the same values where both apply).
    fn rounded(&self, q: &QuantConfig, native: bool) -> Mlp {
        // Only ask Burn when it covers every layer (and the device), so a model is never half
        // one path and half the other.
        let all_native = native
            && self
                .linears()
                .iter()
                .all(|(_, l)| crate::model::quant::native::scheme(q, l.weight.val().dims()[0]).is_some());
        let round = |w: Tensor<2>| {
            let packed = if all_native {
                crate::model::quant::native::quantize(w.clone(), q)
            } else {
                None
            };
            match packed {
                Some(packed) => packed.dequantize(),
                None => fake_quant(w, q),
            }
        };
        crate::model::quant::round::rounded(self, q, &round)
    }

    /// A copy computing the same function whose first hidden unit is `k` times larger: the input
    /// layer's column 0 (and bias) × k, the next layer's row 0 ÷ k. ReLU commutes with a positive
    /// factor, so only the weights' ranges change: the "outlier channel" that per-tensor scales
    /// suffer from (plain ReLU MLPs only; validation checks).
    pub fn with_outlier(&self, k: f64) -> Mlp {
        let mut m = self.clone();
        let Some(input) = m.input.as_mut() else {
            return m;
        };
        let device = input.weight.val().device();
        let unit = |n: usize, v: f64| {
            let mut s = vec![1f32; n];
            s[0] = v as f32;
            Tensor::<1>::from_data(TensorData::new(s, [n]), &device)
        };
        let [_, w] = input.weight.val().dims();
        let cols = unit(w, k);
        input.weight = Param::from_tensor((input.weight.val() * cols.clone().unsqueeze_dim(0)).detach());
        if let Some(b) = input.bias.as_mut() {
            *b = Param::from_tensor((b.val() * cols).detach());
        }
        let next = m.hidden.first_mut().unwrap_or(&mut m.readout);
        let rows = unit(w, 1.0 / k).unsqueeze_dim(1); // [w, 1]
        next.weight = Param::from_tensor((next.weight.val() * rows).detach());
        m
    }
}

impl Family for Mlp {
    type Input = Tensor<2>;
    type Output = Tensor<2>;

    /// x: [batch, d_in] → [batch, classes] (see [`Mlp::forward_traced`]).
    fn forward(&self, x: Tensor<2>, trace: Option<&mut Trace>) -> Tensor<2> {
        self.forward_traced(x, trace)
    }

    /// `input`, `hidden.{i}`, `readout`, with μP's roles; the planted task's student is one
    /// `readout` of no width (role fixed).
    fn layers(&self) -> Vec<Layer<'_>> {
        let Some(input) = &self.input else {
            return vec![Layer::linear("readout", Role::Fixed, &self.readout)];
        };
        let mut out = vec![Layer::linear("input", Role::Input, input)];
        for (i, h) in self.hidden.iter().enumerate() {
            out.push(Layer::linear(format!("hidden.{}", i + 1), Role::Hidden, h));
        }
        out.push(Layer::linear("readout", Role::Readout, &self.readout));
        out
    }

    /// With the outlier channel first when `q` asks for one (`qout`).
    fn quantized(&self, q: &QuantConfig, native: bool) -> Self {
        if q.outlier == 1.0 {
            self.rounded(q, native)
        } else {
            self.with_outlier(q.outlier).rounded(q, native)
        }
    }

    fn with_qat(mut self, q: Option<QuantConfig>) -> Self {
        self.qat = q;
        self
    }
}

impl VectorFamily for Mlp {
    fn build(cfg: &ExperimentConfig, d_in: usize, d_out: usize, rng: &mut Rng, device: &Device) -> Self {
        Mlp::new(cfg, d_in, d_out, rng, device)
    }

    fn student(w0: Vec<f32>, d: usize, device: &Device) -> Option<Self> {
        Some(Mlp::linear(w0, d, d, device))
    }
}
