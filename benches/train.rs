//! Training throughput: sarxai's `Trainer::step` (forward in training mode, cross-entropy,
//! backward, SGD update, loss read back) with criterion, then the ratio against a PyTorch
//! Python loop with the same architecture, batch size, image size and thread count
//! (`ci/bench_train.py`), measured in this one run by alternating rounds of the two.
//!
//! Settings (environment): `SARXAI_BENCH_ARCH` (resnet18), `SARXAI_BENCH_BATCH` (32),
//! `SARXAI_BENCH_SIZE` (100), `SARXAI_BENCH_THREADS` (2), `SARXAI_BENCH_ROUNDS` (3),
//! `SARXAI_BENCH_STEPS` (8 timed steps per round), `SARXAI_BENCH_PYTHON`
//! (`.venv/bin/python`), `SARXAI_BENCH_SCRIPT` (`ci/bench_train.py`),
//! `SARXAI_BENCH_RATIO=0` to skip the comparison, `SARXAI_BENCH_CRITERION=0` to skip criterion. The ratio is
//! written to `target/criterion/train-ratio.json`.
//!
//! Benchmark on an idle machine: with other processes on the cores, OpenMP threads show
//! large outliers; the alternation spreads such noise over both sides.

use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use tch::{Device, Kind, Tensor};

use sarxai::model::Arch;
use sarxai::train::{TrainConfig, Trainer};

fn env<T: std::str::FromStr>(k: &str, default: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Setup {
    arch: Arch,
    batch: usize,
    size: usize,
    threads: i64,
}

fn trainer(s: &Setup) -> (Trainer, Tensor, Tensor) {
    let mut cfg = TrainConfig::quick();
    cfg.model.arch = s.arch;
    cfg.optimizer.lr = 0.01;
    let counts = vec![1usize; 10];
    let t = Trainer::new(&cfg, 10, &counts, Device::Cpu).expect("trainer");
    tch::manual_seed(1);
    let x = Tensor::randn(
        [s.batch as i64, 1, s.size as i64, s.size as i64],
        (Kind::Float, Device::Cpu),
    );
    let y = Tensor::randint(10, [s.batch as i64], (Kind::Int64, Device::Cpu));
    (t, x, y)
}

fn rust_round(s: &Setup, steps: usize) -> f64 {
    let (mut t, x, y) = trainer(s);
    for _ in 0..2 {
        t.step(&x, &y, 0.01);
    }
    let mut times = Vec::with_capacity(steps);
    for _ in 0..steps {
        let t0 = Instant::now();
        t.step(&x, &y, 0.01);
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    s.batch as f64 / times[times.len() / 2]
}

fn python_round(s: &Setup, steps: usize, python: &str) -> Result<f64, String> {
    let script = env(
        "SARXAI_BENCH_SCRIPT",
        concat!(env!("CARGO_MANIFEST_DIR"), "/ci/bench_train.py").to_string(),
    );
    let out = Command::new(python)
        .args([
            &script,
            "--arch",
            s.arch.name(),
            "--batch-size",
            &s.batch.to_string(),
            "--size",
            &s.size.to_string(),
            "--threads",
            &s.threads.to_string(),
            "--steps",
            &steps.to_string(),
            "--json",
        ])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("bad output: {e}"))?;
    v["images_per_s"]
        .as_f64()
        .ok_or_else(|| "no images_per_s".to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // As the sarxai binary does (src/malloc.rs).
    sarxai::malloc::keep_freed_memory();
    let s = Setup {
        arch: env("SARXAI_BENCH_ARCH", "resnet18".to_string())
            .parse()
            .expect("SARXAI_BENCH_ARCH"),
        batch: env("SARXAI_BENCH_BATCH", 32),
        size: env("SARXAI_BENCH_SIZE", 100),
        threads: env("SARXAI_BENCH_THREADS", 2),
    };
    tch::set_num_threads(s.threads as i32);
    if env("SARXAI_BENCH_CRITERION", 1) != 0 {
        criterion_part(&s);
    }
    ratio_part(&s);
}

fn criterion_part(s: &Setup) {
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(3))
        .configure_from_args();
    {
        let mut g = c.benchmark_group("train_step");
        g.sampling_mode(SamplingMode::Flat);
        g.throughput(Throughput::Elements(s.batch as u64));
        let (mut t, x, y) = trainer(s);
        let id = BenchmarkId::new(
            s.arch.name(),
            format!("b{}-{}px-{}t", s.batch, s.size, s.threads),
        );
        g.bench_function(id, |b| b.iter(|| t.step(&x, &y, 0.01)));
        g.finish();
    }
    c.final_summary();
}

fn ratio_part(s: &Setup) {
    if env("SARXAI_BENCH_RATIO", 1) == 0 {
        return;
    }
    let python = env(
        "SARXAI_BENCH_PYTHON",
        concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").to_string(),
    );
    let rounds: usize = env("SARXAI_BENCH_ROUNDS", 3);
    let steps: usize = env("SARXAI_BENCH_STEPS", 8);
    let (mut rust, mut torch) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let a = rust_round(s, steps);
        let b = match python_round(s, steps, &python) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("train ratio: PyTorch loop unavailable ({e}); skipped");
                return;
            }
        };
        eprintln!(
            "round {}: sarxai {a:.1} images/s, pytorch {b:.1} images/s",
            r + 1
        );
        rust.push(a);
        torch.push(b);
    }
    let (r, t) = (median(rust.clone()), median(torch.clone()));
    let ratio = r / t;
    println!(
        "train throughput {} batch {} {}x{} threads {}: sarxai {r:.1} images/s, pytorch {t:.1} images/s, ratio sarxai/pytorch {ratio:.3} (median of {rounds} alternating rounds)",
        s.arch, s.batch, s.size, s.size, s.threads
    );
    let out = serde_json::json!({
        "arch": s.arch.name(), "batch_size": s.batch, "size": s.size, "threads": s.threads,
        "rounds": rounds, "steps_per_round": steps,
        "sarxai_images_per_s": rust, "pytorch_images_per_s": torch,
        "sarxai_median": r, "pytorch_median": t, "ratio": ratio,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(
        dir.join("train-ratio.json"),
        serde_json::to_vec_pretty(&out).unwrap_or_default(),
    );
}
