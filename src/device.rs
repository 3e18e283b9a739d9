//! Compute device and thread selection shared by every command that computes, and the
//! numerics settings applied before any work ([`numerics`]).

use std::fmt;
use std::str::FromStr;

use tch::Device;

/// The `--device` option: `cpu`, `cuda` or `auto` (CUDA when available, else CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// The first CUDA device; an error where libtorch sees none.
    Cuda,
    /// CUDA when available, else the CPU.
    #[default]
    Auto,
}

/// Errors from choosing a device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// `--device cuda` without a CUDA device.
    #[error("--device cuda was requested but libtorch sees no CUDA device (torch CUDA available: false). Use --device cpu or auto, or build against a CUDA libtorch (export LIBTORCH=/path/to/libtorch-cuda) on a machine with a GPU")]
    CudaUnavailable,
    /// A device name that is not `cpu`, `cuda` or `auto`.
    #[error("unknown device '{0}': expected cpu, cuda or auto")]
    Unknown(String),
    /// `--threads` below 1.
    #[error("--threads must be at least 1, got {0}")]
    Threads(i64),
    /// Setting the numerics flags failed in the shim.
    #[error("cannot set libtorch's numerics flags: {0}")]
    Numerics(#[from] crate::shim::ShimError),
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            "auto" => Ok(Self::Auto),
            _ => Err(DeviceError::Unknown(s.to_string())),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::Auto => "auto",
        })
    }
}

impl DeviceChoice {
    /// Resolves the choice against what libtorch sees: `cuda` without a GPU is an error.
    /// Applies the numerics settings first ([`numerics::apply`]: deterministic unless
    /// `--cuda-fast`), so no work runs before them.
    pub fn resolve(self) -> Result<Device, DeviceError> {
        numerics::apply()?;
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
            Self::Cuda => Err(DeviceError::CudaUnavailable),
            Self::Auto => Ok(Device::cuda_if_available()),
        }
    }
}

/// Sets libtorch's intra-op thread count; `None` keeps libtorch's default (one per core).
pub fn set_threads(threads: Option<i64>) -> Result<(), DeviceError> {
    if let Some(n) = threads {
        if n < 1 {
            return Err(DeviceError::Threads(n));
        }
        tch::set_num_threads(n as i32);
    }
    Ok(())
}

/// A short human description of a device, for manifests and logs.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cpu => format!("cpu ({} threads)", tch::get_num_threads()),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}"),
    }
}

/// libtorch's numerics flags for the process: TF32 off (cuBLAS and cuDNN), cuDNN
/// deterministic without benchmark, deterministic algorithms on (warn-only, see
/// [`crate::shim::Numerics::DETERMINISTIC`]), unless `--cuda-fast` chose speed
/// ([`crate::shim::Numerics::FAST`]). The flags are global: set on CPU too (where they do
/// not change results), read back and recorded in every manifest
/// (`crate::train::manifest::Versions`) and in Table 1's notes.
pub mod numerics {
    use std::sync::atomic::{AtomicBool, Ordering};

    use crate::shim::{Numerics, ShimError};

    static FAST: AtomicBool = AtomicBool::new(false);

    /// Held while the flags are set and read back, so that a read-back sees one
    /// complete setting (the flags are process-wide; tests set them concurrently).
    pub(crate) static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    pub(crate) fn lock() -> std::sync::MutexGuard<'static, ()> {
        LOCK.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `--cuda-fast`: later [`apply`] calls choose speed over determinism.
    pub fn set_cuda_fast(fast: bool) {
        FAST.store(fast, Ordering::SeqCst);
    }

    /// Whether `--cuda-fast` is in force.
    pub fn cuda_fast() -> bool {
        FAST.load(Ordering::SeqCst)
    }

    /// The settings chosen for this process (deterministic unless `--cuda-fast`).
    pub fn chosen() -> Numerics {
        if cuda_fast() {
            Numerics::FAST
        } else {
            Numerics::DETERMINISTIC
        }
    }

    /// Applies [`chosen`] and returns the flags read back.
    pub fn apply() -> Result<Numerics, ShimError> {
        let _lock = lock();
        chosen().apply()
    }

    /// The flags in force now, read back; `None` if libtorch refused to answer.
    pub fn in_force() -> Option<Numerics> {
        let _lock = lock();
        Numerics::current().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolving a device applies the deterministic settings (on CPU too) and they read
    /// back; `--cuda-fast` turns them off.
    #[test]
    fn resolve_applies_the_numerics_settings() {
        // Tests run concurrently and share the flags: each one that changes them leaves
        // them at numerics::chosen() when it releases numerics::LOCK.
        DeviceChoice::Cpu.resolve().unwrap();
        assert_eq!(
            numerics::in_force(),
            Some(crate::shim::Numerics::DETERMINISTIC)
        );
        numerics::set_cuda_fast(true);
        DeviceChoice::Auto.resolve().unwrap();
        let fast = numerics::in_force().unwrap();
        numerics::set_cuda_fast(false);
        assert_eq!(fast, crate::shim::Numerics::FAST);
        assert!(fast.allow_tf32_cudnn && fast.cudnn_benchmark && !fast.deterministic_algorithms);
        DeviceChoice::Cpu.resolve().unwrap();
        let det = numerics::in_force().unwrap();
        assert!(!det.allow_tf32_cublas && !det.allow_tf32_cudnn && !det.cudnn_benchmark);
        assert!(det.cudnn_deterministic && det.deterministic_algorithms);
    }

    #[test]
    fn parses_and_resolves_cpu() {
        assert_eq!("CPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), Device::Cpu);
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert!(set_threads(Some(0)).is_err());
    }

    #[test]
    fn cuda_without_gpu_is_an_error() {
        if !tch::Cuda::is_available() {
            let e = DeviceChoice::Cuda.resolve().unwrap_err();
            assert!(e.to_string().contains("--device cpu"));
        }
    }
}
