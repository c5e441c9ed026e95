//! Models on Burn: the MLP, LoRA adapters on its layers, quantization of its weights, and the
//! devices they run on. Knobs reach a model through its layers' names and roles
//! (`Mlp::param_specs`), never through its fields.

pub mod backend;
pub mod lora;
pub mod mlp;
pub mod quant;

pub use mlp::{Mlp, ParamSpec};
