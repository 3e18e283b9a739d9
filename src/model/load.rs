//! The one way in for weights: a safetensors checkpoint ([`super::checkpoint`]) or a
//! PyTorch file ([`super::import`], imported on the fly), told apart by their first bytes.

use std::path::Path;

use tch::Device;

use super::checkpoint::{inspect_safetensors, load_safetensors, CheckpointInfo};
use super::import::{import, is_pytorch_file};
use super::resnet::{Arch, ResNet};
use super::ModelError;

/// Loads a checkpoint into a new model on `device`: safetensors, or a PyTorch file
/// (`torch.save` or TorchScript) imported on the fly. With `arch` given, the file must be
/// of that architecture; every mismatch of names, shapes and dtypes is listed in one error.
pub fn load(path: &Path, arch: Option<Arch>, device: Device) -> Result<ResNet, ModelError> {
    if is_pytorch_file(path)? {
        return Ok(import(path, arch, None, device)?.model);
    }
    load_safetensors(path, arch, device)
}

/// Reads a checkpoint's architecture and size (a PyTorch file is imported on the CPU to
/// read them).
pub fn inspect(path: &Path) -> Result<CheckpointInfo, ModelError> {
    if !is_pytorch_file(path)? {
        return inspect_safetensors(path);
    }
    let m = import(path, None, None, Device::Cpu)?.model;
    Ok(CheckpointInfo {
        config: m.config,
        parameters: m.parameter_count(),
        tensors: m.vs.variables().len(),
    })
}
