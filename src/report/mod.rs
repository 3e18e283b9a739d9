//! The study's report: scoring every image of a test split with every method
//! ([`scoring`]), the per-image results file ([`records`]), Table 1 in Markdown, CSV and
//! JSON with means, 95 % confidence intervals, the paper's values and rank agreement
//! ([`table`], statistics in [`crate::stats`]), and Figure 1, the input patch and its eight
//! heatmaps ([`figure`]).
//!
//! Entry points:
//! * [`scoring::score`]: scores the test images chosen by [`selection`] (one per class by
//!   default) into a directory (resumable) and
//!   writes `per_image.csv`, `timings.csv`, `entropy_settings.csv`, `table1.{md,csv,json}`,
//!   `figure1_<pol>.png`, `images.csv` and `score.json`;
//! * [`scoring::score_shard`] and [`merge::merge`]: shard `i/n` of the same selection into
//!   its own directory, and the shards combined into exactly what [`scoring::score`] writes
//!   (both end in [`scoring::finish`]);
//! * [`table::Table1::from_records`]: Table 1 from per-image records (no model needed);
//! * [`figure::render_figure1`]: Figure 1 from an input patch and its attributions;
//! * [`html`]: the static report page of a reproduce run.

pub mod figure;
pub mod font;
pub mod html;
pub mod merge;
pub mod metric;
pub mod records;
pub mod scoring;
pub mod selection;
pub mod svg;
pub mod table;

use std::path::PathBuf;

pub use figure::{render_figure1, Figure, FigureInput, FigurePanel};
pub use merge::{merge, Shard};
pub use metric::Metric;
pub use records::ImageRecord;
pub use scoring::{score, score_shard, ScoreConfig, ScoreData, ScoreSummary, TargetChoice};
pub use table::{PaperTable, RankAgreement, Table1};

/// Errors of scoring and reporting.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("run directory from another model hash: {path} was written for model {found}, but this model's hash is {expected}; score into a new --out directory (nothing was changed)")]
    OtherModel {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("cannot resume from {path}: {reason}; score into a new --out directory or use the same settings (nothing was changed)")]
    Resume { path: PathBuf, reason: String },
    #[error("{path}, line {line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error(transparent)]
    Selection(#[from] selection::SelectionError),
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
    #[error("invalid scoring input: {0}")]
    Config(String),
    #[error("the paper's table {path}: {reason}")]
    Paper { path: PathBuf, reason: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("image {image} ({member}), {method}: {source}")]
    Scoring {
        image: usize,
        member: String,
        method: crate::attr::Method,
        #[source]
        source: Box<ReportError>,
    },
    #[error(transparent)]
    Attr(#[from] crate::attr::AttrError),
    #[error(transparent)]
    Metric(#[from] crate::metrics::MetricError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl ReportError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.into(),
            source,
        }
    }
}
