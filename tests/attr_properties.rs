//! Property tests of the attribution axioms on small random ResNets (proptest).
//!
//! Each case builds a ResNet-18 with random weights and non-trivial BatchNorm statistics
//! and explains random inputs at 32 x 32. Run on CUDA too when a GPU is present
//! (`cuda_properties`); that test reports itself skipped otherwise.

use proptest::prelude::*;
use sarxai::attr::gradient::{input_gradients, relative_l2};
use sarxai::attr::{
    Attribution, Budget, GradCam, InputXGradient, IntegratedGradients, Method, Occlusion,
    OcclusionConfig, Saliency,
};
use sarxai::model::{Arch, ReluRule, ReluTape, ResNet, ResNetConfig};
use tch::{Device, Kind, Tensor};

/// A random ResNet with realistic BN statistics (a few training-mode passes).
fn random_model(seed: i64, channels: i64, device: Device, kind: Kind) -> ResNet {
    tch::manual_seed(seed);
    let mut m = ResNet::new(
        ResNetConfig::new(Arch::Resnet18, channels, 5).unwrap(),
        device,
    );
    tch::no_grad(|| {
        for _ in 0..3 {
            let _ = m.forward_t(
                &Tensor::randn([8, channels, 32, 32], (Kind::Float, device)),
                true,
            );
        }
    });
    if kind == Kind::Double {
        m.vs.double();
    }
    m
}

fn inputs(seed: i64, n: i64, channels: i64, device: Device, kind: Kind) -> (Tensor, Tensor) {
    tch::manual_seed(seed + 1000);
    let x = Tensor::rand([n, channels, 32, 32], (kind, device)) * 2.0;
    let t = Tensor::randint(5, [n], (Kind::Int64, device));
    (x, t)
}

fn max_abs(t: &Tensor) -> f64 {
    t.abs().max().double_value(&[])
}

fn check_axioms(device: Device, seed: i64, channels: i64) {
    let m = random_model(seed, channels, device, Kind::Double);
    let (x, t) = inputs(seed, 2, channels, device, Kind::Double);
    let budget = Budget::default();

    // Saliency = |gradient|, Input x Gradient = x * gradient.
    let g = input_gradients(&m, &x, &t, ReluRule::Gradient, budget).unwrap();
    // Bitwise on CPU; on CUDA two gradient passes may sum in another order (atomics in
    // the max-pool and average-pool backward kernels), so they agree to rounding only.
    let same = |a: &Tensor, b: &Tensor| {
        if device == Device::Cpu {
            a.equal(b)
        } else {
            relative_l2(a, b) < 1e-12
        }
    };
    let sal = Saliency { budget }.attribute(&m, &x, &t).unwrap();
    assert!(same(&sal, &g.abs()), "saliency != |grad|");
    let ixg = InputXGradient { budget }.attribute(&m, &x, &t).unwrap();
    assert!(same(&ixg, &(&x * &g)), "input x gradient != x * grad");

    // The gradient rule walked through the ReLU tape equals plain autograd.
    let xg = x.detach().set_requires_grad(true);
    let mut tape = ReluTape::new(&xg);
    let f = m.features(&xg, &mut tape, false);
    let logits = m.head(&f.value);
    let seed_t = sarxai::attr::gradient::target_seed(&logits, &t);
    let g_tape = tape.backward(&logits, &seed_t, f.node, ReluRule::Gradient);
    let e = relative_l2(&g_tape, &g);
    assert!(e < 1e-12, "tape gradient vs autograd: {e}");

    // IG completeness: |sum(IG) - (f(x) - f(0))| is small and shrinks as the number of
    // steps grows. ReLU kinks make the path integrand g(a) = grad f(a x) . x
    // discontinuous, so quadrature converges like 1/steps, and its error scales with the
    // integrand's size, not with the gap f(x) - f(0), which can cancel to almost nothing
    // on a random network. The bound is therefore 5 % of the integral of |g| along the
    // path (64 Gauss-Legendre nodes), totals over the batch.
    let l1 = |t: &Tensor| t.abs().sum(Kind::Double).double_value(&[]);
    let (w, alphas) = sarxai::attr::IgRule::GaussLegendre.weights_and_alphas(64);
    let n = x.size()[0];
    let scaled = Tensor::cat(&alphas.iter().map(|&a| &x * a).collect::<Vec<_>>(), 0);
    let t_rep = t.repeat([alphas.len() as i64]);
    let grads = input_gradients(&m, &scaled, &t_rep, ReluRule::Gradient, budget).unwrap();
    let g = (grads * x.repeat([alphas.len() as i64, 1, 1, 1]))
        .flatten(1, -1)
        .sum_dim_intlist(1, false, Kind::Double);
    let g = g.view([alphas.len() as i64, n]).abs();
    let w = Tensor::from_slice(&w).to_device(device).view([-1, 1]);
    let path_l1 = (g * w).sum(Kind::Double).double_value(&[]);
    let delta = |steps: usize| {
        let ig = IntegratedGradients {
            steps,
            budget,
            ..Default::default()
        };
        l1(&ig.attribute_with_delta(&m, &x, &t).unwrap().1)
    };
    let (d_few, d_many) = (delta(8), delta(256));
    assert!(
        d_many <= 0.05 * path_l1,
        "IG completeness: |delta| {d_many} vs integral of |g| {path_l1}"
    );
    assert!(
        d_many < d_few,
        "IG delta did not shrink: 8 steps {d_few}, 256 steps {d_many}"
    );

    // Grad-CAM with relu is non-negative.
    let cam = GradCam { relu: true, budget }
        .attribute(&m, &x, &t)
        .unwrap();
    assert!(cam.min().double_value(&[]) >= 0.0);

    // Results do not depend on the chunk size (IG steps, occlusion windows, batches).
    let occ_cfg = OcclusionConfig {
        window: (8, 8),
        stride: (4, 4),
        baseline: 0.0,
    };
    for method in [
        Method::IntegratedGradients,
        Method::Occlusion,
        Method::GuidedBackprop,
    ] {
        let run = |b: Budget| match method {
            Method::IntegratedGradients => IntegratedGradients {
                steps: 10,
                budget: b,
                ..Default::default()
            }
            .attribute(&m, &x, &t)
            .unwrap(),
            Method::Occlusion => Occlusion {
                config: occ_cfg,
                budget: b,
            }
            .attribute(&m, &x, &t)
            .unwrap(),
            _ => method.with_defaults(b).attribute(&m, &x, &t).unwrap(),
        };
        let a = run(Budget::images(1));
        let b = run(Budget::images(7));
        let e = relative_l2(&a, &b);
        assert!(e < 1e-12, "{method}: chunk size changes the result by {e}");
    }

    // Identical on two runs.
    for method in Method::ALL {
        if method == Method::Occlusion {
            continue; // covered above with a small window; 32x32 with 15x15 is fine too
        }
        let a = method.with_defaults(budget).attribute(&m, &x, &t).unwrap();
        let b = method.with_defaults(budget).attribute(&m, &x, &t).unwrap();
        assert!(same(&a, &b), "{method} differs between two runs");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, max_shrink_iters: 0, rng_seed: proptest::test_runner::RngSeed::Fixed(20261126), ..ProptestConfig::default() })]

    #[test]
    fn attribution_axioms_hold_on_random_resnets(seed in 0i64..1_000_000, channels in 1i64..=3) {
        check_axioms(Device::Cpu, seed, channels);
    }

    /// Occlusion is exact on a linear model: for f(x) = sum(w * x), occluding a window
    /// with a zero baseline changes f by the window's sum of w * x, and a pixel gets the
    /// mean of that over the windows covering it.
    #[test]
    fn occlusion_is_exact_on_a_linear_model(seed in 0u64..1000, h in 9i64..24, stride in 1i64..5) {
        tch::manual_seed(seed as i64);
        let w = Tensor::randn([1, 1, h, h], (Kind::Double, Device::Cpu));
        let x = Tensor::randn([2, 1, h, h], (Kind::Double, Device::Cpu));
        let t = Tensor::zeros([2], (Kind::Int64, Device::Cpu));
        let cfg = OcclusionConfig { window: (5, 5), stride: (stride, stride), baseline: 0.0 };
        let occ = Occlusion { config: cfg, budget: Budget::default() };
        let linear = |x: &Tensor, _t: &Tensor| (x * &w).flatten(1, -1).sum_dim_intlist(1, false, Kind::Double);
        let got = occ.attribute_with(&x, &t, 16, linear).unwrap();
        let wx = &x * &w;
        let mut want = Tensor::zeros([2, 1, h, h], (Kind::Double, Device::Cpu));
        let count = Tensor::zeros([h, h], (Kind::Double, Device::Cpu));
        for (r, c, rh, cw) in cfg.windows(h, h) {
            let s = wx.narrow(2, r, rh).narrow(3, c, cw).sum_dim_intlist([2i64, 3].as_slice(), true, Kind::Double);
            let _ = want.narrow(2, r, rh).narrow(3, c, cw).g_add_(&s);
            let _ = count.narrow(0, r, rh).narrow(1, c, cw).g_add_scalar_(1.0);
        }
        want /= count;
        prop_assert!(relative_l2(&got, &want) < 1e-12);
        // Zero when the baseline equals the input.
        let flat = Tensor::ones([2, 1, h, h], (Kind::Double, Device::Cpu)) * 0.5;
        let occ = Occlusion { config: OcclusionConfig { baseline: 0.5, ..cfg }, budget: Budget::default() };
        let z = occ.attribute_with(&flat, &t, 16, linear).unwrap();
        prop_assert_eq!(max_abs(&z), 0.0);
    }
}

#[test]
fn cuda_properties() {
    if !tch::Cuda::is_available() {
        eprintln!("cuda_properties: SKIPPED (no CUDA device visible to libtorch)");
        return;
    }
    for seed in [1, 2] {
        check_axioms(Device::Cuda(0), seed, 1);
    }
}
