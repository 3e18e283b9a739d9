//! The classifier: torchvision-exact ResNets, their ReLU rule points and checkpoints.

pub(crate) mod checkpoint;
pub(crate) mod flops;
pub(crate) mod folded;
pub(crate) mod graph;
pub(crate) mod import;
pub(crate) mod incremental;
pub(crate) mod layers;
pub(crate) mod load;
pub(crate) mod relu;
pub(crate) mod resnet;
pub(crate) mod torch_pickle;

use std::path::PathBuf;

pub use checkpoint::{model_hash, save, CheckpointInfo};
pub use import::{import, is_pytorch_file, ImportReport, Imported, TorchFormat};
pub use load::{inspect, load};
pub use relu::{Act, CutTape, NodeId, PlainRelu, ReluRule, ReluSite, ReluTape, INPUT};
pub use resnet::{Arch, ResNet, ResNetConfig};

/// Errors from building, loading and saving models.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An architecture name that is none of the four.
    #[error("unknown architecture '{0}': expected resnet18, resnet34, resnet50 or resnet101")]
    UnknownArch(String),
    /// Input channels or classes out of range.
    #[error("invalid model configuration: {0}")]
    Config(String),
    /// Reading or writing a checkpoint failed.
    #[error("{path}: {source}")]
    Io {
        /// The checkpoint file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The file is not safetensors.
    #[error("{path} is not a readable safetensors file ({reason}); it may be truncated or another format. Re-export it with safetensors.torch.save_file(model.state_dict(), path)")]
    NotSafetensors {
        /// The checkpoint file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// A PyTorch file libtorch's readers refuse.
    #[error("{path} cannot be imported: {reason}")]
    NotPyTorch {
        /// The PyTorch file.
        path: PathBuf,
        /// What the file is, and how to make it readable.
        reason: String,
    },
    /// A PyTorch file holding more than one ResNet state_dict.
    #[error("{path} holds {} ResNet state_dicts, under {}: choose one with --key (for example --key {})", candidates.len(), candidates.iter().map(|c| if c.is_empty() { "the top level".to_string() } else { format!("'{c}'") }).collect::<Vec<_>>().join(", "), candidates[0])]
    Ambiguous {
        /// The PyTorch file.
        path: PathBuf,
        /// The keys (joined by `/`) leading to each.
        candidates: Vec<String>,
    },
    /// The tensors are not a torchvision ResNet's.
    #[error("{path} does not hold a torchvision ResNet state_dict: {reason}")]
    NotResNet {
        /// The checkpoint file.
        path: PathBuf,
        /// What is missing or unexpected.
        reason: String,
    },
    /// Tensor names or shapes differ from the architecture's.
    #[error("{path} does not match the architecture ({} problem(s)):\n  {}", problems.len(), problems.join("\n  "))]
    Mismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// One line per missing, unexpected or misshapen tensor.
        problems: Vec<String>,
    },
    /// A parameter holds NaN or infinity.
    #[error("{path}: parameter {name} holds NaN or Inf")]
    NonFinite {
        /// The checkpoint file.
        path: PathBuf,
        /// The parameter's state_dict name.
        name: String,
    },
    /// An error of libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
