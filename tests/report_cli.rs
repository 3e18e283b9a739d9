//! `sarxai score` from the command line on tiny synthetic data: it writes the per-image
//! results, Table 1 and Figure 1; bad input (a run directory from another model hash, a
//! method name that does not exist, N larger than the test split) is a clear error.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use sarxai::model::{self, Arch, ResNet, ResNetConfig};
use tch::Device;

fn tiny_data() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::synthetic(5, 4))
}

/// A random 1-channel, 10-class ResNet-18 saved as `dir/name`.
fn weights(dir: &Path, name: &str, seed: i64) -> PathBuf {
    tch::manual_seed(seed);
    let m = ResNet::new(
        ResNetConfig::new(Arch::Resnet18, 1, 10).unwrap(),
        Device::Cpu,
    );
    let p = dir.join(name);
    model::save(&m, &p).unwrap();
    p
}

fn score(w: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sarxai"));
    c.args(["score", "--weights"])
        .arg(w)
        .arg("--data")
        .arg(tiny_data())
        .args([
            "--pol", "vh", "--size", "32", "--device", "cpu", "--quiet", "--out",
        ])
        .arg(out)
        .args(extra);
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn score_cli_writes_the_table_and_figure_and_refuses_another_model() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (
        weights(tmp.path(), "a.safetensors", 1),
        weights(tmp.path(), "b.safetensors", 2),
    );
    let out = tmp.path().join("scores");
    let args = [
        "--methods",
        "saliency,grad-cam",
        "--metrics",
        "paper",
        "--images",
        "2",
    ];
    let o = score(&a, &out, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("# Table 1 (VH)"), "{stdout}");
    assert!(stdout.contains("Seconds per image"), "{stdout}");
    for f in [
        "per_image.csv",
        "table1.md",
        "table1.csv",
        "table1.json",
        "figure1_vh.png",
        "entropy_settings.csv",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let before = std::fs::read(out.join("per_image.csv")).unwrap();
    assert_eq!(String::from_utf8_lossy(&before).lines().count(), 1 + 2 * 2);

    // The same command again: everything is resumed, nothing recomputed.
    let o = score(&a, &out, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("resumed: 4 image x method pair(s)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(out.join("per_image.csv")).unwrap(), before);

    // Another model into the same directory.
    let o = score(&b, &out, &args);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("run directory from another model hash"), "{e}");
    assert_eq!(std::fs::read(out.join("per_image.csv")).unwrap(), before);
}

#[test]
fn unknown_method_and_metric_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let w = weights(tmp.path(), "w.safetensors", 1);
    let out = tmp.path().join("scores");
    let o = score(&w, &out, &["--methods", "saliency,lime"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("unknown attribution method 'lime'") && e.contains("integrated-gradients"),
        "{e}"
    );
    let o = score(&w, &out, &["--metrics", "entropy,roar"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown metric 'roar'"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn more_images_than_the_test_split_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let w = weights(tmp.path(), "w.safetensors", 1);
    let out = tmp.path().join("scores");
    let o = score(&w, &out, &["--images", "100000"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("--images 100000 is larger than the test split, which has"),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn a_killed_run_resumes_to_the_uninterrupted_results() {
    let tmp = tempfile::tempdir().unwrap();
    let w = weights(tmp.path(), "w.safetensors", 7);
    let (killed, full) = (tmp.path().join("killed"), tmp.path().join("full"));
    let args = [
        "--methods",
        "all",
        "--metrics",
        "paper",
        "--images",
        "4",
        "--threads",
        "1",
    ];

    let mut c = Command::new(env!("CARGO_BIN_EXE_sarxai"));
    c.args(["score", "--weights"])
        .arg(&w)
        .arg("--data")
        .arg(tiny_data())
        .args([
            "--pol", "vh", "--size", "32", "--device", "cpu", "--quiet", "--out",
        ])
        .arg(&killed)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    // Kill it once the first image's eight rows are on disk.
    let csv = killed.join("per_image.csv");
    let t0 = std::time::Instant::now();
    let rows = loop {
        let n = std::fs::read_to_string(&csv)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if n > 1 + 8 || t0.elapsed().as_secs() > 600 {
            break n;
        }
        if child.try_wait().unwrap().is_some() {
            break n;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        rows < 1 + 4 * 8,
        "the run finished before it could be killed ({rows} lines)"
    );

    let o = score(&w, &killed, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("resumed:"), "{}", stderr(&o));
    let o = score(&w, &full, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "per_image.csv",
        "table1.md",
        "table1.json",
        "table1.csv",
        "figure1_vh.png",
    ] {
        assert_eq!(
            std::fs::read(killed.join(f)).unwrap(),
            std::fs::read(full.join(f)).unwrap(),
            "{f} differs after resumption"
        );
    }
}
