//! Scores of explanations: Max-Sensitivity (robustness) and file-size "XAI entropy"
//! (complexity), the two metrics of the paper.

pub mod sensitivity;

pub use sensitivity::{max_sensitivity, Perturbations, SensitivityConfig, Variant};
