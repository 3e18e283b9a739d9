//! Training of the paper's classifier, one polarization at a time: configuration (YAML),
//! augmentation, learning-rate schedules, an optimizer with saveable state, seeded and
//! resumable epochs with atomic checkpoints, a metrics log with a training curve, and the
//! run directory with weights, model hash, manifest and evaluation report.
//!
//! Entry points:
//! * [`run()`]: validate, prepare the data ([`prepare_data`]) and [`train`];
//! * [`train`]: train on already loaded data into a run directory;
//! * [`Trainer`]: one model and optimizer, [`Trainer::step`] per batch (benchmarks use it);
//! * `eval`: a classifier on one split: accuracy with Wilson and Clopper-Pearson
//!   intervals, balanced accuracy, per-class scores, the confusion matrix.
//!
//! # Determinism
//!
//! The initial weights come from `tch::manual_seed(seed)`. Epoch `e` (0-based) draws its
//! sample order and augmentations from a ChaCha8 generator seeded with `seed` on stream
//! `e + 1`, and calls `tch::manual_seed(seed + e + 1)` first, so nothing depends on the
//! history of random calls: a run resumed at an epoch boundary draws exactly what the
//! uninterrupted run drew. The learning rate is a function of the iteration index. With
//! the same seed, data, configuration, thread count and libtorch on the CPU, the final
//! model hash is identical (tested); see REPRODUCE.md for CUDA.

pub(crate) mod augment;
pub mod checkpoint;
pub(crate) mod config;
pub(crate) mod data;
pub(crate) mod eval;
pub(crate) mod manifest;
pub(crate) mod metrics;
pub(crate) mod optim;
pub(crate) mod plot;
pub mod run;
pub(crate) mod schedule;
pub(crate) mod trainer;

use std::path::PathBuf;

pub use augment::{AugmentConfig, RangeAxis};
pub use config::{Balance, OptimizerConfig, OptimizerKind, Profile, Select, TrainConfig};
pub use data::{datasets_prepared, prepare_data, PreparedData, Samples, ValSource};
pub use metrics::EpochMetrics;
pub use run::{resume_config, run, train, EpochObserver, RunOptions, TrainOutcome};
pub use schedule::{ScheduleConfig, ScheduleKind};
pub use trainer::{StepStats, Trainer};

/// File names inside a run directory ([`crate::layout::train`]).
pub use crate::layout::train as files;

/// Errors of training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The configuration is invalid.
    #[error("invalid training configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The data cannot be loaded.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// The data cannot train this run (files differ from their manifest, a class is empty, ...).
    #[error("unusable training data in {dir}: {reason}")]
    DataContent {
        /// The data directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The run directory cannot be written.
    #[error("run directory {dir}: {reason}")]
    RunDir {
        /// The run directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The run cannot be resumed.
    #[error("cannot resume {dir}: {reason}; nothing was changed")]
    Resume {
        /// The run directory.
        dir: PathBuf,
        /// What differs or is missing.
        reason: String,
    },
    /// The loss became NaN or infinite.
    #[error("training diverged in epoch {epoch}: {reason}; lower --lr or use a longer warm-up (the last checkpoint is kept, resume after changing nothing else is not possible: start a new run)")]
    Diverged {
        /// The epoch (1-based).
        epoch: usize,
        /// The loss and the iteration.
        reason: String,
    },
    /// The model failed.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// Evaluation failed.
    #[error(transparent)]
    Eval(#[from] eval::EvalError),
    /// The device cannot be used.
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
    /// SIGINT or SIGTERM: stopped after an epoch's checkpoint.
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// An error of libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }
}
