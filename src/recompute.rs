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
use crate::claims::{PolEvidence, ReplicateEvidence, Results, UnitRecord};
use crate::score::records::{self, ImageRecord};
use crate::score::scoring::{files, rescore_pair, ScoreConfig, ScoreData};
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

/// Step 1: Table 1 means of one model's `records` (`unit`) against what `results.json`
/// recorded of it.
fn table_rows(
    unit: &str,
    records: &[ImageRecord],
    metrics: &[Metric],
    recorded: &UnitRecord,
) -> Vec<RecomputeRow> {
    let meta = TableMeta {
        pol: Some(unit.into()),
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
    let mut rows = Vec::new();
    for (m, means) in table.means() {
        for (k, v) in means {
            let r = recorded
                .table1
                .and_then(|t| t.get(&m))
                .and_then(|t| t.get(&k))
                .copied();
            rows.push(row(
                format!("table1.{unit}.{}.{k}", m.name()),
                r.unwrap_or(f64::NAN),
                v,
                MEAN_TOLERANCE,
                true,
            ));
        }
    }
    rows
}

/// Step 1 (pooled): a channel with several models: its Table 1 means against the means
/// pooled over the models' recomputed per-image values, and its accuracy against the
/// pooled recomputed counts (`pooled`: the channel's evidence rebuilt from the files).
fn pooled_rows(pol: &str, pooled: &PolEvidence, results: &Results) -> Vec<RecomputeRow> {
    let mut rows = Vec::new();
    for (m, means) in pooled.pooled_means() {
        for (k, v) in means {
            let r = results.lookup(&format!("table1.{pol}.{}.{k}", m.name()));
            rows.push(row(
                format!("table1.{pol}.{}.{k} (pooled over models)", m.name()),
                r.unwrap_or(f64::NAN),
                v,
                MEAN_TOLERANCE,
                true,
            ));
        }
    }
    rows
}

/// Step 1 (evidence): every per-image value and class a verdict was decided on
/// (`results.json` `evidence` of model `unit`) against `per_image.csv` (exact: the same
/// values), so that the intervals and probabilities recomputed from `per_image.csv` with
/// the recorded seed are the recorded ones. Returns the rows and the values derived from
/// the files. A run without recorded evidence has nothing to compare.
fn evidence_rows(
    unit: &str,
    records: &[ImageRecord],
    chosen: &BTreeSet<usize>,
    recorded: &UnitRecord,
) -> (Vec<RecomputeRow>, Option<PolEvidence>) {
    let (Some((images, strata)), Some(values)) = (recorded.images, recorded.values) else {
        return (Vec::new(), None);
    };
    let chosen: Vec<usize> = chosen.iter().copied().collect();
    let metrics: Vec<Metric> = values
        .values()
        .flat_map(|m| m.keys())
        .filter_map(|k| k.parse().ok())
        .collect::<BTreeSet<Metric>>()
        .into_iter()
        .collect();
    let derived = records::pol_evidence(records, &chosen, &metrics);
    let mut rows = vec![row(
        format!("evidence.{unit} images and classes"),
        0.0,
        f64::from(u8::from(
            derived.images != images || derived.strata != strata,
        )),
        0.0,
        false,
    )];
    for (m, by_metric) in &derived.values {
        for (k, vals) in by_metric {
            let theirs = values.get(m).and_then(|r| r.get(k));
            for (i, v) in vals.iter().enumerate() {
                let r = theirs
                    .and_then(|t| t.get(i).copied())
                    .unwrap_or(Some(f64::INFINITY));
                rows.push(row(
                    format!("evidence.{unit}.{}.{k} image {}", m.name(), chosen[i]),
                    r.unwrap_or(f64::NAN),
                    v.unwrap_or(f64::NAN),
                    0.0,
                    false,
                ));
            }
        }
    }
    (rows, Some(derived))
}

/// What claims check loads once per polarization of a run: its training configuration,
/// its data (re-read from the data directory through the same loader as training) and its
/// model. The data pins (`verify`'s `derive_pins`) and the recomputation both use it.
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
}

/// Recomputes `k` seeded (image, method) pairs, the Table 1 means and the accuracies of
/// the run in `run_dir` (see the module documentation), with each model's data and model
/// from `contexts` (by unit key: [`Results::units`]).
pub fn recompute(
    run_dir: &Path,
    results: &Results,
    k: usize,
    seed: u64,
    contexts: &BTreeMap<String, PolContext>,
) -> Result<Recomputation> {
    let mut out = Recomputation::default();
    let mut candidates: Vec<(String, ImageRecord)> = Vec::new();
    let units: BTreeSet<String> = results.units().into_iter().collect();
    // Each channel's evidence rebuilt from its models' files, to check the pooled means.
    let mut pooled: BTreeMap<String, PolEvidence> = BTreeMap::new();
    for unit in &units {
        let recorded = results.unit(unit);
        let score_dir = crate::layout::score_dir(run_dir, unit);
        let per_image = records::read(&score_dir.join(files::PER_IMAGE))?;
        let chosen = chosen_images(&score_dir.join(files::IMAGES))?;
        let recs: Vec<ImageRecord> = per_image
            .records
            .into_iter()
            .filter(|r| chosen.contains(&r.image))
            .collect();
        out.rows
            .extend(table_rows(unit, &recs, &per_image.metrics, &recorded));
        let (rows, derived) = evidence_rows(unit, &recs, &chosen, &recorded);
        out.rows.extend(rows);
        if let (Some(m), Some(d)) = (results.models.get(unit), derived) {
            add_model(pooled.entry(m.channel.clone()).or_default(), unit, d);
        }
        candidates.extend(recs.into_iter().map(|r| (unit.clone(), r)));
    }
    for (pol, e) in &pooled {
        out.rows.extend(pooled_rows(pol, e, results));
    }
    out.pairs_available = candidates.len();
    candidates.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    candidates.truncate(k);
    let mut by_unit: BTreeMap<String, Vec<ImageRecord>> = BTreeMap::new();
    for (unit, r) in candidates {
        by_unit.entry(unit).or_default().push(r);
    }
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for unit in &units {
        let picked = by_unit.remove(unit).unwrap_or_default();
        let ctx = contexts
            .get(unit)
            .with_context(|| format!("no data and model loaded for {unit}"))?;
        out.pairs += picked.len();
        let (rows, correct, n) = recompute_pol(run_dir, unit, results, &picked, ctx)?;
        out.rows.extend(rows);
        if let Some(m) = results.models.get(unit) {
            let c = counts.entry(m.channel.clone()).or_default();
            (c.0, c.1) = (c.0 + correct, c.1 + n);
        }
    }
    for (pol, (correct, n)) in counts {
        out.rows.push(row(
            format!("accuracy.{pol} (pooled over models)"),
            results.accuracy.get(&pol).copied().unwrap_or(f64::NAN),
            correct as f64 / n.max(1) as f64,
            ACCURACY_TOLERANCE,
            false,
        ));
    }
    Ok(out)
}

/// Adds one model's evidence rebuilt from its files to its channel's: the base model's
/// fields, or a replicate's values.
fn add_model(channel: &mut PolEvidence, unit: &str, model: PolEvidence) {
    if crate::layout::is_replicate(unit) {
        channel.replicates.push(ReplicateEvidence {
            key: unit.to_string(),
            values: model.values,
            ..ReplicateEvidence::default()
        });
    } else {
        let replicates = std::mem::take(&mut channel.replicates);
        *channel = PolEvidence {
            replicates,
            ..model
        };
    }
}

/// Steps 2 and 3 for one model (`unit`); returns its rows and its recomputed correct
/// predictions and test images.
fn recompute_pol(
    run_dir: &Path,
    pol: &str,
    results: &Results,
    picked: &[ImageRecord],
    ctx: &PolContext,
) -> Result<(Vec<RecomputeRow>, u64, u64)> {
    let (cfg, data, model) = (&ctx.cfg, &ctx.data, &ctx.model);
    let test = &data.dataset.test;
    let (preds, _) = crate::train::eval::predict(model, test, cfg.eval_batch_size)?;
    let correct = preds
        .iter()
        .zip(&test.labels)
        .filter(|(p, l)| p == l)
        .count();
    let accuracy = correct as f64 / test.len().max(1) as f64;
    let recorded = results.unit(pol);
    let mut rows = vec![row(
        format!("accuracy.{pol}"),
        recorded.accuracy.unwrap_or(f64::NAN),
        accuracy,
        ACCURACY_TOLERANCE,
        false,
    )];
    if let Some((test_correct, test_n)) = recorded.test_counts {
        rows.push(row(
            format!("evidence.{pol} correct test predictions"),
            test_correct as f64,
            correct as f64,
            0.0,
            false,
        ));
        rows.push(row(
            format!("evidence.{pol} test images"),
            test_n as f64,
            test.len() as f64,
            0.0,
            false,
        ));
    }
    let counts = (correct as u64, test.len() as u64);
    if picked.is_empty() {
        return Ok((rows, counts.0, counts.1));
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
    Ok((rows, counts.0, counts.1))
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
