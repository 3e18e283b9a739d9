//! Small I/O helpers shared by every module: atomic writes, SHA-256 digests and the
//! run-directory lock.
//!
//! Every file sarxai writes goes through [`write_atomic`]: the bytes land in a temporary
//! file in the destination's directory, are flushed and synced, and the file is renamed
//! over the destination. A crash, a full disk or a read-only directory leaves either the
//! old file or the new one, never half of one. The file gets the mode `File::create`
//! would give it (0666 less the umask).
//!
//! [`lock_dir`] makes `train` and `reproduce` refuse a run directory that another sarxai
//! process is writing.
//!
//! [`injected_fault`] is the write-fault hook of the fault tests (`tests/write_faults.rs`):
//! `SARXAI_FAULT_WRITE=report.html` makes every write of a file whose path ends with that
//! name fail as a full disk does, after part of its bytes were written.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Writes a file atomically: `fill` writes into a temporary file next to `path`, which is
/// synced and renamed over `path` only when `fill` succeeds.
pub fn write_atomic_with<F>(path: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let named =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()));
    fs::create_dir_all(dir).map_err(named)?;
    let mut tmp = temp_file_in(dir).map_err(named)?;
    {
        let mut buf = io::BufWriter::new(tmp.as_file_mut());
        fill(&mut buf).map_err(named)?;
        buf.flush().map_err(named)?;
    }
    injected_fault(path).map_err(named)?;
    tmp.as_file().sync_all().map_err(named)?;
    tmp.persist(path).map_err(|e| named(e.error))?;
    Ok(())
}

/// The variable naming the files whose writes [`injected_fault`] fails.
pub const FAULT_WRITE_VAR: &str = "SARXAI_FAULT_WRITE";

/// The write-fault hook (issue 32, item 2; SQLite's I/O-error injection in small): when
/// `SARXAI_FAULT_WRITE` is set and `path` ends with it (whole path components:
/// `report.html`, `score-hh/per_image.csv`), a full disk (ENOSPC). Called by every writer
/// after its bytes are in the temporary file (or, for appends, after half of them are in
/// the file), so the test sees what a disk filling up mid-write leaves. Unset, as always
/// outside the fault tests, it costs one environment lookup per file written.
pub fn injected_fault(path: &Path) -> io::Result<()> {
    match std::env::var_os(FAULT_WRITE_VAR) {
        Some(name) if !name.is_empty() && path.ends_with(Path::new(&name)) => Err(io::Error::new(
            io::ErrorKind::StorageFull,
            "No space left on device (injected by SARXAI_FAULT_WRITE)",
        )),
        _ => Ok(()),
    }
}

/// A temporary file in `dir` created with mode 0666 less the umask, as `File::create`
/// creates files (tempfile's default is 0600). Removed when dropped unless persisted.
pub fn temp_file_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(".sarxai-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Passed to open(2) as the creation mode, so the kernel applies the umask.
        b.permissions(fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir)
}

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Lower-case hexadecimal encoding.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of a byte slice, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of a file's contents, streamed, as lower-case hex, with the file's size.
pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n_total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        n_total += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex(&h.finalize()), n_total))
}

/// Name of the lock file [`lock_dir`] holds in a run directory.
pub const LOCK_FILE: &str = ".sarxai.lock";

/// Why a run directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error("{dir} is in use by another sarxai process ({holder}); wait for it to finish or choose another directory (nothing was written)")]
    Busy {
        /// The run directory.
        dir: PathBuf,
        /// The holder as the lock file records it: `pid N since <UTC time>: <command line>`.
        holder: String,
    },
    /// The lock file cannot be created or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
}

/// An exclusive lock on a run directory, held until dropped (for the process lifetime at
/// the latest: the kernel releases it when the process dies, even on `kill -9`).
///
/// Dropping removes the lock file, and the directories [`lock_dir`] created when they
/// are still empty, so a command that fails before writing leaves nothing behind.
#[derive(Debug)]
pub struct DirLock {
    file: fs::File,
    path: PathBuf,
    created: Vec<PathBuf>,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Unlinked while still locked: a process that opened the old file and locks it
        // after this one exits sees that the path no longer names its file, and retries.
        let _ = fs::remove_file(&self.path);
        let _ = &self.file;
        for d in &self.created {
            if fs::remove_dir(d).is_err() {
                break;
            }
        }
    }
}

/// What the lock file says of its holder: `pid N since 2026-12-06T06:37:14Z: sarxai score
/// --run ...` (the process id, its start of holding in UTC and its command line).
fn holder_line() -> String {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let args: Vec<String> = std::env::args().collect();
    let command = match args.split_first() {
        Some((exe, rest)) => {
            let name = Path::new(exe)
                .file_name()
                .map_or_else(|| exe.clone(), |n| n.to_string_lossy().into_owned());
            std::iter::once(name)
                .chain(rest.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ")
        }
        None => String::new(),
    };
    format!(
        "pid {} since {}: {command}",
        std::process::id(),
        utc_rfc3339(since)
    )
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC; the civil-from-days
/// algorithm of Howard Hinnant's date library, proleptic Gregorian). Written here because
/// one timestamp in a lock file does not justify a date crate.
pub fn utc_rfc3339(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// The holder of `dir`'s lock while another process writes the run (`Some(holder)`), or
/// `None` when no process holds it (readers use this to say "run in progress" instead of
/// judging half-written files). Takes and at once releases the lock when it is free.
pub fn lock_holder(dir: &Path) -> Result<Option<String>, LockError> {
    if !dir.is_dir() {
        return Ok(None);
    }
    match lock_dir(dir) {
        Ok(_free) => Ok(None),
        Err(LockError::Busy { holder, .. }) => Ok(Some(holder)),
        Err(e) => Err(e),
    }
}

/// Locks `dir` (created when missing) with an exclusive `flock` on `dir/.sarxai.lock`,
/// without waiting: a second process gets [`LockError::Busy`] naming the holder's pid,
/// start time and command line.
pub fn lock_dir(dir: &Path) -> Result<DirLock, LockError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LockError::Io { path, source }
    };
    // The directories this call creates, deepest first.
    let mut created = Vec::new();
    let mut d = Some(dir);
    while let Some(p) = d.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        created.push(p.to_path_buf());
        d = p.parent();
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join(LOCK_FILE);
    let cleanup = |created: &[PathBuf]| {
        for d in created {
            if fs::remove_dir(d).is_err() {
                break;
            }
        }
    };
    for _ in 0..16 {
        let mut file = match fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) => {
                cleanup(&created);
                return Err(io_err(&path)(e));
            }
        };
        if let Err(e) = try_lock(&file) {
            if e.kind() == io::ErrorKind::WouldBlock {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "pid unknown".to_string(),
                    h if h.starts_with("pid ") => h.to_string(),
                    pid => format!("pid {pid}"),
                };
                return Err(LockError::Busy {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            cleanup(&created);
            return Err(io_err(&path)(e));
        }
        if !same_file(&file, &path) {
            continue;
        }
        let _ = file
            .set_len(0)
            .and_then(|()| file.write_all(holder_line().as_bytes()));
        return Ok(DirLock {
            file,
            path,
            created,
        });
    }
    cleanup(&created);
    Err(io_err(&path)(io::Error::other(
        "the lock file kept being replaced while locking it",
    )))
}

/// Non-blocking exclusive `flock` (what `File::try_lock` does on Linux; called directly
/// because the crate's minimum Rust version predates that method).
#[cfg(unix)]
fn try_lock(file: &fs::File) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this `File` owns.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &fs::File) -> io::Result<()> {
    Ok(())
}

/// Whether `path` still names the open `file` (same device and inode).
#[cfg(unix)]
fn same_file(file: &fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &fs::File, _path: &Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_fips_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let (d, n) = sha256_file(&p).unwrap();
        assert_eq!(n, 3);
        assert_eq!(d, sha256_hex(b"two"));
    }

    #[test]
    fn failed_fill_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"old").unwrap();
        let r = write_atomic_with(&p, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
    #[test]
    fn a_second_lock_is_refused_and_dropping_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("a").join("run");
        let lock = lock_dir(&run).unwrap();
        assert!(run.join(LOCK_FILE).is_file());
        let e = lock_dir(&run).unwrap_err();
        assert!(matches!(e, LockError::Busy { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("in use by another sarxai process")
                && msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(lock);
        // Nothing was written: the lock file and the directories it created are gone.
        assert!(!dir.path().join("a").exists());
        // A directory with outputs stays.
        let lock = lock_dir(&run).unwrap();
        write_atomic(&run.join("x"), b"x").unwrap();
        drop(lock);
        assert!(run.join("x").is_file() && !run.join(LOCK_FILE).exists());
        let _again = lock_dir(&run).unwrap();
    }

    #[test]
    fn a_read_only_directory_is_a_named_error_without_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        // A path below a regular file cannot be created, even by root.
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"").unwrap();
        let p = blocker.join("out.txt");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("out.txt"), "{e}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
    #[cfg(target_os = "linux")]
    #[test]
    fn written_files_get_the_mode_the_umask_gives() {
        use std::os::unix::fs::PermissionsExt;
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
            .expect("Umask line in /proc/self/status");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"x").unwrap();
        let q = dir.path().join("b.txt");
        fs::File::create(&q).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o666 & !umask);
        assert_eq!(mode(&p), mode(&q));
    }

    #[test]
    fn utc_timestamps_follow_the_calendar() {
        assert_eq!(super::utc_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc_rfc3339(1_796_535_434), "2026-12-06T05:37:14Z");
    }
}
