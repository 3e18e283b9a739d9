//! `sarxai::score::scoring::score` on a small random ResNet-18 and an in-memory test split:
//! every output is written; an interrupted run (fewer images, then a torn row) resumes to
//! the uninterrupted results byte for byte; bad input (another model hash, N larger than
//! the split, changed settings, a figure image outside the scored ones) is a clear error
//! that changes nothing.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use sarxai::attr::Method;
use sarxai::data::{Pol, SplitData};
use sarxai::model::{Arch, ResNet, ResNetConfig};
use sarxai::score::scoring::{files, score, ScoreConfig, ScoreData};
use sarxai::score::selection::{Selection, SelectionError};
use sarxai::score::{Metric, ScoreError};
use tch::{Device, Kind, Tensor};

const SIZE: usize = 32;

/// libtorch's CPU results can differ in the last bits with the intra-op threads a
/// computation gets (sums reordered; seen at 1e-8 relative with 2 threads on a loaded
/// machine), and tests run in parallel threads of one process: hold this, which also runs
/// libtorch single-threaded, for bit-exact comparisons (and for tch's global seed).
static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    let g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    g
}
const CLASSES: [&str; 3] = ["airport", "railway", "highway"];

fn model(seed: i64) -> ResNet {
    tch::manual_seed(seed);
    let m = ResNet::new(
        ResNetConfig::new(Arch::Resnet18, 1, CLASSES.len() as i64).unwrap(),
        Device::Cpu,
    );
    tch::no_grad(|| {
        let _ = m.forward_t(
            &Tensor::randn([8, 1, SIZE as i64, SIZE as i64], (Kind::Float, Device::Cpu)),
            true,
        );
    });
    m
}

/// Four images with masks (a square in a different corner per image).
fn split() -> SplitData {
    let n = 4;
    let per = SIZE * SIZE;
    let images: Vec<f32> = (0..n * per)
        .map(|i| ((i as f32) * 0.37).sin() + ((i / SIZE) as f32 * 0.05).cos())
        .collect();
    let masks: Vec<u8> = (0..n * per)
        .map(|i| {
            let (k, p) = (i / per, i % per);
            let (y, x) = (p / SIZE, p % SIZE);
            let (oy, ox) = ((k / 2) * 16, (k % 2) * 16);
            u8::from((oy..oy + 16).contains(&y) && (ox..ox + 16).contains(&x))
        })
        .collect();
    SplitData {
        images,
        labels: vec![0, 1, 2, 0],
        masks: Some(masks),
        members: (0..n).map(|k| format!("img{k}")).collect(),
        files: (0..n)
            .map(|k| Path::new("/data/test").join(format!("img{k}_vh.tif")))
            .collect(),
        digest: "split-digest".into(),
        size: SIZE,
        ..SplitData::default()
    }
}

fn classes() -> Vec<String> {
    CLASSES.iter().map(|s| s.to_string()).collect()
}

fn config(images: usize) -> ScoreConfig {
    ScoreConfig {
        methods: vec![
            Method::Saliency,
            Method::GuidedBackprop,
            Method::GradCam,
            Method::Occlusion,
        ],
        metrics: Metric::ALL.to_vec(),
        selection: Selection::First { n: images },
        progress: false,
        ..ScoreConfig::default()
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn score_writes_everything_and_resumes_to_the_uninterrupted_results() {
    let _guard = lock();
    let (m, s, c) = (model(1), split(), classes());
    let data = ScoreData {
        split: &s,
        classes: &c,
        pol: Some(Pol::Vh),
        root: Some(Path::new("/data")),
    };
    let tmp = tempfile::tempdir().unwrap();
    let (full, parts) = (tmp.path().join("full"), tmp.path().join("parts"));

    let a = score(&config(2), &m, &data, &full).unwrap();
    assert_eq!((a.images, a.computed_pairs, a.resumed_pairs), (2, 8, 0));
    for f in [
        files::PER_IMAGE,
        files::TIMINGS,
        files::ENTROPY_SETTINGS,
        files::SCORE_JSON,
        files::IMAGES,
        "table1.md",
        "table1.csv",
        "table1.json",
        "figure1_vh.png",
    ] {
        assert!(full.join(f).is_file(), "{f} missing");
    }
    let csv = read(&full, files::PER_IMAGE);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 2 * 4);
    assert!(lines[0].starts_with("image,member,file,label,label_name,predicted,predicted_name,target,method,max_sensitivity,max_sensitivity_captum09,entropy_kb"));
    // The metrics' columns follow their declaration order; the last one, then the hash.
    let last = Metric::ALL.iter().max().unwrap().key();
    assert!(
        lines[0].ends_with(&format!("{last},model_hash")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("0,img0,test/img0_vh.tif,0,airport,"),
        "{}",
        lines[1]
    );
    // Every metric is defined for a random model except, possibly, a constant map's.
    let t = &a.table;
    for meth in [Method::Saliency, Method::GuidedBackprop, Method::Occlusion] {
        for k in [
            Metric::MaxSensitivity,
            Metric::EntropyKb,
            Metric::Infidelity,
            Metric::DeletionAuc,
        ] {
            let v = t.mean(meth, k).unwrap_or_else(|| panic!("{meth} {k}"));
            assert!(v.is_finite() && v >= 0.0, "{meth} {k} {v}");
        }
    }
    assert_eq!(t.meta.target, "true_label");
    assert_eq!(
        t.agreement.len(),
        3,
        "Max-Sensitivity (as defined and as Captum 0.9 reports it) and XAI entropy vs the paper"
    );
    // 30 encoder settings per method.
    assert_eq!(
        read(&full, files::ENTROPY_SETTINGS).lines().count(),
        1 + 4 * 30
    );
    let json: serde_json::Value = serde_json::from_str(&read(&full, files::SCORE_JSON)).unwrap();
    assert_eq!(json["status"], "complete");
    assert_eq!(json["settings"]["target"], "true_label");

    // "Interrupted": one image, then a torn row, then resumed to two images.
    let b1 = score(&config(1), &m, &data, &parts).unwrap();
    assert_eq!(b1.computed_pairs, 4);
    let p = parts.join(files::PER_IMAGE);
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    std::io::Write::write_all(&mut f, b"1,img1,test/img1_vh.tif,1,rail").unwrap();
    drop(f);
    let b2 = score(&config(2), &m, &data, &parts).unwrap();
    assert_eq!((b2.resumed_pairs, b2.computed_pairs), (4, 4));
    assert_eq!(read(&parts, files::PER_IMAGE), csv);
    assert_eq!(read(&parts, "table1.json"), read(&full, "table1.json"));
    assert_eq!(read(&parts, "table1.md"), read(&full, "table1.md"));
    assert_eq!(
        std::fs::read(parts.join("figure1_vh.png")).unwrap(),
        std::fs::read(full.join("figure1_vh.png")).unwrap()
    );
    // Nothing left to do: a third run computes nothing.
    let b3 = score(&config(2), &m, &data, &parts).unwrap();
    assert_eq!((b3.resumed_pairs, b3.computed_pairs), (8, 0));
    assert_eq!(read(&parts, files::PER_IMAGE), csv);
}

#[test]
fn bad_input_is_a_clear_error_and_changes_nothing() {
    let _guard = lock();
    let (m, s, c) = (model(2), split(), classes());
    let data = ScoreData {
        split: &s,
        classes: &c,
        pol: Some(Pol::Vv),
        root: None,
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("scores");
    let cfg = ScoreConfig {
        methods: vec![Method::Saliency],
        metrics: Metric::PAPER.to_vec(),
        ..config(1)
    };

    // N larger than the split: nothing is created.
    let e = score(
        &ScoreConfig {
            selection: Selection::First { n: 5 },
            ..cfg.clone()
        },
        &m,
        &data,
        &dir,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        ScoreError::Selection(SelectionError::TooMany {
            requested: 5,
            available: 4
        })
    ));
    assert!(
        e.to_string()
            .contains("larger than the test split, which has 4"),
        "{e}"
    );
    assert!(!dir.exists());
    // The figure image must be among the scored ones.
    let e = score(
        &ScoreConfig {
            figure_image: 1,
            ..cfg.clone()
        },
        &m,
        &data,
        &dir,
    )
    .unwrap_err();
    assert!(e.to_string().contains("figure image 1"), "{e}");
    assert!(!dir.exists());

    score(&cfg, &m, &data, &dir).unwrap();
    let before = read(&dir, files::PER_IMAGE);
    let json_before = read(&dir, files::SCORE_JSON);

    // Another model in the same directory.
    let other = model(3);
    let e = score(&cfg, &other, &data, &dir).unwrap_err();
    assert!(matches!(e, ScoreError::OtherModel { .. }));
    let msg = e.to_string();
    assert!(
        msg.starts_with("run directory from another model hash"),
        "{msg}"
    );
    assert_eq!(read(&dir, files::PER_IMAGE), before);
    assert_eq!(read(&dir, files::SCORE_JSON), json_before);

    // Other settings (seed, metric columns) in the same directory.
    let e = score(
        &ScoreConfig {
            seed: 9,
            ..cfg.clone()
        },
        &m,
        &data,
        &dir,
    )
    .unwrap_err();
    assert!(e.to_string().contains("seed: 0 -> 9"), "{e}");
    let e = score(
        &ScoreConfig {
            metrics: vec![Metric::MaxSensitivity],
            ..cfg.clone()
        },
        &m,
        &data,
        &dir,
    )
    .unwrap_err();
    assert!(e.to_string().contains("metric columns"), "{e}");
    assert_eq!(read(&dir, files::PER_IMAGE), before);

    // A foreign file named per_image.csv.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join(files::PER_IMAGE), "a,b\n").unwrap();
    let e = score(&cfg, &m, &data, &foreign).unwrap_err();
    assert!(e.to_string().contains("not a sarxai per_image.csv"), "{e}");

    // A model whose classes do not match the data.
    let c2: Vec<String> = vec!["a".into(), "b".into()];
    let d2 = ScoreData {
        classes: &c2,
        ..data
    };
    let e = score(&cfg, &m, &d2, &tmp.path().join("x")).unwrap_err();
    assert!(
        e.to_string()
            .contains("predicts 3 classes but the data has 2"),
        "{e}"
    );
}

#[test]
fn mask_metrics_are_dropped_without_masks_and_predicted_targets_are_recorded() {
    let _guard = lock();
    let (m, mut s, c) = (model(4), split(), classes());
    s.masks = None;
    let data = ScoreData {
        split: &s,
        classes: &c,
        pol: None,
        root: None,
    };
    let tmp = tempfile::tempdir().unwrap();
    let cfg = ScoreConfig {
        methods: vec![Method::GuidedGradCam, Method::Deconvolution],
        metrics: vec![Metric::EntropyKb, Metric::PointingGame, Metric::Sparseness],
        target: sarxai::score::TargetChoice::Predicted,
        ..config(2)
    };
    let r = score(&cfg, &m, &data, tmp.path()).unwrap();
    assert_eq!(r.metrics, vec![Metric::EntropyKb, Metric::Sparseness]);
    assert!(tmp.path().join("figure1_single.png").is_file());
    let csv = read(tmp.path(), files::PER_IMAGE);
    for row in csv.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f[7], f[5], "target = predicted: {row}");
    }
    assert!(
        r.table.agreement.is_empty(),
        "no polarization, no paper column"
    );
}
