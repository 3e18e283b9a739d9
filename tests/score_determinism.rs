//! Same seed, same bytes, in two processes (issue 32, item 0): the paper profile's smoke
//! run on a mock archive, reproduced twice by two `sarxai reproduce` processes into fresh
//! directories, gives byte-identical model weights, `per_image.csv` of both
//! polarizations, `table1.json`, `results.json` and `claims.json`; and two `sarxai score`
//! processes with every method and every metric on one of those models write the same
//! `per_image.csv` and `table1.json`. Before MKL's conditional numerical reproducibility
//! was set (src/mkl.rs), the models agreed on the AVX-512 Xeon but the scoring did not:
//! three such `score` processes wrote three different `per_image.csv`. With
//! `SARXAI_MKL=default` exported (MKL's CNR off, the old behaviour) this test fails there:
//! checked on 2026-12-06, the two reproduce runs differed in both `per_image.csv`, both
//! `table1.json` and `results.json`.
//!
//! Each process's MKL calls run in CNR mode (MKL's own `MKL_VERBOSE` report says
//! `CNR:AUTO`), and every manifest records the setting. On x86-64 only: libtorch links MKL
//! there (elsewhere there is no MKL to set).
#![cfg(target_arch = "x86_64")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("score-determinism");
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// A sarxai process with its own extraction cache and none of the caller's MKL settings.
fn sarxai(root: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sarxai"));
    c.env("SARXAI_CACHE", root.join("cache"))
        .env_remove("MKL_CBWR")
        .env_remove("MKL_VERBOSE");
    c
}

fn ok(c: &mut Command) -> String {
    let o = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{c:?} failed:\n{text}");
    text
}

/// The files of a run that must not depend on the process (timings excluded).
const SAME_BYTES: [&str; 10] = [
    "vh/model.safetensors",
    "vv/model.safetensors",
    "score-vh/per_image.csv",
    "score-vv/per_image.csv",
    "score-vh/table1.json",
    "score-vv/table1.json",
    "score-vh/images.csv",
    "score-vv/images.csv",
    "results.json",
    "claims.json",
];

#[test]
fn two_processes_reproduce_the_same_bytes_with_mkl_in_cnr_mode() {
    let root = root();
    let zip = root.join("mock.zip");
    ok(sarxai(&root)
        .args(["data", "mock-opensarurban", "--out"])
        .arg(&zip)
        .args(["--size", "32", "--per-class", "5"]));
    let runs: Vec<PathBuf> = ["a", "b"].iter().map(|r| root.join(r)).collect();
    for run in &runs {
        ok(sarxai(&root)
            .args(["reproduce", "--profile", "paper", "--smoke", "--data"])
            .arg(&zip)
            .args(["--allow-unpinned-data", "--device", "cpu", "--out"])
            .arg(run));
    }
    let differ: Vec<&str> = SAME_BYTES
        .iter()
        .copied()
        .filter(|f| {
            std::fs::read(runs[0].join(f)).unwrap() != std::fs::read(runs[1].join(f)).unwrap()
        })
        .collect();
    assert!(
        differ.is_empty(),
        "two processes with the same seed wrote different bytes: {differ:?} (compare {} and {})",
        runs[0].display(),
        runs[1].display()
    );

    // Every method and every metric (Max-Sensitivity, infidelity, MPRT, ...), twice.
    let scored: Vec<PathBuf> = ["score-1", "score-2"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    for out in &scored {
        ok(sarxai(&root)
            .args(["score", "--run"])
            .arg(runs[0].join("vv"))
            .args(["--per-class", "1", "--methods", "all", "--metrics", "all"])
            .args(["--device", "cpu", "--out"])
            .arg(out));
    }
    for f in ["per_image.csv", "table1.json"] {
        assert!(
            std::fs::read(scored[0].join(f)).unwrap() == std::fs::read(scored[1].join(f)).unwrap(),
            "two score processes with the same seed wrote different {f} ({} and {})",
            scored[0].display(),
            scored[1].display()
        );
    }

    // MKL's own report: every call of a scoring process in CNR mode.
    let verbose = ok(sarxai(&root)
        .env("MKL_VERBOSE", "1")
        .args(["score", "--run"])
        .arg(runs[0].join("vv"))
        .args([
            "--per-class",
            "1",
            "--methods",
            "saliency",
            "--device",
            "cpu",
        ])
        .args(["--out"])
        .arg(root.join("verbose")));
    let calls: Vec<&str> = verbose
        .lines()
        .filter(|l| l.starts_with("MKL_VERBOSE") && l.contains("GEMM"))
        .collect();
    assert!(!calls.is_empty(), "no MKL call reported:\n{verbose}");
    assert!(
        calls.iter().all(|l| l.contains("CNR:AUTO")),
        "an MKL call outside CNR mode: {:?}",
        calls.iter().find(|l| !l.contains("CNR:AUTO"))
    );

    // The setting is recorded where the numbers are: run.json and Table 1's notes.
    let run_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs[0].join("vv/run.json")).unwrap()).unwrap();
    let recorded = run_json["versions"]["mkl_cbwr"]
        .as_str()
        .unwrap_or_default();
    assert!(
        recorded.starts_with("MKL_CBWR=AUTO (set by sarxai"),
        "{run_json}"
    );
    let table = std::fs::read_to_string(runs[0].join("score-vv/table1.md")).unwrap();
    assert!(table.contains("MKL_CBWR=AUTO (set by sarxai"), "{table}");
}
