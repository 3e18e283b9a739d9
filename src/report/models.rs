//! Table 1 over a channel's models (`reproduce --replicates R`): each cell's pooled mean,
//! each model's mean, and the spread between models and within a model
//! ([`crate::claims::PolEvidence::spread`]), as Markdown (`RUN/table1_models.md`) and as a
//! section of the report.

use std::fmt::Write as _;

use crate::claims::{PolEvidence, Results};
use crate::score::table::fmt_value;
use crate::score::Metric;

/// The rows of one channel: (method, metric, pooled mean, spread) for every cell with a
/// spread, in method then metric order.
fn rows(results: &Results, pol: &str, e: &PolEvidence) -> Vec<[String; 5]> {
    let mut out = Vec::new();
    for (method, by_metric) in &e.values {
        for metric in by_metric.keys() {
            let (Some(s), Some(pooled)) = (
                e.spread(*method, metric),
                results
                    .table1
                    .get(pol)
                    .and_then(|t| t.get(method))
                    .and_then(|t| t.get(metric)),
            ) else {
                continue;
            };
            // Table 1's notation of the metric (Infidelity's values are 1e-5 small).
            let fmt = |v: f64| match metric.parse::<Metric>() {
                Ok(k) => fmt_value(k, v),
                Err(_) => format!("{v:.4}"),
            };
            let means: Vec<String> = s.model_means.iter().map(|&m| fmt(m)).collect();
            out.push([
                format!("{} {}", method.name(), metric),
                fmt(*pooled),
                means.join(" / "),
                fmt(s.between_sd),
                fmt(s.within_sd),
            ]);
        }
    }
    out
}

const HEADER: [&str; 5] = [
    "method, metric",
    "pooled mean",
    "model means (base first)",
    "sd between models",
    "sd within a model",
];

/// What the table says, in words.
fn caption(e: &PolEvidence) -> String {
    format!(
        "{} models on the same {} explained images; pooled mean over every model and image; sd between models: the standard deviation of the model means; sd within a model: the root mean variance of the image values of a model",
        1 + e.replicates.len(),
        e.images.len()
    )
}

/// The channels with several models, with their evidence.
fn with_models(results: &Results) -> impl Iterator<Item = (&String, &PolEvidence)> {
    results
        .evidence
        .iter()
        .filter(|(_, e)| !e.replicates.is_empty())
}

/// `RUN/table1_models.md`: one table per channel with several models; `None` when no
/// channel has several.
pub fn models_markdown(results: &Results) -> Option<String> {
    let mut s = String::new();
    for (pol, e) in with_models(results) {
        let _ = writeln!(
            s,
            "## Table 1 over models: {}\n\n{}\n",
            pol.to_uppercase(),
            caption(e)
        );
        let _ = writeln!(
            s,
            "| {} |\n|{}",
            HEADER.join(" | "),
            "---|".repeat(HEADER.len())
        );
        for r in rows(results, pol, e) {
            let _ = writeln!(s, "| {} |", r.join(" | "));
        }
        s.push('\n');
    }
    (!s.is_empty()).then_some(s)
}

/// The report's section of the same tables (nothing when no channel has several models).
pub fn models_html(h: &mut String, results: &Results) {
    use super::svg::escape;
    for (pol, e) in with_models(results) {
        let _ = write!(
            h,
            "<h3 id=\"table1-models-{p}\">{P}: Table 1 over models</h3><p class=\"notes\">{}.</p><table id=\"table1-models-{p}-table\"><thead><tr>",
            escape(&caption(e)),
            p = escape(pol),
            P = escape(&pol.to_uppercase())
        );
        for c in HEADER {
            let _ = write!(h, "<th>{}</th>", escape(c));
        }
        h.push_str("</tr></thead><tbody>");
        for r in rows(results, pol, e) {
            h.push_str("<tr>");
            for c in r {
                let _ = write!(h, "<td>{}</td>", escape(&c));
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table>\n");
    }
}
