//! Models on Burn: the model-family interface ([`Family`]) and its families — the MLP and the
//! transformer (`gpt`, #13), the matrix-sensing task's factors (`factor`) — LoRA adapters on their layers, quantization of their weights, the
//! trace a forward pass records, and the devices they run on. Knobs reach a model through its
//! layers' names and roles (`Family::layers`), never through its fields.

pub mod backend;
pub mod bias_only;
pub mod checkpoint;
pub mod factor;
pub mod family;
pub mod fastfood;
pub mod fused;
pub mod gpt;
pub mod init;
pub mod lora;
pub mod mlp;
pub mod norm;
pub mod prune;
pub mod quant;
pub mod stacked;
pub mod subspace;
pub mod trace;

pub use factor::Factor;
pub use family::{Family, Layer, LayerKind, ParamSpec, VectorFamily};
pub use mlp::Mlp;
pub use trace::Trace;
