//! Command-line front ends: argument structs (clap) and the code that runs them. The
//! library does the work; these modules parse, validate, report and write files.

pub mod claims;
pub mod data;
pub mod entropy;
pub mod eval;
pub mod explain;
pub mod guard;
pub mod merge;
pub mod metrics;
pub mod model;
pub mod print_config;
pub mod reproduce;
pub(crate) mod run_data;
pub mod score;
pub mod sensitivity;
pub mod train;
mod values;

use std::path::Path;

use anyhow::{Context, Result};
use tch::{Kind, Tensor};

use crate::device::{self, DeviceChoice};

/// Options shared by every command that computes.
#[derive(Debug, Clone, clap::Args)]
pub struct ComputeArgs {
    /// Where to compute: cpu, cuda, or auto (cuda when available).
    #[arg(long, default_value = "auto")]
    pub(crate) device: DeviceChoice,
    /// libtorch intra-op threads (default: libtorch's choice, one per core).
    #[arg(long)]
    pub(crate) threads: Option<i64>,
}

impl ComputeArgs {
    /// Applies the thread setting and resolves the device.
    pub(crate) fn setup(&self) -> Result<tch::Device> {
        device::set_threads(self.threads)?;
        Ok(self.device.resolve()?)
    }
}

/// Floating-point precision of model and attribution.
// missing_docs: the variants F32 and F64 are the values `f32` and `f64`; doc comments on
// them would become clap's per-value help and change the layout of `--help`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Dtype {
    #[default]
    F32,
    F64,
}

impl Dtype {
    pub(crate) fn kind(self) -> Kind {
        match self {
            Dtype::F32 => Kind::Float,
            Dtype::F64 => Kind::Double,
        }
    }
}

/// Loads weights for a command: a safetensors checkpoint, or a PyTorch file imported on
/// the fly, which is said on standard error (with the file's SHA-256) and returned
/// described in one line for the command's records.
pub(crate) fn load_weights(
    path: &Path,
    arch: Option<crate::model::Arch>,
    device: tch::Device,
) -> Result<(crate::model::ResNet, Option<String>)> {
    if !crate::model::is_pytorch_file(path)? {
        return Ok((crate::model::load(path, arch, device)?, None));
    }
    let imported = crate::model::import(path, arch, None, device)?;
    let source = describe_import(&imported.report);
    eprintln!("imported {source}");
    Ok((imported.model, Some(source)))
}

/// An import in one line: the file, its format, where the state_dict was and the SHA-256.
pub(crate) fn describe_import(r: &crate::model::ImportReport) -> String {
    let at = if r.state_dict_at.is_empty() {
        String::new()
    } else {
        format!(", state_dict under '{}'", r.state_dict_at)
    };
    let prefix = if r.prefix.is_empty() {
        String::new()
    } else {
        format!(", prefix '{}' stripped", r.prefix)
    };
    format!(
        "{} ({:?}{at}{prefix}; SHA-256 {})",
        r.source.display(),
        r.format,
        r.source_sha256
    )
}

/// Reads and validates a `.npy` array (see [`crate::npy`]): a truncated or oversized
/// payload, a wrong dtype or rank, Fortran order or non-finite values are named errors.
pub(crate) fn read_npy(path: &Path, expect: &crate::npy::Expect) -> Result<Tensor> {
    Ok(crate::npy::read_tensor(path, expect)?)
}

/// Writes a `.npy` array atomically (temporary file in the same directory, then rename),
/// with the mode the umask gives.
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    use crate::npy::{encode, NpyValues};
    let t = t.detach().to_device(tch::Device::Cpu).contiguous();
    let shape: Vec<u64> = t.size().iter().map(|&d| d as u64).collect();
    let flat = t.flatten(0, -1);
    let values = match t.kind() {
        Kind::Float => NpyValues::F32(Vec::<f32>::try_from(&flat)?),
        Kind::Double => NpyValues::F64(Vec::<f64>::try_from(&flat)?),
        Kind::Int64 => NpyValues::I64(Vec::<i64>::try_from(&flat)?),
        k => NpyValues::F32(
            Vec::<f32>::try_from(&flat.to_kind(Kind::Float)).with_context(|| {
                format!(
                    "cannot convert a {k:?} array to float32 for {}",
                    path.display()
                )
            })?,
        ),
    };
    // The error names the path.
    Ok(crate::io::write_atomic(path, &encode(&shape, &values))?)
}
