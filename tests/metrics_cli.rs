//! `sarxai metrics` with a model (issue 30, item 2): on attributions `sarxai explain` made
//! for a random ResNet-18, every metric that re-runs the model or the method is computed,
//! twice to the same bytes; the Captum 0.9 column is Max-Sensitivity times sqrt(samples)
//! for Grad-CAM and equal to it otherwise; Sparseness equals the library's on the same
//! array; a metric missing what it needs fails naming the flag.

use std::path::Path;
use std::process::{Command, Output};

use sarxai::model::{Arch, ResNet, ResNetConfig};
use tch::{Device, Kind, Tensor};

fn sarxai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sarxai"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = sarxai(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A random ResNet-18 (1 channel, 3 classes), two 64 x 64 inputs (a 2 x 2 Grad-CAM map: a 1 x 1 map has no Spearman correlation), their targets and a mask.
fn setup(dir: &Path) {
    tch::manual_seed(3);
    let m = ResNet::new(
        ResNetConfig::new(Arch::Resnet18, 1, 3).unwrap(),
        Device::Cpu,
    );
    sarxai::model::save(&m, &dir.join("w.safetensors")).unwrap();
    Tensor::randn([2, 1, 64, 64], (Kind::Float, Device::Cpu))
        .write_npy(dir.join("x.npy"))
        .unwrap();
    Tensor::from_slice(&[0i64, 2])
        .write_npy(dir.join("t.npy"))
        .unwrap();
    let mask = Tensor::zeros([2, 64, 64], (Kind::Uint8, Device::Cpu));
    let _ = mask.narrow(1, 16, 24).narrow(2, 16, 24).fill_(1);
    mask.write_npy(dir.join("m.npy")).unwrap();
}

fn explain(dir: &Path, method: &str) {
    ok(&[
        "explain",
        "--weights",
        p(&dir.join("w.safetensors")),
        "--arch",
        "resnet18",
        "--input",
        p(&dir.join("x.npy")),
        "--target",
        p(&dir.join("t.npy")),
        "--method",
        method,
        "--out",
        p(&dir.join("attr")),
        "--device",
        "cpu",
    ]);
}

fn metrics(dir: &Path, method: &str, list: &str) -> Vec<serde_json::Value> {
    let attr = dir.join(format!("attr/{method}.npy"));
    ok(&[
        "metrics",
        "--attr",
        p(&attr),
        "--mask",
        p(&dir.join("m.npy")),
        "--weights",
        p(&dir.join("w.safetensors")),
        "--input",
        p(&dir.join("x.npy")),
        "--target",
        p(&dir.join("t.npy")),
        "--method",
        method,
        "--metric",
        list,
        "--json",
        "--device",
        "cpu",
        "--threads",
        "1",
    ])
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect()
}

fn value(row: &serde_json::Value, key: &str) -> f64 {
    row[key].as_f64().unwrap_or(f64::NAN)
}

#[test]
fn every_metric_runs_on_explain_output_deterministically_and_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    for method in ["saliency", "grad-cam"] {
        explain(d, method);
        let rows = metrics(d, method, "all");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows,
            metrics(d, method, "all"),
            "{method}: a second run differs"
        );
        let attr = Tensor::read_npy(d.join(format!("attr/{method}.npy"))).unwrap();
        let full = attr.upsample_nearest2d([64, 64], None, None);
        let sparse =
            Vec::<f64>::try_from(sarxai::metrics::sparseness::sparseness(&full).unwrap()).unwrap();
        for (i, row) in rows.iter().enumerate() {
            for key in [
                "deletion_auc",
                "insertion_auc",
                "infidelity",
                "max_sensitivity",
                "mprt_fc_spearman",
                "mprt_all_spearman",
                "pointing_game",
                "complexity",
            ] {
                assert!(
                    value(row, key).is_finite(),
                    "{method} image {i}: {key} = {}",
                    row[key]
                );
            }
            assert_eq!(value(row, "sparseness"), sparse[i], "{method} image {i}");
            let factor = if method == "grad-cam" {
                10f64.sqrt()
            } else {
                1.0
            };
            let ms = value(row, "max_sensitivity");
            let reported = value(row, "max_sensitivity_captum09");
            assert!(
                (reported - factor * ms).abs() <= 1e-12 * reported.abs(),
                "{method}: {reported} vs {ms}"
            );
        }
    }
}

#[test]
fn a_metric_without_what_it_needs_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    explain(d, "saliency");
    let attr = d.join("attr/saliency.npy");
    for (list, flag) in [
        ("pointing_game", "--mask"),
        ("deletion_auc", "--weights"),
        ("complexity,infidelity", "--weights"),
    ] {
        let o = sarxai(&[
            "metrics",
            "--attr",
            p(&attr),
            "--metric",
            list,
            "--device",
            "cpu",
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(flag), "{list}: {err}");
    }
    let o = sarxai(&[
        "metrics",
        "--attr",
        p(&attr),
        "--weights",
        p(&d.join("w.safetensors")),
        "--input",
        p(&d.join("x.npy")),
        "--target",
        p(&d.join("t.npy")),
        "--metric",
        "max_sensitivity",
        "--device",
        "cpu",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--method"), "{err}");
    let o = sarxai(&["metrics", "--attr", p(&d.join("t.npy")), "--device", "cpu"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("t.npy") && err.contains("attributions"),
        "{err}"
    );
    // An unknown key: the error lists every metric, scoring's and complexity.
    let o = sarxai(&["metrics", "--attr", p(&attr), "--metric", "bogus"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("unknown metric 'bogus'"),
        "{err}"
    );
    for m in sarxai::score::Metric::ALL {
        assert!(err.contains(m.key()), "{err}");
    }
    assert!(err.contains("complexity"), "{err}");
}
