//! What the metrics are computed on: a batch of N explanations by one method, with what
//! the metrics that need more are given (the ground-truth masks, the model with its inputs
//! and explained classes, the method, each image's noise seed), and the computations that
//! more than one metric column shares (Max-Sensitivity, the heat-map entropies, the
//! randomised models), each done once.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt;

use tch::{Kind, Tensor};

use super::Metric;
use crate::attr::{Attribution, MemoryBudget};
use crate::metrics::entropy::{xai_entropy, EntropyConfig, EntropyScore};
use crate::metrics::faithfulness::{perturbation_curves, FaithfulnessConfig, Game};
use crate::metrics::infidelity::{infidelity, GaussianNoise, InfidelityConfig};
use crate::metrics::localisation::to_input_resolution;
use crate::metrics::randomisation::{randomised_copy, spearman};
use crate::metrics::sensitivity::{
    captum09_reported, max_sensitivity_from, Perturbations, SensitivityConfig,
};
use crate::metrics::Convention;
use crate::model::ResNet;
use crate::score::ScoreError;

/// The metrics' settings (a scoring run's are [`crate::score::ScoreConfig::metric_settings`]).
#[derive(Debug, Clone)]
pub struct MetricSettings {
    /// Max-Sensitivity; its `seed` is replaced by each image's own.
    pub sensitivity: SensitivityConfig,
    /// XAI entropy and Shannon bits.
    pub entropy: EntropyConfig,
    /// Infidelity.
    pub infidelity: InfidelityConfig,
    /// Standard deviation of infidelity's Gaussian noise.
    pub infidelity_std: f64,
    /// Deletion and insertion.
    pub faithfulness: FaithfulnessConfig,
    /// Memory budget of batched passes.
    pub budget: MemoryBudget,
}

/// What a metric needs that it was not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The ground-truth masks (N, H, W).
    Masks,
    /// The model, its inputs and the explained classes.
    Model,
    /// The method that made the attributions (it is re-run).
    Method,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Need::Masks => "the ground-truth masks (N, H, W)",
            Need::Model => "the model with its inputs and explained classes",
            Need::Method => "the method that made the attributions (it re-runs it)",
        })
    }
}

/// The model, its inputs and the explained classes, for the metrics that re-run it.
#[derive(Clone, Copy)]
pub struct ModelInputs<'a> {
    /// The classifier.
    pub model: &'a ResNet,
    /// (N, C, H, W) on the model's device.
    pub inputs: &'a Tensor,
    /// (N,) int64 on the model's device.
    pub targets: &'a Tensor,
}

/// The model's randomised copies of the randomisation test, one per metric
/// ([`Metric::randomised_stages`]), made once for a whole run.
#[derive(Default)]
pub struct Randomised(BTreeMap<Metric, ResNet>);

impl Randomised {
    /// A copy of `model` for each randomisation metric among `metrics`, in column order,
    /// its stages re-initialised from `seed`.
    pub fn of(model: &ResNet, metrics: &[Metric], seed: i64) -> Result<Self, ScoreError> {
        let mut copies = BTreeMap::new();
        for k in Metric::ALL.into_iter().filter(|k| metrics.contains(k)) {
            if let Some(stages) = k.randomised_stages() {
                copies.insert(k, randomised_copy(model, stages, seed)?);
            }
        }
        Ok(Randomised(copies))
    }
}

/// Values two metric columns share, computed once per batch.
#[derive(Default)]
struct Shared {
    /// Max-Sensitivity as defined (its Captum 0.9 value derives from it).
    max_sensitivity: OnceCell<Vec<f64>>,
    /// XAI entropy and Shannon bits.
    entropy: OnceCell<Vec<EntropyScore>>,
}

/// N explanations by one method and what the metrics need of them.
pub struct Explained<'a> {
    /// (N, C, h, w) as the method gives them (Grad-CAM: its layer map).
    pub attributions: &'a Tensor,
    /// The attributions at the input resolution (nearest neighbour).
    pub full: Tensor,
    /// The input's height.
    pub h: i64,
    /// The input's width.
    pub w: i64,
    /// Each image's noise seed (Max-Sensitivity, infidelity).
    pub seeds: Vec<u64>,
    /// (N, H, W), non-zero inside: for the localisation metrics.
    pub masks: Option<Tensor>,
    /// For the metrics that re-run the model.
    pub model: Option<ModelInputs<'a>>,
    /// For Max-Sensitivity and the randomisation test, which re-run it.
    pub method: Option<&'a dyn Attribution>,
    /// Whose definition where sarxai and Quantus differ on purpose.
    pub convention: Convention,
    /// The metrics' settings.
    pub settings: &'a MetricSettings,
    /// The randomised models of the randomisation test.
    pub randomised: &'a Randomised,
    shared: Shared,
}

/// The values of `t` as `f64`, on the CPU.
pub fn values_of(t: &Tensor) -> Result<Vec<f64>, ScoreError> {
    Ok(Vec::<f64>::try_from(
        t.to_kind(Kind::Double).to_device(tch::Device::Cpu),
    )?)
}

impl<'a> Explained<'a> {
    /// `attributions` of inputs of `h` x `w` pixels with one noise seed per image; no
    /// masks, model or method yet, sarxai's convention.
    pub fn new(
        attributions: &'a Tensor,
        (h, w): (i64, i64),
        seeds: Vec<u64>,
        settings: &'a MetricSettings,
        randomised: &'a Randomised,
    ) -> Result<Self, ScoreError> {
        Ok(Explained {
            attributions,
            full: to_input_resolution(attributions, h, w)?,
            h,
            w,
            seeds,
            masks: None,
            model: None,
            method: None,
            convention: Convention::Sarxai,
            settings,
            randomised,
            shared: Shared::default(),
        })
    }

    fn needs<T>(what: Option<T>, metric: Metric, need: Need) -> Result<T, ScoreError> {
        what.ok_or(ScoreError::Needs { metric, need })
    }

    /// The ground-truth masks, which `metric` needs.
    pub fn masks(&self, metric: Metric) -> Result<&Tensor, ScoreError> {
        Self::needs(self.masks.as_ref(), metric, Need::Masks)
    }

    /// The model and its inputs, which `metric` needs.
    pub fn model(&self, metric: Metric) -> Result<&ModelInputs<'a>, ScoreError> {
        Self::needs(self.model.as_ref(), metric, Need::Model)
    }

    /// The method, which `metric` re-runs.
    pub fn method(&self, metric: Metric) -> Result<&'a dyn Attribution, ScoreError> {
        Self::needs(self.method, metric, Need::Method)
    }

    /// `f(model, i, x_i, t_i, a_i)` for every image `i`, `a_i` the attribution as the method
    /// gives it, on the model's device.
    pub fn per_image(
        &self,
        metric: Metric,
        f: impl Fn(&ResNet, usize, &Tensor, &Tensor, &Tensor) -> Result<f64, ScoreError>,
    ) -> Result<Vec<f64>, ScoreError> {
        let m = self.model(metric)?;
        let device = m.model.device();
        (0..self.attributions.size()[0])
            .map(|i| {
                let x = m.inputs.narrow(0, i, 1);
                let t = m.targets.narrow(0, i, 1);
                let a = self.attributions.narrow(0, i, 1).to_device(device);
                f(m.model, i as usize, &x, &t, &a)
            })
            .collect()
    }

    /// Max-Sensitivity as defined, each image with its own noise seed (Captum's
    /// convention), computed once for both of its columns.
    pub fn max_sensitivity(&self, metric: Metric) -> Result<&[f64], ScoreError> {
        if let Some(v) = self.shared.max_sensitivity.get() {
            return Ok(v);
        }
        let method = self.method(metric)?;
        let v = self.per_image(metric, |model, i, x, t, a| {
            let mut sc = self.settings.sensitivity;
            sc.seed = self.seeds[i];
            let s = max_sensitivity_from(method, model, x, t, a, &sc, &Perturbations::Uniform)?;
            Ok(values_of(&s)?[0])
        })?;
        Ok(self.shared.max_sensitivity.get_or_init(|| v))
    }

    /// Max-Sensitivity as Captum 0.9 reports it ([`captum09_reported`]).
    pub fn max_sensitivity_captum09(&self, metric: Metric) -> Result<Vec<f64>, ScoreError> {
        let method = self.method(metric)?.method();
        let samples = self.settings.sensitivity.samples;
        Ok(self
            .max_sensitivity(metric)?
            .iter()
            .map(|&v| captum09_reported(method, v, samples))
            .collect())
    }

    /// XAI entropy (KB) and Shannon bits of each attribution's heat-map image, computed
    /// once for both columns.
    pub fn entropy(&self) -> Result<&[EntropyScore], ScoreError> {
        if let Some(v) = self.shared.entropy.get() {
            return Ok(v);
        }
        let v = xai_entropy(self.attributions, self.h, self.w, &self.settings.entropy)
            .map_err(|e| ScoreError::Config(format!("XAI entropy: {e}")))?;
        Ok(self.shared.entropy.get_or_init(|| v))
    }

    /// The area under the deletion or insertion curve.
    pub fn auc(&self, metric: Metric, game: Game) -> Result<Vec<f64>, ScoreError> {
        let m = self.model(metric)?;
        let c = perturbation_curves(
            m.model,
            m.inputs,
            m.targets,
            &self.full.to_device(m.model.device()),
            game,
            &self.settings.faithfulness,
            self.settings.budget,
        )?;
        values_of(&c.auc)
    }

    /// Infidelity under Gaussian noise seeded per image, the attribution at the input
    /// resolution repeated over the input channels.
    pub fn infidelity(&self, metric: Metric) -> Result<Vec<f64>, ScoreError> {
        let device = self.model(metric)?.model.device();
        self.per_image(metric, |model, i, x, t, _| {
            let phi = self.full.narrow(0, i as i64, 1).to_device(device);
            let phi = phi.expand(x.size().as_slice(), false).contiguous();
            let noise = GaussianNoise {
                std: self.settings.infidelity_std,
                seed: self.seeds[i],
            };
            let s = &self.settings;
            let v = infidelity(model, x, t, &phi, &noise, &s.infidelity, s.budget)?;
            Ok(values_of(&v)?[0])
        })
    }

    /// The randomisation test: Spearman correlation of |attribution| with the method's on
    /// the model whose stages `metric` re-initialises ([`Metric::randomised_stages`]).
    pub fn mprt(&self, metric: Metric) -> Result<Vec<f64>, ScoreError> {
        let method = self.method(metric)?;
        // Without a model there is no randomised copy either: name the model as missing.
        self.model(metric)?;
        let r = self
            .randomised
            .0
            .get(&metric)
            .ok_or_else(|| ScoreError::Config(format!("{metric}: randomised model missing")))?;
        self.per_image(metric, |_, _, x, t, a| {
            let b = method.attribute(r, x, t)?.detach();
            Ok(values_of(&spearman(a, &b, true)?)?[0])
        })
    }
}
