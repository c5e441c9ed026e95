//! K MLPs of one shape as one model (#33): every parameter with a leading run axis, so a layer is
//! one batched product for all K runs where each run took its own. Built from the K runs' own
//! [`Mlp`]s (each initialised from its run's seed exactly as it is alone); what differs between
//! the runs beyond their weights — μP's forward multipliers, the residual branch's β — is a
//! `[K, 1, 1]` factor. Runs never mix: every operation is per run (a batched product, a per-row
//! activation), so one run's NaN stays in its own slice, and a run can leave the stack
//! ([`StackedMlp::retain`]) without touching the others. The planted task's linear student stacks
//! too, and an adaptation phase attaches LoRA adapters to every run at once
//! ([`StackedMlp::attach`]: factors `[K, in, r]` and `[K, r, out]`, each run's γ a factor).
//!
//! The parameters live outside the model (`train::stack` keeps them and hands them to
//! [`StackedMlp::forward`] as autodiff leaves or, to measure, as plain tensors).

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation;

use super::Mlp;
use super::quant::stacked::RunsQuant;
use crate::knobs::arch::Activation;
use crate::knobs::mup::{Part, Role};
use crate::knobs::quant::QuantConfig;

/// The stacked model's structure and per-run factors; its parameters are the caller's.
#[derive(Clone)]
pub struct StackedMlp {
    /// Runs in the stack.
    pub runs: usize,
    /// Each parameter's μP role and part, in [`StackedMlp::new`]'s order (the adapters' factors
    /// after the base's once attached).
    pub roles: Vec<(Role, Part)>,
    act: Activation,
    /// α_in on the input layer's output, `[K, 1, 1]`; `None` where every run's is 1.
    input_mult: Option<Tensor<3>>,
    /// MuReadout's α_out/m on the readout's input, `[K, 1, 1]`; `None` where every run's is 1.
    readout_input_mult: Option<Tensor<3>>,
    /// β of the residual blocks, `[K, 1, 1]`; `None` for a plain MLP.
    branch_mult: Option<Tensor<3>>,
    /// Hidden layers between the input layer and the readout.
    hidden: usize,
    /// The planted task's student: one bias-free linear map (no input layer, no hidden layer).
    student: bool,
    /// Each run's multipliers as numbers (α_in, α_out/m, β), to give a run its own model back
    /// ([`StackedMlp::unstack`]).
    scalars: Vec<(f64, f64, Option<f64>)>,
    /// LoRA adapters on some layers, once the adaptation phase attached them.
    adapters: Option<Adapters>,
    /// Each linear layer's `(in, out)`, in the forward pass's order.
    shapes: Vec<(usize, usize)>,
    /// QAT: every weight fake-quantized in the forward pass at its run's bits.
    qat: Option<RunsQuant>,
}

/// The stack's LoRA adapters: which linear layers carry one (positions in the forward pass, as
/// `Family::linears` counts them) and each run's γ. Their factors A `[K, in, r]` and B
/// `[K, r, out]` follow the base's parameters, layer after layer.
#[derive(Clone)]
struct Adapters {
    layers: Vec<usize>,
    /// γ, `[K, 1, 1]`.
    gamma: Tensor<3>,
    gammas: Vec<f64>,
}

/// One factor a run, `[K, 1, 1]`, or `None` when every run's is 1 (a multiply skipped, as the
/// unstacked model skips it under SP).
fn per_run(values: &[f64], device: &Device) -> Option<Tensor<3>> {
    if values.iter().all(|&v| v == 1.0) {
        return None;
    }
    Some(factors(values, device))
}

/// `values` as `[K, 1, 1]`.
fn factors(values: &[f64], device: &Device) -> Tensor<3> {
    let v: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(v, [values.len(), 1, 1]), device)
}

/// A model's linear layers in forward order: input, hidden, readout (the student: readout).
fn linears(m: &Mlp) -> Vec<&Linear> {
    let mut l: Vec<&Linear> = m.input.iter().collect();
    l.extend(m.hidden.iter());
    l.push(&m.readout);
    l
}

/// Run k's slice of a stacked parameter `[K, a, b]`, as `[a, b]`.
fn slice(p: &Tensor<3>, k: usize) -> Tensor<2> {
    let [_, a, b] = p.dims();
    p.clone().narrow(0, k, 1).reshape([a, b])
}

impl StackedMlp {
    /// The stack of `models` (the same shape: MLPs, or the planted task's linear students), on
    /// `device` (plain: the factors are constants), and its initial parameters
    /// ([`StackedMlp::parameters`]).
    pub fn new(models: &[Mlp], device: &Device) -> (Self, Vec<Tensor<3>>) {
        let first = &models[0];
        let student = first.input.is_none();
        let count = linears(first).len();
        let mut roles = Vec::new();
        for i in 0..count {
            let role = match i {
                _ if student => Role::Fixed,
                0 => Role::Input,
                _ if i + 1 == count => Role::Readout,
                _ => Role::Hidden,
            };
            roles.push((role, Part::Weight));
            if !student {
                roles.push((role, Part::Bias));
            }
        }
        let mults = |f: &dyn Fn(&Mlp) -> f64| models.iter().map(f).collect::<Vec<_>>();
        let branch = first
            .branch_mult
            .map(|_| mults(&|m| m.branch_mult.unwrap_or(1.0)));
        let model = Self {
            runs: models.len(),
            roles,
            act: first.act,
            input_mult: per_run(&mults(&|m| m.input_mult), device),
            readout_input_mult: per_run(&mults(&|m| m.readout_input_mult), device),
            // β = 1 still marks a residual block: the stream is kept either way.
            branch_mult: branch
                .map(|b| per_run(&b, device).unwrap_or_else(|| Tensor::ones([models.len(), 1, 1], device))),
            hidden: first.hidden.len(),
            student,
            scalars: models
                .iter()
                .map(|m| (m.input_mult, m.readout_input_mult, m.branch_mult))
                .collect(),
            adapters: None,
            shapes: linears(first)
                .iter()
                .map(|l| {
                    let [i, o] = l.weight.val().dims();
                    (i, o)
                })
                .collect(),
            qat: None,
        };
        (model, Self::parameters(models))
    }

    /// The stack trained through fake quantization (QAT) at each run's settings `q` (one a
    /// run; a run at 32 bits trains in float).
    pub fn with_qat(mut self, q: &[&QuantConfig], device: &Device) -> Self {
        self.qat = RunsQuant::new(q, &self.shapes, device);
        self
    }

    /// The parameters of `models` stacked: each linear layer's weight `[K, in, out]` and bias
    /// `[K, 1, out]` (the student's one weight, no bias), input layer first.
    pub fn parameters(models: &[Mlp]) -> Vec<Tensor<3>> {
        let per_model: Vec<Vec<&Linear>> = models.iter().map(linears).collect();
        let mut params = Vec::new();
        for i in 0..per_model[0].len() {
            let weights = per_model.iter().map(|l| l[i].weight.val().inner()).collect();
            params.push(Tensor::stack::<3>(weights, 0)); // [K, in, out]
            if per_model[0][i].bias.is_none() {
                continue;
            }
            let biases: Vec<Tensor<2>> = per_model
                .iter()
                .map(|l| {
                    let b = l[i].bias.as_ref().expect("the layer has a bias in every run");
                    b.val().inner().unsqueeze_dim(0) // [1, out]
                })
                .collect();
            params.push(Tensor::stack::<3>(biases, 0)); // [K, 1, out]
        }
        params
    }

    /// Parameters of the base model (the adapters' factors follow them).
    fn base_len(&self) -> usize {
        self.roles.len() - 2 * self.adapters.as_ref().map_or(0, |a| a.layers.len())
    }

    /// Linear layers in the forward pass.
    fn layer_count(&self) -> usize {
        if self.student { 1 } else { self.hidden + 2 }
    }

    /// Where layer `i`'s weight and bias sit among the parameters.
    fn slots(&self, i: usize) -> (usize, Option<usize>) {
        if self.student {
            (i, None)
        } else {
            (2 * i, Some(2 * i + 1))
        }
    }

    /// Attaches LoRA adapters to the `layers` (positions in the forward pass; their factors are
    /// appended to the parameters by the caller, A then B a layer) with each run's `gammas`.
    pub fn attach(&mut self, layers: Vec<usize>, gammas: Vec<f64>, device: &Device) {
        for &l in &layers {
            let role = self.roles[self.slots(l).0].0;
            self.roles.push((role, Part::LoraA));
            self.roles.push((role, Part::LoraB));
        }
        self.adapters = Some(Adapters {
            layers,
            gamma: factors(&gammas, device),
            gammas,
        });
    }

    /// The same stack without its adapters (and QAT): for parameters whose adapters are merged
    /// (and whose weights are rounded).
    pub fn without_adapters(&self) -> Self {
        let mut m = self.clone();
        m.roles.truncate(self.base_len());
        m.adapters = None;
        m.qat = None;
        m
    }

    /// Keeps only the runs at `idx` (`[K']`, positions in the stack; `keep` the same on the
    /// host): their factors.
    pub fn retain(&mut self, keep: &[usize], idx: &Tensor<1, Int>) {
        let pick = |t: &mut Option<Tensor<3>>| {
            if let Some(x) = t.take() {
                *t = Some(x.select(0, idx.clone()));
            }
        };
        pick(&mut self.input_mult);
        pick(&mut self.readout_input_mult);
        pick(&mut self.branch_mult);
        self.scalars = keep.iter().map(|&k| self.scalars[k]).collect();
        if let Some(q) = &mut self.qat {
            q.retain(keep, idx);
        }
        if let Some(a) = &mut self.adapters {
            a.gamma = a.gamma.clone().select(0, idx.clone());
            a.gammas = keep.iter().map(|&k| a.gammas[k]).collect();
        }
        self.runs = keep.len();
    }

    /// Run `k`'s own model from `params` (plain tensors): its weights, with any adapter merged
    /// (W + γ·A·B, as Burn's LoRA materializes it), its biases and its multipliers — what the
    /// unstacked run holds at this step, for what measures one model at a time (PTQ's rounding,
    /// QLoRA's base, the adapters' draws).
    pub fn unstack(&self, params: &[Tensor<3>], k: usize) -> Mlp {
        let layer = |i: usize| {
            let (w, b) = self.slots(i);
            let mut weight = slice(&params[w], k);
            if let Some(a) = &self.adapters
                && let Some(j) = a.layers.iter().position(|&l| l == i)
            {
                let at = self.base_len() + 2 * j;
                let delta = slice(&params[at], k).matmul(slice(&params[at + 1], k));
                weight = weight + delta.mul_scalar(a.gammas[k]);
            }
            Linear {
                weight: Param::from_tensor(weight),
                bias: b.map(|b| {
                    let [_, _, out] = params[b].dims();
                    Param::from_tensor(params[b].clone().narrow(0, k, 1).reshape([out]))
                }),
            }
        };
        let n = self.layer_count();
        let (input_mult, readout_input_mult, branch_mult) = self.scalars[k];
        Mlp {
            input: (!self.student).then(|| layer(0)),
            hidden: (1..n.saturating_sub(1))
                .filter(|_| !self.student)
                .map(layer)
                .collect(),
            readout: layer(n - 1),
            act: self.act,
            input_mult,
            readout_input_mult,
            branch_mult,
            qat: None,
        }
    }

    fn activate(&self, x: Tensor<3>) -> Tensor<3> {
        match self.act {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => activation::tanh(x),
            Activation::Gelu => activation::gelu(x),
        }
    }

    /// Layer `i`'s weight, `[K, in, out]`: the base's, plus γ·A·B where it carries an adapter
    /// (W0 + (A·B)·γ, Burn's LoRA's order), fake-quantized under QAT.
    fn weight(&self, params: &[Tensor<3>], i: usize) -> Tensor<3> {
        let w = params[self.slots(i).0].clone();
        let adapter = self
            .adapters
            .as_ref()
            .and_then(|a| Some((a, a.layers.iter().position(|&l| l == i)?)));
        let w = match adapter {
            Some((a, j)) => {
                let at = self.base_len() + 2 * j;
                // [K, in, r] · [K, r, out] → [K, in, out]
                w + params[at].clone().matmul(params[at + 1].clone()) * a.gamma.clone()
            }
            None => w,
        };
        match &self.qat {
            Some(q) => q.straight_through(w),
            None => w,
        }
    }

    /// x: `[K, batch, d_in]` → logits `[K, batch, classes]` (the student: predictions
    /// `[K, batch, d]`), run k through `params`' slice k: the unstacked [`Mlp`]'s forward pass,
    /// layer by layer, with each multiply by a factor that is 1 for every run skipped as it
    /// skips it.
    pub fn forward(&self, params: &[Tensor<3>], x: Tensor<3>) -> Tensor<3> {
        // x: [K, b, in] · W: [K, in, out] + b: [K, 1, out] → [K, b, out].
        let apply = |i: usize, x: Tensor<3>| {
            let y = x.matmul(self.weight(params, i));
            match self.slots(i).1 {
                Some(b) => y + params[b].clone(),
                None => y,
            }
        };
        if self.student {
            return apply(0, x); // [K, b, d]
        }
        let scaled = |x: Tensor<3>, k: &Option<Tensor<3>>| match k {
            Some(k) => x * k.clone(),
            None => x,
        };
        let z = scaled(apply(0, x), &self.input_mult); // [K, b, width]
        let h = match &self.branch_mult {
            None => {
                let mut h = self.activate(z);
                for i in 1..=self.hidden {
                    h = self.activate(apply(i, h)); // [K, b, width]
                }
                h
            }
            Some(beta) => {
                let mut stream = z; // [K, b, width]
                for i in 1..=self.hidden {
                    let branch = apply(i, self.activate(stream.clone()));
                    stream = stream + branch * beta.clone();
                }
                self.activate(stream)
            }
        };
        apply(self.hidden + 1, scaled(h, &self.readout_input_mult)) // [K, b, classes]
    }
}
