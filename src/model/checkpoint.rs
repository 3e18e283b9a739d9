//! Checkpoints: safetensors files holding a torchvision-compatible ResNet state_dict, and a
//! layout-independent model hash.
//!
//! Loading is strict: every name, shape and dtype must match the architecture, and all
//! mismatches are reported in one error (tch's own `VarStore::load` ignores extra keys and
//! broadcasts shapes, so a `[64,1,7,7]` kernel would silently load into `[64,3,7,7]`).
//! Float parameters are stored as F32 and `num_batches_tracked` as I64, as torchvision does.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

use super::resnet::{Arch, ResNet, ResNetConfig};
use super::ModelError;
use crate::io::{hex, write_atomic};

/// Metadata key sarxai writes into the safetensors header.
pub const FORMAT: &str = "sarxai-resnet-v1";

fn dtype_of(kind: Kind) -> Result<Dtype, ModelError> {
    match kind {
        Kind::Float => Ok(Dtype::F32),
        Kind::Double => Ok(Dtype::F64),
        Kind::Int64 => Ok(Dtype::I64),
        k => Err(ModelError::Config(format!(
            "unsupported parameter kind {k:?}"
        ))),
    }
}

/// The tch kind of a safetensors dtype (the three a checkpoint may hold).
pub(crate) fn kind_of(dtype: Dtype) -> Option<Kind> {
    match dtype {
        Dtype::F32 => Some(Kind::Float),
        Dtype::F64 => Some(Kind::Double),
        Dtype::I64 => Some(Kind::Int64),
        _ => None,
    }
}

/// One state_dict entry in canonical form: CPU, contiguous, little-endian bytes, with
/// float parameters in F32 (the stored precision) whatever precision the model runs in.
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn canonical_state(model: &ResNet) -> Result<BTreeMap<String, Entry>, ModelError> {
    let mut out = BTreeMap::new();
    for (name, t) in model.vs.variables() {
        let t = t.detach().to_device(Device::Cpu);
        let t = if t.is_floating_point() {
            t.to_kind(Kind::Float)
        } else {
            t
        };
        let t = t.contiguous();
        let dtype = dtype_of(t.kind())?;
        let numel = t.numel();
        let mut bytes = vec![0u8; numel * t.kind().elt_size_in_bytes()];
        t.f_copy_data_u8(&mut bytes, numel)?;
        let shape = t.size().iter().map(|&d| d as usize).collect();
        out.insert(
            name,
            Entry {
                dtype,
                shape,
                bytes,
            },
        );
    }
    Ok(out)
}

/// SHA-256 of the model's canonical serialization: for every entry in sorted name order,
/// `name \0 dtype \0 ndim(u64 LE) dims(u64 LE each) nbytes(u64 LE) bytes(LE)`.
/// Independent of file layout and metadata, stable across save and load.
pub fn model_hash(model: &ResNet) -> Result<String, ModelError> {
    let mut h = Sha256::new();
    for (name, e) in canonical_state(model)? {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(format!("{:?}", e.dtype).as_bytes());
        h.update([0]);
        h.update((e.shape.len() as u64).to_le_bytes());
        for d in &e.shape {
            h.update((*d as u64).to_le_bytes());
        }
        h.update((e.bytes.len() as u64).to_le_bytes());
        h.update(&e.bytes);
    }
    Ok(hex(&h.finalize()))
}

/// Writes the model's state_dict as safetensors (atomically), with its architecture in
/// the header metadata.
pub fn save(model: &ResNet, path: &Path) -> Result<(), ModelError> {
    let state = canonical_state(model)?;
    let views = state
        .iter()
        .map(|(n, e)| {
            Ok((
                n.clone(),
                TensorView::new(e.dtype, e.shape.clone(), &e.bytes)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| ModelError::Config(format!("cannot serialize: {e}")))?;
    // One metadata key: safetensors keeps metadata in a HashMap, whose order (and so the
    // file's bytes) would otherwise vary from run to run.
    let header = serde_json::json!({ "format": FORMAT, "config": model.config }).to_string();
    let meta = std::collections::HashMap::from([("sarxai".to_string(), header)]);
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| ModelError::Config(format!("cannot serialize: {e}")))?;
    write_atomic(path, &bytes).map_err(|e| ModelError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// What a checkpoint file holds, read from its tensor names and shapes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckpointInfo {
    /// Architecture, input channels and classes inferred from the tensors.
    pub config: ResNetConfig,
    /// Number of scalar parameters (BatchNorm running statistics excluded).
    pub parameters: i64,
    /// Number of tensors in the file.
    pub tensors: usize,
}

fn read_file(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|e| ModelError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>, ModelError> {
    SafeTensors::deserialize(bytes).map_err(|e| ModelError::NotSafetensors {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Infers architecture, input channels and classes from the tensor names and shapes
/// (works for torchvision exports without sarxai metadata); `shape` gives a named
/// tensor's shape, None when the file lacks it.
pub(crate) fn infer_config(
    path: &Path,
    shape: &dyn Fn(&str) -> Option<Vec<usize>>,
) -> Result<ResNetConfig, ModelError> {
    let bad = |why: String| ModelError::NotResNet {
        path: path.to_path_buf(),
        reason: why,
    };
    let conv1 = shape("conv1.weight").ok_or_else(|| bad("no conv1.weight".into()))?;
    let fc = shape("fc.weight").ok_or_else(|| bad("no fc.weight".into()))?;
    if conv1.len() != 4 || fc.len() != 2 {
        return Err(bad(format!("conv1.weight {conv1:?}, fc.weight {fc:?}")));
    }
    let bottleneck = shape("layer1.0.conv3.weight").is_some();
    let blocks: Vec<usize> = (1..=4)
        .map(|l| {
            (0..)
                .take_while(|b| shape(&format!("layer{l}.{b}.conv1.weight")).is_some())
                .count()
        })
        .collect();
    let arch = Arch::ALL
        .into_iter()
        .find(|a| a.bottleneck() == bottleneck && a.blocks().as_slice() == blocks.as_slice())
        .ok_or_else(|| {
            bad(format!(
                "blocks per stage {blocks:?}, bottleneck {bottleneck}"
            ))
        })?;
    ResNetConfig::new(arch, conv1[1] as i64, fc[0] as i64).map_err(|e| bad(e.to_string()))
}

/// Reads a safetensors checkpoint's architecture and size without building the model.
pub(crate) fn inspect_safetensors(path: &Path) -> Result<CheckpointInfo, ModelError> {
    let bytes = read_file(path)?;
    let st = parse(path, &bytes)?;
    let config = infer_config(path, &|n| st.tensor(n).ok().map(|t| t.shape().to_vec()))?;
    let model = ResNet::new(config, Device::Cpu);
    Ok(CheckpointInfo {
        config,
        parameters: model.parameter_count(),
        tensors: st.len(),
    })
}

/// The state_dict a checkpoint holds, as the model builder reads it: the names in the
/// file, each tensor's shape and dtype, and the tensor itself (copied out on demand).
pub(crate) trait StateDict {
    /// Every tensor name in the file.
    fn names(&self) -> Vec<String>;
    /// Shape and dtype of a named tensor; None when the file lacks it.
    fn meta(&self, name: &str) -> Option<(Vec<usize>, Dtype)>;
    /// The named tensor on the CPU (called only for names `meta` knows).
    fn tensor(&self, name: &str) -> Result<Tensor, ModelError>;
}

impl StateDict for SafeTensors<'_> {
    fn names(&self) -> Vec<String> {
        SafeTensors::names(self)
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    fn meta(&self, name: &str) -> Option<(Vec<usize>, Dtype)> {
        let v = SafeTensors::tensor(self, name).ok()?;
        Some((v.shape().to_vec(), v.dtype()))
    }

    fn tensor(&self, name: &str) -> Result<Tensor, ModelError> {
        let view =
            SafeTensors::tensor(self, name).map_err(|e| ModelError::Config(e.to_string()))?;
        let kind =
            kind_of(view.dtype()).ok_or_else(|| ModelError::Config(format!("{name}: dtype")))?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        Ok(Tensor::f_from_data_size(view.data(), &shape, kind)?)
    }
}

/// Loads a safetensors checkpoint into a new model on `device`. With `arch` given, the
/// file must be of that architecture; every mismatch of names, shapes and dtypes is listed
/// in one error.
pub(crate) fn load_safetensors(
    path: &Path,
    arch: Option<Arch>,
    device: Device,
) -> Result<ResNet, ModelError> {
    let bytes = read_file(path)?;
    let st = parse(path, &bytes)?;
    build(path, &st, arch, device)
}

/// Builds the model a state_dict describes: architecture, channels and classes inferred
/// from the shapes, checked against `arch` when given, every name, shape and dtype
/// compared with the architecture's (all problems in one error), every float finite.
pub(crate) fn build(
    path: &Path,
    state: &dyn StateDict,
    arch: Option<Arch>,
    device: Device,
) -> Result<ResNet, ModelError> {
    let config = infer_config(path, &|n| state.meta(n).map(|m| m.0))?;
    if let Some(a) = arch.filter(|&a| a != config.arch) {
        let c = config;
        return Err(ModelError::Mismatch {
            path: path.to_path_buf(),
            problems: vec![format!(
                "file holds a {} ({} channels, {} classes), --arch asked for {a}",
                c.arch, c.in_channels, c.num_classes
            )],
        });
    }
    let model = ResNet::new(config, device);
    let vars = model.vs.variables();
    let problems = mismatches(&vars, state)?;
    if !problems.is_empty() {
        return Err(ModelError::Mismatch {
            path: path.to_path_buf(),
            problems,
        });
    }
    tch::no_grad(|| -> Result<(), ModelError> {
        for (name, var) in &vars {
            let t = state.tensor(name)?;
            if t.is_floating_point() && !bool::try_from(t.isfinite().all())? {
                return Err(ModelError::NonFinite {
                    path: path.to_path_buf(),
                    name: name.clone(),
                });
            }
            var.shallow_clone().f_copy_(&t)?;
        }
        Ok(())
    })?;
    Ok(model)
}

/// The differences between the model's variables and a state_dict, sorted: `missing`
/// names, names whose shape or dtype differs (floats are stored as F32), `unexpected`
/// names.
fn mismatches(
    vars: &std::collections::HashMap<String, Tensor>,
    state: &dyn StateDict,
) -> Result<Vec<String>, ModelError> {
    let mut problems = Vec::new();
    for (name, var) in vars {
        let Some((shape, dtype)) = state.meta(name) else {
            problems.push(format!("missing {name} {:?}", var.size()));
            continue;
        };
        let want: Vec<usize> = var.size().iter().map(|&d| d as usize).collect();
        let want_dtype = dtype_of(if var.is_floating_point() {
            Kind::Float
        } else {
            var.kind()
        })?;
        if shape != want {
            problems.push(format!(
                "{name}: shape {shape:?} in file, expected {want:?}"
            ));
        }
        if dtype != want_dtype {
            problems.push(format!(
                "{name}: dtype {dtype:?} in file, expected {want_dtype:?}"
            ));
        }
    }
    let mut extra: Vec<String> = state
        .names()
        .into_iter()
        .filter(|n| !vars.contains_key(n))
        .map(|n| format!("unexpected {n}"))
        .collect();
    problems.append(&mut extra);
    problems.sort();
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{inspect, load};

    fn tiny() -> ResNet {
        tch::manual_seed(7);
        ResNet::new(
            ResNetConfig::new(Arch::Resnet18, 1, 3).unwrap(),
            Device::Cpu,
        )
    }

    #[test]
    fn save_load_save_keeps_hash_and_logits() {
        let dir = tempfile::tempdir().unwrap();
        let m = tiny();
        // Non-trivial BN statistics.
        tch::no_grad(|| {
            for (n, v) in m.vs.variables() {
                if n.ends_with("running_mean") {
                    let _ = v.shallow_clone().uniform_(-0.1, 0.1);
                }
            }
        });
        let p1 = dir.path().join("a.safetensors");
        save(&m, &p1).unwrap();
        let m2 = load(&p1, Some(Arch::Resnet18), Device::Cpu).unwrap();
        let p2 = dir.path().join("b.safetensors");
        save(&m2, &p2).unwrap();
        assert_eq!(model_hash(&m).unwrap(), model_hash(&m2).unwrap());
        assert_eq!(std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap());
        let x = Tensor::randn([2, 1, 64, 64], (Kind::Float, Device::Cpu));
        assert!(m.forward(&x).equal(&m2.forward(&x)));
        let info = inspect(&p1).unwrap();
        assert_eq!(info.config, m.config);
    }

    #[test]
    fn hash_changes_with_one_weight() {
        let m = tiny();
        let h = model_hash(&m).unwrap();
        tch::no_grad(|| {
            let _ = m.vs.variables()["fc.bias"]
                .shallow_clone()
                .get(0)
                .fill_(123.0);
        });
        assert_ne!(h, model_hash(&m).unwrap());
    }

    #[test]
    fn wrong_arch_truncated_and_garbage_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        save(&tiny(), &p).unwrap();
        let e = load(&p, Some(Arch::Resnet50), Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(e.contains("resnet18") && e.contains("resnet50"), "{e}");
        let bytes = std::fs::read(&p).unwrap();
        let t = dir.path().join("t.safetensors");
        std::fs::write(&t, &bytes[..bytes.len() / 2]).unwrap();
        assert!(matches!(
            load(&t, None, Device::Cpu),
            Err(ModelError::NotSafetensors { .. })
        ));
        let g = dir.path().join("g.safetensors");
        std::fs::write(&g, b"not a checkpoint at all").unwrap();
        assert!(matches!(
            load(&g, None, Device::Cpu),
            Err(ModelError::NotSafetensors { .. })
        ));
    }

    #[test]
    fn shape_and_name_mismatches_are_listed_together() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let m = tiny();
        let mut state: Vec<(String, Tensor)> = m.vs.variables().into_iter().collect();
        state.retain(|(n, _)| n != "fc.bias");
        state.push((
            "bogus.weight".into(),
            Tensor::zeros([2], (Kind::Float, Device::Cpu)),
        ));
        for (n, t) in &mut state {
            if n == "bn1.weight" {
                *t = Tensor::ones([65], (Kind::Float, Device::Cpu));
            }
        }
        Tensor::write_safetensors(&state, &p).unwrap();
        let ModelError::Mismatch { problems, .. } = load(&p, None, Device::Cpu).unwrap_err() else {
            panic!("expected a mismatch")
        };
        let all = problems.join("\n");
        assert!(all.contains("missing fc.bias"), "{all}");
        assert!(all.contains("unexpected bogus.weight"), "{all}");
        assert!(all.contains("bn1.weight: shape [65]"), "{all}");
    }
}
