//! The paper's claims as data (`fixtures/claims.yaml`), the pins a result depends on
//! (`fixtures/pins.yaml`), and their verification against a reproduce run directory.

pub(crate) mod budget;
pub(crate) mod check;
pub mod evidence;
pub mod fixtures;
pub(crate) mod pins;
pub(crate) mod results;
pub(crate) mod spec;
pub mod transfer;

pub use check::{render_table, Verdict, VerdictRow};
pub use evidence::Evidence;
pub use pins::{Mismatch, Pins, PinsFile, SMOKE_MARK, UNPINNED_MARK};
pub use results::{
    ModelResult, Observations, PolEvidence, ReplicateEvidence, Results, Spread, Transfer,
    UnitRecord,
};
pub use spec::{Claim, ClaimsFile, Decision, Rule, PAPER_ORDER};
pub use transfer::{TRANSFER_MARK, TRANSFER_PROFILE};

use std::path::PathBuf;

/// Errors of the claims harness.
#[derive(Debug, thiserror::Error)]
pub enum ClaimsError {
    /// A claims, pins or results file cannot be read or parsed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// One pin differs from its expected value.
    #[error("pin '{pin}' disagrees: expected {expected}, found {found}. {hint}")]
    PinMismatch {
        /// The pin's key.
        pin: String,
        /// The pinned value.
        expected: String,
        /// The run's value.
        found: String,
        /// What the difference means.
        hint: String,
    },
    /// Every pin that differs, each named with both values.
    #[error("{what}: {} pin(s) disagree:\n{}", mismatches.len(), list(mismatches))]
    Pins {
        /// What was compared, in words.
        what: String,
        /// The pins that differ.
        mismatches: Vec<Mismatch>,
    },
    /// A profile name that is neither `quick` nor `paper`.
    #[error("unknown profile '{0}': expected quick or paper")]
    Profile(String),
}

/// One line per mismatch.
fn list(mismatches: &[Mismatch]) -> String {
    mismatches
        .iter()
        .map(|m| format!("  {m}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ClaimsError {
    pub(crate) fn file(path: &std::path::Path, reason: impl ToString) -> Self {
        Self::File {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// Reads a YAML file into `T` (serde-saphyr: a maintained, pure-Rust YAML reader;
/// serde_yaml is archived).
pub fn read_yaml<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, ClaimsError> {
    let text = std::fs::read_to_string(path).map_err(|e| ClaimsError::file(path, e))?;
    serde_saphyr::from_str(&text).map_err(|e| ClaimsError::file(path, e))
}

/// Verdicts of every claim, each with its evidence: on a run of the paper's protocol and
/// data as `check::check_paper_claims` decides them; on a transfer run (other data) as
/// transfer verdicts (`transfer::check_transfer`).
pub fn check_claims(claims: &ClaimsFile, results: &Results, paper: &Results) -> Vec<VerdictRow> {
    match &results.transfer {
        Some(t) => transfer::check_transfer(claims, results, t, paper),
        None => check::check_paper_claims(claims, results, paper),
    }
}
