//! `results.json` of a reproduce run: the measured quantities claims are checked against.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

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
    pub values: BTreeMap<Method, BTreeMap<String, Vec<Option<f64>>>>,
}

impl PolEvidence {
    /// The defined values of `metric` for `method` with their strata; `None` when the run
    /// holds no values of that cell.
    pub fn cell(&self, method: Method, metric: &str) -> Option<(Vec<f64>, Vec<i64>)> {
        let v = self.values.get(&method)?.get(metric)?;
        Some(
            v.iter()
                .zip(&self.strata)
                .filter_map(|(x, s)| x.filter(|x| x.is_finite()).map(|x| (x, *s)))
                .unzip(),
        )
    }

    /// Per method, the values of `metric` on the images where every method in `methods`
    /// has one (paired: row i of each is the same image), with those images' strata.
    pub fn paired(&self, methods: &[Method], metric: &str) -> Option<(Vec<Vec<f64>>, Vec<i64>)> {
        let cols: Vec<&Vec<Option<f64>>> = methods
            .iter()
            .map(|m| self.values.get(m)?.get(metric))
            .collect::<Option<_>>()?;
        let keep: Vec<usize> = (0..self.strata.len())
            .filter(|&i| {
                cols.iter()
                    .all(|c| c.get(i).copied().flatten().is_some_and(f64::is_finite))
            })
            .collect();
        let values = cols
            .iter()
            .map(|c| keep.iter().map(|&i| c[i].expect("kept")).collect())
            .collect();
        Some((values, keep.iter().map(|&i| self.strata[i]).collect()))
    }
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

    /// Methods with their mean `metric` in `pol`, ascending (ties by method order).
    pub fn ranking(&self, pol: &str, metric: &str) -> Option<Vec<(Method, f64)>> {
        let t = self.table1.get(pol)?;
        let mut v: Vec<(Method, f64)> = t
            .iter()
            .map(|(m, ms)| ms.get(metric).map(|&x| (*m, x)))
            .collect::<Option<Vec<_>>>()?;
        if v.len() != Method::ALL.len() {
            return None;
        }
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        Some(v)
    }
}
