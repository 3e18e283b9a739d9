//! The paper profile end to end at the smoke budget on the mock archive (issue 14):
//! `sarxai reproduce --profile paper --smoke --data mock.zip` completes through the same
//! stages as the real run (archive pin check, extraction, format choice, training, scoring,
//! pins, claims, report), every verdict is marked "smoke: not comparable" and "unpinned",
//! and `sarxai claims check --recompute 8` passes. Then the check refuses or FAILs, naming
//! the pin or the value, when one byte of the zip, one number of results.json, one weight,
//! or recorded pins are changed; a flipped zip given to reproduce is refused before any
//! work, naming both digests. `data inspect` of the same zip is an insta snapshot.
//!
//! The mock zip is generated once per test binary (tiny: 32 px, 5 patches per class, with
//! the defects the loader must skip). The mock is not the real archive, so the run uses
//! `--allow-unpinned-data` and the digest test uses `--data-sha256` with the unflipped
//! digest. The run directory target/claims-smoke is rebuilt each time and kept afterwards.
//! On the 2-core machine of 2026-12-02 (shared, noisy) the reproduce took about 4 min and
//! each claims check with recomputation about 13 s.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

struct Fixture {
    root: PathBuf,
    zip: PathBuf,
    digest: String,
}

fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The mock archive, generated once for every test of this binary.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("claims-smoke");
        if root.exists() {
            std::fs::remove_dir_all(&root).unwrap();
        }
        std::fs::create_dir_all(&root).unwrap();
        let zip = root.join("mock.zip");
        let o = Command::new(env!("CARGO_BIN_EXE_sarxai"))
            .args(["data", "mock-opensarurban", "--out"])
            .arg(&zip)
            .args(["--size", "32", "--per-class", "5", "--with-defects"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let digest = sha256(&zip);
        Fixture { root, zip, digest }
    })
}

/// A sarxai command with its own extraction cache.
fn sarxai(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sarxai"));
    c.env("SARXAI_CACHE", cache);
    c
}

/// Exit status and stdout + stderr.
fn run(c: &mut Command) -> (bool, String) {
    let o = c.output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn check(f: &Fixture, run_dir: &Path, recompute: &str) -> (bool, String) {
    run(sarxai(&f.root.join("cache"))
        .args(["claims", "check"])
        .arg(run_dir)
        .args(["--recompute", recompute, "--device", "cpu"]))
}

/// Flips one bit of the byte `offset_from_end` bytes before the end of `path`; returns the
/// original content.
fn flip(path: &Path, offset_from_end: usize) -> Vec<u8> {
    let original = std::fs::read(path).unwrap();
    let mut bytes = original.clone();
    let i = bytes.len() - offset_from_end;
    bytes[i] ^= 0x01;
    std::fs::write(path, &bytes).unwrap();
    original
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn inspect_of_the_mock_zip_lists_groups_classes_pairing_and_skips() {
    let f = fixture();
    // A copy: the other test flips a byte of the fixture's zip for a while.
    let here = f.root.join("inspect");
    std::fs::create_dir_all(&here).unwrap();
    std::fs::copy(&f.zip, here.join("mock.zip")).unwrap();
    let o = sarxai(&here.join("cache"))
        .current_dir(&here)
        .args([
            "data",
            "inspect",
            "mock.zip",
            "--classes",
            "opensarurban",
            "--data-sha256",
            &f.digest,
        ])
        .output()
        .unwrap();
    // Standard output only: standard error names the machine's cache path.
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = out.replace(&f.digest, "<mock digest>");
    for part in [
        "format group :tiff (holds tiff:f32x1",
        "format group uint16:tiff",
        "VH/VV pairs",
        "unpaired: no _vv partner",
        "zero-size file",
        "unknown class \"harbour\"",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    insta::assert_snapshot!("inspect_smoke_mock_zip", text);
}

#[test]
fn smoke_run_passes_claims_check_and_tampering_is_named() {
    let f = fixture();
    let dir = f.root.join("run");
    let t = std::time::Instant::now();
    let (ok, log) = run(sarxai(&f.root.join("cache"))
        .args(["reproduce", "--profile", "paper", "--smoke", "--data"])
        .arg(&f.zip)
        .args(["--allow-unpinned-data", "--device", "cpu", "--out"])
        .arg(&dir));
    assert!(ok, "reproduce --smoke failed:\n{log}");
    eprintln!("reproduce --smoke: {:.0} s", t.elapsed().as_secs_f64());
    assert!(
        log.contains("format: tiff:f32")
            && log.contains("resnet18 on the given data, 1 epoch(s), 32 px"),
        "{log}"
    );
    recorded_pins_and_marks(f, &dir);

    let t = std::time::Instant::now();
    let (ok, out) = check(f, &dir, "8");
    assert!(ok, "claims check failed on a fresh smoke run:\n{out}");
    eprintln!(
        "claims check --recompute 8: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert!(
        out.contains("8 of 160 (image, method) pairs") && out.contains("all within tolerance"),
        "{out}"
    );
    assert!(
        out.contains("every verdict marked \"smoke: not comparable\"")
            && out.contains("every verdict marked \"unpinned\""),
        "{out}"
    );

    tampered_results_fail_naming_the_value(f, &dir);
    tampered_weights_refuse_naming_the_model_hash(f, &dir);
    flipped_zip_refuses_naming_both_digests(f, &dir);
    tampered_pins_are_each_named(f, &dir);

    let (ok, out) = check(f, &dir, "1");
    assert!(ok, "the restored run no longer passes:\n{out}");
}

/// RUN/pins.json, results.json, claims.txt and report.html after the smoke run.
fn recorded_pins_and_marks(f: &Fixture, dir: &Path) {
    let pins = json(&dir.join("pins.json"));
    assert_eq!(pins["archive_sha256"], f.digest.as_str());
    assert_eq!(pins["archive_status"], "unpinned");
    assert_eq!(pins["smoke"], true);
    for key in ["members", "selection", "model_hashes", "device", "numerics"] {
        for pol in ["vh", "vv"] {
            assert!(
                pins[key][pol].as_str().is_some_and(|v| !v.is_empty()),
                "pins.json {key}.{pol}: {pins}"
            );
        }
    }
    for part in ["train", "val", "test"] {
        assert_eq!(pins["splits"]["vh"][part].as_str().unwrap().len(), 64);
    }
    for seed in ["train", "split", "selection"] {
        assert!(pins["seeds"][seed].is_u64(), "seed {seed}: {pins}");
    }
    assert_eq!(pins["versions"]["libtorch"], "2.11.0");
    let results = json(&dir.join("results.json"));
    assert_eq!(
        results["marks"],
        serde_json::json!(["smoke: not comparable", "unpinned"])
    );
    let claims = std::fs::read_to_string(dir.join("claims.txt")).unwrap();
    let rows: Vec<&str> = claims
        .lines()
        .filter(|l| {
            ["PASS ", "FAIL ", "INCONCLUSIVE ", "NOT RUN "]
                .iter()
                .any(|v| l.starts_with(v))
        })
        .collect();
    assert!(rows.len() >= 40, "{claims}");
    for r in &rows {
        assert!(
            r.ends_with("[smoke: not comparable; unpinned]"),
            "a verdict without its marks: {r}"
        );
    }
    let verdicts = json(&dir.join("claims.json"));
    assert!(verdicts.as_array().unwrap().iter().all(|v| v["measured"]
        .as_str()
        .unwrap()
        .ends_with("[smoke: not comparable; unpinned]")));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("marked \u{201c}smoke: not comparable\u{201d}")
            && html.contains("marked \u{201c}unpinned\u{201d}"),
        "the report does not carry the marks"
    );
}

fn tampered_results_fail_naming_the_value(f: &Fixture, dir: &Path) {
    let path = dir.join("results.json");
    let original = std::fs::read(&path).unwrap();
    let mut r: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let cell = &mut r["table1"]["vv"]["saliency"]["max_sensitivity"];
    *cell = serde_json::json!(cell.as_f64().unwrap() * 1.001);
    std::fs::write(&path, serde_json::to_vec_pretty(&r).unwrap()).unwrap();
    let (ok, out) = check(f, dir, "1");
    std::fs::write(&path, &original).unwrap();
    assert!(
        !ok && out.contains("FAIL     table1.vv.saliency.max_sensitivity: recorded"),
        "a changed number of results.json was not named:\n{out}"
    );
    // One per-image value the verdicts rest on (issue 27): named with its image.
    let mut r: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let image = r["evidence"]["vv"]["images"][0].as_u64().unwrap();
    let v = &mut r["evidence"]["vv"]["values"]["saliency"]["max_sensitivity"][0];
    *v = serde_json::json!(v.as_f64().unwrap() * 1.001);
    std::fs::write(&path, serde_json::to_vec_pretty(&r).unwrap()).unwrap();
    let (ok, out) = check(f, dir, "1");
    std::fs::write(&path, &original).unwrap();
    let named = format!("FAIL     evidence.vv.saliency.max_sensitivity image {image}: recorded");
    assert!(
        !ok && out.contains(&named),
        "a changed per-image value of results.json was not named ({named}):\n{out}"
    );
}

fn tampered_weights_refuse_naming_the_model_hash(f: &Fixture, dir: &Path) {
    let recorded = json(&dir.join("pins.json"))["model_hashes"]["vh"]
        .as_str()
        .unwrap()
        .to_string();
    let w = dir.join("vh").join("model.safetensors");
    let original = flip(&w, 100);
    let (ok, out) = check(f, dir, "1");
    std::fs::write(&w, &original).unwrap();
    assert!(
        !ok && out.contains("pin 'model_hashes.vh' disagrees: expected ")
            && out.contains(&recorded),
        "a changed weight was not refused naming the model hash:\n{out}"
    );
}

fn flipped_zip_refuses_naming_both_digests(f: &Fixture, dir: &Path) {
    // After the run: claims check re-hashes the archive the run read.
    let original = flip(&f.zip, 1000);
    let flipped = sha256(&f.zip);
    let (ok, out) = check(f, dir, "1");
    // Before any work: reproduce refuses a zip that is not the digest it must have.
    let repro = f.root.join("run-flipped");
    let (repro_ok, repro_out) = run(sarxai(&f.root.join("cache"))
        .args(["reproduce", "--profile", "paper", "--smoke", "--data"])
        .arg(&f.zip)
        .args(["--data-sha256", &f.digest, "--device", "cpu", "--out"])
        .arg(&repro));
    std::fs::write(&f.zip, &original).unwrap();
    assert!(
        !ok && out.contains("pin 'archive_sha256' disagrees")
            && out.contains(&f.digest)
            && out.contains(&flipped),
        "claims check on a flipped zip did not name both digests:\n{out}"
    );
    assert!(
        !repro_ok && repro_out.contains(&f.digest) && repro_out.contains(&flipped),
        "reproduce on a flipped zip did not refuse naming both digests:\n{repro_out}"
    );
    assert!(!repro.join("vh").exists(), "work started on a flipped zip");
}

fn tampered_pins_are_each_named(f: &Fixture, dir: &Path) {
    let path = dir.join("pins.json");
    let original = std::fs::read(&path).unwrap();
    let mut p: serde_json::Value = serde_json::from_slice(&original).unwrap();
    p["seeds"]["split"] = serde_json::json!(7);
    p["numerics"]["vv"] = serde_json::json!("libtorch numerics: TF32 cuBLAS on");
    std::fs::write(&path, serde_json::to_vec_pretty(&p).unwrap()).unwrap();
    let (ok, out) = check(f, dir, "1");
    // The data pins are re-derived from the re-loaded data and model.
    let mut q: serde_json::Value = serde_json::from_slice(&original).unwrap();
    q["members"]["vh"] = serde_json::json!("0".repeat(64));
    q["members"]["vv"] = serde_json::json!("1".repeat(64));
    std::fs::write(&path, serde_json::to_vec_pretty(&q).unwrap()).unwrap();
    let (ok2, out2) = check(f, dir, "1");
    std::fs::write(&path, &original).unwrap();
    assert!(
        !ok && out.contains("2 pin(s) disagree")
            && out.contains("pin 'seeds.split' disagrees: expected 7, found 0")
            && out.contains("pin 'numerics.vv' disagrees"),
        "{out}"
    );
    assert!(
        !ok2 && out2.contains("2 pin(s) disagree")
            && out2.contains(&format!(
                "pin 'members.vh' disagrees: expected {}",
                "0".repeat(64)
            ))
            && out2.contains(&format!(
                "pin 'members.vv' disagrees: expected {}",
                "1".repeat(64)
            )),
        "{out2}"
    );
}
