//! Training checkpoints: one safetensors file written atomically after every epoch,
//! holding the model (`model.<name>`), the optimizer state (`optim.m.<name>`,
//! `optim.v.<name>`), optionally the best model so far (`best.<name>`), and the loop state
//! as JSON in the header metadata (key `sarxai-train`).
//!
//! One file, one rename: a kill at any moment leaves the previous epoch's checkpoint or
//! the new one, never a mix.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::data::UsedDigests;
use super::metrics::EpochMetrics;
use super::optim::Optimizer;
use crate::io::write_atomic;
use crate::model::checkpoint::kind_of;
use crate::model::{ResNet, ResNetConfig};

/// Format tag of the checkpoint metadata.
pub const FORMAT: &str = "sarxai-train-checkpoint-1";
const META_KEY: &str = "sarxai-train";

/// The best epoch so far (by validation accuracy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestEpoch {
    /// The epoch (1-based).
    pub epoch: usize,
    /// Its validation accuracy, in `[0, 1]`.
    pub val_accuracy: f64,
    /// Its model's hash.
    pub model_hash: String,
}

/// The loop state after a completed epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// `sarxai-train-checkpoint-1`.
    pub format: String,
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimizer updates done.
    pub optimizer_steps: u64,
    /// Architecture, channels and classes of the model.
    pub model: ResNetConfig,
    /// [`crate::model::model_hash`] of the model in the file.
    pub model_hash: String,
    /// [`super::TrainConfig::fingerprint`] of the run's configuration.
    pub config: serde_json::Value,
    /// The data directory's manifest digest (`train::data::data_digest`).
    pub data_digest: String,
    /// Split digests of the samples trained, validated and tested on.
    pub digests: UsedDigests,
    /// One row per completed epoch.
    pub metrics: Vec<EpochMetrics>,
    /// The best epoch so far.
    pub best: Option<BestEpoch>,
}

/// A checkpoint read back.
#[derive(Debug)]
pub struct Loaded {
    /// The loop state.
    pub state: CheckpointState,
    /// The model's tensors by state_dict name.
    pub model: BTreeMap<String, Tensor>,
    /// The optimizer's state (`m.<name>`, `v.<name>`).
    pub optim: BTreeMap<String, Tensor>,
    /// The best epoch's model tensors.
    pub best: BTreeMap<String, Tensor>,
}

fn dtype_of(kind: Kind) -> Option<Dtype> {
    match kind {
        Kind::Float => Some(Dtype::F32),
        Kind::Double => Some(Dtype::F64),
        Kind::Int64 => Some(Dtype::I64),
        _ => None,
    }
}

struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn raw(t: &Tensor) -> Result<Raw, String> {
    let t = t.detach().to_device(Device::Cpu).contiguous();
    let dtype = dtype_of(t.kind()).ok_or_else(|| format!("unsupported kind {:?}", t.kind()))?;
    let numel = t.numel();
    let mut bytes = vec![0u8; numel * t.kind().elt_size_in_bytes()];
    t.f_copy_data_u8(&mut bytes, numel)
        .map_err(|e| e.to_string())?;
    Ok(Raw {
        dtype,
        shape: t.size().iter().map(|&d| d as usize).collect(),
        bytes,
    })
}

/// The model's variables (exact kinds, CPU) by name.
pub fn model_tensors(model: &ResNet) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = model
        .vs
        .variables()
        .into_iter()
        .map(|(n, t)| (n, t.detach().to_device(Device::Cpu).copy()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Writes a checkpoint atomically.
pub fn save(
    path: &Path,
    model: &ResNet,
    opt: &Optimizer,
    best: Option<&[(String, Tensor)]>,
    state: &CheckpointState,
) -> Result<(), String> {
    let mut entries: Vec<(String, Raw)> = Vec::new();
    for (n, t) in model_tensors(model) {
        entries.push((format!("model.{n}"), raw(&t)?));
    }
    for (n, t) in opt.state_tensors() {
        entries.push((format!("optim.{n}"), raw(&t)?));
    }
    for (n, t) in best.unwrap_or(&[]) {
        entries.push((format!("best.{n}"), raw(t)?));
    }
    let views = entries
        .iter()
        .map(|(n, r)| {
            TensorView::new(r.dtype, r.shape.clone(), &r.bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let meta = std::collections::HashMap::from([(
        META_KEY.to_string(),
        serde_json::to_string(state).map_err(|e| e.to_string())?,
    )]);
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| e.to_string())?;
    write_atomic(path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads a checkpoint written by [`save`].
pub fn load(path: &Path) -> Result<Loaded, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| {
        format!(
            "{} is not a safetensors file ({e}); it may be truncated",
            path.display()
        )
    })?;
    let meta = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| {
            format!(
                "{} is not a sarxai training checkpoint (no {META_KEY} metadata)",
                path.display()
            )
        })?;
    let state: CheckpointState = serde_json::from_str(meta)
        .map_err(|e| format!("{}: bad checkpoint state: {e}", path.display()))?;
    if state.format != FORMAT {
        return Err(format!(
            "{}: checkpoint format {:?}, this sarxai reads {FORMAT:?}",
            path.display(),
            state.format
        ));
    }
    let st = SafeTensors::deserialize(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut model, mut optim, mut best) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for (name, view) in st.tensors() {
        let kind = kind_of(view.dtype())
            .ok_or_else(|| format!("{name}: unsupported dtype {:?}", view.dtype()))?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let t = Tensor::f_from_data_size(view.data(), &shape, kind).map_err(|e| e.to_string())?;
        if let Some(n) = name.strip_prefix("model.") {
            model.insert(n.to_string(), t);
        } else if let Some(n) = name.strip_prefix("optim.") {
            optim.insert(n.to_string(), t);
        } else if let Some(n) = name.strip_prefix("best.") {
            best.insert(n.to_string(), t);
        } else {
            return Err(format!("{}: unexpected tensor {name}", path.display()));
        }
    }
    Ok(Loaded {
        state,
        model,
        optim,
        best,
    })
}

/// Copies `tensors` into `model`'s variables after checking that names, shapes and kinds
/// match exactly; every problem is listed.
pub fn restore_model(model: &ResNet, tensors: &BTreeMap<String, Tensor>) -> Result<(), String> {
    let vars = model.vs.variables();
    let mut problems = Vec::new();
    for (name, var) in &vars {
        match tensors.get(name) {
            None => problems.push(format!("missing {name}")),
            Some(t) if t.size() != var.size() => problems.push(format!(
                "{name}: shape {:?} in the checkpoint, {:?} in the model",
                t.size(),
                var.size()
            )),
            Some(t) if t.kind() != var.kind() => problems.push(format!(
                "{name}: kind {:?}, expected {:?}",
                t.kind(),
                var.kind()
            )),
            Some(_) => {}
        }
    }
    for n in tensors.keys().filter(|n| !vars.contains_key(*n)) {
        problems.push(format!("unexpected {n}"));
    }
    if !problems.is_empty() {
        problems.sort();
        let more = problems.len().saturating_sub(8);
        problems.truncate(8);
        if more > 0 {
            problems.push(format!("... and {more} more"));
        }
        return Err(problems.join("; "));
    }
    tch::no_grad(|| {
        for (name, var) in &vars {
            var.shallow_clone().copy_(&tensors[name]);
        }
    });
    Ok(())
}
