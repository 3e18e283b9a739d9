//! The report page's checks of the run: the claims with their verdicts, the pins and the
//! seconds per stage and per method.

use std::fmt::Write as _;

use super::{escape, ReportData};
use crate::claims::{Pins, Verdict};

/// The CSS class suffix of a verdict.
fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Inconclusive => "INCONCLUSIVE",
        Verdict::NotRun => "NOTRUN",
    }
}

/// The claims table with its verdict filter (CSS radio buttons): verdict, claim and its
/// statement, source, expected, measured and the reason of every NOT RUN.
pub(super) fn claims_html(h: &mut String, d: &ReportData) {
    let count = |v: Verdict| d.verdicts.iter().filter(|r| r.verdict == v).count();
    let (p, f, i, n) = (
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Inconclusive),
        count(Verdict::NotRun),
    );
    let statement = |id: &str| {
        d.claims
            .as_ref()
            .and_then(|c| c.claims.iter().find(|c| c.id == id))
            .map(|c| c.statement.clone())
    };
    let _ = write!(
        h,
        "<div class=\"claims-box\"><input type=\"radio\" name=\"vf\" id=\"vf-all\" checked><input type=\"radio\" name=\"vf\" id=\"vf-pass\"><input type=\"radio\" name=\"vf\" id=\"vf-fail\"><input type=\"radio\" name=\"vf\" id=\"vf-inconclusive\"><input type=\"radio\" name=\"vf\" id=\"vf-notrun\">\
<div class=\"filter\">Show: <label for=\"vf-all\">all ({})</label><label for=\"vf-pass\">PASS ({p})</label><label for=\"vf-fail\">FAIL ({f})</label><label for=\"vf-inconclusive\">INCONCLUSIVE ({i})</label><label for=\"vf-notrun\">NOT RUN ({n})</label></div>\
<table class=\"claims\" id=\"claims-table\"><thead><tr><th>verdict</th><th>claim</th><th>source</th><th>expected</th><th>measured</th><th>reason (NOT RUN)</th></tr></thead><tbody>",
        d.verdicts.len()
    );
    for r in &d.verdicts {
        let c = verdict_class(r.verdict);
        let (measured, reason) = match r.verdict {
            Verdict::NotRun => (
                "–".to_string(),
                if r.measured.trim().is_empty() {
                    "no reason recorded".to_string()
                } else {
                    r.measured.clone()
                },
            ),
            _ => (r.measured.clone(), String::new()),
        };
        let _ = write!(
            h,
            "<tr class=\"v-{c}\" data-verdict=\"{c}\"><td><span class=\"badge b-{c}\">{}</span></td><td><code>{}</code>{}</td><td>{}</td><td class=\"val\">{}</td><td class=\"val\">{}</td><td>{}</td></tr>",
            r.verdict.label(),
            escape(&r.id),
            statement(&r.id)
                .map(|s| format!("<span class=\"stmt\">{}</span>", escape(&s)))
                .unwrap_or_default(),
            escape(&r.source),
            escape(&r.expected),
            escape(&measured),
            escape(&reason)
        );
    }
    h.push_str("</tbody></table></div>");
}

/// One pin row: name, this run's value, the pinned value, how it is checked, the outcome.
struct PinRow {
    name: String,
    run: Option<String>,
    pinned: Option<String>,
    how: &'static str,
    platform_bound: bool,
}

/// The keys `keys` gives of the recorded pins, then those only the pinned ones have.
fn keys_of_both(
    recorded: Option<&Pins>,
    pinned: Option<&Pins>,
    keys: impl Fn(&Pins) -> Vec<String>,
) -> Vec<String> {
    let mut out: Vec<String> = recorded.map(&keys).unwrap_or_default();
    for k in pinned.map(&keys).unwrap_or_default() {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// The rows of the pins table: data manifest, splits, seeds, model hashes, platform and
/// versions, each with this run's and the pinned value.
fn pin_rows(recorded: Option<&Pins>, pinned: Option<&Pins>) -> Vec<PinRow> {
    let mut rows = Vec::new();
    let get = |p: Option<&Pins>, f: &dyn Fn(&Pins) -> Option<String>| p.and_then(f);
    rows.push(PinRow {
        name: "data manifest".into(),
        run: get(recorded, &|p| p.data_manifest.clone()),
        pinned: get(pinned, &|p| p.data_manifest.clone()),
        how: "root digest of the data directory's manifest, recomputed from the files and compared with the run's record and the pin",
        platform_bound: false,
    });
    let pols = keys_of_both(recorded, pinned, |p| p.splits.keys().cloned().collect());
    for pol in &pols {
        for part in ["train", "val", "test"] {
            let f = |p: &Pins| p.splits.get(pol).and_then(|s| s.get(part)).cloned();
            rows.push(PinRow {
                name: format!("split {pol} {part}"),
                run: get(recorded, &f),
                pinned: get(pinned, &f),
                how: "digest of the member list recorded in RUN/<pol>/run.json, compared exactly",
                platform_bound: false,
            });
        }
    }
    let seeds = keys_of_both(recorded, pinned, |p| p.seeds.keys().cloned().collect());
    for s in &seeds {
        let f = |p: &Pins| p.seeds.get(s).map(|v| v.to_string());
        rows.push(PinRow {
            name: format!("seed {s}"),
            run: get(recorded, &f),
            pinned: get(pinned, &f),
            how: "recorded in run.json, compared exactly",
            platform_bound: false,
        });
    }
    let pols = keys_of_both(recorded, pinned, |p| {
        p.model_hashes.keys().cloned().collect()
    });
    for pol in &pols {
        let f = |p: &Pins| p.model_hashes.get(pol).cloned();
        rows.push(PinRow {
            name: format!("model hash {pol}"),
            run: get(recorded, &f),
            pinned: get(pinned, &f),
            how: "SHA-256 over the weights, recomputed from the checkpoint; held to the pin only on the pinned platform",
            platform_bound: true,
        });
    }
    rows.push(PinRow {
        name: "model platform".into(),
        run: get(recorded, &|p| p.model_platform.clone()),
        pinned: get(pinned, &|p| p.model_platform.clone()),
        how: "device and CPU instruction sets of training; decides whether the model hashes are compared",
        platform_bound: false,
    });
    for v in ["tch", "libtorch"] {
        let f = |p: &Pins| p.versions.get(v).cloned();
        rows.push(PinRow {
            name: format!("version {v}"),
            run: get(recorded, &f),
            pinned: get(pinned, &f),
            how: "recorded at training, compared exactly",
            platform_bound: false,
        });
    }
    rows
}

/// The pins table: each pin's value in this run and pinned, the outcome and how it is
/// checked; then the pins file's notes.
pub(super) fn pins_html(h: &mut String, d: &ReportData) {
    let recorded = d.recorded.as_ref().ok();
    if let Err(e) = &d.recorded {
        let _ = write!(
            h,
            "<p class=\"notes\">This run's recorded pins could not be read: {}</p>",
            escape(e)
        );
    }
    let same_platform = match (recorded, d.pinned.as_ref()) {
        (Some(r), Some(p)) => match (&r.model_platform, &p.model_platform) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        },
        _ => true,
    };
    h.push_str("<table class=\"pins\" id=\"pins-table\"><thead><tr><th>pin</th><th>this run</th><th>pinned (fixtures/pins.yaml)</th><th>outcome</th><th>how it is checked</th></tr></thead><tbody>");
    let short = |s: &Option<String>| match s {
        Some(v) if v.len() > 24 && v.chars().all(|c| c.is_ascii_hexdigit()) => {
            format!("<code title=\"{v}\">{}…</code>", &v[..16])
        }
        Some(v) => format!("<code>{}</code>", escape(v)),
        None => "–".into(),
    };
    for r in pin_rows(recorded, d.pinned.as_ref()) {
        let outcome = match (&r.run, &r.pinned) {
            (_, None) => "not pinned",
            (None, Some(_)) => "not recorded",
            (Some(_), Some(_)) if r.platform_bound && !same_platform => {
                "other platform: not compared"
            }
            (Some(a), Some(b)) if a == b => "equal",
            _ => "DIFFERENT",
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.name),
            short(&r.run),
            short(&r.pinned),
            outcome,
            escape(r.how)
        );
    }
    h.push_str("</tbody></table>");
    if !d.pin_notes.is_empty() {
        h.push_str("<ul class=\"notes\">");
        for n in &d.pin_notes {
            let _ = write!(h, "<li>{}</li>", escape(n));
        }
        h.push_str("</ul>");
    }
}

/// Stage order: data first, then per polarization training before scoring, then the rest.
fn stage_key(name: &str) -> (usize, String) {
    let rank = if name.starts_with("data") {
        0
    } else if name.ends_with("_vh") {
        if name.starts_with("train") {
            1
        } else {
            2
        }
    } else if name.ends_with("_vv") {
        if name.starts_with("train") {
            3
        } else {
            4
        }
    } else {
        5
    };
    (rank, name.to_string())
}

/// The timings: seconds per stage with its share, then scoring seconds per method and
/// polarization.
pub(super) fn timings_html(h: &mut String, d: &ReportData) {
    if d.timings.is_empty() {
        h.push_str("<p>timings.json missing.</p>");
        return;
    }
    let mut stages: Vec<(&String, f64)> = d.timings.iter().map(|(k, v)| (k, *v)).collect();
    stages.sort_by_key(|(k, _)| stage_key(k));
    let total: f64 = stages.iter().map(|s| s.1).sum();
    h.push_str("<table class=\"timings\" id=\"timings-table\"><thead><tr><th>stage</th><th>seconds</th><th>share</th></tr></thead><tbody>");
    for (k, v) in &stages {
        let share = if total > 0.0 { v / total } else { 0.0 };
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{v:.1}</td><td><span class=\"bar\" style=\"width:{:.0}px\"></span> {:.0} %</td></tr>",
            escape(&k.replace('_', " ")),
            share * 200.0,
            share * 100.0
        );
    }
    let _ = write!(
        h,
        "<tr><td><b>total</b></td><td class=\"num\"><b>{total:.1}</b></td><td></td></tr></tbody></table>"
    );
    if d.method_seconds.is_empty() {
        return;
    }
    let pols: Vec<&String> = d.method_seconds.keys().collect();
    h.push_str("<table class=\"method-timings\" id=\"method-timings-table\"><caption>Scoring seconds per method (score-&lt;pol&gt;/timings.csv, summed over the images): attribution / all metrics included</caption><thead><tr><th>method</th>");
    for p in &pols {
        let _ = write!(
            h,
            "<th>{} images</th><th>{} seconds</th>",
            escape(&p.to_uppercase()),
            escape(&p.to_uppercase())
        );
    }
    h.push_str("</tr></thead><tbody>");
    for m in crate::score::table::PAPER_ORDER {
        if !pols
            .iter()
            .any(|p| d.method_seconds[*p].contains_key(m.name()))
        {
            continue;
        }
        let _ = write!(h, "<tr><td>{}</td>", escape(m.title()));
        for p in &pols {
            match d.method_seconds[*p].get(m.name()) {
                Some((n, a, t)) => {
                    let _ = write!(
                        h,
                        "<td class=\"num\">{n}</td><td class=\"num\">{a:.1} / {t:.1}</td>"
                    );
                }
                None => h.push_str("<td class=\"num\">–</td><td class=\"num\">–</td>"),
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_in_pipeline_order() {
        let mut v = vec!["score_vv", "train_vv", "score_vh", "train_vh", "claims"];
        v.sort_by_key(|k| stage_key(k));
        assert_eq!(
            v,
            ["train_vh", "score_vh", "train_vv", "score_vv", "claims"]
        );
    }
}
