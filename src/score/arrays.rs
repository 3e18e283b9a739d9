//! Metrics on attribution arrays made anywhere (Captum, Zennit, pytorch-grad-cam, sarxai
//! explain): what `sarxai metrics` computes. Each metric is scoring's own computation
//! ([`Metric::values`]) with the same settings ([`ScoreConfig`]) and per-image noise seeds
//! ([`image_seed`] of the image's position), so a value here equals, to the bit, the value
//! `score` writes for the same image, method and attribution
//! (tests/score_equals_metrics.rs). Only the model-free metrics need nothing but the
//! arrays; the faithfulness and infidelity metrics re-run the model; Max-Sensitivity and
//! the randomisation test re-run the method too.

use tch::Tensor;

pub use super::metric::ModelInputs;
use super::metric::{values_of, Explained, Metric, Randomised};
use super::scoring::image_seed;
use super::{ScoreConfig, ScoreError};
use crate::attr::{Attribution, Method};
use crate::metrics::complexity::complexity;
use crate::metrics::Convention;

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
                        let scored = Metric::parse_list(part)
                            .map_err(|e| format!("{e}; sarxai metrics also has complexity"))?;
                        v.extend(scored.into_iter().map(ArrayMetric::Scored));
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
/// only Sparseness, relevance mass accuracy and Complexity) and `cfg`'s settings and seed:
/// scoring's own computation ([`Metric::values`]), image `i` with noise seed
/// [`image_seed`]`(cfg.seed, i)`.
pub fn metrics_on_arrays(
    input: &ArrayInputs,
    metrics: &[ArrayMetric],
    convention: Convention,
    cfg: &ScoreConfig,
) -> Result<Vec<MetricValues>, ScoreError> {
    let (h, w) = input_size(input)?;
    let scored: Vec<Metric> = metrics
        .iter()
        .filter_map(|m| match m {
            ArrayMetric::Scored(k) => Some(*k),
            ArrayMetric::Complexity => None,
        })
        .collect();
    let randomised = match &input.model {
        Some(m) => Randomised::of(m.model, &scored, cfg.randomisation_seed)?,
        None => Randomised::default(),
    };
    let method: Option<Box<dyn Attribution>> = input.method.map(|m| m.with_defaults(cfg.budget));
    let settings = cfg.metric_settings();
    let seeds = (0..input.attributions.size()[0] as usize)
        .map(|i| image_seed(cfg.seed, i))
        .collect();
    let mut e = Explained::new(input.attributions, (h, w), seeds, &settings, &randomised)?;
    e.masks = input.masks.map(Tensor::shallow_clone);
    e.model = input.model;
    e.method = method.as_deref();
    e.convention = convention;
    metrics
        .iter()
        .map(|&m| {
            let values = match m {
                ArrayMetric::Scored(k) => k.values(&e)?,
                ArrayMetric::Complexity => values_of(&complexity(&e.full, convention)?)?,
            };
            Ok((m, values))
        })
        .collect()
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
