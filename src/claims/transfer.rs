//! Transfer verdicts: the paper's claims decided on another labelled SAR chip set
//! (`sarxai reproduce --profile transfer`), never counted as the paper reproduced.
//!
//! The rule (stated in every verdict's `expected` column): each claim about the paper's
//! polarization P reads the data channel [`Transfer::channels`] maps P to (a
//! single-polarization set such as MSTAR's HH tests both the VH and the VV claims on its
//! one channel; dual-polarization data tests VH on VH and VV on VV), through
//! [`Results::as_paper_pols`], and is decided exactly as on the paper profile. Ordering,
//! ranking and bound claims are decided; the paper's absolute values (accuracy, Table 1
//! cells of another dataset and network) are shown beside this data's and NOT RUN: a
//! different sensor, scene and class set has no reason to give the same number.

use super::check::{decide, Decided, VerdictRow};
use super::results::{Results, Transfer};
use super::spec::{Claim, ClaimsFile, Rule};

/// The profile name of transfer runs (`results.json`, `fixtures/pins.yaml`).
pub const TRANSFER_PROFILE: &str = "transfer";

/// The mark every verdict of a transfer run carries.
pub const TRANSFER_MARK: &str = "transfer: not the paper's data";

/// The paper's polarization a claim is about: its rule's `pol`, or the second part of its
/// quantity (`table1.vh...`, `accuracy.vv`).
fn claim_pol(rule: &Rule) -> Option<&str> {
    match rule {
        Rule::Value { quantity, .. }
        | Rule::AtLeast { quantity, .. }
        | Rule::Below { quantity, .. } => quantity.split('.').nth(1),
        Rule::Lowest { pol, .. }
        | Rule::Highest { pol, .. }
        | Rule::LowestSet { pol, .. }
        | Rule::KendallAtLeast { pol, .. } => Some(pol),
    }
}

/// "on MSTAR SOC, HH for the paper's VH" (or "on X, VH" where the channel is the claim's
/// own polarization).
fn scope(c: &Claim, t: &Transfer) -> String {
    match claim_pol(&c.rule).and_then(|p| Some((p, t.channels.get(p)?))) {
        Some((p, ch)) if ch == p => format!("on {}, {}", t.dataset, p.to_uppercase()),
        Some((p, ch)) => format!(
            "on {}, {} for the paper's {}",
            t.dataset,
            ch.to_uppercase(),
            p.to_uppercase()
        ),
        None => format!("on {}", t.dataset),
    }
}

/// One transfer verdict: a claim of the paper's profile decided on the data's channel
/// (value claims NOT RUN with this data's value beside the paper's), any other claim NOT
/// RUN.
fn decide_transfer(c: &Claim, view: &Results, paper: &Results, claims: &ClaimsFile) -> Decided {
    if !c.profiles.iter().any(|p| p == "paper") {
        return Decided::not_run(format!(
            "not a claim of the paper (profiles: {})",
            c.profiles.join(", ")
        ));
    }
    let d = decide(&c.rule, view, paper, &claims.decision);
    match c.rule {
        // This data's value with its interval, without the band test's "to decide".
        Rule::Value { .. } => Decided::not_run(format!(
            "an absolute value of the paper's data and network, not compared across datasets; this data: {}",
            d.evidence.map_or(d.measured, |mut e| {
                e.to_decide = None;
                e.describe()
            })
        )),
        _ => d,
    }
}

/// Every claim's transfer verdict on a transfer run (see the module docs).
pub(super) fn check_transfer(
    claims: &ClaimsFile,
    results: &Results,
    t: &Transfer,
    paper: &Results,
) -> Vec<VerdictRow> {
    let view = results.as_paper_pols().unwrap_or_default();
    claims
        .claims
        .iter()
        .map(|c| {
            let d = decide_transfer(c, &view, paper, claims);
            VerdictRow {
                id: c.id.clone(),
                source: c.source.clone(),
                expected: format!("{}: {}", scope(c, t), c.rule.expected()),
                measured: d.measured,
                verdict: d.verdict,
                evidence: d.evidence,
                transfer: Some(t.dataset.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn mstar() -> Transfer {
        Transfer {
            dataset: "MSTAR SOC".into(),
            channels: BTreeMap::from([("vh".into(), "hh".into()), ("vv".into(), "hh".into())]),
            rule: String::new(),
        }
    }

    #[test]
    fn one_channel_answers_for_both_paper_polarizations() {
        let mut r = Results {
            profile: TRANSFER_PROFILE.into(),
            transfer: Some(mstar()),
            ..Default::default()
        };
        r.accuracy.insert("hh".into(), 0.97);
        let v = r.as_paper_pols().unwrap();
        assert_eq!(v.accuracy["vh"], 0.97);
        assert_eq!(v.accuracy["vv"], 0.97);
        assert_eq!(r.pols(), ["hh"]);
    }

    #[test]
    fn scope_names_the_dataset_and_the_channel() {
        let c = Claim {
            id: "x".into(),
            source: "s".into(),
            statement: "s".into(),
            profiles: vec!["paper".into()],
            rule: Rule::Below {
                quantity: "table1.vv.occlusion.max_sensitivity".into(),
                bound: 0.05,
            },
        };
        assert_eq!(scope(&c, &mstar()), "on MSTAR SOC, HH for the paper's VV");
    }
}
