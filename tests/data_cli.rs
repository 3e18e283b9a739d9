//! `sarxai data ...` end to end: synth, inspect, load, manifest, verify (non-zero exit on
//! any difference), verify-archive, and the help texts' examples.

use assert_cmd::Command;

fn sarxai() -> Command {
    Command::cargo_bin("sarxai").unwrap()
}

fn stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn synth_inspect_load_manifest_verify_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("synth");
    let out = stdout(
        sarxai()
            .args([
                "data",
                "synth",
                "--per-class",
                "6",
                "--size",
                "40",
                "--seed",
                "9",
                "--out",
            ])
            .arg(&data),
    );
    assert!(out.contains("wrote 181 files"), "{out}");
    let digest_line = out
        .lines()
        .find(|l| l.starts_with("root digest: "))
        .unwrap();

    let out = stdout(sarxai().args(["data", "inspect"]).arg(&data));
    assert!(out.contains("60 samples, 10 classes, 0 skipped"), "{out}");
    assert!(out.contains("120 x 40x40 1 band(s) f32 tiff"), "{out}");
    assert!(out.contains("split digests"), "{out}");

    let record = tmp.path().join("record.json");
    let out = stdout(
        sarxai()
            .args(["data", "load", "--pol", "vv", "--size", "40", "--record"])
            .arg(&record)
            .arg(&data),
    );
    assert!(out.contains("train     50 samples, masks yes"), "{out}");
    let rec: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(rec["pol"], "vv");
    assert!(rec["digests"]["combined"].as_str().unwrap().len() == 64);
    assert!(rec["norm"]["std"].as_f64().unwrap() > 0.0);

    let manifest = tmp.path().join("m.json");
    let out = stdout(
        sarxai()
            .args(["data", "manifest"])
            .arg(&data)
            .arg("--out")
            .arg(&manifest),
    );
    assert!(
        out.contains(digest_line.trim_start_matches("root digest: ")),
        "{out}\n{digest_line}"
    );
    let out = stdout(
        sarxai()
            .args(["data", "verify"])
            .arg(&data)
            .arg("--manifest")
            .arg(&manifest),
    );
    assert!(
        out.contains("181 ok, 0 missing, 0 extra, 0 altered"),
        "{out}"
    );

    // Alter one file, remove one, add one: all three listed, exit status 1.
    std::fs::write(data.join("Airport_x0_y0_Polygon1_vh.tif"), b"tampered").unwrap();
    std::fs::remove_file(data.join("Railway_x40_y0_Polygon1_mask.png")).unwrap();
    std::fs::write(data.join("stray.txt"), b"?").unwrap();
    let assert = sarxai()
        .args(["data", "verify"])
        .arg(&data)
        .arg("--manifest")
        .arg(&manifest)
        .assert()
        .failure();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        out.contains("missing  Railway_x40_y0_Polygon1_mask.png"),
        "{out}"
    );
    assert!(out.contains("extra    stray.txt"), "{out}");
    assert!(
        out.contains("altered  Airport_x0_y0_Polygon1_vh.tif"),
        "{out}"
    );
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(err.contains("does not match"), "{err}");

    // The sha256sum form verifies too.
    let sums = tmp.path().join("m.sha256");
    stdout(
        sarxai()
            .args(["data", "manifest"])
            .arg(tmp.path().join("synth"))
            .arg("--out")
            .arg(&sums),
    );
    stdout(
        sarxai()
            .args(["data", "verify"])
            .arg(&data)
            .arg("--manifest")
            .arg(&sums),
    );
}

#[test]
fn verify_archive_rejects_other_bytes_and_names_the_pin() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("OpenSARUrbanDataset.zip");
    std::fs::write(&zip, b"not the archive").unwrap();
    let assert = sarxai()
        .args(["data", "verify-archive"])
        .arg(&zip)
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        err.contains("1abf12f7a54065d053f73b7dbf05718d41da3b5a076d67e93308c3c7f04eaa6b"),
        "{err}"
    );
    assert!(err.contains("third party"), "{err}");
}

#[test]
fn inspect_of_an_empty_directory_fails_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let assert = sarxai()
        .args(["data", "inspect"])
        .arg(tmp.path())
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(err.contains("no usable samples"), "{err}");
}

#[test]
fn every_data_subcommand_has_examples_in_its_help() {
    for sub in [
        "synth",
        "inspect",
        "load",
        "manifest",
        "verify",
        "verify-archive",
    ] {
        let out = stdout(sarxai().args(["data", sub, "--help"]));
        assert!(out.contains("Examples:"), "{sub}: {out}");
        assert!(out.contains(&format!("sarxai data {sub}")), "{sub}: {out}");
    }
}
