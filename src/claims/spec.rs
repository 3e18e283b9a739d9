//! `fixtures/claims.yaml`: every claim of the paper as a quantity with an expected value
//! and tolerance, or an ordering rule, and the profiles it applies to.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::attr::Method;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimsFile {
    pub claims: Vec<Claim>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    /// Stable identifier, e.g. `ms-vh-occlusion-lowest`.
    pub id: String,
    /// Where the paper says it (table, section).
    pub source: String,
    /// The claim in words.
    pub statement: String,
    /// Profiles (`quick`, `paper`) this claim is checked on.
    pub profiles: Vec<String>,
    pub rule: Rule,
}

/// How a claim is decided. Quantities are paths into [`super::Results`]:
/// `accuracy.vh`, `balanced_accuracy.vv`, `table1.vh.occlusion.max_sensitivity`.
/// Metrics are Table 1 column keys (`max_sensitivity_captum09`, `entropy_kb`, ...);
/// polarizations `vh` or `vv`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// `|measured - expected| <= tolerance`.
    Value {
        quantity: String,
        expected: f64,
        tolerance: f64,
    },
    /// `measured >= bound`.
    AtLeast { quantity: String, bound: f64 },
    /// `measured < bound`.
    Below { quantity: String, bound: f64 },
    /// `method` has the lowest mean `metric` of the eight methods.
    Lowest {
        metric: String,
        pol: String,
        method: Method,
    },
    /// `method` has the highest mean `metric`.
    Highest {
        metric: String,
        pol: String,
        method: Method,
    },
    /// The `methods.len()` lowest methods by `metric` are exactly `methods`.
    LowestSet {
        metric: String,
        pol: String,
        methods: BTreeSet<Method>,
    },
    /// Kendall tau-b between the measured and the paper's values of `metric` is at
    /// least `tau`.
    KendallAtLeast {
        metric: String,
        pol: String,
        tau: f64,
    },
}

impl Rule {
    /// The expectation in words, for the verdict table.
    pub fn expected(&self) -> String {
        match self {
            Rule::Value {
                expected,
                tolerance,
                ..
            } => format!("{expected} ± {tolerance}"),
            Rule::AtLeast { bound, .. } => format!(">= {bound}"),
            Rule::Below { bound, .. } => format!("< {bound}"),
            Rule::Lowest { method, .. } => format!("lowest: {method}"),
            Rule::Highest { method, .. } => format!("highest: {method}"),
            Rule::LowestSet { methods, .. } => {
                format!(
                    "lowest {}: {{{}}}",
                    methods.len(),
                    methods
                        .iter()
                        .map(|m| m.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            Rule::KendallAtLeast { tau, .. } => format!("tau >= {tau}"),
        }
    }
}
