//! A model's weights as a file (#35): safetensors (the format peft, transformers and Sequence
//! Toy write), every tensor named as the knobs name it ("hidden.1.weight", "block.0.attn.qkv.bias"),
//! the run's link and family in the metadata. The base weights (a LoRA layer's unmerged W0) and
//! the adapters are two checkpoints, as peft keeps them. Loading maps each named tensor onto the
//! parameter of that name, after checking that the family, every name and every shape agree.

use std::collections::{BTreeMap, HashMap};

use burn::module::{ModuleMapper, Param, ParamId};
use burn::prelude::*;

use super::Family;
use crate::knobs::ExperimentConfig;
use crate::knobs::mup::Part;
use crate::vocab::Named as _;

/// Metadata keys tinytune writes.
/// The largest weights file read: a model within the parameter cap is 20 MB in f32, so a file far
/// beyond it is not one of ours (the page and the CLI refuse it before reading it).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

pub const META_LINK: &str = "tinytune.link";
pub const META_FAMILY: &str = "tinytune.family";
pub const META_STEPS: &str = "tinytune.steps";
pub const META_KIND: &str = "tinytune.kind";

/// One tensor of a checkpoint: its name, shape and values (row-major f32).
#[derive(Clone, Debug, PartialEq)]
pub struct Named {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Named tensors and their metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    pub tensors: Vec<Named>,
    pub meta: BTreeMap<String, String>,
}

/// A tensor of the model queued for the readback: its name, shape, whether it is an adapter's
/// factor, and its values flattened.
pub struct Queued {
    pub name: String,
    pub shape: Vec<usize>,
    pub adapter: bool,
    pub values: Tensor<1>,
}

/// Every tensor of `model` in the order of its layers, queued (`Layer::values`: a LoRA layer's
/// base unmerged, any other reparameterization applied), each LoRA factor flagged as the
/// adapters'.
pub fn queue<M: Family>(model: &M) -> Vec<Queued> {
    model
        .layers()
        .iter()
        .flat_map(|layer| layer.values())
        .map(|(spec, shape, values)| Queued {
            adapter: matches!(spec.part, Part::LoraA | Part::LoraB),
            name: spec.name,
            shape,
            values,
        })
        .collect()
}

/// Replaces parameters by id with new values, keeping whether each records gradients.
struct Assign(HashMap<ParamId, Named>);

impl ModuleMapper for Assign {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(named) = self.0.remove(&param.id) else {
            return param;
        };
        param.map(|old| {
            let grad = old.is_require_grad();
            let shape: [usize; D] = named.shape.clone().try_into().expect("shapes checked before");
            let new = Tensor::<D>::from_data(TensorData::new(named.values, shape), &old.device());
            if grad { new.require_grad() } else { new }
        })
    }
}

/// `model` with the checkpoint's weights: refused, with what differs, unless every base tensor
/// of the model is in `ck` under its name with its shape and `ck` holds nothing else. Adapters
/// are not loaded here (an adaptation phase attaches fresh ones).
pub fn load<M: Family>(model: M, ck: &Checkpoint) -> Result<M, String> {
    let queued: Vec<Queued> = queue(&model).into_iter().filter(|q| !q.adapter).collect();
    let ids: HashMap<String, ParamId> = model.param_specs().into_iter().map(|s| (s.name, s.id)).collect();
    let mut file: HashMap<&str, &Named> = ck.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut assign = HashMap::new();
    let mut missing = Vec::new();
    for q in &queued {
        match file.remove(q.name.as_str()) {
            None => missing.push(q.name.clone()),
            Some(t) if t.shape != q.shape => {
                return Err(format!(
                    "{} is {:?} in the file and {:?} in this experiment's model (its width, depth, vocabulary or context differ)",
                    q.name, t.shape, q.shape
                ));
            }
            Some(t) => {
                assign.insert(ids[&q.name], t.clone());
            }
        }
    }
    let extra: Vec<&str> = file.into_keys().collect();
    if !missing.is_empty() || !extra.is_empty() {
        let list = |v: Vec<String>| {
            let shown: Vec<String> = v.iter().take(4).cloned().collect();
            let more = v.len().saturating_sub(4);
            format!(
                "{}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        };
        let mut why = Vec::new();
        if !missing.is_empty() {
            why.push(format!("this model's {} not in the file", list(missing)));
        }
        if !extra.is_empty() {
            let mut extra: Vec<String> = extra.into_iter().map(str::to_string).collect();
            extra.sort();
            why.push(format!("the file's {} not in this model", list(extra)));
        }
        return Err(format!("the weights are another model's: {}", why.join("; ")));
    }
    Ok(model.map(&mut Assign(assign)))
}

/// What tinytune writes beside the tensors: the run's link (its experiment, data included while
/// the link carries it), its family, its steps, and that these are the base weights.
pub fn metadata(cfg: &ExperimentConfig, steps: usize) -> BTreeMap<String, String> {
    BTreeMap::from([
        (META_LINK.to_string(), crate::link::url::experiment_query(cfg)),
        (META_FAMILY.to_string(), cfg.family().key().to_string()),
        (META_STEPS.to_string(), steps.to_string()),
        (META_KIND.to_string(), "base".to_string()),
    ])
}

/// A checkpoint tinytune wrote for another family, or of adapters alone, is refused by what it
/// is before any name is compared.
pub fn check_family(ck: &Checkpoint, cfg: &ExperimentConfig) -> Result<(), String> {
    if ck.meta.get(META_KIND).map(String::as_str) == Some("adapters") {
        return Err("the file holds adapters only; load the base weights it was saved beside".into());
    }
    let here = cfg.family().key();
    match ck.meta.get(META_FAMILY) {
        Some(there) if there != here => Err(format!(
            "the file holds the weights of {} and this experiment trains {}",
            crate::keys::MODEL.is(there),
            crate::keys::MODEL.is(here)
        )),
        _ => Ok(()),
    }
}

/// What differs, beyond names and shapes, between the run that wrote `ck` (its link in the
/// metadata) and `cfg`: the knobs that change what the same weights compute (activation,
/// heads, positions, norms, μP's multipliers) and, for the char LM, the text whose characters
/// the token ids name. Loading goes on (a deliberate change is an experiment); the CLI says so.
pub fn differences(ck: &Checkpoint, cfg: &ExperimentConfig) -> Vec<String> {
    use crate::keys;
    let Some(link) = ck.meta.get(META_LINK) else {
        return Vec::new();
    };
    let theirs = crate::link::url::parse(link).study;
    let mut ours = theirs.clone();
    ours.experiment = cfg.clone();
    let mut out: Vec<String> = [
        &keys::ACT,
        &keys::RES,
        &keys::HEADS,
        &keys::POS,
        &keys::NORM,
        &keys::QKLN,
        &keys::TIED,
        &keys::PARAM,
        &keys::BW,
        &keys::AIN,
        &keys::AOUT,
        &keys::AMULT,
    ]
    .into_iter()
    .filter(|k| (k.unused_in)(cfg).is_none())
    .filter_map(|k| {
        let (a, b) = (
            crate::link::url::value_text(&theirs, k),
            crate::link::url::value_text(&ours, k),
        );
        (a != b).then(|| {
            format!(
                "the weights were trained with {} and this run has {}",
                k.is(&a),
                k.is(&b)
            )
        })
    })
    .collect();
    let text = |c: &ExperimentConfig| {
        c.data
            .as_ref()
            .filter(|d| d.text().is_some() || d.body().is_none())
            .map(|d| d.hash().to_string())
    };
    if cfg.is_transformer()
        && cfg.task == crate::knobs::task::Task::Text
        && text(&theirs.experiment) != text(cfg)
    {
        out.push(
            "the weights were trained on another text: the same token ids may name other characters".into(),
        );
    }
    out
}

impl Checkpoint {
    /// The safetensors bytes: every tensor F32, the metadata as the header's `__metadata__`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        // Little-endian, as safetensors stores them.
        let buffers: Vec<Vec<u8>> = self
            .tensors
            .iter()
            .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = self
            .tensors
            .iter()
            .zip(&buffers)
            .map(|(t, bytes)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, t.shape.clone(), bytes)
                    .map(|v| (t.name.clone(), v))
                    .map_err(|e| format!("{}: {e}", t.name))
            })
            .collect::<Result<_, _>>()?;
        let meta: HashMap<String, String> = self.meta.clone().into_iter().collect();
        safetensors::serialize(views, Some(meta))
            .map_err(|e| format!("the weights could not be written: {e}"))
    }

    /// Reads safetensors bytes: refused unless every tensor is F32 (what tinytune trains in).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| format!("the file is not safetensors ({e})"))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| format!("the file is not safetensors ({e})"))?;
        let meta: BTreeMap<String, String> = header
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut tensors = Vec::new();
        for (name, view) in st.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(format!(
                    "{name} is {:?}; tinytune reads F32 weights",
                    view.dtype()
                ));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.push(Named {
                name,
                shape: view.shape().to_vec(),
                values,
            });
        }
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { tensors, meta })
    }
}
