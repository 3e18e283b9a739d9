//! Data-layer timings: discovery of a 30,000-file tree (names only), rendering one synthetic
//! patch, decoding a float32 TIFF, preprocessing one band, and loading a small dataset.
//! `cargo bench --bench data`.

// criterion_group! defines public functions that cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use sarxai::data::dataset::{Dataset, DatasetConfig, Pol};
use sarxai::data::decode::{decode_bytes, FileFormat};
use sarxai::data::discover::{discover, DiscoverOptions};
use sarxai::data::encode;
use sarxai::data::preprocess::PreprocessConfig;
use sarxai::data::synth::{generate, render_patch, SynthConfig};

/// 10 classes x 1500 samples x {vh, vv} one-byte files in OpenSARUrban naming.
fn named_tree(root: &Path) {
    for city in 0..10 {
        std::fs::create_dir_all(root.join(format!("city{city}"))).unwrap();
    }
    for (c, prefix) in sarxai::data::OPENSARURBAN_CLASSES.iter().enumerate() {
        for i in 0..1500 {
            for pol in ["vh", "vv"] {
                let p = root.join(format!(
                    "city{}/{prefix}_x{}_y{}_Polygon{}_{pol}.tif",
                    i % 10,
                    i * 100,
                    c * 100,
                    i / 5
                ));
                std::fs::write(p, b"x").unwrap();
            }
        }
    }
}

fn benches(c: &mut Criterion) {
    let tree = tempfile::tempdir().unwrap();
    named_tree(tree.path());
    let mut g = c.benchmark_group("discover");
    g.sample_size(10);
    g.bench_function("30k_named_files", |b| {
        b.iter(|| discover(black_box(tree.path()), &DiscoverOptions::default()).unwrap());
    });
    g.finish();

    let cfg = SynthConfig::default();
    c.bench_function("synth/render_patch_100", |b| {
        b.iter(|| render_patch(black_box(&cfg), 9, 17));
    });

    let patch = render_patch(&cfg, 0, 0);
    let tiff = encode::tiff_f32(100, 100, &patch.vv).unwrap();
    c.bench_function("decode/tiff_f32_100", |b| {
        b.iter(|| decode_bytes(black_box(&tiff), FileFormat::Tiff, Path::new("x")).unwrap());
    });

    let pre = PreprocessConfig::default();
    c.bench_function("preprocess/db_clip_100", |b| {
        b.iter(|| pre.apply(black_box(&patch.vv), 100, 100).unwrap());
    });
    let small = PreprocessConfig {
        size: 224,
        ..PreprocessConfig::default()
    };
    c.bench_function("preprocess/resize_100_to_224", |b| {
        b.iter(|| small.apply(black_box(&patch.vv), 100, 100).unwrap());
    });

    let data = tempfile::tempdir().unwrap();
    generate(
        &SynthConfig {
            per_class: 20,
            ..SynthConfig::default()
        },
        data.path(),
    )
    .unwrap();
    let ds_cfg = DatasetConfig {
        pol: Some(Pol::Vh),
        ..Default::default()
    };
    let mut g = c.benchmark_group("dataset");
    g.sample_size(10);
    g.bench_function("load_200_patches", |b| {
        b.iter(|| Dataset::load(black_box(data.path()), &ds_cfg).unwrap());
    });
    g.finish();
}

criterion_group!(data, benches);
criterion_main!(data);
