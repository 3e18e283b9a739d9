//! Max-Sensitivity (Yeh et al. 2019, "On the (in)fidelity and sensitivity of
//! explanations"), exactly as Captum 0.9's `sensitivity_max` with its defaults:
//!
//! `MS(x) = max_{s=1..S} ||Phi(x + d_s) - Phi(x)||_F / ||Phi(x)||_F`
//!
//! with `d_s` uniform in the L-infinity ball of radius `r = 0.02`, `S = 10` samples, the
//! Frobenius norm over the whole attribution, and a zero norm `||Phi(x)||` replaced by 1.
//! The target class is kept fixed for the perturbed inputs.
//!
//! Named variants, never mixed silently: [`SensitivityConfig::quantus`] (Quantus'
//! `MaxSensitivity` defaults: radius 0.2, 200 samples) and
//! [`SensitivityConfig::unnormalised`] (Yeh et al.'s form without the division).
//!
//! The noise of sample `s` for image `i` is drawn from a ChaCha stream seeded by
//! `(seed, i, s)`, so the result does not depend on how images and samples are batched.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::Tensor;

use super::MetricError;
use crate::attr::{Attribution, Method};
use crate::model::ResNet;

/// Which published convention a configuration follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Captum's `sensitivity_max`: radius 0.02, 10 samples, normalised (the paper's).
    Captum,
    /// Quantus' `MaxSensitivity`: radius 0.2, 200 samples, normalised.
    Quantus,
    /// Yeh et al.'s definition, not normalised, with Captum's radius and samples.
    YehUnnormalised,
    /// Settings changed by the user from a named convention.
    Custom,
}

/// Max-Sensitivity settings: `max_s ||Phi(x + d_s) - Phi(x)||_F`, divided by `||Phi(x)||_F`
/// when `normalise`, `d_s` uniform in the L-infinity ball of `radius`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SensitivityConfig {
    /// The convention, recorded with every result.
    pub variant: Variant,
    /// L-infinity radius of the uniform noise.
    pub radius: f64,
    /// Perturbation samples per image.
    pub samples: usize,
    /// Divide by `||Phi(x)||_F` (Captum, Quantus) or not (Yeh et al.'s definition).
    pub normalise: bool,
    /// Seed of the noise.
    pub seed: u64,
    /// Perturbed images explained per call of the method (its own chunking still applies).
    pub images_per_call: usize,
}

impl Default for SensitivityConfig {
    fn default() -> Self {
        Self::captum()
    }
}

impl SensitivityConfig {
    /// Captum's `sensitivity_max` defaults, the paper's setting.
    pub fn captum() -> Self {
        Self {
            variant: Variant::Captum,
            radius: 0.02,
            samples: 10,
            normalise: true,
            seed: 0,
            images_per_call: 64,
        }
    }

    /// Quantus' `MaxSensitivity` defaults (radius 0.2, 200 samples): not comparable with
    /// the paper's numbers.
    pub fn quantus() -> Self {
        Self {
            variant: Variant::Quantus,
            radius: 0.2,
            samples: 200,
            ..Self::captum()
        }
    }

    /// Yeh et al.'s unnormalised max-sensitivity with Captum's radius and samples.
    pub fn unnormalised() -> Self {
        Self {
            variant: Variant::YehUnnormalised,
            normalise: false,
            ..Self::captum()
        }
    }

    /// The named convention (`captum`, `quantus`, `yeh-unnormalised`), if it is one.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "captum" => Some(Self::captum()),
            "quantus" => Some(Self::quantus()),
            "yeh-unnormalised" | "unnormalised" => Some(Self::unnormalised()),
            _ => None,
        }
    }
}

/// Where the noise comes from.
#[derive(Debug)]
pub enum Perturbations {
    /// Uniform in `[-radius, radius]`, seeded per (image, sample).
    Uniform,
    /// Given noise `d` of shape (S, N, C, H, W): sample `s` of image `n` is `x_n + d[s, n]`.
    Given(Tensor),
}

/// The noise for image `image` (global index), sample `sample`, `numel` values.
fn uniform_noise(seed: u64, image: usize, sample: usize, numel: usize, radius: f64) -> Vec<f32> {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(image as u64).to_le_bytes());
    key[16..24].copy_from_slice(&(sample as u64).to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(key);
    let r = radius as f32;
    (0..numel).map(|_| rng.random_range(-r..=r)).collect()
}

/// Max-Sensitivity of `method` at every image: a tensor (N,) in the input's kind.
pub fn max_sensitivity(
    method: &dyn Attribution,
    model: &ResNet,
    inputs: &Tensor,
    targets: &Tensor,
    cfg: &SensitivityConfig,
    perturbations: &Perturbations,
) -> Result<Tensor, MetricError> {
    let base = method.attribute(model, inputs, targets)?.detach();
    max_sensitivity_from(method, model, inputs, targets, &base, cfg, perturbations)
}

/// [`max_sensitivity`] given the unperturbed attribution `base = method(inputs, targets)`
/// that the caller already has (scoring computes it for every metric).
pub fn max_sensitivity_from(
    method: &dyn Attribution,
    model: &ResNet,
    inputs: &Tensor,
    targets: &Tensor,
    base: &Tensor,
    cfg: &SensitivityConfig,
    perturbations: &Perturbations,
) -> Result<Tensor, MetricError> {
    let shape = inputs.size();
    let n = shape[0] as usize;
    let samples = match perturbations {
        Perturbations::Uniform => cfg.samples,
        Perturbations::Given(d) => {
            let ds = d.size();
            if ds.len() != 5 || ds[1..] != shape[..] {
                return Err(MetricError::Config(format!(
                    "perturbations must have shape (S, {}, {}, {}, {}), got {ds:?}",
                    shape[0], shape[1], shape[2], shape[3]
                )));
            }
            ds[0] as usize
        }
    };
    if samples == 0 {
        return Err(MetricError::Config(
            "max-sensitivity needs at least one sample".into(),
        ));
    }
    let (kind, dev) = (inputs.kind(), inputs.device());
    let numel: i64 = shape[1..].iter().product();
    let images_per_call = (cfg.images_per_call / samples).max(1);
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(images_per_call) {
        let g = images_per_call.min(n - start);
        // Rows image-major, as Captum's repeat_interleave: image start + k, sample s at k * S + s.
        let noise = match perturbations {
            Perturbations::Uniform => {
                let mut v = Vec::with_capacity(g * samples * numel as usize);
                for k in 0..g {
                    for s in 0..samples {
                        v.extend(uniform_noise(
                            cfg.seed,
                            start + k,
                            s,
                            numel as usize,
                            cfg.radius,
                        ));
                    }
                }
                Tensor::from_slice(&v).to_kind(kind)
            }
            Perturbations::Given(d) => d
                .narrow(1, start as i64, g as i64)
                .transpose(0, 1)
                .contiguous()
                .to_kind(kind),
        }
        .to_device(dev)
        .view([(g * samples) as i64, shape[1], shape[2], shape[3]]);
        let x = inputs
            .narrow(0, start as i64, g as i64)
            .repeat_interleave_self_int(samples as i64, 0, None);
        let t = targets
            .narrow(0, start as i64, g as i64)
            .repeat_interleave_self_int(samples as i64, 0, None);
        let perturbed = method.attribute(model, &(x + noise), &t)?.detach();
        let phi = base.narrow(0, start as i64, g as i64);
        let diff = perturbed.view([(g * samples) as i64, -1])
            - phi
                .view([g as i64, -1])
                .repeat_interleave_self_int(samples as i64, 0, None);
        let num = diff.norm_scalaropt_dim(2, [1i64].as_slice(), false);
        let sens = if cfg.normalise {
            let den = phi
                .view([g as i64, -1])
                .norm_scalaropt_dim(2, [1i64].as_slice(), false);
            let den = den.where_scalarother(&den.ne(0.0), 1.0);
            num / den.repeat_interleave_self_int(samples as i64, 0, None)
        } else {
            num
        };
        out.push(
            sens.view([g as i64, samples as i64])
                .amax([1i64].as_slice(), false),
        );
    }
    Ok(Tensor::cat(&out, 0).to_kind(kind))
}

/// The Max-Sensitivity that Captum 0.9's `sensitivity_max` reports for `method` when it is
/// called the way the paper did, one image at a time with the method's own `attribute`
/// (`sensitivity_max(LayerGradCam(model, model.layer4).attribute, x, target=t)`), given
/// the true value `ms` of that image over `samples` perturbations:
///
/// * Grad-CAM: `sqrt(samples) * ms`;
/// * every other method: `ms`.
///
/// The cause is in captum/metrics/_core/sensitivity.py (0.9.0), `_next_sensitivity_max`:
/// `sensitivity_max` wraps the inputs in a tuple, and methods answer a tuple input with a
/// tuple, except `LayerGradCam`, which formats its output by the layer's outputs
/// (`_format_output(len(layer_evals) > 1, ...)`) and returns a bare tensor `(1, 1, h, w)`.
/// `expl_inputs_expanded = tuple(expl_input.repeat_interleave(n, dim=0) for expl_input in
/// expl_inputs)` then iterates over that tensor's batch dimension, giving one `(n, h, w)`
/// tensor instead of `(n, 1, h, w)`; `(expl_input - expl_perturbed)` broadcasts it against
/// the perturbed maps `(n, 1, h, w)` to `(n, n, h, w)`, so that row `s` of
/// `.view(n, -1)` holds sample `s`'s difference `n` times and its Frobenius norm is
/// `sqrt(n)` times the true one. The denominator `||Phi(x)||` is unaffected. Measured on a
/// ResNet-18 (scripts/golden_sensitivity.py): ratios 1.000, 2.000, 3.162 for n = 1, 4, 10;
/// held by tests/golden.rs `max_sensitivity`.
pub fn captum09_reported(method: Method, ms: f64, samples: usize) -> f64 {
    match method {
        Method::GradCam => (samples as f64).sqrt() * ms,
        _ => ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captum09_scales_grad_cam_only() {
        assert_eq!(captum09_reported(Method::GradCam, 0.5, 4), 1.0);
        assert_eq!(captum09_reported(Method::GradCam, 0.5, 1), 0.5);
        for m in Method::ALL.into_iter().filter(|&m| m != Method::GradCam) {
            assert_eq!(captum09_reported(m, 0.5, 10), 0.5, "{m}");
        }
    }

    #[test]
    fn noise_is_in_the_ball_and_keyed_by_image_and_sample() {
        let a = uniform_noise(1, 2, 3, 1000, 0.02);
        assert!(a.iter().all(|v| v.abs() <= 0.02));
        assert_eq!(a, uniform_noise(1, 2, 3, 1000, 0.02));
        assert_ne!(a, uniform_noise(1, 3, 2, 1000, 0.02));
    }

    #[test]
    fn named_variants() {
        assert_eq!(SensitivityConfig::by_name("quantus").unwrap().samples, 200);
        assert!(
            !SensitivityConfig::by_name("unnormalised")
                .unwrap()
                .normalise
        );
        assert!(SensitivityConfig::by_name("bogus").is_none());
    }
}
