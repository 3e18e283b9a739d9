//! `RUN/report.html`: the run's Table 1, Figure 1, claims verdicts and pins in one static
//! page with no network assets (figures are inlined as data URIs).

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;

use crate::claims::{Pins, Results, Verdict, VerdictRow};

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the report page of a reproduce run directory.
pub fn render(run_dir: &Path, results: &Results, verdicts: &[VerdictRow]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sarxai reproduce: {p}</title>\
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}table{{border-collapse:collapse}}\
td,th{{border:1px solid #bbb;padding:3px 8px;font-size:13px}}.PASS{{background:#d4f4d4}}.FAIL{{background:#f8d0d0}}\
.NOTRUN{{background:#eee;color:#666}}pre{{background:#f6f6f6;padding:8px;overflow-x:auto}}img{{max-width:100%}}</style></head><body>\n\
<h1>sarxai reproduce: {p} profile</h1>\n",
        p = escape(&results.profile)
    );
    h.push_str("<h2>Accuracy</h2><table><tr><th>polarization</th><th>test accuracy</th><th>balanced accuracy</th></tr>\n");
    for (pol, acc) in &results.accuracy {
        let bal = results
            .balanced_accuracy
            .get(pol)
            .copied()
            .unwrap_or(f64::NAN);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{acc:.4}</td><td>{bal:.4}</td></tr>",
            escape(pol)
        );
    }
    h.push_str("</table>\n");
    for pol in results.table1.keys() {
        let dir = run_dir.join(format!("score-{pol}"));
        let _ = writeln!(h, "<h2>Table 1 ({})</h2>", escape(&pol.to_uppercase()));
        match std::fs::read_to_string(dir.join("table1.md")) {
            Ok(md) => {
                let _ = writeln!(h, "<pre>{}</pre>", escape(&md));
            }
            Err(_) => h.push_str("<p>(table1.md missing)</p>\n"),
        }
        let fig = dir.join(format!("figure1_{pol}.png"));
        if let Ok(bytes) = std::fs::read(&fig) {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            let _ = writeln!(h, "<h3>Figure 1 ({})</h3><img alt=\"Figure 1 {pol}\" src=\"data:image/png;base64,{b64}\">", escape(&pol.to_uppercase()));
        }
    }
    h.push_str("<h2>Claims</h2><table><tr><th>verdict</th><th>claim</th><th>source</th><th>expected</th><th>measured</th></tr>\n");
    for r in verdicts {
        let class = match r.verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::NotRun => "NOTRUN",
        };
        let _ = writeln!(
            h,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.verdict.label(),
            escape(&r.id),
            escape(&r.source),
            escape(&r.expected),
            escape(&r.measured)
        );
    }
    h.push_str("</table>\n<h2>Pins</h2>\n");
    match Pins::measure(run_dir, &["vh", "vv"], false) {
        Ok(p) => {
            let _ = writeln!(
                h,
                "<pre>{}</pre>",
                escape(&serde_json::to_string_pretty(&p).unwrap_or_default())
            );
        }
        Err(e) => {
            let _ = writeln!(h, "<p>pins unavailable: {}</p>", escape(&e.to_string()));
        }
    }
    h.push_str("</body></html>\n");
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
