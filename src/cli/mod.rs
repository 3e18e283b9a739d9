//! Command-line front ends: argument structs (clap) and the code that runs them. The
//! library does the work; these modules parse, validate, report and write files.

pub mod claims;
pub mod eval;
pub mod explain;
pub mod model;
pub mod reproduce;
pub mod run_data;
pub mod score;
pub mod sensitivity;
pub mod train;

use std::path::Path;

use anyhow::{Context, Result};
use tch::{Kind, Tensor};

use crate::device::{self, DeviceChoice};

/// Options shared by every command that computes.
#[derive(Debug, Clone, clap::Args)]
pub struct ComputeArgs {
    /// Where to compute: cpu, cuda, or auto (cuda when available).
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// libtorch intra-op threads (default: libtorch's choice, one per core).
    #[arg(long)]
    pub threads: Option<i64>,
}

impl ComputeArgs {
    /// Applies the thread setting and resolves the device.
    pub fn setup(&self) -> Result<tch::Device> {
        device::set_threads(self.threads)?;
        Ok(self.device.resolve()?)
    }
}

/// Floating-point precision of model and attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Dtype {
    #[default]
    F32,
    F64,
}

impl Dtype {
    pub fn kind(self) -> Kind {
        match self {
            Dtype::F32 => Kind::Float,
            Dtype::F64 => Kind::Double,
        }
    }
}

/// Reads a `.npy` array, naming the file in the error.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    if !path.is_file() {
        anyhow::bail!("{}: no such file", path.display());
    }
    Tensor::read_npy(path).with_context(|| format!("{}: not a readable .npy array", path.display()))
}

/// Writes a `.npy` array atomically (temporary file in the same directory, then rename).
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".sarxai-tmp-")
        .suffix(".npy")
        .tempfile_in(dir)?;
    t.to_device(tch::Device::Cpu)
        .contiguous()
        .write_npy(tmp.path())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
