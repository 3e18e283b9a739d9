//! `fixtures/claims.yaml`: every claim of the paper as a quantity with an expected value
//! and tolerance, or an ordering rule, and the profiles it applies to.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::attr::Method;

/// `fixtures/claims.yaml`: the paper's claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimsFile {
    /// Every claim, in the file's order.
    pub claims: Vec<Claim>,
}

/// One claim of the paper and how it is decided.
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
    /// How it is decided.
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
        /// The quantity's path, e.g. `accuracy.vh`.
        quantity: String,
        /// The paper's value.
        expected: f64,
        /// The largest difference accepted.
        tolerance: f64,
    },
    /// `measured >= bound`.
    AtLeast {
        /// The quantity's path.
        quantity: String,
        /// The least value accepted.
        bound: f64,
    },
    /// `measured < bound`.
    Below {
        /// The quantity's path.
        quantity: String,
        /// The value it must stay under.
        bound: f64,
    },
    /// `method` has the lowest mean `metric` of the eight methods.
    Lowest {
        /// The Table 1 column.
        metric: String,
        /// The polarization.
        pol: String,
        /// The method expected lowest.
        method: Method,
    },
    /// `method` has the highest mean `metric`.
    Highest {
        /// The Table 1 column.
        metric: String,
        /// The polarization.
        pol: String,
        /// The method expected highest.
        method: Method,
    },
    /// The `methods.len()` lowest methods by `metric` are exactly `methods`.
    LowestSet {
        /// The Table 1 column.
        metric: String,
        /// The polarization.
        pol: String,
        /// The methods expected lowest, in any order.
        methods: BTreeSet<Method>,
    },
    /// Kendall tau-b between the measured and the paper's values of `metric` is at
    /// least `tau`.
    KendallAtLeast {
        /// The Table 1 column.
        metric: String,
        /// The polarization.
        pol: String,
        /// The least tau-b accepted.
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
