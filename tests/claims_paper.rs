//! The paper profile's claims (issue 7): ResNet-101 on the real OpenSARUrban files, VH and
//! VV, the paper's protocol, then `sarxai claims check` on the run. Hours of GPU time, so
//! the test is ignored by default; `cargo test --release -- --include-ignored` runs it, and
//! it says why it did nothing when the data (`OPENSARURBAN_DIR`) or a CUDA device is
//! missing. ci/workflows/gpu.yml runs it on a self-hosted GPU runner and keeps the report.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
#[ignore = "paper profile: needs OPENSARURBAN_DIR and a CUDA GPU (hours); run with --include-ignored"]
fn paper_profile_claims() {
    let Some(data) = std::env::var_os("OPENSARURBAN_DIR").map(PathBuf::from) else {
        eprintln!(
            "paper_profile_claims NOT RUN: OPENSARURBAN_DIR is not set (point it at the \
             extracted OpenSARUrban directory; see REPRODUCE.md)"
        );
        return;
    };
    if !tch::Cuda::is_available() {
        eprintln!(
            "paper_profile_claims NOT RUN: no CUDA device visible to libtorch (the paper \
             profile trains two ResNet-101s; build against a CUDA libtorch, see ci/workflows/gpu.yml)"
        );
        return;
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("claims-paper");
    let status = Command::new(env!("CARGO_BIN_EXE_sarxai"))
        .args([
            "reproduce",
            "--profile",
            "paper",
            "--device",
            "cuda",
            "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run sarxai reproduce");
    assert!(status.success(), "sarxai reproduce --profile paper failed");
    let check = Command::new(env!("CARGO_BIN_EXE_sarxai"))
        .args(["claims", "check"])
        .arg(&out)
        .output()
        .expect("run sarxai claims check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    eprintln!("{text}");
    assert!(
        check.status.success(),
        "paper-profile claims failed (report: {}/report.html):\n{text}",
        out.display()
    );
}
