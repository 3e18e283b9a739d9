//! sarxai's metrics against Quantus 0.6.0 (issue 30, item 3) on fixtures/quantus/, which
//! scripts/quantus_goldens.py writes with Quantus (`--check` regenerates it byte for byte;
//! .ci/run does). `sarxai metrics` on the attribution arrays must give Quantus' per-image
//! scores under `--convention quantus` and sarxai's own formulas by default, within 1e-12
//! (both in float64); every difference between the two is docs/quantus.md's, measured
//! there. The Spearman similarity of the randomisation test and Infidelity with Quantus'
//! patch perturbations given are held at the library level.

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

/// `sarxai metrics --json` on attributions `attr` and the masks: metric -> per-image values.
fn sarxai_metrics(attr: &str, convention: &str) -> serde_json::Map<String, Value> {
    let f = fixtures();
    let o = Command::new(env!("CARGO_BIN_EXE_sarxai"))
        .arg("metrics")
        .arg("--attr")
        .arg(f.join(attr))
        .arg("--mask")
        .arg(f.join("masks.npy"))
        .args([
            "--metric",
            "sparseness,complexity,pointing_game,relevance_mass_accuracy",
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
