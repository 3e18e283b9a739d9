//! Scores of explanations: Max-Sensitivity (robustness) and file-size "XAI entropy"
//! (complexity), the two metrics of the paper.

pub mod captum_figure;
pub mod complexity;
pub mod entropy;
pub mod faithfulness;
pub mod infidelity;
pub mod localisation;
pub mod randomisation;
pub mod sensitivity;
pub mod sparseness;

pub use sensitivity::{max_sensitivity, Perturbations, SensitivityConfig, Variant};

/// Whose definition a metric follows where sarxai and Quantus 0.6.0 differ on purpose
/// (docs/quantus.md measures each difference on fixtures/quantus/).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    /// sarxai's: Sparseness without Quantus' `+ 1e-7`, relevance mass accuracy on positive
    /// relevance (in [0, 1]), Complexity without the `1e-12` inside the logarithm.
    #[default]
    Sarxai,
    /// Quantus 0.6.0's numbers: Sparseness of `|a| / max_batch |a| + 1e-7` (so an image's
    /// score depends on the batch it is scored in), the signed relevance ratio, Complexity
    /// `-sum p ln(p + 1e-12)`.
    Quantus,
}

/// `|attributions|` of every image as one row, (N, M) f64 on the CPU, after checking that
/// each image has an element and all are finite (Sparseness and Complexity score the
/// absolute values of every element as given).
pub(crate) fn abs_rows(attributions: &tch::Tensor) -> Result<tch::Tensor, MetricError> {
    use tch::{Device, Kind};
    let shape = attributions.size();
    if shape.is_empty() || shape[0] == 0 || shape[1..].contains(&0) {
        return Err(MetricError::Shape {
            what: "attributions",
            expected: "(N, ...) with N > 0 and at least one element per image".into(),
            got: shape,
        });
    }
    let a = attributions
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Double)
        .reshape([shape[0], -1])
        .abs();
    if !bool::try_from(a.isfinite().all())? {
        return Err(MetricError::NonFinite {
            what: "attributions",
        });
    }
    Ok(a)
}

/// Errors from the extra metrics (infidelity, faithfulness, sparseness, localisation,
/// randomisation).
#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    /// An array of the wrong shape.
    #[error("{what} must have shape {expected}; got {got:?}")]
    Shape {
        /// What the array is (attributions, masks, ...).
        what: &'static str,
        /// The shape required, in words.
        expected: String,
        /// The shape given.
        got: Vec<i64>,
    },
    /// An array holding NaN or infinity.
    #[error("{what} hold NaN or Inf")]
    NonFinite {
        /// What the array is.
        what: &'static str,
    },
    /// A metric setting out of range.
    #[error("invalid metric configuration: {0}")]
    Config(String),
    /// The attribution method failed.
    #[error(transparent)]
    Attr(#[from] crate::attr::AttrError),
    /// The model failed (randomised weights).
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// An error of libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
