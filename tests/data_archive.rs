//! The dataset as a zip archive (issue 14): the deterministic mock of
//! OpenSARUrbanDataset.zip, `data inspect` on the zip (snapshot), the pin check before any
//! work (a flipped byte refuses naming both digests; `--allow-unpinned-data` runs and records
//! "unpinned"), and training from the zip through the same path as any `--data`.
//!
//! The mock is not the real archive, so its digest is given with `--data-sha256` (the pin
//! override: a mismatch still refuses); the extraction cache is a temporary `SARXAI_CACHE`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn sarxai(cache: &Path) -> Command {
    let mut c = Command::cargo_bin("sarxai").unwrap();
    c.env("SARXAI_CACHE", cache);
    c
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(c: &mut Command) -> Out {
    let o = c.output().unwrap();
    Out {
        ok: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ok(c: &mut Command) -> String {
    let o = run(c);
    assert!(o.ok, "failed:\n{}\n{}", o.stdout, o.stderr);
    o.stdout
}

fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes a mock archive into `dir` and returns its path.
fn mock(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    ok(sarxai(&dir.join("cache"))
        .args(["data", "mock-opensarurban", "--out"])
        .arg(&out)
        .args(extra));
    out
}

#[test]
fn mock_archive_is_byte_identical_for_the_same_options() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ["--per-class", "2", "--size", "24", "--seed", "5"];
    let a = mock(tmp.path(), "a.zip", &opts);
    let b = mock(tmp.path(), "b.zip", &opts);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let c = mock(
        tmp.path(),
        "c.zip",
        &["--per-class", "2", "--size", "24", "--seed", "6"],
    );
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
    let help = ok(sarxai(tmp.path()).args(["data", "mock-opensarurban", "--help"]));
    for choice in [
        "folders below OpenSARUrban<N>",
        "extensions",
        "pseudo-colour",
    ] {
        assert!(help.contains(choice), "--help names the choice {choice:?}");
    }
}

#[test]
fn inspect_on_the_mock_zip_lists_groups_classes_pairing_and_skips() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = mock(
        tmp.path(),
        "mock.zip",
        &["--per-class", "3", "--size", "24", "--with-defects"],
    );
    let digest = sha256(&zip);
    let out = ok(sarxai(&tmp.path().join("cache"))
        .current_dir(tmp.path())
        .args([
            "data",
            "inspect",
            "mock.zip",
            "--classes",
            "opensarurban",
            "--data-sha256",
            &digest,
        ]));
    // The same discovery on the second call, from the verified cache.
    let again = ok(sarxai(&tmp.path().join("cache"))
        .current_dir(tmp.path())
        .args([
            "data",
            "inspect",
            "mock.zip",
            "--classes",
            "opensarurban",
            "--data-sha256",
            &digest,
        ]));
    assert_eq!(out, again);
    // An altered cached file is found on reuse and the archive extracted again.
    let member = tmp
        .path()
        .join("cache/archives")
        .join(&digest)
        .join("data/OpenSARUrban1/highway_x0_y0_Polygon1_vv.tif");
    std::fs::write(&member, b"altered").unwrap();
    let o = run(sarxai(&tmp.path().join("cache"))
        .current_dir(tmp.path())
        .args([
            "data",
            "inspect",
            "mock.zip",
            "--classes",
            "opensarurban",
            "--data-sha256",
            &digest,
        ]));
    assert!(o.ok, "{}", o.stderr);
    assert!(
        o.stderr.contains("extracted the archive again"),
        "{}",
        o.stderr
    );
    assert_eq!(o.stdout, out);
    insta::assert_snapshot!("inspect_mock_zip", out);
}

#[test]
fn a_flipped_byte_refuses_naming_both_digests_and_unpinned_runs_are_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let zip = mock(
        tmp.path(),
        "mock.zip",
        &["--per-class", "5", "--size", "32"],
    );
    let digest = sha256(&zip);
    let train = |data: &Path, out: &str, extra: &[&str]| {
        let mut c = sarxai(&cache);
        c.args(["train", "--data"])
            .arg(data)
            .args([
                "--pol",
                "vh",
                "--format",
                "tiff:f32",
                "--arch",
                "resnet18",
                "--epochs",
                "1",
                "--size",
                "32",
                "--batch-size",
                "16",
                "--device",
                "cpu",
                "--threads",
                "2",
                "--quiet",
                "--out",
            ])
            .arg(tmp.path().join(out))
            .args(extra);
        run(&mut c)
    };

    // The pinned mock trains end to end through the same path as any --data.
    let o = train(&zip, "run-pinned", &["--data-sha256", &digest]);
    assert!(o.ok, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("model hash:"), "{}", o.stdout);
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("run-pinned/archive.json")).unwrap())
            .unwrap();
    assert_eq!(rec["status"], "pinned");
    assert_eq!(rec["sha256"], digest.as_str());
    let run_json = std::fs::read_to_string(tmp.path().join("run-pinned/run.json")).unwrap();
    assert!(
        run_json.contains(":tiff"),
        "the float32 TIFF group was loaded"
    );

    // One flipped byte: refused before any work, naming both digests.
    let mut bytes = std::fs::read(&zip).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    let flipped = tmp.path().join("flipped.zip");
    std::fs::write(&flipped, &bytes).unwrap();
    let flipped_digest = sha256(&flipped);
    let o = train(&flipped, "run-flipped", &["--data-sha256", &digest]);
    assert!(!o.ok, "a flipped byte must refuse");
    assert!(
        o.stderr.contains(&digest) && o.stderr.contains(&flipped_digest),
        "names both digests: {}",
        o.stderr
    );
    assert!(!tmp.path().join("run-flipped/model.safetensors").exists());

    // The default pin (the real archive's digest) refuses the mock, naming the pin and the
    // way around it; reproduce checks the pin before training.
    let o = run(sarxai(&cache)
        .args(["reproduce", "--profile", "paper", "--data"])
        .arg(&zip)
        .arg("--out")
        .arg(tmp.path().join("repro")));
    assert!(!o.ok);
    assert!(
        o.stderr
            .contains("1abf12f7a54065d053f73b7dbf05718d41da3b5a076d67e93308c3c7f04eaa6b")
            && o.stderr.contains(&digest)
            && o.stderr.contains("--allow-unpinned-data"),
        "{}",
        o.stderr
    );
    assert!(!tmp.path().join("repro/vh").exists());

    // --allow-unpinned-data runs on it, recorded as "unpinned".
    let o = train(&zip, "run-unpinned", &["--allow-unpinned-data"]);
    assert!(o.ok, "{}\n{}", o.stdout, o.stderr);
    let rec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("run-unpinned/archive.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(rec["status"], "unpinned");

    // Several formats and no choice: an error listing the groups and the flag.
    let mut c = sarxai(&cache);
    c.args(["data", "load"]).arg(&zip).args([
        "--pol",
        "vh",
        "--size",
        "32",
        "--data-sha256",
        &digest,
    ]);
    let o = run(&mut c);
    assert!(!o.ok);
    for g in [":png", ":tiff", "color:png", "uint16:tiff", "--format"] {
        assert!(o.stderr.contains(g), "{g} in {}", o.stderr);
    }
}
