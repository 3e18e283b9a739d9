//! A loaded dataset: one polarization of one format group, preprocessed into f32 arrays per
//! split, with labels, optional ground-truth masks, member lists, split digests and the
//! normalisation statistics of the training split.
//!
//! [`Dataset::load`] = [`discover`] -> choose the format group and polarization -> split
//! (folders if given, else [`stratified_split`]) -> decode and preprocess every sample in
//! parallel ([`PreprocessConfig`]) -> statistics on the training split -> normalise.
//! Samples that cannot be used are skipped with a reason (an error with `strict`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::decode::{probe, read_image, FileFormat, Image, SampleType};
use super::discover::{discover, DiscoverOptions, PolFiles, SampleFiles, SkipReason, Skipped};
use super::error::{DataError, Result};
pub use super::naming::Pol;
use super::preprocess::{NormStats, PreprocessConfig, RadiometryRecord};
pub use super::split::Split;
use super::split::{split_digest, stratified_split, SplitConfig, SplitDigests};

/// Everything that decides what [`Dataset::load`] returns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetConfig {
    /// Polarization to load. `None` is allowed when the data holds a single polarization.
    pub pol: Option<Pol>,
    /// Format group to load (e.g. `Patch` or `Patch:tiff`, see [`discover`]); `None` when
    /// the data holds one group.
    pub group: Option<String>,
    pub discover: DiscoverOptions,
    pub split: SplitConfig,
    pub preprocess: PreprocessConfig,
}

/// Where the split came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitSource {
    /// train/val/test folders in the data.
    Folders,
    /// [`stratified_split`] with the configured seed and fractions.
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
    /// [`split_digest`] of the members.
    pub digest: String,
    /// Side of the square images.
    pub size: usize,
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
    pub root: PathBuf,
    pub config: DatasetConfig,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// The format group loaded.
    pub group: String,
    /// The polarization loaded (`None`: single-polarization data without suffixes).
    pub pol: Option<Pol>,
    pub split_source: SplitSource,
    pub train: SplitData,
    pub val: SplitData,
    pub test: SplitData,
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
    pub root: PathBuf,
    pub config: DatasetConfig,
    pub classes: Vec<String>,
    pub group: String,
    pub pol: Option<Pol>,
    pub split_source: SplitSource,
    /// Samples per split and class index.
    pub counts: Vec<(Split, Vec<usize>)>,
    pub digests: SplitDigests,
    pub norm: NormStats,
    pub skipped: usize,
    /// What the loaded files were assumed to hold, per sample type.
    #[serde(default)]
    pub radiometry: Vec<RadiometryRecord>,
}

impl Dataset {
    /// Loads `root` with `cfg` (see the module docs).
    pub fn load(root: &Path, cfg: &DatasetConfig) -> Result<Dataset> {
        Dataset::load_with_progress(root, cfg, &indicatif::ProgressBar::hidden())
    }

    /// [`Dataset::load`] with a progress bar advanced once per sample decoded.
    pub fn load_with_progress(
        root: &Path,
        cfg: &DatasetConfig,
        progress: &indicatif::ProgressBar,
    ) -> Result<Dataset> {
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
        let disc = discover(root, &cfg.discover)?;
        let mut skipped = disc.skipped.clone();
        let content = cfg.group.as_deref().and_then(ContentSelector::parse);
        let group = match &content {
            Some(sel) => choose_group_by_content(root, &disc.samples, sel)?,
            None => choose_group(root, &disc.groups(), cfg.group.as_deref())?,
        };
        let samples: Vec<&SampleFiles> = disc.samples.iter().filter(|s| s.group == group).collect();
        let pol = resolve_pol(root, &samples, cfg.pol)?;
        if pol.is_none() {
            refuse_two_band_without_pol(root, &samples)?;
        }

        // Split membership, decided before any decoding.
        let plan = plan_split(&samples, &cfg.split);
        let (split_source, splits) = (plan.source, plan.assignments);

        // Decode and preprocess in parallel.
        progress.set_length(samples.len() as u64);
        let expect = content.map(|c| (c.dtype, c.bands));
        let loaded = load_all(&samples, pol, &cfg.preprocess, expect, progress);
        progress.finish();
        let size = cfg.preprocess.size;
        let mut parts: [SplitData; 3] = Default::default();
        let mut has_mask = [true; 3];
        let mut dtypes = std::collections::BTreeMap::new();
        for ((sample, split), result) in samples.iter().zip(&splits).zip(loaded) {
            let (image, mask, file, dtype) = match result {
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
            let label = disc
                .classes
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
        }
        let [mut train, mut val, mut test] = parts;
        if train.is_empty() {
            return Err(DataError::NoSamples {
                dir: root.to_path_buf(),
                detail: format!(
                    "no usable training sample in format group {group:?} ({} found, {} skipped{})",
                    samples.len(),
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
        for (k, part) in [&mut train, &mut val, &mut test].into_iter().enumerate() {
            part.size = size;
            if !has_mask[k] {
                part.masks = None;
            }
            let members: Vec<(String, String)> = part
                .members
                .iter()
                .zip(&part.labels)
                .map(|(m, &l)| (m.clone(), disc.classes[l as usize].clone()))
                .collect();
            part.digest = split_digest(&members);
        }
        let norm = NormStats::compute(&train.images);
        if cfg.preprocess.normalize {
            for part in [&mut train, &mut val, &mut test] {
                norm.apply(&mut part.images);
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
            group,
            pol,
            split_source,
            train,
            val,
            test,
            digests,
            norm,
            skipped,
            radiometry: RadiometryRecord::list(
                &cfg.preprocess,
                &dtypes.into_iter().collect::<Vec<_>>(),
            ),
        })
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
        }
    }
}

/// The split of a list of samples, decided from discovery alone.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitPlan {
    pub source: SplitSource,
    /// Split per sample, parallel to the input.
    pub assignments: Vec<Split>,
    /// Digests of the planned members (equal to the loaded dataset's when no sample is
    /// skipped while loading).
    pub digests: SplitDigests,
}

/// Splits `samples`: by their folders when every sample has one, else
/// [`stratified_split`] with `cfg`.
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

/// Picks the format group: the requested one (exact group or its folder part), or the
/// only one present.
pub fn choose_group(root: &Path, groups: &[String], wanted: Option<&str>) -> Result<String> {
    let list = groups.join(", ");
    match wanted {
        None => match groups {
            [] => Err(DataError::NoSamples {
                dir: root.to_path_buf(),
                detail: "no image file with a recognisable class".into(),
            }),
            [one] => Ok(one.clone()),
            _ => Err(DataError::Config {
                dir: root.to_path_buf(),
                reason: format!("the data holds several format groups: {list}"),
                fix: "choose one with --format: a group name (e.g. --format Patch) or what its files hold (e.g. --format tiff:f32)".into(),
            }),
        },
        Some(w) => {
            let hits: Vec<&String> = groups
                .iter()
                .filter(|g| g.as_str() == w || group_folder(g) == w)
                .collect();
            match hits.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(DataError::Config {
                    dir: root.to_path_buf(),
                    reason: format!("no format group {w:?}; found: {list}"),
                    fix: "pass one of the groups listed by `sarxai data inspect`".into(),
                }),
                _ => Err(DataError::Config {
                    dir: root.to_path_buf(),
                    reason: format!("{w:?} matches several format groups: {list}"),
                    fix: "pass the full group name, e.g. Patch:tiff".into(),
                }),
            }
        }
    }
}

/// A format chosen by what the files hold: `<type>:<sample type>[x<bands>]`, e.g. `tiff:f32`
/// (single-band float32 TIFF), `png:u8`, `png:u8x3` (a colour render). One band unless
/// given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentSelector {
    pub format: FileFormat,
    pub dtype: SampleType,
    pub bands: usize,
}

impl ContentSelector {
    /// Parses `tiff:f32`, `png:u8x3`, ...; `None` for anything else (a group name).
    pub fn parse(s: &str) -> Option<ContentSelector> {
        let (fmt, rest) = s.split_once(':')?;
        let format = FileFormat::from_path(Path::new(&format!("x.{}", fmt.trim())))?;
        let rest = rest.trim().to_ascii_lowercase();
        let (dt, bands) = match rest.split_once('x') {
            Some((d, b)) => (d.to_string(), b.parse().ok()?),
            None => (rest.clone(), 1),
        };
        let dtype = [
            SampleType::U8,
            SampleType::U16,
            SampleType::U32,
            SampleType::U64,
            SampleType::I8,
            SampleType::I16,
            SampleType::I32,
            SampleType::I64,
            SampleType::F16,
            SampleType::F32,
            SampleType::F64,
        ]
        .into_iter()
        .find(|t| t.name() == dt)?;
        Some(ContentSelector {
            format,
            dtype,
            bands,
        })
    }

    /// `tiff:f32x1`.
    pub fn name(&self) -> String {
        format!(
            "{}:{}x{}",
            self.format.name(),
            self.dtype.name(),
            self.bands
        )
    }
}

/// What the first file of each format group holds (`tiff:f32x1`, from its header), or
/// the header error.
pub fn group_contents(
    samples: &[SampleFiles],
) -> Vec<(String, std::result::Result<String, String>)> {
    let mut out: std::collections::BTreeMap<String, std::result::Result<String, String>> =
        Default::default();
    for s in samples {
        out.entry(s.group.clone()).or_insert_with(|| {
            probe(s.files.paths()[0])
                .map(|i| format!("{}:{}x{}", i.format.name(), i.dtype.name(), i.bands))
                .map_err(|e| e.to_string())
        });
    }
    out.into_iter().collect()
}

/// The one format group whose files hold `sel` (judged by each group's first file; every
/// file is checked when decoded).
pub fn choose_group_by_content(
    root: &Path,
    samples: &[SampleFiles],
    sel: &ContentSelector,
) -> Result<String> {
    let contents = group_contents(samples);
    let list = contents
        .iter()
        .map(|(g, c)| format!("{g} ({})", c.as_deref().unwrap_or("unreadable header")))
        .collect::<Vec<_>>()
        .join(", ");
    let want = sel.name();
    let hits: Vec<&String> = contents
        .iter()
        .filter(|(_, c)| c.as_deref() == Ok(want.as_str()))
        .map(|(g, _)| g)
        .collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(DataError::Config {
            dir: root.to_path_buf(),
            reason: format!("no format group holds {want}; found: {list}"),
            fix: "choose one of them with --format (a group name, or its content such as tiff:f32)"
                .into(),
        }),
        _ => Err(DataError::Config {
            dir: root.to_path_buf(),
            reason: format!("several format groups hold {want}: {list}"),
            fix: "choose one by its group name with --format".into(),
        }),
    }
}

/// The folder part of a format group: `Patch_Uint8/Visual_:tiff` -> `Patch_Uint8`.
fn group_folder(group: &str) -> &str {
    let g = group.rsplit_once(':').map_or(group, |(a, _)| a);
    g.strip_suffix("/Visual_").unwrap_or(g)
}

/// Checks the requested polarization against what the files offer.
fn resolve_pol(root: &Path, samples: &[&SampleFiles], wanted: Option<Pol>) -> Result<Option<Pol>> {
    let paired = samples
        .iter()
        .any(|s| matches!(s.files, PolFiles::Pair { .. }));
    let single: Option<Pol> = samples.iter().find_map(|s| match s.files {
        PolFiles::One { pol, .. } => Some(pol),
        _ => None,
    });
    match (wanted, paired, single) {
        (None, true, _) => Err(DataError::Config {
            dir: root.to_path_buf(),
            reason: "the data holds both VH and VV".into(),
            fix: "choose one with --pol vh or --pol vv".into(),
        }),
        (None, false, Some(p)) => Ok(Some(p)),
        (Some(w), false, Some(p)) if w != p => Err(DataError::Config {
            dir: root.to_path_buf(),
            reason: format!("only {p} files are present, {w} was requested"),
            fix: format!("use --pol {p}"),
        }),
        (w, _, _) => Ok(w),
    }
}

/// Two-band `[VH, VV]` files need a polarization: checked on the first unsuffixed file's
/// header, so the error comes before any decoding.
fn refuse_two_band_without_pol(root: &Path, samples: &[&SampleFiles]) -> Result<()> {
    let first = samples.iter().find_map(|s| match &s.files {
        PolFiles::Unsuffixed { path } => Some(path),
        _ => None,
    });
    if let Some(path) = first {
        if let Ok(info) = probe(path) {
            if info.bands == 2 {
                return Err(DataError::Config {
                    dir: root.to_path_buf(),
                    reason: format!(
                        "{} holds two bands [VH, VV] and no polarization was chosen",
                        path.display()
                    ),
                    fix: "choose one with --pol vh or --pol vv".into(),
                });
            }
        }
    }
    Ok(())
}

/// Pixels, mask, file read and its sample type.
type Loaded = (Vec<f32>, Option<Vec<u8>>, PathBuf, SampleType);

/// Decodes and preprocesses every sample on all cores; results keep the input order.
fn load_all(
    samples: &[&SampleFiles],
    pol: Option<Pol>,
    pre: &PreprocessConfig,
    expect: Option<(SampleType, usize)>,
    progress: &indicatif::ProgressBar,
) -> Vec<std::result::Result<Loaded, String>> {
    let n = samples.len();
    let results: Mutex<Vec<Option<std::result::Result<Loaded, String>>>> =
        Mutex::new((0..n).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(16);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = load_one(samples[i], pol, pre, expect);
                if let Ok(mut v) = results.lock() {
                    v[i] = Some(r);
                }
                progress.inc(1);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not loaded".to_string())))
        .collect()
}

/// One sample: the band of `pol`, preprocessed, and its mask.
fn load_one(
    s: &SampleFiles,
    pol: Option<Pol>,
    pre: &PreprocessConfig,
    expect: Option<(SampleType, usize)>,
) -> std::result::Result<Loaded, String> {
    let (path, band_of) = match (&s.files, pol) {
        (PolFiles::Pair { vh, .. }, Some(Pol::Vh)) => (vh, None),
        (PolFiles::Pair { vv, .. }, Some(Pol::Vv)) => (vv, None),
        (PolFiles::Pair { .. }, None) => {
            return Err("both polarizations present, none chosen".into())
        }
        (PolFiles::One { path, .. }, _) => (path, None),
        (PolFiles::Unsuffixed { path }, p) => (path, p),
    };
    let img = read_image(path).map_err(|e| e.to_string())?;
    if let Some((dtype, bands)) = expect {
        if (img.dtype, img.bands.len()) != (dtype, bands) {
            return Err(format!(
                "holds {} x{} band(s), the chosen format holds {} x{}",
                img.dtype.name(),
                img.bands.len(),
                dtype.name(),
                bands
            ));
        }
    }
    let band = pick_band(&img, band_of)?;
    let pixels = pre
        .for_sample_type(img.dtype)
        .apply(band, img.width, img.height)?;
    let mask = match &s.mask {
        None => None,
        Some(mp) => {
            let m = read_image(mp).map_err(|e| e.to_string())?;
            if (m.width, m.height) != (img.width, img.height) {
                return Err(format!(
                    "mask {} is {}x{} but the image is {}x{}",
                    mp.display(),
                    m.width,
                    m.height,
                    img.width,
                    img.height
                ));
            }
            Some(pre.apply_mask(&m.bands[0], m.width, m.height)?)
        }
    };
    Ok((pixels, mask, path.clone(), img.dtype))
}

/// The band to use: files with a polarization suffix must have one band; unsuffixed files
/// have one band (single polarization, `pol` must be `None`) or two ([VH, VV]).
fn pick_band(img: &Image, pol: Option<Pol>) -> std::result::Result<&[f32], String> {
    match (img.bands.len(), pol) {
        (1, None) => Ok(&img.bands[0]),
        (1, Some(p)) => Err(format!(
            "one band and no _vh/_vv suffix: cannot tell whether it is {p}; drop --pol for single-polarization data"
        )),
        (2, Some(p)) => Ok(&img.bands[p.band_index()]),
        (2, None) => Err("two bands [VH, VV]: choose one with --pol vh or --pol vv".into()),
        (n, _) => Err(format!(
            "{n} bands ({}); sarxai reads 1 band per polarization or 2 bands [VH, VV] (pseudo-colour renders are not SAR data)",
            img.dtype.name()
        )),
    }
}
