//! A training run in a directory: fresh or resumed, epoch loop with validation,
//! checkpoints, metrics and curve, then the final weights, hash, evaluation and manifest.
//!
//! Run directory (see [`super::files`]): `config.yaml` and `run.json` (status `running`)
//! are written before the first epoch; after every epoch `checkpoint.safetensors`,
//! `metrics.jsonl` and `curve.png`; at the end `model.safetensors`, `model.sha256`,
//! `eval.json`, `eval.txt`, `confusion.png` and `run.json` (status `complete`), and the
//! checkpoint is removed unless `keep_checkpoint`.
//!
//! Nothing is written before every check has passed: a fresh run needs a missing or empty
//! directory; a resumed run needs the same configuration (but device and threads), the same
//! data and split digests, and a checkpoint of the same architecture.
//!
//! The checks, the stages and the outputs of start and finish are here; one epoch's work is
//! in `run/epoch.rs`, reading back a run to resume it in `run/resume.rs`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::Tensor;

use super::checkpoint::{self, BestEpoch};
use super::config::{json_diff, Select, TrainConfig};
use super::data::{prepare_data, PreparedData, Samples};
use super::eval::EvalReport;
use super::files;
use super::manifest::{RunData, RunManifest, RunModel, RunStatus, Seeds, Versions};
use super::metrics::EpochMetrics;
use super::trainer::{iterations_per_epoch, Trainer};
use super::TrainError;
use crate::model::{self, ResNet};

mod epoch;
mod resume;

use epoch::{checkpoint_epoch, stopped, train_epoch, validate};
pub use resume::resume_config;
use resume::{completed, restore};

/// Told each completed epoch's metrics and the run's epoch count (the library never
/// prints: `sarxai train` prints [`EpochMetrics::summary`], `reproduce` passes it on as a
/// study note).
pub type EpochObserver<'a> = &'a dyn Fn(&EpochMetrics, usize);

/// How [`run`] and [`train`] behave.
#[derive(Clone)]
pub struct RunOptions<'a> {
    /// Continue the run in the directory from its checkpoint.
    pub resume: bool,
    /// Stop (as if killed) once this many epochs are complete, leaving the checkpoint:
    /// for tests of resumption and for time-boxed sessions.
    pub stop_after_epoch: Option<usize>,
    /// Progress bars on standard error (indicatif; hidden when it is not a terminal).
    pub progress: bool,
    /// Told each completed epoch (none: nobody is told).
    pub on_epoch: Option<EpochObserver<'a>>,
}

impl Default for RunOptions<'_> {
    /// A fresh run with progress bars, no epoch observer.
    fn default() -> Self {
        RunOptions {
            resume: false,
            stop_after_epoch: None,
            progress: true,
            on_epoch: None,
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The run directory.
    pub run_dir: PathBuf,
    /// The final model (evaluation mode is the caller's `forward`).
    pub model: ResNet,
    /// [`model::model_hash`] of the final model.
    pub model_hash: String,
    /// `RUN_DIR/model.safetensors` (only written when `complete`).
    pub weights: PathBuf,
    /// The final model on the test split (when it has samples and `complete`).
    pub test: Option<EvalReport>,
    /// The final model on the validation samples (when there are any and `complete`).
    pub val: Option<EvalReport>,
    /// One row per completed epoch.
    pub metrics: Vec<EpochMetrics>,
    /// Epochs completed.
    pub epochs_done: usize,
    /// False when stopped by `stop_after_epoch`.
    pub complete: bool,
    /// Seconds spent in epochs in this session.
    pub train_seconds: f64,
}

/// A [`TrainError::RunDir`] naming `dir`.
fn run_dir_err(dir: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::RunDir {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
}

/// A [`TrainError::Resume`] naming `dir`.
fn resume_err(dir: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::Resume {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
}

/// Checks the directory before anything is loaded or written.
fn check_run_dir(dir: &Path, cfg: &TrainConfig, resume: bool) -> Result<(), TrainError> {
    if resume {
        let saved = resume_config(dir)?;
        let mut diff = Vec::new();
        json_diff("", &saved.fingerprint(), &cfg.fingerprint(), &mut diff);
        if !diff.is_empty() {
            return Err(resume_err(
                dir,
                format!(
                    "the options differ from the run's {}: {}; resume with the run's settings (only --device and --threads may change)",
                    files::CONFIG,
                    diff.join("; ")
                ),
            ));
        }
        return Ok(());
    }
    if dir.exists() {
        if !dir.is_dir() {
            return Err(run_dir_err(dir, "exists and is not a directory"));
        }
        let holds_run = [
            files::CONFIG,
            files::MANIFEST,
            files::CHECKPOINT,
            files::WEIGHTS,
        ]
        .iter()
        .any(|f| dir.join(f).exists());
        if holds_run {
            return Err(run_dir_err(
                dir,
                format!(
                    "already holds a training run; continue it with `sarxai train --resume {}` or choose another --out (nothing was overwritten)",
                    dir.display()
                ),
            ));
        }
        // The lock of `sarxai train` (crate::io::lock_dir) does not count.
        let non_empty = std::fs::read_dir(dir)
            .map_err(|e| TrainError::io(dir, e))?
            .any(|e| e.map_or(true, |e| e.file_name() != crate::io::LOCK_FILE));
        if non_empty {
            return Err(run_dir_err(
                dir,
                "is not empty; choose a new or empty --out directory (nothing was overwritten)",
            ));
        }
    }
    Ok(())
}

/// Validates `cfg`, checks the run directory, prepares the data and trains.
pub fn run(
    cfg: &TrainConfig,
    run_dir: &Path,
    opts: &RunOptions,
) -> Result<TrainOutcome, TrainError> {
    admit(cfg, run_dir, opts)?;
    crate::device::set_threads(cfg.threads)?;
    cfg.device.resolve()?;
    if let Some(done) = completed_if_resumed(cfg, run_dir, opts)? {
        return Ok(done);
    }
    let data = prepare_data(cfg)?;
    train_admitted(cfg, &data, run_dir, opts)
}

/// The checks made once per run before any work: the configuration is valid and the run
/// directory may be written (or resumed).
fn admit(cfg: &TrainConfig, run_dir: &Path, opts: &RunOptions) -> Result<(), TrainError> {
    cfg.validate()?;
    check_run_dir(run_dir, cfg, opts.resume)
}

/// A resumed run that already completed, read back as it is.
fn completed_if_resumed(
    cfg: &TrainConfig,
    run_dir: &Path,
    opts: &RunOptions,
) -> Result<Option<TrainOutcome>, TrainError> {
    if opts.resume {
        completed(run_dir, cfg)
    } else {
        Ok(None)
    }
}

/// The error of a failed write to `path`.
fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |e| TrainError::io(path, e)
}

/// Trains on prepared data into `run_dir` (see the module docs), in the stages of the
/// method: `prepare` (checks, model and optimizer, the checkpoint when resuming),
/// `begin_outputs`, then per epoch `train_epoch`, `validate`, `opts.on_epoch` and
/// `checkpoint_epoch`, and at the end `finish` (final model, hash, test and validation
/// reports, complete manifest).
pub fn train(
    cfg: &TrainConfig,
    data: &PreparedData,
    run_dir: &Path,
    opts: &RunOptions,
) -> Result<TrainOutcome, TrainError> {
    admit(cfg, run_dir, opts)?;
    match completed_if_resumed(cfg, run_dir, opts)? {
        Some(done) => Ok(done),
        None => train_admitted(cfg, data, run_dir, opts),
    }
}

/// [`train`] after [`admit`]: the stages themselves.
fn train_admitted(
    cfg: &TrainConfig,
    data: &PreparedData,
    run_dir: &Path,
    opts: &RunOptions,
) -> Result<TrainOutcome, TrainError> {
    let Prepared {
        device,
        mut trainer,
        mut progress,
    } = prepare(cfg, data, run_dir, opts)?;
    let mut manifest = begin_outputs(cfg, data, run_dir, device, &progress)?;
    let start_epoch = progress.history.len();
    let classes = data.classes().to_vec();
    let train_view = data.train();
    let val_view = data.val();
    let session = Session {
        start: Instant::now(),
        title: curve_title(cfg, data, run_dir),
        iterations_per_epoch: iterations_per_epoch(train_view.len(), cfg.batch_size),
        device,
    };
    for (session_epochs, epoch) in (start_epoch..cfg.epochs).enumerate() {
        if opts.stop_after_epoch.is_some_and(|s| epoch >= s) {
            let train_seconds = session.start.elapsed().as_secs_f64();
            return stopped(trainer, progress.history, run_dir, train_seconds);
        }
        let t0 = Instant::now();
        let sums = train_epoch(
            cfg,
            &mut trainer,
            &train_view,
            classes.len(),
            (epoch, session_epochs),
            &session,
            opts.progress,
        )?;
        let val = validate(&trainer.model, "val", &classes, &val_view, cfg)?;
        let m = sums.metrics(epoch, val.as_ref(), t0);
        if let Some(tell) = opts.on_epoch {
            tell(&m, cfg.epochs);
        }
        progress.history.push(m);
        checkpoint_epoch(cfg, data, run_dir, &trainer, &mut progress, &session)?;
        manifest.epochs_done = epoch + 1;
        manifest.train_seconds = progress.prior_seconds + session.start.elapsed().as_secs_f64();
        let manifest_path = run_dir.join(files::MANIFEST);
        manifest
            .write(&manifest_path)
            .map_err(write_err(&manifest_path))?;
        crate::interrupt::check(|| {
            format!(
                "after epoch {} of {}: its checkpoint {} kept",
                epoch + 1,
                cfg.epochs,
                run_dir.join(files::CHECKPOINT).display()
            )
        })?;
    }
    let train_seconds = session.start.elapsed().as_secs_f64();
    finish(
        cfg,
        data,
        run_dir,
        trainer,
        progress,
        manifest,
        train_seconds,
    )
}

/// What a run carries from epoch to epoch, and across sessions through the checkpoint.
struct Progress {
    /// Metrics of every completed epoch, in order (its length is the epochs done).
    history: Vec<EpochMetrics>,
    /// The epoch with the highest validation accuracy so far.
    best: Option<BestEpoch>,
    /// That epoch's weights, kept when `select: best_val`.
    best_tensors: Option<Vec<(String, Tensor)>>,
    /// Sessions of this run, counting the current one.
    sessions: usize,
    /// Seconds spent in epochs by earlier sessions.
    prior_seconds: f64,
}

/// What [`prepare`] hands to the epoch loop.
struct Prepared {
    device: tch::Device,
    trainer: Trainer,
    progress: Progress,
}

/// The current session's clock and the constants of its epochs.
struct Session {
    start: Instant,
    /// The title of the learning curve (`curve.png`).
    title: String,
    iterations_per_epoch: usize,
    device: tch::Device,
}

/// Prepare: threads and device, the data checked against the configuration, a fresh model
/// and optimizer (seeded by `cfg.seed`), and, when resuming, their state restored from
/// the checkpoint. Nothing is written.
fn prepare(
    cfg: &TrainConfig,
    data: &PreparedData,
    run_dir: &Path,
    opts: &RunOptions,
) -> Result<Prepared, TrainError> {
    crate::device::set_threads(cfg.threads)?;
    let device = cfg.device.resolve()?;
    check_data_fits(cfg, data)?;
    let mut trainer = Trainer::new(cfg, data.classes().len(), &data.train_counts(), device)?;
    let ckpt_path = run_dir.join(files::CHECKPOINT);
    let progress = if opts.resume && ckpt_path.is_file() {
        restore(cfg, data, run_dir, &mut trainer)?
    } else {
        Progress {
            history: Vec::new(),
            best: None,
            best_tensors: None,
            sessions: 1,
            prior_seconds: 0.0,
        }
    };
    Ok(Prepared {
        device,
        trainer,
        progress,
    })
}

/// The prepared data suits the configuration: same patch size, and validation data when
/// the final model is the best on validation.
fn check_data_fits(cfg: &TrainConfig, data: &PreparedData) -> Result<(), TrainError> {
    if cfg.size() != data.dataset.size() {
        return Err(TrainError::Config {
            reason: format!(
                "the data was loaded at {0}x{0} but the configuration asks for {1}x{1}",
                data.dataset.size(),
                cfg.size()
            ),
        });
    }
    if cfg.select == Select::BestVal && data.val_idx.is_empty() {
        return Err(TrainError::Config {
            reason: "select: best_val needs validation data (val_fraction > 0 or a val split)"
                .into(),
        });
    }
    Ok(())
}

/// Outputs of the start: the run directory, `config.yaml` (kept when resuming) and a
/// `run.json` with status `running`.
fn begin_outputs(
    cfg: &TrainConfig,
    data: &PreparedData,
    run_dir: &Path,
    device: tch::Device,
    progress: &Progress,
) -> Result<RunManifest, TrainError> {
    std::fs::create_dir_all(run_dir).map_err(write_err(run_dir))?;
    let cfg_path = run_dir.join(files::CONFIG);
    if !cfg_path.is_file() {
        crate::io::write_atomic(&cfg_path, cfg.to_yaml().as_bytes())
            .map_err(write_err(&cfg_path))?;
    }
    let manifest = RunManifest {
        format: super::manifest::FORMAT.to_string(),
        status: RunStatus::Running,
        versions: Versions::current(),
        device: crate::device::describe(device),
        threads: tch::get_num_threads() as i64,
        seeds: Seeds {
            train: cfg.seed,
            split: data.dataset.config.split.seed,
            synthetic: cfg.data.synthetic.then_some(cfg.data.synth.seed),
        },
        config: cfg.clone(),
        data: RunData::of(data),
        epochs_done: progress.history.len(),
        train_seconds: progress.prior_seconds,
        sessions: progress.sessions,
        model: None,
        test: None,
        val: None,
    };
    let manifest_path = run_dir.join(files::MANIFEST);
    manifest
        .write(&manifest_path)
        .map_err(write_err(&manifest_path))?;
    Ok(manifest)
}

/// `"<POL> <arch> <run directory name>"`, the learning curve's title.
fn curve_title(cfg: &TrainConfig, data: &PreparedData, run_dir: &Path) -> String {
    format!(
        "{} {} {}",
        data.dataset.pol.map(|p| p.to_string()).unwrap_or_default(),
        cfg.model.arch,
        run_dir
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
    )
}

/// Finish: the final model (the last epoch's, or the best on validation when
/// `select: best_val`), `model.safetensors` and `model.sha256`, the test and validation
/// reports (`eval.json`, `eval.txt`, `confusion.png`), `run.json` with status `complete`,
/// and the checkpoint removed unless `keep_checkpoint`.
fn finish(
    cfg: &TrainConfig,
    data: &PreparedData,
    run_dir: &Path,
    trainer: Trainer,
    progress: Progress,
    mut manifest: RunManifest,
    train_seconds: f64,
) -> Result<TrainOutcome, TrainError> {
    let Progress {
        history,
        best,
        best_tensors,
        prior_seconds,
        ..
    } = progress;
    let mut selected_epoch = history.len();
    if cfg.select == Select::BestVal {
        if let (Some(b), Some(t)) = (&best, &best_tensors) {
            let map = t
                .iter()
                .map(|(n, x)| (n.clone(), x.shallow_clone()))
                .collect();
            checkpoint::restore_model(&trainer.model, &map).map_err(|e| resume_err(run_dir, e))?;
            selected_epoch = b.epoch;
        }
    }
    let model = trainer.model;
    let weights = run_dir.join(files::WEIGHTS);
    model::save(&model, &weights)?;
    let model_hash = model::model_hash(&model)?;
    let hpath = run_dir.join(files::MODEL_HASH);
    crate::io::write_atomic(
        &hpath,
        format!("{model_hash}  {}\n", files::WEIGHTS).as_bytes(),
    )
    .map_err(write_err(&hpath))?;
    let classes = data.classes();
    let test = validate(&model, "test", classes, data.test(), cfg)?;
    let val = validate(&model, "val", classes, &data.val(), cfg)?;
    if let Some(t) = &test {
        write_test_report(run_dir, t)?;
    }
    manifest.status = RunStatus::Complete;
    manifest.epochs_done = history.len();
    manifest.train_seconds = prior_seconds + train_seconds;
    manifest.model = Some(RunModel {
        config: model.config,
        parameters: model.parameter_count(),
        hash: model_hash.clone(),
        weights: files::WEIGHTS.to_string(),
        epoch: selected_epoch,
    });
    manifest.test = test.clone();
    manifest.val = val.clone();
    let manifest_path = run_dir.join(files::MANIFEST);
    manifest
        .write(&manifest_path)
        .map_err(write_err(&manifest_path))?;
    let ckpt_path = run_dir.join(files::CHECKPOINT);
    if !cfg.keep_checkpoint && ckpt_path.exists() {
        std::fs::remove_file(&ckpt_path).map_err(write_err(&ckpt_path))?;
    }
    Ok(TrainOutcome {
        run_dir: run_dir.to_path_buf(),
        model,
        model_hash,
        weights,
        test,
        val,
        epochs_done: history.len(),
        metrics: history,
        complete: true,
        train_seconds,
    })
}

/// The test report in the run directory: `eval.json`, `eval.txt` and `confusion.png`.
fn write_test_report(run_dir: &Path, t: &EvalReport) -> Result<(), TrainError> {
    let p = run_dir.join(files::EVAL_JSON);
    let mut bytes =
        serde_json::to_vec_pretty(t).map_err(|e| TrainError::io(&p, std::io::Error::other(e)))?;
    bytes.push(b'\n');
    crate::io::write_atomic(&p, &bytes).map_err(write_err(&p))?;
    let p = run_dir.join(files::EVAL_TEXT);
    crate::io::write_atomic(&p, t.to_text().as_bytes()).map_err(write_err(&p))?;
    let p = run_dir.join(files::CONFUSION);
    t.save_confusion_png(&p).map_err(write_err(&p))?;
    Ok(())
}
