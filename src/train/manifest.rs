//! The run manifest (`run.json`): what a trained model depends on (data digest, split
//! digests, seeds, effective configuration, library versions, device and threads) and
//! what it achieved.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::data::{DataOrigin, PreparedData, UsedDigests, ValSource};
use super::eval::EvalReport;
use crate::data::DatasetRecord;
use crate::io::write_atomic;
use crate::model::ResNetConfig;

/// Format tag of `run.json`.
pub const FORMAT: &str = "sarxai-run-1";

/// The tch version sarxai is built with (pinned `=0.24.0` in Cargo.toml).
pub const TCH_VERSION: &str = "0.24.0";
/// The libtorch version tch 0.24.0 requires (torch-sys refuses any other at build time).
pub const LIBTORCH_VERSION: &str = "2.11.0";

/// Versions of everything that computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub sarxai: String,
    pub tch: String,
    pub libtorch: String,
    /// The libtorch build string (`torch/version.py` of the libtorch linked at build
    /// time, e.g. `2.11.0+cu130`), when readable.
    pub libtorch_build: Option<String>,
    pub cuda_available: bool,
    pub cudnn_available: bool,
    pub rustc_target: String,
    /// The CPU's vector instruction sets that select libtorch / oneDNN kernels (see
    /// [`cpu_fingerprint`]): CPU results are bit-reproducible only on the same set.
    #[serde(default)]
    pub cpu: Option<String>,
    /// libtorch's numerics flags in force (TF32, cuDNN benchmark and determinism,
    /// deterministic algorithms), read back from libtorch: see [`crate::device::numerics`].
    #[serde(default)]
    pub numerics: Option<crate::shim::Numerics>,
    /// MKL's conditional numerical reproducibility mode in force (`MKL_CBWR`, see
    /// [`crate::mkl`]): CPU matrix products give the same bytes in every process only in
    /// a CNR mode.
    #[serde(default)]
    pub mkl_cbwr: Option<String>,
    /// The allocator setting ([`crate::malloc::in_force`]).
    #[serde(default)]
    pub malloc: Option<String>,
}

/// The instruction-set flags (from `/proc/cpuinfo`) that decide which CPU kernels
/// libtorch (ATen's DEFAULT / AVX2 / AVX512 dispatch) and oneDNN run, and so the float
/// rounding of a CPU run: `"x86_64 avx avx2 fma avx512f ..."`, in a fixed order. `None`
/// where `/proc/cpuinfo` is unreadable (not Linux).
pub fn cpu_fingerprint() -> Option<String> {
    const FLAGS: [&str; 13] = [
        "avx",
        "avx2",
        "fma",
        "avx512f",
        "avx512bw",
        "avx512vl",
        "avx512dq",
        "avx512_vnni",
        "avx512_bf16",
        "avx512_fp16",
        "avx_vnni",
        "amx_tile",
        "amx_bf16",
    ];
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let have: std::collections::BTreeSet<&str> = info
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "flags" || k.trim() == "Features").then_some(v)
        })?
        .split_whitespace()
        .collect();
    let mut out = std::env::consts::ARCH.to_string();
    for f in FLAGS.iter().filter(|f| have.contains(*f)) {
        out.push(' ');
        out.push_str(f);
    }
    Some(out)
}

impl Versions {
    /// The versions of this build and process.
    pub fn current() -> Versions {
        let build = option_env!("LIBTORCH").and_then(|dir| {
            let text = std::fs::read_to_string(Path::new(dir).join("version.py")).ok()?;
            text.lines()
                .find_map(|l| l.strip_prefix("__version__ = "))
                .map(|v| v.trim().trim_matches('\'').trim_matches('"').to_string())
        });
        Versions {
            sarxai: env!("CARGO_PKG_VERSION").to_string(),
            tch: TCH_VERSION.to_string(),
            libtorch: LIBTORCH_VERSION.to_string(),
            libtorch_build: build,
            cuda_available: tch::Cuda::is_available(),
            cudnn_available: tch::Cuda::cudnn_is_available(),
            rustc_target: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
            cpu: cpu_fingerprint(),
            numerics: crate::device::numerics::in_force(),
            mkl_cbwr: Some(crate::mkl::in_force().describe()),
            malloc: crate::malloc::in_force().map(str::to_string),
        }
    }
}

/// The seeds of a run and how they are used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seeds {
    /// `tch::manual_seed(train)` before the weights are initialised; epoch `e` (0-based)
    /// uses ChaCha8(train, stream e + 1) for order and augmentation and
    /// `tch::manual_seed(train + e + 1)`.
    pub train: u64,
    /// Seed of the stratified split (and of the validation carve).
    pub split: u64,
    /// Seed of the synthetic generator, for synthetic data.
    pub synthetic: Option<u64>,
}

/// The data a run used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    pub origin: DataOrigin,
    /// Root digest of the data directory's manifest (SHA-256).
    pub manifest_digest: String,
    pub dataset: DatasetRecord,
    /// Digests of the samples actually trained, validated and tested on.
    pub used: UsedDigests,
    pub val_source: ValSource,
    /// Samples per class trained on, validated and tested on.
    pub train_counts: Vec<usize>,
    pub val_count: usize,
    pub test_count: usize,
}

impl RunData {
    pub fn of(data: &PreparedData) -> RunData {
        RunData {
            origin: data.origin.clone(),
            manifest_digest: data.data_digest.clone(),
            dataset: data.dataset.record(),
            used: data.digests.clone(),
            val_source: data.val_source.clone(),
            train_counts: data.train_counts(),
            val_count: data.val_idx.len(),
            test_count: data.dataset.test.len(),
        }
    }
}

/// The trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunModel {
    pub config: ResNetConfig,
    pub parameters: i64,
    /// [`crate::model::model_hash`] of `model.safetensors`.
    pub hash: String,
    /// File name inside the run directory.
    pub weights: String,
    /// The epoch whose weights were kept (see `select`).
    pub epoch: usize,
}

/// Whether the run has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Complete,
}

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub format: String,
    pub status: RunStatus,
    pub versions: Versions,
    /// Device description and libtorch intra-op threads.
    pub device: String,
    pub threads: i64,
    pub seeds: Seeds,
    /// The effective configuration (also in `config.yaml`).
    pub config: TrainConfig,
    pub data: RunData,
    pub epochs_done: usize,
    /// Seconds spent in epochs (summed over sessions when resumed).
    pub train_seconds: f64,
    /// Sessions that worked on the run (2 or more after a resume).
    pub sessions: usize,
    pub model: Option<RunModel>,
    pub test: Option<EvalReport>,
    pub val: Option<EvalReport>,
}

impl RunManifest {
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        write_atomic(path, &bytes)
    }

    pub fn read(path: &Path) -> std::io::Result<RunManifest> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }
}
