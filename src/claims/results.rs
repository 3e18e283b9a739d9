//! `results.json` of a reproduce run: the measured quantities claims are checked against.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::spec::PAPER_ORDER;
use super::ClaimsError;
use crate::attr::Method;

/// Per polarization (`vh`, `vv`): accuracy and the Table 1 means per method and metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The profile run (`quick`, `paper`).
    pub profile: String,
    /// Test accuracy per polarization, a fraction in `[0, 1]`.
    pub accuracy: BTreeMap<String, f64>,
    /// Balanced test accuracy (mean per-class recall) per polarization, in `[0, 1]`.
    pub balanced_accuracy: BTreeMap<String, f64>,
    /// `table1[pol][method][metric]`: the mean over the scored images.
    pub table1: BTreeMap<String, BTreeMap<Method, BTreeMap<String, f64>>>,
    /// Marks every verdict of the run carries ([`super::SMOKE_MARK`],
    /// [`super::UNPINNED_MARK`]), as reproduce derived them from the run's pins (claims
    /// check derives them again from the re-measured pins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<String>,
    /// Per polarization: the evidence the verdicts are decided on (test counts, the
    /// explained images' classes and per-image values). Absent in runs from before
    /// verdicts carried their uncertainty: their value and ordering claims are then
    /// INCONCLUSIVE.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, PolEvidence>,
    /// A transfer run (`reproduce --profile transfer`): the data it ran on and how the
    /// paper's polarizations map to the data's channels. Absent on the quick and paper
    /// profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<Transfer>,
    /// Runs of several models per channel (`reproduce --replicates R`, R > 1): each model
    /// by its unit key (`vh`, `vh-r1`, ...), with its own accuracy and Table 1 means. The
    /// channel's `accuracy`, `table1` and `evidence` then pool the models. Absent for one
    /// model per channel.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, ModelResult>,
}

/// One trained model of a run with replicates: what it was trained from and what it gave.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    /// The channel it belongs to (`vh`, `vv`, `hh`).
    pub channel: String,
    /// Its replicate number: 0 for the channel's base model, 1.. for the others.
    pub replicate: usize,
    /// Its training seed (initialisation, data order, augmentation).
    pub seed: u64,
    /// Test accuracy.
    pub accuracy: f64,
    /// Balanced test accuracy.
    pub balanced_accuracy: f64,
    /// `table1[method][metric]`: its means over the explained images.
    pub table1: BTreeMap<Method, BTreeMap<String, f64>>,
}

/// The data of a transfer run and the rule mapping the paper's polarizations onto it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    /// The dataset's name as verdicts say it ("MSTAR SOC", or the data folder's name).
    pub dataset: String,
    /// The paper's polarization (`vh`, `vv`) -> the data's channel key whose results test
    /// its claims (`hh` for both on MSTAR; `vh` -> `vh`, `vv` -> `vv` on dual-pol data).
    pub channels: BTreeMap<String, String>,
    /// The mapping rule and how the data were recognised, in words.
    pub rule: String,
}

impl Transfer {
    /// The data's channel keys, each once, in the order the paper's polarizations map to
    /// them (`["hh"]`, or `["vh", "vv"]`).
    pub fn keys(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.channels.values() {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    }
}

/// What one polarization's verdicts are decided on: the test split's counts (accuracy's
/// Wilson interval) and the per-image values behind Table 1's means (the bootstrap over
/// the explained images, stratified by class).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolEvidence {
    /// Correct predictions on the test split.
    pub test_correct: u64,
    /// Images of the test split.
    pub test_n: u64,
    /// The explained images' indices in the test split, ascending.
    pub images: Vec<usize>,
    /// Each explained image's true class, in `images`' order: the bootstrap's strata.
    pub strata: Vec<i64>,
    /// `values[method][metric]`: one value per image in `images`' order, `None` where
    /// undefined.
    pub values: ImageValues,
    /// The channel's other models (`reproduce --replicates R`: R - 1 of them), scored on
    /// the same images; the fields above are its base model's. Empty for one model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicates: Vec<ReplicateEvidence>,
}

/// How a Table 1 cell varies over a channel's models ([`PolEvidence::spread`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    /// Each model's mean, base model first.
    pub model_means: Vec<f64>,
    /// The sample standard deviation of the model means.
    pub between_sd: f64,
    /// The root mean within-model sample variance of the image values.
    pub within_sd: f64,
}

/// Per-image values of one replicate model on its channel's explained images.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicateEvidence {
    /// Its unit key (`vh-r1`): the training run `RUN/<key>` and scores `RUN/score-<key>`.
    pub key: String,
    /// Correct predictions on the test split.
    pub test_correct: u64,
    /// Images of the test split.
    pub test_n: u64,
    /// `values[method][metric]`, in the channel's `images` order.
    pub values: ImageValues,
}

/// Values per metric, per method, per image: the per-image table of one model.
pub type ImageValues = BTreeMap<Method, BTreeMap<String, Vec<Option<f64>>>>;

/// Who made each observation of a [`PolEvidence`] sample: its model (0 the base, then the
/// replicates in order) and its image's class. The bootstrap resamples models, then
/// images within their class ([`crate::stats::hierarchical_resamples`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// Each observation's model.
    pub models: Vec<usize>,
    /// Each observation's class.
    pub strata: Vec<i64>,
}

impl Observations {
    /// Observations.
    pub fn len(&self) -> usize {
        self.strata.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.strata.is_empty()
    }

    /// Distinct models among the observations.
    pub fn model_count(&self) -> usize {
        self.models
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }
}

impl PolEvidence {
    /// Every model's per-image table: the base model's, then each replicate's.
    pub fn models(&self) -> impl Iterator<Item = &ImageValues> {
        std::iter::once(&self.values).chain(self.replicates.iter().map(|r| &r.values))
    }

    /// The defined values of `metric` for `method` over every model and image (model by
    /// model, images in order), with who made them; `None` when the run holds no values of
    /// that cell.
    pub fn cell(&self, method: Method, metric: &str) -> Option<(Vec<f64>, Observations)> {
        let (cols, obs) = self.paired(&[method], metric)?;
        Some((cols.into_iter().next().unwrap_or_default(), obs))
    }

    /// Per method, the values of `metric` on the (model, image) pairs where every method
    /// in `methods` has one (paired: row i of each is the same model and image), with who
    /// made them.
    pub fn paired(
        &self,
        methods: &[Method],
        metric: &str,
    ) -> Option<(Vec<Vec<f64>>, Observations)> {
        let mut values = vec![Vec::new(); methods.len()];
        let mut obs = Observations::default();
        for (model, table) in self.models().enumerate() {
            let cols: Vec<&Vec<Option<f64>>> = methods
                .iter()
                .map(|m| table.get(m)?.get(metric))
                .collect::<Option<_>>()?;
            for (i, &stratum) in self.strata.iter().enumerate() {
                let row: Option<Vec<f64>> = cols
                    .iter()
                    .map(|c| c.get(i).copied().flatten().filter(|v| v.is_finite()))
                    .collect();
                if let Some(row) = row {
                    for (col, v) in values.iter_mut().zip(row) {
                        col.push(v);
                    }
                    obs.models.push(model);
                    obs.strata.push(stratum);
                }
            }
        }
        Some((values, obs))
    }

    /// The spread of `metric` for `method` over the models: each model's mean of its
    /// defined values, the sample standard deviation of those means (between models,
    /// `R - 1` in the denominator) and the root of the models' mean sample variance of
    /// their images (within a model); `None` below two models with two values each.
    pub fn spread(&self, method: Method, metric: &str) -> Option<Spread> {
        let mut model_means = Vec::new();
        let mut variances = Vec::new();
        for table in self.models() {
            let v: Vec<f64> = table
                .get(&method)?
                .get(metric)?
                .iter()
                .filter_map(|x| x.filter(|x| x.is_finite()))
                .collect();
            let s = crate::stats::t_interval(&v, 0.95);
            model_means.push(s.mean?);
            variances.push(s.sd?.powi(2));
        }
        let between = crate::stats::t_interval(&model_means, 0.95).sd?;
        let within = (variances.iter().sum::<f64>() / variances.len() as f64).sqrt();
        Some(Spread {
            model_means,
            between_sd: between,
            within_sd: within,
        })
    }

    /// Each model's test counts (correct, images): the base model's, then each
    /// replicate's.
    pub fn test_counts(&self) -> Vec<(u64, u64)> {
        std::iter::once((self.test_correct, self.test_n))
            .chain(self.replicates.iter().map(|r| (r.test_correct, r.test_n)))
            .collect()
    }

    /// Table 1's means pooled over every model: per method and metric, the mean of the
    /// defined values of every (model, image), summed model by model in image order.
    pub fn pooled_means(&self) -> BTreeMap<Method, BTreeMap<String, f64>> {
        let mut out: BTreeMap<Method, BTreeMap<String, f64>> = BTreeMap::new();
        for (method, by_metric) in &self.values {
            for metric in by_metric.keys() {
                if let Some(m) = self
                    .cell(*method, metric)
                    .and_then(|c| crate::stats::mean(&c.0))
                {
                    out.entry(*method).or_default().insert(metric.clone(), m);
                }
            }
        }
        out
    }
}

/// What a run recorded of one model (a unit key: `vh`, or `vh-r1` with replicates): its
/// accuracy, Table 1 means, test counts and per-image evidence, each `None` when absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitRecord<'a> {
    /// Its test accuracy.
    pub accuracy: Option<f64>,
    /// Its Table 1 means.
    pub table1: Option<&'a BTreeMap<Method, BTreeMap<String, f64>>>,
    /// Its (correct, images) on the test split.
    pub test_counts: Option<(u64, u64)>,
    /// The explained images and their classes (its channel's).
    pub images: Option<(&'a [usize], &'a [i64])>,
    /// Its per-image values.
    pub values: Option<&'a ImageValues>,
}

impl Results {
    /// The file name in a run directory.
    pub const FILE: &'static str = crate::layout::RESULTS;

    /// Reads and parses a `results.json`.
    pub fn read(path: &Path) -> Result<Self, ClaimsError> {
        let bytes = std::fs::read(path).map_err(|e| ClaimsError::file(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| ClaimsError::file(path, e))
    }

    /// The run's channel keys: the transfer data's, else `vh` and `vv`.
    pub fn pols(&self) -> Vec<String> {
        match &self.transfer {
            Some(t) => t.keys(),
            None => vec!["vh".into(), "vv".into()],
        }
    }

    /// Every trained model's unit key: the channels' keys ([`Results::pols`]) with one
    /// model each, else every model of [`Results::models`] (`vh`, `vh-r1`, ...).
    pub fn units(&self) -> Vec<String> {
        if self.models.is_empty() {
            self.pols()
        } else {
            self.models.keys().cloned().collect()
        }
    }

    /// What the run recorded of the model `unit` ([`Results::units`]).
    pub fn unit(&self, unit: &str) -> UnitRecord<'_> {
        let Some(m) = self.models.get(unit) else {
            let e = self.evidence.get(unit);
            return UnitRecord {
                accuracy: self.accuracy.get(unit).copied(),
                table1: self.table1.get(unit),
                test_counts: e.map(|e| (e.test_correct, e.test_n)),
                images: e.map(|e| (e.images.as_slice(), e.strata.as_slice())),
                values: e.map(|e| &e.values),
            };
        };
        let e = self.evidence.get(&m.channel);
        let (counts, values) = match e {
            Some(e) if m.replicate == 0 => (Some((e.test_correct, e.test_n)), Some(&e.values)),
            Some(e) => e
                .replicates
                .iter()
                .find(|r| r.key == unit)
                .map_or((None, None), |r| {
                    (Some((r.test_correct, r.test_n)), Some(&r.values))
                }),
            None => (None, None),
        };
        UnitRecord {
            accuracy: Some(m.accuracy),
            table1: Some(&m.table1),
            test_counts: counts,
            images: e.map(|e| (e.images.as_slice(), e.strata.as_slice())),
            values,
        }
    }

    /// A transfer run's results keyed by the paper's polarizations (each takes the data
    /// channel [`Transfer::channels`] maps it to), so the paper's claims read them
    /// unchanged; `None` for a run of the paper's own data.
    pub fn as_paper_pols(&self) -> Option<Results> {
        let t = self.transfer.as_ref()?;
        fn pick<V: Clone>(m: &BTreeMap<String, V>, t: &Transfer) -> BTreeMap<String, V> {
            t.channels
                .iter()
                .filter_map(|(paper, ch)| Some((paper.clone(), m.get(ch)?.clone())))
                .collect()
        }
        Some(Results {
            profile: self.profile.clone(),
            accuracy: pick(&self.accuracy, t),
            balanced_accuracy: pick(&self.balanced_accuracy, t),
            table1: pick(&self.table1, t),
            marks: self.marks.clone(),
            evidence: pick(&self.evidence, t),
            transfer: None,
            models: self.models.clone(),
        })
    }

    /// A quantity by path: `accuracy.vh`, `table1.vv.grad-cam.max_sensitivity`.
    pub fn lookup(&self, path: &str) -> Option<f64> {
        let parts: Vec<&str> = path.split('.').collect();
        match parts.as_slice() {
            ["accuracy", pol] => self.accuracy.get(*pol).copied(),
            ["balanced_accuracy", pol] => self.balanced_accuracy.get(*pol).copied(),
            ["table1", pol, method, metric] => {
                let m: Method = method.parse().ok()?;
                self.table1.get(*pol)?.get(&m)?.get(*metric).copied()
            }
            _ => None,
        }
    }

    /// The paper's eight methods ([`PAPER_ORDER`]) with their mean `metric` in `pol`,
    /// ascending (ties by method order); `None` unless all eight have one. Another method
    /// the run scored takes no part in the paper's rankings.
    pub fn ranking(&self, pol: &str, metric: &str) -> Option<Vec<(Method, f64)>> {
        let t = self.table1.get(pol)?;
        let mut v: Vec<(Method, f64)> = PAPER_ORDER
            .iter()
            .map(|m| t.get(m)?.get(metric).map(|&x| (*m, x)))
            .collect::<Option<Vec<_>>>()?;
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        Some(v)
    }
}
