//! `--print-config` (issue 31, item 2): `train`, `score` and `reproduce` print the effective
//! configuration, each value followed by where it came from (profile, YAML file, the
//! training run's config.yaml, a default, the option typed), write nothing, and the printed
//! YAML reads back as a configuration giving the same values.

use std::path::Path;
use std::process::Command;

fn sarxai(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_sarxai"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "sarxai {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Fails, showing `text`, unless one of its lines is exactly `want`.
#[track_caller]
fn has(text: &str, want: &str) {
    assert!(
        text.lines().any(|l| l == want),
        "no line `{want}` in:\n{text}"
    );
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn train_names_the_profile_the_yaml_file_and_each_option_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = tmp.path().join("recipe.yaml");
    std::fs::write(&yaml, "optimizer:\n  lr: 0.05\nbatch_size: 16\n").unwrap();
    let out = tmp.path().join("run");
    let text = sarxai(&[
        "train",
        "--synthetic",
        "--profile",
        "quick",
        "--config",
        path(&yaml),
        "--epochs",
        "3",
        "--split-seed",
        "7",
        "--out",
        path(&out),
        "--print-config",
    ]);
    let file = path(&yaml);
    has(&text, "epochs: 3  # --epochs");
    has(&text, &format!("  lr: 0.05  # {file}"));
    has(&text, &format!("batch_size: 16  # {file}"));
    has(&text, "  arch: resnet18  # profile quick");
    has(&text, "  kind: adamw  # profile quick");
    // `seed` appears at three depths; the split's is the one typed.
    assert!(
        text.contains("  split:\n    seed: 7  # --split-seed\n"),
        "{text}"
    );
    has(&text, "seed: 0  # profile quick");
    has(&text, "    seed: 0  # profile quick");
    assert!(!out.exists(), "--print-config wrote {}", out.display());

    // The printed YAML is a configuration: read back, it gives the same values, now all
    // from that file.
    let printed = tmp.path().join("printed.yaml");
    std::fs::write(&printed, &text).unwrap();
    let again = sarxai(&["train", "--config", path(&printed), "--print-config"]);
    let values = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split("  # ").next().unwrap().to_string())
            .collect()
    };
    assert_eq!(values(&again), values(&text));
    has(&again, &format!("epochs: 3  # {}", path(&printed)));
}

#[test]
fn train_without_options_says_every_value_is_the_default_profile() {
    let text = sarxai(&["train", "--data", "chips/", "--print-config"]);
    has(&text, "  dir: chips/  # --data");
    let comments: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once("  # ").map(|(_, c)| c))
        .filter(|c| *c != "--data")
        .collect();
    assert!(comments.len() > 40, "{text}");
    assert!(comments.iter().all(|c| *c == "profile default"), "{text}");
    has(&text, "epochs: 24  # profile default");
}

#[test]
fn score_names_the_run_config_the_overrides_and_the_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let cfg = sarxai(&[
        "train",
        "--data",
        "chips/",
        "--size",
        "64",
        "--print-config",
    ]);
    std::fs::write(run.join("config.yaml"), cfg).unwrap();
    let out = tmp.path().join("scores");
    let text = sarxai(&[
        "score",
        "--run",
        path(&run),
        "--pol",
        "vv",
        "--per-class",
        "3",
        "--memory-mib",
        "2048",
        "--out",
        path(&out),
        "--print-config",
    ]);
    let config = run.join("config.yaml");
    let config = path(&config);
    has(&text, &format!("  dir: chips/  # {config}"));
    has(&text, &format!("    size: 64  # {config}"));
    has(&text, "  pol: vv  # --pol");
    has(&text, "  per_class: 3  # --per-class");
    // Typed equal to its default, still the option typed.
    has(&text, "  memory_mib: 2048  # --memory-mib");
    has(&text, "  seed: 0  # default");
    has(
        &text,
        &format!("weights: {}  # --run", path(&run.join("model.safetensors"))),
    );
    assert!(!out.exists());
}

#[test]
fn reproduce_names_the_profile_budget_and_the_options_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("quick");
    let text = sarxai(&["reproduce", "--out", path(&out), "--print-config"]);
    has(&text, "profile: quick  # default");
    has(&text, "per_class: 1  # profile quick");
    has(&text, "threads: 2  # profile quick");
    has(&text, "  threads: 2  # profile quick");
    has(&text, "  epochs: 6  # profile quick");
    let typed = sarxai(&[
        "reproduce",
        "--out",
        path(&out),
        "--threads",
        "1",
        "--print-config",
    ]);
    has(&typed, "threads: 1  # --threads");
    has(&typed, "  threads: 1  # --threads");
    assert!(!out.exists());
}
