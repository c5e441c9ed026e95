//! Models on Burn: the MLP and the transformer (`gpt`, #13), LoRA adapters on their layers, quantization of its weights, and the
//! devices they run on. Knobs reach a model through its layers' names and roles
//! (`Mlp::param_specs`), never through its fields.

pub mod backend;
pub mod gpt;
pub mod init;
pub mod lora;
pub mod mlp;
pub mod quant;

pub use mlp::{Mlp, ParamSpec};
