//! Explanation infidelity (Yeh, Hsieh, Suggala, Inouye and Ravikumar 2019, "On the
//! (in)fidelity and sensitivity of explanations", NeurIPS), exactly as Captum 0.9's
//! `captum.metrics.infidelity` with its defaults:
//!
//! `INFD(Phi, f, x) = (1/S) sum_{s=1..S} (I_s^T Phi(x) - (f(x) - f(x_s)))^2`
//!
//! where a perturbation function returns, for each sample `s`, the perturbation `I_s` and
//! the perturbed input `x_s` (Captum's `perturb_func` returning `(perturbation,
//! perturbed_input)`), `f` is the target logit (the attribution methods explain logits),
//! `S = 10` samples (`n_perturb_samples`), and the attribution has the input's shape.
//!
//! With `normalize` (Captum's flag, off by default), `Phi` is first scaled by the
//! least-squares factor `beta = sum_s a_s b_s / sum_s a_s^2` with `a_s = I_s^T Phi`,
//! `b_s = f(x) - f(x_s)` (a zero denominator replaced by 1, as Captum's `safe_div`), i.e.
//! `INFD = (1/S) sum_s (beta a_s - b_s)^2`, which makes the score invariant to the scale of
//! the attribution.
//!
//! The default perturbation, [`GaussianNoise`], is the one of Captum's documentation example:
//! `I_s ~ N(0, sigma^2)` independently per element with `sigma = 0.003` and
//! `x_s = x - I_s`, so `f(x) - f(x_s)` is the change when the noise is removed and the
//! formula is Yeh et al.'s `E[(I^T Phi - (f(x) - f(x - I)))^2]`. The noise of sample `s`
//! for image `i` comes from a ChaCha stream keyed by `(seed, i, s)`, so the result does
//! not depend on how images and samples are batched. Any other perturbation (Yeh et al.'s
//! square removal, a binary mask for global attributions, noise from Python) can be given
//! through [`Perturb`] or [`GivenPerturbations`].

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use tch::{Device, Kind, Tensor};

use super::MetricError;
use crate::attr::batch::ranges;
use crate::attr::gradient::target_logits;
use crate::attr::{validate, MemoryBudget};
use crate::model::ResNet;

/// Captum's `perturb_func`: perturbations `I` and perturbed inputs for a block of images.
pub trait Perturb {
    /// `inputs` holds images `first..first + g` of the batch, each repeated `samples` times
    /// (image-major, as Captum's `repeat_interleave`): row `k * samples + s` is sample `s`
    /// of image `first + k`. Returns `(I, x_perturbed)`, both of `inputs`' shape.
    fn perturb(
        &self,
        inputs: &Tensor,
        first: usize,
        samples: usize,
    ) -> Result<(Tensor, Tensor), MetricError>;
}

/// `I ~ N(0, std^2)` per element, `x_perturbed = x - I`, seeded per (image, sample).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GaussianNoise {
    /// Standard deviation of the noise, in input units.
    pub std: f64,
    /// Seed of the noise.
    pub seed: u64,
}

impl Default for GaussianNoise {
    /// Captum's documented example, `np.random.normal(0, 0.003, inputs.shape)`, seed 0.
    fn default() -> Self {
        Self {
            std: 0.003,
            seed: 0,
        }
    }
}

/// Standard normal values for image `image` (global index), sample `sample`.
fn normal_noise(seed: u64, image: usize, sample: usize, numel: usize) -> Vec<f64> {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(image as u64).to_le_bytes());
    key[16..24].copy_from_slice(&(sample as u64).to_le_bytes());
    // Domain separation from Max-Sensitivity's uniform noise with the same seed.
    key[24..32].copy_from_slice(b"infidel\0");
    let mut rng = ChaCha8Rng::from_seed(key);
    (0..numel)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect()
}

impl Perturb for GaussianNoise {
    fn perturb(
        &self,
        inputs: &Tensor,
        first: usize,
        samples: usize,
    ) -> Result<(Tensor, Tensor), MetricError> {
        if self.std.is_nan() || self.std < 0.0 {
            return Err(MetricError::Config(format!(
                "the noise standard deviation must be >= 0, got {}",
                self.std
            )));
        }
        let s = inputs.size();
        let numel: i64 = s[1..].iter().product();
        let rows = s[0] as usize;
        let mut v = Vec::with_capacity(rows * numel as usize);
        for r in 0..rows {
            v.extend(normal_noise(
                self.seed,
                first + r / samples,
                r % samples,
                numel as usize,
            ));
        }
        let noise = (Tensor::from_slice(&v) * self.std)
            .to_kind(inputs.kind())
            .to_device(inputs.device())
            .view(s.as_slice());
        let perturbed = inputs - &noise;
        Ok((noise, perturbed))
    }
}

/// Given perturbations `I` of shape (S, N, C, H, W): sample `s` of image `n` is
/// `x_n - I[s, n]` (to replay noise drawn elsewhere, e.g. by Captum).
#[derive(Debug)]
pub struct GivenPerturbations(pub Tensor);

impl Perturb for GivenPerturbations {
    fn perturb(
        &self,
        inputs: &Tensor,
        first: usize,
        samples: usize,
    ) -> Result<(Tensor, Tensor), MetricError> {
        let d = self.0.size();
        let s = inputs.size();
        let g = s[0] / samples as i64;
        if d.len() != 5 || d[0] != samples as i64 || d[1] < first as i64 + g || d[2..] != s[1..] {
            return Err(MetricError::Shape {
                what: "given perturbations",
                expected: format!(
                    "(S, N, C, H, W) with S = {samples} and (C, H, W) = {:?}",
                    &s[1..]
                ),
                got: d,
            });
        }
        let noise = self
            .0
            .narrow(1, first as i64, g)
            .transpose(0, 1)
            .contiguous()
            .to_kind(inputs.kind())
            .to_device(inputs.device())
            .view(s.as_slice());
        let perturbed = inputs - &noise;
        Ok((noise, perturbed))
    }
}

/// Infidelity settings (Yeh et al. 2019; Captum's `infidelity`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InfidelityConfig {
    /// Perturbation samples per image (Captum's `n_perturb_samples`, default 10).
    pub samples: usize,
    /// Scale the attribution by the least-squares `beta` first (Captum's `normalize`,
    /// default false).
    pub normalize: bool,
}

impl Default for InfidelityConfig {
    fn default() -> Self {
        Self {
            samples: 10,
            normalize: false,
        }
    }
}

/// Infidelity of `attributions` (the input's shape) of `model`'s target logits at every
/// image: (N,) f64 on the CPU. Perturbed images go through the model in chunks sized by
/// `budget`. Lower is better.
pub fn infidelity(
    model: &ResNet,
    inputs: &Tensor,
    targets: &Tensor,
    attributions: &Tensor,
    perturb: &dyn Perturb,
    cfg: &InfidelityConfig,
    budget: MemoryBudget,
) -> Result<Tensor, MetricError> {
    validate(model, inputs, targets)?;
    let s = inputs.size();
    let rows = budget.chunk(&model.config, s[2], s[3], inputs.kind(), false);
    // target_logits chunks by the same budget; it is handed at most `rows` images anyway.
    let score = |x: &Tensor, t: &Tensor| -> Result<Tensor, MetricError> {
        Ok(target_logits(model, x, t, budget))
    };
    infidelity_with(&score, rows, inputs, targets, attributions, perturb, cfg)
}

/// The same for any scoring function: `score(x, t)` returns `f(x[j])[t[j]]`, shape (M,), and
/// is called with at most `rows_per_call` images at a time.
pub fn infidelity_with(
    score: &dyn Fn(&Tensor, &Tensor) -> Result<Tensor, MetricError>,
    rows_per_call: usize,
    inputs: &Tensor,
    targets: &Tensor,
    attributions: &Tensor,
    perturb: &dyn Perturb,
    cfg: &InfidelityConfig,
) -> Result<Tensor, MetricError> {
    let shape = inputs.size();
    if shape.is_empty() || shape[0] == 0 || !inputs.is_floating_point() {
        return Err(MetricError::Shape {
            what: "inputs",
            expected: "(N, ...) float with N > 0".into(),
            got: shape,
        });
    }
    let n = shape[0];
    if targets.size() != [n] {
        return Err(MetricError::Shape {
            what: "targets",
            expected: format!("({n},)"),
            got: targets.size(),
        });
    }
    if attributions.size() != shape {
        return Err(MetricError::Shape {
            what: "attributions",
            expected: format!(
                "the inputs' shape {shape:?}, as Captum requires (bring a Grad-CAM map to the input resolution with localisation::to_input_resolution and expand its channels)"
            ),
            got: attributions.size(),
        });
    }
    let samples = cfg.samples;
    if samples == 0 {
        return Err(MetricError::Config(
            "infidelity needs at least one perturbation sample".into(),
        ));
    }
    let dev = inputs.device();
    let inputs = inputs.detach();
    let phi = attributions.detach().to_device(dev).to_kind(Kind::Double);
    if !bool::try_from(phi.isfinite().all())? {
        return Err(MetricError::NonFinite {
            what: "attributions",
        });
    }
    let scores = |x: &Tensor, t: &Tensor| -> Result<Tensor, MetricError> {
        let m = x.size()[0];
        let mut parts = Vec::new();
        for q in ranges(m as usize, rows_per_call) {
            let (a, l) = (q.start as i64, q.len() as i64);
            let y = score(&x.narrow(0, a, l), &t.narrow(0, a, l))?;
            if y.size() != [l] {
                return Err(MetricError::Shape {
                    what: "scores",
                    expected: format!("({l},)"),
                    got: y.size(),
                });
            }
            parts.push(y.detach().to_device(Device::Cpu).to_kind(Kind::Double));
        }
        Ok(Tensor::cat(&parts, 0))
    };
    let targets = targets.to_device(dev);
    let f_x = scores(&inputs, &targets)?;

    let s = samples as i64;
    let group = (rows_per_call / samples).max(1);
    let mut out = Vec::with_capacity(n as usize);
    for r in ranges(n as usize, group) {
        let (start, g) = (r.start as i64, r.len() as i64);
        let x = inputs
            .narrow(0, start, g)
            .repeat_interleave_self_int(s, 0, None);
        let t = targets
            .narrow(0, start, g)
            .repeat_interleave_self_int(s, 0, None);
        let (pert, x_pert) = perturb.perturb(&x, r.start, samples)?;
        if pert.size() != x.size() || x_pert.size() != x.size() {
            return Err(MetricError::Shape {
                what: "perturbation function output",
                expected: format!("two tensors of shape {:?}", x.size()),
                got: if pert.size() != x.size() {
                    pert.size()
                } else {
                    x_pert.size()
                },
            });
        }
        // a_s = I_s^T Phi, b_s = f(x) - f(x_s), both (g, S).
        let a = (pert.to_kind(Kind::Double)
            * phi
                .narrow(0, start, g)
                .repeat_interleave_self_int(s, 0, None))
        .view([g * s, -1])
        .sum_dim_intlist(1, false, Kind::Double)
        .to_device(Device::Cpu)
        .view([g, s]);
        let b =
            (f_x.narrow(0, start, g).unsqueeze(1) - scores(&x_pert, &t)?.view([g, s])).view([g, s]);
        let sum = |t: Tensor| t.sum_dim_intlist(1, false, Kind::Double);
        let infd = if cfg.normalize {
            let (aa, ab, bb) = (sum(&a * &a), sum(&a * &b), sum(&b * &b));
            let beta = &ab / aa.where_scalarother(&aa.ne(0.0), 1.0);
            &beta * &beta * &aa - &beta * &ab * 2.0 + bb
        } else {
            let d = &a - &b;
            sum(&d * &d)
        };
        out.push(infd / samples as f64);
    }
    Ok(Tensor::cat(&out, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f(x) = sum(w * x)` for every target.
    fn linear(w: &Tensor) -> impl Fn(&Tensor, &Tensor) -> Result<Tensor, MetricError> + '_ {
        move |x: &Tensor, _t: &Tensor| {
            Ok((x * w).sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Double))
        }
    }

    fn setup() -> (Tensor, Tensor, Tensor) {
        tch::manual_seed(5);
        let w = Tensor::randn([1, 2, 5, 5], (Kind::Double, Device::Cpu));
        let x = Tensor::randn([4, 2, 5, 5], (Kind::Double, Device::Cpu));
        let t = Tensor::zeros([4], (Kind::Int64, Device::Cpu));
        (w, x, t)
    }

    fn values(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(t).unwrap()
    }

    #[test]
    fn exact_attribution_of_a_linear_model_has_zero_infidelity() {
        let (w, x, t) = setup();
        let f = linear(&w);
        let phi = w.expand_as(&x);
        let noise = GaussianNoise { std: 0.5, seed: 1 };
        let cfg = InfidelityConfig::default();
        let infd = values(&infidelity_with(&f, 64, &x, &t, &phi, &noise, &cfg).unwrap());
        assert!(infd.iter().all(|v| v.abs() < 1e-20), "{infd:?}");
        // A wrong attribution is unfaithful; normalize forgives its scale but not its shape.
        let wrong = values(&infidelity_with(&f, 64, &x, &t, &(&phi * 3.0), &noise, &cfg).unwrap());
        assert!(wrong.iter().all(|v| *v > 1e-3), "{wrong:?}");
        let norm = InfidelityConfig {
            normalize: true,
            ..cfg
        };
        let scaled =
            values(&infidelity_with(&f, 64, &x, &t, &(&phi * 3.0), &noise, &norm).unwrap());
        // Expanded as Captum does (beta^2 aa - 2 beta ab + bb): zero up to cancellation.
        assert!(scaled.iter().all(|v| v.abs() < 1e-9), "{scaled:?}");
    }

    #[test]
    fn matches_the_formula_with_given_perturbations() {
        let (w, x, t) = setup();
        let f = linear(&w);
        // A quadratic model makes the attribution inexact: f(x) = sum(w x) + sum(x^2).
        let g = move |x: &Tensor, t: &Tensor| -> Result<Tensor, MetricError> {
            Ok(f(x, t)? + (x * x).sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Double))
        };
        let phi = Tensor::randn([4, 2, 5, 5], (Kind::Double, Device::Cpu));
        let d = Tensor::randn([3, 4, 2, 5, 5], (Kind::Double, Device::Cpu)) * 0.1;
        let cfg = InfidelityConfig {
            samples: 3,
            normalize: false,
        };
        let got = values(
            &infidelity_with(
                &g,
                5,
                &x,
                &t,
                &phi,
                &GivenPerturbations(d.shallow_clone()),
                &cfg,
            )
            .unwrap(),
        );
        for i in 0..4 {
            let xi = x.get(i).unsqueeze(0);
            let fx = g(&xi, &t).unwrap().double_value(&[0]);
            let mut want = 0.0;
            for s in 0..3 {
                let ii = d.get(s).get(i);
                let a = (&ii * phi.get(i)).sum(Kind::Double).double_value(&[]);
                let b = fx - g(&(&xi - ii.unsqueeze(0)), &t).unwrap().double_value(&[0]);
                want += (a - b).powi(2) / 3.0;
            }
            let got = got[i as usize];
            assert!(
                (got - want).abs() <= 1e-9 * want.max(1.0),
                "{i}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn noise_is_keyed_by_image_and_sample_not_by_batching() {
        let (w, x, t) = setup();
        let f = move |x: &Tensor, _t: &Tensor| -> Result<Tensor, MetricError> {
            Ok((x * &w)
                .sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Double)
                .sin())
        };
        let phi = Tensor::randn([4, 2, 5, 5], (Kind::Double, Device::Cpu));
        let noise = GaussianNoise::default();
        let cfg = InfidelityConfig::default();
        let one = infidelity_with(&f, 1, &x, &t, &phi, &noise, &cfg).unwrap();
        let all = infidelity_with(&f, 1000, &x, &t, &phi, &noise, &cfg).unwrap();
        assert!(one.allclose(&all, 1e-12, 0.0, false));
        let a = normal_noise(0, 2, 3, 100);
        assert_eq!(a, normal_noise(0, 2, 3, 100));
        assert_ne!(a, normal_noise(0, 3, 2, 100));
        let mean = a.iter().sum::<f64>() / 100.0;
        assert!(mean.abs() < 0.5);
    }

    #[test]
    fn rejects_mismatched_attributions_and_zero_samples() {
        let (w, x, t) = setup();
        let f = linear(&w);
        let cam = Tensor::ones([4, 1, 2, 2], (Kind::Double, Device::Cpu));
        let noise = GaussianNoise::default();
        let cfg = InfidelityConfig::default();
        assert!(matches!(
            infidelity_with(&f, 8, &x, &t, &cam, &noise, &cfg),
            Err(MetricError::Shape {
                what: "attributions",
                ..
            })
        ));
        let zero = InfidelityConfig { samples: 0, ..cfg };
        assert!(matches!(
            infidelity_with(&f, 8, &x, &t, &x, &noise, &zero),
            Err(MetricError::Config(_))
        ));
    }
}
