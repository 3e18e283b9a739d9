//! The decoders and discovery on real chips from the public OpenSARShip dataset in
//! `../shared/data/opensarship-sample` (research data, never copied into the repository).
//!
//! A clone may lack the folder, so the tests are ignored (with the reason) unless the build
//! sets `SARXAI_REQUIRE_SHARED=1` (build.rs turns it into `cfg(sarxai_require_shared)`;
//! .ci/run sets it). Then they run and fail loudly when the folder is missing: no test
//! passes without checking.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sarxai::data::dataset::{Dataset, DatasetConfig, Pol};
use sarxai::data::decode::{probe, read_image, SampleType};
use sarxai::data::discover::{discover, DiscoverOptions, PolFiles};
use sarxai::data::manifest::{verify_manifest_with, Manifest};

/// The sample folder (`$SARXAI_SHARED_DATA/opensarship-sample` when that variable is set,
/// else `../shared/data/opensarship-sample` beside the repository); panics with the reason
/// when it is absent.
fn sample_dir() -> PathBuf {
    let base = std::env::var_os("SARXAI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let d = base.join("opensarship-sample");
    assert!(
        d.is_dir(),
        "{} is absent: these tests need the real OpenSARShip chips (research data, not in the \
         repository) in ../shared/data or $SARXAI_SHARED_DATA; they run because \
         SARXAI_REQUIRE_SHARED=1 was set at build time (unset it to have them ignored)",
        d.display()
    );
    d
}

#[test]
#[cfg_attr(
    not(sarxai_require_shared),
    ignore = "needs the real OpenSARShip chips in ../shared/data (research data, not in the repository); set SARXAI_REQUIRE_SHARED=1 to require them"
)]
fn discovery_counts_classes_formats_and_pairs() {
    let root = sample_dir();
    let disc = discover(&root, &DiscoverOptions::default()).unwrap();
    assert_eq!(disc.classes, ["Cargo", "Other Type", "Passenger", "Tanker"]);
    assert!(disc.skipped.is_empty(), "{:?}", disc.skipped);
    assert_eq!(
        disc.groups(),
        ["Patch:tiff", "Patch_Cal:tiff", "Patch_Uint8/Visual_:tiff"]
    );
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    for s in &disc.samples {
        *per.entry((s.group.clone(), s.class.clone())).or_default() += 1;
        match s.group.as_str() {
            "Patch_Uint8/Visual_:tiff" => assert!(matches!(s.files, PolFiles::Pair { .. })),
            _ => assert!(matches!(s.files, PolFiles::Unsuffixed { .. })),
        }
    }
    // 13 + 25 chips per format: Cargo 25, Other Type 1, Passenger 2, Tanker 10 (the
    // sha256 list holds 76 two-band files and 76 single-polarization files).
    for group in disc.groups() {
        let count = |c: &str| per[&(group.clone(), c.to_string())];
        assert_eq!(
            [
                count("Cargo"),
                count("Other Type"),
                count("Passenger"),
                count("Tanker")
            ],
            [25, 1, 2, 10],
            "{group}"
        );
    }
    assert_eq!(disc.samples.len(), 3 * 38);
}

#[test]
#[cfg_attr(
    not(sarxai_require_shared),
    ignore = "needs the real OpenSARShip chips in ../shared/data (research data, not in the repository); set SARXAI_REQUIRE_SHARED=1 to require them"
)]
fn dtypes_band_counts_and_sizes_match_the_documented_formats() {
    let root = sample_dir();
    let disc = discover(&root, &DiscoverOptions::default()).unwrap();
    for s in &disc.samples {
        for path in s.files.paths() {
            let img = read_image(path).unwrap();
            let info = probe(path).unwrap();
            assert_eq!((info.width, info.height), (img.width, img.height));
            assert_eq!(info.bands, img.bands.len());
            assert_eq!(info.dtype, img.dtype);
            assert_eq!(img.width, img.height, "{} is square", path.display());
            assert!((20..=200).contains(&img.width), "{}", path.display());
            let expected = if s.group.starts_with("Patch_Uint8") {
                (1, SampleType::U8)
            } else {
                (2, SampleType::F32)
            };
            assert_eq!((img.bands.len(), img.dtype), expected, "{}", path.display());
            if s.group == "Patch:tiff" {
                // Amplitude stored as integer-valued floats, e.g. 11 .. 8700.
                for b in &img.bands {
                    assert!(b.iter().all(|&v| v >= 0.0 && v.fract() == 0.0));
                }
            }
        }
    }
}

/// Pearson correlation.
fn corr(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().map(|&v| v as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt().max(1e-30)
}

#[test]
#[cfg_attr(
    not(sarxai_require_shared),
    ignore = "needs the real OpenSARShip chips in ../shared/data (research data, not in the repository); set SARXAI_REQUIRE_SHARED=1 to require them"
)]
fn band_order_of_two_band_chips_is_vh_then_vv() {
    // Each 2-band Patch chip has uint8 renders of its VH and VV bands in Patch_Uint8
    // (Visual_<name>_vh / _vv). Band 0 must resemble the VH render and band 1 the VV render,
    // and cross-polarization is darker than co-polarization.
    let root = sample_dir();
    let mut chips = 0;
    let (mut order_ok, mut darker) = (0, 0);
    for scene in std::fs::read_dir(&root).unwrap() {
        let scene = scene.unwrap().path();
        for entry in std::fs::read_dir(scene.join("Patch")).unwrap() {
            let patch = entry.unwrap().path();
            let stem = patch.file_stem().unwrap().to_str().unwrap().to_string();
            let img = read_image(&patch).unwrap();
            let vis = |pol: &str| {
                read_image(&scene.join(format!("Patch_Uint8/Visual_{stem}_{pol}.tif")))
                    .unwrap()
                    .bands
                    .remove(0)
            };
            let (vis_vh, vis_vv) = (vis("vh"), vis("vv"));
            chips += 1;
            let c00 = corr(&img.bands[0], &vis_vh);
            let c01 = corr(&img.bands[0], &vis_vv);
            let c11 = corr(&img.bands[1], &vis_vv);
            let c10 = corr(&img.bands[1], &vis_vh);
            if c00 > c01 && c11 > c10 {
                order_ok += 1;
            }
            let mean = |b: &[f32]| b.iter().map(|&v| v as f64).sum::<f64>() / b.len() as f64;
            if mean(&img.bands[0]) < mean(&img.bands[1]) {
                darker += 1;
            }
        }
    }
    assert_eq!(chips, 38);
    eprintln!("band order consistent on {order_ok}/{chips} chips, VH darker on {darker}/{chips}");
    assert_eq!(
        order_ok, chips,
        "band 0 must be VH and band 1 VV on every chip"
    );
    assert!(
        darker * 10 >= chips * 9,
        "VH darker than VV on only {darker}/{chips}"
    );
}

#[test]
#[cfg_attr(
    not(sarxai_require_shared),
    ignore = "needs the real OpenSARShip chips in ../shared/data (research data, not in the repository); set SARXAI_REQUIRE_SHARED=1 to require them"
)]
fn the_sha256_list_verifies_with_the_manifest_logic() {
    let root = sample_dir();
    let list = root.with_extension("sha256");
    let m = Manifest::read(&list).unwrap();
    assert_eq!(m.n_files, 152);
    let report = verify_manifest_with(&root, &m, &[], &indicatif::ProgressBar::hidden()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.ok, 152);
    // A list naming a file that is not there, and missing one that is, is reported.
    let mut files = m.files.clone();
    files[0].path = "absent.tif".into();
    let edited = Manifest::from_entries(files);
    let r = verify_manifest_with(&root, &edited, &[], &indicatif::ProgressBar::hidden()).unwrap();
    assert_eq!(r.missing, ["absent.tif"]);
    assert_eq!(r.extra.len(), 1);
}

#[test]
#[cfg_attr(
    not(sarxai_require_shared),
    ignore = "needs the real OpenSARShip chips in ../shared/data (research data, not in the repository); set SARXAI_REQUIRE_SHARED=1 to require them"
)]
fn every_format_loads_as_a_dataset() {
    let root = sample_dir();
    for (group, pol) in [
        ("Patch", Pol::Vh),
        ("Patch_Cal", Pol::Vv),
        ("Patch_Uint8", Pol::Vh),
    ] {
        let mut cfg = DatasetConfig {
            pol: Some(pol),
            group: Some(group.to_string()),
            ..Default::default()
        };
        if group == "Patch_Cal" {
            cfg.preprocess.input = sarxai::data::preprocess::InputQuantity::Intensity;
        }
        let ds = Dataset::load(&root, &cfg).unwrap();
        assert_eq!(ds.train.len() + ds.test.len(), 38, "{group}");
        assert!(ds.skipped.is_empty());
        assert_eq!(ds.train.images.len(), ds.train.len() * 100 * 100);
        assert!(ds.train.images.iter().all(|v| v.is_finite()));
        assert!(ds.train.masks.is_none());
    }
    // Without --pol the two-band chips are ambiguous, and several groups need --format.
    let err = Dataset::load(&root, &DatasetConfig::default()).unwrap_err();
    assert!(err.to_string().contains("--format"), "{err}");
    let no_pol = DatasetConfig {
        group: Some("Patch".into()),
        ..Default::default()
    };
    let err = Dataset::load(&root, &no_pol).unwrap_err();
    assert!(err.to_string().contains("--pol"), "{err}");
}

#[test]
#[cfg_attr(
    not(sarxai_require_shared),
    ignore = "needs the real OpenSARShip chips in ../shared/data (research data, not in the repository); set SARXAI_REQUIRE_SHARED=1 to require them"
)]
fn radiometry_is_assumed_by_sample_type_and_recorded() {
    use sarxai::data::preprocess::{InputQuantity, PreprocessConfig};
    let root = sample_dir();
    let load = |group: &str, input: InputQuantity| {
        let mut cfg = DatasetConfig {
            pol: Some(Pol::Vh),
            group: Some(group.to_string()),
            ..Default::default()
        };
        cfg.preprocess.input = input;
        cfg.preprocess.normalize = false;
        Dataset::load(&root, &cfg).unwrap()
    };
    // float32 amplitude chips: auto assumes amplitude and converts to dB, as before.
    let patch = load("Patch", InputQuantity::Auto);
    let r = &patch.record().radiometry;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].sample_type, r[0].files, r[0].assumed),
        (SampleType::F32, 38, InputQuantity::Amplitude)
    );
    assert_eq!(r[0].treatment, "dB (10 log10 of intensity)");
    let explicit = load("Patch", InputQuantity::Amplitude);
    assert_eq!(patch.train.images, explicit.train.images);
    // uint8 renders: auto assumes display levels (no dB) unless amplitude is given.
    let visual = load("Patch_Uint8", InputQuantity::Auto);
    let r = &visual.record().radiometry;
    assert_eq!(
        (r[0].sample_type, r[0].files, r[0].setting, r[0].assumed),
        (
            SampleType::U8,
            38,
            InputQuantity::Auto,
            InputQuantity::Display
        )
    );
    let file = &visual.train.files[0];
    let img = read_image(file).unwrap();
    let display = PreprocessConfig {
        input: InputQuantity::Display,
        ..Default::default()
    };
    let expect = display.apply(&img.bands[0], img.width, img.height).unwrap();
    assert_eq!(visual.train.image(0), &expect[..], "{}", file.display());
    let as_amplitude = load("Patch_Uint8", InputQuantity::Amplitude);
    assert_eq!(
        as_amplitude.record().radiometry[0].assumed,
        InputQuantity::Amplitude
    );
    assert_ne!(as_amplitude.train.image(0), visual.train.image(0));
}
