//! sarxai's metrics against Quantus 0.6.0 (issue 30, item 3) on fixtures/quantus/, which
//! scripts/quantus_goldens.py writes with Quantus (`--check` regenerates it byte for byte;
//! .ci/run does). `sarxai metrics` on the attribution arrays must give Quantus' per-image
//! scores under `--convention quantus` and sarxai's own formulas by default, within 1e-12
//! (both in float64); every difference between the two is docs/quantus.md's, measured
//! there. The Spearman similarity of the randomisation test and Infidelity with Quantus'
//! patch perturbations given are held at the library level.
//!
//! On real networks: scripts/golden_quantus_resnets.py (run at test time, about 2 min)
//! computes Captum 0.9's attributions of ResNet-18, -34 and -50 with all eight methods and
//! Quantus' scores of them; `sarxai metrics --convention quantus` on those arrays must give
//! Quantus' Sparseness, Complexity, pointing game and relevance mass accuracy within 1e-12,
//! and `sarxai sensitivity --perturbations P.npy` (sarxai's own attributions) Quantus'
//! MaxSensitivity with the same noise within each method's float32 bound against Captum in
//! tests/golden.rs (1e-4 relative for the four gradient methods, 1e-3 for Integrated
//! Gradients, Occlusion, Grad-CAM and Guided Grad-CAM): Max-Sensitivity is a ratio of the
//! attributions' differences, so it inherits their float32 error (measured on the ResNet-50
//! case: Occlusion 1.03e-4).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sarxai::metrics::infidelity::{infidelity_with, GivenPerturbations, InfidelityConfig};
use sarxai::metrics::randomisation::spearman;
use sarxai::metrics::MetricError;
use serde_json::Value;
use tch::{Kind, Tensor};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/quantus")
}

fn golden() -> Value {
    let p = fixtures().join("quantus_0.6.0.json");
    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
}

fn read(name: &str) -> Tensor {
    Tensor::read_npy(fixtures().join(name)).unwrap()
}

/// JSON numbers, null as NaN.
fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

/// `sarxai metrics --json` on the fixtures' attributions `attr` and masks.
fn sarxai_metrics(attr: &str, convention: &str) -> serde_json::Map<String, Value> {
    let f = fixtures();
    let list = "sparseness,complexity,pointing_game,relevance_mass_accuracy";
    metrics_of(&f.join(attr), &f.join("masks.npy"), list, convention)
}

/// `sarxai metrics --json` of `--metric list` on attributions and masks given by path.
fn metrics_of(
    attr: &Path,
    mask: &Path,
    list: &str,
    convention: &str,
) -> serde_json::Map<String, Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_sarxai"))
        .arg("metrics")
        .arg("--attr")
        .arg(attr)
        .arg("--mask")
        .arg(mask)
        .args([
            "--metric",
            list,
            "--convention",
            convention,
            "--device",
            "cpu",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut out = serde_json::Map::new();
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let row: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
        for (k, v) in row {
            let column = out.entry(k).or_insert_with(|| Value::Array(Vec::new()));
            column.as_array_mut().unwrap().push(v);
        }
    }
    out
}

/// Equal within `tol` absolute, NaN only where NaN is expected.
fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let same = (g.is_nan() && w.is_nan()) || (g - w).abs() <= tol;
        assert!(
            same,
            "{what}, image {i}: sarxai {g}, expected {w} (tolerance {tol:e})"
        );
    }
}

#[test]
fn sarxai_metrics_equals_quantus_under_its_convention_and_sarxais_formulas_by_default() {
    let g = golden();
    let m = &g["metrics"];
    for c in ["c1", "c2"] {
        let attr = format!("attr_{c}.npy");
        let ours = sarxai_metrics(&attr, "sarxai");
        let theirs = sarxai_metrics(&attr, "quantus");
        let col = |t: &serde_json::Map<String, Value>, k: &str| numbers(&t[k]);
        let sp = &m["sparseness"][c];
        assert_close(
            &format!("sparseness {c}"),
            &col(&ours, "sparseness"),
            &numbers(&sp["sarxai_formula_f64"]),
            1e-12,
        );
        assert_close(
            &format!("sparseness {c}, Quantus"),
            &col(&theirs, "sparseness"),
            &numbers(&sp["quantus_default_f64"]["scores"]),
            1e-12,
        );
        let cx = &m["complexity"][c];
        assert_close(
            &format!("complexity {c}"),
            &col(&ours, "complexity"),
            &numbers(&cx["reference_no_eps_f64"]),
            1e-12,
        );
        assert_close(
            &format!("complexity {c}, Quantus"),
            &col(&theirs, "complexity"),
            &numbers(&cx["quantus_default_f64"]["scores"]),
            1e-12,
        );
        let rma = &m["relevance_mass_accuracy"][c];
        assert_close(
            &format!("RMA {c}"),
            &col(&ours, "relevance_mass_accuracy"),
            &numbers(&rma["sarxai_formula_f64"]),
            1e-12,
        );
        assert_close(
            &format!("RMA {c}, Quantus"),
            &col(&theirs, "relevance_mass_accuracy"),
            &numbers(&rma["quantus_default_f64"]["scores"]),
            1e-12,
        );
        // The pointing game is one definition under both conventions; Quantus reports 1.0
        // for an empty mask (it stores NaN into a bool array), sarxai NaN (image 7).
        let pg = &m["pointing_game"][c];
        let want = numbers(&pg["sarxai_formula_f64"]);
        assert_close(
            &format!("pointing game {c}"),
            &col(&ours, "pointing_game"),
            &want,
            0.0,
        );
        assert_close(
            &format!("pointing game {c}, Quantus"),
            &col(&theirs, "pointing_game"),
            &want,
            0.0,
        );
        let q = numbers(&pg["quantus_default_f64"]["scores"]);
        assert_close(
            &format!("pointing game {c} vs Quantus"),
            &want[..7],
            &q[..7],
            0.0,
        );
        assert!(
            want[7].is_nan() && q[7] == 1.0,
            "the empty mask: sarxai {}, Quantus {}",
            want[7],
            q[7]
        );
    }
}

#[test]
fn spearman_of_the_randomisation_test_equals_quantus() {
    let g = golden();
    let m = &g["metrics"]["mprt_spearman"];
    let (a, b) = (read("attr_c2.npy"), read("attr_c2_b.npy"));
    for (key, abs) in [("abs_true", true), ("abs_false", false)] {
        let got = Vec::<f64>::try_from(spearman(&a, &b, abs).unwrap()).unwrap();
        assert_close(
            &format!("Spearman {key}"),
            &got,
            &numbers(&m[key]["scores"]),
            1e-12,
        );
    }
}

/// Quantus' toy model: `f_k(x) = sum(W[k] x) + q[k] sum(x^2)` (dyadic values, exact in
/// float32), the target's output of each row.
fn toy_model<'a>(
    w: &'a Tensor,
    q: &'a Tensor,
) -> impl Fn(&Tensor, &Tensor) -> Result<Tensor, MetricError> + 'a {
    move |x: &Tensor, t: &Tensor| {
        let n = x.size()[0];
        let flat = x.reshape([n, -1]);
        let linear = flat.matmul(&w.reshape([w.size()[0], -1]).transpose(0, 1));
        let square = (&flat * &flat).sum_dim_intlist(1, true, Kind::Float) * q.unsqueeze(0);
        Ok((linear + square)
            .gather(1, &t.unsqueeze(1), false)
            .squeeze_dim(1))
    }
}

#[test]
fn infidelity_with_quantus_patch_perturbations_equals_quantus() {
    let g = golden();
    let m = &g["metrics"]["infidelity"];
    let (w, q) = (read("infid_w.npy"), read("infid_q.npy"));
    let score = toy_model(&w, &q);
    let cfg = InfidelityConfig {
        samples: 9,
        normalize: false,
    };
    let v = infidelity_with(
        &score,
        64,
        &read("infid_x.npy"),
        &read("infid_targets.npy"),
        &read("infid_attr.npy"),
        &GivenPerturbations(read("infid_perturbations.npy")),
        &cfg,
    )
    .unwrap();
    let got = Vec::<f64>::try_from(v.to_kind(Kind::Double)).unwrap();
    let want = numbers(&m["quantus_scores"]);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-12 * w.abs(),
            "image {i}: sarxai {g}, Quantus {w}"
        );
    }
}

/// The eight methods with their float32 bounds (relative L2 error against Captum).
const METHODS: [(&str, f64); 8] = common::CAPTUM_F32_BOUNDS;

/// `sarxai sensitivity --method all --perturbations P.npy` of one architecture's case:
/// method -> per-image Max-Sensitivity.
fn sensitivity_of(case: &Path, arch: &str) -> serde_json::Map<String, Value> {
    let out = case.join("sensitivity");
    let o = Command::new(env!("CARGO_BIN_EXE_sarxai"))
        .arg("sensitivity")
        .arg("--weights")
        .arg(case.join("weights.safetensors"))
        .args(["--arch", arch, "--method", "all", "--device", "cpu"])
        .arg("--input")
        .arg(case.join("X.npy"))
        .arg("--target")
        .arg(case.join("T.npy"))
        .arg("--perturbations")
        .arg(case.join("P.npy"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    METHODS
        .iter()
        .map(|(m, _)| {
            let p = out.join(format!("{m}.sensitivity.json"));
            let j: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (m.to_string(), j["max_sensitivity"].clone())
        })
        .collect()
}

#[test]
fn sarxai_on_captums_attributions_of_three_resnets_equals_quantus_for_all_eight_methods() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/golden_quantus_resnets.py");
    let python = common::python();
    let o = Command::new(&python)
        .arg(&script)
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run `bash ci/bootstrap.sh` first)",
                python.display()
            )
        });
    assert!(
        o.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let q: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("quantus.json")).unwrap()).unwrap();
    let list = "sparseness,complexity,pointing_game,relevance_mass_accuracy";
    for (arch, methods) in q["archs"].as_object().unwrap() {
        let case = dir.path().join(arch);
        let ms = sensitivity_of(&case, arch);
        for (method, bound) in METHODS {
            let want = &methods[method];
            let attr = case.join(format!("{method}.npy"));
            let got = metrics_of(&attr, &case.join("mask.npy"), list, "quantus");
            for key in list.split(',') {
                let what = format!("{arch} {method} {key}");
                assert_close(&what, &numbers(&got[key]), &numbers(&want[key]), 1e-12);
            }
            let ours = numbers(&ms[method]);
            let theirs = numbers(&want["max_sensitivity"]);
            for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                let rel = (a - b).abs() / b.abs();
                assert!(
                    rel <= bound,
                    "{arch} {method} Max-Sensitivity image {i}: sarxai {a}, Quantus {b} ({rel:e} > {bound:e})"
                );
            }
        }
    }
}
