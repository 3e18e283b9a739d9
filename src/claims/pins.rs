//! `fixtures/pins.yaml`: what a profile's results depend on, and the same pins measured
//! from a reproduce run directory. Claims are only compared when every pin agrees.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ClaimsError;
use crate::train::manifest::RunManifest;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PinsFile {
    /// Provenance and policy notes.
    #[serde(default)]
    pub notes: Vec<String>,
    pub profiles: BTreeMap<String, Pins>,
}

/// The pins of one profile. `None` means "not pinned" (e.g. model hashes on a GPU run);
/// a pinned value must be matched exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pins {
    /// Root digest of the data directory's manifest.
    pub data_manifest: Option<String>,
    /// Per polarization: digests of the train / val / test member lists.
    #[serde(default)]
    pub splits: BTreeMap<String, BTreeMap<String, String>>,
    /// Training and split seeds.
    #[serde(default)]
    pub seeds: BTreeMap<String, u64>,
    /// Per polarization: model hash (CPU runs only; see REPRODUCE.md).
    #[serde(default)]
    pub model_hashes: BTreeMap<String, String>,
    /// Where the model hashes were computed: `"<device>; <cpu fingerprint>"`, e.g.
    /// `"cpu (2 threads); x86_64 avx avx2 fma"` (see
    /// [`crate::train::manifest::cpu_fingerprint`]). Floating-point
    /// training is bit-reproducible only on the same kernels, so a run from another
    /// platform is not held to `model_hashes` (a note says so); a run from the same
    /// platform with other weights is refused.
    #[serde(default)]
    pub model_platform: Option<String>,
    /// `tch` and `libtorch` versions.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
}

impl PinsFile {
    pub fn profile(&self, name: &str) -> Result<&Pins, ClaimsError> {
        self.profiles
            .get(name)
            .ok_or_else(|| ClaimsError::Profile(name.to_string()))
    }
}

impl Pins {
    /// The pins recorded in the training runs of a reproduce directory
    /// (`RUN/<pol>/run.json`), with the model hashes recomputed from the weights files and
    /// the data manifest recomputed from the data directory when `rehash` is set.
    pub fn measure(run_dir: &Path, pols: &[&str], rehash: bool) -> Result<Pins, ClaimsError> {
        let mut pins = Pins::default();
        for pol in pols {
            let dir = run_dir.join(pol);
            let path = dir.join(crate::train::files::MANIFEST);
            let m = RunManifest::read(&path).map_err(|e| ClaimsError::file(&path, e))?;
            let model = m
                .model
                .as_ref()
                .ok_or_else(|| ClaimsError::file(&path, "training did not complete"))?;
            let hash = if rehash {
                let w = dir.join(&model.weights);
                let loaded = crate::model::load(&w, Some(model.config.arch), tch::Device::Cpu)
                    .map_err(|e| ClaimsError::file(&w, e))?;
                crate::model::model_hash(&loaded).map_err(|e| ClaimsError::file(&w, e))?
            } else {
                model.hash.clone()
            };
            pins.model_hashes.insert(pol.to_string(), hash);
            let platform = format!(
                "{}; {}",
                m.device,
                m.versions.cpu.as_deref().unwrap_or("unknown cpu")
            );
            match &pins.model_platform {
                Some(p) if *p != platform => {
                    return Err(ClaimsError::PinMismatch {
                        pin: "model_platform".into(),
                        expected: p.clone(),
                        found: platform,
                        hint: format!(
                        "the {pol} run was trained on another platform than the first polarization"
                    ),
                    })
                }
                _ => pins.model_platform = Some(platform),
            }
            let data_digest = if rehash {
                let data_dir = match &m.data.origin {
                    crate::train::data::DataOrigin::Dir { dir } => dir.clone(),
                    crate::train::data::DataOrigin::Synthetic { dir, .. } => dir.clone(),
                };
                crate::data::manifest::build_manifest(&data_dir)
                    .map_err(|e| ClaimsError::file(&data_dir, e))?
                    .root_digest
            } else {
                m.data.manifest_digest.clone()
            };
            match &pins.data_manifest {
                Some(d) if *d != data_digest => {
                    return Err(ClaimsError::PinMismatch {
                        pin: "data_manifest".into(),
                        expected: d.clone(),
                        found: data_digest,
                        hint: format!("the {pol} run used other data than the first polarization"),
                    })
                }
                _ => pins.data_manifest = Some(data_digest),
            }
            let u = &m.data.used;
            pins.splits.insert(
                pol.to_string(),
                [("train", &u.train), ("val", &u.val), ("test", &u.test)]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            );
            pins.seeds.insert("train".into(), m.seeds.train);
            pins.seeds.insert("split".into(), m.seeds.split);
            pins.versions.insert("tch".into(), m.versions.tch.clone());
            pins.versions
                .insert("libtorch".into(), m.versions.libtorch.clone());
        }
        Ok(pins)
    }

    /// Every pinned value of `self` must equal the measured one; the first disagreement
    /// is the error, naming the pin. Returns notes on pins that did not apply (model
    /// hashes pinned on another platform than the run's).
    pub fn verify(&self, measured: &Pins) -> Result<Vec<String>, ClaimsError> {
        let mut notes = Vec::new();
        let mismatch = |pin: String, e: &str, f: &str, hint: &str| ClaimsError::PinMismatch {
            pin,
            expected: e.to_string(),
            found: f.to_string(),
            hint: hint.to_string(),
        };
        if let Some(e) = &self.data_manifest {
            let f = measured.data_manifest.as_deref().unwrap_or("(none)");
            if e != f {
                return Err(mismatch("data_manifest".into(), e, f, "a data file was added, removed or altered: run `sarxai data verify DIR --manifest M` to see which"));
            }
        }
        for (pol, splits) in &self.splits {
            for (k, e) in splits {
                let f = measured
                    .splits
                    .get(pol)
                    .and_then(|s| s.get(k))
                    .map_or("(none)", String::as_str);
                if e != f {
                    return Err(mismatch(
                        format!("splits.{pol}.{k}"),
                        e,
                        f,
                        "the split differs (seed, data or split options)",
                    ));
                }
            }
        }
        for (k, e) in &self.seeds {
            let f = measured
                .seeds
                .get(k)
                .map_or("(none)".to_string(), u64::to_string);
            if e.to_string() != f {
                return Err(mismatch(
                    format!("seeds.{k}"),
                    &e.to_string(),
                    &f,
                    "the run used another seed",
                ));
            }
        }
        let other_platform = match (&self.model_platform, &measured.model_platform) {
            (Some(pinned), Some(run)) if pinned != run => Some((pinned, run)),
            _ => None,
        };
        if let (Some((pinned, run)), false) = (other_platform, self.model_hashes.is_empty()) {
            notes.push(format!(
                "model_hashes not compared: pinned on [{pinned}], this run was trained on [{run}] (bit-identical training needs the same kernels; data, split, seeds and versions still pinned)"
            ));
        }
        for (pol, e) in self
            .model_hashes
            .iter()
            .filter(|_| other_platform.is_none())
        {
            let f = measured
                .model_hashes
                .get(pol)
                .map_or("(none)", String::as_str);
            if e != f {
                return Err(mismatch(format!("model_hashes.{pol}"), e, f, "the weights differ from the pinned model (altered file, other training, or a non-CPU run)"));
            }
        }
        for (k, e) in &self.versions {
            let f = measured.versions.get(k).map_or("(none)", String::as_str);
            if e != f {
                return Err(mismatch(
                    format!("versions.{k}"),
                    e,
                    f,
                    "another library version computed this run",
                ));
            }
        }
        Ok(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(hash: &str, platform: &str) -> Pins {
        Pins {
            model_hashes: [("vh".to_string(), hash.to_string())].into(),
            model_platform: Some(platform.to_string()),
            ..Pins::default()
        }
    }

    #[test]
    fn model_hash_pins_apply_on_their_platform_only() {
        let pinned = pins("aaaa", "cpu (2 threads); x86_64 avx2");
        assert!(pinned
            .verify(&pins("aaaa", "cpu (2 threads); x86_64 avx2"))
            .unwrap()
            .is_empty());
        match pinned.verify(&pins("bbbb", "cpu (2 threads); x86_64 avx2")) {
            Err(ClaimsError::PinMismatch { pin, .. }) => assert_eq!(pin, "model_hashes.vh"),
            other => panic!("same platform, other weights must be refused: {other:?}"),
        }
        let notes = pinned.verify(&pins("bbbb", "cuda:0; x86_64 avx2")).unwrap();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("model_hashes not compared"), "{notes:?}");
    }
}
