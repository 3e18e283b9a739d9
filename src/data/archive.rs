//! A dataset given as a zip archive (OpenSARUrbanDataset.zip): checked against its pinned
//! SHA-256 before any other work, then extracted once into a verified cache that the
//! directory loader ([`super::discover`], [`super::dataset`]) reads like any folder.
//!
//! Why extract rather than read in place: every later stage (discovery, header probes,
//! parallel decoding, manifests, `--resume`) works on paths, and a member of a deflated zip
//! can only be read by inflating it from its start, so random access during training would
//! inflate members again and again. The cache costs the archive's uncompressed size once.
//!
//! The cache is `<cache>/archives/<sha256 of the archive>/`: `data/` holds the members
//! (paths as in the zip, unsafe names skipped), `data/manifest.json` the SHA-256 of every
//! extracted file (checked again by every `train` run), and `extraction.json` what was
//! extracted and skipped. A reused cache is verified file by file against its manifest; a
//! damaged one is extracted again. Extraction goes to a temporary folder renamed into place
//! once complete, so an interrupted extraction is never mistaken for a finished one.
//! `<cache>` is `SARXAI_CACHE`, else `$XDG_CACHE_HOME/sarxai`, else `~/.cache/sarxai`.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{DataError, Result};
use super::manifest::{
    build_manifest, opensarurban_pin, verify_manifest, ArchivePin, Manifest, MANIFEST_FILE_NAME,
};
use crate::io::write_atomic;

/// File written into a run directory that trained on an archive: an [`ArchiveRecord`].
pub const ARCHIVE_RECORD_FILE_NAME: &str = "archive.json";

/// Version of the extraction layout; a change makes caches extract again.
pub const EXTRACTION_FORMAT: &str = "sarxai-archive-cache-1";

/// How an archive is checked and where it is extracted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// Run even when the archive's digest differs from the pin (recorded as "unpinned").
    pub allow_unpinned: bool,
    /// Expected SHA-256 instead of the pin in `fixtures/data/opensarurban.yaml` (a copy the
    /// user hashed, or the tests' mock archive); recorded as the pin's source.
    pub expected_sha256: Option<String>,
    /// Cache root (default: see the module docs).
    pub cache: Option<PathBuf>,
}

/// Whether the archive matched its pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PinStatus {
    /// The digest equals the pin.
    Pinned,
    /// The digest differs and `--allow-unpinned-data` let the run go on.
    Unpinned,
}

impl PinStatus {
    pub fn name(self) -> &'static str {
        match self {
            PinStatus::Pinned => "pinned",
            PinStatus::Unpinned => "unpinned",
        }
    }
}

/// A zip member that was not extracted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedMember {
    pub name: String,
    pub reason: String,
}

/// What was extracted (stored as `extraction.json` in the cache entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    pub format: String,
    /// SHA-256 of the archive.
    pub archive_sha256: String,
    /// Members in the zip (files and folders).
    pub members: usize,
    /// Files extracted.
    pub files: usize,
    /// Bytes extracted.
    pub bytes: u64,
    /// Root digest of the extracted files' manifest.
    pub tree_digest: String,
    pub skipped: Vec<SkippedMember>,
}

/// How a run's archive was checked and where its data came from (`archive.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveRecord {
    /// The archive as given.
    pub archive: PathBuf,
    /// Its SHA-256 and size.
    pub sha256: String,
    pub size: u64,
    /// The digest it was compared with and where that came from.
    pub expected_sha256: String,
    pub pin_source: String,
    pub status: PinStatus,
    /// The extracted folder the loader read.
    pub extracted: PathBuf,
    pub extraction: Extraction,
    /// Set when a cached extraction was found incomplete or altered and the archive was
    /// extracted again (told in [`ArchiveRecord::summary`], not written to `archive.json`).
    #[serde(skip)]
    pub reextracted: bool,
}

impl ArchiveRecord {
    /// Two lines on how an archive was checked and where it was extracted.
    pub fn summary(&self) -> String {
        format!(
            "archive {}: SHA-256 {} ({} bytes), {} (expected {} from {})\nextracted: {} ({} files, {} members skipped)",
            self.archive.display(),
            self.sha256,
            self.size,
            self.status.name(),
            self.expected_sha256,
            self.pin_source,
            self.extracted.display(),
            self.extraction.files,
            self.extraction.skipped.len()
        ) + if self.reextracted {
            "\nthe cached extraction was incomplete or altered: extracted the archive again"
        } else {
            ""
        }
    }
}

/// True when `path` is a file that starts like a zip archive.
pub fn is_archive(path: &Path) -> bool {
    if !path.is_file() {
        return false;
    }
    let mut head = [0u8; 4];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)) {
        Ok(()) => head == *b"PK\x03\x04" || head == *b"PK\x05\x06",
        Err(_) => false,
    }
}

/// The default cache root (see the module docs).
pub fn default_cache_root() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("SARXAI_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("sarxai")))
        .or_else(|| env("HOME").map(|p| p.join(".cache").join("sarxai")))
        .unwrap_or_else(|| PathBuf::from(".sarxai-cache"))
}

/// SHA-256 of a file, lower-case hex, and its size.
pub fn sha256_file(path: &Path, progress: &indicatif::ProgressBar) -> Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    progress.set_length(f.metadata().map(|m| m.len()).unwrap_or(0));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
        progress.inc(n as u64);
    }
    progress.finish_and_clear();
    Ok((
        h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        size,
    ))
}

/// Checks `archive` against its pin (refusing a mismatch unless `allow_unpinned`), then
/// extracts it into the cache, or verifies the cached extraction. Returns the record; the
/// data lie in `record.extracted`.
pub fn open_archive(
    archive: &Path,
    opts: &ArchiveOptions,
    progress: &indicatif::ProgressBar,
) -> Result<ArchiveRecord> {
    let pin: ArchivePin = opensarurban_pin();
    let (expected, pin_source) = match &opts.expected_sha256 {
        Some(s) => (s.trim().to_ascii_lowercase(), "--data-sha256".to_string()),
        None => (
            pin.sha256.clone(),
            "fixtures/data/opensarurban.yaml".to_string(),
        ),
    };
    let (sha256, size) = sha256_file(archive, progress)?;
    let status = if sha256 == expected {
        PinStatus::Pinned
    } else if opts.allow_unpinned {
        PinStatus::Unpinned
    } else {
        return Err(DataError::DigestMismatch {
            path: archive.to_path_buf(),
            expected,
            actual: sha256,
            size,
            provenance: if opts.expected_sha256.is_some() {
                "the digest given with --data-sha256".into()
            } else {
                format!(
                    "{} (fixtures/data/opensarurban.yaml); pass --allow-unpinned-data to run on it anyway, every verdict then marked \"unpinned\"",
                    pin.provenance.trim()
                )
            },
        });
    };
    let root = opts.cache.clone().unwrap_or_else(default_cache_root);
    let entry = root.join("archives").join(&sha256);
    let cached = entry.join("extraction.json").is_file();
    let (extraction, reextracted) = match reuse(&entry, &sha256) {
        Some(x) => (x, false),
        None => (extract(archive, &sha256, &entry)?, cached),
    };
    Ok(ArchiveRecord {
        archive: std::fs::canonicalize(archive).unwrap_or_else(|_| archive.to_path_buf()),
        sha256,
        size,
        expected_sha256: expected,
        pin_source,
        status,
        extracted: entry.join("data"),
        extraction,
        reextracted,
    })
}

/// The cached extraction if it is complete and every file matches its manifest.
fn reuse(entry: &Path, sha256: &str) -> Option<Extraction> {
    let text = std::fs::read(entry.join("extraction.json")).ok()?;
    let x: Extraction = serde_json::from_slice(&text).ok()?;
    let data = entry.join("data");
    let ok = x.format == EXTRACTION_FORMAT
        && x.archive_sha256 == sha256
        && Manifest::read(&data.join(MANIFEST_FILE_NAME))
            .ok()
            .filter(|m| m.root_digest == x.tree_digest)
            .and_then(|m| verify_manifest(&data, &m).ok())
            .is_some_and(|r| r.is_clean());
    ok.then_some(x)
}

/// Why a member name cannot be extracted, if it cannot.
fn unsafe_name(name: &str) -> Option<&'static str> {
    if name.contains('\\') {
        Some("backslash in the member name")
    } else if name.starts_with('/') {
        Some("absolute path")
    } else if name.split('/').any(|c| c == ".." || c == ".") {
        Some("`.` or `..` path component")
    } else if name.is_empty() || name.split('/').any(|c| c.contains('\0')) {
        Some("empty or NUL in the member name")
    } else {
        None
    }
}

fn extract(archive: &Path, sha256: &str, entry: &Path) -> Result<Extraction> {
    let parent = entry.parent().unwrap_or(entry);
    std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".extract-{}-", &sha256[..16]))
        .tempdir_in(parent)
        .map_err(|e| DataError::io(parent, e))?;
    let data = tmp.path().join("data");
    let file = std::fs::File::open(archive).map_err(|e| DataError::io(archive, e))?;
    let bad = |reason: String| DataError::Config {
        dir: archive.to_path_buf(),
        reason,
        fix: "re-download the archive (`sarxai data verify-archive` checks it)".into(),
    };
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| bad(format!("not a readable zip archive: {e}")))?;
    let pb = crate::progress::bar(zip.len() as u64, "extracting");
    let mut skipped = Vec::new();
    let (mut files, mut bytes) = (0usize, 0u64);
    for i in 0..zip.len() {
        pb.inc(1);
        let mut m = zip
            .by_index(i)
            .map_err(|e| bad(format!("member {i}: {e}")))?;
        let name = m
            .name()
            .map_err(|e| bad(format!("member {i}: unreadable name: {e}")))?
            .into_owned();
        if m.is_dir() {
            continue;
        }
        let skip = if let Some(r) = unsafe_name(&name) {
            Some(r.to_string())
        } else if m
            .unix_mode()
            .is_some_and(|mode| mode & 0o170000 == 0o120000)
        {
            Some("symbolic link".to_string())
        } else if name == MANIFEST_FILE_NAME {
            Some("reserved name: the cache's manifest is written there".to_string())
        } else {
            None
        };
        if let Some(reason) = skip {
            skipped.push(SkippedMember { name, reason });
            continue;
        }
        let out = data.join(&name);
        if let Some(p) = out.parent() {
            std::fs::create_dir_all(p).map_err(|e| DataError::io(p, e))?;
        }
        let mut w = std::fs::File::create(&out).map_err(|e| DataError::io(&out, e))?;
        // The zip crate checks each member's CRC-32 when its end is read.
        bytes += std::io::copy(&mut m, &mut w)
            .map_err(|e| bad(format!("member {name}: {e} (corrupt archive)")))?;
        files += 1;
    }
    pb.finish_and_clear();
    std::fs::create_dir_all(&data).map_err(|e| DataError::io(&data, e))?;
    let manifest = build_manifest(&data)?;
    manifest.write(&data.join(MANIFEST_FILE_NAME))?;
    let extraction = Extraction {
        format: EXTRACTION_FORMAT.to_string(),
        archive_sha256: sha256.to_string(),
        members: zip.len(),
        files,
        bytes,
        tree_digest: manifest.root_digest.clone(),
        skipped,
    };
    let mut json = serde_json::to_vec_pretty(&extraction).expect("serializable");
    json.push(b'\n');
    write_atomic(&tmp.path().join("extraction.json"), &json)
        .map_err(|e| DataError::io(tmp.path(), e))?;
    if entry.exists() {
        // A damaged entry (see `reuse`), or one a concurrent run just finished.
        if reuse(entry, sha256).is_some() {
            return Ok(extraction);
        }
        std::fs::remove_dir_all(entry).map_err(|e| DataError::io(entry, e))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, entry).map_err(|e| DataError::io(entry, e))?;
    Ok(extraction)
}

/// The folder to load: `path` itself when it is a directory, the verified extraction when
/// it is a zip archive (with its record).
pub fn resolve_data(
    path: &Path,
    opts: &ArchiveOptions,
) -> Result<(PathBuf, Option<ArchiveRecord>)> {
    if !is_archive(path) {
        return Ok((path.to_path_buf(), None));
    }
    let pb = crate::progress::bar(0, "sha256");
    let rec = open_archive(path, opts, &pb)?;
    Ok((rec.extracted.clone(), Some(rec)))
}

/// Writes `record` as `dir/archive.json`.
pub fn write_record(dir: &Path, record: &ArchiveRecord) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(record).expect("serializable");
    json.push(b'\n');
    let path = dir.join(ARCHIVE_RECORD_FILE_NAME);
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    write_atomic(&path, &json).map_err(|e| DataError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_member_names_are_refused() {
        assert!(unsafe_name("../etc/passwd").is_some());
        assert!(unsafe_name("/abs").is_some());
        assert!(unsafe_name("a/./b").is_some());
        assert!(unsafe_name("a\\b").is_some());
        assert!(unsafe_name("OpenSARUrban1/x_vh.tif").is_none());
    }

    /// A hostile archive (member names climbing out or absolute, a symbolic link to /etc)
    /// extracts its one safe member and lists every other with its reason; nothing is
    /// written outside the cache entry.
    #[test]
    fn hostile_members_are_skipped_with_their_reason() {
        use std::io::Write;
        let opts = zip::write::SimpleFileOptions::default();
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in [
            ("../../evil.txt", &b"x"[..]),
            ("/abs.txt", b"x"),
            ("ok/a.txt", b"kept"),
        ] {
            w.start_file(name, opts).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.add_symlink("ok/link", "/etc", opts).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("hostile.zip");
        std::fs::write(&archive, bytes).unwrap();
        let sha = "0".repeat(64);
        let entry = tmp.path().join("cache/archives").join(&sha);
        let x = extract(&archive, &sha, &entry).unwrap();
        let skipped: Vec<(&str, &str)> = x
            .skipped
            .iter()
            .map(|s| (s.name.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("../../evil.txt", "`.` or `..` path component"),
                ("/abs.txt", "absolute path"),
                ("ok/link", "symbolic link"),
            ]
        );
        assert_eq!(x.files, 1);
        let kept = std::fs::read(entry.join("data/ok/a.txt")).unwrap();
        assert_eq!(kept, b"kept");
        assert!(!tmp.path().join("evil.txt").exists());
        assert!(!entry.join("data/ok/link").exists());
    }
}
