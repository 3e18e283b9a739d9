//! Recomputation of a reproduce run's results from its weights and data, so that a verdict
//! does not rest on the file that holds the number (`sarxai claims check --recompute K`).
//!
//! For every polarization of `results.json`:
//! 1. **Table 1 means** from `score-<pol>/per_image.csv` over the images of
//!    `score-<pol>/images.csv`, against `results.json`'s `table1` (relative tolerance
//!    [`MEAN_TOLERANCE`]: the same arithmetic on the same values), and the verdicts'
//!    evidence: every per-image value and class of `results.json`'s `evidence` against
//!    `per_image.csv`, the test counts against the recomputed predictions (exact), so the
//!    intervals and probabilities the verdicts rest on, recomputed with the recorded seed,
//!    are the recorded ones;
//! 2. **test accuracy** from the weights (`<pol>/model.safetensors`) and the run's data
//!    (`<pol>/config.yaml`), against `results.json`'s `accuracy` ([`ACCURACY_TOLERANCE`]);
//! 3. **K seeded (image, method) pairs** drawn from all the rows of `per_image.csv`: the
//!    attribution, both Max-Sensitivities (relative tolerance [`SENSITIVITY_TOLERANCE`]:
//!    libtorch may reorder sums with another thread count) and the XAI entropy (exact
//!    bytes) recomputed with the settings recorded in `score.json`, against the row.
//!
//! Each recomputed quantity is one [`RecomputeRow`]; a difference beyond its tolerance is a
//! FAIL that names the quantity and both values.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::attr::Method;
use crate::claims::pins::members_digest;
use crate::claims::{Pins, Results};
use crate::score::records::{self, ImageRecord};
use crate::score::scoring::{files, rescore_pair, ScoreConfig, ScoreData};
use crate::score::selection::{select, selection_digest, Selection};
use crate::score::table::{Table1, TableMeta};
use crate::score::Metric;

/// Relative tolerance of a Table 1 mean recomputed from `per_image.csv`.
pub const MEAN_TOLERANCE: f64 = 1e-12;
/// Absolute tolerance of a recomputed test accuracy (the same predictions: exact).
pub const ACCURACY_TOLERANCE: f64 = 0.0;
/// Relative tolerance of a recomputed Max-Sensitivity.
pub const SENSITIVITY_TOLERANCE: f64 = 1e-6;

/// One recomputed quantity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecomputeRow {
    /// What was recomputed, e.g. `vh image 12 saliency max_sensitivity`.
    pub what: String,
    /// The value the run recorded.
    pub recorded: f64,
    /// The value recomputed from the run's weights and data.
    pub recomputed: f64,
    /// Relative (means, Max-Sensitivity) or absolute (accuracy, entropy) tolerance.
    pub tolerance: f64,
    /// The difference is within the tolerance.
    pub ok: bool,
}

/// How much was recomputed, and every row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recomputation {
    /// Every recomputed quantity.
    pub rows: Vec<RecomputeRow>,
    /// (pol, image, method) pairs recomputed, of those available.
    pub pairs: usize,
    /// The (pol, image, method) pairs the run's records hold.
    pub pairs_available: usize,
}

impl Recomputation {
    /// The rows beyond their tolerance.
    pub fn failures(&self) -> impl Iterator<Item = &RecomputeRow> {
        self.rows.iter().filter(|r| !r.ok)
    }
}

fn row(
    what: String,
    recorded: f64,
    recomputed: f64,
    tolerance: f64,
    relative: bool,
) -> RecomputeRow {
    let diff = (recorded - recomputed).abs();
    let scale = if relative {
        recorded.abs().max(f64::MIN_POSITIVE)
    } else {
        1.0
    };
    let both_undefined = recorded.is_nan() && recomputed.is_nan();
    RecomputeRow {
        ok: both_undefined || diff / scale <= tolerance,
        what,
        recorded,
        recomputed,
        tolerance,
    }
}

/// The test-split indices listed in `images.csv` (its second column).
fn chosen_images(path: &Path) -> Result<BTreeSet<usize>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(1)
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("{}: unreadable row {l:?}", path.display()))
        })
        .collect()
}

/// Step 1: Table 1 means of `records` against `results.json`.
fn table_rows(
    pol: &str,
    records: &[ImageRecord],
    metrics: &[Metric],
    results: &Results,
) -> Vec<RecomputeRow> {
    let meta = TableMeta {
        pol: Some(pol.into()),
        paper_pol: None,
        model_hash: String::new(),
        images: 0,
        target: String::new(),
        notes: Vec::new(),
    };
    // The methods the run scored (all eight unless `reproduce --methods` chose fewer).
    let methods: Vec<Method> = Method::ALL
        .into_iter()
        .filter(|m| records.iter().any(|r| r.method == *m))
        .collect();
    let table = Table1::from_records(records, &methods, metrics, meta, None);
    let recorded = results.table1.get(pol);
    let mut rows = Vec::new();
    for (m, means) in table.means() {
        for (k, v) in means {
            let r = recorded
                .and_then(|t| t.get(&m))
                .and_then(|t| t.get(&k))
                .copied();
            rows.push(row(
                format!("table1.{pol}.{}.{k}", m.name()),
                r.unwrap_or(f64::NAN),
                v,
                MEAN_TOLERANCE,
                true,
            ));
        }
    }
    rows
}

/// Step 1 (evidence): every per-image value and class the verdicts were decided on
/// (`results.json` `evidence`) against `per_image.csv` (exact: the same values), so that
/// the intervals and probabilities recomputed from `per_image.csv` with the recorded seed
/// are the recorded ones. A run without recorded evidence has nothing to compare.
fn evidence_rows(
    pol: &str,
    records: &[ImageRecord],
    chosen: &BTreeSet<usize>,
    results: &Results,
) -> Vec<RecomputeRow> {
    let Some(recorded) = results.evidence.get(pol) else {
        return Vec::new();
    };
    let chosen: Vec<usize> = chosen.iter().copied().collect();
    let metrics: Vec<Metric> = recorded
        .values
        .values()
        .flat_map(|m| m.keys())
        .filter_map(|k| k.parse().ok())
        .collect::<BTreeSet<Metric>>()
        .into_iter()
        .collect();
    let derived = records::pol_evidence(records, &chosen, &metrics);
    let mut rows = vec![row(
        format!("evidence.{pol} images and classes"),
        0.0,
        f64::from(u8::from(
            derived.images != recorded.images || derived.strata != recorded.strata,
        )),
        0.0,
        false,
    )];
    for (m, by_metric) in &derived.values {
        for (k, values) in by_metric {
            let theirs = recorded.values.get(m).and_then(|r| r.get(k));
            for (i, v) in values.iter().enumerate() {
                let r = theirs
                    .and_then(|t| t.get(i).copied())
                    .unwrap_or(Some(f64::INFINITY));
                rows.push(row(
                    format!("evidence.{pol}.{}.{k} image {}", m.name(), chosen[i]),
                    r.unwrap_or(f64::NAN),
                    v.unwrap_or(f64::NAN),
                    0.0,
                    false,
                ));
            }
        }
    }
    rows
}

/// What claims check loads once per polarization of a run: its training configuration,
/// its data (re-read from the data directory through the same loader as training) and its
/// model. The data pins ([`PolContext::derive_pins`]) and the recomputation both use it.
pub struct PolContext {
    /// The polarization's training configuration (`RUN/<pol>/config.yaml`).
    pub cfg: crate::train::TrainConfig,
    /// Its data, re-read through the training loader.
    pub data: crate::train::data::PreparedData,
    /// Its trained weights.
    pub model: crate::model::ResNet,
}

impl PolContext {
    /// Loads `RUN/<pol>`'s configuration, data and weights.
    pub fn load(run_dir: &Path, pol: &str, device: tch::Device) -> Result<PolContext> {
        let train_dir = crate::layout::train_dir(run_dir, pol);
        let cfg = crate::train::resume_config(&train_dir)?;
        let data = crate::train::prepare_data(&cfg)
            .with_context(|| format!("loading the data of {}", train_dir.display()))?;
        let model =
            crate::model::load(&train_dir.join(crate::train::files::WEIGHTS), None, device)?;
        Ok(PolContext { cfg, data, model })
    }

    /// Re-derives the data pins of `pol` into `pins`: the chosen members' digest (from the
    /// files' content), the split digests (from the re-loaded split) and the Table 1
    /// image-selection digest (the rule recorded in `score-<pol>/score.json` applied to the
    /// re-loaded test split and model).
    pub fn derive_pins(&self, run_dir: &Path, pol: &str, pins: &mut Pins) -> Result<()> {
        let d = &self.data.dataset;
        let files = [&d.train, &d.val, &d.test]
            .into_iter()
            .flat_map(|s| s.files.iter().map(|f| f.as_path()));
        pins.members
            .insert(pol.to_string(), members_digest(&d.root, files)?);
        let u = &self.data.digests;
        pins.splits.insert(
            pol.to_string(),
            [("train", &u.train), ("val", &u.val), ("test", &u.test)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        );
        let score_json = crate::layout::score_dir(run_dir, pol).join(files::SCORE_JSON);
        if !score_json.is_file() {
            return Ok(());
        }
        let recorded: serde_json::Value = serde_json::from_slice(
            &std::fs::read(&score_json)
                .with_context(|| format!("reading {}", score_json.display()))?,
        )
        .with_context(|| format!("parsing {}", score_json.display()))?;
        let rule: Selection = serde_json::from_value(recorded["selection"].clone())
            .with_context(|| format!("{}: unreadable selection", score_json.display()))?;
        let test = &d.test;
        let correct: Vec<bool> = match rule {
            Selection::Stratified {
                correct_only: true, ..
            } => {
                let (preds, _) =
                    crate::train::eval::predict(&self.model, test, self.cfg.eval_batch_size)?;
                preds
                    .iter()
                    .zip(&test.labels)
                    .map(|(p, l)| p == l)
                    .collect()
            }
            _ => Vec::new(),
        };
        let chosen = select(&rule, test, &d.classes, |i| correct.get(i) == Some(&true))
            .with_context(|| format!("re-deriving the selection of {pol}"))?;
        pins.selection
            .insert(pol.to_string(), selection_digest(&chosen, test));
        Ok(())
    }
}

/// Recomputes `k` seeded (image, method) pairs, the Table 1 means and the accuracies of
/// the run in `run_dir` (see the module documentation), with each polarization's data and
/// model from `contexts`.
pub fn recompute(
    run_dir: &Path,
    results: &Results,
    k: usize,
    seed: u64,
    contexts: &BTreeMap<String, PolContext>,
) -> Result<Recomputation> {
    let mut out = Recomputation::default();
    let mut candidates: Vec<(String, ImageRecord)> = Vec::new();
    for pol in results.table1.keys() {
        let score_dir = crate::layout::score_dir(run_dir, pol);
        let per_image = records::read(&score_dir.join(files::PER_IMAGE))?;
        let chosen = chosen_images(&score_dir.join(files::IMAGES))?;
        let recs: Vec<ImageRecord> = per_image
            .records
            .into_iter()
            .filter(|r| chosen.contains(&r.image))
            .collect();
        out.rows
            .extend(table_rows(pol, &recs, &per_image.metrics, results));
        out.rows.extend(evidence_rows(pol, &recs, &chosen, results));
        candidates.extend(recs.into_iter().map(|r| (pol.clone(), r)));
    }
    out.pairs_available = candidates.len();
    candidates.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    candidates.truncate(k);
    let mut by_pol: BTreeMap<String, Vec<ImageRecord>> = BTreeMap::new();
    for (pol, r) in candidates {
        by_pol.entry(pol).or_default().push(r);
    }
    for pol in results.accuracy.keys() {
        let picked = by_pol.remove(pol).unwrap_or_default();
        let ctx = contexts
            .get(pol)
            .with_context(|| format!("no data and model loaded for {pol}"))?;
        out.pairs += picked.len();
        out.rows
            .extend(recompute_pol(run_dir, pol, results, &picked, ctx)?);
    }
    Ok(out)
}

/// Steps 2 and 3 for one polarization.
fn recompute_pol(
    run_dir: &Path,
    pol: &str,
    results: &Results,
    picked: &[ImageRecord],
    ctx: &PolContext,
) -> Result<Vec<RecomputeRow>> {
    let (cfg, data, model) = (&ctx.cfg, &ctx.data, &ctx.model);
    let test = &data.dataset.test;
    let (preds, _) = crate::train::eval::predict(model, test, cfg.eval_batch_size)?;
    let correct = preds
        .iter()
        .zip(&test.labels)
        .filter(|(p, l)| p == l)
        .count();
    let accuracy = correct as f64 / test.len().max(1) as f64;
    let recorded = results.accuracy.get(pol).copied().unwrap_or(f64::NAN);
    let mut rows = vec![row(
        format!("accuracy.{pol}"),
        recorded,
        accuracy,
        ACCURACY_TOLERANCE,
        false,
    )];
    if let Some(e) = results.evidence.get(pol) {
        rows.push(row(
            format!("evidence.{pol} correct test predictions"),
            e.test_correct as f64,
            correct as f64,
            0.0,
            false,
        ));
        rows.push(row(
            format!("evidence.{pol} test images"),
            e.test_n as f64,
            test.len() as f64,
            0.0,
            false,
        ));
    }
    if picked.is_empty() {
        return Ok(rows);
    }
    let score_json = crate::layout::score_dir(run_dir, pol).join(files::SCORE_JSON);
    let recorded_json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&score_json).with_context(|| format!("reading {}", score_json.display()))?,
    )
    .with_context(|| format!("parsing {}", score_json.display()))?;
    let scfg = ScoreConfig::from_recorded(&recorded_json["settings"])?;
    let sdata = ScoreData {
        split: test,
        classes: &data.dataset.classes,
        pol: data.dataset.pol,
        root: Some(&data.dataset.root),
    };
    for r in picked {
        let values = rescore_pair(&scfg, model, &sdata, r.image, r.method)
            .with_context(|| format!("recomputing {pol} image {} {}", r.image, r.method))?;
        for (k, v) in values {
            let Some(&old) = r.values.get(&k) else {
                continue;
            };
            let what = format!("{pol} image {} {} {}", r.image, r.method.name(), k.key());
            rows.push(match k {
                Metric::EntropyKb => row(what, old, v, 0.0, false),
                _ => row(what, old, v, SENSITIVITY_TOLERANCE, true),
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_apply_their_tolerance_and_accept_two_undefined_values() {
        assert!(row("a".into(), 1.0, 1.0 + 1e-9, 1e-6, true).ok);
        assert!(!row("a".into(), 1.0, 1.1, 1e-6, true).ok);
        assert!(row("e".into(), 28.663, 28.663, 0.0, false).ok);
        assert!(!row("e".into(), 28.663, 28.664, 0.0, false).ok);
        assert!(row("u".into(), f64::NAN, f64::NAN, 0.0, false).ok);
        assert!(!row("u".into(), f64::NAN, 1.0, 0.0, false).ok);
    }
}
