//! From found files to samples: the format groups, the class vocabulary, the files
//! grouped per sample, the polarizations paired and masks attached, and the layout checks
//! (empty class folders, samples outside the split folders).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::walk::Found;
use super::{ClassVocabulary, PolFiles, SampleFiles, SkipReason, Skipped};
use crate::data::decode::FileFormat;
use crate::data::naming::{class_key, opensarurban_canonical, Pol, OPENSARURBAN_CLASSES};
use crate::data::split::Split;

/// Format groups, one per found file: the nearest folder that is not a split, class,
/// polarization or partition folder, then `/Visual_` for visual files, then `:<format>`.
pub(super) fn format_groups(found: &[Found], partitions: &BTreeSet<String>) -> Vec<String> {
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
pub(super) struct Vocabulary {
    /// Class names in label order.
    pub(super) classes: Vec<String>,
    /// Accepted [`class_key`]s; `None`: any name found.
    accepted: Option<BTreeSet<String>>,
    /// Canonical spelling by class key, of the names found.
    canonical: BTreeMap<String, String>,
}

impl Vocabulary {
    /// The vocabulary of the names found under the accepted `vocabulary`.
    pub(super) fn new(found: &[Found], vocabulary: &ClassVocabulary) -> Self {
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
pub(super) struct Partial {
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
pub(super) fn group_files(
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
pub(super) fn pair_polarizations(
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
pub(super) fn skip_empty_class_folders(
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
pub(super) fn skip_mixed_split_layout(samples: &mut Vec<SampleFiles>, skipped: &mut Vec<Skipped>) {
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
