//! A dataset in another supported layout trains without code changes: class folders
//! inside train/ and test/ split folders, 128x128 8-bit JPEG chips, resized to the
//! configured 32x32 through a YAML configuration.

use std::path::Path;

use assert_cmd::Command;
use rand::{Rng, SeedableRng};

const CLASSES: [&str; 3] = ["blobs", "stripes", "speckle"];

/// A 128x128 grey chip: a bright disk, horizontal stripes, or speckle only.
fn chip(class: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<u8> {
    let n = 128i64;
    let (cx, cy) = (rng.random_range(40..88), rng.random_range(40..88));
    let phase = rng.random_range(0..16);
    (0..n * n)
        .map(|i| {
            let (x, y) = (i % n, i / n);
            let noise: f64 = rng.random_range(0.0..60.0);
            let signal = match class {
                0 if (x - cx).pow(2) + (y - cy).pow(2) < 22 * 22 => 150.0,
                1 if ((y + phase) / 8) % 2 == 0 => 150.0,
                _ => 0.0,
            };
            (40.0 + noise + signal).min(255.0) as u8
        })
        .collect()
}

fn write_jpeg(path: &Path, px: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut bytes = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90);
    image::ImageEncoder::write_image(enc, px, 128, 128, image::ExtendedColorType::L8).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn class_folder_jpeg_dataset_trains_via_yaml_config() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("chips");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for (split, n) in [("train", 24), ("test", 6)] {
        for (c, name) in CLASSES.iter().enumerate() {
            for k in 0..n {
                write_jpeg(
                    &data
                        .join(split)
                        .join(name)
                        .join(format!("{name}_{k:02}.jpg")),
                    &chip(c, &mut rng),
                );
            }
        }
    }
    let yaml = tmp.path().join("train.yaml");
    std::fs::write(
        &yaml,
        format!(
            "data:\n  dir: {}\ndataset:\n  preprocess:\n    size: 32\n    resize: resize\n    scale: amplitude\nmodel:\n  arch: resnet18\nepochs: 6\nbatch_size: 8\nval_fraction: 0.25\noptimizer:\n  kind: adamw\n  lr: 0.001\n  weight_decay: 0.01\ndevice: cpu\nthreads: 1\n",
            data.display()
        ),
    )
    .unwrap();
    let out = tmp.path().join("run");
    let o = Command::cargo_bin("sarxai")
        .unwrap()
        .args(["train", "--quiet", "--config"])
        .arg(&yaml)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["data"]["dataset"]["split_source"], "folders");
    let classes: Vec<String> =
        serde_json::from_value(manifest["data"]["dataset"]["classes"].clone()).unwrap();
    let mut sorted = CLASSES.map(String::from).to_vec();
    sorted.sort();
    assert_eq!(classes, sorted);
    assert_eq!(
        manifest["data"]["val_count"], 18,
        "25 % of 24 per class carved out"
    );
    assert_eq!(manifest["test"]["n"], 18);
    assert_eq!(manifest["config"]["dataset"]["preprocess"]["size"], 32);
    let acc = manifest["test"]["accuracy"].as_f64().unwrap();
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(acc > 0.6, "three easy classes, test accuracy {acc}\n{log}");
}

/// With a training margin, every training chip keeps `margin` more pixels of itself on
/// each side, whose centre is exactly the image the model sees (same stretch, same
/// normalisation); validation and test keep none, and the images do not change.
#[test]
fn training_contexts_are_the_chip_around_the_unchanged_image() {
    use sarxai::data::{Dataset, DatasetConfig};
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for (split, n) in [("train", 3), ("test", 2)] {
        for (c, name) in CLASSES.iter().enumerate() {
            for k in 0..n {
                let path = tmp.path().join(split).join(name).join(format!("{k}.jpg"));
                write_jpeg(&path, &chip(c, &mut rng));
            }
        }
    }
    let mut cfg = DatasetConfig::default();
    cfg.preprocess.size = 88;
    let plain = Dataset::load(tmp.path(), &cfg).unwrap();
    cfg.train_margin = 20;
    let wide = Dataset::load(tmp.path(), &cfg).unwrap();
    assert_eq!(plain.train.images, wide.train.images);
    assert_eq!(plain.test.images, wide.test.images);
    assert_eq!(plain.norm, wide.norm);
    assert!(plain.train.context.is_none() && wide.test.context.is_none());
    let side = 88 + 2 * 20;
    for i in 0..wide.train.len() {
        let (chip, margin) = wide.train.context(i).unwrap();
        assert_eq!((chip.len(), margin), (side * side, 20));
        let centre: Vec<f32> = (20..108)
            .flat_map(|y| chip[y * side + 20..y * side + 108].to_vec())
            .collect();
        assert_eq!(centre, wide.train.image(i), "sample {i}");
        let row = |y: usize| &chip[y * side + 20..y * side + 108];
        assert_ne!(row(19), row(21), "the margin is the chip, not a mirror");
    }
    // A margin the chip cannot give (128 < 88 + 2 * 21) keeps no context.
    cfg.train_margin = 21;
    assert!(Dataset::load(tmp.path(), &cfg)
        .unwrap()
        .train
        .context
        .is_none());
}
