//! One computation of every metric (issue 29): the values `score` writes to `per_image.csv`
//! equal, to the bit, what `sarxai metrics` computes ([`metrics_on_arrays`]) on the same
//! attributions, inputs, masks and seed, for every metric column and three methods
//! (gradient, layer map, perturbation). Both go through [`sarxai::score::Metric::values`];
//! this test holds the two callers to giving it the same inputs (the image's noise seed,
//! its mask, the attribution at the input resolution).

use sarxai::attr::{MemoryBudget, Method};
use sarxai::data::SplitData;
use sarxai::metrics::Convention;
use sarxai::model::{Arch, ResNet, ResNetConfig};
use sarxai::score::arrays::{metrics_on_arrays, ArrayInputs, ArrayMetric, ModelInputs};
use sarxai::score::selection::Selection;
use sarxai::score::{records, score, Metric, ScoreConfig, ScoreData};
use tch::{Device, Kind, Tensor};

const N: usize = 3;
const SIZE: usize = 32;

/// Three random 32 x 32 test images of three classes, each with a square mask.
fn split() -> SplitData {
    tch::manual_seed(11);
    let images = Vec::<f32>::try_from(Tensor::randn(
        [(N * SIZE * SIZE) as i64],
        (Kind::Float, Device::Cpu),
    ))
    .unwrap();
    let mut masks = vec![0u8; N * SIZE * SIZE];
    for (i, m) in masks.chunks_mut(SIZE * SIZE).enumerate() {
        for r in 4 + 3 * i..16 + 3 * i {
            m[r * SIZE + 6..r * SIZE + 20].fill(1);
        }
    }
    SplitData {
        images,
        labels: vec![0, 1, 2],
        masks: Some(masks),
        members: (0..N).map(|i| format!("m{i}")).collect(),
        files: (0..N).map(|i| format!("m{i}.tif").into()).collect(),
        digest: String::new(),
        size: SIZE,
        context: None,
        margin: 0,
    }
}

#[test]
fn score_and_metrics_compute_every_metric_alike() {
    // As `main` does first: MKL's reproducible mode, without which one SGEMM may round
    // differently from the next of the same operands (src/mkl.rs).
    sarxai::mkl::reproducible_mkl();
    let split = split();
    tch::manual_seed(3);
    let model = ResNet::new(
        ResNetConfig::new(Arch::Resnet18, 1, 3).unwrap(),
        Device::Cpu,
    );
    let methods = [Method::Saliency, Method::GradCam, Method::Occlusion];
    let cfg = ScoreConfig {
        methods: methods.to_vec(),
        selection: Selection::First { n: N },
        seed: 7,
        progress: false,
        ..ScoreConfig::default()
    };
    let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let data = ScoreData {
        split: &split,
        classes: &classes,
        pol: None,
        root: None,
    };
    let out = tempfile::tempdir().unwrap();
    score(&cfg, &model, &data, out.path()).unwrap();
    let scored = records::read(&out.path().join("per_image.csv"))
        .unwrap()
        .records;

    let x = Tensor::from_slice(&split.images).view([N as i64, 1, SIZE as i64, SIZE as i64]);
    let t = Tensor::from_slice(&split.labels);
    let masks = Tensor::from_slice(split.masks.as_ref().unwrap()).view([
        N as i64,
        SIZE as i64,
        SIZE as i64,
    ]);
    let all: Vec<ArrayMetric> = Metric::ALL.map(ArrayMetric::Scored).to_vec();
    let mut compared = 0;
    for m in methods {
        // Each image explained alone, as scoring does.
        let method = m.with_defaults(MemoryBudget::default());
        let a = Tensor::cat(
            &(0..N as i64)
                .map(|i| {
                    method
                        .attribute(&model, &x.narrow(0, i, 1), &t.narrow(0, i, 1))
                        .unwrap()
                        .detach()
                })
                .collect::<Vec<_>>(),
            0,
        );
        let input = ArrayInputs {
            attributions: &a,
            masks: Some(&masks),
            model: Some(ModelInputs {
                model: &model,
                inputs: &x,
                targets: &t,
            }),
            method: Some(m),
        };
        let values = metrics_on_arrays(&input, &all, Convention::Sarxai, &cfg).unwrap();
        for r in scored.iter().filter(|r| r.method == m) {
            for (metric, v) in &values {
                let ArrayMetric::Scored(k) = metric else {
                    unreachable!()
                };
                let (s, a) = (r.values[k], v[r.image]);
                assert!(
                    s.to_bits() == a.to_bits() || (s.is_nan() && a.is_nan()),
                    "{m} image {} {k}: score {s} vs metrics {a}",
                    r.image
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, methods.len() * N * Metric::ALL.len());
}
