//! Criterion benchmarks of every attribution method x architecture x batch at 100 x 100,
//! of Max-Sensitivity per method, and a floor table: each method's time next to the
//! passes it cannot avoid (forward and backward passes x measured batched pass time).
//!
//! `cargo bench --bench attr` (all), `cargo bench --bench attr -- floor` (table only),
//! `SARXAI_BENCH_FULL=1` adds ResNet-101 and batch 16 (slow on a 2-core CPU);
//! `SARXAI_BENCH_ARCHES=resnet101` picks the floor table's architectures,
//! `SARXAI_BENCH_METHODS=guided-backprop,deconvolution` its methods (default: all).

// criterion_group! defines public functions that cannot carry a doc comment.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sarxai::attr::gradient::input_gradients;
use sarxai::attr::{Attribution, MemoryBudget, Method};
use sarxai::metrics::sensitivity::{max_sensitivity, Perturbations, SensitivityConfig};
use sarxai::model::{Arch, CutTape, ReluRule, ResNet, ResNetConfig};
use tch::{Device, Kind, Tensor};

fn model(arch: Arch) -> ResNet {
    // As the sarxai binary does (src/malloc.rs); idempotent.
    sarxai::malloc::keep_freed_memory();
    tch::manual_seed(0);
    let m = ResNet::new(ResNetConfig::new(arch, 1, 10).unwrap(), Device::Cpu);
    tch::no_grad(|| {
        let _ = m.forward_t(
            &Tensor::randn([8, 1, 100, 100], (Kind::Float, Device::Cpu)),
            true,
        );
    });
    m
}

fn inputs(n: i64) -> (Tensor, Tensor) {
    tch::manual_seed(1);
    (
        Tensor::rand([n, 1, 100, 100], (Kind::Float, Device::Cpu)),
        Tensor::randint(10, [n], (Kind::Int64, Device::Cpu)),
    )
}

fn full() -> bool {
    std::env::var_os("SARXAI_BENCH_FULL").is_some()
}

/// The floor table's architectures: `SARXAI_BENCH_ARCHES=resnet18,resnet101`, else
/// ResNet-18 (and ResNet-101 with `SARXAI_BENCH_FULL`).
fn floor_arches() -> Vec<Arch> {
    match std::env::var("SARXAI_BENCH_ARCHES") {
        Ok(list) => list
            .split(',')
            .map(|a| {
                a.trim()
                    .parse()
                    .expect("SARXAI_BENCH_ARCHES: resnet18,resnet101,...")
            })
            .collect(),
        Err(_) if full() => vec![Arch::Resnet18, Arch::Resnet101],
        Err(_) => vec![Arch::Resnet18],
    }
}

/// The floor table's methods: `SARXAI_BENCH_METHODS=guided-backprop,...`, else all.
fn floor_methods() -> Vec<Method> {
    match std::env::var("SARXAI_BENCH_METHODS") {
        Ok(list) => list
            .split(',')
            .map(|m| {
                Method::ALL
                    .into_iter()
                    .find(|x| x.name() == m.trim())
                    .unwrap_or_else(|| panic!("SARXAI_BENCH_METHODS: unknown method {m:?}"))
            })
            .collect(),
        Err(_) => Method::ALL.to_vec(),
    }
}

fn time<F: FnMut()>(mut f: F, reps: usize) -> f64 {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

/// Seconds per image of a batched forward and of a forward+backward pass.
fn pass_times(m: &ResNet, batch: i64) -> (f64, f64) {
    let (x, t) = inputs(batch);
    let fwd = time(|| tch::no_grad(|| drop(m.forward(&x))), 5) / batch as f64;
    let fb = time(
        || {
            let g = input_gradients(m, &x, &t, ReluRule::Gradient, MemoryBudget::default());
            drop(g.unwrap());
        },
        5,
    ) / batch as f64;
    (fwd, fb)
}

/// Images through forward-only and forward+backward passes that a method cannot avoid,
/// and whether they can be batched beyond the caller's batch (IG steps, occlusion windows).
fn floor_passes(method: Method, n: f64, windows: f64) -> (f64, f64, bool) {
    match method {
        Method::Saliency
        | Method::InputXGradient
        | Method::GuidedBackprop
        | Method::Deconvolution
        | Method::GuidedGradCam => (0.0, n, false),
        Method::IntegratedGradients => (0.0, 50.0 * n, true),
        Method::GradCam => (n, 0.0, false),
        Method::Occlusion => ((windows + 1.0) * n, 0.0, true),
    }
}

fn floor_table(_c: &mut Criterion) {
    let arches = floor_arches();
    let methods = floor_methods();
    println!(
        "\nfloor table (CPU, {} threads, 100x100, f32): floor = passes x per-image pass time, \
         measured at the caller's batch for one-pass methods (best of 10 rounds that time every \
         one-pass method and its floor in turn; `(cut)`: the engine before issue 18) and at \
         batch 32 for IG steps and occlusion windows",
        tch::get_num_threads()
    );
    println!(
        "{:<10} {:>5} {:<22} {:>10} {:>10} {:>7}",
        "arch", "batch", "method", "time s", "floor s", "ratio"
    );
    for &arch in &arches {
        let m = model(arch);
        // Forward-only time per image against the batch: the chunk size of occlusion's
        // and Max-Sensitivity's forward passes matters on a CPU (cache-sized activations).
        let sweep: Vec<String> = [8i64, 32, 128, 512]
            .iter()
            .map(|&b| {
                let (x, _) = inputs(b);
                let s = time(|| tch::no_grad(|| drop(m.forward(&x))), 2) / b as f64;
                format!("batch {b}: {:.2} ms", s * 1e3)
            })
            .collect();
        println!("{} forward per image: {}", arch.name(), sweep.join(", "));
        let batched = pass_times(&m, 32);
        for n in [1i64, 16] {
            let (x, t) = inputs(n);
            let row = |label: &str, secs: f64, floor: f64| {
                println!(
                    "{:<10} {:>5} {:<22} {:>10.3} {:>10.3} {:>7.2}",
                    arch.name(),
                    n,
                    label,
                    secs,
                    floor,
                    secs / floor
                );
            };
            let (one_pass, many): (Vec<Method>, Vec<Method>) = methods
                .iter()
                .partition(|&&me| !floor_passes(me, 1.0, 324.0).2);
            // One-pass methods: timed in rounds together with their floor (a plain
            // forward+backward of the batch) and the cut engine, so that load from other
            // jobs hits them alike; best of 10 rounds each.
            let mut jobs = one_pass_jobs(&m, &x, &t, &one_pass);
            let best = time_rounds(&mut jobs, 10);
            let (fb, fwd) = (best[0], best[1]);
            for ((label, (f_only, f_b), _), secs) in jobs.iter().zip(&best).skip(2) {
                row(label, *secs, f_only * fwd + f_b * fb);
            }
            for &method in &many {
                let a = method.with_defaults(MemoryBudget::default());
                let (f_only, f_b, _) = floor_passes(method, n as f64, 324.0);
                let secs = time(|| drop(a.attribute(&m, &x, &t).unwrap()), 2);
                row(method.name(), secs, f_only * batched.0 + f_b * batched.1);
            }
        }
    }
}

/// A timed job: label, floor passes (forward-only, forward+backward; in units of the
/// batch's pass), the work.
type Job<'a> = (String, (f64, f64), Box<dyn FnMut() + 'a>);

/// The floor passes (job 0: forward+backward, job 1: forward), the one-pass methods, and the cut engine ([`CutTape`], the
/// engine before issue 18) for the guided and deconvolution rules among them.
fn one_pass_jobs<'a>(
    m: &'a ResNet,
    x: &'a Tensor,
    t: &'a Tensor,
    methods: &[Method],
) -> Vec<Job<'a>> {
    let mut jobs: Vec<Job<'a>> = vec![(
        "floor".into(),
        (0.0, 1.0),
        Box::new(move || {
            let g = input_gradients(m, x, t, ReluRule::Gradient, MemoryBudget::default());
            drop(g.unwrap());
        }),
    )];
    jobs.push((
        "forward".into(),
        (1.0, 0.0),
        Box::new(move || tch::no_grad(|| drop(m.forward(x)))),
    ));
    for &method in methods {
        let a = method.with_defaults(MemoryBudget::default());
        let (f_only, f_b, _) = floor_passes(method, 1.0, 0.0);
        let passes = (f_only, f_b);
        jobs.push((
            method.name().into(),
            passes,
            Box::new(move || drop(a.attribute(m, x, t).unwrap())),
        ));
    }
    for (method, rule) in [
        (Method::GuidedBackprop, ReluRule::Guided),
        (Method::Deconvolution, ReluRule::Deconvolution),
        (Method::GuidedGradCam, ReluRule::Guided),
    ] {
        if methods.contains(&method) {
            let cam = method == Method::GuidedGradCam;
            jobs.push((
                format!("{} (cut)", method.name()),
                (0.0, 1.0),
                Box::new(move || drop(cut_engine(m, x, t, rule, cam))),
            ));
        }
    }
    jobs
}

/// The cut engine's attribution: the input gradient under `rule`, times the upsampled
/// Grad-CAM map (from the same pass) when `cam`.
fn cut_engine(m: &ResNet, x: &Tensor, t: &Tensor, rule: ReluRule, cam: bool) -> Tensor {
    let x = x.detach().set_requires_grad(true);
    let mut tape = CutTape::new(&x);
    let f = m.features(&x, &mut tape, false);
    let logits = m.head(&f.value);
    let seed = sarxai::attr::gradient::target_seed(&logits, t);
    let (g, d_act) = tape
        .backward_with_last(&logits, &seed, f.node, rule)
        .unwrap();
    if !cam {
        return g;
    }
    let w = d_act.mean_dim(&[2i64, 3][..], true, d_act.kind());
    let map = (w * f.value.detach())
        .sum_dim_intlist(&[1i64][..], true, d_act.kind())
        .relu();
    let s = x.size();
    g * map.upsample_nearest2d([s[2], s[3]], None, None)
}

/// Best time of each job over `rounds` rounds that run every job once (after one warm-up
/// round).
fn time_rounds(jobs: &mut [Job<'_>], rounds: usize) -> Vec<f64> {
    let mut best = vec![f64::INFINITY; jobs.len()];
    for round in 0..=rounds {
        for (b, (_, _, f)) in best.iter_mut().zip(jobs.iter_mut()) {
            let start = Instant::now();
            f();
            if round > 0 {
                *b = b.min(start.elapsed().as_secs_f64());
            }
        }
    }
    best
}

fn methods(c: &mut Criterion) {
    let mut g = c.benchmark_group("attribution");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let arches: &[Arch] = if full() {
        &[Arch::Resnet18, Arch::Resnet101]
    } else {
        &[Arch::Resnet18]
    };
    let batches: &[i64] = if full() { &[1, 16] } else { &[1] };
    for &arch in arches {
        let m = model(arch);
        for &n in batches {
            let (x, t) = inputs(n);
            for method in Method::ALL {
                let a = method.with_defaults(MemoryBudget::default());
                g.bench_with_input(
                    BenchmarkId::new(format!("{}/{}", arch.name(), method.name()), n),
                    &n,
                    |b, _| b.iter(|| a.attribute(&m, &x, &t).unwrap()),
                );
            }
        }
    }
    g.finish();
}

fn sensitivity(c: &mut Criterion) {
    let mut g = c.benchmark_group("max_sensitivity");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let m = model(Arch::Resnet18);
    let (x, t) = inputs(1);
    for method in Method::ALL {
        let a: Box<dyn Attribution> = method.with_defaults(MemoryBudget::default());
        g.bench_function(format!("resnet18/{}", method.name()), |b| {
            b.iter(|| {
                max_sensitivity(
                    a.as_ref(),
                    &m,
                    &x,
                    &t,
                    &SensitivityConfig::captum(),
                    &Perturbations::Uniform,
                )
                .unwrap()
            });
        });
    }
    g.finish();
}

criterion_group!(floor, floor_table);
criterion_group!(benches, methods, sensitivity);
criterion_main!(floor, benches);
