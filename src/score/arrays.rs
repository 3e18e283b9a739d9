//! Metrics on attribution arrays made anywhere (Captum, Zennit, pytorch-grad-cam, sarxai
//! explain): what `sarxai metrics` computes. Each metric is the function scoring calls
//! ([`super::scoring`]), with the same settings ([`ScoreConfig`]) and the same per-image
//! noise seeds ([`image_seed`] of the image's position), so a value here equals the value
//! `score` writes for the same image, method and attribution. Only the model-free metrics
//! need nothing but the arrays; the faithfulness and infidelity metrics re-run the model;
//! Max-Sensitivity and the randomisation test re-run the method too.

use tch::{Kind, Tensor};

use super::metric::Metric;
use super::scoring::image_seed;
use super::{ScoreConfig, ScoreError};
use crate::attr::{Attribution, Method};
use crate::metrics::complexity::complexity;
use crate::metrics::entropy::xai_entropy;
use crate::metrics::faithfulness::{perturbation_curves, Game};
use crate::metrics::infidelity::{infidelity, GaussianNoise};
use crate::metrics::localisation::{
    pointing_game, relevance_mass_accuracy_as, to_input_resolution,
};
use crate::metrics::randomisation::{randomised_copy, spearman, Stage};
use crate::metrics::sensitivity::{captum09_reported, max_sensitivity_from, Perturbations};
use crate::metrics::sparseness::sparseness_as;
use crate::metrics::Convention;
use crate::model::ResNet;

/// A metric of `sarxai metrics`: one of scoring's columns, or Quantus' Complexity (not a
/// column of Table 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArrayMetric {
    /// A column of scoring.
    Scored(Metric),
    /// [`crate::metrics::complexity`].
    Complexity,
}

impl ArrayMetric {
    /// The name in output: the column key, or `complexity`.
    pub fn key(self) -> &'static str {
        match self {
            ArrayMetric::Scored(m) => m.key(),
            ArrayMetric::Complexity => "complexity",
        }
    }

    /// A comma-separated list of metric keys (scoring's names and aliases, `complexity`),
    /// `all` (every one) or `paper`; repeats dropped, in column order.
    pub fn parse_list(s: &str) -> Result<Vec<ArrayMetric>, String> {
        let mut out = match s.trim().to_ascii_lowercase().as_str() {
            "all" => {
                let mut v: Vec<ArrayMetric> = Metric::ALL.map(ArrayMetric::Scored).to_vec();
                v.push(ArrayMetric::Complexity);
                v
            }
            _ => {
                let mut v = Vec::new();
                for part in s.split(',') {
                    if part.trim().eq_ignore_ascii_case("complexity") {
                        v.push(ArrayMetric::Complexity);
                    } else {
                        v.extend(
                            Metric::parse_list(part)?
                                .into_iter()
                                .map(ArrayMetric::Scored),
                        );
                    }
                }
                v
            }
        };
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// The model, its inputs and the explained classes, for the metrics that re-run it.
pub struct ModelInputs<'a> {
    /// The classifier.
    pub model: &'a ResNet,
    /// (N, C, H, W) on the model's device.
    pub inputs: &'a Tensor,
    /// (N,) int64 on the model's device.
    pub targets: &'a Tensor,
}

/// What the metrics are computed on.
pub struct ArrayInputs<'a> {
    /// (N, C, h, w) as the method gives them (Grad-CAM: its layer map).
    pub attributions: &'a Tensor,
    /// (N, H, W), non-zero inside: for the localisation metrics.
    pub masks: Option<&'a Tensor>,
    /// For the metrics that re-run the model.
    pub model: Option<ModelInputs<'a>>,
    /// The method that made the attributions: for Max-Sensitivity and the randomisation
    /// test, which re-run it.
    pub method: Option<Method>,
}

/// One metric's values, one per image (NaN where undefined).
pub type MetricValues = (ArrayMetric, Vec<f64>);

/// Every metric of `metrics` on every image of `input`, under `convention` (which changes
/// only Sparseness, relevance mass accuracy and Complexity) and `cfg`'s settings and seed.
pub fn metrics_on_arrays(
    input: &ArrayInputs,
    metrics: &[ArrayMetric],
    convention: Convention,
    cfg: &ScoreConfig,
) -> Result<Vec<MetricValues>, ScoreError> {
    let (h, w) = input_size(input)?;
    let full = to_input_resolution(input.attributions, h, w)?;
    let a = Arrays {
        input,
        full,
        h,
        w,
        convention,
        cfg,
    };
    metrics.iter().map(|&m| Ok((m, a.values(m)?))).collect()
}

/// The input resolution: the inputs', else the masks', else the attributions' own.
fn input_size(input: &ArrayInputs) -> Result<(i64, i64), ScoreError> {
    let s = input.attributions.size();
    if s.len() != 4 || s.contains(&0) {
        return Err(ScoreError::Config(format!(
            "attributions must be (N, C, H, W) with no empty dimension; got {s:?}"
        )));
    }
    if let Some(m) = &input.model {
        let x = m.inputs.size();
        if x.len() != 4 || x[0] != s[0] || m.targets.size() != [s[0]] {
            return Err(ScoreError::Config(format!(
                "inputs {x:?} and targets {:?} must hold the attributions' {} images",
                m.targets.size(),
                s[0]
            )));
        }
        return Ok((x[2], x[3]));
    }
    if let Some(m) = input.masks {
        let ms = m.size();
        return Ok((
            ms.get(1).copied().unwrap_or(0),
            ms.get(2).copied().unwrap_or(0),
        ));
    }
    Ok((s[2], s[3]))
}

fn values_of(t: &Tensor) -> Result<Vec<f64>, ScoreError> {
    Ok(Vec::<f64>::try_from(
        t.to_kind(Kind::Double).to_device(tch::Device::Cpu),
    )?)
}

struct Arrays<'a> {
    input: &'a ArrayInputs<'a>,
    /// The attributions at the input resolution (nearest-neighbour, as scoring does).
    full: Tensor,
    h: i64,
    w: i64,
    convention: Convention,
    cfg: &'a ScoreConfig,
}

impl Arrays<'_> {
    fn values(&self, m: ArrayMetric) -> Result<Vec<f64>, ScoreError> {
        let ArrayMetric::Scored(k) = m else {
            return values_of(&complexity(&self.full, self.convention)?);
        };
        match k {
            Metric::Sparseness => values_of(&sparseness_as(&self.full, self.convention)?),
            Metric::RelevanceMassAccuracy | Metric::PointingGame => self.localisation(k),
            Metric::EntropyKb | Metric::ShannonBits => self.entropy(k),
            Metric::DeletionAuc | Metric::InsertionAuc => self.faithfulness(k),
            Metric::Infidelity => {
                self.per_image(k, |m, i, x, t, phi| self.infidelity(m, i, x, t, phi))
            }
            Metric::MaxSensitivity | Metric::MaxSensitivityCaptum09 => self.max_sensitivity(k),
            Metric::MprtFc | Metric::MprtAll => self.mprt(k),
        }
    }

    fn needs<'b, T>(
        &self,
        what: Option<&'b T>,
        k: Metric,
        flags: &str,
    ) -> Result<&'b T, ScoreError> {
        what.ok_or_else(|| ScoreError::Config(format!("{} needs {flags}", k.key())))
    }

    fn model(&self, k: Metric) -> Result<&ModelInputs<'_>, ScoreError> {
        self.needs(
            self.input.model.as_ref(),
            k,
            "the model: --weights, --input and --target",
        )
    }

    fn localisation(&self, k: Metric) -> Result<Vec<f64>, ScoreError> {
        let masks = self.needs(self.input.masks, k, "--mask (N, H, W)")?;
        values_of(&if k == Metric::PointingGame {
            pointing_game(&self.full, masks)?
        } else {
            relevance_mass_accuracy_as(&self.full, masks, self.convention)?
        })
    }

    fn entropy(&self, k: Metric) -> Result<Vec<f64>, ScoreError> {
        let scores = xai_entropy(self.input.attributions, self.h, self.w, &self.cfg.entropy)
            .map_err(|e| ScoreError::Config(format!("XAI entropy: {e}")))?;
        Ok(scores
            .iter()
            .map(|e| {
                if k == Metric::EntropyKb {
                    e.kb
                } else {
                    e.shannon_bits
                }
            })
            .collect())
    }

    fn faithfulness(&self, k: Metric) -> Result<Vec<f64>, ScoreError> {
        let m = self.model(k)?;
        let game = if k == Metric::DeletionAuc {
            Game::Deletion
        } else {
            Game::Insertion
        };
        let c = perturbation_curves(
            m.model,
            m.inputs,
            m.targets,
            &self.full.to_device(m.model.device()),
            game,
            &self.cfg.faithfulness,
            self.cfg.budget,
        )?;
        values_of(&c.auc)
    }

    /// `f(model, i, x_i, t_i, full_i)` for every image `i`.
    fn per_image(
        &self,
        k: Metric,
        f: impl Fn(&ResNet, usize, &Tensor, &Tensor, &Tensor) -> Result<f64, ScoreError>,
    ) -> Result<Vec<f64>, ScoreError> {
        let m = self.model(k)?;
        let device = m.model.device();
        (0..self.full.size()[0])
            .map(|i| {
                let x = m.inputs.narrow(0, i, 1);
                let t = m.targets.narrow(0, i, 1);
                let phi = self.full.narrow(0, i, 1).to_device(device);
                f(m.model, i as usize, &x, &t, &phi)
            })
            .collect()
    }

    /// Infidelity under Gaussian noise seeded per image, the attribution repeated over the
    /// input channels (as scoring computes it).
    fn infidelity(
        &self,
        model: &ResNet,
        i: usize,
        x: &Tensor,
        t: &Tensor,
        phi: &Tensor,
    ) -> Result<f64, ScoreError> {
        let phi = phi.expand(x.size().as_slice(), false).contiguous();
        let noise = GaussianNoise {
            std: self.cfg.infidelity_std,
            seed: image_seed(self.cfg.seed, i),
        };
        let v = infidelity(
            model,
            x,
            t,
            &phi,
            &noise,
            &self.cfg.infidelity,
            self.cfg.budget,
        )?;
        Ok(values_of(&v)?[0])
    }

    fn method(&self, k: Metric) -> Result<Box<dyn Attribution>, ScoreError> {
        let m = self.needs(
            self.input.method.as_ref(),
            k,
            "--method (it re-runs the method)",
        )?;
        Ok(m.with_defaults(self.cfg.budget))
    }

    /// Max-Sensitivity of the given attributions (the perturbed ones made by the method),
    /// each image with its own noise seed; the Captum 0.9 column derives from it.
    fn max_sensitivity(&self, k: Metric) -> Result<Vec<f64>, ScoreError> {
        let method = self.method(k)?;
        let a = self.input.attributions;
        self.per_image(k, |model, i, x, t, _| {
            let mut sc = self.cfg.sensitivity;
            sc.seed = image_seed(self.cfg.seed, i);
            let base = a.narrow(0, i as i64, 1).to_device(model.device());
            let v =
                max_sensitivity_from(&*method, model, x, t, &base, &sc, &Perturbations::Uniform)?;
            let v = values_of(&v)?[0];
            Ok(if k == Metric::MaxSensitivity {
                v
            } else {
                captum09_reported(method.method(), v, sc.samples)
            })
        })
    }

    /// Spearman correlation of |attribution| with the method's on the model with `fc`
    /// (MPRT fc) or every stage (MPRT all) re-initialised.
    fn mprt(&self, k: Metric) -> Result<Vec<f64>, ScoreError> {
        let method = self.method(k)?;
        let stages: &[Stage] = if k == Metric::MprtFc {
            &[Stage::Fc]
        } else {
            &Stage::TOP_DOWN
        };
        let m = self.model(k)?;
        let r = randomised_copy(m.model, stages, self.cfg.randomisation_seed)?;
        let a = self.input.attributions;
        self.per_image(k, |model, i, x, t, _| {
            let b = method.attribute(&r, x, t)?.detach();
            let base = a.narrow(0, i as i64, 1).to_device(model.device());
            Ok(values_of(&spearman(&base, &b, true)?)?[0])
        })
    }
}
