//! The report page's Table 1 section (per polarization: Table 1 laid out like the paper's,
//! the rank agreement, the further metrics, the notes) and the charts of its metrics
//! against the paper's values.

use std::fmt::Write as _;

use super::{escape, ReportData, DEFAULT_REL_TOLERANCE};
use crate::claims::{ClaimsFile, Rule};
use crate::report::svg::{comparison_chart, ChartPanel, ChartRow};
use crate::score::metric::Metric;
use crate::score::table::{Cell, RankAgreement, Table1, Table1Row};

/// Writes the Table 1 section: how to read a cell, then per polarization its heading, Table 1
/// beside the rank agreement, the further metrics and the table's notes.
pub(super) fn table1_section(h: &mut String, d: &ReportData) {
    h.push_str("<h2 id=\"table1\">Table 1</h2>\n");
    h.push_str("<p class=\"notes\">Cells: our mean over the explained test images with its 95 % interval below it (Wilson for the pointing game, else a BCa bootstrap of the images within their class, or of all together where a class holds one; inside the metric's range), the paper's value, the ratio ours / paper, and the rank among the eight methods (1 = lowest; ours / the paper's). A red cell with ✗ lies outside the claim tolerance (the claim's interval in fixtures/claims.yaml, else ±25 % of the paper's value; hover for it). Max-Sensitivity (Captum 0.9) is what the paper's tool reports: for Grad-CAM sqrt(10) times the defined value. † The paper's defined Max-Sensitivity of Grad-CAM is derived, = reported / sqrt(10); the paper did not publish it.</p>\n");
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
        table1_html(h, pol, t, d.claims.as_ref());
        h.push_str("</div><div>");
        agreement_html(h, pol, t);
        h.push_str("</div></div>");
        further_html(h, pol, t);
        table_notes(h, t);
    }
    if d.tables.is_empty() {
        h.push_str("<p>No Table 1 in this run directory.</p>");
    }
}

/// Writes Table 1's notes (the explained class, then the settings in words), if any.
fn table_notes(h: &mut String, t: &Table1) {
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

/// Table 1's "paper" metrics ([`Metric::PAPER`]) in the page's column order: the value
/// the paper printed (Captum 0.9's) first.
const PAPER_COLUMNS: [Metric; 3] = [
    Metric::MaxSensitivityCaptum09,
    Metric::MaxSensitivity,
    Metric::EntropyKb,
];

/// The page's heading of metric `k`'s column.
fn column_title(k: Metric) -> &'static str {
    match k {
        Metric::MaxSensitivityCaptum09 => "Max-Sensitivity (Captum 0.9)",
        Metric::MaxSensitivity => "Max-Sensitivity (defined)",
        Metric::EntropyKb => "XAI entropy (KB)",
        other => other.title(),
    }
}

/// Writes our mean of cell `c` with its 95 % CI (and the undefined count, if any).
fn ours_cell(h: &mut String, k: Metric, c: &Cell) {
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

/// Opens a table row of method `r`: `<tr data-method=...>` and its name cell.
fn open_method_row(h: &mut String, r: &Table1Row) {
    let _ = write!(
        h,
        "<tr data-method=\"{}\"><td class=\"method\">{}</td>",
        r.method.name(),
        escape(&r.title)
    );
}

/// A rank, or a dash where there is none.
fn rank_text(r: Option<usize>) -> String {
    r.map(|x| x.to_string()).unwrap_or_else(|| "–".into())
}

/// Table 1 of one polarization (`id` prefixes the anchors): the header of the paper's
/// metric columns, then a row per method of [`table1_cells`].
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
        open_method_row(h, r);
        for &k in &cols {
            match r.cells.get(&k) {
                Some(c) => table1_cells(h, pol, r, k, c, claims),
                None => h.push_str("<td colspan=\"4\">n/a</td>"),
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
}

/// Writes the four cells of method row `r` and metric `k`: ours (marked when outside the
/// tolerance, which its title names), the paper's value, the ratio and both ranks.
fn table1_cells(
    h: &mut String,
    pol: &str,
    r: &Table1Row,
    k: Metric,
    c: &Cell,
    claims: Option<&ClaimsFile>,
) {
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
        h.push_str(" <span class=\"mark\" aria-label=\"outside the claim tolerance\">✗</span>");
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

/// The rank agreement table of one polarization (Kendall tau-b and exact p per metric),
/// then each metric's ordering of the methods, ours and the paper's.
fn agreement_html(h: &mut String, pol: &str, t: &Table1) {
    let _ = write!(
        h,
        "<table class=\"agree\" id=\"agreement-{pol}\"><caption>Rank agreement with the paper ({}): Kendall tau-b, exact two-sided p</caption><thead><tr><th>Metric</th><th>methods</th><th>tau-b</th><th>p</th></tr></thead><tbody>",
        pol.to_uppercase()
    );
    let mut agreement: Vec<&RankAgreement> = t.agreement.iter().collect();
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

/// The further metrics (not in the paper) of one polarization: mean, CI and rank per
/// method; nothing when there are none.
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
        open_method_row(h, r);
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

/// The charts, one per paper metric: ours with CI against the paper's value and its
/// tolerance, a panel per polarization.
pub(super) fn charts_html(h: &mut String, d: &ReportData) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paper_columns_are_the_paper_metrics() {
        let mut page = PAPER_COLUMNS.to_vec();
        page.sort();
        assert_eq!(page, Metric::PAPER.to_vec());
    }

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
}
