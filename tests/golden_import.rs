//! `sarxai model import` against torch (issue 30, item 1): scripts/golden_import.py saves
//! torchvision ResNet-18/50/101 checkpoints with torch 2.11 (1, 2 and 3 input channels, 10
//! classes; plain, wrapped in a training script's dict, DataParallel- and
//! Lightning-prefixed, without BatchNorm's counters as torch < 0.4.1 saved them,
//! TorchScript) with the logits torch computes; each must import to logits equal to torch's within 1e-5 of the
//! largest logit, and load on the fly wherever weights are taken. The files sarxai must
//! refuse (a whole pickled model, the legacy format, another architecture, a broken
//! state_dict, two models, a corrupt zip) must fail naming the reason, writing nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use tch::Tensor;

fn sarxai(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sarxai"))
        .args(args)
        .output()
        .expect("run sarxai")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary path")
}

/// Runs scripts/golden_import.py into a fresh directory; returns it and its cases.
fn generate() -> (tempfile::TempDir, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/golden_import.py");
    let out = Command::new(common::python())
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let cases = std::fs::read_to_string(dir.path().join("cases.json")).unwrap();
    (dir, serde_json::from_str(&cases).unwrap())
}

/// max |a - b| / max |b|.
fn relative_error(a: &Tensor, b: &Tensor) -> f64 {
    let diff = (a - b).abs().max().double_value(&[]);
    diff / b.abs().max().double_value(&[])
}

fn logits(weights: &Path, input: &Path, out: &Path) -> Tensor {
    let o = sarxai(&[
        "model",
        "logits",
        "--weights",
        path(weights),
        "--input",
        path(input),
        "--out",
        path(out),
        "--device",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Tensor::read_npy(out).unwrap()
}

fn check_importable(dir: &Path, tmp: &Path, case: &serde_json::Value) {
    let name = case["case"].as_str().unwrap();
    let file = dir.join(case["file"].as_str().unwrap());
    let arch = case["arch"].as_str().unwrap();
    let weights = tmp.join(format!("{name}.safetensors"));
    let o = sarxai(&[
        "model",
        "import",
        path(&file),
        "--arch",
        arch,
        "--out",
        path(&weights),
        "--json",
    ]);
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["config"]["arch"], arch, "{name}");
    assert_eq!(report["config"]["in_channels"], case["channels"], "{name}");
    assert_eq!(report["config"]["num_classes"], 10, "{name}");
    let want = Tensor::read_npy(dir.join(format!("{name}.logits.npy"))).unwrap();
    let x = dir.join(format!("{name}.x.npy"));
    let imported = logits(&weights, &x, &tmp.join(format!("{name}.a.npy")));
    let err = relative_error(&imported, &want);
    assert!(
        err <= 1e-5,
        "{name}: logits differ from torch's by {err:e} of the largest"
    );
    println!("{name}: imported, logits within {err:.1e} of torch's");
    if arch != "resnet18" {
        return;
    }
    // The PyTorch file itself, imported on the fly, gives the same bytes and hash.
    let direct = logits(&file, &x, &tmp.join(format!("{name}.b.npy")));
    assert!(direct.equal(&imported), "{name}: on-the-fly import differs");
    let hash = sarxai(&["model", "hash", path(&file)]);
    let hash = String::from_utf8_lossy(&hash.stdout);
    assert!(
        hash.starts_with(report["model_hash"].as_str().unwrap()),
        "{name}: {hash}"
    );
}

fn check_refused(dir: &Path, tmp: &Path, case: &serde_json::Value) {
    let name = case["case"].as_str().unwrap();
    let file = dir.join(case["file"].as_str().unwrap());
    let out = tmp.join(format!("{name}.safetensors"));
    let mut args = vec!["model", "import", path(&file), "--out", path(&out)];
    if let Some(arch) = case["arch"].as_str() {
        args.extend(["--arch", arch]);
    }
    let o = sarxai(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{name}: imported, should be refused");
    for words in case["expect"].as_array().unwrap() {
        let words = words.as_str().unwrap();
        assert!(
            err.contains(words),
            "{name}: the error lacks '{words}':\n{err}"
        );
    }
    assert!(!out.exists(), "{name}: {} written", out.display());
    println!("{name}: refused: {}", err.lines().next().unwrap_or(""));
}

/// `sarxai sensitivity` on a PyTorch file records where the weights came from, with the
/// file's SHA-256 (as `score` does in score.json and Table 1's notes).
fn check_records_the_source(dir: &Path, tmp: &Path) {
    let file = dir.join("resnet18_c1_dataparallel.pth");
    let targets = tmp.join("t.npy");
    Tensor::from_slice(&[3i64, 7]).write_npy(&targets).unwrap();
    let out = tmp.join("sens");
    let o = sarxai(&[
        "sensitivity",
        "--weights",
        path(&file),
        "--arch",
        "resnet18",
        "--input",
        path(&dir.join("resnet18_c1_dataparallel.x.npy")),
        "--target",
        path(&targets),
        "--method",
        "saliency",
        "--samples",
        "2",
        "--device",
        "cpu",
        "--out",
        path(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("saliency.sensitivity.json")).unwrap())
            .unwrap();
    let source = json["settings"]["weights_source"]
        .as_str()
        .unwrap_or_default();
    let (sha, _) = sarxai::io::sha256_file(&file).unwrap();
    assert!(
        source.contains(&sha) && source.contains("prefix 'module.' stripped"),
        "{source}"
    );
}

#[test]
fn torch_checkpoints_import_to_torchs_logits_and_bad_ones_are_refused_by_name() {
    let (dir, cases) = generate();
    let tmp = tempfile::tempdir().unwrap();
    let cases = cases["cases"].as_array().unwrap();
    let mut imported: Vec<PathBuf> = Vec::new();
    for case in cases {
        if case["expect"] == "ok" {
            check_importable(dir.path(), tmp.path(), case);
            imported.push(case["file"].as_str().unwrap().into());
        } else {
            check_refused(dir.path(), tmp.path(), case);
        }
    }
    check_records_the_source(dir.path(), tmp.path());
    let chosen = tmp.path().join("chosen.safetensors");
    let two = dir.path().join("two_models.pth");
    let o = sarxai(&[
        "model",
        "import",
        path(&two),
        "--key",
        "model",
        "--out",
        path(&chosen),
    ]);
    assert!(
        o.status.success(),
        "--key: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    for arch in ["resnet18", "resnet50", "resnet101"] {
        assert!(
            imported
                .iter()
                .any(|f| f.to_string_lossy().starts_with(arch)),
            "no {arch} case"
        );
    }
}
