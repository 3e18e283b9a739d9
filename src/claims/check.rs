//! Deciding claims: PASS, FAIL or INCONCLUSIVE from the evidence (an interval of the
//! quantity, or the probability that the claim holds: [`Decision`]), or NOT RUN with the
//! reason.

use std::fmt::Write as _;

use serde::Serialize;

use super::evidence::{
    accuracy_of_models, mean, needed_for_interval, needed_for_probability, probability, tau,
    Evidence,
};
use super::results::Results;
use super::spec::PAPER_ORDER;
use super::spec::{Claim, ClaimsFile, Decision, Rule};
use crate::attr::Method;

/// The outcome of one claim on one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// The evidence shows the claim holds (see [`Decision`]).
    Pass,
    /// The evidence shows the claim does not hold.
    Fail,
    /// The evidence decides neither way: the interval straddles the band or bound, or the
    /// probability lies between the thresholds.
    Inconclusive,
    /// Not decided: a quantity is missing or undefined, or the claim is not of this profile.
    NotRun,
}

impl Verdict {
    /// `PASS`, `FAIL`, `INCONCLUSIVE` or `NOT RUN`, as the verdict table prints it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
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
    /// The run's value(s) and the evidence in words, with the run's marks.
    pub measured: String,
    /// The outcome.
    pub verdict: Verdict,
    /// What the verdict rests on (none for NOT RUN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// On a transfer run: the dataset the claim was decided on (the verdict is a transfer
    /// verdict, never the paper reproduced: [`super::transfer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<String>,
}

/// Why a claim of a run without per-image evidence is INCONCLUSIVE.
const NO_EVIDENCE: &str =
    "no per-image evidence in results.json (a run from before verdicts carried intervals)";

/// A decided claim: the measured value in words, the verdict, its evidence.
pub(super) struct Decided {
    pub(super) measured: String,
    pub(super) verdict: Verdict,
    pub(super) evidence: Option<Evidence>,
}

impl Decided {
    pub(super) fn not_run(why: String) -> Decided {
        Decided {
            measured: why,
            verdict: Verdict::NotRun,
            evidence: None,
        }
    }

    /// INCONCLUSIVE for want of evidence, saying why.
    fn inconclusive(why: String) -> Decided {
        Decided {
            measured: why,
            verdict: Verdict::Inconclusive,
            evidence: None,
        }
    }

    /// A verdict on `evidence`, whose description is the measured value.
    fn on(
        prefix: String,
        verdict: Verdict,
        mut evidence: Evidence,
        to_decide: Option<String>,
    ) -> Decided {
        if verdict == Verdict::Inconclusive {
            evidence.to_decide = to_decide;
        }
        Decided {
            measured: format!("{prefix}{}", evidence.describe()),
            verdict,
            evidence: Some(evidence),
        }
    }
}

fn names(v: &[(Method, f64)]) -> String {
    v.iter()
        .map(|(m, x)| format!("{}={x:.4}", m.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// PASS when `[lo, hi]` lies inside `[band_lo, band_hi]`, FAIL when it lies wholly
/// outside, INCONCLUSIVE otherwise (two one-sided tests).
fn band_verdict([lo, hi]: [f64; 2], band_lo: f64, band_hi: f64) -> Verdict {
    if lo >= band_lo && hi <= band_hi {
        Verdict::Pass
    } else if hi < band_lo || lo > band_hi {
        Verdict::Fail
    } else {
        Verdict::Inconclusive
    }
}

/// PASS at a probability of at least `pass_at`, FAIL at most `fail_at`.
fn probability_verdict(p: f64, d: &Decision) -> Verdict {
    if p >= d.pass_at {
        Verdict::Pass
    } else if p <= d.fail_at {
        Verdict::Fail
    } else {
        Verdict::Inconclusive
    }
}

/// The number of strata (classes) of `e`'s evidence in `r` times its models, for
/// "images per class" (each model explains the same images).
fn classes(r: &Results, pol: &str) -> usize {
    r.evidence.get(pol).map_or(1, |e| {
        let classes = e.strata.iter().collect::<std::collections::BTreeSet<_>>();
        classes.len().max(1) * (1 + e.replicates.len())
    })
}

/// What would decide an interval claim: the observations for its half-width to fit.
fn interval_to_decide(
    e: &Evidence,
    band_lo: f64,
    band_hi: f64,
    per: Option<usize>,
) -> Option<String> {
    let [lo, hi] = e.interval?;
    let gap = (e.estimate - band_lo)
        .abs()
        .min((e.estimate - band_hi).abs());
    let n = needed_for_interval(e.n, (hi - lo) / 2.0, gap);
    Some(match (n, per) {
        (Some(n), Some(k)) => format!(
            "about {} images per class at this mean and spread",
            n.div_ceil(k)
        ),
        (Some(n), None) => format!("about {n} test images at this accuracy"),
        (None, _) => "the estimate sits on the band's edge: no number of images decides it".into(),
    })
}

/// What would decide a probability claim: the images per class for the probability to
/// reach the threshold it leans towards.
fn probability_to_decide(e: &Evidence, d: &Decision, per: usize) -> Option<String> {
    let p = e.probability?;
    let target = if p >= 0.5 { d.pass_at } else { d.fail_at };
    Some(match needed_for_probability(e.n, p, target) {
        Some(n) => format!(
            "about {} images per class for P to reach {target} at this effect",
            n.div_ceil(per)
        ),
        None => "no difference seen: more images would not decide it at this effect".into(),
    })
}

/// A quantity's interval: Wilson's for `accuracy.<pol>`, the BCa bootstrap of the mean for
/// `table1.<pol>.<method>.<metric>`; `Err` says why there is none.
fn quantity_interval(
    q: &str,
    r: &Results,
    d: &Decision,
) -> Result<(Evidence, Option<usize>), String> {
    let parts: Vec<&str> = q.split('.').collect();
    let no_evidence = |pol: &str| {
        format!("no per-image evidence for {pol} in results.json (a run from before verdicts carried intervals): point value {}", r.lookup(q).map_or("missing".into(), |v| format!("{v:.4}")))
    };
    match parts.as_slice() {
        ["accuracy", pol] => {
            let e = r.evidence.get(*pol).ok_or_else(|| no_evidence(pol))?;
            Ok((accuracy_of_models(&e.test_counts(), d), None))
        }
        ["table1", pol, method, metric] => {
            let m: Method = method
                .parse()
                .map_err(|_| format!("unknown method in {q}"))?;
            let e = r.evidence.get(*pol).ok_or_else(|| no_evidence(pol))?;
            let (values, obs) = e.cell(m, metric).ok_or_else(|| format!("missing {q}"))?;
            let ev = mean(&values, &obs, d)
                .ok_or_else(|| format!("{q}: fewer than two defined values"))?;
            Ok((ev, Some(classes(r, pol))))
        }
        _ => Err(format!("no interval for {q}")),
    }
}

/// Decides one claim with its evidence; `paper` holds the paper's Table 1 for Kendall-tau
/// rules.
pub(super) fn decide(rule: &Rule, r: &Results, paper: &Results, d: &Decision) -> Decided {
    match rule {
        Rule::Value {
            quantity,
            expected,
            tolerance,
        } => {
            let (lo, hi) = (expected - tolerance, expected + tolerance);
            match quantity_interval(quantity, r, d) {
                Ok((e, per)) => {
                    let v = band_verdict(e.interval.expect("an interval"), lo, hi);
                    let t = interval_to_decide(&e, lo, hi, per);
                    Decided::on(String::new(), v, e, t)
                }
                Err(why) => missing_or_inconclusive(r.lookup(quantity), why),
            }
        }
        Rule::AtLeast { quantity, bound } | Rule::Below { quantity, bound } => {
            let below = matches!(rule, Rule::Below { .. });
            bound_claim(quantity, *bound, below, r, d)
        }
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
            let lowest = matches!(rule, Rule::Lowest { .. });
            let pick = *method;
            ordering_claim(r, pol, metric, d, move |ms: &[Method], means: &[f64]| {
                let at = ms.iter().position(|m| *m == pick).expect("every method");
                means.iter().enumerate().all(|(j, v)| {
                    j == at
                        || if lowest {
                            means[at] < *v
                        } else {
                            means[at] > *v
                        }
                })
            })
        }
        Rule::LowestSet {
            metric,
            pol,
            methods,
        } => {
            let set = methods.clone();
            ordering_claim(r, pol, metric, d, move |ms: &[Method], means: &[f64]| {
                let worst_in = ms
                    .iter()
                    .zip(means)
                    .filter(|(m, _)| set.contains(m))
                    .map(|p| *p.1)
                    .fold(f64::NEG_INFINITY, f64::max);
                ms.iter()
                    .zip(means)
                    .filter(|(m, _)| !set.contains(m))
                    .all(|(_, v)| worst_in < *v)
            })
        }
        Rule::KendallAtLeast {
            metric,
            pol,
            tau: bound,
        } => kendall_claim(r, paper, pol, metric, *bound, d),
    }
}

/// NOT RUN when the quantity is missing, otherwise INCONCLUSIVE for want of evidence.
fn missing_or_inconclusive(point: Option<f64>, why: String) -> Decided {
    match point {
        None => Decided::not_run(why),
        Some(_) => Decided::inconclusive(why),
    }
}

/// `quantity >= bound` (or `< bound`): accuracy by its Wilson interval against the bound,
/// a Table 1 mean by the bootstrap probability that it holds.
fn bound_claim(q: &str, bound: f64, below: bool, r: &Results, d: &Decision) -> Decided {
    let holds = move |v: f64| if below { v < bound } else { v >= bound };
    let parts: Vec<&str> = q.split('.').collect();
    if let ["table1", pol, method, metric] = parts.as_slice() {
        let Ok(m) = method.parse::<Method>() else {
            return Decided::not_run(format!("unknown method in {q}"));
        };
        let Some((values, obs)) = r.evidence.get(*pol).and_then(|e| e.cell(m, metric)) else {
            return missing_or_inconclusive(r.lookup(q), format!("no per-image evidence for {q}"));
        };
        let per = classes(r, pol);
        let e = probability(&[values], &obs, d, |m| m[0], |m| holds(m[0]));
        return match e {
            Some(e) => {
                let v = probability_verdict(e.probability.expect("a probability"), d);
                let t = probability_to_decide(&e, d, per);
                Decided::on(String::new(), v, e, t)
            }
            None => {
                missing_or_inconclusive(r.lookup(q), format!("{q}: fewer than two defined values"))
            }
        };
    }
    match quantity_interval(q, r, d) {
        Ok((e, per)) => {
            let [lo, hi] = e.interval.expect("an interval");
            let v = match (holds(lo) && holds(hi), holds(lo) || holds(hi)) {
                (true, _) => Verdict::Pass,
                (false, false) => Verdict::Fail,
                _ => Verdict::Inconclusive,
            };
            let t = interval_to_decide(&e, bound, bound, per);
            Decided::on(String::new(), v, e, t)
        }
        Err(why) => missing_or_inconclusive(r.lookup(q), why),
    }
}

/// An ordering claim over the paper's eight methods' means ([`PAPER_ORDER`]) of `metric` in `pol`: the probability
/// that `holds(methods, means)` over paired stratified resamples.
fn ordering_claim(
    r: &Results,
    pol: &str,
    metric: &str,
    d: &Decision,
    holds: impl Fn(&[Method], &[f64]) -> bool,
) -> Decided {
    let Some(rank) = r.ranking(pol, metric) else {
        return Decided::not_run(format!("missing table1.{pol}.*.{metric}"));
    };
    let ranked = names(&rank);
    let Some((cols, obs)) = r
        .evidence
        .get(pol)
        .and_then(|e| e.paired(&PAPER_ORDER, metric))
    else {
        return Decided::inconclusive(format!("{ranked}; {NO_EVIDENCE}"));
    };
    let ms = PAPER_ORDER;
    // The estimate: 1 when the claim holds on the means of every image, 0 when not.
    let on_all = |means: &[f64]| f64::from(u8::from(holds(&ms, means)));
    let e = probability(&cols, &obs, d, on_all, |means| holds(&ms, means));
    match e {
        Some(e) => {
            let v = probability_verdict(e.probability.expect("a probability"), d);
            let t = probability_to_decide(&e, d, classes(r, pol));
            Decided::on(format!("{ranked}; "), v, e, t)
        }
        None => Decided::inconclusive(format!(
            "{ranked}; fewer than two images with every method's value"
        )),
    }
}

/// Kendall tau-b between the run's means and the paper's values, by its bootstrap
/// interval against `bound`.
fn kendall_claim(
    r: &Results,
    paper: &Results,
    pol: &str,
    metric: &str,
    bound: f64,
    d: &Decision,
) -> Decided {
    let (Some(a), Some(b)) = (r.table1.get(pol), paper.table1.get(pol)) else {
        return Decided::not_run(format!("missing table1.{pol}"));
    };
    let pairs: Option<Vec<(f64, f64)>> = PAPER_ORDER
        .iter()
        .map(|m| Some((*a.get(m)?.get(metric)?, *b.get(m)?.get(metric)?)))
        .collect();
    let Some(pairs) = pairs else {
        return Decided::not_run(format!("missing table1.{pol}.*.{metric}"));
    };
    let (x, y): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
    let Some(point) = crate::stats::kendall_tau_b(&x, &y) else {
        return Decided::not_run("tau undefined (constant values)".into());
    };
    let Some((cols, obs)) = r
        .evidence
        .get(pol)
        .and_then(|e| e.paired(&PAPER_ORDER, metric))
    else {
        return Decided::inconclusive(format!("tau = {point:.3}; {NO_EVIDENCE}"));
    };
    match tau(&cols, &obs, &y, d) {
        Some(e) if e.interval.is_some() => {
            let v = band_verdict(e.interval.expect("checked"), bound, f64::INFINITY);
            Decided::on(
                "tau ".into(),
                v,
                e,
                Some("more images per class narrow the interval of tau".into()),
            )
        }
        _ => Decided::inconclusive(format!(
            "tau = {point:.3}; its bootstrap interval is undefined"
        )),
    }
}

/// Verdicts of every claim for `results.profile` of a run of the paper's own protocol and
/// data, each with its evidence, decided as `claims.decision` states; claims of other
/// profiles are NOT RUN with the reason. [`super::check_claims`] sends a transfer run's
/// results to [`super::transfer`] instead.
pub fn check_paper_claims(
    claims: &ClaimsFile,
    results: &Results,
    paper: &Results,
) -> Vec<VerdictRow> {
    claims
        .claims
        .iter()
        .map(|c: &Claim| {
            let d = if c.profiles.contains(&results.profile) {
                decide(&c.rule, results, paper, &claims.decision)
            } else {
                Decided::not_run(format!(
                    "not a {} claim (profiles: {})",
                    results.profile,
                    c.profiles.join(", ")
                ))
            };
            VerdictRow {
                id: c.id.clone(),
                source: c.source.clone(),
                expected: c.rule.expected(),
                measured: d.measured,
                verdict: d.verdict,
                evidence: d.evidence,
                transfer: None,
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
    let wv = w(&|r| r.verdict.label().len(), "verdict");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<wv$}  {:<wi$}  {:<ws$}  {:<we$}  measured (evidence)",
        "verdict", "claim", "source", "expected"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<wv$}  {:<wi$}  {:<ws$}  {:<we$}  {}",
            r.verdict.label(),
            r.id,
            r.source,
            r.expected,
            r.measured
        );
    }
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    if let Some(d) = rows.iter().find_map(|r| r.transfer.as_ref()) {
        let _ = write!(s, "transfer verdicts on {d} (not the paper reproduced): ");
    }
    let _ = writeln!(
        s,
        "{} passed, {} failed, {} inconclusive, {} not run",
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Inconclusive),
        count(Verdict::NotRun)
    );
    s
}
