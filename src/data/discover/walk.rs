//! Reading the tree: every file under the root, by its name and folders alone (no pixel
//! is decoded), into image files with their raw class, polarization, split and folders,
//! masks, skipped files and ignored non-image files; and the partition folders.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{SkipReason, Skipped};
use crate::data::decode::FileFormat;
use crate::data::error::{DataError, Result};
use crate::data::manifest::relative_path;
use crate::data::naming::{parse_stem, Pol};
use crate::data::split::Split;

/// Extensions of image files (lower case).
fn is_image_name(name: &str) -> bool {
    FileFormat::from_path(Path::new(name)).is_some()
}

/// One image file before grouping.
pub(super) struct Found {
    pub(super) rel_dir: String,
    pub(super) path: PathBuf,
    pub(super) base: String,
    pub(super) pol: Option<Pol>,
    pub(super) class_raw: String,
    pub(super) class_from_folder: bool,
    pub(super) split: Option<Split>,
    /// Folders above the file (polarization folders left out) with their relative paths,
    /// for the format group.
    pub(super) dirs: Vec<(String, String)>,
    pub(super) visual: bool,
    pub(super) format: FileFormat,
}

/// `<stem><number>` -> `(stem, number)`, for names ending in ASCII digits after a non-empty
/// stem.
pub(super) fn numbered(name: &str) -> Option<(&str, &str)> {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    (!stem.is_empty() && stem.len() < name.len()).then(|| (stem, &name[stem.len()..]))
}

/// Partition folders (see the module docs), as relative paths: folders `<stem><number>`
/// whose parent holds another `<stem><other number>`.
pub(super) fn partition_folders(dirs: &BTreeSet<String>) -> BTreeSet<String> {
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

/// What [`walk`] collected from the directory tree.
pub(super) struct Walk {
    /// Image files with a class, in walk order (sorted by file name).
    pub(super) found: Vec<Found>,
    /// Masks by (relative folder without polarization folders, sample stem).
    pub(super) masks: BTreeMap<(String, String), PathBuf>,
    pub(super) skipped: Vec<Skipped>,
    pub(super) ignored: Vec<PathBuf>,
    pub(super) leaf_dirs_without_images: Vec<PathBuf>,
    pub(super) dirs_with_images: BTreeSet<PathBuf>,
    /// Every folder below the root, relative, for the partition folders.
    pub(super) all_rel_dirs: BTreeSet<String>,
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
pub(super) fn walk(root: &Path) -> Result<Walk> {
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

/// True for a folder without any entry.
fn dir_is_empty(path: &Path) -> bool {
    std::fs::read_dir(path)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}
