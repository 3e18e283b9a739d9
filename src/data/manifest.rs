//! Pins of data files: a manifest lists every file under a directory with its SHA-256 and
//! size; verification reports missing, extra and altered files; an archive check compares
//! one file (the OpenSARUrban zip) with a digest pinned in `fixtures/data/opensarurban.yaml`.
//!
//! # Root digest
//!
//! Entries are sorted by relative path (`/`-separated, byte order). The root digest is
//! `SHA-256` of the manifest's `sha256sum` text: one line `"<sha256>  <path>\n"` per entry,
//! in that order. Sizes are recorded but not part of the root digest, so a `sha256sum`
//! list (such as `opensarship-sample.sha256`) and a JSON manifest of the same files have the
//! same root digest.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{DataError, Result};
use crate::io::{hex, sha256_file, sha256_hex, write_atomic};

/// Conventional file name of a manifest at a dataset's root; never listed in itself.
pub const MANIFEST_FILE_NAME: &str = "manifest.json";

/// Format tag written into JSON manifests.
pub const MANIFEST_FORMAT: &str = "sarxai-manifest-1";

/// One file of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Path relative to the manifest's root, `/`-separated.
    pub path: String,
    /// SHA-256 of the contents, lower-case hex.
    pub sha256: String,
    /// Size in bytes (absent when read from a `sha256sum` list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// SHA-256 and size of every file under a directory, with a root digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// SHA-256 of the `sha256sum` text of the entries (see the module docs).
    pub root_digest: String,
    /// Number of files.
    pub n_files: usize,
    /// Sum of the known sizes in bytes.
    pub total_bytes: u64,
    /// Entries sorted by path.
    pub files: Vec<ManifestEntry>,
}

impl Manifest {
    /// Sorts `entries` by path and computes the root digest and totals.
    pub fn from_entries(mut entries: Vec<ManifestEntry>) -> Manifest {
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let root_digest = sha256_hex(sha256sum_text(&entries).as_bytes());
        Manifest {
            format: MANIFEST_FORMAT.to_string(),
            root_digest,
            n_files: entries.len(),
            total_bytes: entries.iter().filter_map(|e| e.size).sum(),
            files: entries,
        }
    }

    /// The entries as `sha256sum` text (`sha256sum -c` can check it from the root).
    pub fn to_sha256sum(&self) -> String {
        sha256sum_text(&self.files)
    }

    /// Writes the manifest atomically: `sha256sum` text when `path` ends in `.sha256`, else
    /// pretty JSON.
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = if path.extension().is_some_and(|e| e == "sha256") {
            self.to_sha256sum().into_bytes()
        } else {
            let mut b = serde_json::to_vec_pretty(self).expect("Manifest serializes");
            b.push(b'\n');
            b
        };
        write_atomic(path, &bytes).map_err(|e| DataError::io(path, e))
    }

    /// Reads a JSON manifest or a `sha256sum` list (detected from the first character).
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        Manifest::parse(&text, path)
    }

    /// Parses a manifest's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Manifest> {
        let bad = |reason: String| DataError::Manifest {
            path: origin.to_path_buf(),
            reason,
        };
        if text.trim_start().starts_with('{') {
            let m: Manifest =
                serde_json::from_str(text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
            for e in &m.files {
                check_entry(e).map_err(&bad)?;
            }
            let rebuilt = Manifest::from_entries(m.files.clone());
            if rebuilt.root_digest != m.root_digest {
                return Err(bad(format!(
                    "root_digest {} does not match its entries ({}): the manifest was edited",
                    m.root_digest, rebuilt.root_digest
                )));
            }
            return Ok(rebuilt);
        }
        let mut entries = Vec::new();
        let mut seen = BTreeMap::new();
        for (no, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (digest, rest) = line
                .split_once(' ')
                .ok_or_else(|| bad(format!("line {}: expected `<sha256>  <path>`", no + 1)))?;
            // GNU format: two spaces (text mode) or space + '*' (binary mode).
            let path = rest
                .strip_prefix(' ')
                .or_else(|| rest.strip_prefix('*'))
                .ok_or_else(|| {
                    bad(format!(
                        "line {}: expected two spaces after the digest",
                        no + 1
                    ))
                })?;
            let path = path.strip_prefix("./").unwrap_or(path).to_string();
            let entry = ManifestEntry {
                path,
                sha256: digest.to_ascii_lowercase(),
                size: None,
            };
            check_entry(&entry).map_err(|r| bad(format!("line {}: {r}", no + 1)))?;
            if seen.insert(entry.path.clone(), no + 1).is_some() {
                return Err(bad(format!(
                    "line {}: {} is listed twice",
                    no + 1,
                    entry.path
                )));
            }
            entries.push(entry);
        }
        Ok(Manifest::from_entries(entries))
    }
}

fn check_entry(e: &ManifestEntry) -> std::result::Result<(), String> {
    if e.sha256.len() != 64 || !e.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{}: {:?} is not a SHA-256 hex digest",
            e.path, e.sha256
        ));
    }
    let p = Path::new(&e.path);
    if e.path.is_empty()
        || p.is_absolute()
        || p.components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "{:?} is not a plain relative path (no `..`, no leading `/`)",
            e.path
        ));
    }
    Ok(())
}

fn sha256sum_text(entries: &[ManifestEntry]) -> String {
    let mut s = String::with_capacity(entries.len() * 100);
    for e in entries {
        s.push_str(&e.sha256);
        s.push_str("  ");
        s.push_str(&e.path);
        s.push('\n');
    }
    s
}

/// All regular files under `dir` (following symbolic links), as sorted relative
/// `/`-separated paths, leaving out the absolute paths in `exclude`.
fn list_files(dir: &Path, exclude: &[PathBuf]) -> Result<Vec<String>> {
    if !dir.is_dir() {
        return Err(DataError::Config {
            dir: dir.to_path_buf(),
            reason: "not a directory".into(),
            fix: "pass the dataset's root directory".into(),
        });
    }
    let exclude: Vec<PathBuf> = exclude
        .iter()
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .collect();
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(true) {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.to_path_buf());
            DataError::io(path, e.into())
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        if !exclude.is_empty() {
            let canon = entry
                .path()
                .canonicalize()
                .unwrap_or_else(|_| entry.path().to_path_buf());
            if exclude.contains(&canon) {
                continue;
            }
        }
        out.push(relative_path(dir, entry.path())?);
    }
    out.sort();
    Ok(out)
}

/// `path` relative to `root`, `/`-separated; non-UTF-8 names are an error.
pub fn relative_path(root: &Path, path: &Path) -> Result<String> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut parts = Vec::new();
    for c in rel.components() {
        let s = c.as_os_str().to_str().ok_or_else(|| DataError::Config {
            dir: path.to_path_buf(),
            reason: "the file name is not valid UTF-8".into(),
            fix: "rename the file".into(),
        })?;
        parts.push(s);
    }
    Ok(parts.join("/"))
}

/// The manifest of every file under `dir`, except `dir/manifest.json`.
pub fn build_manifest(dir: &Path) -> Result<Manifest> {
    build_manifest_with(
        dir,
        &[dir.join(MANIFEST_FILE_NAME)],
        &indicatif::ProgressBar::hidden(),
    )
}

/// The manifest of every file under `dir` except the paths in `exclude`; `progress`
/// advances once per file.
pub fn build_manifest_with(
    dir: &Path,
    exclude: &[PathBuf],
    progress: &indicatif::ProgressBar,
) -> Result<Manifest> {
    let files = list_files(dir, exclude)?;
    progress.set_length(files.len() as u64);
    let mut entries = Vec::with_capacity(files.len());
    for rel in files {
        let p = dir.join(&rel);
        let (sha256, size) = sha256_file(&p).map_err(|e| DataError::io(&p, e))?;
        entries.push(ManifestEntry {
            path: rel,
            sha256,
            size: Some(size),
        });
        progress.inc(1);
    }
    progress.finish();
    Ok(Manifest::from_entries(entries))
}

/// A file whose contents differ from its manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Altered {
    /// The file, relative to the manifest's root.
    pub path: String,
    /// The manifest's SHA-256 (hex).
    pub expected_sha256: String,
    /// The file's SHA-256 (hex).
    pub actual_sha256: String,
    /// The manifest's size in bytes, when it records one.
    pub expected_size: Option<u64>,
    /// The file's size in bytes.
    pub actual_size: u64,
}

/// Result of [`verify_manifest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Files the manifest lists that match.
    pub ok: usize,
    /// Listed but absent.
    pub missing: Vec<String>,
    /// Present but not listed.
    pub extra: Vec<String>,
    /// Listed, present, different contents.
    pub altered: Vec<Altered>,
}

impl VerifyReport {
    /// True when nothing is missing, extra or altered.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.altered.is_empty()
    }
}

/// Checks the files under `dir` against `manifest` (see [`verify_manifest_with`]); the
/// root `manifest.json` is not counted as extra.
pub fn verify_manifest(dir: &Path, manifest: &Manifest) -> Result<VerifyReport> {
    verify_manifest_with(
        dir,
        manifest,
        &[dir.join(MANIFEST_FILE_NAME)],
        &indicatif::ProgressBar::hidden(),
    )
}

/// Checks the files under `dir` against `manifest`: every listed file is hashed (missing,
/// altered), and every unlisted file that is not in `exclude` is extra.
pub fn verify_manifest_with(
    dir: &Path,
    manifest: &Manifest,
    exclude: &[PathBuf],
    progress: &indicatif::ProgressBar,
) -> Result<VerifyReport> {
    let present = list_files(dir, exclude)?;
    let listed: BTreeMap<&str, &ManifestEntry> = manifest
        .files
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    let mut report = VerifyReport {
        extra: present
            .iter()
            .filter(|p| !listed.contains_key(p.as_str()))
            .cloned()
            .collect(),
        ..VerifyReport::default()
    };
    progress.set_length(manifest.files.len() as u64);
    for e in &manifest.files {
        let p = dir.join(&e.path);
        match sha256_file(&p) {
            Ok((digest, size)) => {
                if digest == e.sha256 && e.size.is_none_or(|s| s == size) {
                    report.ok += 1;
                } else {
                    report.altered.push(Altered {
                        path: e.path.clone(),
                        expected_sha256: e.sha256.clone(),
                        actual_sha256: digest,
                        expected_size: e.size,
                        actual_size: size,
                    });
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                report.missing.push(e.path.clone());
            }
            Err(err) => return Err(DataError::io(&p, err)),
        }
        progress.inc(1);
    }
    progress.finish();
    Ok(report)
}

/// A pinned archive digest with where it came from (`fixtures/data/opensarurban.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivePin {
    /// File name the dataset is distributed as.
    pub file_name: String,
    /// Pinned SHA-256, lower-case hex.
    pub sha256: String,
    /// Size as reported by the source, in bytes, when one is known exactly.
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// Size as reported by the source, in words (e.g. "2.19 GiB").
    pub size_reported: String,
    /// Where the digest comes from.
    pub provenance: String,
    /// Whether sarxai's authors checked the digest against a downloaded copy.
    pub verified_by_sarxai: bool,
    /// Anything else a user should know.
    #[serde(default)]
    pub note: String,
}

/// The pinned OpenSARUrban archive, compiled in from `fixtures/data/opensarurban.yaml`.
pub fn opensarurban_pin() -> ArchivePin {
    let text = include_str!("../../fixtures/data/opensarurban.yaml");
    serde_saphyr::from_str(text).expect("fixtures/data/opensarurban.yaml is valid (tested)")
}

/// What [`verify_archive`] measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchiveCheck {
    /// The archive file.
    pub path: PathBuf,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The pinned OpenSARUrban digest it was compared with.
    pub pin: ArchivePin,
}

/// Hashes `file` and compares it with the pinned OpenSARUrban digest.
pub fn verify_archive(file: &Path) -> Result<ArchiveCheck> {
    verify_archive_against(file, &opensarurban_pin(), &indicatif::ProgressBar::hidden())
}

/// Hashes `file` (progress in bytes) and compares it with `pin`.
pub fn verify_archive_against(
    file: &Path,
    pin: &ArchivePin,
    progress: &indicatif::ProgressBar,
) -> Result<ArchiveCheck> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(file).map_err(|e| DataError::io(file, e))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    progress.set_length(len);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| DataError::io(file, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
        progress.inc(n as u64);
    }
    progress.finish();
    let sha256 = hex(&h.finalize());
    if sha256 != pin.sha256 {
        return Err(DataError::DigestMismatch {
            path: file.to_path_buf(),
            expected: pin.sha256.clone(),
            actual: sha256,
            size,
            provenance: pin.provenance.clone(),
        });
    }
    Ok(ArchiveCheck {
        path: file.to_path_buf(),
        sha256,
        size,
        pin: pin.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("a.txt"), b"alpha").unwrap();
        std::fs::write(d.path().join("sub/b.bin"), b"beta").unwrap();
        d
    }

    #[test]
    fn manifest_lists_relative_sorted_paths_with_digests_and_sizes() {
        let d = tree();
        let m = build_manifest(d.path()).unwrap();
        let paths: Vec<_> = m.files.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["a.txt", "sub/b.bin"]);
        assert_eq!(m.files[0].sha256, sha256_hex(b"alpha"));
        assert_eq!(m.files[1].size, Some(4));
        assert_eq!(m.total_bytes, 9);
        let text = format!(
            "{}  a.txt\n{}  sub/b.bin\n",
            sha256_hex(b"alpha"),
            sha256_hex(b"beta")
        );
        assert_eq!(m.root_digest, sha256_hex(text.as_bytes()));
    }

    #[test]
    fn json_and_sha256sum_round_trip_to_the_same_root() {
        let d = tree();
        let m = build_manifest(d.path()).unwrap();
        let out = tempfile::tempdir().unwrap();
        m.write(&out.path().join("m.json")).unwrap();
        m.write(&out.path().join("m.sha256")).unwrap();
        let j = Manifest::read(&out.path().join("m.json")).unwrap();
        let s = Manifest::read(&out.path().join("m.sha256")).unwrap();
        assert_eq!(j, m);
        assert_eq!(s.root_digest, m.root_digest);
        assert_eq!(s.files[0].size, None);
    }

    #[test]
    fn verify_reports_missing_extra_and_altered() {
        let d = tree();
        let m = build_manifest(d.path()).unwrap();
        m.write(&d.path().join(MANIFEST_FILE_NAME)).unwrap();
        assert!(verify_manifest(d.path(), &m).unwrap().is_clean());
        std::fs::write(d.path().join("a.txt"), b"ALPHA").unwrap();
        std::fs::remove_file(d.path().join("sub/b.bin")).unwrap();
        std::fs::write(d.path().join("c.txt"), b"new").unwrap();
        let r = verify_manifest(d.path(), &m).unwrap();
        assert!(!r.is_clean());
        assert_eq!(r.missing, ["sub/b.bin"]);
        assert_eq!(r.extra, ["c.txt"]);
        assert_eq!(r.altered.len(), 1);
        assert_eq!(r.altered[0].path, "a.txt");
        assert_eq!(r.ok, 0);
    }

    #[test]
    fn edited_or_malformed_manifests_are_rejected() {
        let d = tree();
        let mut m = build_manifest(d.path()).unwrap();
        m.files[0].sha256 = sha256_hex(b"other");
        let json = serde_json::to_string(&m).unwrap();
        let e = Manifest::parse(&json, Path::new("m.json")).unwrap_err();
        assert!(e.to_string().contains("edited"), "{e}");
        for bad in [
            "nothex  a.txt\n",
            &format!("{}  ../escape\n", sha256_hex(b"x")),
            &format!("{}  /abs\n", sha256_hex(b"x")),
            &format!("{}\n", sha256_hex(b"x")),
            &format!("{h}  a\n{h}  a\n", h = sha256_hex(b"x")),
        ] {
            assert!(
                Manifest::parse(bad, Path::new("m.sha256")).is_err(),
                "{bad}"
            );
        }
        let ok = Manifest::parse(
            &format!("{} *./dir/x.tif\n", sha256_hex(b"x")),
            Path::new("m.sha256"),
        )
        .unwrap();
        assert_eq!(ok.files[0].path, "dir/x.tif");
    }

    #[test]
    fn pinned_archive_digest_is_the_design_value_with_provenance() {
        let pin = opensarurban_pin();
        assert_eq!(
            pin.sha256,
            "1abf12f7a54065d053f73b7dbf05718d41da3b5a076d67e93308c3c7f04eaa6b"
        );
        assert_eq!(pin.file_name, "OpenSARUrbanDataset.zip");
        assert!(!pin.provenance.is_empty());
        assert!(!pin.verified_by_sarxai);
    }

    #[test]
    fn archive_check_accepts_the_pinned_bytes_and_rejects_others() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x.zip");
        std::fs::write(&f, b"zip bytes").unwrap();
        let pin = ArchivePin {
            sha256: sha256_hex(b"zip bytes"),
            ..opensarurban_pin()
        };
        let bar = indicatif::ProgressBar::hidden();
        assert_eq!(verify_archive_against(&f, &pin, &bar).unwrap().size, 9);
        let e = verify_archive(&f).unwrap_err();
        assert!(matches!(e, DataError::DigestMismatch { .. }));
        assert!(e.to_string().contains("fix:"));
        assert!(matches!(
            verify_archive(&d.path().join("absent.zip")),
            Err(DataError::Io { .. })
        ));
    }
}
