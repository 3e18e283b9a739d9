//! Recursive discovery of a dataset's files from their names and folders alone (no pixel
//! is decoded; only directory entries and file sizes are read).
//!
//! Recognised layouts, in this order of precedence for the class:
//!
//! 1. a class in the file name, `<class>_x<X>_y<Y>[_...]` (OpenSARUrban
//!    `<class>_x<X>_y<Y>_Polygon<N>_<vv|vh>.<ext>`, OpenSARShip `<Class>_x<X>_y<Y>.tif` and
//!    `Visual_<Class>_x<X>_y<Y>_<vh|vv>.tif`), case-insensitive, OpenSARUrban aliases
//!    (highbuilding/highbuildings, denselow, ...) mapped to one canonical name;
//! 2. otherwise the parent folder: `DIR/<class>/*` or `DIR/<split>/<class>/*`.
//!
//! A folder named train/training, val/valid/validation or test/testing (any case) above a
//! file gives its split. Polarization comes from a `_vh` / `_vv` suffix, else from a folder
//! named `vh` or `vv` (any case) above the file (`VH/<class>/x.tif` pairs with
//! `VV/<class>/x.tif`); files with neither are single-polarization or multi-band
//! (`[VH, VV]`, known only after decoding). Files
//! named `<stem>_mask.<ext>` are ground-truth masks of the sample `<stem>` in the same
//! folder, never samples.
//!
//! Samples are grouped by *format group*: the nearest folder above the file that is not a
//! split, class, polarization or *partition* folder (OpenSARShip: `Patch`, `Patch_Cal`,
//! `Patch_Uint8`), plus the file type and a `Visual_` marker, so the same chip in several
//! formats is never mixed up. A partition folder only splits the data into parts: a name
//! `<stem><number>` with at least one sibling `<stem><other number>` (OpenSARUrban's
//! `OpenSARUrban1` ... `OpenSARUrban18`); the parts merge into one group. What the files of
//! a group hold (sample type, bands) is checked when they are decoded
//! ([`super::dataset`]), and a group can be chosen by content (`tiff:f32`).
//! Within a group that holds both polarizations, a file without its partner is *unpaired*
//! and skipped with that reason.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::decode::FileFormat;
use super::error::{DataError, Result};
use super::manifest::relative_path;
use super::naming::{class_key, opensarurban_canonical, parse_stem, Pol, OPENSARURBAN_CLASSES};
use super::split::Split;

/// Which class names are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassVocabulary {
    /// Any class name. If every name found is an OpenSARUrban alias, the classes take the
    /// OpenSARUrban canonical order; otherwise they are sorted by name.
    #[default]
    Any,
    /// Exactly the ten OpenSARUrban classes (aliases accepted), labels in their canonical
    /// order; other names are skipped as unknown.
    OpenSarUrban,
    /// Exactly these classes (matched by [`class_key`]), labels in this order.
    Only(Vec<String>),
}

/// Options of [`discover`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoverOptions {
    /// Treat every skipped file as an error.
    pub strict: bool,
    /// Accepted class names.
    pub classes: ClassVocabulary,
}

/// The image files of one sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolFiles {
    /// `_vh` and `_vv` partners.
    Pair { vh: PathBuf, vv: PathBuf },
    /// A file with a polarization suffix, in a format group holding only that polarization.
    One { pol: Pol, path: PathBuf },
    /// A file without a polarization suffix: one band (single polarization) or two bands
    /// `[VH, VV]`.
    Unsuffixed { path: PathBuf },
}

impl PolFiles {
    /// Every image file of the sample.
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            PolFiles::Pair { vh, vv } => vec![vh, vv],
            PolFiles::One { path, .. } | PolFiles::Unsuffixed { path } => vec![path],
        }
    }
}

/// One discovered sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleFiles {
    /// Member id: relative folder and file stem without polarization suffix or extension,
    /// `/`-separated (e.g. `scene/Patch/Cargo_x1446_y3299`). The same for VH and VV.
    pub id: String,
    /// Canonical class name.
    pub class: String,
    /// Split from a train/val/test folder, if any.
    pub split: Option<Split>,
    /// Format group (see the module docs), e.g. `Patch:tiff` or `Patch_Uint8/Visual_:tiff`.
    pub group: String,
    /// File type.
    pub format: FileFormat,
    /// Image files.
    pub files: PolFiles,
    /// Ground-truth mask `<stem>_mask.<ext>` in the same folder, if present.
    pub mask: Option<PathBuf>,
}

/// Why a file was not used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SkipReason {
    /// Zero bytes.
    EmptyFile,
    /// Neither a `<class>_x<X>_y<Y>` name nor a class folder.
    NoClass,
    /// A class outside the accepted vocabulary.
    UnknownClass { class: String },
    /// A `_vh` / `_vv` file whose partner is absent.
    Unpaired { missing: Pol },
    /// Another file already provides this sample and polarization.
    Duplicate { of: PathBuf },
    /// A `_mask` file with no sample of the same stem in its folder.
    OrphanMask,
    /// A class folder without any image file.
    EmptyClassFolder,
    /// Some samples are in split folders and this one is not (or the reverse).
    MixedSplitLayout,
    /// The file could not be decoded or used (found when loading pixels).
    Unusable { reason: String },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::EmptyFile => write!(f, "zero-size file"),
            SkipReason::NoClass => write!(
                f,
                "no class: the name is not `<class>_x<X>_y<Y>...` and the file is not in a `<class>/` folder"
            ),
            SkipReason::UnknownClass { class } => write!(f, "unknown class {class:?}"),
            SkipReason::Unpaired { missing } => write!(f, "unpaired: no _{missing} partner"),
            SkipReason::Duplicate { of } => write!(f, "duplicate of {}", of.display()),
            SkipReason::OrphanMask => write!(f, "mask without a patch of the same name"),
            SkipReason::EmptyClassFolder => write!(f, "empty class folder"),
            SkipReason::MixedSplitLayout => write!(
                f,
                "outside the train/test folders that hold the other samples"
            ),
            SkipReason::Unusable { reason } => write!(f, "unusable: {reason}"),
        }
    }
}

/// A file (or folder) that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// What [`discover`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// The directory searched.
    pub root: PathBuf,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// Samples sorted by (group, id).
    pub samples: Vec<SampleFiles>,
    /// Image-like files that were not used.
    pub skipped: Vec<Skipped>,
    /// Files that are not images (manifests, notes, hidden files): listed, never errors.
    pub ignored: Vec<PathBuf>,
    /// Partition folders (relative paths) merged into their format groups.
    #[serde(default)]
    pub partitions: Vec<String>,
}

/// Counts of one (group, class, split) cell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Samples.
    pub samples: usize,
    /// VH/VV pairs.
    pub pairs: usize,
    /// Single files with a polarization suffix, by polarization.
    pub vh_only: usize,
    pub vv_only: usize,
    /// Files without a polarization suffix.
    pub unsuffixed: usize,
    /// Samples with a ground-truth mask.
    pub masks: usize,
}

impl Discovery {
    /// The format groups present, sorted.
    pub fn groups(&self) -> Vec<String> {
        self.samples
            .iter()
            .map(|s| s.group.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Counts per (group, class, split or `None`).
    pub fn counts(&self) -> BTreeMap<(String, String, Option<Split>), Counts> {
        let mut out: BTreeMap<_, Counts> = BTreeMap::new();
        for s in &self.samples {
            let c = out
                .entry((s.group.clone(), s.class.clone(), s.split))
                .or_default();
            c.samples += 1;
            match &s.files {
                PolFiles::Pair { .. } => c.pairs += 1,
                PolFiles::One { pol: Pol::Vh, .. } => c.vh_only += 1,
                PolFiles::One { pol: Pol::Vv, .. } => c.vv_only += 1,
                PolFiles::Unsuffixed { .. } => c.unsuffixed += 1,
            }
            if s.mask.is_some() {
                c.masks += 1;
            }
        }
        out
    }
}

/// Extensions of image files (lower case).
fn is_image_name(name: &str) -> bool {
    FileFormat::from_path(Path::new(name)).is_some()
}

/// One image file before grouping.
struct Found {
    rel_dir: String,
    path: PathBuf,
    base: String,
    pol: Option<Pol>,
    class_raw: String,
    class_from_folder: bool,
    split: Option<Split>,
    /// Folders above the file (polarization folders left out) with their relative paths,
    /// for the format group.
    dirs: Vec<(String, String)>,
    visual: bool,
    format: FileFormat,
}

/// `<stem><number>` -> `(stem, number)`, for names ending in ASCII digits after a non-empty
/// stem.
fn numbered(name: &str) -> Option<(&str, &str)> {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    (!stem.is_empty() && stem.len() < name.len()).then(|| (stem, &name[stem.len()..]))
}

/// Partition folders (see the module docs), as relative paths: folders `<stem><number>`
/// whose parent holds another `<stem><other number>`.
fn partition_folders(dirs: &BTreeSet<String>) -> BTreeSet<String> {
    let mut by_stem: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for d in dirs {
        let (parent, name) = d.rsplit_once('/').unwrap_or(("", d.as_str()));
        if let Some((stem, _)) = numbered(name) {
            by_stem
                .entry((parent.to_string(), stem.to_string()))
                .or_default()
                .insert(d.clone());
        }
    }
    by_stem
        .into_values()
        .filter(|v| v.len() >= 2)
        .flatten()
        .collect()
}

/// Discovers the samples under `root` (see the module docs), in stages: [`walk`] the tree
/// (each file read by its name alone), [`format_groups`], the class [`Vocabulary`],
/// [`group_files`] into samples, [`pair_polarizations`] and attach masks, then the checks
/// that skip orphan masks, empty class folders and samples outside the split layout.
pub fn discover(root: &Path, opts: &DiscoverOptions) -> Result<Discovery> {
    if !root.is_dir() {
        return Err(DataError::Config {
            dir: root.to_path_buf(),
            reason: "not a directory (or it does not exist)".into(),
            fix: "pass the folder that holds the dataset's patches".into(),
        });
    }
    let Walk {
        found,
        masks,
        mut skipped,
        ignored,
        leaf_dirs_without_images,
        dirs_with_images,
        all_rel_dirs,
    } = walk(root)?;
    let partitions = partition_folders(&all_rel_dirs);
    let groups = format_groups(&found, &partitions);
    let vocabulary = Vocabulary::new(&found, &opts.classes);
    let (partial, class_folder_dirs) = group_files(found, groups, &vocabulary, &mut skipped);
    let (mut samples, used_masks) = pair_polarizations(partial, &masks, &mut skipped);
    for (key, path) in &masks {
        if !used_masks.contains(key) {
            skipped.push(Skipped {
                path: path.clone(),
                reason: SkipReason::OrphanMask,
            });
        }
    }
    skip_empty_class_folders(
        &class_folder_dirs,
        leaf_dirs_without_images,
        &dirs_with_images,
        &mut skipped,
    );
    skip_mixed_split_layout(&mut samples, &mut skipped);
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let discovery = Discovery {
        root: root.to_path_buf(),
        classes: vocabulary.classes,
        samples,
        skipped,
        ignored,
        partitions: partitions.into_iter().collect(),
    };
    if opts.strict {
        if let Some(first) = discovery.skipped.first() {
            return Err(DataError::StrictSkips {
                dir: root.to_path_buf(),
                count: discovery.skipped.len(),
                first: first.to_string(),
            });
        }
    }
    Ok(discovery)
}

/// What [`walk`] collected from the directory tree.
struct Walk {
    /// Image files with a class, in walk order (sorted by file name).
    found: Vec<Found>,
    /// Masks by (relative folder without polarization folders, sample stem).
    masks: BTreeMap<(String, String), PathBuf>,
    skipped: Vec<Skipped>,
    ignored: Vec<PathBuf>,
    leaf_dirs_without_images: Vec<PathBuf>,
    dirs_with_images: BTreeSet<PathBuf>,
    /// Every folder below the root, relative, for the partition folders.
    all_rel_dirs: BTreeSet<String>,
}

/// How one image file was read by its name and folders.
enum Entry {
    /// A ground-truth mask: (relative folder, sample stem).
    Mask((String, String)),
    /// A sample's image file.
    Image(Found),
    /// Not usable, and why.
    Skip(SkipReason),
}

/// Walk: every entry under `root` (symbolic links followed, sorted by file name); folders
/// are recorded, non-image files ignored, zero-size files skipped, and image files read by
/// [`read_entry`].
fn walk(root: &Path) -> Result<Walk> {
    let mut w = Walk {
        found: Vec::new(),
        masks: BTreeMap::new(),
        skipped: Vec::new(),
        ignored: Vec::new(),
        leaf_dirs_without_images: Vec::new(),
        dirs_with_images: BTreeSet::new(),
        all_rel_dirs: BTreeSet::new(),
    };
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| root.to_path_buf());
            DataError::io(path, e.into())
        })?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_dir() {
            if entry.depth() > 0 {
                w.all_rel_dirs.insert(relative_path(root, path)?);
            }
            if entry.depth() > 0 && dir_is_empty(path) {
                w.leaf_dirs_without_images.push(path.to_path_buf());
            }
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        if name.starts_with('.') || !is_image_name(&name) {
            w.ignored.push(path.to_path_buf());
            continue;
        }
        let size = entry
            .metadata()
            .map(|m| m.len())
            .map_err(|e| DataError::io(path, std::io::Error::other(e.to_string())))?;
        if size == 0 {
            w.skipped.push(Skipped {
                path: path.to_path_buf(),
                reason: SkipReason::EmptyFile,
            });
            continue;
        }
        match read_entry(root, path, &mut w.dirs_with_images)? {
            Entry::Mask(key) => {
                w.masks.insert(key, path.to_path_buf());
            }
            Entry::Image(f) => w.found.push(f),
            Entry::Skip(reason) => w.skipped.push(Skipped {
                path: path.to_path_buf(),
                reason,
            }),
        }
    }
    Ok(w)
}

/// One image file read by its name ([`parse_stem`]: class, polarization suffix, mask,
/// `Visual_`) and its folders (split, class folder, polarization folder); its parent is
/// added to `dirs_with_images`.
fn read_entry(root: &Path, path: &Path, dirs_with_images: &mut BTreeSet<PathBuf>) -> Result<Entry> {
    let rel = relative_path(root, path)?;
    let (rel_dir, file_name) = match rel.rsplit_once('/') {
        Some((d, f)) => (d.to_string(), f.to_string()),
        None => (String::new(), rel.clone()),
    };
    let stem = match file_name.rsplit_once('.') {
        Some((s, _)) => s.to_string(),
        None => file_name.clone(),
    };
    let parsed = parse_stem(&stem);
    if let Some(parent) = path.parent() {
        dirs_with_images.insert(parent.to_path_buf());
    }
    // Polarization folders (`vh/`, `vv/`) give the polarization of unsuffixed files and
    // are left out of the sample's folder, so that `VH/x.tif` and `VV/x.tif` pair up.
    let all_dirs: Vec<&str> = if rel_dir.is_empty() {
        Vec::new()
    } else {
        rel_dir.split('/').collect()
    };
    let pol_from_folder = all_dirs.iter().rev().find_map(|d| d.parse::<Pol>().ok());
    let dirs: Vec<&str> = all_dirs
        .iter()
        .copied()
        .filter(|d| d.parse::<Pol>().is_err())
        .collect();
    let rel_dir = dirs.join("/");
    if parsed.is_mask {
        return Ok(Entry::Mask((rel_dir, parsed.base)));
    }
    let split = dirs.iter().rev().find_map(|d| Split::from_folder(d));
    let parent = dirs.last().copied();
    let (class_raw, class_from_folder) = match (&parsed.class_in_name, parent) {
        (Some(c), _) => (c.trim().to_string(), false),
        (None, Some(p)) if Split::from_folder(p).is_none() => (p.to_string(), true),
        _ => return Ok(Entry::Skip(SkipReason::NoClass)),
    };
    let format = FileFormat::from_path(path).expect("checked by is_image_name");
    let group_dirs: Vec<(String, String)> = all_dirs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.parse::<Pol>().is_err())
        .map(|(i, d)| (d.to_string(), all_dirs[..=i].join("/")))
        .collect();
    Ok(Entry::Image(Found {
        rel_dir,
        path: path.to_path_buf(),
        base: parsed.base,
        pol: parsed.pol.or(pol_from_folder),
        class_raw,
        class_from_folder,
        split,
        dirs: group_dirs,
        visual: parsed.visual,
        format,
    }))
}

/// Format groups, one per found file: the nearest folder that is not a split, class,
/// polarization or partition folder, then `/Visual_` for visual files, then `:<format>`.
fn format_groups(found: &[Found], partitions: &BTreeSet<String>) -> Vec<String> {
    let group_of = |f: &Found| -> String {
        let ckey = class_key(&f.class_raw);
        let mut collection = "";
        for (i, (d, rel)) in f.dirs.iter().enumerate().rev() {
            let is_parent = i + 1 == f.dirs.len();
            if Split::from_folder(d).is_some()
                || (is_parent && (f.class_from_folder || class_key(d) == ckey))
                || partitions.contains(rel)
            {
                continue;
            }
            collection = d;
            break;
        }
        format!(
            "{collection}{}:{}",
            if f.visual { "/Visual_" } else { "" },
            f.format.name()
        )
    };
    found.iter().map(group_of).collect()
}

/// The classes: label order and which names are accepted (see [`ClassVocabulary`]), with
/// OpenSARUrban aliases mapped to their canonical names.
struct Vocabulary {
    /// Class names in label order.
    classes: Vec<String>,
    /// Accepted [`class_key`]s; `None`: any name found.
    accepted: Option<BTreeSet<String>>,
    /// Canonical spelling by class key, of the names found.
    canonical: BTreeMap<String, String>,
}

impl Vocabulary {
    fn new(found: &[Found], vocabulary: &ClassVocabulary) -> Self {
        let mut spellings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in found {
            let name = opensarurban_canonical(&f.class_raw)
                .map(str::to_string)
                .unwrap_or_else(|| f.class_raw.clone());
            spellings.entry(class_key(&name)).or_default().insert(name);
        }
        let canonical: BTreeMap<String, String> = spellings
            .iter()
            .map(|(k, names)| (k.clone(), names.iter().next().cloned().unwrap_or_default()))
            .collect();
        let (classes, accepted): (Vec<String>, Option<BTreeSet<String>>) = match vocabulary {
            ClassVocabulary::Any => {
                let all_urban = !canonical.is_empty()
                    && canonical
                        .values()
                        .all(|c| opensarurban_canonical(c).is_some());
                let mut cs: Vec<String> = canonical.values().cloned().collect();
                if all_urban {
                    cs.sort_by_key(|c| OPENSARURBAN_CLASSES.iter().position(|u| u == c));
                }
                (cs, None)
            }
            ClassVocabulary::OpenSarUrban => {
                let cs: Vec<String> = OPENSARURBAN_CLASSES.iter().map(|c| c.to_string()).collect();
                let keys = cs.iter().map(|c| class_key(c)).collect();
                (cs, Some(keys))
            }
            ClassVocabulary::Only(list) => {
                let cs: Vec<String> = list
                    .iter()
                    .map(|c| {
                        opensarurban_canonical(c)
                            .map(str::to_string)
                            .unwrap_or_else(|| c.clone())
                    })
                    .collect();
                let keys = cs.iter().map(|c| class_key(c)).collect();
                (cs, Some(keys))
            }
        };
        Vocabulary {
            classes,
            accepted,
            canonical,
        }
    }

    /// The canonical class of a raw name, `None` when outside the vocabulary.
    fn class_of(&self, raw: &str) -> Option<String> {
        let name = opensarurban_canonical(raw)
            .map(str::to_string)
            .unwrap_or_else(|| raw.to_string());
        let key = class_key(&name);
        match &self.accepted {
            None => self.canonical.get(&key).cloned(),
            Some(keys) if keys.contains(&key) => {
                self.classes.iter().find(|c| class_key(c) == key).cloned()
            }
            Some(_) => None,
        }
    }
}

/// A sample's files as they are gathered, before pairing.
struct Partial {
    class: String,
    split: Option<Split>,
    format: FileFormat,
    vh: Option<PathBuf>,
    vv: Option<PathBuf>,
    unsuffixed: Option<PathBuf>,
    rel_dir: String,
    base: String,
}

/// Group files into samples keyed by (format group, id), the id being the relative folder
/// and the stem; files of unknown classes and second files for one polarization are
/// skipped. Also returns the class folders that hold samples.
fn group_files(
    found: Vec<Found>,
    groups: Vec<String>,
    vocabulary: &Vocabulary,
    skipped: &mut Vec<Skipped>,
) -> (BTreeMap<(String, String), Partial>, BTreeSet<PathBuf>) {
    let mut partial: BTreeMap<(String, String), Partial> = BTreeMap::new();
    let mut class_folder_dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for (f, group) in found.into_iter().zip(groups) {
        let Some(class) = vocabulary.class_of(&f.class_raw) else {
            skipped.push(Skipped {
                path: f.path,
                reason: SkipReason::UnknownClass { class: f.class_raw },
            });
            continue;
        };
        if f.class_from_folder {
            if let Some(p) = f.path.parent() {
                class_folder_dirs.insert(p.to_path_buf());
            }
        }
        let id = if f.rel_dir.is_empty() {
            f.base.clone()
        } else {
            format!("{}/{}", f.rel_dir, f.base)
        };
        let p = partial.entry((group, id)).or_insert_with(|| Partial {
            class,
            split: f.split,
            format: f.format,
            vh: None,
            vv: None,
            unsuffixed: None,
            rel_dir: f.rel_dir.clone(),
            base: f.base.clone(),
        });
        let slot = match f.pol {
            Some(Pol::Vh) => &mut p.vh,
            Some(Pol::Vv) => &mut p.vv,
            None => &mut p.unsuffixed,
        };
        match slot {
            Some(first) => skipped.push(Skipped {
                path: f.path,
                reason: SkipReason::Duplicate { of: first.clone() },
            }),
            None => *slot = Some(f.path),
        }
    }
    (partial, class_folder_dirs)
}

/// Pair polarizations: a VH/VV pair, a lone polarization in a group that holds only that
/// one, or an unsuffixed file (suffixed files beside it are duplicates); a lone file in a
/// group with both is unpaired. Each sample gets its mask; the used mask keys are returned.
fn pair_polarizations(
    partial: BTreeMap<(String, String), Partial>,
    masks: &BTreeMap<(String, String), PathBuf>,
    skipped: &mut Vec<Skipped>,
) -> (Vec<SampleFiles>, BTreeSet<(String, String)>) {
    let mut group_pols: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for ((group, _), p) in &partial {
        let e = group_pols.entry(group.clone()).or_default();
        e.0 |= p.vh.is_some();
        e.1 |= p.vv.is_some();
    }
    let mut samples = Vec::new();
    let mut used_masks = BTreeSet::new();
    for ((group, id), p) in partial {
        let (has_vh, has_vv) = group_pols[&group];
        let mut files = None;
        if let Some(u) = p.unsuffixed {
            if p.vh.is_some() || p.vv.is_some() {
                for dup in [&p.vh, &p.vv].into_iter().flatten() {
                    skipped.push(Skipped {
                        path: dup.clone(),
                        reason: SkipReason::Duplicate { of: u.clone() },
                    });
                }
            }
            files = Some(PolFiles::Unsuffixed { path: u });
        } else {
            match (p.vh, p.vv) {
                (Some(vh), Some(vv)) => files = Some(PolFiles::Pair { vh, vv }),
                (Some(path), None) if !has_vv => files = Some(PolFiles::One { pol: Pol::Vh, path }),
                (None, Some(path)) if !has_vh => files = Some(PolFiles::One { pol: Pol::Vv, path }),
                (Some(path), None) => skipped.push(Skipped {
                    path,
                    reason: SkipReason::Unpaired { missing: Pol::Vv },
                }),
                (None, Some(path)) => skipped.push(Skipped {
                    path,
                    reason: SkipReason::Unpaired { missing: Pol::Vh },
                }),
                (None, None) => {}
            }
        }
        let Some(files) = files else { continue };
        let mask_key = (p.rel_dir.clone(), p.base.clone());
        let mask = masks.get(&mask_key).cloned();
        if mask.is_some() {
            used_masks.insert(mask_key);
        }
        samples.push(SampleFiles {
            id,
            class: p.class,
            split: p.split,
            group,
            format: p.format,
            files,
            mask,
        });
    }
    (samples, used_masks)
}

/// Empty class folders: empty leaf folders next to class folders that hold samples.
fn skip_empty_class_folders(
    class_folder_dirs: &BTreeSet<PathBuf>,
    leaf_dirs_without_images: Vec<PathBuf>,
    dirs_with_images: &BTreeSet<PathBuf>,
    skipped: &mut Vec<Skipped>,
) {
    let class_parents: BTreeSet<PathBuf> = class_folder_dirs
        .iter()
        .filter_map(|d| d.parent().map(Path::to_path_buf))
        .collect();
    for d in leaf_dirs_without_images {
        if !dirs_with_images.contains(&d) && d.parent().is_some_and(|p| class_parents.contains(p)) {
            skipped.push(Skipped {
                path: d,
                reason: SkipReason::EmptyClassFolder,
            });
        }
    }
}

/// Split folders: all samples of a group in them, or none; in a group that mixes both,
/// the samples outside split folders are skipped.
fn skip_mixed_split_layout(samples: &mut Vec<SampleFiles>, skipped: &mut Vec<Skipped>) {
    let mut by_group: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for s in samples.iter() {
        let e = by_group.entry(s.group.as_str()).or_default();
        if s.split.is_some() {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    let mixed: BTreeSet<String> = by_group
        .iter()
        .filter(|(_, (a, b))| *a > 0 && *b > 0)
        .map(|(g, _)| g.to_string())
        .collect();
    if !mixed.is_empty() {
        samples.retain(|s| {
            if mixed.contains(&s.group) && s.split.is_none() {
                for p in s.files.paths() {
                    skipped.push(Skipped {
                        path: p.to_path_buf(),
                        reason: SkipReason::MixedSplitLayout,
                    });
                }
                false
            } else {
                true
            }
        });
    }
}

fn dir_is_empty(path: &Path) -> bool {
    std::fs::read_dir(path)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, rel: &str, bytes: &[u8]) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    #[test]
    fn opensarurban_names_pair_and_alias_classes() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        touch(r, "highbuilding_x1_y2_Polygon3_vh.tif", b"x");
        touch(r, "highbuilding_x1_y2_Polygon3_vv.tif", b"x");
        touch(r, "HighBuildings_x5_y2_Polygon3_VH.tif", b"x");
        touch(r, "HighBuildings_x5_y2_Polygon3_VV.tif", b"x");
        touch(r, "vegetation_x1_y1_Polygon1_vh.tif", b"x");
        touch(r, "Vegetation_x2_y1_Polygon1_vv.tif", b"x");
        touch(r, "Vegetation_x2_y1_Polygon1_vh.tif", b"x");
        touch(r, "denselow_x0_y0_Polygon9_vv.tif", b"x");
        touch(r, "denselow_x0_y0_Polygon9_vh.tif", b"x");
        touch(r, "notes.txt", b"x");
        let disc = discover(r, &DiscoverOptions::default()).unwrap();
        assert_eq!(
            disc.classes,
            ["DenseLowRise", "HighBuildings", "Vegetation"]
        );
        assert_eq!(disc.samples.len(), 4);
        assert!(disc
            .samples
            .iter()
            .all(|s| matches!(s.files, PolFiles::Pair { .. })));
        assert_eq!(disc.skipped.len(), 1);
        assert_eq!(
            disc.skipped[0].reason,
            SkipReason::Unpaired { missing: Pol::Vv }
        );
        assert_eq!(disc.ignored.len(), 1);
        let strict = DiscoverOptions {
            strict: true,
            ..Default::default()
        };
        assert!(matches!(
            discover(r, &strict),
            Err(DataError::StrictSkips { count: 1, .. })
        ));
    }

    #[test]
    fn class_folders_with_split_folders_and_empty_classes() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        touch(r, "Train/cat/a.png", b"x");
        touch(r, "Train/cat/b.png", b"x");
        touch(r, "Train/dog/c.png", b"x");
        touch(r, "TEST/cat/d.png", b"x");
        touch(r, "TEST/dog/e.png", b"");
        std::fs::create_dir_all(r.join("TEST/bird")).unwrap();
        touch(r, "loose.png", b"x");
        let disc = discover(r, &DiscoverOptions::default()).unwrap();
        assert_eq!(disc.classes, ["cat", "dog"]);
        let counts = disc.counts();
        assert_eq!(
            counts[&(":png".to_string(), "cat".to_string(), Some(Split::Train))].samples,
            2
        );
        assert_eq!(
            counts[&(":png".to_string(), "cat".to_string(), Some(Split::Test))].unsuffixed,
            1
        );
        let reasons: Vec<_> = disc.skipped.iter().map(|s| s.reason.clone()).collect();
        assert!(reasons.contains(&SkipReason::EmptyFile));
        assert!(reasons.contains(&SkipReason::EmptyClassFolder));
        assert!(reasons.contains(&SkipReason::NoClass));
        assert_eq!(disc.samples[0].id, "TEST/cat/d");
    }

    #[test]
    fn opensarship_layout_separates_format_groups() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for dir in ["s1", "s2"] {
            touch(r, &format!("{dir}/Patch/Cargo_x1_y2.tif"), b"x");
            touch(r, &format!("{dir}/Patch/Other Type_x3_y4.tif"), b"x");
            touch(r, &format!("{dir}/Patch_Cal/Cargo_x1_y2.tif"), b"x");
            touch(
                r,
                &format!("{dir}/Patch_Uint8/Visual_Cargo_x1_y2_vh.tif"),
                b"x",
            );
            touch(
                r,
                &format!("{dir}/Patch_Uint8/Visual_Cargo_x1_y2_vv.tif"),
                b"x",
            );
        }
        let disc = discover(r, &DiscoverOptions::default()).unwrap();
        assert_eq!(disc.classes, ["Cargo", "Other Type"]);
        assert_eq!(
            disc.groups(),
            ["Patch:tiff", "Patch_Cal:tiff", "Patch_Uint8/Visual_:tiff"]
        );
        assert_eq!(disc.samples.len(), 8);
        assert!(disc.skipped.is_empty());
        let only = DiscoverOptions {
            strict: false,
            classes: ClassVocabulary::Only(vec!["cargo".into()]),
        };
        let disc = discover(r, &only).unwrap();
        assert_eq!(disc.classes, ["cargo"]);
        assert_eq!(disc.samples.len(), 6);
        assert!(disc.skipped.iter().all(
            |s| matches!(&s.reason, SkipReason::UnknownClass { class } if class == "Other Type")
        ));
    }

    #[test]
    fn masks_attach_to_samples_and_orphans_and_single_pol_are_reported() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        touch(r, "Airport_x0_y0_Polygon1_vv.tif", b"x");
        touch(r, "Airport_x0_y0_Polygon1_mask.png", b"x");
        touch(r, "Airport_x9_y0_Polygon1_mask.png", b"x");
        let disc = discover(r, &DiscoverOptions::default()).unwrap();
        assert_eq!(disc.samples.len(), 1);
        assert!(matches!(
            disc.samples[0].files,
            PolFiles::One { pol: Pol::Vv, .. }
        ));
        assert!(disc.samples[0].mask.is_some());
        assert_eq!(disc.skipped.len(), 1);
        assert_eq!(disc.skipped[0].reason, SkipReason::OrphanMask);
    }

    #[test]
    fn unknown_classes_under_opensarurban_vocabulary_and_empty_dirs() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        touch(r, "airport_x0_y0_vv.png", b"x");
        touch(r, "harbour_x0_y0_vv.png", b"x");
        let opts = DiscoverOptions {
            strict: false,
            classes: ClassVocabulary::OpenSarUrban,
        };
        let disc = discover(r, &opts).unwrap();
        assert_eq!(disc.classes.len(), 10);
        assert_eq!(disc.samples.len(), 1);
        assert_eq!(disc.samples[0].class, "Airport");
        assert!(
            matches!(&disc.skipped[0].reason, SkipReason::UnknownClass { class } if class == "harbour")
        );
        let empty = tempfile::tempdir().unwrap();
        let e = discover(empty.path(), &DiscoverOptions::default()).unwrap();
        assert!(e.samples.is_empty());
        assert!(discover(&empty.path().join("absent"), &DiscoverOptions::default()).is_err());
    }

    #[test]
    fn polarization_folders_pair_unsuffixed_files() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for pol in ["VH", "vv"] {
            touch(r, &format!("urban/{pol}/train/highway/p1.png"), b"x");
            touch(r, &format!("urban/{pol}/train/highway/p2.png"), b"x");
            touch(r, &format!("urban/{pol}/test/airport/p3.png"), b"x");
        }
        touch(r, "urban/VH/test/airport/p4.png", b"x");
        let disc = discover(r, &DiscoverOptions::default()).unwrap();
        assert_eq!(disc.classes, ["Highway", "Airport"]);
        assert_eq!(disc.groups(), ["urban:png"]);
        assert_eq!(disc.samples.len(), 3);
        assert!(disc
            .samples
            .iter()
            .all(|s| matches!(s.files, PolFiles::Pair { .. })));
        assert_eq!(disc.samples[0].id, "urban/test/airport/p3");
        assert_eq!(disc.samples[0].split, Some(Split::Test));
        assert_eq!(disc.skipped.len(), 1);
        assert_eq!(
            disc.skipped[0].reason,
            SkipReason::Unpaired { missing: Pol::Vv }
        );
    }

    #[test]
    fn numbered_partition_folders_merge_into_one_group() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for (n, x) in [(1, 0), (13, 1), (2, 2)] {
            for pol in ["vh", "vv"] {
                touch(
                    r,
                    &format!("OpenSARUrban{n}/highway_x{x}_y0_Polygon1_{pol}.tif"),
                    b"x",
                );
                touch(
                    r,
                    &format!("OpenSARUrban{n}/uint16/highway_x{x}_y0_Polygon1_{pol}.tif"),
                    b"x",
                );
            }
        }
        // A lone numbered folder is not a partition: it names its group.
        touch(r, "scene7/Patch2/airport_x0_y0_vv.tif", b"x");
        let disc = discover(r, &DiscoverOptions::default()).unwrap();
        assert_eq!(disc.groups(), [":tiff", "Patch2:tiff", "uint16:tiff"]);
        let counts = disc.counts();
        assert_eq!(
            counts[&(":tiff".to_string(), "Highway".to_string(), None)].pairs,
            3
        );
        assert_eq!(
            counts[&("uint16:tiff".to_string(), "Highway".to_string(), None)].pairs,
            3
        );
        assert!(disc.skipped.is_empty(), "{:?}", disc.skipped);
        assert_eq!(numbered("OpenSARUrban13"), Some(("OpenSARUrban", "13")));
        assert_eq!(numbered("2020"), None);
        assert_eq!(numbered("Patch"), None);
    }

    #[test]
    fn mixed_split_layouts_skip_the_loose_files() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        touch(r, "train/a/1.png", b"x");
        touch(r, "test/a/2.png", b"x");
        touch(r, "a/3.png", b"x");
        let disc = discover(r, &DiscoverOptions::default()).unwrap();
        assert_eq!(disc.samples.len(), 2);
        assert_eq!(disc.skipped[0].reason, SkipReason::MixedSplitLayout);
    }
}
