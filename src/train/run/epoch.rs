//! One epoch of a run: the training pass, validation, the summary line, the checkpoint
//! with metrics and curve, and the outcome of a run stopped between epochs.

use std::path::Path;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{write_err, Progress, Session, TrainOutcome};
use crate::model::{self, ResNet};
use crate::train::checkpoint::{self, BestEpoch, CheckpointState};
use crate::train::config::{Select, TrainConfig};
use crate::train::data::{PreparedData, Samples, View};
use crate::train::eval::{evaluate, EvalReport};
use crate::train::files;
use crate::train::metrics::{self, EpochMetrics};
use crate::train::trainer::{batches, epoch_order, make_batch, Trainer};
use crate::train::TrainError;

/// Running sums of one epoch's training steps.
pub(super) struct EpochSums {
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
    pub(super) fn metrics(
        &self,
        epoch: usize,
        val: Option<&EvalReport>,
        t0: Instant,
    ) -> EpochMetrics {
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
pub(super) fn train_epoch(
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
pub(super) fn validate(
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

/// Checkpoint: the best epoch so far (highest validation accuracy; its weights kept when
/// `select: best_val`), then `checkpoint.safetensors`, `metrics.jsonl` and `curve.png`
/// for the epochs in `progress.history` (the last one just pushed).
pub(super) fn checkpoint_epoch(
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
pub(super) fn stopped(
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

/// Seconds as `1h05m` or `3m07s`, for the time left.
fn fmt_secs(s: f64) -> String {
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
