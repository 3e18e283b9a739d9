//! `fixtures/pins.yaml`: what a profile's results depend on, and the same pins measured
//! from a reproduce run directory. Claims are only compared when every pin agrees.
//!
//! A reproduce run records its pins in `RUN/pins.json` ([`RUN_PINS_FILE`]): the archive's
//! SHA-256 (or none for a directory), the data manifest's root digest, per polarization the
//! digest of the chosen members (`verify::members_digest`: every file of the chosen format group
//! with its content hash), the train / val / test split digests, the Table 1
//! image-selection digest and the model hash, the seeds (training, split, selection), the
//! versions, the device and libtorch numerics settings, and whether the run was a smoke
//! run. Measuring them from a run directory is the verification side's
//! (`verify::measure`); `sarxai claims check` re-derives each one from the files (archive re-hashed, model
//! hashes from the weights, manifest from the data, members, splits and selection from the
//! re-loaded data and model) and names every pin that differs ([`Pins::compare`]); the
//! profile's pinned values are then held to [`Pins::verify`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ClaimsError;

/// The pins a reproduce run recorded, in the run directory.
pub const RUN_PINS_FILE: &str = crate::layout::PINS;

/// The mark of every verdict of a smoke run (`reproduce --smoke`).
pub const SMOKE_MARK: &str = "smoke: not comparable";
/// The mark of every verdict of a run whose data are not the profile's pinned archive.
pub const UNPINNED_MARK: &str = "unpinned";

/// `fixtures/pins.yaml`: the pins of each profile.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PinsFile {
    /// Provenance and policy notes.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The pins by profile name (`quick`, `paper`).
    pub profiles: BTreeMap<String, Pins>,
}

/// The pins of one profile. `None` means "not pinned" (e.g. model hashes on a GPU run);
/// a pinned value must be matched exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pins {
    /// Root digest of the data directory's manifest.
    pub data_manifest: Option<String>,
    /// SHA-256 of the zip archive the data were extracted from (`RUN/archive.json`). In
    /// `fixtures/pins.yaml`: a run on other data (another digest, or a directory) has every
    /// verdict marked [`UNPINNED_MARK`] instead of being refused.
    #[serde(default)]
    pub archive_sha256: Option<String>,
    /// How reproduce admitted the archive: `pinned` (its digest was the expected one) or
    /// `unpinned` (`--allow-unpinned-data`).
    #[serde(default)]
    pub archive_status: Option<String>,
    /// Per polarization: `members_digest` of the files of the chosen format group.
    #[serde(default)]
    pub members: BTreeMap<String, String>,
    /// Per polarization: digests of the train / val / test member lists.
    #[serde(default)]
    pub splits: BTreeMap<String, BTreeMap<String, String>>,
    /// Per polarization: digest of the test images Table 1 explains (`images.csv`).
    #[serde(default)]
    pub selection: BTreeMap<String, String>,
    /// Training, split and selection seeds.
    #[serde(default)]
    pub seeds: BTreeMap<String, u64>,
    /// Per polarization: model hash (CPU runs only; see REPRODUCE.md).
    #[serde(default)]
    pub model_hashes: BTreeMap<String, String>,
    /// Where the model hashes were computed: `"<device>; <cpu fingerprint>"`, e.g.
    /// `"cpu (2 threads); x86_64 avx avx2 fma"` (see
    /// `crate::train::manifest::cpu_fingerprint`). Floating-point
    /// training is bit-reproducible only on the same kernels, so a run from another
    /// platform is not held to `model_hashes` (a note says so); a run from the same
    /// platform with other weights is refused.
    #[serde(default)]
    pub model_platform: Option<String>,
    /// `sarxai`, `tch` and `libtorch` versions.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
    /// Per polarization: the training device and threads.
    #[serde(default)]
    pub device: BTreeMap<String, String>,
    /// Per polarization: libtorch's numerics flags in force while training (TF32, cuDNN).
    #[serde(default)]
    pub numerics: BTreeMap<String, String>,
    /// Whether the run trained at the smoke budget (`reproduce --smoke`).
    #[serde(default)]
    pub smoke: Option<bool>,
}

/// One pin whose value differs from the expected one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The pin's key, e.g. `archive_sha256`, `model_hashes.vh`, `members.vv`.
    pub pin: String,
    /// The expected value.
    pub expected: String,
    /// The value found.
    pub found: String,
    /// What a difference of this pin means.
    pub hint: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pin '{}' disagrees: expected {}, found {}. {}",
            self.pin, self.expected, self.found, self.hint
        )
    }
}

/// What a difference of the pin `key` means.
fn hint(key: &str) -> &'static str {
    let head = key.split('.').next().unwrap_or(key);
    match head {
        "data_manifest" => "a data file was added, removed or altered: run `sarxai data verify DIR --manifest M` to see which",
        "archive_sha256" => "the archive is not the one the run was made from (altered, replaced or another copy)",
        "archive_status" => "the archive was admitted otherwise than recorded",
        "members" => "the files of the chosen format group differ (content, or members added or removed)",
        "splits" => "the split differs (seed, data or split options)",
        "selection" => "other test images were explained (selection rule or seed, model, or test split)",
        "seeds" => "the run used another seed",
        "model_hashes" => "the weights differ from the pinned model (altered file, other training, or a non-CPU run)",
        "model_platform" => "the run was trained on another platform than recorded",
        "versions" => "another library version computed this run",
        "device" | "numerics" => "the device settings differ from the run's record",
        "smoke" => "the run's budget (smoke or full) differs from its record",
        _ => "the value differs",
    }
}

impl PinsFile {
    /// The pins of profile `name`; an error for an unknown profile.
    pub fn profile(&self, name: &str) -> Result<&Pins, ClaimsError> {
        self.profiles
            .get(name)
            .ok_or_else(|| ClaimsError::Profile(name.to_string()))
    }
}

impl Pins {
    /// The pins a run recorded in `RUN/pins.json`, if it has one (runs made before it
    /// existed record their pins in run.json only).
    pub fn read_recorded(run_dir: &Path) -> Result<Option<Pins>, ClaimsError> {
        let path = run_dir.join(RUN_PINS_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(|e| ClaimsError::file(&path, e))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ClaimsError::file(&path, e))
    }

    /// Writes `RUN/pins.json` atomically.
    pub fn write_recorded(&self, run_dir: &Path) -> Result<(), ClaimsError> {
        let path = run_dir.join(RUN_PINS_FILE);
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| ClaimsError::file(&path, e))?;
        bytes.push(b'\n');
        crate::io::write_atomic(&path, &bytes).map_err(|e| ClaimsError::file(&path, e))
    }

    /// Every pinned value by key (`data_manifest`, `archive_sha256`, `members.vh`,
    /// `splits.vh.test`, `selection.vh`, `seeds.train`, `model_hashes.vh`,
    /// `model_platform`, `versions.tch`, `device.vh`, `numerics.vh`, `smoke`).
    pub fn entries(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut one = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.insert(k.to_string(), v.clone());
            }
        };
        one("data_manifest", &self.data_manifest);
        one("archive_sha256", &self.archive_sha256);
        one("archive_status", &self.archive_status);
        one("model_platform", &self.model_platform);
        one("smoke", &self.smoke.map(|s| s.to_string()));
        let maps: [(&str, &BTreeMap<String, String>); 6] = [
            ("members", &self.members),
            ("selection", &self.selection),
            ("model_hashes", &self.model_hashes),
            ("versions", &self.versions),
            ("device", &self.device),
            ("numerics", &self.numerics),
        ];
        for (name, map) in maps {
            for (k, v) in map {
                out.insert(format!("{name}.{k}"), v.clone());
            }
        }
        for (pol, parts) in &self.splits {
            for (k, v) in parts {
                out.insert(format!("splits.{pol}.{k}"), v.clone());
            }
        }
        for (k, v) in &self.seeds {
            out.insert(format!("seeds.{k}"), v.to_string());
        }
        out
    }

    /// Every pin of `self` for which `keep(key)` holds whose value differs from
    /// `measured`'s (a pin `measured` lacks is found as `(none)`).
    pub fn compare(&self, measured: &Pins, keep: &dyn Fn(&str) -> bool) -> Vec<Mismatch> {
        let found = measured.entries();
        self.entries()
            .into_iter()
            .filter(|(k, _)| keep(k))
            .filter_map(|(k, e)| {
                let f = found.get(&k).cloned().unwrap_or_else(|| "(none)".into());
                (e != f).then(|| Mismatch {
                    hint: hint(&k).to_string(),
                    pin: k,
                    expected: e,
                    found: f,
                })
            })
            .collect()
    }

    /// Holds `measured` to the profile's pins in `self`: every pinned value must be equal,
    /// and every disagreement is named in the error. Model hashes are compared only on the
    /// pinned platform and the archive digest decides [`Pins::marks`] instead (both give a
    /// note). Returns the notes.
    pub fn verify(&self, measured: &Pins) -> Result<Vec<String>, ClaimsError> {
        let mut notes = Vec::new();
        let other_platform = match (&self.model_platform, &measured.model_platform) {
            (Some(pinned), Some(run)) if pinned != run => Some((pinned, run)),
            _ => None,
        };
        if let (Some((pinned, run)), false) = (other_platform, self.model_hashes.is_empty()) {
            notes.push(format!(
                "model_hashes not compared: pinned on [{pinned}], this run was trained on [{run}] (bit-identical training needs the same kernels; data, split, seeds and versions still pinned)"
            ));
        }
        // The pinned hashes are of the profile's full-budget models; a smoke run trains
        // others by design.
        let smoke = measured.smoke == Some(true);
        if smoke && !self.model_hashes.is_empty() {
            notes.push("model_hashes not compared: a smoke run trains at a tiny budget, not the pinned full-budget models (data, split, seeds and versions still pinned)".into());
        }
        let mismatches = self.compare(measured, &|k| {
            !(k == "model_platform"
                || k == "archive_sha256"
                || (k.starts_with("model_hashes.") && (other_platform.is_some() || smoke)))
        });
        if mismatches.is_empty() {
            Ok(notes)
        } else {
            Err(ClaimsError::Pins {
                what: "the run does not match the profile's pins".into(),
                mismatches,
            })
        }
    }

    /// The marks every verdict of the run `self` (measured) carries under the profile's
    /// pins `profile`, each with its reason: [`SMOKE_MARK`] for a smoke run,
    /// [`UNPINNED_MARK`] when the profile pins an archive and the run's data are not that
    /// archive (another digest, `--allow-unpinned-data`, or a directory that cannot be
    /// checked against it).
    pub fn marks(&self, profile: &Pins) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.smoke == Some(true) {
            out.push((SMOKE_MARK, "a smoke run (reproduce --smoke): the protocol's code path at a tiny budget, so its numbers are not comparable with the paper's; its verdicts do not decide the exit status, its pins and recomputation do".to_string()));
        }
        if let Some(pinned) = &profile.archive_sha256 {
            match &self.archive_sha256 {
                Some(a) if a == pinned => {}
                Some(a) => out.push((UNPINNED_MARK, format!(
                    "the archive's SHA-256 {a} is not the pinned {pinned} (admitted as {}): the data are not the paper's pinned archive",
                    self.archive_status.as_deref().unwrap_or("unknown")
                ))),
                None => out.push((UNPINNED_MARK, format!(
                    "the data were given as a directory: they cannot be checked against the pinned archive {pinned}"
                ))),
            }
        }
        out
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
            Err(ClaimsError::Pins { mismatches, .. }) => {
                assert_eq!(mismatches.len(), 1);
                assert_eq!(mismatches[0].pin, "model_hashes.vh");
            }
            other => panic!("same platform, other weights must be refused: {other:?}"),
        }
        let notes = pinned.verify(&pins("bbbb", "cuda:0; x86_64 avx2")).unwrap();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("model_hashes not compared"), "{notes:?}");
    }

    #[test]
    fn every_mismatch_is_named_with_both_values() {
        let mut a = pins("aaaa", "cpu");
        a.archive_sha256 = Some("1111".into());
        a.members.insert("vv".into(), "m1".into());
        a.seeds.insert("selection".into(), 0);
        let mut b = a.clone();
        b.archive_sha256 = Some("2222".into());
        b.members.insert("vv".into(), "m2".into());
        b.seeds.clear();
        let m = a.compare(&b, &|_| true);
        let named: Vec<(&str, &str, &str)> = m
            .iter()
            .map(|m| (m.pin.as_str(), m.expected.as_str(), m.found.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("archive_sha256", "1111", "2222"),
                ("members.vv", "m1", "m2"),
                ("seeds.selection", "0", "(none)")
            ]
        );
        let text = ClaimsError::Pins {
            what: "x".into(),
            mismatches: m,
        }
        .to_string();
        assert!(text.contains("1111") && text.contains("2222") && text.contains("members.vv"));
        // Only the kept keys are compared.
        assert!(a.compare(&b, &|k| k.starts_with("model")).is_empty());
    }

    #[test]
    fn the_paper_profile_pins_the_archive_of_the_data_fixture() {
        let file: PinsFile = serde_saphyr::from_str(crate::claims::fixtures::PINS_YAML).unwrap();
        assert_eq!(
            file.profile("paper").unwrap().archive_sha256.as_deref(),
            Some(crate::data::manifest::opensarurban_pin().sha256.as_str())
        );
    }

    #[test]
    fn marks_follow_the_archive_pin_and_the_budget() {
        let profile = Pins {
            archive_sha256: Some("real".into()),
            ..Pins::default()
        };
        let mut run = Pins {
            archive_sha256: Some("real".into()),
            smoke: Some(false),
            ..Pins::default()
        };
        assert!(run.marks(&profile).is_empty());
        run.smoke = Some(true);
        run.archive_sha256 = Some("mock".into());
        let m: Vec<&str> = run.marks(&profile).iter().map(|m| m.0).collect();
        assert_eq!(m, [SMOKE_MARK, UNPINNED_MARK]);
        run.archive_sha256 = None;
        run.smoke = None;
        let m = run.marks(&profile);
        assert_eq!(m.len(), 1);
        assert!(m[0].1.contains("directory"), "{m:?}");
        // A profile without an archive pin (quick) marks nothing.
        assert!(run.marks(&Pins::default()).is_empty());
    }
}
