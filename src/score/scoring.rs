//! Scoring: every method on each explained test image, every metric per image x method,
//! appended to `per_image.csv` as each image completes; then Table 1, Figure 1 and the
//! encoder-settings record.
//!
//! # Semantics
//!
//! * Images: chosen by [`Selection`] (default: one test image of every class, seeded),
//!   listed in `images.csv` and pinned by their digest in `score.json` and Table 1's notes;
//!   a selection that cannot be made (a class without enough images, N larger than the
//!   split) is an error before anything is written.
//! * Explained class: the **true label** of each image by default ([`TargetChoice`]); the
//!   paper's Captum code explained a class of its choosing, we record ours in every row
//!   (`target`) and in Table 1.
//! * Max-Sensitivity: Captum's convention ([`SensitivityConfig::captum`]); the noise of image
//!   `i` is seeded with [`image_seed`]`(seed, i)`, so an image's score does not depend on
//!   which other images are scored or in which session. `max_sensitivity_captum09` is the
//!   value Captum 0.9 reports when called the paper's way (Grad-CAM: `sqrt(samples)` times
//!   the defined value,
//!   [`captum09_reported`](crate::metrics::sensitivity::captum09_reported)); it costs
//!   nothing extra.
//! * XAI entropy and Shannon bits: [`crate::metrics::entropy`] with its pinned settings
//!   (default: the byte size of Captum's heat-map figure PNG, Grad-CAM upsampled
//!   bilinearly); `entropy_settings.csv` records how the grey-png measure's size moves with
//!   the encoder's settings.
//! * Further metrics (see [`Metric`]): the attribution is first brought to the input
//!   resolution (Grad-CAM's layer4 map nearest-neighbour upsampled); for infidelity it is
//!   also repeated over the input channels. Localisation needs the data's ground-truth masks
//!   (synthetic data) and is left out without them. The randomisation test re-initialises
//!   `fc` (MPRT fc) or every stage (MPRT all) once, with seed `randomisation_seed`, and
//!   correlates |attribution| before and after (Spearman).
//!
//! # Stages
//!
//! [`score`] is [`plan`] (checks, selection, settings; nothing written), [`score_images`]
//! of every position of the selection (rows appended image by image; Figure 1 and
//! `entropy_settings.csv` by whoever scores the figure image) and [`finish`] (`images.csv`,
//! Table 1, `score.json` from `per_image.csv`). [`score_shard`] runs the first two for the
//! positions of one shard and writes a manifest instead of the third; `sarxai merge`
//! ([`super::merge()`]) checks the shards and runs [`finish`] on their rows, so a merged run
//! writes the same bytes as one process. `score.json` holds no wall-clock time (the seconds
//! are in `timings.csv`).
//!
//! # Resumption
//!
//! `per_image.csv` rows carry the model hash. A run directory that already holds one is
//! resumed: its rows must come from the same model hash ([`ScoreError::OtherModel`]), the
//! same metric columns, the same test split members and, via `score.json`, the same
//! settings; a row torn by an interruption is cut off; image x method pairs already present
//! are skipped. The selection's count may grow between sessions (its choice is a prefix of
//! the same seeded order); Table 1 covers the images of the current selection.
//! A resumed run reproduces the uninterrupted one bit for bit on the same device with the
//! same thread count; with several CPU threads libtorch may reorder sums and move the last
//! bits (about 1e-8 relative was seen with 2 threads on a loaded machine): `--threads 1`
//! where exact equality matters (the tests do).
//!
//! # Files
//!
//! This file holds the settings, [`score`], [`score_shard`] and [`finish`] (stage 3); the
//! stages before it have their own files: `scoring/planning.rs` ([`plan`], stage 1),
//! `scoring/per_image.rs` ([`score_images`], stage 2: each image x method pair and its
//! metrics), `scoring/figure_image.rs` (Figure 1 and `entropy_settings.csv` of the figure
//! image) and `scoring/resume.rs` (what a directory already holds, checked against the plan).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::metric::{Metric, MetricSettings};
use super::records::{self, ImageRecord};
use super::selection::Selection;
use super::shard::{Shard, ShardError, FORMAT, SHARD_JSON};
use super::table::{PaperTable, Table1};
use super::ScoreError;
use crate::attr::{MemoryBudget, Method};
use crate::data::{Pol, SplitData};
use crate::metrics::entropy::EntropyConfig;
use crate::metrics::faithfulness::FaithfulnessConfig;
use crate::metrics::infidelity::{GaussianNoise, InfidelityConfig};
use crate::metrics::sensitivity::SensitivityConfig;
use crate::model::ResNet;

/// `shard.json`: what a shard is and what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardManifest {
    /// [`FORMAT`].
    pub format: String,
    /// `running` or `complete`.
    pub status: String,
    /// This shard.
    pub shard: Shard,
    /// The whole run's plan (identical in every shard of it).
    pub plan: Plan,
    /// Versions, device and numerics of the process that scored it.
    pub provenance: Provenance,
    /// Positions in the selection this shard covers (`p mod n = i`).
    pub positions: Vec<usize>,
    /// Their test split indices.
    pub images: Vec<usize>,
    /// Their members (sample ids).
    pub members: Vec<String>,
    /// (image, method) pairs read back from an earlier, interrupted run.
    pub resumed_pairs: usize,
    /// (image, method) pairs computed by this run.
    pub computed_pairs: usize,
    /// Figure 1's encoder sweep summary, on the shard of the figure image.
    pub entropy_settings: Option<serde_json::Value>,
}

impl ShardManifest {
    /// Writes `dir/shard.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<(), ScoreError> {
        let v = serde_json::to_value(self).expect("the manifest serialises");
        write_json(&dir.join(SHARD_JSON), &v)
    }

    /// Reads `dir/shard.json`.
    pub fn read(dir: &Path) -> Result<ShardManifest, ShardError> {
        let path = dir.join(SHARD_JSON);
        let not = |reason: String| ShardError::NotAShard {
            path: dir.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(&path).map_err(|e| not(format!("{}: {e}", path.display())))?;
        let m: ShardManifest = serde_json::from_slice(&bytes)
            .map_err(|e| not(format!("{} is unreadable: {e}", path.display())))?;
        if m.format != FORMAT {
            return Err(not(format!("format {:?}, expected {FORMAT:?}", m.format)));
        }
        Ok(m)
    }
}

mod figure_image;
mod per_image;
mod planning;
mod resume;

pub use per_image::{rescore_pair, score_images, Scored};
pub use planning::{plan, predicted_class, Plan};
pub(crate) use resume::{prepare_dir, resume_state, settings_diff, timings_header};

/// File names in a score directory ([`crate::layout::score`]).
pub use crate::layout::score as files;

/// The class each attribution explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetChoice {
    /// The image's true label (the default).
    #[default]
    TrueLabel,
    /// The model's prediction.
    Predicted,
}

impl TargetChoice {
    /// The name in records (`true_label`, `predicted`).
    pub fn key(self) -> &'static str {
        match self {
            TargetChoice::TrueLabel => "true_label",
            TargetChoice::Predicted => "predicted",
        }
    }
}

/// How [`score`] runs.
#[derive(Debug, Clone)]
pub struct ScoreConfig {
    /// Methods, in any order (Table 1 uses the paper's order).
    pub methods: Vec<Method>,
    /// Metrics (mask metrics are dropped when the data has no masks).
    pub metrics: Vec<Metric>,
    /// Which test images are explained ([`Selection`]; default one per class).
    pub selection: Selection,
    /// Master seed of the noise of Max-Sensitivity and infidelity.
    pub seed: u64,
    /// The class each attribution explains.
    pub target: TargetChoice,
    /// Max-Sensitivity settings; its `seed` is replaced by [`image_seed`] per image.
    pub sensitivity: SensitivityConfig,
    /// XAI entropy settings.
    pub entropy: EntropyConfig,
    /// Infidelity settings.
    pub infidelity: InfidelityConfig,
    /// Standard deviation of infidelity's Gaussian noise (Captum's example: 0.003).
    pub infidelity_std: f64,
    /// Deletion and insertion settings.
    pub faithfulness: FaithfulnessConfig,
    /// Seed of the re-initialised weights of the randomisation test.
    pub randomisation_seed: i64,
    /// Memory budget of batched passes.
    pub budget: MemoryBudget,
    /// Which explained image Figure 1 shows (position in the selection, `< N`).
    pub figure_image: usize,
    /// The paper's polarization to compare with (`None`: the data's).
    pub paper_pol: Option<Pol>,
    /// The paper's table (`None`: the compiled-in fixture).
    pub paper: Option<PaperTable>,
    /// Progress bar on standard error.
    pub progress: bool,
    /// The PyTorch file the weights were imported from, in one line (its SHA-256
    /// included): a note of Table 1 and `weights_source` in `score.json`. None for
    /// safetensors weights, whose model hash is the record.
    pub weights_source: Option<String>,
}

impl ScoreConfig {
    /// The settings the metrics are computed with ([`Metric::values`]).
    pub fn metric_settings(&self) -> MetricSettings {
        MetricSettings {
            sensitivity: self.sensitivity,
            entropy: self.entropy.clone(),
            infidelity: self.infidelity,
            infidelity_std: self.infidelity_std,
            faithfulness: self.faithfulness,
            budget: self.budget,
        }
    }
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            methods: Method::ALL.to_vec(),
            metrics: Metric::ALL.to_vec(),
            selection: Selection::default(),
            seed: 0,
            target: TargetChoice::TrueLabel,
            sensitivity: SensitivityConfig::captum(),
            entropy: EntropyConfig::default(),
            infidelity: InfidelityConfig::default(),
            infidelity_std: GaussianNoise::default().std,
            faithfulness: FaithfulnessConfig::default(),
            randomisation_seed: 42,
            budget: MemoryBudget::default(),
            figure_image: 0,
            paper_pol: None,
            paper: None,
            progress: true,
            weights_source: None,
        }
    }
}

/// The test split and what describes it.
#[derive(Debug, Clone, Copy)]
pub struct ScoreData<'a> {
    /// The test split (preprocessed exactly as for training).
    pub split: &'a SplitData,
    /// Class names in label order.
    pub classes: &'a [String],
    /// The polarization of the data (`None`: single-polarization data).
    pub pol: Option<Pol>,
    /// The data directory (file paths are written relative to it).
    pub root: Option<&'a Path>,
}

/// Mean seconds per image of one method in this session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MethodTiming {
    /// Images timed.
    pub images: usize,
    /// The attribution itself.
    pub attribution_s: f64,
    /// Each metric (Max-Sensitivity includes its own 1 + S attributions).
    pub metrics_s: BTreeMap<Metric, f64>,
    /// Everything for this method.
    pub total_s: f64,
}

/// What [`score`] did.
#[derive(Debug, Clone)]
pub struct ScoreSummary {
    /// The run directory.
    pub out_dir: PathBuf,
    /// The scored model's hash.
    pub model_hash: String,
    /// N: the number of explained test images.
    pub images: usize,
    /// Their indices in the test split, ascending (also in `images.csv`).
    pub chosen: Vec<usize>,
    /// [`super::selection::selection_digest`] of the chosen images.
    pub selection_digest: String,
    /// Image x method pairs found in `per_image.csv` and skipped.
    pub resumed_pairs: usize,
    /// Image x method pairs computed in this call.
    pub computed_pairs: usize,
    /// The metrics scored.
    pub metrics: Vec<Metric>,
    /// Table 1.
    pub table: Table1,
    /// Figure 1's PNG.
    pub figure: PathBuf,
    /// Every file written.
    pub files: Vec<PathBuf>,
    /// Mean seconds per image and method, this session (empty when all was resumed).
    pub timings: BTreeMap<Method, MethodTiming>,
}

/// The seed of image `i`'s noise: SplitMix64 of `seed` and `i`.
pub fn image_seed(seed: u64, image: usize) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    mix(seed ^ mix(image as u64))
}

fn pol_name(pol: Option<Pol>) -> String {
    pol.map(|p| p.to_string())
        .unwrap_or_else(|| "single".into())
}

/// Where and with what a scoring run computed: recorded in `score.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// [`crate::device::describe`] of the device (with the CPU thread count).
    pub device: String,
    /// `crate::train::manifest::Versions` as JSON.
    pub versions: serde_json::Value,
}

impl Provenance {
    /// This process on `device`.
    pub fn current(device: tch::Device) -> Provenance {
        Provenance {
            device: crate::device::describe(device),
            versions: serde_json::to_value(crate::train::manifest::Versions::current())
                .expect("versions serialise"),
        }
    }
}

/// What the finishing stage records besides the per-image rows.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishInput {
    /// Versions, device and numerics of the scoring process(es).
    pub provenance: Provenance,
    /// Image x method pairs found already scored (summed over shards).
    pub resumed_pairs: usize,
    /// Image x method pairs computed (summed over shards).
    pub computed_pairs: usize,
    /// Figure 1's encoder sweep summary (bytes per method).
    pub entropy_settings: serde_json::Value,
}

/// Scores the images chosen by `cfg.selection` of `data`'s test split with `cfg.methods`
/// into `out_dir` (resuming what is there) and writes `per_image.csv`, `timings.csv`,
/// `entropy_settings.csv`, `images.csv`, `table1.{md,csv,json}`, `figure1_<pol>.png` and
/// `score.json`: [`plan`], [`score_images`] of every image, [`finish`] (the stage
/// `sarxai merge` runs on the shards of [`score_shard`]).
pub fn score(
    cfg: &ScoreConfig,
    model: &ResNet,
    data: &ScoreData,
    out_dir: &Path,
) -> Result<ScoreSummary, ScoreError> {
    let plan = plan(cfg, model, data)?;
    let json_path = out_dir.join(files::SCORE_JSON);
    let shard_json = out_dir.join(SHARD_JSON);
    if shard_json.exists() {
        return Err(ScoreError::Resume {
            path: shard_json,
            reason: "the directory holds a shard (sarxai merge combines shards); a whole run needs its own directory".into(),
        });
    }
    let provenance = Provenance::current(model.device());
    let resume = resume_state(&plan, data.split, out_dir, &json_path, "/settings")?;
    prepare_dir(&plan, out_dir, &resume)?;
    write_score_json(
        &plan,
        &json_path,
        "running",
        &provenance,
        serde_json::json!({}),
    )?;
    let positions: Vec<usize> = (0..plan.chosen.len()).collect();
    let scored = score_images(cfg, model, data, &plan, &positions, &resume.done, out_dir)?;
    let fin = FinishInput {
        provenance,
        resumed_pairs: resume.pairs_in(&plan, &positions),
        computed_pairs: scored.computed_pairs,
        entropy_settings: scored.entropy_settings.unwrap_or_default(),
    };
    let (table, tables) = finish(&plan, out_dir, &fin)?;
    let figure = out_dir.join(files::figure(&plan.pol));
    let mut written: Vec<PathBuf> = [files::PER_IMAGE, files::TIMINGS, files::IMAGES]
        .iter()
        .map(|f| out_dir.join(f))
        .collect();
    written.extend(tables);
    written.extend([
        figure.clone(),
        out_dir.join(files::ENTROPY_SETTINGS),
        json_path,
    ]);
    Ok(ScoreSummary {
        out_dir: out_dir.to_path_buf(),
        model_hash: plan.meta.model_hash.clone(),
        images: plan.chosen.len(),
        chosen: plan.chosen,
        selection_digest: plan.selection_digest,
        resumed_pairs: fin.resumed_pairs,
        computed_pairs: fin.computed_pairs,
        metrics: plan.metrics,
        table,
        figure,
        files: written,
        timings: scored.timings,
    })
}

/// What [`score_shard`] did.
#[derive(Debug, Clone)]
pub struct ShardSummary {
    /// The shard's directory.
    pub out_dir: PathBuf,
    /// This shard.
    pub shard: Shard,
    /// N: the explained images of the whole selection.
    pub images: usize,
    /// The test split indices this shard covered.
    pub covered: Vec<usize>,
    /// Image x method pairs found already scored.
    pub resumed_pairs: usize,
    /// Image x method pairs computed in this call.
    pub computed_pairs: usize,
    /// Figure 1, when the figure image is this shard's.
    pub figure: Option<PathBuf>,
    /// Mean seconds per image and method, this session.
    pub timings: BTreeMap<Method, MethodTiming>,
}

/// Scores shard `shard` of the selection into `out_dir` (resuming what is there): the
/// same [`plan`] as [`score`], [`score_images`] of the shard's positions, and
/// `shard.json` ([`ShardManifest`]) instead of Table 1 and `score.json`; `sarxai merge`
/// ([`super::merge::merge`]) combines the shards.
pub fn score_shard(
    cfg: &ScoreConfig,
    model: &ResNet,
    data: &ScoreData,
    out_dir: &Path,
    shard: Shard,
) -> Result<ShardSummary, ScoreError> {
    let plan = plan(cfg, model, data)?;
    let manifest_path = out_dir.join(SHARD_JSON);
    let refuse = |path: PathBuf, reason: String| ScoreError::Resume { path, reason };
    if out_dir.join(files::SCORE_JSON).exists() {
        return Err(refuse(
            out_dir.join(files::SCORE_JSON),
            "the directory holds a whole scoring run; a shard needs its own directory".into(),
        ));
    }
    if manifest_path.exists() {
        let old = ShardManifest::read(out_dir)?;
        if old.shard != shard {
            return Err(refuse(
                manifest_path,
                format!("the directory holds shard {}, not {shard}", old.shard),
            ));
        }
    }
    let resume = resume_state(&plan, data.split, out_dir, &manifest_path, "/plan/settings")?;
    let positions = shard.positions(plan.chosen.len());
    let covered: Vec<usize> = positions.iter().map(|&p| plan.chosen[p]).collect();
    if let Some((i, _)) = resume.done.iter().find(|(i, _)| !covered.contains(i)) {
        return Err(refuse(
            out_dir.join(files::PER_IMAGE),
            format!("it holds image {i}, which is not in shard {shard}"),
        ));
    }
    prepare_dir(&plan, out_dir, &resume)?;
    let mut manifest = ShardManifest {
        format: FORMAT.into(),
        status: "running".into(),
        shard,
        provenance: Provenance::current(model.device()),
        positions: positions.clone(),
        images: covered.clone(),
        members: covered
            .iter()
            .map(|&i| data.split.members[i].clone())
            .collect(),
        resumed_pairs: resume.pairs_in(&plan, &positions),
        computed_pairs: 0,
        entropy_settings: None,
        plan,
    };
    manifest.write(out_dir)?;
    let scored = score_images(
        cfg,
        model,
        data,
        &manifest.plan,
        &positions,
        &resume.done,
        out_dir,
    )?;
    manifest.status = "complete".into();
    manifest.computed_pairs = scored.computed_pairs;
    manifest.entropy_settings = scored.entropy_settings;
    manifest.write(out_dir)?;
    let figure = manifest
        .entropy_settings
        .is_some()
        .then(|| out_dir.join(files::figure(&manifest.plan.pol)));
    Ok(ShardSummary {
        out_dir: out_dir.to_path_buf(),
        shard,
        images: manifest.plan.chosen.len(),
        covered,
        resumed_pairs: manifest.resumed_pairs,
        computed_pairs: manifest.computed_pairs,
        figure,
        timings: scored.timings,
    })
}

/// Writes `score.json` with `status` and `extra` keys.
fn write_score_json(
    plan: &Plan,
    path: &Path,
    status: &str,
    provenance: &Provenance,
    extra: serde_json::Value,
) -> Result<(), ScoreError> {
    let mut j = serde_json::json!({
        "format": "sarxai-score-1",
        "status": status,
        "settings": plan.settings,
        "images": plan.chosen.len(),
        "selection": plan.selection,
        "selection_digest": plan.selection_digest,
        "methods": plan.methods,
        "device": provenance.device,
        "versions": provenance.versions,
    });
    if let (Some(o), Some(source)) = (j.as_object_mut(), &plan.weights_source) {
        o.insert("weights_source".into(), source.clone().into());
    }
    if let (Some(o), Some(e)) = (j.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    write_json(path, &j)
}

/// Writes `value` as pretty JSON with a final newline, atomically.
pub(crate) fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), ScoreError> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("JSON values serialise");
    bytes.push(b'\n');
    crate::io::write_atomic(path, &bytes).map_err(|e| ScoreError::io(path, e))
}

/// Stage 3, shared by [`score`] and `sarxai merge`: from the complete `per_image.csv` in
/// `out_dir` writes `images.csv`, Table 1 (`table1.{md,csv,json}`) and the complete
/// `score.json`. Figure 1 and `entropy_settings.csv` are already there.
pub fn finish(
    plan: &Plan,
    out_dir: &Path,
    input: &FinishInput,
) -> Result<(Table1, Vec<PathBuf>), ScoreError> {
    let images_path = out_dir.join(files::IMAGES);
    crate::io::write_atomic(&images_path, plan.images_csv.as_bytes())
        .map_err(|e| ScoreError::io(&images_path, e))?;
    // Table 1 from the file, so that a resumed run gives the uninterrupted table.
    let chosen: BTreeSet<usize> = plan.chosen.iter().copied().collect();
    let all: Vec<ImageRecord> = records::read(&out_dir.join(files::PER_IMAGE))?
        .records
        .into_iter()
        .filter(|r| chosen.contains(&r.image))
        .collect();
    let table = Table1::from_records(
        &all,
        &plan.methods,
        &plan.metrics,
        plan.meta.clone(),
        Some(&plan.paper),
    );
    let written = table.write(out_dir)?;
    write_score_json(
        plan,
        &out_dir.join(files::SCORE_JSON),
        "complete",
        &input.provenance,
        serde_json::json!({
            "resumed_pairs": input.resumed_pairs,
            "computed_pairs": input.computed_pairs,
            "entropy_settings": input.entropy_settings,
            "table1_means": table.means(),
        }),
    )?;
    Ok((table, written))
}

impl ScoreConfig {
    /// The configuration a scoring run recorded in its `score.json` (`settings`): the
    /// seed, the explained class and the Max-Sensitivity and XAI-entropy settings; the
    /// rest at its defaults.
    pub fn from_recorded(settings: &serde_json::Value) -> Result<ScoreConfig, ScoreError> {
        fn field<T: serde::de::DeserializeOwned>(
            settings: &serde_json::Value,
            key: &str,
        ) -> Result<T, ScoreError> {
            serde_json::from_value(settings[key].clone()).map_err(|e| {
                ScoreError::Config(format!("score.json settings.{key} is unreadable: {e}"))
            })
        }
        let mut sensitivity: SensitivityConfig = field(settings, "sensitivity")?;
        sensitivity.images_per_call = SensitivityConfig::captum().images_per_call;
        Ok(ScoreConfig {
            seed: field(settings, "seed")?,
            target: field(settings, "target")?,
            sensitivity,
            entropy: field(settings, "entropy")?,
            progress: false,
            ..ScoreConfig::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_seeds_differ_per_image_and_seed() {
        assert_ne!(image_seed(0, 0), image_seed(0, 1));
        assert_ne!(image_seed(0, 1), image_seed(1, 0));
        assert_eq!(image_seed(7, 3), image_seed(7, 3));
    }
}
