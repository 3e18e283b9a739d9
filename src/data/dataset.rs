//! A loaded dataset: one polarization of one format group, preprocessed into f32 arrays per
//! split, with labels, optional ground-truth masks, member lists, split digests and the
//! normalisation statistics of the training split.
//!
//! [`Dataset::load`] = [`discover`] -> choose the format group and polarization -> split
//! (folders if given, else `stratified_split`) -> decode and preprocess every sample in
//! parallel ([`PreprocessConfig`]; training samples with a margin of their chip when
//! [`DatasetConfig::train_margin`] asks) -> statistics on the training split -> normalise.
//! Samples that cannot be used are skipped with a reason (an error with `strict`).
//!
//! The stages are here; choosing the group, its samples and the polarization is in
//! `dataset/choose.rs`, decoding and preprocessing the samples in `dataset/read.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::decode::SampleType;
use super::discover::{discover, DiscoverOptions, SampleFiles, SkipReason, Skipped};
use super::error::{DataError, Result};
pub use super::naming::Pol;
use super::preprocess::{NormStats, PreprocessConfig, RadiometryRecord};
pub use super::split::Split;
use super::split::{split_digest, stratified_split, SplitConfig, SplitDigests};

mod choose;
mod read;

pub use choose::{
    choose_group, choose_group_by_content, group_contents, ContentSelector, HeldPolarizations,
};
use choose::{choose_samples, Chosen};
use read::{read_samples, Loaded};

/// Everything that decides what [`Dataset::load`] returns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetConfig {
    /// Polarization to load. `None` is allowed when the data holds a single polarization.
    pub pol: Option<Pol>,
    /// Format group to load (e.g. `Patch` or `Patch:tiff`, see [`discover`]); `None` when
    /// the data holds one group.
    pub group: Option<String>,
    /// How files are found and grouped.
    pub discover: DiscoverOptions,
    /// How samples are split into train, validation and test.
    pub split: SplitConfig,
    /// How a band becomes a model input.
    pub preprocess: PreprocessConfig,
    /// Pixels of the chip kept around each training image (0: none), so that training
    /// translations read the chip's own pixels instead of mirror reflections
    /// ([`PreprocessConfig::apply_with_context`]). Training sets it from its augmentation
    /// (`crop_padding` with `crop_from_chip`), replacing a configured value.
    #[serde(skip_serializing_if = "is_zero")]
    pub train_margin: usize,
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

/// Where the split came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitSource {
    /// train/val/test folders in the data.
    Folders,
    /// `stratified_split` with the configured seed and fractions.
    Seeded,
}

/// One split's arrays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitData {
    /// `len() * size * size` preprocessed values, sample-major, row-major within a sample.
    pub images: Vec<f32>,
    /// Class index per sample (into [`Dataset::classes`]).
    pub labels: Vec<i64>,
    /// `len() * size * size` values 0/1 (1 = class-defining structure), when every sample
    /// of the split has a mask.
    pub masks: Option<Vec<u8>>,
    /// Member id per sample (see [`SampleFiles::id`]).
    pub members: Vec<String>,
    /// Image file read per sample.
    pub files: Vec<PathBuf>,
    /// `split_digest` of the members.
    pub digest: String,
    /// Side of the square images.
    pub size: usize,
    /// Every sample with `margin` more pixels of its chip on each side (`len() * (size +
    /// 2 margin)^2` values, normalised like `images`), when every sample of the split has
    /// one ([`DatasetConfig::train_margin`]; training split only).
    pub context: Option<Vec<f32>>,
    /// The margin of `context` in pixels.
    pub margin: usize,
}

impl SplitData {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels of sample `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.size * self.size;
        &self.images[i * n..(i + 1) * n]
    }

    /// Sample `i` with its context margin, `(pixels, margin)`, if the split has contexts.
    pub fn context(&self, i: usize) -> Option<(&[f32], usize)> {
        let side = self.size + 2 * self.margin;
        let n = side * side;
        self.context
            .as_ref()
            .map(|c| (&c[i * n..(i + 1) * n], self.margin))
    }

    /// Mask of sample `i`, if the split has masks.
    pub fn mask(&self, i: usize) -> Option<&[u8]> {
        let n = self.size * self.size;
        self.masks.as_ref().map(|m| &m[i * n..(i + 1) * n])
    }

    /// Samples per class index, for `n_classes` classes.
    pub fn class_counts(&self, n_classes: usize) -> Vec<usize> {
        let mut c = vec![0; n_classes];
        for &l in &self.labels {
            if let Some(x) = c.get_mut(l as usize) {
                *x += 1;
            }
        }
        c
    }
}

/// A loaded dataset (see the module docs).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The data directory.
    pub root: PathBuf,
    /// The configuration it was loaded with.
    pub config: DatasetConfig,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// The format group loaded.
    pub group: String,
    /// The polarization loaded (`None`: single-polarization data without suffixes).
    pub pol: Option<Pol>,
    /// Folders or the seeded split.
    pub split_source: SplitSource,
    /// The training split.
    pub train: SplitData,
    /// The validation split.
    pub val: SplitData,
    /// The test split.
    pub test: SplitData,
    /// Digests of each split's members.
    pub digests: SplitDigests,
    /// Statistics of the training split before normalisation (applied when
    /// `config.preprocess.normalize`).
    pub norm: NormStats,
    /// Files not used, from discovery and loading.
    pub skipped: Vec<Skipped>,
    /// What the loaded files were assumed to hold, per sample type.
    pub radiometry: Vec<RadiometryRecord>,
}

/// The serializable description of a loaded dataset, saved with a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// The data directory.
    pub root: PathBuf,
    /// The configuration it was loaded with.
    pub config: DatasetConfig,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// The format group loaded.
    pub group: String,
    /// The polarization loaded.
    pub pol: Option<Pol>,
    /// Folders or the seeded split.
    pub split_source: SplitSource,
    /// Samples per split and class index.
    pub counts: Vec<(Split, Vec<usize>)>,
    /// Digests of each split's members.
    pub digests: SplitDigests,
    /// Statistics of the training split before normalisation.
    pub norm: NormStats,
    /// Number of files not used.
    pub skipped: usize,
    /// What the loaded files were assumed to hold, per sample type.
    #[serde(default)]
    pub radiometry: Vec<RadiometryRecord>,
    /// Margin of chip kept around every training image (0: none asked, or a chip too
    /// small for [`DatasetConfig::train_margin`]; translations then mirror the image).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub train_context_margin: usize,
}

impl Dataset {
    /// Loads `root` with `cfg` (see the module docs).
    pub fn load(root: &Path, cfg: &DatasetConfig) -> Result<Dataset> {
        Dataset::load_with_progress(root, cfg, &indicatif::ProgressBar::hidden())
    }

    /// [`Dataset::load`] with a progress bar advanced once per sample decoded. In stages:
    /// check the configuration, [`discover`], choose the format group, its samples and the
    /// polarization, [`plan_split`] before any decoding, read the samples in parallel, sort
    /// them into their splits, then the training statistics and normalisation.
    pub fn load_with_progress(
        root: &Path,
        cfg: &DatasetConfig,
        progress: &indicatif::ProgressBar,
    ) -> Result<Dataset> {
        validate_config(root, cfg)?;
        let disc = discover(root, &cfg.discover)?;
        let mut skipped = disc.skipped.clone();
        let chosen = choose_samples(root, cfg, &disc)?;
        // Split membership, decided before any decoding.
        let plan = plan_split(&chosen.samples, &cfg.split);
        let margins = context_margins(&plan, cfg.train_margin);
        let loaded = read_samples(&chosen, &cfg.preprocess, &margins, progress);
        let mut sorted = sort_into_splits(
            root,
            cfg,
            &disc.classes,
            &chosen.samples,
            &plan.assignments,
            loaded,
            &mut skipped,
        )?;
        refuse_empty_training(root, &chosen, &sorted.parts[0], &skipped)?;
        let [mut train, mut val, mut test] = seal_splits(
            &mut sorted,
            cfg.preprocess.size,
            cfg.train_margin,
            &disc.classes,
        );
        let norm = NormStats::compute(&train.images);
        if cfg.preprocess.normalize {
            for part in [&mut train, &mut val, &mut test] {
                norm.apply(&mut part.images);
                if let Some(c) = part.context.as_mut() {
                    norm.apply(c);
                }
            }
        }
        let digests = SplitDigests::new(
            train.digest.clone(),
            val.digest.clone(),
            test.digest.clone(),
        );
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Dataset {
            root: root.to_path_buf(),
            config: cfg.clone(),
            classes: disc.classes.clone(),
            group: chosen.group,
            pol: chosen.pol,
            split_source: plan.source,
            train,
            val,
            test,
            digests,
            norm,
            skipped,
            radiometry: RadiometryRecord::list(
                &cfg.preprocess,
                &sorted.dtypes.into_iter().collect::<Vec<_>>(),
            ),
        })
    }

    /// The class names (label order) and the polarizations held by the format group `cfg`
    /// chooses in `root`, from the file names and one header, before any decoding.
    pub fn polarizations(
        root: &Path,
        cfg: &DatasetConfig,
    ) -> Result<(Vec<String>, HeldPolarizations)> {
        let disc = discover(root, &cfg.discover)?;
        let (_, samples, _) = choose::choose_group_samples(root, cfg, &disc)?;
        Ok((disc.classes.clone(), choose::held_polarizations(&samples)))
    }

    /// The arrays of one split.
    pub fn split(&self, s: Split) -> &SplitData {
        match s {
            Split::Train => &self.train,
            Split::Val => &self.val,
            Split::Test => &self.test,
        }
    }

    /// Side of the square images.
    pub fn size(&self) -> usize {
        self.config.preprocess.size
    }

    /// The serializable record of this dataset (saved with a run).
    pub fn record(&self) -> DatasetRecord {
        DatasetRecord {
            root: self.root.clone(),
            config: self.config.clone(),
            classes: self.classes.clone(),
            group: self.group.clone(),
            pol: self.pol,
            split_source: self.split_source,
            counts: Split::ALL
                .iter()
                .map(|&s| (s, self.split(s).class_counts(self.classes.len())))
                .collect(),
            digests: self.digests.clone(),
            norm: self.norm.clone(),
            skipped: self.skipped.len(),
            radiometry: self.radiometry.clone(),
            train_context_margin: self.train.context.as_ref().map_or(0, |_| self.train.margin),
        }
    }
}

/// The split of a list of samples, decided from discovery alone.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitPlan {
    /// Folders or the seeded split.
    pub source: SplitSource,
    /// Split per sample, parallel to the input.
    pub assignments: Vec<Split>,
    /// Digests of the planned members (equal to the loaded dataset's when no sample is
    /// skipped while loading).
    pub digests: SplitDigests,
}

/// Splits `samples`: by their folders when every sample has one, else
/// `stratified_split` with `cfg`.
pub fn plan_split(samples: &[&SampleFiles], cfg: &SplitConfig) -> SplitPlan {
    let members: Vec<(String, String)> = samples
        .iter()
        .map(|s| (s.id.clone(), s.class.clone()))
        .collect();
    let (source, assignments) = if !samples.is_empty() && samples.iter().all(|s| s.split.is_some())
    {
        (
            SplitSource::Folders,
            samples
                .iter()
                .map(|s| s.split.unwrap_or(Split::Train))
                .collect::<Vec<_>>(),
        )
    } else {
        (SplitSource::Seeded, stratified_split(&members, cfg))
    };
    let digest_of = |which: Split| {
        let m: Vec<(String, String)> = members
            .iter()
            .zip(&assignments)
            .filter(|(_, s)| **s == which)
            .map(|(m, _)| m.clone())
            .collect();
        split_digest(&m)
    };
    let digests = SplitDigests::new(
        digest_of(Split::Train),
        digest_of(Split::Val),
        digest_of(Split::Test),
    );
    SplitPlan {
        source,
        assignments,
        digests,
    }
}

/// The split and preprocessing settings must be valid before anything is read.
fn validate_config(root: &Path, cfg: &DatasetConfig) -> Result<()> {
    let config_error = |reason: String, fix: &str| DataError::Config {
        dir: root.to_path_buf(),
        reason,
        fix: fix.to_string(),
    };
    cfg.split
        .validate()
        .map_err(|r| config_error(r, "use fractions such as 0.2"))?;
    cfg.preprocess
        .validate()
        .map_err(|r| config_error(r, "correct the preprocessing configuration"))?;
    Ok(())
}

/// The read samples sorted into train, val and test, before sealing and normalisation.
struct Sorted {
    /// Train, val and test, in [`Split::ALL`] order.
    parts: [SplitData; 3],
    /// Per split: whether every sample so far has a mask.
    has_mask: [bool; 3],
    /// Whether every sample of a split came with a context.
    has_context: [bool; 3],
    /// Samples read per sample type.
    dtypes: BTreeMap<SampleType, usize>,
}

/// Appends each read sample to its planned split (pixels, label, member, file, mask); an
/// unusable sample is skipped with its reason, or is an error with `strict`.
fn sort_into_splits(
    root: &Path,
    cfg: &DatasetConfig,
    classes: &[String],
    samples: &[&SampleFiles],
    splits: &[Split],
    loaded: Vec<std::result::Result<Loaded, String>>,
    skipped: &mut Vec<Skipped>,
) -> Result<Sorted> {
    let mut parts: [SplitData; 3] = Default::default();
    let mut has_mask = [true; 3];
    let mut has_context = [true; 3];
    let mut dtypes = BTreeMap::new();
    for ((sample, split), result) in samples.iter().zip(splits).zip(loaded) {
        let Loaded {
            pixels: image,
            context,
            mask,
            file,
            dtype,
        } = match result {
            Ok(x) => x,
            Err(reason) => {
                let path = sample.files.paths()[0].to_path_buf();
                if cfg.discover.strict {
                    return Err(DataError::StrictSkips {
                        dir: root.to_path_buf(),
                        count: 1,
                        first: format!("{}: {reason}", path.display()),
                    });
                }
                skipped.push(Skipped {
                    path,
                    reason: SkipReason::Unusable { reason },
                });
                continue;
            }
        };
        *dtypes.entry(dtype).or_insert(0usize) += 1;
        let k = Split::ALL.iter().position(|s| s == split).unwrap_or(0);
        let part = &mut parts[k];
        part.images.extend_from_slice(&image);
        let label = classes
            .iter()
            .position(|c| *c == sample.class)
            .unwrap_or(usize::MAX);
        part.labels.push(label as i64);
        part.members.push(sample.id.clone());
        part.files.push(file);
        match mask {
            Some(m) if has_mask[k] => part
                .masks
                .get_or_insert_with(Vec::new)
                .extend_from_slice(&m),
            _ => has_mask[k] = false,
        }
        match context {
            Some(c) if has_context[k] => part
                .context
                .get_or_insert_with(Vec::new)
                .extend_from_slice(&c),
            _ => has_context[k] = false,
        }
    }
    Ok(Sorted {
        parts,
        has_mask,
        has_context,
        dtypes,
    })
}

/// A dataset without a usable training sample is an error naming the first skip.
fn refuse_empty_training(
    root: &Path,
    chosen: &Chosen<'_>,
    train: &SplitData,
    skipped: &[Skipped],
) -> Result<()> {
    if train.is_empty() {
        return Err(DataError::NoSamples {
            dir: root.to_path_buf(),
            detail: format!(
                "no usable training sample in format group {:?} ({} found, {} skipped{})",
                chosen.group,
                chosen.samples.len(),
                skipped.len(),
                skipped
                    .iter()
                    .find(|s| matches!(s.reason, SkipReason::Unusable { .. }))
                    .or(skipped.first())
                    .map(|s| format!("; first: {s}"))
                    .unwrap_or_default()
            ),
        });
    }
    Ok(())
}

/// The context margin each planned sample is read with: `train_margin` for the training
/// split, none for validation and test.
fn context_margins(plan: &SplitPlan, train_margin: usize) -> Vec<usize> {
    let margin = |s: &Split| if *s == Split::Train { train_margin } else { 0 };
    plan.assignments.iter().map(margin).collect()
}

/// Each split gets its image size, keeps its masks and contexts (of `margin` pixels) only
/// when every sample has one, and its [`split_digest`].
fn seal_splits(
    sorted: &mut Sorted,
    size: usize,
    margin: usize,
    classes: &[String],
) -> [SplitData; 3] {
    let mut parts = std::mem::take(&mut sorted.parts);
    for (k, part) in parts.iter_mut().enumerate() {
        part.size = size;
        if !sorted.has_mask[k] {
            part.masks = None;
        }
        if sorted.has_context[k] && part.context.is_some() {
            part.margin = margin;
        } else {
            part.context = None;
        }
        let members: Vec<(String, String)> = part
            .members
            .iter()
            .zip(&part.labels)
            .map(|(m, &l)| (m.clone(), classes[l as usize].clone()))
            .collect();
        part.digest = split_digest(&members);
    }
    parts
}
