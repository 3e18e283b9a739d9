//! sarxai: a reproducible, verifiable and fast explainable-AI study of SAR image
//! classifiers (ResNet on Sentinel-1 patches, eight Captum-equivalent attribution methods,
//! Max-Sensitivity and file-size "XAI entropy") on libtorch.
//!
//! Modules, one job each:
//! * [`io`]: atomic file writes and SHA-256 digests;
//! * [`device`]: `--device cpu|cuda|auto`, thread settings and the numerics flags;
//! * [`shim`]: the C++ shim (libtorch numerics flags, `autograd::grad` with upstream gradients);
//! * [`malloc`]: glibc settings that stop libtorch re-faulting its memory every pass;
//! * [`model`]: torchvision-exact ResNet-18/34/50/101, ReLU rule points, checkpoints;
//! * [`npy`]: the validating `.npy` reader of every array the command line reads.

pub mod attr;
pub mod claims;
pub mod cli;
pub mod cli_data;
pub mod data;
pub mod device;
pub mod io;
pub mod malloc;
pub mod metrics;
pub mod model;
pub mod npy;
pub mod progress;
pub mod recompute;
pub mod report;
pub mod reproduce;
pub mod shim;
pub mod stats;
pub mod train;
