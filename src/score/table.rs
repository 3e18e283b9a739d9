//! Table 1: per method and metric the mean over the scored images with its 95 % confidence
//! interval fit for the metric ([`cell_stats`]: Wilson, or a class-stratified BCa
//! bootstrap), the paper's value side by side, the
//! rank of the method (1 = lowest mean) in our results and in the paper's, and per metric
//! the rank agreement between the two orderings, Kendall's tau-b with its exact permutation
//! p-value ([`crate::stats`]). Written as Markdown, CSV and JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::metric::Metric;
use super::records::{field, ImageRecord};
use super::ScoreError;
use crate::attr::Method;
use crate::stats::{
    bootstrap_mean_interval, expanded_level, kendall_exact_p, kendall_tau_b, resampling_strata,
    stratified_resamples, t_interval, wilson_interval, BootKind, CellStats,
};

/// Confidence level of Table 1's intervals.
pub const LEVEL: f64 = 0.95;

/// Bootstrap resamples of a cell's interval (the claims' `decision` in
/// `fixtures/claims.yaml` uses the same, so a value claim's interval is the cell's).
pub const RESAMPLES: usize = 2000;
/// Seed of those resamples.
pub const SEED: u64 = 0;
/// Table 1's intervals in words.
pub const INTERVALS: &str = "Wilson for the pointing game (a proportion of hits); for every other metric the BCa bootstrap of the mean at Hesterberg's expanded level (about 98.3 % nominal at 10 images for 95 % coverage), 2000 resamples of the images within their class (of all images together where a class holds one), seed 0";

/// The statistics of one cell: n, mean and standard deviation, and an interval of the
/// mean fit for the metric, inside its range: Wilson's score interval for the pointing
/// game (k hits of n images); otherwise the BCa bootstrap interval (Efron 1987) at the
/// expanded level [`expanded_level`] (Hesterberg 2015: the bootstrap's intervals are too
/// narrow at small n), the images resampled within their class (`strata`, as they were
/// chosen; all together when a class holds one image: [`resampling_strata`]), whose ends
/// are means of resampled values and so lie within the values' range. Where BCa is
/// undefined (every resampled mean on one side of the mean) the percentile interval at
/// the same level stands in. Measured coverage of a 95 % interval of a skewed mean
/// (tests/stats_bootstrap.rs): 0.933 at 10 images, 0.943 at 20, 0.947 at 100 (BCa at the
/// nominal level: 0.890, 0.921, 0.943).
pub fn cell_stats(metric: Metric, values: &[f64], strata: &[i64]) -> (CellStats, Option<String>) {
    let mut s = t_interval(values, LEVEL);
    let (x, st): (Vec<f64>, Vec<i64>) = values
        .iter()
        .zip(strata)
        .filter(|(v, _)| v.is_finite())
        .map(|(v, c)| (*v, *c))
        .unzip();
    let interval = if x.len() < 2 {
        None
    } else if metric == Metric::PointingGame {
        let hits = x.iter().filter(|v| **v >= 0.5).count() as u64;
        let w = wilson_interval(hits, x.len() as u64, LEVEL);
        Some(((w.lo, w.hi), "wilson"))
    } else {
        let resamples = stratified_resamples(&resampling_strata(&st).0, RESAMPLES, SEED);
        let level = expanded_level(LEVEL, x.len());
        let boot = |kind| bootstrap_mean_interval(&x, &resamples, level, kind, SEED);
        boot(BootKind::Bca)
            .map(|b| ((b.lo, b.hi), "bootstrap-bca-expanded"))
            .or_else(|| {
                boot(BootKind::Percentile).map(|b| ((b.lo, b.hi), "bootstrap-percentile-expanded"))
            })
    };
    (s.ci_lo, s.ci_hi) = (interval.map(|i| i.0 .0), interval.map(|i| i.0 .1));
    (s, interval.map(|i| i.1.to_string()))
}

/// The paper's row order (its Table 1), owned by the claims' specification.
pub use crate::claims::PAPER_ORDER;

/// The paper's Table 1 (`fixtures/paper_table1.yaml`, shared with the claims harness):
/// `table1[pol][method][metric]`. Other keys of the file are ignored here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperTable {
    /// `table1[pol][method][metric]`: the paper's mean.
    pub table1: BTreeMap<String, BTreeMap<Method, BTreeMap<String, f64>>>,
}

impl PaperTable {
    /// The fixture's text, compiled in once (by [`crate::claims::fixtures`]).
    pub const FIXTURE: &'static str = crate::claims::fixtures::PAPER_YAML;

    /// Parses a paper table from YAML.
    pub fn from_yaml(text: &str, origin: &Path) -> Result<PaperTable, ScoreError> {
        let t: PaperTable = serde_saphyr::from_str(text).map_err(|e| ScoreError::Paper {
            path: origin.to_path_buf(),
            reason: e.to_string(),
        })?;
        for (pol, methods) in &t.table1 {
            for (m, metrics) in methods {
                for (k, v) in metrics {
                    if k.parse::<Metric>().is_err() || !v.is_finite() {
                        return Err(ScoreError::Paper {
                            path: origin.to_path_buf(),
                            reason: format!(
                                "{pol}.{m}.{k} = {v}: unknown metric or not a finite number"
                            ),
                        });
                    }
                }
            }
        }
        Ok(t)
    }

    /// The compiled-in copy of `fixtures/paper_table1.yaml`.
    pub fn embedded() -> PaperTable {
        PaperTable::from_yaml(Self::FIXTURE, Path::new("fixtures/paper_table1.yaml"))
            .expect("fixtures/paper_table1.yaml is valid (tested)")
    }

    /// Reads a paper table from a YAML file.
    pub fn from_yaml_file(path: &Path) -> Result<PaperTable, ScoreError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScoreError::io(path, e))?;
        PaperTable::from_yaml(&text, path)
    }

    /// The paper's value of `metric` for `method` in polarization `pol` (`vh`, `vv`).
    pub fn value(&self, pol: &str, method: Method, metric: Metric) -> Option<f64> {
        self.table1
            .get(&pol.to_ascii_lowercase())?
            .get(&method)?
            .get(metric.key())
            .copied()
    }
}

/// What Table 1 describes, beyond the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMeta {
    /// Polarization of the data (`vh`, `vv`), if known.
    pub pol: Option<String>,
    /// Polarization of the paper's column compared with (`None`: no comparison).
    pub paper_pol: Option<String>,
    /// The scored model's hash.
    pub model_hash: String,
    /// Images explained (the records given to [`Table1::from_records`] cover them).
    pub images: usize,
    /// The class each attribution explains (`true_label` or `predicted`).
    pub target: String,
    /// Settings in words, one line each (metric definitions, seeds, ...).
    pub notes: Vec<String>,
}

/// One method x metric cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Our mean and standard deviation over the images, and the interval of the mean
    /// ([`cell_stats`]).
    #[serde(flatten)]
    pub stats: CellStats,
    /// The interval's kind: `wilson`, `bootstrap-bca-expanded` or
    /// `bootstrap-percentile-expanded`; `None`
    /// below two values.
    pub interval: Option<String>,
    /// The paper's value.
    pub paper: Option<f64>,
    /// 1 = the lowest mean among the methods, in our results.
    pub rank: Option<usize>,
    /// 1 = the lowest value among the methods, in the paper.
    pub paper_rank: Option<usize>,
}

/// One method's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table1Row {
    /// The method.
    pub method: Method,
    /// Its name in the paper.
    pub title: String,
    /// One cell per metric.
    pub cells: BTreeMap<Metric, Cell>,
}

/// Agreement between our ordering of the methods and the paper's, for one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankAgreement {
    /// The metric.
    pub metric: Metric,
    /// Methods with both our mean and the paper's value.
    pub methods: usize,
    /// Kendall's tau-b (None when undefined).
    pub tau_b: Option<f64>,
    /// Two-sided exact permutation p-value of tau-b.
    pub p_exact: Option<f64>,
    /// Our ordering, lowest mean first.
    pub ours: Vec<Method>,
    /// The paper's ordering, lowest first.
    pub paper: Vec<Method>,
}

/// Table 1 (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table1 {
    /// What the table describes.
    #[serde(flatten)]
    pub meta: TableMeta,
    /// The intervals' kinds in words ([`INTERVALS`]); each cell names its own.
    pub interval: String,
    /// Confidence level of the intervals, e.g. 0.95.
    pub level: f64,
    /// The rows' methods, in the paper's order.
    pub methods: Vec<Method>,
    /// The columns' metrics.
    pub metrics: Vec<Metric>,
    /// One row per method.
    pub rows: Vec<Table1Row>,
    /// Per metric, our ordering of the methods against the paper's.
    pub agreement: Vec<RankAgreement>,
}

/// A value with the metric's decimals, or in scientific notation (Table 1's cells).
pub fn fmt_value(k: Metric, v: f64) -> String {
    let d = k.decimals();
    if k.scientific() {
        format!("{v:.d$e}")
    } else {
        format!("{v:.d$}")
    }
}

/// Competition ranks (1 = lowest; ties share the lower rank) of `values`.
fn ranks(values: &[(Method, f64)]) -> BTreeMap<Method, usize> {
    values
        .iter()
        .map(|&(m, v)| (m, 1 + values.iter().filter(|(_, w)| *w < v).count()))
        .collect()
}

/// Methods by ascending value, ties by the paper's row order.
fn ordering(values: &[(Method, f64)]) -> Vec<Method> {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    v.into_iter().map(|(m, _)| m).collect()
}

impl Table1 {
    /// Table 1 from per-image records: the cells of `methods` x `metrics` over every record
    /// given (the caller passes those of the explained images); paper values from `paper` at
    /// `meta.paper_pol`.
    pub fn from_records(
        records: &[ImageRecord],
        methods: &[Method],
        metrics: &[Metric],
        meta: TableMeta,
        paper: Option<&PaperTable>,
    ) -> Table1 {
        let methods: Vec<Method> = PAPER_ORDER
            .iter()
            .copied()
            .filter(|m| methods.contains(m))
            .collect();
        let mut metrics = metrics.to_vec();
        metrics.sort();
        metrics.dedup();
        let paper_pol = meta.paper_pol.clone();
        let paper_value = |m: Method, k: Metric| -> Option<f64> {
            match (paper, &paper_pol) {
                (Some(p), Some(pol)) => p.value(pol, m, k),
                _ => None,
            }
        };
        let mut rows: Vec<Table1Row> = methods
            .iter()
            .map(|&m| {
                let cells = metrics
                    .iter()
                    .map(|&k| {
                        let (values, strata): (Vec<f64>, Vec<i64>) = records
                            .iter()
                            .filter(|r| r.method == m)
                            .map(|r| (r.values.get(&k).copied().unwrap_or(f64::NAN), r.label))
                            .unzip();
                        let (stats, interval) = cell_stats(k, &values, &strata);
                        let cell = Cell {
                            stats,
                            interval,
                            paper: paper_value(m, k),
                            rank: None,
                            paper_rank: None,
                        };
                        (k, cell)
                    })
                    .collect();
                Table1Row {
                    method: m,
                    title: m.title().to_string(),
                    cells,
                }
            })
            .collect();
        let mut agreement = Vec::new();
        for &k in &metrics {
            let ours: Vec<(Method, f64)> = rows
                .iter()
                .filter_map(|r| r.cells[&k].stats.mean.map(|v| (r.method, v)))
                .collect();
            let theirs: Vec<(Method, f64)> = rows
                .iter()
                .filter_map(|r| r.cells[&k].paper.map(|v| (r.method, v)))
                .collect();
            let our_ranks = ranks(&ours);
            let their_ranks = ranks(&theirs);
            for r in &mut rows {
                let c = r.cells.get_mut(&k).expect("every metric has a cell");
                c.rank = our_ranks.get(&r.method).copied();
                c.paper_rank = their_ranks.get(&r.method).copied();
            }
            if theirs.is_empty() {
                continue;
            }
            let both: Vec<(f64, f64)> = ours
                .iter()
                .filter_map(|&(m, v)| theirs.iter().find(|t| t.0 == m).map(|t| (v, t.1)))
                .collect();
            let (x, y): (Vec<f64>, Vec<f64>) = both.iter().copied().unzip();
            let in_both =
                |m: &Method| ours.iter().any(|o| o.0 == *m) && theirs.iter().any(|t| t.0 == *m);
            agreement.push(RankAgreement {
                metric: k,
                methods: both.len(),
                tau_b: kendall_tau_b(&x, &y),
                p_exact: kendall_exact_p(&x, &y),
                ours: ordering(&ours).into_iter().filter(in_both).collect(),
                paper: ordering(&theirs).into_iter().filter(in_both).collect(),
            });
        }
        Table1 {
            meta,
            interval: INTERVALS.into(),
            level: LEVEL,
            methods,
            metrics,
            rows,
            agreement,
        }
    }

    /// Our mean of `metric` for `method`.
    pub fn mean(&self, method: Method, metric: Metric) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.method == method)?
            .cells
            .get(&metric)?
            .stats
            .mean
    }

    /// Every defined mean, `means[method][metric key]` (the shape of the claims harness'
    /// `results.json` `table1[pol]`).
    pub fn means(&self) -> BTreeMap<Method, BTreeMap<String, f64>> {
        self.rows
            .iter()
            .map(|r| {
                let m = r
                    .cells
                    .iter()
                    .filter_map(|(k, c)| c.stats.mean.map(|v| (k.key().to_string(), v)))
                    .collect();
                (r.method, m)
            })
            .collect()
    }

    fn pol_label(&self) -> String {
        self.meta
            .pol
            .as_deref()
            .map(str::to_uppercase)
            .unwrap_or_else(|| "single polarization".into())
    }

    /// `mean [lo, hi]` with the metric's decimals; `n=` when values were left out.
    fn cell_text(&self, k: Metric, c: &Cell) -> String {
        let f = |v: f64| fmt_value(k, v);
        let mut s = match (c.stats.mean, c.stats.ci_lo, c.stats.ci_hi) {
            (Some(m), Some(lo), Some(hi)) => format!("{} [{}, {}]", f(m), f(lo), f(hi)),
            (Some(m), _, _) => f(m),
            _ => "n/a".into(),
        };
        if c.stats.undefined > 0 {
            let _ = write!(s, " (n={})", c.stats.n);
        }
        s
    }

    fn md_table(&self, out: &mut String, metrics: &[Metric], with_paper: bool) {
        let mut head = vec!["Method".to_string()];
        let mut align = vec!["---".to_string()];
        for &k in metrics {
            head.push(k.title().to_string());
            align.push("---:".into());
            if with_paper && self.has_paper(k) {
                head.push("paper".into());
                align.push("---:".into());
            }
        }
        let _ = writeln!(out, "| {} |", head.join(" | "));
        let _ = writeln!(out, "|{}|", align.join("|"));
        for r in &self.rows {
            let mut cols = vec![r.title.clone()];
            for &k in metrics {
                let c = &r.cells[&k];
                let rank = c.rank.map(|x| format!(" ({x})")).unwrap_or_default();
                cols.push(format!("{}{rank}", self.cell_text(k, c)));
                if with_paper && self.has_paper(k) {
                    cols.push(match (c.paper, c.paper_rank) {
                        (Some(v), Some(pr)) => format!("{} ({pr})", fmt_value(k, v)),
                        (Some(v), None) => fmt_value(k, v),
                        _ => "-".into(),
                    });
                }
            }
            let _ = writeln!(out, "| {} |", cols.join(" | "));
        }
    }

    fn has_paper(&self, k: Metric) -> bool {
        self.rows.iter().any(|r| r.cells[&k].paper.is_some())
    }

    /// The Markdown rendering: the paper's metrics with the paper's values, the rank
    /// agreement, then the further metrics.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Table 1 ({}): {} method(s) on {} test image(s)\n",
            self.pol_label(),
            self.rows.len(),
            self.meta.images
        );
        let _ = writeln!(out, "- model hash: `{}`", self.meta.model_hash);
        let _ = writeln!(
            out,
            "- explained class: {}",
            match self.meta.target.as_str() {
                "true_label" => "the true label of each image",
                "predicted" => "the model's prediction for each image",
                other => other,
            }
        );
        let _ = writeln!(
            out,
            "- cells: mean [{:.0} % CI: {}] (rank, 1 = lowest)",
            self.level * 100.0,
            self.interval
        );
        match &self.meta.paper_pol {
            Some(p) => {
                let _ = writeln!(
                    out,
                    "- paper: Su et al., Table 1, {} column (rank among the methods, 1 = lowest)",
                    p.to_uppercase()
                );
            }
            None => {
                let _ = writeln!(out, "- paper: no comparison (polarization unknown)");
            }
        }
        for n in &self.meta.notes {
            let _ = writeln!(out, "- {n}");
        }
        out.push('\n');
        let paper_metrics: Vec<Metric> = self
            .metrics
            .iter()
            .copied()
            .filter(|k| Metric::PAPER.contains(k) || *k == Metric::ShannonBits)
            .collect();
        let extra: Vec<Metric> = self
            .metrics
            .iter()
            .copied()
            .filter(|k| !paper_metrics.contains(k))
            .collect();
        if !paper_metrics.is_empty() {
            self.md_table(&mut out, &paper_metrics, true);
        }
        if !self.agreement.is_empty() {
            let _ = writeln!(out, "\n## Rank agreement with the paper (Kendall tau-b)\n");
            let _ = writeln!(
                out,
                "| Metric | methods | tau-b | exact p (two-sided) | ours, lowest first | paper, lowest first |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---|---|");
            for a in &self.agreement {
                let names =
                    |v: &[Method]| v.iter().map(|m| m.name()).collect::<Vec<_>>().join(" < ");
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    a.metric.title(),
                    a.methods,
                    a.tau_b.map(|t| format!("{t:.3}")).unwrap_or("n/a".into()),
                    a.p_exact.map(|p| format!("{p:.4}")).unwrap_or("n/a".into()),
                    names(&a.ours),
                    names(&a.paper)
                );
            }
        }
        if !extra.is_empty() {
            let _ = writeln!(out, "\n## Further metrics (not in the paper)\n");
            self.md_table(&mut out, &extra, false);
        }
        out
    }

    /// The CSV rendering: one row per method x metric (long format).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "pol,method,metric,n,undefined,mean,sd,ci95_lo,ci95_hi,paper_pol,paper,rank,paper_rank,kendall_tau_b,kendall_p_exact\n",
        );
        let num = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_default();
        let int = |v: Option<usize>| v.map(|x| x.to_string()).unwrap_or_default();
        for r in &self.rows {
            for (k, c) in &r.cells {
                let a = self.agreement.iter().find(|a| a.metric == *k);
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                    field(self.meta.pol.as_deref().unwrap_or("")),
                    r.method.name(),
                    k.key(),
                    c.stats.n,
                    c.stats.undefined,
                    num(c.stats.mean),
                    num(c.stats.sd),
                    num(c.stats.ci_lo),
                    num(c.stats.ci_hi),
                    field(self.meta.paper_pol.as_deref().unwrap_or("")),
                    num(c.paper),
                    int(c.rank),
                    int(c.paper_rank),
                    num(a.and_then(|a| a.tau_b)),
                    num(a.and_then(|a| a.p_exact)),
                );
            }
        }
        out
    }

    /// The JSON rendering (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("Table 1 serialises");
        s.push('\n');
        s
    }

    /// Writes `table1.md`, `table1.csv` and `table1.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ScoreError> {
        let mut paths = Vec::new();
        for (name, text) in [
            (crate::layout::score::TABLE1_MD, self.to_markdown()),
            (crate::layout::score::TABLE1_CSV, self.to_csv()),
            (crate::layout::score::TABLE1_JSON, self.to_json()),
        ] {
            let p = dir.join(name);
            crate::io::write_atomic(&p, text.as_bytes()).map_err(|e| ScoreError::io(&p, e))?;
            paths.push(p);
        }
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The issue 27 measurements that motivated the metric-fit intervals: a pointing game
    /// of 7 hits in 10 images had the Student-t interval [0.354, 1.046], a deletion AUC
    /// with one large value one below zero. Wilson's and the bootstrap's stay in range.
    #[test]
    fn cell_intervals_stay_inside_the_metric_range() {
        let strata: Vec<i64> = (0..10).collect();
        let hits = [1., 1., 0., 1., 1., 0., 1., 1., 0., 1.];
        assert!(
            t_interval(&hits, LEVEL).ci_hi.unwrap() > 1.0,
            "the t interval leaves [0, 1] here"
        );
        let (s, kind) = cell_stats(Metric::PointingGame, &hits, &strata);
        assert_eq!(kind.as_deref(), Some("wilson"));
        let (lo, hi) = (s.ci_lo.unwrap(), s.ci_hi.unwrap());
        assert!(
            (0.0..0.7).contains(&lo) && (0.7..=1.0).contains(&hi),
            "{lo} {hi}"
        );

        let auc = [
            0.01, 0.02, 0.015, 0.03, 0.01, 0.02, 0.012, 0.018, 0.025, 1.2,
        ];
        assert!(t_interval(&auc, LEVEL).ci_lo.unwrap() < 0.0);
        let (s, kind) = cell_stats(Metric::DeletionAuc, &auc, &strata);
        assert!(kind.unwrap().starts_with("bootstrap"));
        assert!(s.ci_lo.unwrap() >= 0.01 && s.ci_hi.unwrap() <= 1.2, "{s:?}");
        // The interval of the mean holds the mean; one value gives none.
        assert!(s.ci_lo.unwrap() <= s.mean.unwrap() && s.mean.unwrap() <= s.ci_hi.unwrap());
        assert_eq!(cell_stats(Metric::DeletionAuc, &[0.5], &[0]).1, None);
    }

    #[test]
    fn the_fixture_holds_both_polarizations_of_every_method() {
        let p = PaperTable::embedded();
        for pol in ["vh", "vv"] {
            for m in Method::ALL {
                for k in Metric::PAPER {
                    assert!(p.value(pol, m, k).is_some(), "{pol} {m} {k}");
                }
            }
        }
        assert_eq!(
            p.value("VH", Method::GradCam, Metric::MaxSensitivityCaptum09),
            Some(0.4528)
        );
        // The defined value is the reported one over sqrt(10) (Captum 0.9's factor).
        let defined = p
            .value("VH", Method::GradCam, Metric::MaxSensitivity)
            .unwrap();
        assert!((defined - 0.4528 / 10f64.sqrt()).abs() < 1e-5, "{defined}");
        assert_eq!(
            p.value("vv", Method::Occlusion, Metric::EntropyKb),
            Some(4.191)
        );
    }

    #[test]
    fn ranks_share_ties() {
        let r = ranks(&[
            (Method::Saliency, 2.0),
            (Method::GradCam, 1.0),
            (Method::Occlusion, 2.0),
        ]);
        assert_eq!(r[&Method::GradCam], 1);
        assert_eq!(r[&Method::Saliency], 2);
        assert_eq!(r[&Method::Occlusion], 2);
    }
}
