//! `RUN/report.html`: one static, self-contained page (no network assets, no script needed;
//! figures inlined as data URIs and inline SVG) with
//!
//! 1. the accuracy beside the paper's;
//! 2. Table 1 per polarization laid out like the paper's (methods as rows; Max-Sensitivity
//!    as Captum 0.9 reports it, as defined, and XAI entropy), each cell our mean with its
//!    95 % CI, the paper's value, the ratio and both ranks, cells outside the claim
//!    tolerance marked; the rank agreement beside it and the further metrics in their own
//!    table;
//! 3. charts per metric (ours with CI against the paper, both polarizations, [`super::svg`]);
//! 4. Figure 1 per polarization (the PNG of the score directory, [`super::figure`]);
//! 5. the claims with PASS / FAIL / NOT RUN badges, a filter by verdict (CSS radio buttons:
//!    no JavaScript) and the reason for every NOT RUN; the pins with what was checked and how;
//!    the seconds per stage (`RUN/timings.json`).
//!
//! [`render`] reads the run directory; [`render_page`] renders a [`ReportData`] (tests build
//! one directly). The page prints cleanly (`@media print`: filters hidden, every row shown).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;

use super::metric::Metric;
use super::svg::{comparison_chart, ChartPanel, ChartRow};
use super::table::Table1;
use crate::claims::{ClaimsFile, Pins, Results, Rule, Verdict, VerdictRow};

/// Relative tolerance of a Table 1 cell when no claim states one (fixtures/claims.yaml:
/// "Table 1 cells ±25 % of the paper's value").
pub const DEFAULT_REL_TOLERANCE: f64 = 0.25;

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// Run results (`results.json`): profile, accuracy, Table 1 means.
    pub results: Results,
    /// The paper's numbers (`fixtures/paper_table1.yaml`), for the accuracy.
    pub paper: Option<Results>,
    /// Table 1 per polarization (`score-<pol>/table1.json`); a missing one is named in
    /// `missing`.
    pub tables: BTreeMap<String, Table1>,
    /// Figure 1 PNG per polarization.
    pub figures: BTreeMap<String, Vec<u8>>,
    pub verdicts: Vec<VerdictRow>,
    /// The claims file (statements and tolerances).
    pub claims: Option<ClaimsFile>,
    /// The pins of the run's profile (`fixtures/pins.yaml`) and the file's notes.
    pub pinned: Option<Pins>,
    pub pin_notes: Vec<String>,
    /// The pins the run recorded, or why they could not be read.
    pub recorded: Result<Pins, String>,
    /// Seconds per stage (`timings.json`).
    pub timings: BTreeMap<String, f64>,
    /// Scoring seconds per polarization and method, summed over the images of
    /// `score-<pol>/timings.csv`: (images, attribution seconds, total seconds).
    pub method_seconds: BTreeMap<String, BTreeMap<String, (usize, f64, f64)>>,
    /// Files the page would show that were not there.
    pub missing: Vec<String>,
}

impl Default for ReportData {
    fn default() -> Self {
        ReportData {
            results: Results::default(),
            paper: None,
            tables: BTreeMap::new(),
            figures: BTreeMap::new(),
            verdicts: Vec::new(),
            claims: None,
            pinned: None,
            pin_notes: Vec::new(),
            recorded: Err("not read".into()),
            timings: BTreeMap::new(),
            method_seconds: BTreeMap::new(),
            missing: Vec::new(),
        }
    }
}

impl ReportData {
    /// Reads what a reproduce run directory holds (missing parts are listed, not errors).
    pub fn load(run_dir: &Path, results: &Results, verdicts: &[VerdictRow]) -> ReportData {
        let mut d = ReportData {
            results: results.clone(),
            verdicts: verdicts.to_vec(),
            ..ReportData::default()
        };
        match crate::claims::fixtures::load(None, None) {
            Ok((claims, pins, paper)) => {
                d.claims = Some(claims);
                d.pinned = pins.profiles.get(&results.profile).cloned();
                d.pin_notes = pins.notes.clone();
                d.paper = Some(paper);
            }
            Err(e) => d.missing.push(format!("the embedded fixtures: {e:#}")),
        }
        let mut pols: Vec<String> = results.table1.keys().cloned().collect();
        for p in ["vh", "vv"] {
            if !pols.iter().any(|q| q == p) && run_dir.join(format!("score-{p}")).is_dir() {
                pols.push(p.to_string());
            }
        }
        for pol in &pols {
            let dir = run_dir.join(format!("score-{pol}"));
            let p = dir.join("table1.json");
            match std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Table1>(&b).map_err(|e| e.to_string()))
            {
                Ok(t) => {
                    d.tables.insert(pol.clone(), t);
                }
                Err(e) => d.missing.push(format!("score-{pol}/table1.json ({e})")),
            }
            if let Ok(text) = std::fs::read_to_string(dir.join(super::scoring::files::TIMINGS)) {
                d.method_seconds.insert(pol.clone(), method_seconds(&text));
            }
            let f = dir.join(super::scoring::files::figure(pol));
            match std::fs::read(&f) {
                Ok(b) => {
                    d.figures.insert(pol.clone(), b);
                }
                Err(_) => d.missing.push(format!(
                    "score-{pol}/{}",
                    super::scoring::files::figure(pol)
                )),
            }
        }
        let pin_pols: Vec<&str> = pols.iter().map(String::as_str).collect();
        d.recorded = Pins::measure(run_dir, &pin_pols, false).map_err(|e| e.to_string());
        match std::fs::read(run_dir.join("timings.json")) {
            Ok(b) => match serde_json::from_slice(&b) {
                Ok(t) => d.timings = t,
                Err(e) => d.missing.push(format!("timings.json ({e})")),
            },
            Err(_) => d.missing.push("timings.json".into()),
        }
        d
    }
}

/// Per method (images, attribution seconds, total seconds) from a `timings.csv`
/// (`image,method,attribution_s,...,total_s,device`); unreadable rows are skipped.
pub fn method_seconds(csv: &str) -> BTreeMap<String, (usize, f64, f64)> {
    let mut out: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
    let mut lines = csv.lines();
    let Some(head) = lines.next() else {
        return out;
    };
    let cols: Vec<&str> = head.split(',').collect();
    let at = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(m), Some(a), Some(t)) = (at("method"), at("attribution_s"), at("total_s")) else {
        return out;
    };
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        if let (Some(method), Some(att), Some(total)) = (f.get(m), num(a), num(t)) {
            let e = out.entry(method.to_string()).or_default();
            e.0 += 1;
            e.1 += att;
            e.2 += total;
        }
    }
    out
}

const STYLE: &str = r#"
:root{--pass:#1a7f37;--fail:#c62828;--notrun:#6b7280;--ours:#1f5fa8;--paper:#d95f02}
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;max-width:1240px;margin:1.5em auto;padding:0 16px;color:#1d2329;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:2px solid #d8dde3;padding-bottom:.2em}h3{margin-top:1.2em}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 18px}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
th,td{border:1px solid #c9d0d7;padding:3px 7px;vertical-align:top}
th{background:#eef1f4;text-align:center}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.method{white-space:nowrap;font-weight:600}
td.out{background:#fde7e7}
td.out .mark{color:var(--fail);font-weight:bold}
.ci{display:block;color:#5a6470;font-size:11px}
.ours{color:var(--ours)}.paper{color:var(--paper)}
.side{display:flex;flex-wrap:wrap;gap:12px 28px;align-items:flex-start}
.side>div{min-width:0}
.notes{font-size:12px;color:#4a5560;margin:.3em 0}
.notes li{margin:.1em 0}
.badge{display:inline-block;min-width:5.2em;text-align:center;border-radius:3px;padding:0 6px;color:#fff;font-weight:bold;font-size:11px;letter-spacing:.03em}
.b-PASS{background:var(--pass)}.b-FAIL{background:var(--fail)}.b-NOTRUN{background:var(--notrun)}
.stmt{display:block;color:#5a6470;font-size:11px}
.filter{margin:.4em 0}
.claims-box>input{position:absolute;opacity:0;pointer-events:none}
.filter label{display:inline-block;border:1px solid #aab3bc;border-radius:3px;padding:1px 9px;margin-right:6px;cursor:pointer;font-size:13px}
#vf-all:checked~.filter label[for=vf-all],#vf-pass:checked~.filter label[for=vf-pass],#vf-fail:checked~.filter label[for=vf-fail],#vf-notrun:checked~.filter label[for=vf-notrun]{background:#1d2329;color:#fff}
#vf-pass:checked~table tr.v-FAIL,#vf-pass:checked~table tr.v-NOTRUN,#vf-fail:checked~table tr.v-PASS,#vf-fail:checked~table tr.v-NOTRUN,#vf-notrun:checked~table tr.v-PASS,#vf-notrun:checked~table tr.v-FAIL{display:none}
.bar{display:inline-block;height:10px;background:var(--ours);vertical-align:middle}
figure{margin:.6em 0}figure img{max-width:100%;height:auto;border:1px solid #d8dde3}
figcaption{font-size:12px;color:#4a5560}
code{font-size:12px;word-break:break-all}
.chart{max-width:1000px;display:block}
@media print{
 body{max-width:none;margin:0;padding:0;font-size:10pt}
 nav,.filter{display:none}
 #vf-pass:checked~table tr,#vf-fail:checked~table tr,#vf-notrun:checked~table tr{display:table-row}
 h2{break-after:avoid}table,figure,svg{break-inside:avoid}
 table{font-size:9pt}th,td{padding:2px 4px}
 td.out{background:#fde7e7;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 .badge,.bar{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"#;

/// Renders the report page of a reproduce run directory.
pub fn render(run_dir: &Path, results: &Results, verdicts: &[VerdictRow]) -> String {
    render_page(&ReportData::load(run_dir, results, verdicts))
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::NotRun => "NOTRUN",
    }
}

/// A value with the metric's decimals (scientific where the metric asks for it).
fn fmt(k: Metric, v: f64) -> String {
    let d = k.decimals();
    if k.scientific() {
        format!("{v:.d$e}")
    } else {
        format!("{v:.d$}")
    }
}

/// The interval `[lo, hi]` a Table 1 cell must fall in: the claim's for that quantity
/// (`table1.<pol>.<method>.<metric>`), else ±[`DEFAULT_REL_TOLERANCE`] of the paper's value.
pub fn tolerance(
    claims: Option<&ClaimsFile>,
    pol: &str,
    method: &str,
    metric: &str,
    paper: Option<f64>,
) -> Option<(f64, f64, bool)> {
    let q = format!("table1.{pol}.{method}.{metric}");
    if let Some(c) = claims {
        for c in &c.claims {
            if let Rule::Value {
                quantity,
                expected,
                tolerance,
            } = &c.rule
            {
                if *quantity == q {
                    return Some((expected - tolerance, expected + tolerance, true));
                }
            }
        }
    }
    paper.map(|p| {
        let t = (p * DEFAULT_REL_TOLERANCE).abs();
        (p - t, p + t, false)
    })
}

/// Table 1's "paper" metrics, in the page's column order.
const PAPER_COLUMNS: [Metric; 3] = [
    Metric::MaxSensitivityCaptum09,
    Metric::MaxSensitivity,
    Metric::EntropyKb,
];

fn column_title(k: Metric) -> &'static str {
    match k {
        Metric::MaxSensitivityCaptum09 => "Max-Sensitivity (Captum 0.9)",
        Metric::MaxSensitivity => "Max-Sensitivity (defined)",
        Metric::EntropyKb => "XAI entropy (KB)",
        other => other.title(),
    }
}

fn ours_cell(h: &mut String, k: Metric, c: &super::table::Cell) {
    match c.stats.mean {
        Some(m) => {
            let _ = write!(h, "<span class=\"ours\">{}</span>", fmt(k, m));
            match (c.stats.ci_lo, c.stats.ci_hi) {
                (Some(lo), Some(hi)) => {
                    let _ = write!(
                        h,
                        "<span class=\"ci\">[{}, {}]</span>",
                        fmt(k, lo),
                        fmt(k, hi)
                    );
                }
                _ => h.push_str("<span class=\"ci\">no CI (n &lt; 2)</span>"),
            }
            if c.stats.undefined > 0 {
                let _ = write!(
                    h,
                    "<span class=\"ci\">n = {} ({} undefined)</span>",
                    c.stats.n, c.stats.undefined
                );
            }
        }
        None => h.push_str("n/a"),
    }
}

fn rank_text(r: Option<usize>) -> String {
    r.map(|x| x.to_string()).unwrap_or_else(|| "–".into())
}

/// Table 1 of one polarization (`id` prefixes the anchors).
fn table1_html(h: &mut String, pol: &str, t: &Table1, claims: Option<&ClaimsFile>) {
    let cols: Vec<Metric> = PAPER_COLUMNS
        .iter()
        .copied()
        .filter(|k| t.metrics.contains(k))
        .collect();
    let pol_up = pol.to_uppercase();
    let _ = write!(
        h,
        "<table class=\"t1\" id=\"table1-{pol}\"><caption>Table 1 ({pol_up}): ours (mean, 95 % CI) beside the paper ({}); ratio = ours / paper; rank 1 = lowest (ours / paper)</caption>",
        t.meta
            .paper_pol
            .as_deref()
            .map(|p| format!("{} column", p.to_uppercase()))
            .unwrap_or_else(|| "no comparison".into())
    );
    h.push_str("<thead><tr><th rowspan=\"2\">Method</th>");
    for k in &cols {
        let _ = write!(h, "<th colspan=\"4\">{}</th>", escape(column_title(*k)));
    }
    h.push_str("</tr><tr>");
    for _ in &cols {
        h.push_str("<th>ours</th><th>paper</th><th>ratio</th><th>rank</th>");
    }
    h.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        let _ = write!(
            h,
            "<tr data-method=\"{}\"><td class=\"method\">{}</td>",
            r.method.name(),
            escape(&r.title)
        );
        for &k in &cols {
            let Some(c) = r.cells.get(&k) else {
                h.push_str("<td colspan=\"4\">n/a</td>");
                continue;
            };
            let tol = tolerance(claims, pol, r.method.name(), k.key(), c.paper);
            let outside = match (c.stats.mean, tol) {
                (Some(m), Some((lo, hi, _))) => m < lo || m > hi,
                _ => false,
            };
            let title = match tol {
                Some((lo, hi, from_claim)) => format!(
                    "{} interval [{}, {}]",
                    if from_claim {
                        "claim"
                    } else {
                        "±25 % of the paper's value:"
                    },
                    fmt(k, lo),
                    fmt(k, hi)
                ),
                None => "no paper value".into(),
            };
            let _ = write!(
                h,
                "<td class=\"num{}\" title=\"{}\">",
                if outside { " out" } else { "" },
                escape(&title)
            );
            ours_cell(h, k, c);
            if outside {
                h.push_str(
                    " <span class=\"mark\" aria-label=\"outside the claim tolerance\">✗</span>",
                );
            }
            h.push_str("</td>");
            let derived = k == Metric::MaxSensitivity && r.method == crate::attr::Method::GradCam;
            match c.paper {
                Some(p) => {
                    let _ = write!(
                        h,
                        "<td class=\"num paper\">{}{}</td>",
                        fmt(k, p),
                        if derived { "<sup>†</sup>" } else { "" }
                    );
                }
                None => h.push_str("<td class=\"num\">–</td>"),
            }
            match (c.stats.mean, c.paper) {
                (Some(m), Some(p)) if p != 0.0 => {
                    let _ = write!(h, "<td class=\"num\">{:.2}</td>", m / p);
                }
                _ => h.push_str("<td class=\"num\">–</td>"),
            }
            let _ = write!(
                h,
                "<td class=\"num\">{} / {}</td>",
                rank_text(c.rank),
                rank_text(c.paper_rank)
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
}

fn agreement_html(h: &mut String, pol: &str, t: &Table1) {
    let _ = write!(
        h,
        "<table class=\"agree\" id=\"agreement-{pol}\"><caption>Rank agreement with the paper ({}): Kendall tau-b, exact two-sided p</caption><thead><tr><th>Metric</th><th>methods</th><th>tau-b</th><th>p</th></tr></thead><tbody>",
        pol.to_uppercase()
    );
    let mut agreement: Vec<&super::table::RankAgreement> = t.agreement.iter().collect();
    agreement.sort_by_key(|a| {
        PAPER_COLUMNS
            .iter()
            .position(|k| *k == a.metric)
            .unwrap_or(PAPER_COLUMNS.len())
    });
    for a in &agreement {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(column_title(a.metric)),
            a.methods,
            a.tau_b.map(|x| format!("{x:.3}")).unwrap_or_else(|| "n/a".into()),
            a.p_exact.map(|x| format!("{x:.4}")).unwrap_or_else(|| "n/a".into())
        );
    }
    if t.agreement.is_empty() {
        h.push_str("<tr><td colspan=\"4\">no paper values to compare</td></tr>");
    }
    h.push_str("</tbody></table>");
    // Orderings, lowest first.
    for a in &agreement {
        let names = |v: &[crate::attr::Method]| {
            v.iter()
                .map(|m| escape(m.title()))
                .collect::<Vec<_>>()
                .join(" &lt; ")
        };
        let _ = write!(
            h,
            "<p class=\"notes\"><b>{}</b>, lowest first<br><span class=\"ours\">ours:</span> {}<br><span class=\"paper\">paper:</span> {}</p>",
            escape(column_title(a.metric)),
            names(&a.ours),
            names(&a.paper)
        );
    }
}

fn further_html(h: &mut String, pol: &str, t: &Table1) {
    let extra: Vec<Metric> = t
        .metrics
        .iter()
        .copied()
        .filter(|k| !PAPER_COLUMNS.contains(k))
        .collect();
    if extra.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<table class=\"further\" id=\"further-{pol}\"><caption>Further metrics ({}; not in the paper): mean, 95 % CI, rank (1 = lowest)</caption><thead><tr><th>Method</th>",
        pol.to_uppercase()
    );
    for k in &extra {
        let _ = write!(h, "<th>{}</th>", escape(k.title()));
    }
    h.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        let _ = write!(
            h,
            "<tr data-method=\"{}\"><td class=\"method\">{}</td>",
            r.method.name(),
            escape(&r.title)
        );
        for &k in &extra {
            h.push_str("<td class=\"num\">");
            if let Some(c) = r.cells.get(&k) {
                ours_cell(h, k, c);
                if let Some(rank) = c.rank {
                    let _ = write!(h, "<span class=\"ci\">rank {rank}</span>");
                }
            } else {
                h.push_str("n/a");
            }
            h.push_str("</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
}

fn charts_html(h: &mut String, d: &ReportData) {
    for k in PAPER_COLUMNS {
        let panels: Vec<ChartPanel> = d
            .tables
            .iter()
            .filter(|(_, t)| t.metrics.contains(&k))
            .map(|(pol, t)| ChartPanel {
                title: pol.to_uppercase(),
                rows: t
                    .rows
                    .iter()
                    .map(|r| {
                        let c = r.cells.get(&k);
                        let paper = c.and_then(|c| c.paper);
                        ChartRow {
                            label: r.title.clone(),
                            ours: c.and_then(|c| c.stats.mean),
                            ci: c.and_then(|c| c.stats.ci_lo.zip(c.stats.ci_hi)),
                            paper,
                            tolerance: tolerance(
                                d.claims.as_ref(),
                                pol,
                                r.method.name(),
                                k.key(),
                                paper,
                            )
                            .map(|(a, b, _)| (a, b)),
                        }
                    })
                    .collect(),
            })
            .collect();
        if panels.is_empty() {
            continue;
        }
        let _ = write!(
            h,
            "<figure class=\"chart-fig\" id=\"chart-{}\"><figcaption><b>{}</b>: ours (blue, mean and 95 % CI) against the paper (orange), per method and polarization.</figcaption>{}</figure>",
            k.key(),
            escape(column_title(k)),
            comparison_chart(column_title(k), &panels)
        );
    }
}

fn claims_html(h: &mut String, d: &ReportData) {
    let count = |v: Verdict| d.verdicts.iter().filter(|r| r.verdict == v).count();
    let (p, f, n) = (
        count(Verdict::Pass),
        count(Verdict::Fail),
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
        "<div class=\"claims-box\"><input type=\"radio\" name=\"vf\" id=\"vf-all\" checked><input type=\"radio\" name=\"vf\" id=\"vf-pass\"><input type=\"radio\" name=\"vf\" id=\"vf-fail\"><input type=\"radio\" name=\"vf\" id=\"vf-notrun\">\
<div class=\"filter\">Show: <label for=\"vf-all\">all ({})</label><label for=\"vf-pass\">PASS ({p})</label><label for=\"vf-fail\">FAIL ({f})</label><label for=\"vf-notrun\">NOT RUN ({n})</label></div>\
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
            "<tr class=\"v-{c}\" data-verdict=\"{c}\"><td><span class=\"badge b-{c}\">{}</span></td><td><code>{}</code>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
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

fn pins_html(h: &mut String, d: &ReportData) {
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

fn timings_html(h: &mut String, d: &ReportData) {
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
    for m in super::table::PAPER_ORDER {
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

/// Renders the page (see the module docs).
pub fn render_page(d: &ReportData) -> String {
    let mut h = String::new();
    let profile = escape(&d.results.profile);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>sarxai reproduce: {profile}</title><style>{STYLE}</style></head><body>\n<h1>sarxai reproduce: {profile} profile</h1>\n"
    );
    for m in &d.results.marks {
        let _ = writeln!(
            h,
            "<p class=\"marks\"><strong>Every verdict of this run is marked \u{201c}{}\u{201d}</strong> (see the claims and pins below).</p>",
            escape(m)
        );
    }
    let count = |v: Verdict| d.verdicts.iter().filter(|r| r.verdict == v).count();
    let _ = writeln!(
        h,
        "<p>Claims: <span class=\"badge b-PASS\">{} PASS</span> <span class=\"badge b-FAIL\">{} FAIL</span> <span class=\"badge b-NOTRUN\">{} NOT RUN</span> &nbsp;Paper: Su et al., Explainable analysis of deep learning methods for SAR image classification (Table 1, Figure 1).</p>",
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::NotRun)
    );
    h.push_str("<nav><ul><li><a href=\"#accuracy\">Accuracy</a></li><li><a href=\"#table1\">Table 1</a></li><li><a href=\"#charts\">Charts</a></li><li><a href=\"#figure1\">Figure 1</a></li><li><a href=\"#claims\">Claims</a></li><li><a href=\"#pins\">Pins</a></li><li><a href=\"#timings\">Timings</a></li></ul></nav>\n");

    h.push_str("<h2 id=\"accuracy\">Accuracy</h2><table class=\"accuracy\" id=\"accuracy-table\"><thead><tr><th>polarization</th><th>test accuracy</th><th>balanced accuracy</th><th>paper (test accuracy)</th></tr></thead><tbody>");
    for (pol, acc) in &d.results.accuracy {
        let bal = d.results.balanced_accuracy.get(pol).copied();
        let paper = d.paper.as_ref().and_then(|p| p.accuracy.get(pol)).copied();
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{acc:.4}</td><td class=\"num\">{}</td><td class=\"num paper\">{}</td></tr>",
            escape(&pol.to_uppercase()),
            bal.map(|b| format!("{b:.4}")).unwrap_or_else(|| "–".into()),
            paper.map(|b| format!("{b:.4}")).unwrap_or_else(|| "–".into())
        );
    }
    h.push_str("</tbody></table>\n");

    h.push_str("<h2 id=\"table1\">Table 1</h2>\n");
    h.push_str("<p class=\"notes\">Cells: our mean over the explained test images with its 95 % Student-t interval below it, the paper's value, the ratio ours / paper, and the rank among the eight methods (1 = lowest; ours / the paper's). A red cell with ✗ lies outside the claim tolerance (the claim's interval in fixtures/claims.yaml, else ±25 % of the paper's value; hover for it). Max-Sensitivity (Captum 0.9) is what the paper's tool reports: for Grad-CAM sqrt(10) times the defined value. † The paper's defined Max-Sensitivity of Grad-CAM is derived, = reported / sqrt(10); the paper did not publish it.</p>\n");
    for (pol, t) in &d.tables {
        let _ = write!(
            h,
            "<h3 id=\"table1-{pol}-h\">{} — {} method(s), {} test image(s), model <code>{}</code></h3>",
            escape(&pol.to_uppercase()),
            t.rows.len(),
            t.meta.images,
            escape(&t.meta.model_hash[..t.meta.model_hash.len().min(16)])
        );
        h.push_str("<div class=\"side\"><div>");
        table1_html(&mut h, pol, t, d.claims.as_ref());
        h.push_str("</div><div>");
        agreement_html(&mut h, pol, t);
        h.push_str("</div></div>");
        further_html(&mut h, pol, t);
        if !t.meta.notes.is_empty() {
            h.push_str("<ul class=\"notes\">");
            let _ = write!(
                h,
                "<li>explained class: {}</li>",
                escape(match t.meta.target.as_str() {
                    "true_label" => "the true label of each image",
                    "predicted" => "the model's prediction for each image",
                    other => other,
                })
            );
            for n in &t.meta.notes {
                let _ = write!(h, "<li>{}</li>", escape(n));
            }
            h.push_str("</ul>\n");
        }
    }
    if d.tables.is_empty() {
        h.push_str("<p>No Table 1 in this run directory.</p>");
    }

    h.push_str("<h2 id=\"charts\">Charts</h2>\n");
    charts_html(&mut h, d);

    h.push_str("<h2 id=\"figure1\">Figure 1</h2>\n");
    for (pol, png) in &d.figures {
        let b64 = base64::engine::general_purpose::STANDARD.encode(png);
        let _ = writeln!(
            h,
            "<figure id=\"figure1-{pol}\"><img alt=\"Figure 1 ({p}): the input and the heatmaps of the eight methods\" src=\"data:image/png;base64,{b64}\"><figcaption>Figure 1 ({p}), also in score-{pol}/{f}: heatmaps drawn as the XAI-entropy images (Captum's normalisation, matplotlib's Blues), titles in DejaVu Sans.</figcaption></figure>",
            p = escape(&pol.to_uppercase()),
            f = super::scoring::files::figure(pol)
        );
    }
    if d.figures.is_empty() {
        h.push_str("<p>No Figure 1 in this run directory.</p>");
    }

    h.push_str("<h2 id=\"claims\">Claims</h2>\n");
    claims_html(&mut h, d);
    h.push_str("<h2 id=\"pins\">Pins</h2>\n");
    pins_html(&mut h, d);
    h.push_str("<h2 id=\"timings\">Timings</h2>\n");
    timings_html(&mut h, d);
    if !d.missing.is_empty() {
        h.push_str("<h2 id=\"missing\">Not found in the run directory</h2><ul class=\"notes\">");
        for m in &d.missing {
            let _ = write!(h, "<li>{}</li>", escape(m));
        }
        h.push_str("</ul>");
    }
    h.push_str("\n</body></html>\n");
    h
}

/// Writes `RUN/report.html` atomically.
pub fn write_report(
    run_dir: &Path,
    results: &Results,
    verdicts: &[VerdictRow],
) -> std::io::Result<()> {
    crate::io::write_atomic(
        &run_dir.join("report.html"),
        render(run_dir, results, verdicts).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_comes_from_the_claim_or_25_percent() {
        let (claims, _, _) = crate::claims::fixtures::load(None, None).unwrap();
        let (lo, hi, from_claim) = tolerance(
            Some(&claims),
            "vh",
            "grad-cam",
            "max_sensitivity_captum09",
            Some(0.4528),
        )
        .unwrap();
        assert!(from_claim);
        assert!((lo - (0.4528 - 0.1132)).abs() < 1e-12 && (hi - (0.4528 + 0.1132)).abs() < 1e-12);
        let (lo, hi, from_claim) = tolerance(
            Some(&claims),
            "vh",
            "grad-cam",
            "max_sensitivity",
            Some(0.2),
        )
        .unwrap();
        assert!(!from_claim);
        assert!((lo - 0.15).abs() < 1e-12 && (hi - 0.25).abs() < 1e-12);
        assert!(tolerance(None, "vh", "grad-cam", "max_sensitivity", None).is_none());
    }

    #[test]
    fn method_seconds_sum_over_images() {
        let csv = "image,method,attribution_s,entropy_kb_s,total_s,device\n0,saliency,0.5,1,2.0,cpu\n1,saliency,0.25,1,1.0,cpu\n0,occlusion,3,1,9,cpu\nbroken\n";
        let m = method_seconds(csv);
        assert_eq!(m["saliency"], (2, 0.75, 3.0));
        assert_eq!(m["occlusion"], (1, 3.0, 9.0));
        assert!(method_seconds("").is_empty());
    }

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
