//! The study's scoring: every explained image of a test split with every method
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
//! * [`figure::render_figure1`]: Figure 1 from an input patch and its attributions.
//!
//! The page drawn from a checked run is [`crate::report`]'s.

pub mod arrays;
pub mod figure;
pub(crate) mod font;
pub mod merge;
pub mod metric;
pub mod records;
pub mod scoring;
pub mod selection;
pub mod shard;
pub mod table;

use std::path::PathBuf;

pub use figure::{render_figure1, Figure, FigureInput, FigurePanel};
pub use merge::merge;
pub use metric::Metric;
pub use records::ImageRecord;
pub use scoring::{score, score_shard, ScoreConfig, ScoreData, ScoreSummary, TargetChoice};
pub use shard::Shard;
pub use table::{PaperTable, RankAgreement, Table1};

/// Errors of scoring and reporting.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// The run directory was scored with another model.
    #[error("run directory from another model hash: {path} was written for model {found}, but this model's hash is {expected}; score into a new --out directory (nothing was changed)")]
    OtherModel {
        /// The run directory.
        path: PathBuf,
        /// The model hash it records.
        found: String,
        /// This model's hash.
        expected: String,
    },
    /// The run directory cannot be resumed with these settings.
    #[error("cannot resume from {path}: {reason}; score into a new --out directory or use the same settings (nothing was changed)")]
    Resume {
        /// The run directory.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A malformed line of a records file.
    #[error("{path}, line {line}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// What is malformed.
        reason: String,
    },
    /// The image selection cannot be made.
    #[error(transparent)]
    Selection(#[from] selection::SelectionError),
    /// Shards cannot be merged.
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
    /// A shard specification or directory.
    #[error(transparent)]
    Shard(#[from] shard::ShardError),
    /// SIGINT or SIGTERM: stopped after an image's rows were appended.
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
    /// A metric was asked for without what it is computed from.
    #[error("{metric} needs {need}")]
    Needs {
        /// The metric.
        metric: metric::Metric,
        /// What it lacks.
        need: metric::Need,
    },
    /// Scoring inputs that do not fit together.
    #[error("invalid scoring input: {0}")]
    Config(String),
    /// The paper's table cannot be read.
    #[error("the paper's table {path}: {reason}")]
    Paper {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// Scoring one (image, method) pair failed.
    #[error("image {image} ({member}), {method}: {source}")]
    Scoring {
        /// The test split index of the image.
        image: usize,
        /// Its sample id.
        member: String,
        /// The method.
        method: crate::attr::Method,
        /// The error.
        #[source]
        source: Box<ScoreError>,
    },
    /// An attribution failed.
    #[error(transparent)]
    Attr(#[from] crate::attr::AttrError),
    /// A metric failed.
    #[error(transparent)]
    Metric(#[from] crate::metrics::MetricError),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// An error of libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl ScoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ScoreError::Io {
            path: path.into(),
            source,
        }
    }
}
