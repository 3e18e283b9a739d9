//! `sarxai train` and `sarxai eval` from the command line: bad input gives clear errors
//! and overwrites nothing; a killed run resumes to the uninterrupted model hash; a second
//! train on a run directory in use is refused; eval reports what it promises.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::Command;

fn tiny_data() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::synthetic(5, 6))
}

/// Arguments of a tiny CPU run on the tiny synthetic data.
fn tiny_args(out: &Path, epochs: usize) -> Vec<String> {
    [
        "train",
        "--data",
        tiny_data().to_str().unwrap(),
        "--pol",
        "vh",
        "--size",
        "32",
        "--epochs",
        &epochs.to_string(),
        "--batch-size",
        "8",
        "--seed",
        "4",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn sarxai() -> Command {
    Command::cargo_bin("sarxai").unwrap()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn hash_from_stdout(out: &std::process::Output) -> String {
    let s = String::from_utf8_lossy(&out.stdout);
    s.lines()
        .find_map(|l| l.strip_prefix("model hash: "))
        .unwrap_or_else(|| panic!("no model hash in {s}"))
        .trim()
        .to_string()
}

#[test]
fn missing_data_dir_is_a_clear_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = sarxai()
        .args([
            "train",
            "--data",
            "/nonexistent/sar",
            "--pol",
            "vh",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr_of(&o);
    assert!(
        e.contains("/nonexistent/sar") && e.contains("no such directory"),
        "{e}"
    );
    assert!(!out.exists());
    let o = sarxai()
        .args(["train", "--pol", "vh", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(stderr_of(&o).contains("--synthetic"), "{}", stderr_of(&o));
}

#[test]
fn unknown_arch_and_bad_options_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = sarxai()
        .args(["train", "--synthetic", "--arch", "vgg16", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr_of(&o).contains("unknown architecture 'vgg16'"),
        "{}",
        stderr_of(&o)
    );
    let o = sarxai()
        .args(["train", "--synthetic", "--batch-size", "0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(stderr_of(&o).contains("batch_size"), "{}", stderr_of(&o));
    let cfg = tmp.path().join("c.yaml");
    std::fs::write(&cfg, "epochz: 3\n").unwrap();
    let o = sarxai()
        .args(["train", "--synthetic", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(stderr_of(&o).contains("epochz"), "{}", stderr_of(&o));
    assert!(!out.exists());
}

/// Writes a 32x32 8-bit grey PNG whose pattern depends on the class.
fn write_chip(path: &Path, class: usize, k: usize) {
    let n = 32usize;
    let px: Vec<u8> = (0..n * n)
        .map(|i| {
            let (x, y) = (i % n, i / n);
            let base = ((i * 7 + k * 13) % 23) as u8;
            base + if (x / 4 + class * y / 4) % 2 == 0 {
                120
            } else {
                10
            }
        })
        .collect();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::save_buffer(path, &px, n as u32, n as u32, image::ExtendedColorType::L8).unwrap();
}

#[test]
fn a_class_without_samples_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("folders");
    for split in ["train", "test"] {
        for (c, name) in ["alpha", "beta"].iter().enumerate() {
            for k in 0..4 {
                write_chip(
                    &data.join(split).join(name).join(format!("{name}{k}.png")),
                    c,
                    k,
                );
            }
        }
    }
    std::fs::create_dir_all(data.join("train").join("gamma")).unwrap();
    let out = tmp.path().join("run");
    let o = sarxai()
        .args(["train", "--data"])
        .arg(&data)
        .args([
            "--size", "32", "--epochs", "1", "--device", "cpu", "--quiet", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr_of(&o);
    assert!(
        e.contains("gamma") && e.contains("without any image"),
        "{e}"
    );
    assert!(!out.exists());

    // A class present only in the test split.
    std::fs::remove_dir(data.join("train").join("gamma")).unwrap();
    for k in 0..2 {
        write_chip(
            &data.join("test").join("gamma").join(format!("g{k}.png")),
            2,
            k,
        );
    }
    let o = sarxai()
        .args(["train", "--data"])
        .arg(&data)
        .args([
            "--size", "32", "--epochs", "1", "--device", "cpu", "--quiet", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr_of(&o);
    assert!(
        e.contains("gamma") && e.contains("no training sample"),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn an_existing_run_is_never_overwritten_and_resume_checks_the_arch() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let o = sarxai()
        .args(tiny_args(&run, 2))
        .arg("--stop-after-epoch")
        .arg("1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    let ckpt = run.join("checkpoint.safetensors");
    let before = std::fs::read(&ckpt).unwrap();

    // Same --out again.
    let o = sarxai().args(tiny_args(&run, 2)).output().unwrap();
    assert!(!o.status.success());
    assert!(stderr_of(&o).contains("--resume"), "{}", stderr_of(&o));
    assert_eq!(std::fs::read(&ckpt).unwrap(), before);

    // --resume with another architecture.
    let o = sarxai()
        .args(["train", "--resume"])
        .arg(&run)
        .args(["--arch", "resnet34", "--quiet"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr_of(&o);
    assert!(
        e.contains("model.arch") && e.contains("resnet34") && e.contains("resnet18"),
        "{e}"
    );
    assert_eq!(std::fs::read(&ckpt).unwrap(), before);

    // A checkpoint from a ResNet-34 run dropped into this run.
    let other = tmp.path().join("other");
    let mut args = tiny_args(&other, 2);
    args.extend(["--arch", "resnet34", "--stop-after-epoch", "1"].map(String::from));
    let o = sarxai().args(&args).output().unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    std::fs::copy(other.join("checkpoint.safetensors"), &ckpt).unwrap();
    let foreign = std::fs::read(&ckpt).unwrap();
    let o = sarxai()
        .args(["train", "--resume"])
        .arg(&run)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr_of(&o);
    assert!(
        e.contains("holds a resnet34") && e.contains("resnet18"),
        "{e}"
    );
    assert_eq!(std::fs::read(&ckpt).unwrap(), foreign);
    assert!(!run.join("model.safetensors").exists());

    // A truncated checkpoint.
    std::fs::write(&ckpt, &before[..before.len() / 3]).unwrap();
    let o = sarxai()
        .args(["train", "--resume"])
        .arg(&run)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr_of(&o).contains("truncated"), "{}", stderr_of(&o));

    // --resume of a directory without a run.
    let o = sarxai()
        .args(["train", "--resume"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(stderr_of(&o).contains("config.yaml"), "{}", stderr_of(&o));
}

/// A run killed mid-run (checkpoint epoch below the last, no final model) resumes to the
/// uninterrupted model hash.
#[test]
fn a_killed_run_resumes_to_the_uninterrupted_hash_and_eval_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    let o = sarxai().args(tiny_args(&full, 4)).output().unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    let want = hash_from_stdout(&o);

    let killed = tmp.path().join("killed");
    let bin = assert_cmd::cargo::cargo_bin("sarxai");
    let mut child = StdCommand::new(bin)
        .args(tiny_args(&killed, 4))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !killed.join("metrics.jsonl").exists() && t0.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    // The kill landed mid-run: no final model, and the checkpoint is of an earlier epoch.
    assert!(
        !killed.join("model.safetensors").exists(),
        "the run finished before the kill; the test proves nothing"
    );
    let done = sarxai::train::checkpoint::load(&killed.join("checkpoint.safetensors"))
        .unwrap()
        .state
        .epochs_done;
    assert!(
        (1..4).contains(&done),
        "checkpoint after {done} of 4 epochs"
    );
    let o = sarxai()
        .args(["train", "--resume"])
        .arg(&killed)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert_eq!(hash_from_stdout(&o), want);

    // eval: JSON with the CI, balanced accuracy, per-class metrics and confusion matrix.
    let o = sarxai()
        .args(["eval", "--device", "cpu", "--json", "--weights"])
        .arg(full.join("model.safetensors"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(full.join("eval.json")).unwrap()).unwrap();
    assert_eq!(r["accuracy"], saved["accuracy"]);
    assert_eq!(r["confusion"], saved["confusion"]);
    assert_eq!(r["classes"].as_array().unwrap().len(), 10);
    let (lo, hi, acc) = (
        r["ci95"]["lo"].as_f64().unwrap(),
        r["ci95"]["hi"].as_f64().unwrap(),
        r["accuracy"].as_f64().unwrap(),
    );
    assert!(lo <= acc && acc <= hi);
    assert!(r["balanced_accuracy"].as_f64().is_some());

    let report = tmp.path().join("report");
    let o = sarxai()
        .args(["eval", "--device", "cpu", "--split", "val", "--weights"])
        .arg(full.join("model.safetensors"))
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("val: accuracy") && text.contains("confusion matrix"),
        "{text}"
    );
    assert!(report.join("confusion.png").is_file());
}

/// `train --resume` and `train --out` on a directory another train is writing: exit 1, "in use by
/// another sarxai process (pid N)"; the first run completes.
#[test]
fn a_second_train_on_a_run_directory_in_use_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let bin = assert_cmd::cargo::cargo_bin("sarxai");
    let first = StdCommand::new(&bin)
        .args(tiny_args(&run, 6))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !run.join("metrics.jsonl").exists() && t0.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(run.join(".sarxai.lock").is_file());
    // Resuming it, or starting another run into it, while it trains.
    let resume = sarxai()
        .args(["train", "--quiet", "--resume"])
        .arg(&run)
        .output()
        .unwrap();
    let fresh = sarxai().args(tiny_args(&run, 6)).output().unwrap();
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    for (what, second) in [("--resume", resume), ("--out", fresh)] {
        let e = stderr_of(&second);
        assert!(
            !second.status.success()
                && e.contains("in use by another sarxai process")
                && e.contains(run.to_str().unwrap()),
            "{what}: {e}"
        );
    }
    // The first run finished intact and released the lock.
    assert!(!hash_from_stdout(&o).is_empty());
    assert!(run.join("model.safetensors").is_file() && run.join("eval.json").is_file());
    assert!(!run.join(".sarxai.lock").exists());
}
