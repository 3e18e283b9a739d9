//! Table 1 in its three formats (Markdown, CSV, JSON), built from fixed per-image numbers,
//! pinned by insta snapshots; and the statistics behind it.

use std::collections::BTreeMap;

use sarxai::attr::Method;
use sarxai::score::table::{PaperTable, Table1, TableMeta, PAPER_ORDER};
use sarxai::score::{ImageRecord, Metric};

const METRICS: [Metric; 6] = [
    Metric::MaxSensitivity,
    Metric::MaxSensitivityCaptum09,
    Metric::EntropyKb,
    Metric::ShannonBits,
    Metric::Sparseness,
    Metric::PointingGame,
];

/// Three images x eight methods of made-up but fixed values. Max-Sensitivity (both columns) follows the
/// paper's reported VH ordering except that Saliency and Input x Gradient swap; image 2 of
/// Grad-CAM has an undefined pointing game.
fn records() -> Vec<ImageRecord> {
    let ms = |m: Method| match m {
        Method::Occlusion => 0.02,
        Method::GuidedBackprop => 0.04,
        Method::IntegratedGradients => 0.07,
        Method::Deconvolution => 0.08,
        Method::Saliency => 0.13,
        Method::InputXGradient => 0.14,
        Method::GuidedGradCam => 0.18,
        Method::GradCam => 0.45,
    };
    let kb = |m: Method| match m {
        Method::Occlusion => 3.9,
        Method::GuidedGradCam => 10.5,
        Method::GradCam => 2.1,
        Method::GuidedBackprop => 20.25,
        Method::IntegratedGradients => 25.0,
        Method::InputXGradient => 25.5,
        Method::Deconvolution => 27.0,
        Method::Saliency => 30.125,
    };
    let mut out = Vec::new();
    for image in 0..3usize {
        for (k, m) in PAPER_ORDER.into_iter().enumerate() {
            let d = image as f64 - 1.0;
            let mut values = BTreeMap::new();
            values.insert(Metric::MaxSensitivity, ms(m) * (1.0 + 0.1 * d));
            values.insert(Metric::MaxSensitivityCaptum09, ms(m) * (1.0 + 0.1 * d));
            values.insert(Metric::EntropyKb, kb(m) + 0.5 * d);
            values.insert(Metric::ShannonBits, 1.0 + k as f64 * 0.25 + 0.125 * d);
            values.insert(Metric::Sparseness, 0.5 + 0.01 * k as f64 * (image as f64));
            values.insert(
                Metric::PointingGame,
                if m == Method::GradCam && image == 2 {
                    f64::NAN
                } else {
                    ((image + k) % 2) as f64
                },
            );
            out.push(ImageRecord {
                image,
                member: format!("airport_x{image}_y0_Polygon1"),
                file: format!("test/airport_x{image}_y0_Polygon1_vh.tif"),
                label: 0,
                label_name: "airport".into(),
                predicted: 0,
                predicted_name: "airport".into(),
                target: 0,
                method: m,
                values,
                model_hash: "0123456789abcdef".into(),
            });
        }
    }
    // A fourth image, not among the explained ones: the caller leaves it out.
    let mut extra = out[0].clone();
    extra.image = 3;
    extra.values.insert(Metric::MaxSensitivity, 1000.0);
    out.push(extra);
    out
}

fn table() -> Table1 {
    let meta = TableMeta {
        pol: Some("vh".into()),
        paper_pol: Some("vh".into()),
        model_hash: "0123456789abcdef".into(),
        images: 3,
        target: "true_label".into(),
        notes: vec!["fixed numbers for the snapshot test".into()],
    };
    let paper = PaperTable::embedded();
    let explained: Vec<ImageRecord> = records().into_iter().filter(|r| r.image < 3).collect();
    Table1::from_records(&explained, &Method::ALL, &METRICS, meta, Some(&paper))
}

#[test]
fn table1_markdown() {
    insta::assert_snapshot!(table().to_markdown());
}

#[test]
fn table1_csv() {
    insta::assert_snapshot!(table().to_csv());
}

#[test]
fn table1_json() {
    insta::assert_snapshot!(table().to_json());
}

#[test]
fn table1_means_and_agreement() {
    let t = table();
    // Mean over images 0..3 only (image 3 holds 1000).
    let ms = t.mean(Method::Occlusion, Metric::MaxSensitivity).unwrap();
    assert!((ms - 0.02).abs() < 1e-12, "{ms}");
    // Against the paper's reported (Captum 0.9) column, whose order the values follow.
    let a = &t.agreement[1];
    assert_eq!(a.metric, Metric::MaxSensitivityCaptum09);
    assert_eq!(a.methods, 8);
    // One swapped pair out of 28: tau = (27 - 1) / 28.
    assert!((a.tau_b.unwrap() - 26.0 / 28.0).abs() < 1e-12);
    assert_eq!(a.ours[0], Method::Occlusion);
    assert_eq!(a.paper.last(), Some(&Method::GradCam));
    // Only the paper's metrics have an agreement row.
    assert_eq!(t.agreement.len(), 3);
    // The NaN pointing game is left out and counted.
    let gc = t.rows.iter().find(|r| r.method == Method::GradCam).unwrap();
    let pg = &gc.cells[&Metric::PointingGame].stats;
    assert_eq!((pg.n, pg.undefined), (2, 1));
    // means() has the shape of the claims harness' results.json.
    assert_eq!(
        t.means()[&Method::Saliency]["entropy_kb"],
        t.mean(Method::Saliency, Metric::EntropyKb).unwrap()
    );
}

#[test]
fn no_paper_column_without_a_polarization() {
    let meta = TableMeta {
        pol: None,
        paper_pol: None,
        model_hash: "h".into(),
        images: 3,
        target: "true_label".into(),
        notes: vec![],
    };
    let t = Table1::from_records(
        &records(),
        &[Method::Saliency, Method::GradCam],
        &[Metric::MaxSensitivity],
        meta,
        Some(&PaperTable::embedded()),
    );
    assert!(t.agreement.is_empty());
    let md = t.to_markdown();
    assert!(md.contains("no comparison"), "{md}");
    assert!(!md.contains("| paper |"), "{md}");
    assert_eq!(t.rows.len(), 2);
}

#[test]
fn a_bad_paper_table_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("paper.yaml");
    std::fs::write(
        &p,
        "table1:\n  vh:\n    saliency: { max_sensitivty: 0.1 }\n",
    )
    .unwrap();
    let e = PaperTable::from_yaml_file(&p).unwrap_err().to_string();
    assert!(
        e.contains("max_sensitivty") && e.contains("unknown metric"),
        "{e}"
    );
    std::fs::write(
        &p,
        "table1:\n  vh:\n    no-such-method: { max_sensitivity: 0.1 }\n",
    )
    .unwrap();
    let e = PaperTable::from_yaml_file(&p).unwrap_err().to_string();
    assert!(e.contains("paper.yaml"), "{e}");
}
