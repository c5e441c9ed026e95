//! K MLPs of one shape as one model (#33): every parameter with a leading run axis, so a layer is
//! one batched product for all K runs where each run took its own. Built from the K runs' own
//! [`Mlp`]s (each initialised from its run's seed exactly as it is alone); what differs between
//! the runs beyond their weights — μP's forward multipliers, the residual branch's β — is a
//! `[K, 1, 1]` factor. Runs never mix: every operation is per run (a batched product, a per-row
//! activation), so one run's NaN stays in its own slice, and a run can leave the stack
//! ([`StackedMlp::retain`]) without touching the others.
//!
//! The parameters live outside the model (`train::stack` keeps them and hands them to
//! [`StackedMlp::forward`] as autodiff leaves or, to measure, as plain tensors).

use burn::prelude::*;
use burn::tensor::activation;

use super::Mlp;
use crate::knobs::arch::Activation;
use crate::knobs::mup::{Part, Role};

/// The stacked model's structure and per-run factors; its parameters are the caller's.
pub struct StackedMlp {
    /// Runs in the stack.
    pub runs: usize,
    /// Each parameter's μP role and part, in [`StackedMlp::parameters`]'s order.
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
}

/// One factor a run, `[K, 1, 1]`, or `None` when every run's is 1 (a multiply skipped, as the
/// unstacked model skips it under SP).
fn per_run(values: &[f64], device: &Device) -> Option<Tensor<3>> {
    if values.iter().all(|&v| v == 1.0) {
        return None;
    }
    let v: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Some(Tensor::from_data(
        TensorData::new(v, [values.len(), 1, 1]),
        device,
    ))
}

impl StackedMlp {
    /// The stack of `models` (the same shape, each with an input layer: not the planted task's
    /// student), on `device` (plain: the factors are constants), and its initial parameters:
    /// each linear layer's weight `[K, in, out]` and bias `[K, 1, out]`, input layer first.
    pub fn new(models: &[Mlp], device: &Device) -> (Self, Vec<Tensor<3>>) {
        let first = &models[0];
        let layers = |m: &Mlp| {
            let mut l = vec![m.input.clone().expect("a stacked MLP has an input layer")];
            l.extend(m.hidden.iter().cloned());
            l.push(m.readout.clone());
            l
        };
        let per_model: Vec<_> = models.iter().map(layers).collect();
        let mut params = Vec::new();
        let mut roles = Vec::new();
        let count = per_model[0].len();
        for i in 0..count {
            let role = match i {
                0 => Role::Input,
                _ if i + 1 == count => Role::Readout,
                _ => Role::Hidden,
            };
            let weights = per_model.iter().map(|l| l[i].weight.val().inner()).collect();
            params.push(Tensor::stack::<3>(weights, 0)); // [K, in, out]
            roles.push((role, Part::Weight));
            let biases: Vec<Tensor<2>> = per_model
                .iter()
                .map(|l| {
                    let b = l[i]
                        .bias
                        .as_ref()
                        .expect("every MLP layer has a bias")
                        .val()
                        .inner();
                    b.unsqueeze_dim(0) // [1, out]
                })
                .collect();
            params.push(Tensor::stack::<3>(biases, 0)); // [K, 1, out]
            roles.push((role, Part::Bias));
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
            hidden: count - 2,
        };
        (model, params)
    }

    /// Keeps only the runs at `idx` (`[K']`, positions in the stack): their factors.
    pub fn retain(&mut self, idx: &Tensor<1, Int>) {
        let pick = |t: &mut Option<Tensor<3>>| {
            if let Some(x) = t.take() {
                *t = Some(x.select(0, idx.clone()));
            }
        };
        pick(&mut self.input_mult);
        pick(&mut self.readout_input_mult);
        pick(&mut self.branch_mult);
        self.runs = idx.dims()[0];
    }

    fn activate(&self, x: Tensor<3>) -> Tensor<3> {
        match self.act {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => activation::tanh(x),
            Activation::Gelu => activation::gelu(x),
        }
    }

    /// x: `[K, batch, d_in]` → logits `[K, batch, classes]`, run k through `params`' slice k:
    /// the unstacked [`Mlp`]'s forward pass, layer by layer, with each multiply by a factor that
    /// is 1 for every run skipped as it skips it.
    pub fn forward(&self, params: &[Tensor<3>], x: Tensor<3>) -> Tensor<3> {
        // x: [K, b, in] · W: [K, in, out] + b: [K, 1, out] → [K, b, out].
        let apply = |i: usize, x: Tensor<3>| x.matmul(params[2 * i].clone()) + params[2 * i + 1].clone();
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
