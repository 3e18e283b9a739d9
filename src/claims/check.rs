//! Deciding claims: PASS, FAIL, or NOT RUN with the reason.

use std::fmt::Write as _;

use serde::Serialize;

use super::results::Results;
use super::spec::{Claim, ClaimsFile, Rule};
use crate::attr::Method;

/// The outcome of one claim on one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// The measured value satisfies the rule.
    Pass,
    /// The measured value breaks the rule.
    Fail,
    /// Not decided: a quantity is missing or undefined, or the claim is not of this profile.
    NotRun,
}

impl Verdict {
    /// `PASS`, `FAIL` or `NOT RUN`, as the verdict table prints it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::NotRun => "NOT RUN",
        }
    }
}

/// One row of the verdict table.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictRow {
    /// The claim's identifier.
    pub id: String,
    /// Where the paper says it.
    pub source: String,
    /// The expectation in words.
    pub expected: String,
    /// The run's value(s), with the run's marks.
    pub measured: String,
    /// The outcome.
    pub verdict: Verdict,
}

fn names(v: &[(Method, f64)]) -> String {
    v.iter()
        .map(|(m, x)| format!("{}={x:.4}", m.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decides one claim; `paper` holds the paper's Table 1 for Kendall-tau rules.
fn decide(rule: &Rule, r: &Results, paper: &Results) -> (String, Verdict) {
    let missing = |what: &str| (format!("missing {what}"), Verdict::NotRun);
    match rule {
        Rule::Value {
            quantity,
            expected,
            tolerance,
        } => match r.lookup(quantity) {
            Some(v) => (
                format!("{v:.4}"),
                if (v - expected).abs() <= *tolerance {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
            ),
            None => missing(quantity),
        },
        Rule::AtLeast { quantity, bound } => match r.lookup(quantity) {
            Some(v) => (
                format!("{v:.4}"),
                if v >= *bound {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
            ),
            None => missing(quantity),
        },
        Rule::Below { quantity, bound } => match r.lookup(quantity) {
            Some(v) => (
                format!("{v:.4}"),
                if v < *bound {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
            ),
            None => missing(quantity),
        },
        Rule::Lowest {
            metric,
            pol,
            method,
        }
        | Rule::Highest {
            metric,
            pol,
            method,
        } => {
            let Some(rank) = r.ranking(pol, metric) else {
                return missing(&format!("table1.{pol}.*.{metric}"));
            };
            let pick = if matches!(rule, Rule::Lowest { .. }) {
                rank[0]
            } else {
                rank[rank.len() - 1]
            };
            (
                format!("{} ({:.4})", pick.0, pick.1),
                if pick.0 == *method {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
            )
        }
        Rule::LowestSet {
            metric,
            pol,
            methods,
        } => {
            let Some(rank) = r.ranking(pol, metric) else {
                return missing(&format!("table1.{pol}.*.{metric}"));
            };
            let got: std::collections::BTreeSet<Method> =
                rank.iter().take(methods.len()).map(|p| p.0).collect();
            (
                names(&rank[..methods.len()]),
                if got == *methods {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
            )
        }
        Rule::KendallAtLeast { metric, pol, tau } => {
            let (Some(a), Some(b)) = (r.table1.get(pol), paper.table1.get(pol)) else {
                return missing(&format!("table1.{pol}"));
            };
            let pairs: Option<Vec<(f64, f64)>> = Method::ALL
                .iter()
                .map(|m| Some((*a.get(m)?.get(metric)?, *b.get(m)?.get(metric)?)))
                .collect();
            let Some(pairs) = pairs else {
                return missing(&format!("table1.{pol}.*.{metric}"));
            };
            let (x, y): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            match crate::stats::kendall_tau_b(&x, &y) {
                Some(t) => (
                    format!("tau = {t:.3}"),
                    if t >= *tau {
                        Verdict::Pass
                    } else {
                        Verdict::Fail
                    },
                ),
                None => ("tau undefined (constant values)".into(), Verdict::NotRun),
            }
        }
    }
}

/// Verdicts of every claim for `results.profile`; claims of other profiles are NOT RUN
/// with the reason.
pub fn check_claims(claims: &ClaimsFile, results: &Results, paper: &Results) -> Vec<VerdictRow> {
    claims
        .claims
        .iter()
        .map(|c: &Claim| {
            let (measured, verdict) = if c.profiles.contains(&results.profile) {
                decide(&c.rule, results, paper)
            } else {
                (
                    format!(
                        "not a {} claim (profiles: {})",
                        results.profile,
                        c.profiles.join(", ")
                    ),
                    Verdict::NotRun,
                )
            };
            VerdictRow {
                id: c.id.clone(),
                source: c.source.clone(),
                expected: c.rule.expected(),
                measured,
                verdict,
            }
        })
        .collect()
}

/// The verdict table as aligned plain text, with a summary line.
pub fn render_table(rows: &[VerdictRow]) -> String {
    let w = |f: &dyn Fn(&VerdictRow) -> usize, h: &str| {
        rows.iter().map(f).max().unwrap_or(0).max(h.len())
    };
    let (wi, ws, we) = (
        w(&|r| r.id.len(), "claim"),
        w(&|r| r.source.len(), "source"),
        w(&|r| r.expected.chars().count(), "expected"),
    );
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<7}  {:<wi$}  {:<ws$}  {:<we$}  measured",
        "verdict", "claim", "source", "expected"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<7}  {:<wi$}  {:<ws$}  {:<we$}  {}",
            r.verdict.label(),
            r.id,
            r.source,
            r.expected,
            r.measured
        );
    }
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    let _ = writeln!(
        s,
        "{} passed, {} failed, {} not run",
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::NotRun)
    );
    s
}
