//! Allocation failure during training and during scoring (issue 32, item 3): under a
//! data-segment limit (`ulimit -d`, 1.5 GB; sarxai starts in about 1 GB) a pass too large
//! for it makes libtorch's allocator fail. The command exits 1 with "out of memory" and the
//! option to lower (`--batch-size` for training, `--memory-mib` for scoring), never a panic
//! or a C++ backtrace; it leaves no temporary file and no partial row, and scoring resumes
//! without the limit to the bytes of a run that never failed.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{assert_same_files, temporaries, tiny_data, train_tiny};

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `sarxai ARGS` under a 1.5 GB data-segment limit.
fn limited(args: &[&str], paths: &[&Path]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -d 1500000; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_sarxai"))
        .args(args)
        .args(paths)
        .output()
        .unwrap()
}

/// Exit 1, "out of memory" and the option to lower, no panic or C++ backtrace.
fn names_the_knob(o: &Output, knob: &str) {
    let err = stderr_of(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("out of memory") && err.contains(knob), "{err}");
    assert!(
        !err.contains("panicked")
            && !err.contains("Exception raised from")
            && !err.contains("frame #"),
        "{err}"
    );
}

/// Training steps of 48 images at 224 pixels under a 1.5 GB data-segment limit: exit 1,
/// "out of memory ... lower --batch-size", no panic, no temporary file, no weights.
#[test]
fn training_out_of_memory_names_the_batch_size_and_leaves_no_partial_file() {
    let data = tiny_data();
    let run = data.parent().unwrap().join("run");
    // 48 images of 224 x 224 per step: the activations of one step need well over the limit.
    let o = limited(
        &[
            "train",
            "--pol",
            "vh",
            "--size",
            "224",
            "--batch-size",
            "48",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--quiet",
            "--data",
        ],
        &[&data, Path::new("--out"), &run],
    );
    names_the_knob(&o, "lower --batch-size");
    assert_eq!(temporaries(&run), Vec::<String>::new());
    assert!(!run.join("model.safetensors").exists());
    assert!(!run.join("checkpoint.safetensors").exists());
}

/// Integrated Gradients with a 1 TB --memory-mib under a 1.5 GB data-segment limit: exit 1,
/// "out of memory ... lower --memory-mib", no panic, no temporary file, no Table 1; without
/// the limit the same command resumes to the bytes of a run that never failed.
#[test]
fn scoring_out_of_memory_names_the_memory_budget_and_resumes_to_the_same_bytes() {
    let data = tiny_data();
    let root = data.parent().unwrap();
    let run = root.join("run");
    let o = train_tiny(&data, &run, "1").output().unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    let (out, reference) = (root.join("score"), root.join("reference"));
    // Two of the 32-pixel images scored at 192 pixels, Integrated Gradients batching its
    // steps to --memory-mib: a budget of 1 TB asks for the activations of all 50 steps at
    // once, beyond the limit.
    let score: [&str; 17] = [
        "score",
        "--quiet",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--images",
        "2",
        "--size",
        "192",
        "--methods",
        "saliency,integrated-gradients",
        "--metrics",
        "sparseness",
        "--memory-mib",
        "1000000",
        "--run",
    ];
    let o = limited(&score, &[&run, Path::new("--out"), &out]);
    names_the_knob(&o, "lower --memory-mib");
    assert_eq!(temporaries(&out), Vec::<String>::new());
    assert!(!out.join("table1.md").exists());

    for dir in [&out, &reference] {
        let o = Command::new(env!("CARGO_BIN_EXE_sarxai"))
            .args(score)
            .arg(&run)
            .arg("--out")
            .arg(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr_of(&o));
    }
    assert_same_files(
        &out,
        &reference,
        &["per_image.csv", "table1.csv", "table1.json", "images.csv"],
    );
}
