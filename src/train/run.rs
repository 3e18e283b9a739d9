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

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::Tensor;

use super::checkpoint::{self, BestEpoch, CheckpointState};
use super::config::{json_diff, Select, TrainConfig};
use super::data::{prepare_data, PreparedData, Samples, View};
use super::eval::{evaluate, EvalReport};
use super::files;
use super::manifest::{RunData, RunManifest, RunModel, RunStatus, Seeds, Versions};
use super::metrics::{self, EpochMetrics};
use super::trainer::{batches, epoch_order, iterations_per_epoch, make_batch, Trainer};
use super::TrainError;
use crate::model::{self, ResNet};

/// How [`run`] and [`train`] behave.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Continue the run in the directory from its checkpoint.
    pub resume: bool,
    /// Stop (as if killed) once this many epochs are complete, leaving the checkpoint:
    /// for tests of resumption and for time-boxed sessions.
    pub stop_after_epoch: Option<usize>,
    /// Progress bars on standard error.
    pub progress: bool,
    /// One summary line per epoch on standard error.
    pub log: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            resume: false,
            stop_after_epoch: None,
            progress: true,
            log: true,
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct TrainOutcome {
    pub run_dir: PathBuf,
    /// The final model (evaluation mode is the caller's `forward`).
    pub model: ResNet,
    /// [`model::model_hash`] of the final model.
    pub model_hash: String,
    /// `RUN_DIR/model.safetensors` (only written when `complete`).
    pub weights: PathBuf,
    pub test: Option<EvalReport>,
    pub val: Option<EvalReport>,
    pub metrics: Vec<EpochMetrics>,
    pub epochs_done: usize,
    /// False when stopped by `stop_after_epoch`.
    pub complete: bool,
    /// Seconds spent in epochs in this session.
    pub train_seconds: f64,
}

fn run_dir_err(dir: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::RunDir {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
}

fn resume_err(dir: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::Resume {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
}

/// The configuration saved in a run directory (`config.yaml`).
pub fn resume_config(run_dir: &Path) -> Result<TrainConfig, TrainError> {
    let p = run_dir.join(files::CONFIG);
    if !run_dir.is_dir() {
        return Err(resume_err(run_dir, "no such directory"));
    }
    if !p.is_file() {
        return Err(resume_err(
            run_dir,
            format!(
                "no {} in it: it does not hold a sarxai training run",
                files::CONFIG
            ),
        ));
    }
    TrainConfig::from_yaml_file(&TrainConfig::default(), &p)
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
    cfg.validate()?;
    check_run_dir(run_dir, cfg, opts.resume)?;
    crate::device::set_threads(cfg.threads)?;
    cfg.device.resolve()?;
    if opts.resume {
        if let Some(done) = completed(run_dir, cfg)? {
            return Ok(done);
        }
    }
    let data = prepare_data(cfg)?;
    train(cfg, &data, run_dir, opts)
}

/// A completed run read back (model, hash and reports), when `run.json` says complete.
fn completed(run_dir: &Path, cfg: &TrainConfig) -> Result<Option<TrainOutcome>, TrainError> {
    let mpath = run_dir.join(files::MANIFEST);
    let Ok(manifest) = RunManifest::read(&mpath) else {
        return Ok(None);
    };
    if manifest.status != RunStatus::Complete {
        return Ok(None);
    }
    let weights = run_dir.join(files::WEIGHTS);
    let model = model::load(&weights, Some(cfg.model.arch), cfg.device.resolve()?)?;
    let hash = model::model_hash(&model)?;
    if manifest.model.as_ref().map(|m| m.hash.as_str()) != Some(hash.as_str()) {
        return Err(resume_err(
            run_dir,
            format!(
                "the run is complete but {} (hash {hash}) is not the model {} records",
                weights.display(),
                files::MANIFEST
            ),
        ));
    }
    let epochs_done = manifest.epochs_done;
    Ok(Some(TrainOutcome {
        run_dir: run_dir.to_path_buf(),
        model,
        model_hash: hash,
        weights,
        test: manifest.test,
        val: manifest.val,
        metrics: metrics::read_jsonl(&run_dir.join(files::METRICS)).unwrap_or_default(),
        epochs_done,
        complete: true,
        train_seconds: 0.0,
    }))
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |e| TrainError::io(path, e)
}

/// Trains on prepared data into `run_dir` (see the module docs), in the stages of the
/// method: [`prepare`] (checks, model and optimizer, the checkpoint when resuming),
/// [`begin_outputs`], then per epoch [`train_epoch`], [`validate`], [`log_epoch`] and
/// [`checkpoint_epoch`], and at the end [`finish`] (final model, hash, test and validation
/// reports, complete manifest).
pub fn train(
    cfg: &TrainConfig,
    data: &PreparedData,
    run_dir: &Path,
    opts: &RunOptions,
) -> Result<TrainOutcome, TrainError> {
    cfg.validate()?;
    check_run_dir(run_dir, cfg, opts.resume)?;
    if opts.resume {
        if let Some(done) = completed(run_dir, cfg)? {
            return Ok(done);
        }
    }
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
        if opts.log {
            log_epoch(&m, cfg.epochs);
        }
        progress.history.push(m);
        checkpoint_epoch(cfg, data, run_dir, &trainer, &mut progress, &session)?;
        manifest.epochs_done = epoch + 1;
        manifest.train_seconds = progress.prior_seconds + session.start.elapsed().as_secs_f64();
        let manifest_path = run_dir.join(files::MANIFEST);
        manifest
            .write(&manifest_path)
            .map_err(write_err(&manifest_path))?;
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

/// Resume: the checkpoint's model, optimizer, metrics and best epoch, after checking that
/// it was written by this run (architecture, settings, data and split digests, model hash).
fn restore(
    cfg: &TrainConfig,
    data: &PreparedData,
    run_dir: &Path,
    trainer: &mut Trainer,
) -> Result<Progress, TrainError> {
    let ckpt_path = run_dir.join(files::CHECKPOINT);
    let loaded = checkpoint::load(&ckpt_path).map_err(|e| resume_err(run_dir, e))?;
    let st = &loaded.state;
    check_checkpoint_matches(st, cfg, data, run_dir, trainer)?;
    checkpoint::restore_model(&trainer.model, &loaded.model).map_err(|e| {
        resume_err(
            run_dir,
            format!("{} does not fit the model: {e}", ckpt_path.display()),
        )
    })?;
    let h = model::model_hash(&trainer.model)?;
    if h != st.model_hash {
        return Err(resume_err(
            run_dir,
            format!(
                "{} is corrupt: model hash {h}, recorded {}",
                ckpt_path.display(),
                st.model_hash
            ),
        ));
    }
    trainer
        .opt
        .load_state(st.optimizer_steps, loaded.optim)
        .map_err(|e| resume_err(run_dir, e))?;
    let mut best_tensors = None;
    if cfg.select == Select::BestVal && st.best.is_some() {
        if loaded.best.is_empty() {
            return Err(resume_err(
                run_dir,
                "the checkpoint lacks the best model's weights",
            ));
        }
        best_tensors = Some(loaded.best.into_iter().collect());
    }
    let (mut sessions, mut prior_seconds) = (1, 0.0);
    if let Ok(m) = RunManifest::read(&run_dir.join(files::MANIFEST)) {
        sessions = m.sessions + 1;
        prior_seconds = m.train_seconds;
    }
    Ok(Progress {
        history: st.metrics.clone(),
        best: st.best.clone(),
        best_tensors,
        sessions,
        prior_seconds,
    })
}

/// The checkpoint belongs to this run: same architecture, same settings (but device and
/// threads), same data and split digests.
fn check_checkpoint_matches(
    st: &CheckpointState,
    cfg: &TrainConfig,
    data: &PreparedData,
    run_dir: &Path,
    trainer: &Trainer,
) -> Result<(), TrainError> {
    let ckpt_path = run_dir.join(files::CHECKPOINT);
    let mc = trainer.model.config;
    if st.model != mc {
        return Err(resume_err(
            run_dir,
            format!(
                "{} holds a {} ({} channel(s), {} classes) but the run is a {} ({} channel(s), {} classes)",
                ckpt_path.display(),
                st.model.arch,
                st.model.in_channels,
                st.model.num_classes,
                mc.arch,
                mc.in_channels,
                mc.num_classes
            ),
        ));
    }
    let mut diff = Vec::new();
    json_diff("", &st.config, &cfg.fingerprint(), &mut diff);
    if !diff.is_empty() {
        return Err(resume_err(
            run_dir,
            format!(
                "the checkpoint was written with other settings: {}",
                diff.join("; ")
            ),
        ));
    }
    if st.data_digest != data.data_digest || st.digests != data.digests {
        return Err(resume_err(
            run_dir,
            format!(
                "the data changed since the checkpoint (data digest {} -> {}, train split {} -> {}, test split {} -> {})",
                st.data_digest, data.data_digest, st.digests.train, data.digests.train, st.digests.test, data.digests.test
            ),
        ));
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

/// Running sums of one epoch's training steps.
struct EpochSums {
    loss_sum: f64,
    correct: i64,
    seen: i64,
    lr_first: f64,
    lr_last: f64,
    /// Seconds of the training steps (without validation).
    train_secs: f64,
}

impl EpochSums {
    /// The epoch's metrics: sample-weighted mean loss and accuracy, the validation
    /// report's figures, and the throughput of the training steps.
    fn metrics(&self, epoch: usize, val: Option<&EvalReport>, t0: Instant) -> EpochMetrics {
        EpochMetrics {
            epoch: epoch + 1,
            lr_first: self.lr_first,
            lr_last: self.lr_last,
            train_loss: self.loss_sum / self.seen.max(1) as f64,
            train_accuracy: self.correct as f64 / self.seen.max(1) as f64,
            val_loss: val.and_then(|v| v.mean_loss),
            val_accuracy: val.map(|v| v.accuracy),
            val_balanced_accuracy: val.map(|v| v.balanced_accuracy),
            seconds: t0.elapsed().as_secs_f64(),
            images_per_second: self.seen as f64 / self.train_secs.max(1e-9),
        }
    }
}

/// Epoch: one pass over the training split in an order drawn from a ChaCha8 stream
/// (seed `cfg.seed`, stream `epoch + 1`; torch seeded with `cfg.seed + epoch + 1`), one
/// optimizer step per batch at the schedule's learning rate. A non-finite loss stops the
/// run ([`TrainError::Diverged`]). `epochs` is (epoch of the run, epoch of this session).
fn train_epoch(
    cfg: &TrainConfig,
    trainer: &mut Trainer,
    train_view: &View<'_>,
    k: usize,
    epochs: (usize, usize),
    session: &Session,
    progress: bool,
) -> Result<EpochSums, TrainError> {
    let (epoch, session_epochs) = epochs;
    let t0 = Instant::now();
    tch::manual_seed(cfg.seed.wrapping_add(epoch as u64 + 1) as i64);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(epoch as u64 + 1);
    let order = epoch_order(train_view, k, cfg.balance, &mut rng);
    let chunks = batches(&order, cfg.batch_size);
    let bar = if progress {
        crate::progress::bar(
            chunks.len() as u64,
            &format!("epoch {}/{}", epoch + 1, cfg.epochs),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    let ipe = session.iterations_per_epoch;
    let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0i64, 0i64);
    let (mut lr_first, mut lr_last) = (f64::NAN, f64::NAN);
    for (b, idx) in chunks.iter().enumerate() {
        let lr = cfg
            .schedule
            .lr_at(cfg.optimizer.lr, cfg.epochs, ipe, epoch * ipe + b);
        if b == 0 {
            lr_first = lr;
        }
        lr_last = lr;
        let (x, y) = make_batch(
            train_view,
            idx,
            Some((&cfg.augment, &mut rng)),
            cfg.model.channels,
            session.device,
        );
        let s = trainer.step(&x, &y, lr);
        if !s.loss.is_finite() {
            bar.abandon();
            return Err(TrainError::Diverged {
                epoch: epoch + 1,
                reason: format!("loss {} at iteration {}", s.loss, b + 1),
            });
        }
        loss_sum += s.loss * s.n as f64;
        correct += s.correct;
        seen += s.n;
        bar.inc(1);
        if b % 2 == 0 || b + 1 == chunks.len() {
            let done_epochs = session_epochs as f64 + (b + 1) as f64 / chunks.len() as f64;
            let per_epoch = session.start.elapsed().as_secs_f64() / done_epochs;
            let left = per_epoch * (cfg.epochs - epoch) as f64 - t0.elapsed().as_secs_f64();
            bar.set_message(format!(
                "loss {:.3} acc {:.1}% lr {:.2e} run ETA {}",
                loss_sum / seen as f64,
                100.0 * correct as f64 / seen as f64,
                lr,
                fmt_secs(left.max(0.0))
            ));
        }
    }
    let train_secs = t0.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok(EpochSums {
        loss_sum,
        correct,
        seen,
        lr_first,
        lr_last,
        train_secs,
    })
}

/// Validate: the model (evaluation mode) on a split, `None` when the split is empty.
fn validate(
    model: &ResNet,
    split: &str,
    classes: &[String],
    view: &dyn Samples,
    cfg: &TrainConfig,
) -> Result<Option<EvalReport>, TrainError> {
    if view.is_empty() {
        return Ok(None);
    }
    Ok(Some(evaluate(
        model,
        split,
        classes,
        view,
        cfg.eval_batch_size,
    )?))
}

/// One summary line per epoch on standard error.
fn log_epoch(m: &EpochMetrics, epochs: usize) {
    eprintln!(
        "epoch {:>3}/{}  loss {:.4}  acc {:.2}%{}  lr {:.3e}  {:.1}s ({:.0} img/s)",
        m.epoch,
        epochs,
        m.train_loss,
        100.0 * m.train_accuracy,
        match (&m.val_accuracy, &m.val_loss) {
            (Some(a), Some(l)) => format!("  val_loss {l:.4}  val_acc {:.2}%", 100.0 * a),
            _ => String::new(),
        },
        m.lr_first,
        m.seconds,
        m.images_per_second
    );
}

/// Checkpoint: the best epoch so far (highest validation accuracy; its weights kept when
/// `select: best_val`), then `checkpoint.safetensors`, `metrics.jsonl` and `curve.png`
/// for the epochs in `progress.history` (the last one just pushed).
fn checkpoint_epoch(
    cfg: &TrainConfig,
    data: &PreparedData,
    run_dir: &Path,
    trainer: &Trainer,
    progress: &mut Progress,
    session: &Session,
) -> Result<(), TrainError> {
    let model_hash = model::model_hash(&trainer.model)?;
    let m = progress
        .history
        .last()
        .expect("the epoch's metrics were pushed");
    if let Some(acc) = m.val_accuracy {
        if progress.best.as_ref().is_none_or(|b| acc > b.val_accuracy) {
            progress.best = Some(BestEpoch {
                epoch: m.epoch,
                val_accuracy: acc,
                model_hash: model_hash.clone(),
            });
            if cfg.select == Select::BestVal {
                progress.best_tensors = Some(checkpoint::model_tensors(&trainer.model));
            }
        }
    }
    let state = CheckpointState {
        format: checkpoint::FORMAT.to_string(),
        epochs_done: progress.history.len(),
        optimizer_steps: trainer.opt.steps,
        model: trainer.model.config,
        model_hash,
        config: cfg.fingerprint(),
        data_digest: data.data_digest.clone(),
        digests: data.digests.clone(),
        metrics: progress.history.clone(),
        best: progress.best.clone(),
    };
    let ckpt_path = run_dir.join(files::CHECKPOINT);
    checkpoint::save(
        &ckpt_path,
        &trainer.model,
        &trainer.opt,
        progress.best_tensors.as_deref(),
        &state,
    )
    .map_err(|e| TrainError::io(&ckpt_path, std::io::Error::other(e)))?;
    let mpath = run_dir.join(files::METRICS);
    metrics::write_jsonl(&mpath, &progress.history).map_err(write_err(&mpath))?;
    let cpath = run_dir.join(files::CURVE);
    metrics::curve_canvas(&progress.history, &session.title.to_uppercase())
        .save_png(&cpath)
        .map_err(write_err(&cpath))?;
    Ok(())
}

/// A run stopped by `stop_after_epoch`: the model as it stands, the checkpoint left.
fn stopped(
    trainer: Trainer,
    history: Vec<EpochMetrics>,
    run_dir: &Path,
    train_seconds: f64,
) -> Result<TrainOutcome, TrainError> {
    let model_hash = model::model_hash(&trainer.model)?;
    Ok(TrainOutcome {
        run_dir: run_dir.to_path_buf(),
        model: trainer.model,
        model_hash,
        weights: run_dir.join(files::WEIGHTS),
        test: None,
        val: None,
        epochs_done: history.len(),
        metrics: history,
        complete: false,
        train_seconds,
    })
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

fn fmt_secs(s: f64) -> String {
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
