//! Helpers shared by integration tests (each test file that needs them declares
//! `mod common;`): tiny synthetic runs, and the transfer smoke on real MSTAR chips.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// MSTAR SOC in ../shared/data (or $SARXAI_SHARED_DATA); fails naming the folder when it
/// is absent (the tests that call this run because the build required the shared data).
pub fn shared_mstar() -> PathBuf {
    let base = std::env::var_os("SARXAI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let d = base.join("mstar-soc");
    assert!(
        d.is_dir(),
        "{} is absent: this test runs on real MSTAR chips (research data, not in the \
         repository) in ../shared/data or $SARXAI_SHARED_DATA; it runs because \
         SARXAI_REQUIRE_SHARED=1 was set at build time",
        d.display()
    );
    d
}

/// The eight methods with their float32 bounds against Captum (relative L2 error of the
/// attributions; tests/golden.rs measures them, tests/golden_quantus.rs holds
/// Max-Sensitivity, a ratio of attribution differences, to the same bounds).
pub const CAPTUM_F32_BOUNDS: [(&str, f64); 8] = [
    ("saliency", 1e-4),
    ("input-x-gradient", 1e-4),
    ("guided-backprop", 1e-4),
    ("deconvolution", 1e-4),
    ("integrated-gradients", 1e-3),
    ("occlusion", 1e-3),
    ("grad-cam", 1e-3),
    ("guided-grad-cam", 1e-3),
];

/// The reference stack's Python (torch 2.11.0, torchvision 0.26.0, captum 0.9.0), which
/// ci/bootstrap.sh installs into .venv.
pub fn python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run `bash ci/bootstrap.sh` first",
        py.display()
    );
    py
}

/// Six training and two test chips of each MSTAR class, copied into `to`.
pub fn small_mstar(to: &Path) {
    let src = shared_mstar();
    for split in ["train", "test"] {
        for class in std::fs::read_dir(src.join(split)).unwrap() {
            let class = class.unwrap().path();
            let mut files: Vec<PathBuf> = std::fs::read_dir(&class)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            let dir = to.join(split).join(class.file_name().unwrap());
            std::fs::create_dir_all(&dir).unwrap();
            for f in files.iter().take(if split == "train" { 6 } else { 2 }) {
                std::fs::copy(f, dir.join(f.file_name().unwrap())).unwrap();
            }
        }
    }
}

/// The files of a transfer smoke run that must come out of an interrupted and resumed run
/// byte for byte (timing files and the report page, which shows timings, excluded).
pub const COMPARED: [&str; 8] = [
    "hh/model.safetensors",
    "score-hh/per_image.csv",
    "score-hh/images.csv",
    "score-hh/table1.json",
    "results.json",
    "pins.json",
    "claims.json",
    "claims.txt",
];

/// `sarxai reproduce --profile transfer --smoke` of `data` into `run`, standard error into
/// `log`.
pub fn reproduce(data: &Path, run: &Path, log: &Path) -> Command {
    let mut c = sarxai();
    c.args([
        "reproduce",
        "--profile",
        "transfer",
        "--smoke",
        "--device",
        "cpu",
    ])
    .arg("--data")
    .arg(data)
    .arg("--out")
    .arg(run)
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(log).unwrap());
    c
}

/// The [`COMPARED`] files of `run`.
pub fn snapshot(run: &Path) -> BTreeMap<&'static str, Vec<u8>> {
    COMPARED
        .iter()
        .map(|f| {
            let p = run.join(f);
            (
                *f,
                std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            )
        })
        .collect()
}

/// The `sarxai` binary of this build.
pub fn sarxai() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sarxai"))
}

/// Synthetic data (10 classes, 32 px, `per_class` patches, generator seed `seed`) in a
/// fresh directory that outlives the test.
pub fn synthetic(seed: u64, per_class: usize) -> PathBuf {
    let data = tempfile::tempdir().unwrap().keep().join("synth");
    let cfg = sarxai::data::synth::SynthConfig {
        seed,
        per_class,
        size: 32,
        looks: 4.0,
    };
    sarxai::data::synth::generate(&cfg, &data).unwrap();
    data
}

/// Tiny synthetic data (32 px, 6 images per class, seed 5) in a fresh directory.
pub fn tiny_data() -> PathBuf {
    synthetic(5, 6)
}

/// `sarxai train` of a 32-pixel ResNet-18 on `data` (VH, CPU, one thread) into `out`.
pub fn train_tiny(data: &Path, out: &Path, epochs: &str) -> Command {
    let mut c = sarxai();
    c.args(["train", "--pol", "vh", "--size", "32", "--epochs", epochs])
        .args(["--device", "cpu", "--threads", "1", "--quiet", "--data"])
        .arg(data)
        .arg("--out")
        .arg(out);
    c
}

pub fn score_tiny(run: &Path, out: &Path) -> Command {
    let mut c = sarxai();
    c.args(["score", "--quiet", "--device", "cpu", "--threads", "1"])
        .args([
            "--per-class",
            "1",
            "--methods",
            "saliency,grad-cam,occlusion",
        ])
        .args(["--metrics", "all", "--run"])
        .arg(run)
        .arg("--out")
        .arg(out);
    c
}

/// Fails unless each of `files` has the same bytes in the directories `a` and `b`.
pub fn assert_same_files(a: &Path, b: &Path, files: &[&str]) {
    for f in files {
        let read = |d: &Path| std::fs::read(d.join(f)).unwrap();
        assert!(
            read(a) == read(b),
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// Temporary files (`.sarxai-tmp-*`) anywhere under `dir`.
pub fn temporaries(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".sarxai-tmp-"))
        .map(|e| e.path().display().to_string())
        .collect()
}
