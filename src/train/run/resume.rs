//! Resuming a run: the configuration saved in its directory, a completed run read back,
//! and the checkpoint restored after checking that it belongs to this run.

use std::path::Path;

use super::{resume_err, Progress, TrainOutcome};
use crate::model;
use crate::train::checkpoint::{self, CheckpointState};
use crate::train::config::{json_diff, Select, TrainConfig};
use crate::train::data::PreparedData;
use crate::train::files;
use crate::train::manifest::{RunManifest, RunStatus};
use crate::train::metrics;
use crate::train::trainer::Trainer;
use crate::train::TrainError;

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

/// A completed run read back (model, hash and reports), when `run.json` says complete.
pub(super) fn completed(
    run_dir: &Path,
    cfg: &TrainConfig,
) -> Result<Option<TrainOutcome>, TrainError> {
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

/// Resume: the checkpoint's model, optimizer, metrics and best epoch, after checking that
/// it was written by this run (architecture, settings, data and split digests, model hash).
pub(super) fn restore(
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
