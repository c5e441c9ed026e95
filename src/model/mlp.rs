//! The MLP. Layers are named `input`, `hidden.{i}` and `readout` so parameter paths are stable: the
//! μP and LoRA knobs select parameter groups by these names. The planted-rank task's student is the
//! same type with no hidden layer: a single linear map (`readout`, no bias) starting at the
//! teacher's W0.
//!
//! With `res`, the input layer writes a residual stream h = α_in·(W_in·x + b) and every hidden
//! layer is a block h ← h + β·(W·φ(h) + b) with branch multiplier β = 1 or 1/√L for L blocks; the
//! readout reads φ(h). This is the Depth-μP form (Tensor Programs VI; RESEARCH.md E5): each
//! branch adds a zero-mean term, so with β = 1/√L the stream's variance grows by a bounded
//! factor (1 + c/L)^L ≤ e^c as depth grows, and a learning rate tuned at one depth transfers.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation;

use super::init::seeded_linear;
use crate::data::Rng;
use crate::knobs::ExperimentConfig;
use crate::knobs::arch::Activation;
use crate::knobs::mup::{Part, Role};
use crate::knobs::quant::{QMode, QuantConfig};
use crate::model::quant::tensor::{fake_quant, straight_through};

/// One tensor of the model as μP and the optimizer groups see it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub id: burn::module::ParamId,
    pub role: Role,
    pub part: Part,
}

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
            qat: (cfg.quant.enabled() && cfg.quant.mode == QMode::Qat).then(|| cfg.quant.clone()),
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

    /// The linear layers in forward order with their names; a layer's position here is its
    /// index for LoRA's `target`.
    pub fn layers(&self) -> Vec<(String, &Linear)> {
        let mut out: Vec<(String, &Linear)> = Vec::new();
        if let Some(input) = &self.input {
            out.push(("input".into(), input));
        }
        for (i, h) in self.hidden.iter().enumerate() {
            out.push((format!("hidden.{}", i + 1), h));
        }
        out.push(("readout".into(), &self.readout));
        out
    }

    fn activate(&self, x: Tensor<2>) -> Tensor<2> {
        match self.act {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => activation::tanh(x),
            Activation::Gelu => activation::gelu(x),
        }
    }

    /// x: [batch, d_in] → logits: [batch, classes] (or predictions [batch, d_out] for the linear
    /// student, which applies its one layer with no activation).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward_traced(x, &mut |_| {})
    }

    /// [`forward`](Self::forward), handing every linear layer's output (after μP's multipliers,
    /// before the activation), [batch, out], to `seen` in forward order: the coordinate check's
    /// probe. The trace is what `mup`'s coord check hooks: each Linear's (and MuReadout's) output.
    pub fn forward_traced(&self, x: Tensor<2>, seen: &mut dyn FnMut(&Tensor<2>)) -> Tensor<2> {
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

    /// A copy with every weight rounded to `q`'s format (biases stay float): PTQ's model, and
    /// QLoRA's frozen base. A LoRA layer's merged weight is what gets rounded. With `native`,
    /// Burn quantizes and dequantizes where it supports `q` for every layer; the reference
    /// rounding otherwise (both give the same values where both apply).
    pub fn quantized(&self, q: &QuantConfig, native: bool) -> Mlp {
        let mut m = self.clone();
        let dims = |l: &Linear| l.weight.val().dims()[0];
        let all_native = native
            && self
                .layers()
                .iter()
                .all(|(_, l)| crate::model::quant::native::scheme(q, dims(l)).is_some());
        let round = |l: &mut Linear| {
            let w = l.weight.val().detach();
            // Only ask Burn when it covers every layer (and the device), so a model is never
            // half one path and half the other.
            let packed = if all_native {
                crate::model::quant::native::quantize(w.clone(), q)
            } else {
                None
            };
            let r = match packed {
                Some(packed) => packed.dequantize(),
                None => fake_quant(w, q),
            };
            l.weight = Param::from_tensor(r.detach());
        };
        if let Some(input) = m.input.as_mut() {
            round(input);
        }
        for l in m.hidden.iter_mut() {
            round(l);
        }
        round(&mut m.readout);
        m.qat = None;
        m
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

    /// Each linear layer's μP role, in forward order (as [`layers`](Self::layers)).
    pub fn roles(&self) -> Vec<Role> {
        let Some(_) = &self.input else {
            return vec![Role::Fixed]; // the planted task's student has no width
        };
        let mut out = vec![Role::Input];
        out.extend(self.hidden.iter().map(|_| Role::Hidden));
        out.push(Role::Readout);
        out
    }

    /// Every tensor the optimizer may update, with its name ("hidden.1.lora_b"), id, and the
    /// role and part μP's tables are indexed by: weights, biases and, once attached, the LoRA
    /// factors (frozen ones included; they get no gradient).
    pub fn param_specs(&self) -> Vec<ParamSpec> {
        let mut out = Vec::new();
        for ((name, l), role) in self.layers().into_iter().zip(self.roles()) {
            let mut push = |part: Part, id| {
                out.push(ParamSpec {
                    name: format!("{name}.{}", part.suffix()),
                    id,
                    role,
                    part,
                })
            };
            push(Part::Weight, l.weight.id);
            if let Some(b) = &l.bias {
                push(Part::Bias, b.id);
            }
            if let Some(ad) = l.weight.adapter() {
                push(Part::LoraA, ad.a.id);
                push(Part::LoraB, ad.b.id);
            }
        }
        out
    }

    /// Number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        self.num_params()
    }
}
