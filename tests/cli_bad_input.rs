//! Bad input to `sarxai model` and `sarxai explain`: clear errors, non-zero exit, nothing
//! written.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sarxai::model::{self, Arch, ResNet, ResNetConfig};
use tch::{Device, Kind, Tensor};

use common::sarxai;

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

/// Writes a `.npy` with sarxai's own encoder (numpy.save's layout).
fn npy_f32(path: &Path, shape: &[u64], values: Vec<f32>) -> Vec<u8> {
    let bytes = sarxai::npy::encode(shape, &sarxai::npy::NpyValues::F32(values));
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// Half of a 2x1x100x100 float32 .npy (`head -c 40128`), trailing bytes, Fortran order, wrong rank,
/// float16, Inf: `explain` and `model logits` exit 1 with an error naming the file and what was
/// expected; no output.
#[test]
fn truncated_oversized_fortran_and_misranked_npy_are_named_errors() {
    let f = Fixture::new();
    // The reported case: half of a 2x1x100x100 float32 file (`head -c 40128`).
    let full = f.path("x100.npy");
    let n = 2 * 100 * 100;
    let bytes = npy_f32(
        &full,
        &[2, 1, 100, 100],
        (0..n).map(|i| (i % 255) as f32 / 255.0).collect(),
    );
    assert_eq!(bytes.len(), 80128);
    let (ok, err, out) = f.explain(&[("--input", full.to_str().unwrap())]);
    assert!(ok, "{err}");
    std::fs::remove_dir_all(&out).unwrap();
    let half = f.path("half.npy");
    std::fs::write(&half, &bytes[..40128]).unwrap();
    assert_fails(
        &f,
        &[("--input", half.to_str().unwrap())],
        "half.npy is truncated: its header promises float32 [2, 1, 100, 100] = 80000 payload bytes, the file holds 40000",
    );
    // Every run of the same truncated file fails the same way (no uninitialised memory).
    assert_fails(&f, &[("--input", half.to_str().unwrap())], "is truncated");

    let long = f.path("long.npy");
    std::fs::write(&long, [bytes.as_slice(), &[0u8; 4]].concat()).unwrap();
    assert_fails(
        &f,
        &[("--input", long.to_str().unwrap())],
        "long.npy is oversized",
    );

    let fortran = f.path("fortran.npy");
    let mut fb = npy_f32(&fortran, &[2, 1, 4, 4], vec![0.5; 32]);
    let pos = fb.windows(5).position(|w| w == b"False").unwrap();
    fb[pos..pos + 5].copy_from_slice(b"True ");
    std::fs::write(&fortran, &fb).unwrap();
    assert_fails(
        &f,
        &[("--input", fortran.to_str().unwrap())],
        "fortran.npy: inputs are stored in Fortran order",
    );

    let flat = f.path("flat.npy");
    npy_f32(&flat, &[2, 32, 32], vec![0.5; 2 * 32 * 32]);
    assert_fails(
        &f,
        &[("--input", flat.to_str().unwrap())],
        "flat.npy: inputs must have 4 dimension(s) (N, C, H, W), got shape [2, 32, 32]",
    );
    let t2 = f.npy("t2.npy", &Tensor::from_slice(&[0i64, 1]).view([2, 1]));
    assert_fails(
        &f,
        &[("--target", t2.to_str().unwrap())],
        "t2.npy: targets must have 1 dimension(s) (N,)",
    );
    let x16 = f.npy(
        "x16.npy",
        &Tensor::rand([2, 1, 32, 32], (Kind::Half, Device::Cpu)),
    );
    assert_fails(
        &f,
        &[("--input", x16.to_str().unwrap())],
        "inputs must be float32 or float64, got float16",
    );
    let xinf = f.path("xinf.npy");
    let mut v = vec![0.25f32; 2 * 32 * 32];
    v[40] = f32::INFINITY;
    npy_f32(&xinf, &[2, 1, 32, 32], v);
    assert_fails(
        &f,
        &[("--input", xinf.to_str().unwrap())],
        "xinf.npy: inputs hold NaN or Inf (inf at flat index 40)",
    );

    // `model logits` reads its input through the same reader.
    let out = f.path("logits.npy");
    let o = sarxai()
        .args(["model", "logits", "--device", "cpu", "--weights"])
        .arg(f.path("w.safetensors"))
        .arg("--input")
        .arg(&half)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("half.npy is truncated"),
        "{err}"
    );
    assert!(!out.exists());
}

/// A checkpoint tensor reshaped (same bytes): exit 1 naming the tensor, its shape in the file and
/// the expected one; no output.
#[test]
fn a_checkpoint_tensor_of_another_shape_is_named_and_nothing_is_written() {
    let f = Fixture::new();
    // Rewrite one tensor of the checkpoint with another shape (same byte count).
    let w = f.path("w.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, safetensors::Dtype, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.shape().to_vec(), v.dtype(), v.data().to_vec()))
        .collect();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let target = tensors
        .iter_mut()
        .find(|t| t.0 == "layer1.0.conv1.weight")
        .unwrap();
    assert_eq!(target.1, [64, 64, 3, 3]);
    target.1 = vec![64, 64, 9, 1];
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, d, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let bad = f.path("reshaped.safetensors");
    safetensors::serialize_to_file(views, meta.metadata().clone(), &bad).unwrap();
    assert_fails(
        &f,
        &[("--weights", bad.to_str().unwrap())],
        "layer1.0.conv1.weight: shape [64, 64, 9, 1] in file, expected [64, 64, 3, 3]",
    );
}

/// libtorch's allocator fails (data-segment limit): exit 1, "out of memory ... fix: lower
/// --memory-mib", no panic or C++ backtrace, no output.
#[test]
fn an_impossible_allocation_names_the_memory_knob_and_writes_nothing() {
    // A data-segment limit (1.5 GB; sarxai starts in about 1 GB) below what one pass of
    // eight 512x512 images needs: libtorch's allocator fails, and the guarded boundary
    // reports it with the option to lower instead of a panic.
    let f = Fixture::new();
    let x = f.path("big.npy");
    npy_f32(&x, &[8, 1, 512, 512], vec![0.5; 8 * 512 * 512]);
    let t = f.npy("t8.npy", &Tensor::from_slice(&[0i64; 8]));
    let out = f.path("oom");
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -d 1500000; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_sarxai"))
        .args(["explain", "--arch", "resnet18", "--method", "saliency"])
        .args([
            "--device",
            "cpu",
            "--threads",
            "1",
            "--memory-mib",
            "1000000",
        ])
        .arg("--weights")
        .arg(f.path("w.safetensors"))
        .arg("--input")
        .arg(&x)
        .arg("--target")
        .arg(&t)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("out of memory") && err.contains("lower --memory-mib"),
        "{err}"
    );
    assert!(
        !err.contains("panicked")
            && !err.contains("Exception raised from")
            && !err.contains("frame #"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Under umask 027 and 002 the outputs are 0640 and 0664, as `File::create` would make them.
#[cfg(unix)]
#[test]
fn outputs_get_the_mode_of_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    for (umask, mode) in [("027", 0o640), ("002", 0o664)] {
        let out = f.path(&format!("out{umask}"));
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$@\""))
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_sarxai"))
            .args(["explain", "--arch", "resnet18", "--method", "saliency"])
            .args(["--device", "cpu", "--repeat", "1", "--weights"])
            .arg(f.path("w.safetensors"))
            .arg("--input")
            .arg(f.path("x.npy"))
            .arg("--target")
            .arg(f.path("t.npy"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for file in ["saliency.npy", "timings.json"] {
            let m = std::fs::metadata(out.join(file))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(m, mode, "{file} under umask {umask}: {m:o}");
        }
    }
}

/// An output directory refusing writes: exit 1, "cannot write <file>: Permission denied", no
/// temporary or partial file left.
#[test]
fn a_read_only_output_directory_is_a_clear_error_without_partial_files() {
    let f = Fixture::new();
    let ro = f.path("ro");
    std::fs::create_dir(&ro).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    // Root ignores directory modes; sysfs refuses new files even to root.
    let probe = ro.join("probe");
    let dir = if std::fs::write(&probe, b"").is_ok() {
        std::fs::remove_file(&probe).unwrap();
        Path::new("/sys/kernel").to_path_buf()
    } else {
        ro.clone()
    };
    assert!(std::fs::write(dir.join("probe"), b"").is_err());
    let before: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let (ok, err, _) = f.explain(&[("--out", dir.to_str().unwrap())]);
    assert!(!ok, "writing into {} succeeded", dir.display());
    assert!(
        err.contains(&format!(
            "cannot write {}",
            dir.join("saliency.npy").display()
        )),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let after: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before, after, "files appeared in {}", dir.display());
}
