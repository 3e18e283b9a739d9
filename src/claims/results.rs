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
}

impl Results {
    /// The file name in a run directory.
    pub const FILE: &'static str = "results.json";

    /// Reads and parses a `results.json`.
    pub fn read(path: &Path) -> Result<Self, ClaimsError> {
        let bytes = std::fs::read(path).map_err(|e| ClaimsError::file(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| ClaimsError::file(path, e))
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
