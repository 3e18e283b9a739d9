//! Golden test of the XAI entropy (the paper's second metric): `sarxai entropy` against the
//! PNG files that Captum 0.9's `visualize_image_attr(attr, method="heat_map",
//! sign="absolute_value", use_pyplot=False)` figures become when matplotlib saves them
//! (`scripts/golden_entropy.py`, pinned matplotlib and Pillow from `ci/bootstrap.sh`).
//!
//! Attributions of all eight methods come from a trained model: a ResNet-18 trained for two
//! epochs on a small synthetic VH dataset at 100 x 100 (seeded, CPU), one test image of
//! every class. Grad-CAM's 4 x 4 map is upsampled bilinearly to 100 x 100 on both sides
//! (sarxai `--upsample bilinear`, Captum's `LayerAttribution.interpolate(..., "bilinear")`).
//!
//! Held per image: the decoded RGBA raster equal to matplotlib's pixel for pixel, and the
//! PNG file identical byte for byte (so the XAI entropy is exact). What limits this: the
//! deflate output of Pillow's zlib. Pillow 10.4.0 deflates with classic zlib, which sarxai
//! builds too (libz-sys); a Pillow >= 11 wheel (zlib-ng) would change the reference bytes.
//! Images whose map is all zero have no figure on either side (Captum raises): both must
//! say so. The test fails, never skips, when the reference stack is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use sarxai::attr::{MemoryBudget, Method};
use sarxai::data::Pol;
use sarxai::score::selection::{select, Selection};
use sarxai::train::{self, RunOptions, TrainConfig};
use tch::{Kind, Tensor};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let py = repo().join(".venv/bin/python");
    assert!(
        py.exists(),
        "the golden entropy test needs the reference stack (captum 0.9.0, matplotlib, Pillow) \
         in {}: run `bash ci/bootstrap.sh` first",
        py.display()
    );
    py
}

/// Trains the small model and writes `<method>.npy` attributions of one test image per
/// class into `dir`.
fn trained_attributions(dir: &Path) {
    let mut cfg = TrainConfig::quick();
    cfg.data.synth.per_class = 20;
    cfg.data.cache = Some(dir.join("cache"));
    cfg.dataset.pol = Some(Pol::Vh);
    cfg.epochs = 2;
    cfg.threads = Some(2);
    let outcome = train::run(&cfg, &dir.join("run"), &RunOptions::default()).expect("training");
    let data = train::prepare_data(&cfg).expect("the test split");
    let test = &data.dataset.test;
    let chosen = select(&Selection::default(), test, &data.dataset.classes, |_| true)
        .expect("one image per class");
    let pixels: Vec<f32> = chosen
        .iter()
        .flat_map(|&i| test.image(i).to_vec())
        .collect();
    let s = test.size as i64;
    let x = Tensor::from_slice(&pixels).view([chosen.len() as i64, 1, s, s]);
    let labels: Vec<i64> = chosen.iter().map(|&i| test.labels[i]).collect();
    let t = Tensor::from_slice(&labels);
    for m in Method::ALL {
        let a = m
            .with_defaults(MemoryBudget::default())
            .attribute(&outcome.model, &x, &t)
            .unwrap_or_else(|e| panic!("{m}: {e}"));
        sarxai::cli::write_npy(
            &dir.join(format!("{}.npy", m.name())),
            &a.to_kind(Kind::Float),
        )
        .unwrap();
    }
}

/// RGBA pixels of a PNG.
fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(png));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    assert_eq!(
        info.color_type,
        png::ColorType::Rgba,
        "matplotlib saves RGBA"
    );
    (info.width, info.height, buf)
}

#[test]
fn entropy_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    trained_attributions(dir);
    let py = python();
    let mut report = String::from(
        "golden XAI entropy (Captum heat-map figure PNG), trained ResNet-18, one image per class\n  method                    image    sarxai       matplotlib   rel.diff   raster\n",
    );
    // sarxai first, for every method (the binary runs seconds after it was built).
    let mut ours_rows = Vec::new();
    for m in Method::ALL {
        let attr = dir.join(format!("{}.npy", m.name()));
        let ours = dir.join(format!("ours-{}", m.name()));
        let run = Command::new(env!("CARGO_BIN_EXE_sarxai"))
            .args(["entropy", "--attr"])
            .arg(&attr)
            .args([
                "--size",
                "100",
                "100",
                "--upsample",
                "bilinear",
                "--json",
                "--png-out",
            ])
            .arg(&ours)
            .output()
            .expect("run sarxai");
        assert!(
            run.status.success(),
            "sarxai entropy {m} failed:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&run.stdout).unwrap();
        ours_rows.push(rows);
    }
    let mut failures = Vec::new();
    for (m, rows) in Method::ALL.into_iter().zip(ours_rows) {
        let attr = dir.join(format!("{}.npy", m.name()));
        let reference = dir.join(format!("ref-{}", m.name()));
        let ours = dir.join(format!("ours-{}", m.name()));
        let out = Command::new(&py)
            .arg(repo().join("scripts/golden_entropy.py"))
            .arg(&attr)
            .arg(&reference)
            .args(["--size", "100", "100", "--upsample", "bilinear"])
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "scripts/golden_entropy.py {m} failed:\n{}\n(if the reference stack is missing or outdated, run `bash ci/bootstrap.sh`)",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(reference.join("summary.json")).unwrap())
                .unwrap();
        let cases = summary["cases"].as_array().unwrap();
        assert_eq!(rows.len(), cases.len(), "{m}: one value per image");
        for (i, (row, case)) in rows.iter().zip(cases).enumerate() {
            let (Some(got), Some(w)) = (row["bytes"].as_u64(), case["png_size"].as_u64()) else {
                // Both sides must agree that the figure is undefined (an all-zero map).
                assert!(
                    row["bytes"].is_null() && case["png_size"].is_null(),
                    "{m} image {i}: sarxai {row} vs Captum {case}"
                );
                report += &format!("  {:<24} {i:>6} undefined on both sides\n", m.name());
                continue;
            };
            let png = std::fs::read(ours.join(format!("image_{i}.png"))).unwrap();
            assert_eq!(png.len() as u64, got, "--png-out writes the measured bytes");
            let theirs = std::fs::read(reference.join(format!("fig_{i:05}.png"))).unwrap();
            assert_eq!(theirs.len() as u64, w);
            let (a, b) = (decode(&png), decode(&theirs));
            assert_eq!((a.0, a.1), (b.0, b.1), "{m} image {i}: figure size");
            let differing =
                a.2.chunks(4)
                    .zip(b.2.chunks(4))
                    .filter(|(p, q)| p != q)
                    .count();
            let rel = (got as f64 - w as f64).abs() / w as f64;
            report += &format!(
                "  {:<24} {i:>6} {got:>12} {w:>12} {rel:>10.2e}   {}\n",
                m.name(),
                if differing == 0 {
                    "equal".to_string()
                } else {
                    format!("{differing} px differ")
                }
            );
            if differing > 0 {
                failures.push(format!(
                    "{m} image {i}: {differing} pixels differ from matplotlib's"
                ));
            }
            if png != theirs {
                failures.push(format!(
                    "{m} image {i}: {got} bytes vs matplotlib's {w} (relative {rel:.2e}): the PNG files differ"
                ));
            }
        }
    }
    eprint!("{report}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
