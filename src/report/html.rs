//! `RUN/report.html`: one static, self-contained page (no network assets, no script needed;
//! figures inlined as data URIs and inline SVG) with
//!
//! 1. the accuracy beside the paper's;
//! 2. Table 1 per polarization laid out like the paper's (methods as rows; Max-Sensitivity
//!    as Captum 0.9 reports it, as defined, and XAI entropy), each cell our mean with its
//!    95 % CI, the paper's value, the ratio and both ranks, cells outside the claim
//!    tolerance marked; the rank agreement beside it and the further metrics in their own
//!    table;
//! 3. charts per metric (ours with CI against the paper, both polarizations, `super::svg`);
//! 4. Figure 1 per polarization (the PNG of the score directory, [`crate::score::figure`]);
//! 5. the claims with PASS / FAIL / NOT RUN badges, a filter by verdict (CSS radio buttons:
//!    no JavaScript) and the reason for every NOT RUN; the pins with what was checked and how;
//!    the seconds per stage (`RUN/timings.json`).
//!
//! [`render`] reads the run directory; [`render_page`] renders a [`ReportData`] (tests build
//! one directly). The page prints cleanly (`@media print`: filters hidden, every row shown).
//!
//! This file holds the data, the style and the page's frame (head, accuracy, Figure 1);
//! the Table 1 section and the charts are in `html/tables.rs`, the claims, pins and timings
//! in `html/checks.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;

use crate::claims::{ClaimsFile, Pins, Results, Verdict, VerdictRow};
use crate::layout;
use crate::score::table::Table1;

mod checks;
mod tables;

pub use super::svg::escape;

use checks::{claims_html, pins_html, timings_html};
pub use tables::tolerance;
use tables::{charts_html, table1_section};

/// Relative tolerance of a Table 1 cell when no claim states one (fixtures/claims.yaml:
/// "Table 1 cells ±25 % of the paper's value").
pub const DEFAULT_REL_TOLERANCE: f64 = 0.25;

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
    /// One verdict per claim.
    pub verdicts: Vec<VerdictRow>,
    /// The claims file (statements and tolerances).
    pub claims: Option<ClaimsFile>,
    /// The pins of the run's profile (`fixtures/pins.yaml`) and the file's notes.
    pub pinned: Option<Pins>,
    /// The notes of the pins file.
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
    /// Reads what a reproduce run directory holds (missing parts are listed, not errors);
    /// the run's pins as given (`reproduce` has them), else measured from its files.
    pub fn load(
        run_dir: &Path,
        results: &Results,
        verdicts: &[VerdictRow],
        recorded: Option<&Pins>,
    ) -> ReportData {
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
        for p in results.pols() {
            if !pols.contains(&p) && layout::score_dir(run_dir, &p).is_dir() {
                pols.push(p);
            }
        }
        for pol in &pols {
            let dir = layout::score_dir(run_dir, pol);
            // A file of the score directory as the page names it (`score-vh/table1.json`).
            let shown = |name: &str| {
                layout::score_dir(Path::new(""), pol)
                    .join(name)
                    .display()
                    .to_string()
            };
            let p = dir.join(layout::score::TABLE1_JSON);
            match std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Table1>(&b).map_err(|e| e.to_string()))
            {
                Ok(t) => {
                    d.tables.insert(pol.clone(), t);
                }
                Err(e) => d
                    .missing
                    .push(format!("{} ({e})", shown(layout::score::TABLE1_JSON))),
            }
            if let Ok(text) = std::fs::read_to_string(dir.join(layout::score::TIMINGS)) {
                d.method_seconds.insert(pol.clone(), method_seconds(&text));
            }
            let f = dir.join(layout::score::figure(pol));
            match std::fs::read(&f) {
                Ok(b) => {
                    d.figures.insert(pol.clone(), b);
                }
                Err(_) => d.missing.push(shown(&layout::score::figure(pol))),
            }
        }
        let pin_pols: Vec<&str> = pols.iter().map(String::as_str).collect();
        d.recorded = match recorded {
            Some(p) => Ok(p.clone()),
            None => Pins::measure(run_dir, &pin_pols, false).map_err(|e| e.to_string()),
        };
        match std::fs::read(run_dir.join(layout::TIMINGS_JSON)) {
            Ok(b) => match serde_json::from_slice(&b) {
                Ok(t) => d.timings = t,
                Err(e) => d.missing.push(format!("{} ({e})", layout::TIMINGS_JSON)),
            },
            Err(_) => d.missing.push(layout::TIMINGS_JSON.into()),
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
:root{--pass:#1a7f37;--fail:#c62828;--notrun:#6b7280;--inconclusive:#b26a00;--ours:#1f5fa8;--paper:#d95f02}
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;max-width:1240px;margin:1.5em auto;padding:0 16px;color:#1d2329;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:2px solid #d8dde3;padding-bottom:.2em}h3{margin-top:1.2em}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 18px}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
th,td{border:1px solid #c9d0d7;padding:3px 7px;vertical-align:top}
th{background:#eef1f4;text-align:center}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.val{font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
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
.b-PASS{background:var(--pass)}.b-FAIL{background:var(--fail)}.b-NOTRUN{background:var(--notrun)}.b-INCONCLUSIVE{background:var(--inconclusive)}
.stmt{display:block;color:#5a6470;font-size:11px}
.filter{margin:.4em 0}
.claims-box>input{position:absolute;opacity:0;pointer-events:none}
.filter label{display:inline-block;border:1px solid #aab3bc;border-radius:3px;padding:1px 9px;margin-right:6px;cursor:pointer;font-size:13px}
#vf-all:checked~.filter label[for=vf-all],#vf-pass:checked~.filter label[for=vf-pass],#vf-fail:checked~.filter label[for=vf-fail],#vf-notrun:checked~.filter label[for=vf-notrun],#vf-inconclusive:checked~.filter label[for=vf-inconclusive]{background:#1d2329;color:#fff}
#vf-pass:checked~table tr.v-FAIL,#vf-pass:checked~table tr.v-NOTRUN,#vf-pass:checked~table tr.v-INCONCLUSIVE,#vf-fail:checked~table tr.v-PASS,#vf-fail:checked~table tr.v-NOTRUN,#vf-fail:checked~table tr.v-INCONCLUSIVE,#vf-notrun:checked~table tr.v-PASS,#vf-notrun:checked~table tr.v-FAIL,#vf-notrun:checked~table tr.v-INCONCLUSIVE,#vf-inconclusive:checked~table tr.v-PASS,#vf-inconclusive:checked~table tr.v-FAIL,#vf-inconclusive:checked~table tr.v-NOTRUN{display:none}
.bar{display:inline-block;height:10px;background:var(--ours);vertical-align:middle}
figure{margin:.6em 0}figure img{max-width:100%;height:auto;border:1px solid #d8dde3}
figcaption{font-size:12px;color:#4a5560}
code{font-size:12px;word-break:break-all}
.chart{max-width:1000px;display:block}
@media print{
 body{max-width:none;margin:0;padding:0;font-size:10pt}
 nav,.filter{display:none}
 #vf-pass:checked~table tr,#vf-fail:checked~table tr,#vf-notrun:checked~table tr,#vf-inconclusive:checked~table tr{display:table-row}
 h2{break-after:avoid}table,figure,svg{break-inside:avoid}
 table{font-size:9pt}th,td{padding:2px 4px}
 td.out{background:#fde7e7;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 .badge,.bar{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"#;

/// Renders the report page of a reproduce run directory.
pub fn render(run_dir: &Path, results: &Results, verdicts: &[VerdictRow]) -> String {
    render_page(&ReportData::load(run_dir, results, verdicts, None))
}

/// Renders the page (see the module docs): the head with the verdict counts, then the
/// accuracy, Table 1, the charts, Figure 1, the claims, the pins, the timings and what was
/// missing, each section by its own function.
pub fn render_page(d: &ReportData) -> String {
    let mut h = String::new();
    page_head(&mut h, d);
    accuracy_html(&mut h, d);
    table1_section(&mut h, d);
    super::models::models_html(&mut h, &d.results);
    h.push_str("<h2 id=\"charts\">Charts</h2>\n");
    charts_html(&mut h, d);
    figures_html(&mut h, d);
    h.push_str("<h2 id=\"claims\">Claims</h2>\n");
    claims_html(&mut h, d);
    h.push_str("<h2 id=\"pins\">Pins</h2>\n");
    pins_html(&mut h, d);
    h.push_str("<h2 id=\"timings\">Timings</h2>\n");
    timings_html(&mut h, d);
    missing_html(&mut h, d);
    h.push_str("\n</body></html>\n");
    h
}

/// Writes the document head (title, style), the heading, the run's marks, the verdict
/// counts and the navigation.
fn page_head(h: &mut String, d: &ReportData) {
    let profile = escape(&d.results.profile);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>sarxai reproduce: {profile}</title><style>{STYLE}</style></head><body>\n<h1>sarxai reproduce: {profile} profile</h1>\n"
    );
    if let Some(t) = &d.results.transfer {
        let _ = writeln!(
            h,
            "<p class=\"marks\" id=\"transfer-banner\"><strong>Transfer run on {}: the paper's claims decided on other data, not the paper reproduced.</strong> {}. The paper's values (OpenSARUrban, ResNet-101) stand beside this data's for reference.</p>",
            escape(&t.dataset),
            escape(&t.rule)
        );
    }
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
        "<p>Claims: <span class=\"badge b-PASS\">{} PASS</span> <span class=\"badge b-FAIL\">{} FAIL</span> <span class=\"badge b-INCONCLUSIVE\">{} INCONCLUSIVE</span> <span class=\"badge b-NOTRUN\">{} NOT RUN</span> &nbsp;Paper: Su et al., Explainable analysis of deep learning methods for SAR image classification (Table 1, Figure 1).</p>",
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Inconclusive),
        count(Verdict::NotRun)
    );
    h.push_str("<nav><ul><li><a href=\"#accuracy\">Accuracy</a></li><li><a href=\"#table1\">Table 1</a></li><li><a href=\"#charts\">Charts</a></li><li><a href=\"#figure1\">Figure 1</a></li><li><a href=\"#claims\">Claims</a></li><li><a href=\"#pins\">Pins</a></li><li><a href=\"#timings\">Timings</a></li></ul></nav>\n");
}

/// Writes the accuracy section: test and balanced accuracy per polarization beside the
/// paper's.
fn accuracy_html(h: &mut String, d: &ReportData) {
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
}

/// Writes the Figure 1 section: each polarization's PNG inlined as a data URI.
fn figures_html(h: &mut String, d: &ReportData) {
    h.push_str("<h2 id=\"figure1\">Figure 1</h2>\n");
    for (pol, png) in &d.figures {
        let b64 = base64::engine::general_purpose::STANDARD.encode(png);
        let _ = writeln!(
            h,
            "<figure id=\"figure1-{pol}\"><img alt=\"Figure 1 ({p}): the input and the heatmaps of the eight methods\" src=\"data:image/png;base64,{b64}\"><figcaption>Figure 1 ({p}), also in score-{pol}/{f}: heatmaps drawn as the XAI-entropy images (Captum's normalisation, matplotlib's Blues), titles in DejaVu Sans.</figcaption></figure>",
            p = escape(&pol.to_uppercase()),
            f = crate::layout::score::figure(pol)
        );
    }
    if d.figures.is_empty() {
        h.push_str("<p>No Figure 1 in this run directory.</p>");
    }
}

/// Writes the list of files the page would show that were not found (nothing when all
/// were there).
fn missing_html(h: &mut String, d: &ReportData) {
    if !d.missing.is_empty() {
        h.push_str("<h2 id=\"missing\">Not found in the run directory</h2><ul class=\"notes\">");
        for m in &d.missing {
            let _ = write!(h, "<li>{}</li>", escape(m));
        }
        h.push_str("</ul>");
    }
}

/// Writes `RUN/report.html` atomically, from the checked run's results, verdicts and the
/// pins it recorded.
pub fn write_report(
    run_dir: &Path,
    results: &Results,
    verdicts: &[VerdictRow],
    recorded: &Pins,
) -> std::io::Result<()> {
    let data = ReportData::load(run_dir, results, verdicts, Some(recorded));
    crate::io::write_atomic(
        &run_dir.join(layout::REPORT_HTML),
        render_page(&data).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_seconds_sum_over_images() {
        let csv = "image,method,attribution_s,entropy_kb_s,total_s,device\n0,saliency,0.5,1,2.0,cpu\n1,saliency,0.25,1,1.0,cpu\n0,occlusion,3,1,9,cpu\nbroken\n";
        let m = method_seconds(csv);
        assert_eq!(m["saliency"], (2, 0.75, 3.0));
        assert_eq!(m["occlusion"], (1, 3.0, 9.0));
        assert!(method_seconds("").is_empty());
    }
}
