//! Training determinism on the CPU: the same seed gives the same model hash, and a run
//! stopped after an epoch and resumed ends with the hash of the uninterrupted run; the run
//! directory holds every promised output.
//!
//! libtorch's random generator and thread count are process-global, so the runs of this
//! file are serialized by a mutex.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use sarxai::data::Pol;
use sarxai::device::DeviceChoice;
use sarxai::model::{self, Arch};
use sarxai::train::{self, files, Balance, OptimizerKind, RunOptions, Select, TrainConfig};

static LOCK: Mutex<()> = Mutex::new(());

/// A tiny synthetic dataset (10 classes x 8 patches of 32x32), generated once per process.
fn tiny_data() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::synthetic(3, 8))
}

fn tiny_config() -> TrainConfig {
    let mut c = TrainConfig::default();
    c.data.dir = Some(tiny_data().to_path_buf());
    c.dataset.pol = Some(Pol::Vh);
    c.dataset.preprocess.size = 32;
    c.model.arch = Arch::Resnet18;
    c.epochs = 3;
    c.batch_size = 8;
    c.eval_batch_size = 16;
    c.seed = 11;
    c.val_fraction = 0.2;
    c.augment.crop_padding = 3;
    c.augment.rotate_degrees = 5.0;
    c.device = DeviceChoice::Cpu;
    c.threads = Some(1);
    c
}

fn quiet(resume: bool, stop: Option<usize>) -> RunOptions<'static> {
    RunOptions {
        resume,
        stop_after_epoch: stop,
        progress: false,
        on_epoch: None,
    }
}

fn run(cfg: &TrainConfig, dir: &Path, opts: &RunOptions) -> train::TrainOutcome {
    train::run(cfg, dir, opts).unwrap()
}

#[test]
fn same_seed_gives_the_same_model_hash_and_metrics() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    let a = run(&cfg, &tmp.path().join("a"), &quiet(false, None));
    let b = run(&cfg, &tmp.path().join("b"), &quiet(false, None));
    assert!(a.complete && b.complete);
    assert_eq!(a.model_hash, b.model_hash);
    let losses = |o: &train::TrainOutcome| {
        o.metrics
            .iter()
            .map(|m| m.train_loss.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&a), losses(&b));
    assert_eq!(
        a.test.as_ref().unwrap().confusion,
        b.test.as_ref().unwrap().confusion
    );

    let mut other = cfg.clone();
    other.seed = 12;
    let c = run(&other, &tmp.path().join("c"), &quiet(false, None));
    assert_ne!(a.model_hash, c.model_hash);
}

#[test]
fn resumed_run_ends_with_the_uninterrupted_hash() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    let full = run(&cfg, &tmp.path().join("full"), &quiet(false, None));

    let dir = tmp.path().join("resumed");
    let part = run(&cfg, &dir, &quiet(false, Some(1)));
    assert!(!part.complete);
    assert_eq!(part.epochs_done, 1);
    assert!(dir.join(files::CHECKPOINT).is_file());
    assert!(!dir.join(files::WEIGHTS).exists());
    let done = run(&cfg, &dir, &quiet(true, None));
    assert!(done.complete);
    assert_eq!(done.model_hash, full.model_hash);
    assert_eq!(done.metrics.len(), 3);
    let lines = std::fs::read_to_string(dir.join(files::METRICS)).unwrap();
    assert_eq!(lines.lines().count(), 3);
    for (x, y) in done.metrics.iter().zip(&full.metrics) {
        assert_eq!(x.train_loss.to_bits(), y.train_loss.to_bits());
        assert_eq!(x.val_accuracy, y.val_accuracy);
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(files::MANIFEST)).unwrap()).unwrap();
    assert_eq!(manifest["sessions"], 2);
    assert_eq!(manifest["status"], "complete");
    assert!(
        !dir.join(files::CHECKPOINT).exists(),
        "checkpoint removed at the end"
    );

    // Resuming a complete run changes nothing.
    let before = std::fs::read(dir.join(files::WEIGHTS)).unwrap();
    let again = run(&cfg, &dir, &quiet(true, None));
    assert_eq!(again.model_hash, full.model_hash);
    assert_eq!(std::fs::read(dir.join(files::WEIGHTS)).unwrap(), before);
}

#[test]
fn adamw_balanced_best_val_three_channels_resume_exactly() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = tiny_config();
    cfg.optimizer.kind = OptimizerKind::Adamw;
    cfg.optimizer.lr = 2e-3;
    cfg.optimizer.weight_decay = 0.05;
    cfg.balance = Balance::Sampler;
    cfg.select = Select::BestVal;
    cfg.model.channels = 3;
    cfg.label_smoothing = 0.1;
    cfg.schedule.kind = train::ScheduleKind::Step;
    cfg.schedule.step_epochs = 1;
    cfg.schedule.gamma = 0.5;
    let full = run(&cfg, &tmp.path().join("full"), &quiet(false, None));
    let dir = tmp.path().join("resumed");
    run(&cfg, &dir, &quiet(false, Some(2)));
    let done = run(&cfg, &dir, &quiet(true, None));
    assert_eq!(done.model_hash, full.model_hash);
    assert_eq!(done.model.config.in_channels, 3);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(files::MANIFEST)).unwrap()).unwrap();
    let best = full
        .metrics
        .iter()
        .max_by(|a, b| {
            a.val_accuracy
                .partial_cmp(&b.val_accuracy)
                .unwrap()
                .then(b.epoch.cmp(&a.epoch))
        })
        .unwrap();
    assert_eq!(manifest["model"]["epoch"], best.epoch);

    let mut weighted = tiny_config();
    weighted.balance = Balance::LossWeights;
    let w = run(&weighted, &tmp.path().join("weighted"), &quiet(false, None));
    assert!(w.complete);
}

#[test]
fn run_directory_holds_every_output() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = tiny_config();
    cfg.epochs = 2;
    cfg.keep_checkpoint = true;
    let dir = tmp.path().join("run");
    let out = run(&cfg, &dir, &quiet(false, None));
    for f in [
        files::CONFIG,
        files::MANIFEST,
        files::CHECKPOINT,
        files::WEIGHTS,
        files::MODEL_HASH,
        files::METRICS,
        files::CURVE,
        files::EVAL_JSON,
        files::EVAL_TEXT,
        files::CONFUSION,
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    // The effective configuration reads back to the same configuration.
    let saved = train::resume_config(&dir).unwrap();
    assert_eq!(saved, cfg);
    // Weights, hash file and manifest agree.
    let m = model::load(
        &dir.join(files::WEIGHTS),
        Some(Arch::Resnet18),
        tch::Device::Cpu,
    )
    .unwrap();
    assert_eq!(model::model_hash(&m).unwrap(), out.model_hash);
    let hash_line = std::fs::read_to_string(dir.join(files::MODEL_HASH)).unwrap();
    assert_eq!(
        hash_line,
        format!("{}  model.safetensors\n", out.model_hash)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(files::MANIFEST)).unwrap()).unwrap();
    assert_eq!(manifest["model"]["hash"], out.model_hash.as_str());
    assert_eq!(manifest["versions"]["tch"], "0.24.0");
    assert_eq!(manifest["versions"]["libtorch"], "2.11.0");
    assert_eq!(manifest["threads"], 1);
    assert_eq!(manifest["seeds"]["train"], 11);
    assert_eq!(manifest["data"]["val_source"]["kind"], "carved_from_train");
    let digest = manifest["data"]["manifest_digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    let test = out.test.unwrap();
    assert_eq!(test.n, 20, "10 classes x 8 patches, 20 % test");
    assert_eq!(manifest["test"]["n"], 20);
    assert_eq!(out.metrics.len(), 2);
    let png = std::fs::read(dir.join(files::CURVE)).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}
