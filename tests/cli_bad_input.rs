//! Bad input to `sarxai model` and `sarxai explain`: clear errors, non-zero exit, nothing
//! written.

use std::path::{Path, PathBuf};
use std::process::Command;

use sarxai::model::{self, Arch, ResNet, ResNetConfig};
use tch::{Device, Kind, Tensor};

fn sarxai() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sarxai"))
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        tch::manual_seed(3);
        let m = ResNet::new(
            ResNetConfig::new(Arch::Resnet18, 1, 4).unwrap(),
            Device::Cpu,
        );
        model::save(&m, &dir.path().join("w.safetensors")).unwrap();
        let f = Self { dir };
        f.npy(
            "x.npy",
            &Tensor::rand([2, 1, 32, 32], (Kind::Float, Device::Cpu)),
        );
        f.npy("t.npy", &Tensor::from_slice(&[0i64, 3]));
        f
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn npy(&self, name: &str, t: &Tensor) -> PathBuf {
        let p = self.path(name);
        t.write_npy(&p).unwrap();
        p
    }
    /// Runs explain with overrides; returns (success, stderr).
    fn explain(&self, overrides: &[(&str, &str)]) -> (bool, String, PathBuf) {
        let out = self.path("out");
        let mut args: Vec<(String, String)> = vec![
            (
                "--weights".into(),
                self.path("w.safetensors").display().to_string(),
            ),
            ("--arch".into(), "resnet18".into()),
            ("--input".into(), self.path("x.npy").display().to_string()),
            ("--target".into(), self.path("t.npy").display().to_string()),
            ("--method".into(), "saliency".into()),
            ("--out".into(), out.display().to_string()),
            ("--device".into(), "cpu".into()),
        ];
        for (k, v) in overrides {
            args.iter_mut().find(|(a, _)| a == k).unwrap().1 = v.to_string();
        }
        let mut c = sarxai();
        c.arg("explain");
        for (k, v) in &args {
            c.arg(k).arg(v);
        }
        let o = c.output().unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            out,
        )
    }
}

fn assert_fails(f: &Fixture, overrides: &[(&str, &str)], needle: &str) {
    let (ok, err, out) = f.explain(overrides);
    assert!(!ok, "expected failure for {overrides:?}");
    assert!(
        err.contains(needle),
        "stderr for {overrides:?} lacks '{needle}':\n{err}"
    );
    assert!(!err.contains("panicked"), "panic for {overrides:?}:\n{err}");
    assert!(
        !Path::new(&out).exists(),
        "output written for {overrides:?}"
    );
}

#[test]
fn explain_rejects_bad_input_and_writes_nothing() {
    let f = Fixture::new();
    let (ok, err, out) = f.explain(&[]);
    assert!(ok, "{err}");
    assert!(out.join("saliency.npy").exists());
    std::fs::remove_dir_all(&out).unwrap();

    let t3 = f.npy("t3.npy", &Tensor::from_slice(&[0i64, 1, 2]));
    assert_fails(
        &f,
        &[("--target", t3.to_str().unwrap())],
        "targets must be int64 of shape (N,)",
    );
    let tf = f.npy("tf.npy", &Tensor::from_slice(&[0f32, 1.0]));
    assert_fails(
        &f,
        &[("--target", tf.to_str().unwrap())],
        "targets must be int64",
    );
    let tr = f.npy("tr.npy", &Tensor::from_slice(&[0i64, 4]));
    assert_fails(&f, &[("--target", tr.to_str().unwrap())], "out of range");
    let xi = f.npy(
        "xi.npy",
        &Tensor::ones([2, 1, 32, 32], (Kind::Int64, Device::Cpu)),
    );
    assert_fails(
        &f,
        &[("--input", xi.to_str().unwrap())],
        "inputs must be float32",
    );
    let x3 = f.npy(
        "x3.npy",
        &Tensor::rand([2, 3, 32, 32], (Kind::Float, Device::Cpu)),
    );
    assert_fails(
        &f,
        &[("--input", x3.to_str().unwrap())],
        "expects 1 input channel",
    );
    let xn = Tensor::rand([2, 1, 32, 32], (Kind::Float, Device::Cpu));
    let _ = xn.get(1).get(0).get(5).get(7).fill_(f64::NAN);
    let xn = f.npy("xn.npy", &xn);
    assert_fails(&f, &[("--input", xn.to_str().unwrap())], "NaN or Inf");
    assert_fails(
        &f,
        &[("--method", "lime")],
        "unknown attribution method 'lime'",
    );
    assert_fails(&f, &[("--arch", "resnet50")], "--arch asked for resnet50");
    assert_fails(&f, &[("--input", "/nonexistent/x.npy")], "no such file");
    std::fs::write(f.path("junk.npy"), b"\x93NUMPY garbage").unwrap();
    assert_fails(
        &f,
        &[("--input", f.path("junk.npy").to_str().unwrap())],
        "junk.npy",
    );
}

#[test]
fn model_commands_report_bad_checkpoints() {
    let f = Fixture::new();
    let w = f.path("w.safetensors");
    let o = sarxai().args(["model", "hash"]).arg(&w).output().unwrap();
    assert!(o.status.success());
    let hash = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(hash.len(), 64);
    let o = sarxai().args(["model", "info"]).arg(&w).output().unwrap();
    let info = String::from_utf8_lossy(&o.stdout);
    assert!(
        info.contains("resnet18") && info.contains("classes:     4"),
        "{info}"
    );

    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(f.path("trunc.safetensors"), &bytes[..bytes.len() - 1000]).unwrap();
    std::fs::write(f.path("text.safetensors"), b"hello").unwrap();
    for bad in [
        "trunc.safetensors",
        "text.safetensors",
        "missing.safetensors",
    ] {
        for cmd in ["hash", "info"] {
            let o = sarxai()
                .args(["model", cmd])
                .arg(f.path(bad))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success(), "{cmd} {bad} succeeded");
            assert!(
                err.contains(bad) && !err.contains("panicked"),
                "{cmd} {bad}: {err}"
            );
        }
    }
}
