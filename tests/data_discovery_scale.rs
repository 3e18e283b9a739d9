//! Discovery reads names, not pixels: a tree of 30,000 named files whose contents are not
//! images at all (one byte each) is discovered completely. Its time is printed, not
//! asserted (speed is measured in benches/, not by wall clock in tests).

use std::time::Instant;

use sarxai::data::discover::{discover, DiscoverOptions, PolFiles};
use sarxai::data::OPENSARURBAN_CLASSES;

/// Writes 10 classes x 1500 samples x {vh, vv} = 30,000 one-byte files in OpenSARUrban's
/// naming, spread over 10 city folders, with alias spellings in the class prefixes.
pub fn make_tree(root: &std::path::Path) {
    let spelled = [
        "denselow",
        "GeneralResidential",
        "highbuilding",
        "SingleBuilding",
        "Skyscraper",
        "StorageArea",
        "vegetation",
        "highway",
        "railway",
        "airport",
    ];
    for city in 0..10 {
        std::fs::create_dir_all(root.join(format!("city{city}"))).unwrap();
    }
    for (c, prefix) in spelled.iter().enumerate() {
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

#[test]
fn thirty_thousand_named_files_are_discovered_without_decoding() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path());
    let t = Instant::now();
    let disc = discover(dir.path(), &DiscoverOptions::default()).unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!("discovered 30000 files in {secs:.3} s");
    assert_eq!(disc.classes, OPENSARURBAN_CLASSES);
    assert_eq!(disc.samples.len(), 15_000);
    assert!(disc.skipped.is_empty());
    assert!(disc
        .samples
        .iter()
        .all(|s| matches!(s.files, PolFiles::Pair { .. })));
    // One-byte files are not images: had discovery decoded anything, it would have failed.
}
