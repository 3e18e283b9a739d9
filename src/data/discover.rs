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
//!
//! The types and the stages' order are here; reading the tree is in `discover/walk.rs`,
//! turning the files found into samples in `discover/samples.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::decode::FileFormat;
use super::error::{DataError, Result};
use super::naming::Pol;
use super::split::Split;

mod samples;
mod walk;

use samples::{
    format_groups, group_files, pair_polarizations, skip_empty_class_folders,
    skip_mixed_split_layout, Vocabulary,
};
use walk::{partition_folders, walk, Walk};

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
    /// Exactly these classes (matched by `class_key`), labels
    /// in this order.
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
    Pair {
        /// The VH file.
        vh: PathBuf,
        /// The VV file.
        vv: PathBuf,
    },
    /// A file with a polarization suffix, in a format group holding only that polarization.
    One {
        /// Its polarization.
        pol: Pol,
        /// The file.
        path: PathBuf,
    },
    /// A file without a polarization suffix: one band (single polarization) or two bands
    /// `[VH, VV]`.
    Unsuffixed {
        /// The file.
        path: PathBuf,
    },
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
    UnknownClass {
        /// The class name found.
        class: String,
    },
    /// A `_vh` / `_vv` file whose partner is absent.
    Unpaired {
        /// The absent partner's polarization.
        missing: Pol,
    },
    /// Another file already provides this sample and polarization.
    Duplicate {
        /// The file that provides it.
        of: PathBuf,
    },
    /// A `_mask` file with no sample of the same stem in its folder.
    OrphanMask,
    /// A class folder without any image file.
    EmptyClassFolder,
    /// Some samples are in split folders and this one is not (or the reverse).
    MixedSplitLayout,
    /// The file could not be decoded or used (found when loading pixels).
    Unusable {
        /// Why it cannot be used.
        reason: String,
    },
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
    /// The file or folder.
    pub path: PathBuf,
    /// Why it was not used.
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
    /// Single files with a `_vh` suffix (no VV partner).
    pub vh_only: usize,
    /// Single files with a `_vv` suffix (no VH partner).
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

/// Discovers the samples under `root` (see the module docs), in stages: `walk` the tree
/// (each file read by its name alone), `format_groups`, the class `Vocabulary`,
/// `group_files` into samples, `pair_polarizations` and attach masks, then the checks
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
        assert_eq!(
            walk::numbered("OpenSARUrban13"),
            Some(("OpenSARUrban", "13"))
        );
        assert_eq!(walk::numbered("2020"), None);
        assert_eq!(walk::numbered("Patch"), None);
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
