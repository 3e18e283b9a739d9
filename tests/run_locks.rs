//! Every command that writes into a directory takes its lock (issue 32, item 4): a second
//! `score` or `merge` into a directory another process is writing is refused, naming the
//! holder's pid, start time and command line, and writes nothing; `claims check` of a run
//! still being written says "run in progress" instead of judging half-written files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::sarxai;

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A one-epoch ResNet-18 on tiny synthetic data (32 px, 6 images per class), trained once.
fn tiny_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let run = tempfile::tempdir().unwrap().keep().join("run");
        let o = common::train_tiny(&common::tiny_data(), &run, "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr_of(&o));
        run
    })
}

/// `sarxai score` of the tiny run into `out` (all methods and metrics of one image per
/// class: seconds, long enough to meet a second writer).
fn score(out: &Path, methods: &str) -> Command {
    let mut c = sarxai();
    c.args([
        "score",
        "--quiet",
        "--device",
        "cpu",
        "--per-class",
        "1",
        "--run",
    ])
    .arg(tiny_run())
    .args(["--methods", methods, "--metrics", "all", "--out"])
    .arg(out);
    c
}

fn refused_naming_the_holder(o: &Output, dir: &Path, holder: &str) {
    let e = stderr_of(o);
    assert!(!o.status.success(), "a second writer was let in:\n{e}");
    assert!(
        e.contains("in use by another sarxai process")
            && e.contains(dir.to_str().unwrap())
            && e.contains(" since 20")
            && e.contains(holder),
        "{e}"
    );
}

/// `score` and `merge` into a directory another `score` is writing: exit 1, "in use by
/// another sarxai process (pid N since <UTC time>: sarxai score ...)"; the first completes
/// with all its rows and releases the lock.
#[test]
fn a_second_score_or_merge_into_a_directory_being_scored_is_refused() {
    let out = tempfile::tempdir().unwrap().keep().join("score");
    let mut first = score(&out, "all")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !out.join(".sarxai.lock").is_file()
        && first.try_wait().unwrap().is_none()
        && t0.elapsed() < Duration::from_secs(300)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = score(&out, "saliency").output().unwrap();
    let merge = sarxai().arg("merge").arg(&out).arg(&out).output().unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr_of(&first));
    refused_naming_the_holder(&second, &out, "sarxai score");
    refused_naming_the_holder(&merge, &out, "sarxai score");
    // The first finished intact (all eight methods), and released the lock.
    let csv = std::fs::read_to_string(out.join("per_image.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 10 * 8, "{csv}");
    assert!(!out.join(".sarxai.lock").exists());
}

/// `claims check` of a run directory whose lock another process holds: exit 1, "run in
/// progress" naming the holder, no verdict printed.
#[test]
fn claims_check_of_a_run_being_written_says_run_in_progress() {
    let run = tempfile::tempdir().unwrap().keep().join("run");
    let lock = sarxai::io::lock_dir(&run).unwrap();
    let o = sarxai()
        .args(["claims", "check", "--device", "cpu"])
        .arg(&run)
        .output()
        .unwrap();
    let e = stderr_of(&o);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains("run in progress")
            && e.contains(&format!("pid {} since 20", std::process::id()))
            && !e.contains("FAIL"),
        "{e}"
    );
    drop(lock);
    // Once the writer is gone the check reads the run (here: nothing there to read).
    let o = sarxai()
        .args(["claims", "check", "--device", "cpu"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        !stderr_of(&o).contains("run in progress"),
        "{}",
        stderr_of(&o)
    );
}
