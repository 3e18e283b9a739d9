//! Measuring a run directory's pins (the verification side: the claims are data and
//! their decision, `crate::claims::Pins`): what each training run (`RUN/<key>/run.json`),
//! scoring run (`RUN/score-<key>/score.json`) and archive record recorded, with the model
//! hashes recomputed from the weights, the data manifest from the data folder and the
//! archive digest from the zip when asked ([`Pins::measure_with_notes`]), and the digest
//! of a channel's chosen members ([`members_digest`]).

use std::path::Path;

use crate::claims::{ClaimsError, Pins};
use crate::train::manifest::RunManifest;

/// How many times this process has measured a run's pins ([`Pins::measure_with_notes`]):
/// what tests/reproduce_walk.rs holds `reproduce` to (once).
static MEASURED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The number of pin measurements of run directories in this process so far.
pub fn pins_measured() -> usize {
    MEASURED.load(std::sync::atomic::Ordering::Relaxed)
}

/// SHA-256 over the chosen members' content: one `<path relative to root>\t<SHA-256 of the
/// file>` line per file, sorted, hashed. Two runs with equal digests read byte-identical
/// files under the same names.
pub fn members_digest<'a>(
    root: &Path,
    files: impl IntoIterator<Item = &'a Path>,
) -> Result<String, ClaimsError> {
    let mut lines: Vec<String> = files
        .into_iter()
        .map(|f| {
            let (hash, _) = crate::io::sha256_file(f).map_err(|e| ClaimsError::file(f, e))?;
            let rel = f.strip_prefix(root).unwrap_or(f);
            Ok(format!("{}\t{hash}\n", rel.display()))
        })
        .collect::<Result<_, ClaimsError>>()?;
    lines.sort();
    Ok(crate::io::sha256_hex(lines.concat().as_bytes()))
}

/// Inserts `value` under `key` unless another polarization recorded a different one.
fn agree(
    slot: &mut Option<String>,
    key: &str,
    value: String,
    pol: &str,
    path: &Path,
) -> Result<(), ClaimsError> {
    match slot {
        Some(p) if *p != value => Err(ClaimsError::PinMismatch {
            pin: key.into(),
            expected: p.clone(),
            found: value,
            hint: format!(
                "the {pol} run ({}) differs from the first polarization",
                path.display()
            ),
        }),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

impl Pins {
    /// The pins recorded in the training runs of a reproduce directory
    /// (`RUN/<pol>/run.json`), its scoring runs (`RUN/score-<pol>/score.json`) and its
    /// archive record (`RUN/archive.json`), with the model hashes recomputed from the
    /// weights files, the data manifest from the data directory and the archive digest from
    /// the zip when `rehash` is set.
    pub fn measure(run_dir: &Path, pols: &[&str], rehash: bool) -> Result<Pins, ClaimsError> {
        Ok(Pins::measure_with_notes(run_dir, pols, rehash)?.0)
    }

    /// [`Pins::measure`], with notes on what could not be re-derived (an archive no longer
    /// where the run read it).
    pub fn measure_with_notes(
        run_dir: &Path,
        pols: &[&str],
        rehash: bool,
    ) -> Result<(Pins, Vec<String>), ClaimsError> {
        MEASURED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut pins = Pins::default();
        for pol in pols {
            pins.measure_training(run_dir, pol, rehash)?;
            pins.measure_scoring(run_dir, pol)?;
        }
        let notes = pins.measure_archive(run_dir, rehash)?;
        Ok((pins, notes))
    }

    /// The pins of `RUN/<pol>/run.json`.
    fn measure_training(
        &mut self,
        run_dir: &Path,
        pol: &str,
        rehash: bool,
    ) -> Result<(), ClaimsError> {
        let dir = crate::layout::train_dir(run_dir, pol);
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
        self.model_hashes.insert(pol.to_string(), hash);
        let platform = format!(
            "{}; {}",
            m.device,
            m.versions.cpu.as_deref().unwrap_or("unknown cpu")
        );
        agree(
            &mut self.model_platform,
            "model_platform",
            platform,
            pol,
            &path,
        )?;
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
        agree(
            &mut self.data_manifest,
            "data_manifest",
            data_digest,
            pol,
            &path,
        )?;
        let u = &m.data.used;
        self.splits.insert(pol.to_string(), u.by_split());
        // A replicate model's seed is its own pin (`seeds.train-vh-r1`); `seeds.train` is
        // the base models' seed, which the profile pins.
        let train_seed = if crate::layout::is_replicate(pol) {
            format!("train-{pol}")
        } else {
            "train".into()
        };
        self.seeds.insert(train_seed, m.seeds.train);
        self.seeds.insert("split".into(), m.seeds.split);
        self.versions
            .insert("sarxai".into(), m.versions.sarxai.clone());
        self.versions.insert("tch".into(), m.versions.tch.clone());
        self.versions
            .insert("libtorch".into(), m.versions.libtorch.clone());
        self.device.insert(pol.to_string(), m.device.clone());
        self.numerics.insert(
            pol.to_string(),
            m.versions
                .numerics
                .as_ref()
                .map_or_else(|| "not recorded".to_string(), |n| n.describe()),
        );
        let smoke = crate::claims::budget::ProfileBudget::is_smoke(&m.config);
        self.smoke = Some(self.smoke.unwrap_or(false) || smoke);
        Ok(())
    }

    /// The selection pins of `RUN/score-<pol>/score.json`, when the run scored `pol`.
    fn measure_scoring(&mut self, run_dir: &Path, pol: &str) -> Result<(), ClaimsError> {
        let path = crate::layout::score_dir(run_dir, pol).join(crate::layout::score::SCORE_JSON);
        if !path.is_file() {
            return Ok(());
        }
        let bytes = std::fs::read(&path).map_err(|e| ClaimsError::file(&path, e))?;
        let j: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ClaimsError::file(&path, e))?;
        let digest = j["selection_digest"]
            .as_str()
            .ok_or_else(|| ClaimsError::file(&path, "no selection_digest"))?;
        self.selection.insert(pol.to_string(), digest.to_string());
        if let Some(seed) = j["selection"]["seed"].as_u64() {
            self.seeds.insert("selection".into(), seed);
        }
        Ok(())
    }

    /// The archive pins of `RUN/archive.json` (none when the data were a directory), the
    /// digest re-hashed from the zip when `rehash` is set and the zip is still there.
    fn measure_archive(
        &mut self,
        run_dir: &Path,
        rehash: bool,
    ) -> Result<Vec<String>, ClaimsError> {
        let path = run_dir.join(crate::data::archive::ARCHIVE_RECORD_FILE_NAME);
        if !path.is_file() {
            return Ok(Vec::new());
        }
        let bytes = std::fs::read(&path).map_err(|e| ClaimsError::file(&path, e))?;
        let rec: crate::data::archive::ArchiveRecord =
            serde_json::from_slice(&bytes).map_err(|e| ClaimsError::file(&path, e))?;
        self.archive_status = Some(rec.status.name().to_string());
        let mut notes = Vec::new();
        let digest = if !rehash {
            rec.sha256
        } else if rec.archive.is_file() {
            let pb = indicatif::ProgressBar::hidden();
            crate::data::archive::sha256_file(&rec.archive, &pb)
                .map_err(|e| ClaimsError::file(&rec.archive, e))?
                .0
        } else {
            notes.push(format!(
                "archive_sha256 not re-derived: {} is no longer there (the extracted data are still checked against their manifest)",
                rec.archive.display()
            ));
            rec.sha256
        };
        self.archive_sha256 = Some(digest);
        Ok(notes)
    }
}
