//! PyTorch checkpoints in: the files training scripts leave (`torch.save(model.state_dict())`,
//! the same wrapped in a dict with the epoch and the optimizer, `module.` prefixes from
//! DataParallel, a Lightning module's `model.` prefix) and TorchScript archives, read without
//! Python (`torch.save` files by [`super::torch_pickle`], TorchScript by libtorch's
//! `torch::jit::load` through [`crate::shim::read_torchscript`]), then mapped to
//! torchvision's ResNet names and checked as strictly as a safetensors checkpoint
//! ([`super::checkpoint`]).
//!
//! Which state_dict: the tensors are grouped by the keys that lead to them (`state_dict`,
//! `model`, ...); a group is a ResNet's when some prefix `P` has `P conv1.weight`,
//! `P layer1.0.conv1.weight` and `P fc.weight` (the shortest such `P` is stripped). One
//! such group is taken; several are an error that lists them (`--key` chooses).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use safetensors::tensor::Dtype;
use tch::{Device, Kind, Tensor};

use super::checkpoint::{build, StateDict};
use super::resnet::{Arch, ResNet, ResNetConfig};
use super::torch_pickle::{tensors_in, unpickle_file};
use super::ModelError;
use crate::shim::read_torchscript;

/// The two kinds of PyTorch file sarxai reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TorchFormat {
    /// `torch.save(obj, path)` (the zip format of torch >= 1.6).
    Pickle,
    /// `torch.jit.save(torch.jit.script(model), path)`.
    TorchScript,
}

/// The tensors of a PyTorch file, each with the keys leading to it (dict keys, list
/// indices; for TorchScript one key, the attribute path), and the classes a pickle held
/// that were not interpreted (a whole model shows up there).
struct TorchFile {
    format: TorchFormat,
    tensors: Vec<(Vec<String>, Tensor)>,
    objects: Vec<String>,
}

/// What an import read and did, for the user and the run's records.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    /// The PyTorch file.
    pub source: PathBuf,
    /// SHA-256 of the PyTorch file's bytes.
    pub source_sha256: String,
    /// Which libtorch reader read it.
    pub format: TorchFormat,
    /// The keys leading to the state_dict, joined by `/` (empty: the file is the dict).
    pub state_dict_at: String,
    /// The prefix stripped from every name (`module.`, `model.`; empty when none).
    pub prefix: String,
    /// What was changed on the way: dtype conversions, BatchNorm counters added.
    pub notes: Vec<String>,
    /// Architecture, input channels and classes, from the shapes.
    pub config: ResNetConfig,
    /// sarxai's hash of the imported model ([`super::model_hash`]).
    pub model_hash: String,
}

/// An imported model and its report.
#[derive(Debug)]
pub struct Imported {
    /// The model, in evaluation mode's weights (torchvision names).
    pub model: ResNet,
    /// What was read and done.
    pub report: ImportReport,
}

/// The first bytes of a zip archive (torch.save since torch 1.6, TorchScript).
const ZIP_MAGIC: [u8; 4] = *b"PK\x03\x04";
/// The first bytes of a legacy `torch.save` file: pickle protocol 2, then the magic number
/// as a LONG1 (torch/serialization.py `_legacy_save`).
const LEGACY_MAGIC: [u8; 4] = [0x80, 0x02, 0x8a, 0x0a];

/// Whether the file is a PyTorch file (zip or legacy pickle) rather than safetensors,
/// told from its first four bytes (a safetensors file starts with its header's length, a
/// little-endian u64 that is never one of these).
pub fn is_pytorch_file(path: &Path) -> Result<bool, ModelError> {
    let mut head = [0u8; 4];
    let io = |e| ModelError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let n = f.read(&mut head).map_err(io)?;
    Ok(n == 4 && (head == ZIP_MAGIC || head == LEGACY_MAGIC))
}

/// Imports a PyTorch checkpoint of a torchvision ResNet onto `device`. With `arch` given
/// the file must hold that architecture; `key` (dict keys joined by `/`) chooses the
/// state_dict when the file holds several.
pub fn import(
    path: &Path,
    arch: Option<Arch>,
    key: Option<&str>,
    device: Device,
) -> Result<Imported, ModelError> {
    let (source_sha256, _) = crate::io::sha256_file(path).map_err(|e| ModelError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let file = read(path)?;
    let found = find_state_dict(path, file, key)?;
    let (state, notes) = canonical(found.state);
    let model = build(path, &Named(state), arch, device)?;
    let report = ImportReport {
        source: path.to_path_buf(),
        source_sha256,
        format: found.format,
        state_dict_at: found.at,
        prefix: found.prefix,
        notes,
        config: model.config,
        model_hash: super::model_hash(&model)?,
    };
    Ok(Imported { model, report })
}

/// Reads the file, turning the readers' failures into errors that say what the file is
/// and how to make it readable.
fn read(path: &Path) -> Result<TorchFile, ModelError> {
    let refuse = |reason: String| ModelError::NotPyTorch {
        path: path.to_path_buf(),
        reason,
    };
    let mut head = [0u8; 4];
    let legacy = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == LEGACY_MAGIC;
    if legacy {
        return Err(refuse(
            "it was written in torch's legacy format (torch < 1.6, or \
             _use_new_zipfile_serialization=False), which sarxai does not read. Re-save it in \
             Python: torch.save(torch.load(path, weights_only=True), path)"
                .into(),
        ));
    }
    if is_torchscript(path) {
        let tensors = read_torchscript(path).map_err(|e| refuse(e.to_string()))?;
        return Ok(TorchFile {
            format: TorchFormat::TorchScript,
            tensors: tensors.into_iter().map(|(n, t)| (vec![n], t)).collect(),
            objects: Vec::new(),
        });
    }
    let (unpickled, mut archive) = unpickle_file(path).map_err(|e| refuse(e.to_string()))?;
    let mut refs = Vec::new();
    tensors_in(&unpickled.value, &mut Vec::new(), &mut refs);
    let tensors = refs
        .into_iter()
        .map(|(keys, r)| Ok((keys, archive.tensor(&r)?)))
        .collect::<Result<_, super::torch_pickle::PickleError>>()
        .map_err(|e| refuse(e.to_string()))?;
    Ok(TorchFile {
        format: TorchFormat::Pickle,
        tensors,
        objects: unpickled.objects,
    })
}

/// Whether the zip holds `<archive>/constants.pkl`, which TorchScript archives have and
/// `torch.save` files do not.
fn is_torchscript(path: &Path) -> bool {
    super::torch_pickle::open_zip(path).ok().is_some_and(|z| {
        z.file_names()
            .flatten()
            .any(|n| n.ends_with("/constants.pkl") && n.matches('/').count() == 1)
    })
}

/// The state_dict found in a file: where, with which prefix, its tensors.
struct Found {
    format: TorchFormat,
    at: String,
    prefix: String,
    state: BTreeMap<String, Tensor>,
}

/// The prefix `P` under which a group of names holds a torchvision ResNet, if any.
fn resnet_prefix(names: &BTreeMap<String, Tensor>) -> Option<String> {
    names
        .keys()
        .filter_map(|n| n.strip_suffix("conv1.weight"))
        .filter(|p| {
            names.contains_key(&format!("{p}fc.weight"))
                && names.contains_key(&format!("{p}layer1.0.conv1.weight"))
        })
        .min_by_key(|p| p.len())
        .map(str::to_string)
}

/// Groups the file's tensors by the keys leading to them and takes the one ResNet
/// state_dict (or the group `key` names), its prefix stripped.
fn find_state_dict(path: &Path, file: TorchFile, key: Option<&str>) -> Result<Found, ModelError> {
    let total = file.tensors.len();
    let objects = file.objects;
    let mut groups: BTreeMap<String, BTreeMap<String, Tensor>> = BTreeMap::new();
    for (mut keys, t) in file.tensors {
        let name = keys.pop().unwrap_or_default();
        groups.entry(keys.join("/")).or_default().insert(name, t);
    }
    let mut candidates: Vec<(String, String)> = groups
        .iter()
        .filter(|(at, _)| key.is_none_or(|k| k == at.as_str()))
        .filter_map(|(at, g)| resnet_prefix(g).map(|p| (at.clone(), p)))
        .collect();
    let (at, prefix) = match candidates.len() {
        1 => candidates.remove(0),
        0 => return Err(no_resnet(path, &groups, total, key, &objects)),
        _ => {
            return Err(ModelError::Ambiguous {
                path: path.to_path_buf(),
                candidates: candidates.into_iter().map(|c| c.0).collect(),
            })
        }
    };
    let group = groups.remove(&at).unwrap_or_default();
    let state = group
        .into_iter()
        .map(|(n, t)| match n.strip_prefix(&prefix) {
            Some(s) => (s.to_string(), t),
            None => (n, t),
        })
        .collect();
    Ok(Found {
        format: file.format,
        at,
        prefix,
        state,
    })
}

/// The error for a file without a ResNet state_dict, naming a few of its tensors.
fn no_resnet(
    path: &Path,
    groups: &BTreeMap<String, BTreeMap<String, Tensor>>,
    total: usize,
    key: Option<&str>,
    objects: &[String],
) -> ModelError {
    if total == 0 && !objects.is_empty() {
        return ModelError::NotPyTorch {
            path: path.to_path_buf(),
            reason: format!(
                "it holds a pickled {} and {} other class(es) but no tensor sarxai can reach: \
                 a whole model, saved with torch.save(model), which only its Python code can \
                 rebuild. Save the weights instead: torch.save(model.state_dict(), path)",
                objects[0],
                objects.len() - 1
            ),
        };
    }
    let seen: Vec<String> = groups
        .iter()
        .flat_map(|(at, g)| g.keys().map(move |n| qualified(at, n)))
        .take(4)
        .collect();
    let whose = match key {
        Some(k) => format!("under --key {k}: "),
        None => String::new(),
    };
    ModelError::NotResNet {
        path: path.to_path_buf(),
        reason: format!(
            "{whose}no conv1.weight with layer1.0.conv1.weight and fc.weight beside it among \
             its {total} tensors (first: {}); sarxai runs torchvision ResNets only",
            seen.join(", ")
        ),
    }
}

fn qualified(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}/{name}")
    }
}

/// Floats as float32 and integers as int64 (what the model holds), on the CPU and
/// contiguous; BatchNorm layers without `num_batches_tracked` (files of torch < 0.4.1)
/// get 0, as torch's `load_state_dict` gives them. Each change is noted.
fn canonical(state: BTreeMap<String, Tensor>) -> (BTreeMap<String, Tensor>, Vec<String>) {
    let mut notes = BTreeMap::<String, usize>::new();
    let mut out: BTreeMap<String, Tensor> = state
        .into_iter()
        .map(|(n, t)| {
            let to = if t.is_floating_point() {
                Kind::Float
            } else {
                Kind::Int64
            };
            if t.kind() != to {
                *notes
                    .entry(format!("{:?} -> {to:?}", t.kind()))
                    .or_default() += 1;
            }
            (n, t.to_device(Device::Cpu).to_kind(to).contiguous())
        })
        .collect();
    let counters: Vec<String> = out
        .keys()
        .filter_map(|n| n.strip_suffix("running_mean"))
        .map(|p| format!("{p}num_batches_tracked"))
        .filter(|c| !out.contains_key(c))
        .collect();
    let mut lines: Vec<String> = notes
        .into_iter()
        .map(|(what, n)| format!("{n} tensor(s) converted {what}"))
        .collect();
    if !counters.is_empty() {
        lines.push(format!(
            "{} BatchNorm layer(s) had no num_batches_tracked (a file of torch < 0.4.1): set to 0, as torch's load_state_dict does",
            counters.len()
        ));
    }
    for c in counters {
        out.insert(c, Tensor::from(0i64));
    }
    (out, lines)
}

/// A state_dict already in tensors, canonical (float32 and int64 on the CPU).
struct Named(BTreeMap<String, Tensor>);

impl StateDict for Named {
    fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    fn meta(&self, name: &str) -> Option<(Vec<usize>, Dtype)> {
        let t = self.0.get(name)?;
        let dtype = if t.kind() == Kind::Float {
            Dtype::F32
        } else {
            Dtype::I64
        };
        Some((t.size().iter().map(|&d| d as usize).collect(), dtype))
    }

    fn tensor(&self, name: &str) -> Result<Tensor, ModelError> {
        self.0
            .get(name)
            .map(Tensor::shallow_clone)
            .ok_or_else(|| ModelError::Config(format!("{name}: not in the state_dict")))
    }
}
