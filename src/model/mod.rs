//! Models on Burn: the MLP and the transformer (`gpt`, #13), LoRA adapters on their layers,
//! quantization of their weights, and the devices they run on. Knobs reach a model through its
//! layers' names and roles ([`Layered`], `param_specs`), never through its fields.

pub mod backend;
pub mod gpt;
pub mod init;
pub mod lora;
pub mod mlp;
pub mod quant;

pub use mlp::{Mlp, ParamSpec};

/// A model whose linear layers the knobs address by name (LoRA's `target`, quantization).
pub trait Layered {
    /// Every linear layer with its name, in forward order; a layer's position here is its index
    /// for LoRA's `target`.
    fn layers(&self) -> Vec<(String, &burn::nn::Linear)>;
}

impl Layered for Mlp {
    fn layers(&self) -> Vec<(String, &burn::nn::Linear)> {
        Mlp::layers(self)
    }
}

impl Layered for gpt::Gpt {
    fn layers(&self) -> Vec<(String, &burn::nn::Linear)> {
        gpt::Gpt::layers(self)
    }
}
