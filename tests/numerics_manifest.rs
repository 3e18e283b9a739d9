//! The numerics settings (issue 15) are applied before any work and recorded: a tiny
//! `sarxai train` on CPU writes the flags read back from libtorch into run.json
//! (`versions.numerics`); `--cuda-fast` turns them the other way. The flags are global
//! libtorch settings, applied and readable without CUDA.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;

fn tiny_data() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::synthetic(5, 6))
}

/// Trains one epoch on the tiny data (CPU, one thread) and returns run.json's
/// `versions.numerics`.
fn numerics_of_train(extra: &[&str]) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut args = vec![
        "train",
        "--data",
        tiny_data().to_str().unwrap(),
        "--pol",
        "vh",
        "--size",
        "32",
        "--epochs",
        "1",
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
    ];
    args.extend_from_slice(extra);
    Command::cargo_bin("sarxai")
        .unwrap()
        .args(&args)
        .assert()
        .success();
    let run: Value = serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    run["versions"]["numerics"].clone()
}

#[test]
fn train_records_the_deterministic_settings_read_back() {
    let n = numerics_of_train(&[]);
    assert_eq!(
        n,
        serde_json::json!({
            "allow_tf32_cublas": false,
            "allow_tf32_cudnn": false,
            "cudnn_benchmark": false,
            "cudnn_deterministic": true,
            "deterministic_algorithms": true,
            "deterministic_warn_only": true,
        }),
        "run.json versions.numerics"
    );
}

#[test]
fn cuda_fast_is_recorded() {
    let n = numerics_of_train(&["--cuda-fast"]);
    assert_eq!(
        n,
        serde_json::json!({
            "allow_tf32_cublas": true,
            "allow_tf32_cudnn": true,
            "cudnn_benchmark": true,
            "cudnn_deterministic": false,
            "deterministic_algorithms": false,
            "deterministic_warn_only": false,
        }),
        "run.json versions.numerics with --cuda-fast"
    );
}
