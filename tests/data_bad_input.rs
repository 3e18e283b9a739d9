//! Bad input gives a clear error or a reported skip, never a panic: truncated and corrupt
//! images, zero-size files, NaN/Inf pixels, wrong band counts, unknown classes, empty
//! classes, empty directories; `strict` turns skips into errors.

use std::path::Path;

use sarxai::data::dataset::{Dataset, DatasetConfig, Pol};
use sarxai::data::discover::{ClassVocabulary, DiscoverOptions, SkipReason};
use sarxai::data::encode;
use sarxai::data::DataError;

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn tif(seed: f32) -> Vec<u8> {
    let data: Vec<f32> = (0..32 * 32)
        .map(|i| 1.0 + ((i as f32 * seed) % 7.0))
        .collect();
    encode::tiff_f32(32, 32, &data).unwrap()
}

/// 5 good VH/VV pairs per class for two classes, plus one bad pair of each kind.
fn tree_with_bad_files(root: &Path) {
    for class in ["airport", "railway"] {
        for i in 0..5 {
            for pol in ["vh", "vv"] {
                write(
                    root,
                    &format!("{class}_x{i}_y0_Polygon1_{pol}.tif"),
                    &tif(i as f32 + 1.5),
                );
            }
        }
    }
    let good = tif(2.0);
    // truncated
    write(
        root,
        "airport_x90_y0_Polygon1_vh.tif",
        &good[..good.len() / 3],
    );
    write(root, "airport_x90_y0_Polygon1_vv.tif", &good);
    // corrupt (garbage after a valid magic)
    let mut corrupt = good.clone();
    corrupt[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    write(root, "airport_x91_y0_Polygon1_vh.tif", &corrupt);
    write(root, "airport_x91_y0_Polygon1_vv.tif", &good);
    // NaN and Inf pixels
    let mut nan: Vec<f32> = vec![1.0; 32 * 32];
    nan[33] = f32::NAN;
    write(
        root,
        "railway_x92_y0_Polygon1_vh.tif",
        &encode::tiff_f32(32, 32, &nan).unwrap(),
    );
    write(root, "railway_x92_y0_Polygon1_vv.tif", &good);
    nan[33] = f32::INFINITY;
    write(
        root,
        "railway_x93_y0_Polygon1_vh.tif",
        &encode::tiff_f32(32, 32, &nan).unwrap(),
    );
    write(root, "railway_x93_y0_Polygon1_vv.tif", &good);
    // wrong band count: a 3-band file where one polarization is expected
    let three = encode::tiff_raw(
        32,
        32,
        &[vec![1.0; 1024], vec![2.0; 1024], vec![3.0; 1024]],
        encode::RawSample::U8,
        false,
    );
    write(root, "railway_x94_y0_Polygon1_vh.tif", &three);
    write(root, "railway_x94_y0_Polygon1_vv.tif", &good);
    // zero-size file
    write(root, "railway_x95_y0_Polygon1_vh.tif", b"");
    write(root, "railway_x95_y0_Polygon1_vv.tif", &good);
    // unknown class under the OpenSARUrban vocabulary
    write(root, "harbour_x0_y0_Polygon1_vh.tif", &good);
    write(root, "harbour_x0_y0_Polygon1_vv.tif", &good);
}

fn cfg(strict: bool) -> DatasetConfig {
    let mut c = DatasetConfig {
        pol: Some(Pol::Vh),
        discover: DiscoverOptions {
            strict,
            classes: ClassVocabulary::OpenSarUrban,
        },
        ..Default::default()
    };
    c.preprocess.size = 32;
    c
}

#[test]
fn bad_files_are_skipped_with_reasons_and_good_ones_load() {
    let d = tempfile::tempdir().unwrap();
    tree_with_bad_files(d.path());
    let ds = Dataset::load(d.path(), &cfg(false)).unwrap();
    assert_eq!(
        ds.train.len() + ds.test.len(),
        10,
        "only the good pairs load"
    );
    let reason_of = |name: &str| {
        ds.skipped
            .iter()
            .find(|s| s.path.file_name().unwrap() == name)
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{name} not reported; skipped: {:?}", ds.skipped))
    };
    let unusable = |name: &str, needle: &str| match reason_of(name) {
        SkipReason::Unusable { reason } => {
            assert!(reason.contains(needle), "{name}: {reason}");
        }
        other => panic!("{name}: {other:?}"),
    };
    unusable("airport_x90_y0_Polygon1_vh.tif", "cannot decode");
    unusable("airport_x91_y0_Polygon1_vh.tif", "cannot decode");
    unusable(
        "railway_x92_y0_Polygon1_vh.tif",
        "non-finite pixel (NaN) at band 0, x 1, y 1",
    );
    unusable("railway_x93_y0_Polygon1_vh.tif", "non-finite pixel (inf)");
    unusable("railway_x94_y0_Polygon1_vh.tif", "3 bands");
    assert_eq!(
        reason_of("railway_x95_y0_Polygon1_vh.tif"),
        SkipReason::EmptyFile
    );
    // Its partner lost its pair.
    assert_eq!(
        reason_of("railway_x95_y0_Polygon1_vv.tif"),
        SkipReason::Unpaired { missing: Pol::Vh }
    );
    assert!(matches!(
        reason_of("harbour_x0_y0_Polygon1_vh.tif"),
        SkipReason::UnknownClass { .. }
    ));
}

#[test]
fn strict_mode_turns_the_first_skip_into_an_error() {
    let d = tempfile::tempdir().unwrap();
    tree_with_bad_files(d.path());
    let err = Dataset::load(d.path(), &cfg(true)).unwrap_err();
    assert!(matches!(err, DataError::StrictSkips { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("fix:") && msg.contains("--strict"), "{msg}");
}

#[test]
fn strict_mode_reports_undecodable_files_found_while_loading() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..3 {
        for pol in ["vh", "vv"] {
            write(d.path(), &format!("airport_x{i}_y0_{pol}.tif"), &tif(1.0));
        }
    }
    write(d.path(), "airport_x9_y0_vh.tif", b"II*\0not a tiff");
    write(d.path(), "airport_x9_y0_vv.tif", &tif(1.0));
    let err = Dataset::load(d.path(), &cfg(true)).unwrap_err();
    assert!(err.to_string().contains("airport_x9_y0_vh.tif"), "{err}");
    assert!(Dataset::load(d.path(), &cfg(false)).is_ok());
}

#[test]
fn empty_and_unusable_directories_are_clear_errors() {
    let empty = tempfile::tempdir().unwrap();
    let err = Dataset::load(empty.path(), &cfg(false)).unwrap_err();
    assert!(matches!(err, DataError::NoSamples { .. }), "{err}");
    assert!(err.to_string().contains("sarxai data inspect"));

    let missing = empty.path().join("nope");
    let err = Dataset::load(&missing, &cfg(false)).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");

    // Only non-images.
    write(empty.path(), "readme.txt", b"hello");
    assert!(matches!(
        Dataset::load(empty.path(), &cfg(false)),
        Err(DataError::NoSamples { .. })
    ));

    // Every image broken: the error names the first reason.
    let broken = tempfile::tempdir().unwrap();
    write(broken.path(), "airport_x0_y0_vh.tif", b"garbage!");
    write(broken.path(), "airport_x0_y0_vv.tif", b"garbage!");
    let err = Dataset::load(broken.path(), &cfg(false))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot decode"), "{err}");
}

#[test]
fn empty_class_folders_are_reported_and_fatal_when_strict() {
    let d = tempfile::tempdir().unwrap();
    let png = encode::png_gray8(8, 8, &[7u8; 64]).unwrap();
    for i in 0..4 {
        write(d.path(), &format!("train/cat/{i}.png"), &png);
        write(d.path(), &format!("test/cat/{i}.png"), &png);
    }
    write(d.path(), "train/dog/0.png", &png);
    write(d.path(), "test/dog/0.png", &png);
    std::fs::create_dir_all(d.path().join("train/bird")).unwrap();
    let mut c = DatasetConfig::default();
    c.preprocess.size = 8;
    let ds = Dataset::load(d.path(), &c).unwrap();
    assert_eq!(ds.classes, ["cat", "dog"]);
    assert_eq!((ds.train.len(), ds.test.len()), (5, 5));
    assert_eq!(ds.split_source, sarxai::data::dataset::SplitSource::Folders);
    assert!(ds
        .skipped
        .iter()
        .any(|s| s.reason == SkipReason::EmptyClassFolder && s.path.ends_with("train/bird")));
    c.discover.strict = true;
    assert!(Dataset::load(d.path(), &c).is_err());
}

#[test]
fn invalid_configurations_are_refused_before_reading() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "airport_x0_y0_vh.tif", &tif(1.0));
    let mut c = cfg(false);
    c.split.test_fraction = 1.5;
    assert!(matches!(
        Dataset::load(d.path(), &c),
        Err(DataError::Config { .. })
    ));
    let mut c = cfg(false);
    c.preprocess.clip_percentiles = Some([90.0, 10.0]);
    assert!(matches!(
        Dataset::load(d.path(), &c),
        Err(DataError::Config { .. })
    ));
    // Only VH files, VV requested.
    let mut c = cfg(false);
    c.pol = Some(Pol::Vv);
    let err = Dataset::load(d.path(), &c).unwrap_err().to_string();
    assert!(err.contains("--pol vh"), "{err}");
}
