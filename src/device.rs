//! Compute device and thread selection shared by every command that computes.

use std::fmt;
use std::str::FromStr;

use tch::Device;

/// The `--device` option: `cpu`, `cuda` or `auto` (CUDA when available, else CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    Cpu,
    Cuda,
    #[default]
    Auto,
}

/// Errors from choosing a device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("--device cuda was requested but libtorch sees no CUDA device (torch CUDA available: false). Use --device cpu or auto, or build against a CUDA libtorch (export LIBTORCH=/path/to/libtorch-cuda) on a machine with a GPU")]
    CudaUnavailable,
    #[error("unknown device '{0}': expected cpu, cuda or auto")]
    Unknown(String),
    #[error("--threads must be at least 1, got {0}")]
    Threads(i64),
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
    pub fn resolve(self) -> Result<Device, DeviceError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
