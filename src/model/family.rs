//! The model-family interface: what every family (the MLP, the transformer, and the next one)
//! gives the knobs and the trainer. The knobs reach a model only through it — its layers by name
//! and role, its tensors' specs, its quantized copy — never through a family's fields; the
//! trainer (`train::Trainer`) is written once against it.
//!
//! A trait rather than an enum over families: each family keeps its own input and output types
//! (features [batch, d] → logits [batch, classes]; tokens [batch, t] → logits [batch, t, vocab])
//! and its own struct, and adding one touches no match elsewhere. What differs in how a family
//! is trained (its data, loss and measurements) is its objective (`train::Objective`).

use burn::module::{Module, Param, ParamId};
use burn::nn::{Embedding, Linear};
use burn::prelude::{Device, Tensor};

use super::trace::Trace;
use crate::data::Rng;
use crate::knobs::ExperimentConfig;
use crate::knobs::mup::{Part, Role};
use crate::knobs::quant::QuantConfig;
use burn::nn::norm::Normalization;

/// One tensor of the model as μP and the optimizer groups see it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub id: ParamId,
    pub role: Role,
    pub part: Part,
}

/// A parameterised layer of a model: the name the knobs address it by, its μP role, and what it is.
pub struct Layer<'a> {
    pub name: String,
    pub role: Role,
    pub kind: LayerKind<'a>,
}

/// What a layer is.
pub enum LayerKind<'a> {
    /// y = x·W + b, W: [in, out] (Burn's layout): LoRA and quantization address these.
    Linear(&'a Linear),
    /// Rows of a table looked up by token: [n, d].
    Embedding(&'a Embedding),
    /// A norm's gain (and bias).
    Norm(&'a Normalization),
}

impl<'a> Layer<'a> {
    pub fn linear(name: impl Into<String>, role: Role, l: &'a Linear) -> Self {
        Self {
            name: name.into(),
            role,
            kind: LayerKind::Linear(l),
        }
    }

    pub fn embedding(name: impl Into<String>, role: Role, e: &'a Embedding) -> Self {
        Self {
            name: name.into(),
            role,
            kind: LayerKind::Embedding(e),
        }
    }

    pub fn norm(name: impl Into<String>, role: Role, n: &'a Normalization) -> Self {
        Self {
            name: name.into(),
            role,
            kind: LayerKind::Norm(n),
        }
    }

    /// Every tensor of this layer with its part: weights, biases, norms' gains and biases (as
    /// biases: vector-like), and the LoRA factors once attached (frozen ones included).
    fn specs(&self) -> Vec<ParamSpec> {
        let mut out = Vec::new();
        self.each(|suffix, part, p| {
            out.push(ParamSpec {
                name: format!("{}.{suffix}", self.name),
                id: p.id(),
                role: self.role,
                part,
            })
        });
        out
    }

    /// Every tensor of this layer as it trained, with its name, shape and values flattened: a
    /// LoRA layer's base W0 unmerged (its factors apart, as [`Part::LoraA`] and
    /// [`Part::LoraB`]), any other reparameterization applied (a random subspace's θ0 + P·z).
    pub fn values(&self) -> Vec<(ParamSpec, Vec<usize>, Tensor<1>)> {
        let mut out = Vec::new();
        self.each(|suffix, part, p| {
            let (shape, values) = p.trained();
            let spec = ParamSpec {
                name: format!("{}.{suffix}", self.name),
                id: p.id(),
                role: self.role,
                part,
            };
            out.push((spec, shape, values));
        });
        out
    }

    /// Calls `f` with each tensor's suffix, part and parameter.
    fn each(&self, mut f: impl FnMut(&str, Part, AnyParam<'_>)) {
        match &self.kind {
            LayerKind::Linear(l) => {
                f(Part::Weight.suffix(), Part::Weight, AnyParam::Two(&l.weight));
                if let Some(b) = &l.bias {
                    f(Part::Bias.suffix(), Part::Bias, AnyParam::One(b));
                }
                if let Some(ad) = l.weight.adapter() {
                    f(Part::LoraA.suffix(), Part::LoraA, AnyParam::Two(&ad.a));
                    f(Part::LoraB.suffix(), Part::LoraB, AnyParam::Two(&ad.b));
                }
            }
            LayerKind::Embedding(e) => f(Part::Weight.suffix(), Part::Weight, AnyParam::Two(&e.weight)),
            // Every kind of norm Burn offers, so that no family's gain or bias escapes the
            // optimizer's groups (a batch norm's running statistics are not parameters).
            LayerKind::Norm(n) => {
                let (gamma, beta) = match n {
                    Normalization::Layer(l) => (Some(&l.gamma), l.beta.as_ref()),
                    Normalization::Rms(r) => (Some(&r.gamma), None),
                    Normalization::Batch(b) => (Some(&b.gamma), Some(&b.beta)),
                    Normalization::Group(g) => (g.gamma.as_ref(), g.beta.as_ref()),
                    Normalization::Instance(i) => (i.gamma.as_ref(), i.beta.as_ref()),
                    // Identity has no parameters; the enum is non-exhaustive, and a norm Burn
                    // adds later is unknown to μP until it is named here.
                    _ => (None, None),
                };
                if let Some(g) = gamma {
                    f("gamma", Part::Bias, AnyParam::One(g));
                }
                if let Some(b) = beta {
                    f("beta", Part::Bias, AnyParam::One(b));
                }
            }
        }
    }
}

/// A layer's parameter of either rank.
#[derive(Clone, Copy)]
enum AnyParam<'a> {
    One(&'a Param<Tensor<1>>),
    Two(&'a Param<Tensor<2>>),
}

impl AnyParam<'_> {
    fn id(self) -> ParamId {
        match self {
            AnyParam::One(p) => p.id,
            AnyParam::Two(p) => p.id,
        }
    }

    /// Its shape and values as trained (see [`Layer::values`]), detached and flattened.
    fn trained(self) -> (Vec<usize>, Tensor<1>) {
        fn flat<const D: usize>(p: &Param<Tensor<D>>) -> (Vec<usize>, Tensor<1>) {
            let t = match p.adapter() {
                Some(_) => p.base(),
                None => p.val(),
            }
            .detach();
            let shape = t.dims().to_vec();
            let n = shape.iter().product::<usize>();
            (shape, t.reshape([n]))
        }
        match self {
            AnyParam::One(p) => flat(p),
            AnyParam::Two(p) => flat(p),
        }
    }
}

/// A family that reads vector tasks (the 2-D toys, the digits, the planted teacher): features
/// [batch, d_in] in, logits or predictions [batch, d_out] out. `train::vector` trains any of
/// them on those tasks, so such a family brings no objective of its own.
pub trait VectorFamily: Family<Input = Tensor<2>, Output = Tensor<2>> {
    /// The model `cfg` describes for `d_in` features and `d_out` outputs, its weights drawn from
    /// `rng` (the run's init stream).
    fn build(cfg: &ExperimentConfig, d_in: usize, d_out: usize, rng: &mut Rng, device: &Device) -> Self;

    /// The planted task's student, the linear map x ↦ x·W starting at the teacher's W0
    /// (`[d, d]` row-major); `None` for a family that cannot be one.
    fn student(_w0: Vec<f32>, _d: usize, _device: &Device) -> Option<Self> {
        None
    }
}

/// A model family on Burn.
pub trait Family: Module + Clone + Sized + 'static {
    /// What the model reads: a batch of features [batch, d] or of tokens [batch, t].
    type Input: Clone;
    /// What it returns: logits or predictions, [batch, out] or [batch, t, vocab].
    type Output;

    /// `x` → the model's output. With a trace, the pass records what the trace asks for (the
    /// coordinate check's statistic, the attention logits, a head's pattern).
    fn forward(&self, x: Self::Input, trace: Option<&mut Trace>) -> Self::Output;

    /// Every parameterised layer, in forward order, with its name and μP role.
    fn layers(&self) -> Vec<Layer<'_>>;

    /// A copy with its quantizable weights rounded to `q` (biases, norms and positions stay
    /// float): PTQ's model and QLoRA's frozen base. With `native`, Burn's own quantization where
    /// it covers the whole model. A LoRA layer's merged weight is what gets rounded.
    fn quantized(&self, q: &QuantConfig, native: bool) -> Self;

    /// Weights quantization rounds beyond the linear layers' (the token embedding with `qemb`),
    /// rounded as stored transposed: one scale per row of the embedding, i.e. per token.
    fn extra_rounded(&self, _q: &QuantConfig) -> Vec<ParamId> {
        Vec::new()
    }

    /// This model trained through fake quantization to `q` (QAT), or not (`None`).
    fn with_qat(self, q: Option<QuantConfig>) -> Self;

    /// The linear layers with their names, in forward order: what LoRA's `target` selects (a
    /// layer's position here is its index), what the adapters attach to, and what quantization
    /// and its figure read.
    fn linears(&self) -> Vec<(String, &Linear)> {
        self.layers()
            .into_iter()
            .filter_map(|l| match l.kind {
                LayerKind::Linear(linear) => Some((l.name, linear)),
                _ => None,
            })
            .collect()
    }

    /// Every tensor the optimizer may update, with its name ("hidden.1.lora_b"), id, and the
    /// role and part μP's tables are indexed by, layer by layer.
    fn param_specs(&self) -> Vec<ParamSpec> {
        self.layers().iter().flat_map(Layer::specs).collect()
    }
}
