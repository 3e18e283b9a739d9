//! `fixtures/claims.yaml`: every claim of the paper as a quantity with an expected value
//! and tolerance, or an ordering rule, and the profiles it applies to.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::attr::Method;

/// The paper's eight methods in its Table 1's row order (`fixtures/paper_table1.yaml`):
/// the methods its rankings and Kendall claims range over, whatever else a run scores.
pub const PAPER_ORDER: [Method; 8] = [
    Method::IntegratedGradients,
    Method::InputXGradient,
    Method::GuidedBackprop,
    Method::Deconvolution,
    Method::Saliency,
    Method::Occlusion,
    Method::GuidedGradCam,
    Method::GradCam,
];

/// `fixtures/claims.yaml`: the paper's claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimsFile {
    /// How verdicts are decided from the evidence.
    pub decision: Decision,
    /// Every claim, in the file's order.
    pub claims: Vec<Claim>,
}

/// How a verdict is decided from its evidence (stated in `fixtures/claims.yaml`, not
/// tuned). A value claim PASSes when the `level` interval of the quantity lies inside the
/// paper's value +- tolerance and FAILs when it lies wholly outside (an equivalence test,
/// Schuirmann 1987); a bound claim on accuracy compares its Wilson interval with the bound
/// the same way. An ordering claim (lowest, highest, lowest set, below a bound) PASSes when
/// the probability that it holds, over `resamples` bootstrap resamples of the explained
/// images stratified by class (seeded with `seed`), is at least `pass_at`, and FAILs when
/// it is at most `fail_at` (Agarwal et al. 2021). A Kendall tau-b claim compares the
/// bootstrap percentile interval of tau with the bound. Everything else is INCONCLUSIVE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Confidence level of the intervals, e.g. 0.95.
    pub level: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Seed of the resamples.
    pub seed: u64,
    /// Least probability of an ordering claim that PASSes.
    pub pass_at: f64,
    /// Greatest probability of an ordering claim that FAILs.
    pub fail_at: f64,
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
