//! The quick profile end to end (issue 7): `sarxai reproduce` with the run directory and
//! the six gradient methods, `sarxai claims check` on its output, and tampering with the
//! weights or a data file makes the check refuse, naming the pin; tampering with a number
//! of results.json or per_image.csv is caught by the check's recomputation from the weights
//! and data, naming the value. A second `reproduce` on the same directory while the first
//! runs is refused (the run-directory lock) and the first finishes intact. The run
//! directory target/claims-quick is removed first, so every run builds its inputs fresh (a
//! directory left by an earlier build would be resumed with stale stages); it is kept
//! afterwards for CI to upload.
//!
//! Occlusion and Integrated Gradients are left out (`--methods`): on a 2-core AVX2 CPU their
//! Max-Sensitivities cost 38 s and 12 s of the 70 s an image takes to score (a full quick
//! run: 30 min, 2026-12-02), more than CI's budget allows. Both methods run end to end in
//! every other way: the smoke profile scores all eight through the same functions
//! (tests/claims_smoke.rs), and tests/golden.rs holds them to Captum. The quick model
//! hashes pinned in fixtures/pins.yaml are compared when the run's platform (device, CPU
//! instruction sets) is the pinned one.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::sarxai;

/// The methods this test scores: all but Occlusion and Integrated Gradients (see above).
const METHODS: &str =
    "saliency,input-x-gradient,guided-backprop,deconvolution,grad-cam,guided-grad-cam";

/// `sarxai reproduce` of the quick profile on the CPU with [`METHODS`] into `dir`.
fn reproduce(dir: &Path) -> Command {
    let mut c = sarxai();
    c.args([
        "reproduce",
        "--device",
        "cpu",
        "--methods",
        METHODS,
        "--out",
    ])
    .arg(dir);
    c
}

fn run_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("claims-quick")
}

fn check(dir: &Path) -> (bool, String) {
    let o = sarxai()
        .args(["claims", "check"])
        .arg(dir)
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// Flips one byte of `path` in place and returns the original byte.
fn flip(path: &Path, offset_from_end: usize) -> u8 {
    let mut bytes = std::fs::read(path).unwrap();
    let i = bytes.len() - offset_from_end;
    let old = bytes[i];
    bytes[i] ^= 0x01;
    std::fs::write(path, &bytes).unwrap();
    old
}

fn restore(path: &Path, offset_from_end: usize, old: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = bytes.len() - offset_from_end;
    bytes[i] = old;
    std::fs::write(path, &bytes).unwrap();
}

/// The quick profile scoring the six gradient methods (`--methods`; Occlusion and
/// Integrated Gradients are left to the smoke and golden tests, see the module documentation).
#[test]
fn quick_profile_reproduces_and_pins_refuse_tampering() {
    let dir = run_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let t = std::time::Instant::now();
    let first = reproduce(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // While the first run holds the lock, a second reproduce on the same directory is refused.
    let lock = dir.join(".sarxai.lock");
    while !lock.exists() && t.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        lock.exists(),
        "the first reproduce never locked {}",
        dir.display()
    );
    let second = reproduce(&dir).output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success() && err.contains("in use by another sarxai process"),
        "a concurrent reproduce was not refused:\n{err}"
    );
    let o = first.wait_with_output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "reproduce failed:\n{log}");
    assert!(!lock.exists(), "the lock file outlived the run");
    eprintln!("reproduce: {:.0} s", t.elapsed().as_secs_f64());
    for f in [
        "results.json",
        "claims.txt",
        "claims.json",
        "report.html",
        "score-vh/table1.md",
        "score-vv/figure1_vv.png",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    for pol in ["vh", "vv"] {
        let scored: Vec<&String> = results["table1"][pol].as_object().unwrap().keys().collect();
        let mut asked: Vec<&str> = METHODS.split(',').collect();
        asked.sort_unstable();
        assert_eq!(
            scored, asked,
            "{pol}: Table 1 holds other methods than --methods"
        );
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("data:image/png;base64,")
            && !html.contains("http://")
            && !html.contains("https://")
    );

    let (ok, out) = check(&dir);
    eprintln!("{out}");
    assert!(ok, "claims check failed on a fresh quick run:\n{out}");
    assert!(
        out.contains("PASS     quick-accuracy-vh") && out.contains("PASS     quick-accuracy-vv"),
        "{out}"
    );

    // Tampering with the weights: the model hash pin refuses.
    let w = dir.join("vh").join("model.safetensors");
    let old = flip(&w, 100);
    let (ok, out) = check(&dir);
    restore(&w, 100, old);
    assert!(
        !ok && out.contains("model_hashes.vh"),
        "weights tampering not refused:\n{out}"
    );

    // Tampering with one data file: the data manifest pin refuses.
    let data_root = std::fs::read_dir(dir.join("data"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let tif = walk_first_tif(&data_root).expect("a data file");
    let old = flip(&tif, 10);
    let (ok, out) = check(&dir);
    restore(&tif, 10, old);
    assert!(
        !ok && out.contains("data_manifest"),
        "data tampering not refused:\n{out}"
    );

    // Tampering with one number of results.json: the recomputed Table 1 mean differs.
    let results = dir.join("results.json");
    let original = std::fs::read(&results).unwrap();
    let mut r: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let cell = &mut r["table1"]["vh"]["grad-cam"]["entropy_kb"];
    *cell = serde_json::json!(cell.as_f64().unwrap() * 0.5);
    std::fs::write(&results, serde_json::to_vec_pretty(&r).unwrap()).unwrap();
    let (ok, out) = check(&dir);
    std::fs::write(&results, &original).unwrap();
    assert!(
        !ok && out.contains("FAIL     table1.vh.grad-cam.entropy_kb: recorded"),
        "a tampered Table 1 value was not caught by the recomputation:\n{out}"
    );

    // Tampering with the per-image Max-Sensitivities: whichever pairs the default
    // recomputation draws, it catches them.
    let mut originals = Vec::new();
    for pol in ["vh", "vv"] {
        let per_image = dir.join(format!("score-{pol}")).join("per_image.csv");
        let original = std::fs::read_to_string(&per_image).unwrap();
        let mut lines = original.lines();
        let header = lines.next().unwrap();
        let col = header
            .split(',')
            .position(|h| h == "max_sensitivity")
            .unwrap();
        let mut text = format!("{header}\n");
        for line in lines {
            let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
            let v: f64 = fields[col].parse().unwrap();
            fields[col] = (v * 1.01).to_string();
            text += &(fields.join(",") + "\n");
        }
        std::fs::write(&per_image, text).unwrap();
        originals.push((per_image, original));
    }
    let (ok, out) = check(&dir);
    for (path, text) in &originals {
        std::fs::write(path, text).unwrap();
    }
    let caught = out.lines().any(|l| {
        l.starts_with("FAIL     v")
            && l.contains(" image ")
            && l.contains(" max_sensitivity: recorded")
    });
    assert!(
        !ok && caught,
        "tampered per-image values were not caught by the recomputation:\n{out}"
    );

    let (ok, out) = check(&dir);
    assert!(ok, "restored run no longer passes:\n{out}");
    assert!(
        out.contains("recomputed from the weights and data:")
            && out.contains("all within tolerance"),
        "{out}"
    );
}

fn walk_first_tif(dir: &Path) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if let Some(f) = walk_first_tif(&p) {
                return Some(f);
            }
        } else if p.extension().is_some_and(|e| e == "tif") {
            return Some(p);
        }
    }
    None
}
