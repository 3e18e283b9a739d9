//! Replicate models (issue 27, item 3): `sarxai reproduce --replicates 2` trains a second
//! model per channel from a derived seed, scores it on the same images, decides the claims
//! on both (the two-level bootstrap: models, then images), writes Table 1 over the models
//! with the spread between and within them, pins both models, and `claims check
//! --recompute` passes and names a tampered per-image value of the replicate. The base
//! model of a replicate run is the one-model run's, byte for byte.
//!
//! The run is the transfer profile's smoke on a small copy of MSTAR SOC (real radar, tens of
//! seconds a model, like tests/crash_campaign.rs), so it needs ../shared/data.

mod common;

use std::path::Path;

use common::{reproduce, sarxai, small_mstar};

fn check(run: &Path) -> (bool, String) {
    let o = sarxai()
        .args(["claims", "check", "--recompute", "4", "--device", "cpu"])
        .arg(run)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn replicate_models_are_trained_pooled_pinned_and_recomputed() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("mstar");
    small_mstar(&data);
    let (run, one) = (root.path().join("run"), root.path().join("one"));
    let log = root.path().join("log.txt");
    let ok = reproduce(&data, &run, &log)
        .args(["--replicates", "2"])
        .status()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(ok.success(), "reproduce --replicates 2 failed:\n{text}");
    assert!(text.contains("model 2 of 2"), "{text}");

    // Both models' runs, each with its seed; the base model keeps the configured seed.
    for d in ["hh", "hh-r1", "score-hh", "score-hh-r1"] {
        assert!(run.join(d).is_dir(), "missing {d}");
    }
    let results = json(&run.join("results.json"));
    let models = &results["models"];
    assert_eq!(models["hh"]["seed"], 0);
    let seed = models["hh-r1"]["seed"].as_u64().unwrap();
    assert_eq!(seed, sarxai::reproduce::replicate_seed(0, 1));
    assert_eq!(results["evidence"]["hh"]["replicates"][0]["key"], "hh-r1");
    let pins = json(&run.join("pins.json"));
    let hashes = &pins["model_hashes"];
    assert!(
        hashes["hh"].is_string() && hashes["hh"] != hashes["hh-r1"],
        "{hashes}"
    );
    assert_eq!(pins["seeds"]["train-hh-r1"].as_u64(), Some(seed));
    assert_eq!(pins["seeds"]["train"], 0);

    // Table 1 over the models, and verdicts on both.
    let table = std::fs::read_to_string(run.join("table1_models.md")).unwrap();
    assert!(
        table.contains("2 models on the same") && table.contains("sd between models"),
        "{table}"
    );
    let report = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(report.contains("id=\"table1-models-hh\""));
    let claims = std::fs::read_to_string(run.join("claims.txt")).unwrap();
    assert!(
        claims.contains("hierarchical bootstrap (2 models, then images"),
        "{claims}"
    );

    // The base model is the one-model run's: same weights, same per-image values.
    let ok = reproduce(&data, &one, &log).status().unwrap();
    assert!(ok.success(), "{}", std::fs::read_to_string(&log).unwrap());
    for f in [
        "hh/model.sha256",
        "score-hh/per_image.csv",
        "score-hh/images.csv",
    ] {
        assert_eq!(
            std::fs::read(run.join(f)).unwrap(),
            std::fs::read(one.join(f)).unwrap(),
            "{f} differs between the replicate run and the one-model run"
        );
    }

    // claims check re-measures both models' pins and recomputes every model's values: the
    // accuracies of hh, hh-r1 and their pool.
    let (ok, out) = check(&run);
    assert!(ok && out.contains("all within tolerance"), "{out}");
    assert!(out.contains("3 test accuracies"), "{out}");

    // A tampered value of the replicate's per_image.csv is named.
    let csv = run.join("score-hh-r1/per_image.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let at = header.iter().position(|h| *h == "entropy_kb").unwrap();
    let mut row: Vec<String> = lines[1].split(',').map(String::from).collect();
    let image = row[0].clone();
    row[at] = format!("{}", row[at].parse::<f64>().unwrap() + 1.0);
    lines[1] = row.join(",");
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let (ok, out) = check(&run);
    assert!(!ok, "a tampered replicate value passed:\n{out}");
    assert!(
        out.contains("evidence.hh-r1.") && out.contains(&format!("image {image}")),
        "{out}"
    );
}

#[test]
fn replicates_refuse_a_selection_that_depends_on_the_model() {
    let o = sarxai()
        .args(["reproduce", "--replicates", "2", "--correct-only", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("--correct-only") && err.contains("same test images"),
        "{err}"
    );
    let o = sarxai()
        .args(["reproduce", "--replicates", "0"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--replicates"));
}
