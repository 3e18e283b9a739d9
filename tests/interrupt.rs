//! SIGINT and SIGTERM during a long stage (issue 32, item 5): the process stops at its next
//! safe point with a line saying where, keeps the checkpoint (training) or the finished
//! images (scoring), exits 143 (SIGTERM) or 130 (SIGINT), and the same command run again
//! resumes to the bytes of a run that was never interrupted.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{assert_same_files, sarxai, score_tiny as score, tiny_data, train_tiny as train};

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(c: &mut Command) -> Output {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{:?}: {}", c, stderr_of(&o));
    o
}

/// Starts `c`, waits until `ready()` (at most 10 minutes), sends `signal`, and returns
/// what the process printed and how it ended.
fn signal_when(c: &mut Command, ready: impl Fn() -> bool, signal: i32) -> Output {
    let child: Child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !ready() {
        assert!(t0.elapsed() < Duration::from_secs(600), "never ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill(2) on the pid of a child this test owns and has not waited for.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    child.wait_with_output().unwrap()
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// SIGTERM while training (12 epochs, sent after the first): exit 143, "stopped by SIGTERM
/// after epoch N of 12: its checkpoint ... kept", no final weights, lock released;
/// `train --resume` ends with the model hash of an uninterrupted run.
#[test]
fn sigterm_during_training_keeps_the_checkpoint_exits_143_and_resumes_to_the_same_model() {
    let data = tiny_data();
    let root = data.parent().unwrap();
    let (run, reference) = (root.join("run"), root.join("reference"));
    let metrics = run.join("metrics.jsonl");
    let o = signal_when(
        &mut train(&data, &run, "12"),
        || lines(&metrics) >= 1,
        libc::SIGTERM,
    );
    let e = stderr_of(&o);
    assert_eq!(o.status.code(), Some(143), "{e}");
    assert!(
        e.contains("stopped by SIGTERM after epoch ")
            && e.contains(" of 12: its checkpoint ")
            && e.contains("run the same command again to resume"),
        "{e}"
    );
    let done = lines(&metrics);
    assert!((1..12).contains(&done), "{done} epochs done");
    assert!(run.join("checkpoint.safetensors").is_file());
    assert!(!run.join("model.safetensors").exists());
    assert!(!run.join(".sarxai.lock").exists(), "lock left behind");

    ok(sarxai().args(["train", "--quiet", "--resume"]).arg(&run));
    ok(&mut train(&data, &reference, "12"));
    let hash = |d: &Path| std::fs::read_to_string(d.join("model.sha256")).unwrap();
    assert_eq!(hash(&run), hash(&reference));
}

/// SIGINT while scoring (sent once the first image's rows are in per_image.csv): exit 130,
/// "stopped by SIGINT after image N of 10", the finished rows kept, no Table 1; the same
/// command resumes to per_image.csv and Table 1 byte-identical to an uninterrupted score.
#[test]
fn sigint_during_scoring_keeps_the_finished_images_exits_130_and_resumes_to_the_same_bytes() {
    let data = tiny_data();
    let root = data.parent().unwrap();
    let run = root.join("run");
    ok(&mut train(&data, &run, "1"));
    let (out, reference) = (root.join("score"), root.join("reference"));
    let per_image = out.join("per_image.csv");
    // Header and the three methods of the first image.
    let o = signal_when(
        &mut score(&run, &out),
        || lines(&per_image) >= 4,
        libc::SIGINT,
    );
    let e = stderr_of(&o);
    assert_eq!(o.status.code(), Some(130), "{e}");
    assert!(
        e.contains("stopped by SIGINT after image ") && e.contains(" of 10: the rows of every"),
        "{e}"
    );
    let kept = lines(&per_image);
    assert!((4..1 + 10 * 3).contains(&kept), "{kept} lines kept");
    assert!(!out.join("table1.md").exists());

    let resumed = ok(&mut score(&run, &out));
    assert!(stderr_of(&resumed).contains("resumed: "));
    ok(&mut score(&run, &reference));
    assert_same_files(
        &out,
        &reference,
        &["per_image.csv", "table1.csv", "table1.json", "images.csv"],
    );
}

/// A second SIGTERM before the safe point kills at once, as if no handler were installed:
/// the process dies of the signal (no exit status), and `train --resume` still continues
/// from the last checkpoint.
#[test]
fn a_second_sigterm_kills_at_once() {
    use std::os::unix::process::ExitStatusExt;
    let data = tiny_data();
    let run = data.parent().unwrap().join("run");
    let metrics = run.join("metrics.jsonl");
    let child = train(&data, &run, "12")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while lines(&metrics) < 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "never trained an epoch"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    for _ in 0..2 {
        // SAFETY: kill(2) on the pid of a child this test owns and has not waited for.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.signal(), Some(libc::SIGTERM), "{}", stderr_of(&o));
    assert!(lines(&metrics) < 12, "the run finished before the signals");
    let resumed = sarxai()
        .args(["train", "--quiet", "--resume"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", stderr_of(&resumed));
}
