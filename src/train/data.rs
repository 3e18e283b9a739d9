//! From a configuration to the arrays training uses: the synthetic cache, the loaded
//! [`Dataset`], the data digest, the validation split (the data's, or carved out of the
//! training split) and per-class checks.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::TrainError;
use crate::data::discover::SkipReason;
use crate::data::manifest::{build_manifest, verify_manifest, Manifest, MANIFEST_FILE_NAME};
use crate::data::split::{split_digest, stratified_split, SplitConfig};
use crate::data::synth::{self, SynthConfig, SYNTH_VERSION};
use crate::data::{Dataset, DatasetConfig, Split, SplitData};
use crate::io::sha256_hex;

/// Indexed single-band samples of one size.
pub trait Samples {
    /// Number of samples.
    fn len(&self) -> usize;
    /// No samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Side of the square images.
    fn size(&self) -> usize;
    /// Pixels of sample `i` (`size * size`, row-major).
    fn image(&self, i: usize) -> &[f32];
    /// Class index of sample `i`.
    fn label(&self, i: usize) -> i64;
    /// Sample `i` with a margin of its chip around it, `(pixels, margin)`: `(size + 2
    /// margin)^2` values whose centre is [`Samples::image`] (see [`SplitData::context`]).
    fn context(&self, _i: usize) -> Option<(&[f32], usize)> {
        None
    }
    /// All labels in order.
    fn labels(&self) -> Vec<i64> {
        (0..self.len()).map(|i| self.label(i)).collect()
    }
}

impl Samples for SplitData {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn size(&self) -> usize {
        self.size
    }
    fn image(&self, i: usize) -> &[f32] {
        SplitData::image(self, i)
    }
    fn label(&self, i: usize) -> i64 {
        self.labels[i]
    }
    fn context(&self, i: usize) -> Option<(&[f32], usize)> {
        SplitData::context(self, i)
    }
}

/// A subset of a split, by index.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub data: &'a SplitData,
    pub idx: &'a [usize],
}

impl Samples for View<'_> {
    fn len(&self) -> usize {
        self.idx.len()
    }
    fn size(&self) -> usize {
        self.data.size
    }
    fn image(&self, i: usize) -> &[f32] {
        self.data.image(self.idx[i])
    }
    fn label(&self, i: usize) -> i64 {
        self.data.labels[self.idx[i]]
    }
    fn context(&self, i: usize) -> Option<(&[f32], usize)> {
        self.data.context(self.idx[i])
    }
}

/// Where per-epoch validation data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ValSource {
    /// The data's own validation split.
    ValSplit,
    /// `fraction` of each class carved out of the training split
    /// (`stratified_split` with the data's split seed).
    CarvedFromTrain {
        /// Fraction of each class carved out.
        fraction: f64,
        /// Seed of the draw.
        seed: u64,
    },
    /// No validation (`val_fraction: 0` and no validation split).
    None,
}

/// Everything training needs from the data.
#[derive(Debug)]
pub struct PreparedData {
    /// The loaded dataset.
    pub dataset: Dataset,
    /// SHA-256 root digest of the data directory's manifest.
    pub data_digest: String,
    /// Where the data came from (`dir` or the synthetic generator).
    pub origin: DataOrigin,
    /// Indices into `dataset.train` trained on.
    pub train_idx: Vec<usize>,
    /// Validation samples: indices into `dataset.val` or, when carved, `dataset.train`.
    pub val_idx: Vec<usize>,
    /// Where the validation samples come from.
    pub val_source: ValSource,
    /// Split digests of what is actually trained, validated and tested on.
    pub digests: UsedDigests,
}

/// Split digests of the samples a run uses ([`split_digest`] of their members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedDigests {
    pub train: String,
    pub val: String,
    pub test: String,
}

impl UsedDigests {
    /// The digests by split name (`train`, `val`, `test`), as the pins record them.
    pub fn by_split(&self) -> std::collections::BTreeMap<String, String> {
        [
            ("train", &self.train),
            ("val", &self.val),
            ("test", &self.test),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
    }
}

/// The data's origin, for the run manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DataOrigin {
    Dir {
        dir: PathBuf,
    },
    Synthetic {
        dir: PathBuf,
        generator: String,
        config: SynthConfig,
    },
}

impl PreparedData {
    /// The samples trained on.
    pub fn train(&self) -> View<'_> {
        View {
            data: &self.dataset.train,
            idx: &self.train_idx,
        }
    }

    /// The validation samples (possibly empty).
    pub fn val(&self) -> View<'_> {
        let data = match self.val_source {
            ValSource::CarvedFromTrain { .. } => &self.dataset.train,
            _ => &self.dataset.val,
        };
        View {
            data,
            idx: &self.val_idx,
        }
    }

    /// The test split.
    pub fn test(&self) -> &SplitData {
        &self.dataset.test
    }

    /// Class names in label order.
    pub fn classes(&self) -> &[String] {
        &self.dataset.classes
    }

    /// Training samples per class.
    pub fn train_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.dataset.classes.len()];
        for &i in &self.train_idx {
            c[self.dataset.train.labels[i] as usize] += 1;
        }
        c
    }
}

/// The directory the synthetic dataset of `cfg` is cached in under `cache`:
/// `synthetic-<first 16 hex digits of SHA-256(generator version + config JSON)>`.
pub fn synthetic_dir(cache: &Path, cfg: &SynthConfig) -> PathBuf {
    let key = format!(
        "{SYNTH_VERSION}\n{}",
        serde_json::to_string(cfg).unwrap_or_default()
    );
    cache.join(format!("synthetic-{}", &sha256_hex(key.as_bytes())[..16]))
}

/// The cache root: `data.cache`, else `$SARXAI_CACHE`, else `$XDG_CACHE_HOME/sarxai`, else
/// `$HOME/.cache/sarxai`, else `.sarxai-cache`.
pub fn cache_root(configured: Option<&Path>) -> PathBuf {
    configured.map_or_else(crate::data::archive::default_cache_root, Path::to_path_buf)
}

/// Generates the synthetic dataset into the cache unless an intact copy is there (checked
/// against its manifest); generation goes to a temporary sibling that is renamed into
/// place, so concurrent runs never see half a dataset. Returns the directory and manifest.
pub fn ensure_synthetic(
    cfg: &SynthConfig,
    cache: &Path,
) -> Result<(PathBuf, Manifest), TrainError> {
    let dir = synthetic_dir(cache, cfg);
    if let Some(m) = synth::intact(&dir, cfg) {
        return Ok((dir, m));
    }
    std::fs::create_dir_all(cache).map_err(|e| TrainError::io(cache, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".sarxai-synth-")
        .tempdir_in(cache)
        .map_err(|e| TrainError::io(cache, e))?;
    let progress = crate::progress::bar(0, "synthetic");
    let manifest = synth::generate_with_progress(cfg, tmp.path(), &progress)?;
    progress.finish_and_clear();
    if dir.exists() {
        if let Some(m) = synth::intact(&dir, cfg) {
            // Another process finished first.
            return Ok((dir, m));
        }
        // A damaged copy: replace it.
        std::fs::remove_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    }
    let tmp_path = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp_path, &dir) {
        let _ = std::fs::remove_dir_all(&tmp_path);
        if let Some(m) = synth::intact(&dir, cfg) {
            return Ok((dir, m));
        }
        return Err(TrainError::io(&dir, e));
    }
    Ok((dir, manifest))
}

/// The data directory's manifest digest: its `manifest.json`, verified (an altered,
/// missing or extra file is an error), or else one computed over every file.
pub fn data_digest(dir: &Path) -> Result<String, TrainError> {
    let mpath = dir.join(MANIFEST_FILE_NAME);
    if mpath.is_file() {
        let m = Manifest::read(&mpath)?;
        let report = verify_manifest(dir, &m)?;
        if !report.is_clean() {
            let mut what = Vec::new();
            what.extend(
                report
                    .missing
                    .iter()
                    .take(3)
                    .map(|p| format!("missing {p}")),
            );
            what.extend(
                report
                    .altered
                    .iter()
                    .take(3)
                    .map(|a| format!("altered {}", a.path)),
            );
            what.extend(report.extra.iter().take(3).map(|p| format!("extra {p}")));
            return Err(TrainError::DataContent {
                dir: dir.to_path_buf(),
                reason: format!(
                    "the files do not match {} ({} missing, {} altered, {} extra: {}); restore the data or rebuild the manifest with `sarxai data manifest`",
                    mpath.display(),
                    report.missing.len(),
                    report.altered.len(),
                    report.extra.len(),
                    what.join(", ")
                ),
            });
        }
        return Ok(m.root_digest);
    }
    Ok(build_manifest(dir)?.root_digest)
}

/// How many times this process has prepared a dataset ([`prepare_data`]): what
/// tests/reproduce_walk.rs holds `reproduce` to (each channel's data loaded once).
static PREPARED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The number of [`prepare_data`] calls in this process so far.
pub fn datasets_prepared() -> usize {
    PREPARED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Resolves the data of `cfg` (generating the synthetic dataset if needed), loads it,
/// carves the validation split and checks that every class can be trained on.
pub fn prepare_data(cfg: &TrainConfig) -> Result<PreparedData, TrainError> {
    PREPARED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (dir, digest, origin) = if cfg.data.synthetic {
        let cache = cache_root(cfg.data.cache.as_deref());
        let (dir, manifest) = ensure_synthetic(&cfg.data.synth, &cache)?;
        let origin = DataOrigin::Synthetic {
            dir: dir.clone(),
            generator: SYNTH_VERSION.to_string(),
            config: cfg.data.synth.clone(),
        };
        (dir, manifest.root_digest, origin)
    } else {
        let dir = cfg.data.dir.clone().ok_or_else(|| TrainError::Config {
            reason: "no data: pass --data DIR or --synthetic".into(),
        })?;
        if !dir.is_dir() {
            return Err(TrainError::DataContent {
                dir: dir.clone(),
                reason: if dir.exists() {
                    "not a directory; pass the folder holding the patches".into()
                } else {
                    "no such directory; check the --data path".into()
                },
            });
        }
        let digest = data_digest(&dir)?;
        (dir.clone(), digest, DataOrigin::Dir { dir })
    };
    let progress = crate::progress::bar(0, "loading");
    let dataset_cfg = DatasetConfig {
        train_margin: cfg.augment.chip_margin(),
        ..cfg.dataset.clone()
    };
    let dataset = Dataset::load_with_progress(&dir, &dataset_cfg, &progress)?;
    progress.finish_and_clear();
    from_dataset(cfg, dataset, digest, origin)
}

/// Carves validation and checks classes on an already loaded dataset, in stages: refuse
/// empty class folders and a size other than the configuration's, [`choose_validation`],
/// the [`used_digests`], then check that every class can be trained on.
pub fn from_dataset(
    cfg: &TrainConfig,
    dataset: Dataset,
    data_digest: String,
    origin: DataOrigin,
) -> Result<PreparedData, TrainError> {
    refuse_empty_class_folders(&dataset)?;
    check_loaded_size(cfg, &dataset)?;
    let (train_idx, val_idx, val_source) = choose_validation(cfg, &dataset);
    let digests = used_digests(&dataset, &train_idx, &val_idx, &val_source);
    let prepared = PreparedData {
        data_digest,
        origin,
        train_idx,
        val_idx,
        val_source,
        digests,
        dataset,
    };
    check_every_class_trains(&prepared)?;
    check_at_least_two_classes(&prepared)?;
    Ok(prepared)
}

/// A class folder without any image is an error, not a class with no samples.
fn refuse_empty_class_folders(dataset: &Dataset) -> Result<(), TrainError> {
    let empty: Vec<String> = dataset
        .skipped
        .iter()
        .filter(|s| s.reason == SkipReason::EmptyClassFolder)
        .map(|s| s.path.display().to_string())
        .collect();
    if !empty.is_empty() {
        return Err(TrainError::DataContent {
            dir: dataset.root.clone(),
            reason: format!(
                "class folder(s) without any image: {}; add samples or remove the folder(s)",
                empty.join(", ")
            ),
        });
    }
    Ok(())
}

/// The dataset must have been loaded at the image size the configuration trains on.
fn check_loaded_size(cfg: &TrainConfig, dataset: &Dataset) -> Result<(), TrainError> {
    if dataset.size() != cfg.size() {
        return Err(TrainError::Config {
            reason: format!(
                "the dataset was loaded at {0}x{0}, the configuration asks for {1}x{1}",
                dataset.size(),
                cfg.size()
            ),
        });
    }
    Ok(())
}

/// Training and validation indices: the data's validation split, else `val_fraction`
/// carved out of the training split, else no validation.
fn choose_validation(cfg: &TrainConfig, dataset: &Dataset) -> (Vec<usize>, Vec<usize>, ValSource) {
    let n_train = dataset.train.len();
    if !dataset.val.is_empty() {
        (
            (0..n_train).collect(),
            (0..dataset.val.len()).collect(),
            ValSource::ValSplit,
        )
    } else if cfg.val_fraction > 0.0 {
        carve_validation(cfg.val_fraction, dataset)
    } else {
        ((0..n_train).collect(), Vec::new(), ValSource::None)
    }
}

/// `fraction` of each class of the training split held out for validation
/// ([`stratified_split`] with the data's split seed).
fn carve_validation(fraction: f64, dataset: &Dataset) -> (Vec<usize>, Vec<usize>, ValSource) {
    let members: Vec<(String, String)> = dataset
        .train
        .members
        .iter()
        .zip(&dataset.train.labels)
        .map(|(m, &l)| (m.clone(), dataset.classes[l as usize].clone()))
        .collect();
    let seed = dataset.config.split.seed;
    let assign = stratified_split(
        &members,
        &SplitConfig {
            seed,
            test_fraction: fraction,
            val_fraction: 0.0,
        },
    );
    let (mut t, mut v) = (Vec::new(), Vec::new());
    for (i, s) in assign.iter().enumerate() {
        if *s == Split::Test {
            v.push(i);
        } else {
            t.push(i);
        }
    }
    (t, v, ValSource::CarvedFromTrain { fraction, seed })
}

/// Split digests of the samples actually trained, validated and tested on.
fn used_digests(
    dataset: &Dataset,
    train_idx: &[usize],
    val_idx: &[usize],
    val_source: &ValSource,
) -> UsedDigests {
    let digest_of = |data: &SplitData, idx: &[usize]| {
        let m: Vec<(String, String)> = idx
            .iter()
            .map(|&i| {
                (
                    data.members[i].clone(),
                    dataset.classes[data.labels[i] as usize].clone(),
                )
            })
            .collect();
        split_digest(&m)
    };
    let val_data = match val_source {
        ValSource::CarvedFromTrain { .. } => &dataset.train,
        _ => &dataset.val,
    };
    UsedDigests {
        train: digest_of(&dataset.train, train_idx),
        val: digest_of(val_data, val_idx),
        test: dataset.test.digest.clone(),
    }
}

/// Every class needs at least one training sample.
fn check_every_class_trains(prepared: &PreparedData) -> Result<(), TrainError> {
    let counts = prepared.train_counts();
    let missing: Vec<String> = prepared
        .classes()
        .iter()
        .zip(&counts)
        .filter(|(_, &c)| c == 0)
        .map(|(n, _)| n.clone())
        .collect();
    if !missing.is_empty() {
        return Err(TrainError::DataContent {
            dir: prepared.dataset.root.clone(),
            reason: format!(
                "class(es) {} have no training sample (training counts per class: {}); add samples, or restrict the classes (dataset.discover.classes)",
                missing.join(", "),
                prepared
                    .classes()
                    .iter()
                    .zip(&counts)
                    .map(|(n, c)| format!("{n} {c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    Ok(())
}

/// A classifier needs at least two classes.
fn check_at_least_two_classes(prepared: &PreparedData) -> Result<(), TrainError> {
    if prepared.classes().len() < 2 {
        return Err(TrainError::DataContent {
            dir: prepared.dataset.root.clone(),
            reason: format!(
                "{} class(es) found ({}); a classifier needs at least 2",
                prepared.classes().len(),
                prepared.classes().join(", ")
            ),
        });
    }
    Ok(())
}
