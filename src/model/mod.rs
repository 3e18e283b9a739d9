//! The classifier: torchvision-exact ResNets, their ReLU rule points and checkpoints.

pub mod checkpoint;
pub mod flops;
pub mod folded;
pub mod graph;
pub mod incremental;
pub mod layers;
pub mod relu;
pub mod resnet;

use std::path::PathBuf;

pub use checkpoint::{inspect, load, model_hash, save, CheckpointInfo};
pub use relu::{Act, CutTape, NodeId, PlainRelu, ReluRule, ReluSite, ReluTape, INPUT};
pub use resnet::{Arch, ResNet, ResNetConfig};

/// Errors from building, loading and saving models.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown architecture '{0}': expected resnet18, resnet34, resnet50 or resnet101")]
    UnknownArch(String),
    #[error("invalid model configuration: {0}")]
    Config(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a readable safetensors file ({reason}); it may be truncated or another format. Re-export it with safetensors.torch.save_file(model.state_dict(), path)")]
    NotSafetensors { path: PathBuf, reason: String },
    #[error("{path} does not hold a torchvision ResNet state_dict: {reason}")]
    NotResNet { path: PathBuf, reason: String },
    #[error("{path} does not match the architecture ({} problem(s)):\n  {}", problems.len(), problems.join("\n  "))]
    Mismatch {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error("{path}: parameter {name} holds NaN or Inf")]
    NonFinite { path: PathBuf, name: String },
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
