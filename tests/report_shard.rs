//! Sharded scoring and merge (`sarxai::score::scoring::score_shard`,
//! `sarxai::score::merge`): the shards of a selection merged give every output file of a
//! single-process `score` byte for byte (timings.csv, which holds wall-clock seconds, in
//! the same rows but not the same seconds); shards that do not belong together (another
//! setting, a missing or repeated shard, an incomplete shard, a lost row) are clear errors
//! naming them; `sarxai score --shard` and `sarxai merge` do the same from the command line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use sarxai::attr::Method;
use sarxai::data::{Pol, SplitData};
use sarxai::model::{self, Arch, ResNet, ResNetConfig};
use sarxai::score::merge::MergeError;
use sarxai::score::scoring::{files, score, score_shard, ScoreConfig, ScoreData};
use sarxai::score::selection::Selection;
use sarxai::score::shard::{Shard, SHARD_JSON};
use sarxai::score::{merge, Metric, ScoreError};
use tch::{Device, Kind, Tensor};

const SIZE: usize = 32;
const CLASSES: [&str; 3] = ["airport", "railway", "highway"];

/// Bit-exact comparisons need one libtorch thread and no concurrent test changing it
/// (see tests/report_score.rs).
static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    let g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    g
}

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

/// Five images with masks (a square in a different corner per image).
fn split() -> SplitData {
    let n = 5;
    let per = SIZE * SIZE;
    let images: Vec<f32> = (0..n * per)
        .map(|i| ((i as f32) * 0.37).sin() + ((i / SIZE) as f32 * 0.05).cos())
        .collect();
    let masks: Vec<u8> = (0..n * per)
        .map(|i| {
            let (k, p) = (i / per, i % per);
            let (y, x) = (p / SIZE, p % SIZE);
            let (oy, ox) = (((k / 2) % 2) * 16, (k % 2) * 16);
            u8::from((oy..oy + 16).contains(&y) && (ox..ox + 16).contains(&x))
        })
        .collect();
    SplitData {
        images,
        labels: vec![0, 1, 2, 0, 1],
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

fn bytes(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

/// The (image, method) keys of timings.csv's rows, in order.
fn timing_keys(dir: &Path) -> Vec<String> {
    String::from_utf8(bytes(dir, files::TIMINGS))
        .unwrap()
        .lines()
        .map(|l| l.splitn(3, ',').take(2).collect::<Vec<_>>().join(","))
        .collect()
}

/// Every file of `whole` except timings.csv equals `merged`'s byte for byte.
fn assert_same_outputs(whole: &Path, merged: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(whole)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    let mut merged_names: Vec<String> = std::fs::read_dir(merged)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    merged_names.sort();
    assert_eq!(names, merged_names, "the same files");
    for n in &names {
        if n == files::TIMINGS {
            assert_eq!(timing_keys(whole), timing_keys(merged), "timings.csv rows");
        } else {
            assert!(bytes(whole, n) == bytes(merged, n), "{n} differs");
        }
    }
}

#[test]
fn shards_merged_equal_one_process_byte_for_byte() {
    let _guard = lock();
    let (m, s, c) = (model(1), split(), classes());
    let data = ScoreData {
        split: &s,
        classes: &c,
        pol: Some(Pol::Vh),
        root: Some(Path::new("/data")),
    };
    let cfg = ScoreConfig {
        methods: vec![Method::Saliency, Method::GuidedBackprop, Method::GradCam],
        metrics: Metric::ALL.to_vec(),
        selection: Selection::Stratified {
            per_class: 1,
            seed: 3,
            correct_only: false,
            at_most: false,
        },
        figure_image: 1,
        progress: false,
        ..ScoreConfig::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let one = score(&cfg, &m, &data, &whole).unwrap();
    assert_eq!(one.images, 3);
    for n in [2usize, 3] {
        let dirs: Vec<PathBuf> = (0..n)
            .map(|i| {
                let d = tmp.path().join(format!("shard{i}of{n}"));
                let r = score_shard(&cfg, &m, &data, &d, Shard::new(i, n).unwrap()).unwrap();
                let want: Vec<usize> = (i..3).step_by(n).map(|p| one.chosen[p]).collect();
                assert_eq!(r.covered, want, "shard {i}/{n}");
                assert_eq!(
                    r.figure.is_some(),
                    i == 1 % n,
                    "Figure 1 on the figure image's shard"
                );
                assert!(!d.join("table1.md").exists() && !d.join(files::SCORE_JSON).exists());
                assert!(d.join(SHARD_JSON).is_file());
                d
            })
            .collect();
        // Given in any order.
        let mut given = dirs.clone();
        given.reverse();
        let out = tmp.path().join(format!("merged{n}"));
        let merged = merge(&out, &given).unwrap();
        assert_eq!((merged.shards, merged.images), (n, 3));
        assert_eq!(merged.table, one.table);
        assert_same_outputs(&whole, &out);
    }
}

/// Two shards of a cheap configuration, scored into `root/a0`, `root/a1`.
fn cheap_shards(root: &Path, m: &ResNet, data: &ScoreData, cfg: &ScoreConfig) -> [PathBuf; 2] {
    [0, 1].map(|i| {
        let d = root.join(format!("a{i}"));
        score_shard(cfg, m, data, &d, Shard::new(i, 2).unwrap()).unwrap();
        d
    })
}

fn merge_err(out: &Path, dirs: &[PathBuf]) -> String {
    let e = merge(out, dirs).unwrap_err();
    assert!(matches!(e, ScoreError::Merge(_)), "{e:?}");
    assert!(!out.exists(), "nothing written on error");
    e.to_string()
}

#[test]
fn shards_that_do_not_belong_together_are_named() {
    let _guard = lock();
    let (m, s, c) = (model(2), split(), classes());
    let data = ScoreData {
        split: &s,
        classes: &c,
        pol: Some(Pol::Vv),
        root: None,
    };
    let cfg = ScoreConfig {
        methods: vec![Method::Saliency],
        metrics: Metric::PAPER.to_vec(),
        selection: Selection::First { n: 3 },
        progress: false,
        ..ScoreConfig::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let [a0, a1] = cheap_shards(tmp.path(), &m, &data, &cfg);
    let out = tmp.path().join("out");

    // A missing shard.
    let e = merge_err(&out, std::slice::from_ref(&a0));
    assert!(e.contains("missing shard(s) 1/2 of 2"), "{e}");
    // A repeated shard (a copy of shard 0's directory).
    let copy = tmp.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for f in std::fs::read_dir(&a0).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
    }
    let e = merge_err(&out, &[a0.clone(), copy.clone(), a1.clone()]);
    assert!(
        e.contains("shard 0/2 is given twice")
            && e.contains(&*a0.to_string_lossy())
            && e.contains(&*copy.to_string_lossy()),
        "{e}"
    );
    // Another setting: shard 1 scored with another noise seed.
    let b1 = tmp.path().join("b1");
    score_shard(
        &ScoreConfig {
            seed: 9,
            ..cfg.clone()
        },
        &m,
        &data,
        &b1,
        Shard::new(1, 2).unwrap(),
    )
    .unwrap();
    let e = merge_err(&out, &[a0.clone(), b1.clone()]);
    assert!(
        e.contains("shard 1/2 in")
            && e.contains(&*b1.to_string_lossy())
            && e.contains("settings.seed: 0 -> 9"),
        "{e}"
    );
    // Another shard count.
    let c1 = tmp.path().join("c1");
    score_shard(&cfg, &m, &data, &c1, Shard::new(1, 3).unwrap()).unwrap();
    let e = merge_err(&out, &[a0.clone(), c1]);
    assert!(e.contains("shard count: 2 -> 3"), "{e}");
    // An incomplete shard.
    let manifest = copy.join(SHARD_JSON);
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"complete\"", "\"running\"")).unwrap();
    let e = merge_err(&out, &[copy.clone(), a1.clone()]);
    assert!(
        e.contains("shard 0/2 in") && e.contains("not complete"),
        "{e}"
    );
    // A lost row.
    std::fs::write(&manifest, text).unwrap();
    let csv = String::from_utf8(bytes(&copy, files::PER_IMAGE)).unwrap();
    let kept: Vec<&str> = csv.lines().filter(|l| !l.starts_with("2,")).collect();
    std::fs::write(
        copy.join(files::PER_IMAGE),
        format!("{}\n", kept.join("\n")),
    )
    .unwrap();
    let e = merge_err(&out, &[copy.clone(), a1.clone()]);
    assert!(e.contains("lacks image 2 saliency"), "{e}");
    // Not a shard directory; no shards; a non-empty output directory.
    let e = merge_err(&out, &[tmp.path().join("nowhere")]);
    assert!(e.contains("is not a shard directory"), "{e}");
    assert!(matches!(
        merge(&out, &[]).unwrap_err(),
        ScoreError::Merge(MergeError::NoShards)
    ));
    let e = merge(&a1, &[a0.clone(), a1.clone()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not empty"), "{e}");

    // A shard directory re-used for another shard, or for a whole run.
    let e = score_shard(&cfg, &m, &data, &a0, Shard::new(1, 2).unwrap()).unwrap_err();
    assert!(e.to_string().contains("holds shard 0/2, not 1/2"), "{e}");
    let e = score(&cfg, &m, &data, &a0).unwrap_err();
    assert!(e.to_string().contains("holds a shard"), "{e}");
    // The good pair still merges, and a shard run again computes nothing.
    let again = score_shard(&cfg, &m, &data, &a0, Shard::new(0, 2).unwrap()).unwrap();
    assert_eq!((again.resumed_pairs, again.computed_pairs), (2, 0));
    merge(&out, &[a0, a1]).unwrap();
    assert!(out.join("table1.md").is_file());
}

// ---- The command line, on tiny synthetic data.

fn sarxai(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sarxai"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn score_shard_and_merge_from_the_command_line() {
    use sarxai::data::synth::{generate, SynthConfig};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("synth");
    generate(
        &SynthConfig {
            seed: 5,
            per_class: 4,
            size: 32,
            looks: 4.0,
        },
        &data,
    )
    .unwrap();
    tch::manual_seed(7);
    let w = tmp.path().join("w.safetensors");
    model::save(
        &ResNet::new(
            ResNetConfig::new(Arch::Resnet18, 1, 10).unwrap(),
            Device::Cpu,
        ),
        &w,
    )
    .unwrap();
    let run = |out: &Path, shard: Option<&str>| -> Output {
        let mut a: Vec<&std::ffi::OsStr> = ["score", "--weights"].map(|s| s.as_ref()).to_vec();
        a.push(w.as_os_str());
        a.push("--data".as_ref());
        a.push(data.as_os_str());
        for s in [
            "--pol",
            "vh",
            "--size",
            "32",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--quiet",
            "--images",
            "3",
            "--methods",
            "saliency,grad-cam",
            "--metrics",
            "paper",
            "--figure-image",
            "2",
            "--out",
        ] {
            a.push(s.as_ref());
        }
        a.push(out.as_os_str());
        if let Some(s) = shard {
            a.push("--shard".as_ref());
            a.push(s.as_ref());
        }
        sarxai(&a)
    };
    for (bad, says) in [
        ("0/0", "at least 1"),
        ("2/2", "numbered 0 to 1"),
        ("x", "expected I/N"),
    ] {
        let o = run(&tmp.path().join("bad"), Some(bad));
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(!o.status.success() && err.contains(says), "{bad}: {err}");
    }
    let whole = tmp.path().join("whole");
    ok(&run(&whole, None));
    let shards: Vec<PathBuf> = (0..2).map(|i| tmp.path().join(format!("s{i}"))).collect();
    for (i, d) in shards.iter().enumerate() {
        let out = ok(&run(d, Some(&format!("{i}/2"))));
        assert!(out.contains(&format!("shard {i}/2:")), "{out}");
    }
    let merged = tmp.path().join("merged");
    let mut a: Vec<&std::ffi::OsStr> = vec!["merge".as_ref(), merged.as_os_str()];
    let o = sarxai(&a);
    assert!(!o.status.success(), "merge without shards is refused");
    a.push(shards[0].as_os_str());
    let o = sarxai(&a);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        !o.status.success() && err.contains("missing shard(s) 1/2"),
        "{err}"
    );
    a.push(shards[1].as_os_str());
    let out = ok(&sarxai(&a));
    assert!(out.contains("merged 2 shards, 3 images"), "{out}");
    assert_same_outputs(&whole, &merged);
}
