//! The paper's eight attribution methods, one file each, behind one trait, with Captum
//! 0.9's defaults and semantics (each method's file states them).
//!
//! Every method works on a batch `inputs` (N, C, H, W) and `targets` (N,) int64 and
//! returns an attribution of the input's shape, except Grad-CAM, which returns layer4's
//! resolution (N, 1, h, w) like Captum's `LayerGradCam`. Gradients are taken of the
//! target logit (no softmax), as Captum does with a model that returns logits.
//! The model is always used in evaluation mode (BatchNorm running statistics).

pub(crate) mod batch;
pub(crate) mod deconvolution;
pub(crate) mod grad_cam;
pub mod gradient;
pub(crate) mod guided_backprop;
pub(crate) mod guided_grad_cam;
pub(crate) mod input_x_gradient;
pub(crate) mod integrated_gradients;
pub(crate) mod occlusion;
pub(crate) mod saliency;

use std::fmt;
use std::str::FromStr;

use tch::{Kind, Tensor};

use crate::model::ResNet;

pub use batch::MemoryBudget;
pub use deconvolution::Deconvolution;
pub use grad_cam::GradCam;
pub use guided_backprop::GuidedBackprop;
pub use guided_grad_cam::GuidedGradCam;
pub use input_x_gradient::InputXGradient;
pub use integrated_gradients::{IgRule, IntegratedGradients};
pub use occlusion::{Occlusion, OcclusionConfig};
pub use saliency::Saliency;

/// Errors from computing attributions.
#[derive(Debug, thiserror::Error)]
pub enum AttrError {
    /// The inputs are not a float tensor of rank 4.
    #[error("inputs must be a float tensor of shape (N, C, H, W); got {kind:?} {shape:?}")]
    InputShape {
        /// The inputs' shape.
        shape: Vec<i64>,
        /// The inputs' element type.
        kind: Kind,
    },
    /// The inputs' channel count is not the model's.
    #[error("the model expects {expected} input channel(s), the inputs have {got}")]
    Channels {
        /// The model's input channels.
        expected: i64,
        /// The inputs' channels.
        got: i64,
    },
    /// The targets are not int64 of shape (N,).
    #[error("targets must be int64 of shape (N,) with N = {n}; got {kind:?} {shape:?}")]
    TargetShape {
        /// The targets' shape.
        shape: Vec<i64>,
        /// The targets' element type.
        kind: Kind,
        /// The number of images.
        n: i64,
    },
    /// A target is not a class of the model.
    #[error("target {target} (image {index}) is out of range: the model has {classes} classes (0..{classes})")]
    TargetRange {
        /// The image (0-based).
        index: i64,
        /// Its target class.
        target: i64,
        /// The model's number of classes.
        classes: i64,
    },
    /// The inputs hold NaN or infinity.
    #[error("inputs hold NaN or Inf (first at flat index {index})")]
    NonFinite {
        /// The first non-finite element, as a flat index.
        index: i64,
    },
    /// A method name that is none of the eight.
    #[error("unknown attribution method '{name}': expected one of {}, or all", Method::ALL.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "))]
    UnknownMethod {
        /// The name given.
        name: String,
    },
    /// A method setting out of range (steps, window, stride).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Guided Grad-CAM's map cannot be upsampled to the input size.
    #[error("Guided Grad-CAM cannot upsample the Grad-CAM map {cam:?} to the input size {input:?} (Captum would silently return an empty tensor here)")]
    Upsample {
        /// The Grad-CAM map's shape.
        cam: Vec<i64>,
        /// The input's shape.
        input: Vec<i64>,
    },
    /// An error of libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// An error of the C++ shim.
    #[error(transparent)]
    Shim(#[from] crate::shim::ShimError),
}

/// The eight methods of the study.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Saliency (Simonyan et al. 2014).
    Saliency,
    /// Input x Gradient (Shrikumar et al. 2016).
    InputXGradient,
    /// Integrated Gradients (Sundararajan et al. 2017).
    IntegratedGradients,
    /// Guided Backpropagation (Springenberg et al. 2015).
    GuidedBackprop,
    /// Deconvolution (Zeiler and Fergus 2014).
    Deconvolution,
    /// Grad-CAM (Selvaraju et al. 2017).
    GradCam,
    /// Guided Grad-CAM (Selvaraju et al. 2017).
    GuidedGradCam,
    /// Occlusion (Zeiler and Fergus 2014).
    Occlusion,
}

impl Method {
    /// The eight methods in the paper's order (Table 1).
    pub const ALL: [Method; 8] = [
        Method::Saliency,
        Method::InputXGradient,
        Method::IntegratedGradients,
        Method::GuidedBackprop,
        Method::Deconvolution,
        Method::GradCam,
        Method::GuidedGradCam,
        Method::Occlusion,
    ];

    /// The CLI and file name (`DIR/<name>.npy`).
    pub fn name(self) -> &'static str {
        match self {
            Method::Saliency => "saliency",
            Method::InputXGradient => "input-x-gradient",
            Method::IntegratedGradients => "integrated-gradients",
            Method::GuidedBackprop => "guided-backprop",
            Method::Deconvolution => "deconvolution",
            Method::GradCam => "grad-cam",
            Method::GuidedGradCam => "guided-grad-cam",
            Method::Occlusion => "occlusion",
        }
    }

    /// The paper's name for tables and figures.
    pub fn title(self) -> &'static str {
        match self {
            Method::Saliency => "Saliency",
            Method::InputXGradient => "Input x Gradient",
            Method::IntegratedGradients => "Integrated Gradients",
            Method::GuidedBackprop => "Guided Backpropagation",
            Method::Deconvolution => "Deconvolution",
            Method::GradCam => "Grad-CAM",
            Method::GuidedGradCam => "Guided Grad-CAM",
            Method::Occlusion => "Occlusion",
        }
    }

    /// The method with Captum's default settings and the given batching budget.
    pub fn with_defaults(self, budget: MemoryBudget) -> Box<dyn Attribution> {
        match self {
            Method::Saliency => Box::new(Saliency { budget }),
            Method::InputXGradient => Box::new(InputXGradient { budget }),
            Method::IntegratedGradients => Box::new(IntegratedGradients {
                budget,
                ..Default::default()
            }),
            Method::GuidedBackprop => Box::new(GuidedBackprop { budget }),
            Method::Deconvolution => Box::new(Deconvolution { budget }),
            Method::GradCam => Box::new(GradCam {
                budget,
                ..Default::default()
            }),
            Method::GuidedGradCam => Box::new(GuidedGradCam { budget }),
            Method::Occlusion => Box::new(Occlusion {
                budget,
                config: OcclusionConfig::default(),
            }),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = AttrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let k = s.to_ascii_lowercase().replace('_', "-");
        let k = match k.as_str() {
            "ig" => "integrated-gradients",
            "gradcam" => "grad-cam",
            "guided-gradcam" => "guided-grad-cam",
            "guided-backpropagation" | "gbp" => "guided-backprop",
            "deconv" => "deconvolution",
            "ixg" | "input-x-grad" => "input-x-gradient",
            other => other,
        };
        Method::ALL
            .into_iter()
            .find(|m| m.name() == k)
            .ok_or_else(|| AttrError::UnknownMethod {
                name: s.to_string(),
            })
    }
}

/// One attribution method: `attribute` explains `model`'s logit for `targets[i]` at
/// `inputs[i]`.
pub trait Attribution {
    /// Which of the eight methods this is.
    fn method(&self) -> Method;
    /// Attributions of `inputs` (N, C, H, W) for the logits `targets` (N,), one map per image.
    fn attribute(
        &self,
        model: &ResNet,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, AttrError>;
}

/// Checks inputs and targets against the model: shapes, dtypes, channels, target range,
/// finiteness. Every method calls it first.
pub fn validate(model: &ResNet, inputs: &Tensor, targets: &Tensor) -> Result<(), AttrError> {
    let shape = inputs.size();
    if shape.len() != 4 || !inputs.is_floating_point() || shape.contains(&0) {
        return Err(AttrError::InputShape {
            shape,
            kind: inputs.kind(),
        });
    }
    if shape[1] != model.config.in_channels {
        return Err(AttrError::Channels {
            expected: model.config.in_channels,
            got: shape[1],
        });
    }
    let n = shape[0];
    if targets.size() != [n] || targets.kind() != Kind::Int64 {
        return Err(AttrError::TargetShape {
            shape: targets.size(),
            kind: targets.kind(),
            n,
        });
    }
    let classes = model.config.num_classes;
    let t: Vec<i64> = Vec::<i64>::try_from(targets.to_device(tch::Device::Cpu))?;
    if let Some((index, &target)) = t.iter().enumerate().find(|(_, &t)| t < 0 || t >= classes) {
        return Err(AttrError::TargetRange {
            index: index as i64,
            target,
            classes,
        });
    }
    let bad = inputs.isfinite().logical_not().flatten(0, -1).nonzero();
    if bad.size()[0] > 0 {
        return Err(AttrError::NonFinite {
            index: bad.int64_value(&[0, 0]),
        });
    }
    Ok(())
}
