//! Scores of explanations: Max-Sensitivity (robustness) and file-size "XAI entropy"
//! (complexity), the two metrics of the paper.

pub mod captum_figure;
pub mod entropy;
pub mod faithfulness;
pub mod infidelity;
pub mod localisation;
pub mod randomisation;
pub mod sensitivity;
pub mod sparseness;

pub use sensitivity::{max_sensitivity, Perturbations, SensitivityConfig, Variant};

/// Errors from the extra metrics (infidelity, faithfulness, sparseness, localisation,
/// randomisation).
#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    #[error("{what} must have shape {expected}; got {got:?}")]
    Shape {
        what: &'static str,
        expected: String,
        got: Vec<i64>,
    },
    #[error("{what} hold NaN or Inf")]
    NonFinite { what: &'static str },
    #[error("invalid metric configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Attr(#[from] crate::attr::AttrError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
