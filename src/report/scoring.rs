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
//!   the defined value, [`captum09_reported`]); it costs nothing extra.
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
//! ([`super::merge`]) checks the shards and runs [`finish`] on their rows, so a merged run
//! writes the same bytes as one process. `score.json` holds no wall-clock time (the seconds
//! are in `timings.csv`).
//!
//! # Resumption
//!
//! `per_image.csv` rows carry the model hash. A run directory that already holds one is
//! resumed: its rows must come from the same model hash ([`ReportError::OtherModel`]), the
//! same metric columns, the same test split members and, via `score.json`, the same
//! settings; a row torn by an interruption is cut off; image x method pairs already present
//! are skipped. The selection's count may grow between sessions (its choice is a prefix of
//! the same seeded order); Table 1 covers the images of the current selection.
//! A resumed run reproduces the uninterrupted one bit for bit on the same device with the
//! same thread count; with several CPU threads libtorch may reorder sums and move the last
//! bits (about 1e-8 relative was seen with 2 threads on a loaded machine): `--threads 1`
//! where exact equality matters (the tests do).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::figure::{render_figure1, FigureInput, FigurePanel};
use super::merge::{Shard, ShardManifest, SHARD_JSON};
use super::metric::Metric;
use super::records::{self, ImageRecord};
use super::selection::{images_csv, select, selection_digest, Selection};
use super::table::{PaperTable, Table1, TableMeta};
use super::ReportError;
use crate::attr::{Attribution, Budget, Method};
use crate::data::{Pol, SplitData};
use crate::metrics::entropy::{heatmaps_u8, size_sweep, xai_entropy, EntropyConfig};
use crate::metrics::faithfulness::{perturbation_curves, FaithfulnessConfig, Game};
use crate::metrics::infidelity::{infidelity, GaussianNoise, InfidelityConfig};
use crate::metrics::localisation::{pointing_game, relevance_mass_accuracy, to_input_resolution};
use crate::metrics::randomisation::{randomised_copy, spearman, Stage};
use crate::metrics::sensitivity::{
    captum09_reported, max_sensitivity_from, Perturbations, SensitivityConfig,
};
use crate::metrics::sparseness::sparseness;
use crate::model::{self, ResNet};

/// File names in a score directory.
pub mod files {
    pub const PER_IMAGE: &str = "per_image.csv";
    pub const TIMINGS: &str = "timings.csv";
    pub const ENTROPY_SETTINGS: &str = "entropy_settings.csv";
    pub const SCORE_JSON: &str = "score.json";
    /// The explained test images (`position,image,member,label`).
    pub const IMAGES: &str = "images.csv";
    /// `figure1_<pol>.png`, `<pol>` being `vh`, `vv` or `single`.
    pub fn figure(pol: &str) -> String {
        format!("figure1_{pol}.png")
    }
}

/// The class each attribution explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TargetChoice {
    /// The image's true label (the default).
    #[default]
    TrueLabel,
    /// The model's prediction.
    Predicted,
}

impl TargetChoice {
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
    pub target: TargetChoice,
    /// Max-Sensitivity settings; its `seed` is replaced by [`image_seed`] per image.
    pub sensitivity: SensitivityConfig,
    pub entropy: EntropyConfig,
    pub infidelity: InfidelityConfig,
    /// Standard deviation of infidelity's Gaussian noise (Captum's example: 0.003).
    pub infidelity_std: f64,
    pub faithfulness: FaithfulnessConfig,
    /// Seed of the re-initialised weights of the randomisation test.
    pub randomisation_seed: i64,
    /// Memory budget of batched passes.
    pub budget: Budget,
    /// Which explained image Figure 1 shows (position in the selection, `< N`).
    pub figure_image: usize,
    /// The paper's polarization to compare with (`None`: the data's).
    pub paper_pol: Option<Pol>,
    /// The paper's table (`None`: the compiled-in fixture).
    pub paper: Option<PaperTable>,
    /// Progress bar on standard error.
    pub progress: bool,
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
            budget: Budget::default(),
            figure_image: 0,
            paper_pol: None,
            paper: None,
            progress: true,
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
    pub out_dir: PathBuf,
    pub model_hash: String,
    /// N: the number of explained test images.
    pub images: usize,
    /// Their indices in the test split, ascending (also in `images.csv`).
    pub chosen: Vec<usize>,
    /// [`selection_digest`] of the chosen images.
    pub selection_digest: String,
    /// Image x method pairs found in `per_image.csv` and skipped.
    pub resumed_pairs: usize,
    /// Image x method pairs computed in this call.
    pub computed_pairs: usize,
    pub metrics: Vec<Metric>,
    pub table: Table1,
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

/// The settings every per-image value depends on (checked on resume).
fn settings_json(
    cfg: &ScoreConfig,
    metrics: &[Metric],
    hash: &str,
    data: &ScoreData,
) -> serde_json::Value {
    let mut s = cfg.sensitivity;
    s.images_per_call = 0;
    s.seed = 0;
    serde_json::json!({
        "model_hash": hash,
        "test_split_digest": data.split.digest,
        "classes": data.classes,
        "pol": data.pol,
        "target": cfg.target,
        "selection": cfg.selection.resume_key(),
        "seed": cfg.seed,
        "metrics": metrics,
        "sensitivity": s,
        "entropy": cfg.entropy,
        "infidelity": cfg.infidelity,
        "infidelity_std": cfg.infidelity_std,
        "faithfulness": cfg.faithfulness,
        "randomisation_seed": cfg.randomisation_seed,
    })
}

/// Settings in words for Table 1's notes.
fn notes(cfg: &ScoreConfig, metrics: &[Metric], seed_desc: bool, digest: &str) -> Vec<String> {
    let s = &cfg.sensitivity;
    let mut v = vec![format!(
        "images: {} (images.csv, SHA-256 {})",
        cfg.selection.describe(),
        &digest[..digest.len().min(16)]
    )];
    if metrics.contains(&Metric::MaxSensitivityCaptum09) {
        v.push(format!(
            "Max-Sens. (Captum 0.9): the value Captum 0.9's sensitivity_max reports when called with the method's own attribute one image at a time, as the paper did: Grad-CAM sqrt({}) times Max-Sensitivity, every other method equal to it; the paper's claims are tested on this column",
            s.samples
        ));
    }
    if metrics.contains(&Metric::MaxSensitivity) {
        v.push(format!(
            "Max-Sensitivity: {:?} convention (sensitivity_max), L-inf radius {}, {} samples, Frobenius norm, {}; noise seeded per image from seed {}",
            s.variant,
            s.radius,
            s.samples,
            if s.normalise { "divided by ||Phi(x)||" } else { "not normalised" },
            if seed_desc { cfg.seed.to_string() } else { "S".into() }
        ));
    }
    if metrics.contains(&Metric::EntropyKb) {
        v.push(cfg.entropy.describe());
    }
    if metrics
        .iter()
        .any(|m| !Metric::PAPER.contains(m) && *m != Metric::ShannonBits)
    {
        v.push(format!(
            "further metrics at the input resolution: deletion/insertion {} steps; infidelity {} samples, Gaussian sigma {}; MPRT seed {}",
            cfg.faithfulness.steps, cfg.infidelity.samples, cfg.infidelity_std, cfg.randomisation_seed
        ));
    }
    v.extend(crate::device::numerics::in_force().map(|n| n.describe()));
    v
}

/// Everything a scoring run fixes before it computes: the explained images, the methods
/// and metric columns, the settings every value depends on and Table 1's description. A
/// shard records it in its manifest and [`super::merge`] requires every shard's to be equal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The settings every per-image value depends on (model hash, test split digest,
    /// classes, seeds, metric settings), checked on resume.
    pub settings: serde_json::Value,
    /// The selection rule.
    pub selection: Selection,
    /// [`selection_digest`] of the chosen images.
    pub selection_digest: String,
    /// Test split indices of the explained images in selection order (`images.csv`).
    pub chosen: Vec<usize>,
    /// The text of `images.csv`.
    pub images_csv: String,
    /// Sorted, without repeats.
    pub methods: Vec<Method>,
    /// Sorted; mask metrics dropped when the data has no masks.
    pub metrics: Vec<Metric>,
    /// Position (in `chosen`) of Figure 1's image.
    pub figure_position: usize,
    /// `vh`, `vv` or `single` (Figure 1's file name).
    pub pol: String,
    /// Table 1's description (model hash, N, target, notes).
    pub meta: TableMeta,
    /// The paper's table compared with.
    pub paper: PaperTable,
}

/// Where and with what a scoring run computed: recorded in `score.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// [`crate::device::describe`] of the device (with the CPU thread count).
    pub device: String,
    /// [`crate::train::manifest::Versions`] as JSON.
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
    pub provenance: Provenance,
    /// Image x method pairs found already scored (summed over shards).
    pub resumed_pairs: usize,
    /// Image x method pairs computed (summed over shards).
    pub computed_pairs: usize,
    /// Figure 1's encoder sweep summary (bytes per method).
    pub entropy_settings: serde_json::Value,
}

/// Stage 1, nothing written: checks the input, selects the explained images and fixes the
/// settings ([`Plan`]).
pub fn plan(cfg: &ScoreConfig, model: &ResNet, data: &ScoreData) -> Result<Plan, ReportError> {
    if cfg.methods.is_empty() {
        return Err(ReportError::Config("no methods to score".into()));
    }
    let split = data.split;
    if model.config.num_classes as usize != data.classes.len() {
        return Err(ReportError::Config(format!(
            "the model predicts {} classes but the data has {} ({})",
            model.config.num_classes,
            data.classes.len(),
            data.classes.join(", ")
        )));
    }
    let chosen = select(&cfg.selection, split, data.classes, |i| {
        predicted_class(model, split, i) == split.labels[i]
    })?;
    let n = chosen.len();
    let digest = selection_digest(&chosen, split);
    if cfg.figure_image >= n {
        return Err(ReportError::Config(format!(
            "the figure image {} is not among the {n} explained image(s) (positions 0 to {})",
            cfg.figure_image,
            n - 1
        )));
    }
    let mut metrics: Vec<Metric> = cfg
        .metrics
        .iter()
        .copied()
        .filter(|m| !m.needs_masks() || split.masks.is_some())
        .collect();
    metrics.sort();
    metrics.dedup();
    let mut methods = cfg.methods.clone();
    methods.sort();
    methods.dedup();
    let hash = model::model_hash(model)?;
    let meta = TableMeta {
        pol: data.pol.map(|p| p.to_string()),
        paper_pol: cfg.paper_pol.or(data.pol).map(|p| p.to_string()),
        model_hash: hash.clone(),
        images: n,
        target: cfg.target.key().to_string(),
        notes: notes(cfg, &metrics, true, &digest),
    };
    Ok(Plan {
        settings: settings_json(cfg, &metrics, &hash, data),
        selection: cfg.selection,
        selection_digest: digest,
        images_csv: images_csv(&chosen, split, data.classes),
        chosen,
        methods,
        metrics,
        figure_position: cfg.figure_image,
        pol: pol_name(data.pol),
        meta,
        paper: cfg.paper.clone().unwrap_or_else(PaperTable::embedded),
    })
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
) -> Result<ScoreSummary, ReportError> {
    let plan = plan(cfg, model, data)?;
    let json_path = out_dir.join(files::SCORE_JSON);
    let shard_json = out_dir.join(SHARD_JSON);
    if shard_json.exists() {
        return Err(ReportError::Resume {
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
    pub out_dir: PathBuf,
    pub shard: Shard,
    /// N: the explained images of the whole selection.
    pub images: usize,
    /// The test split indices this shard covered.
    pub covered: Vec<usize>,
    pub resumed_pairs: usize,
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
) -> Result<ShardSummary, ReportError> {
    let plan = plan(cfg, model, data)?;
    let manifest_path = out_dir.join(SHARD_JSON);
    let refuse = |path: PathBuf, reason: String| ReportError::Resume { path, reason };
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
        format: super::merge::FORMAT.into(),
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

/// What [`resume_state`] found in a directory.
pub(crate) struct Resume {
    /// Image x method pairs already in `per_image.csv`.
    pub done: BTreeSet<(usize, Method)>,
    /// Bytes of complete rows when the last row was torn.
    torn: Option<usize>,
}

impl Resume {
    /// Pairs of `positions` x the plan's methods already done.
    pub(crate) fn pairs_in(&self, plan: &Plan, positions: &[usize]) -> usize {
        positions
            .iter()
            .map(|&p| {
                let i = plan.chosen[p];
                plan.methods
                    .iter()
                    .filter(|&&m| self.done.contains(&(i, m)))
                    .count()
            })
            .sum()
    }
}

/// Checks what `out_dir` already holds against `plan` (same model hash, metric columns,
/// test split members and, at `pointer` in `settings_file`, the same settings) and returns
/// the pairs already scored. Writes nothing.
pub(crate) fn resume_state(
    plan: &Plan,
    split: &SplitData,
    out_dir: &Path,
    settings_file: &Path,
    pointer: &str,
) -> Result<Resume, ReportError> {
    let per_image = out_dir.join(files::PER_IMAGE);
    let mut done: BTreeSet<(usize, Method)> = BTreeSet::new();
    if !per_image.exists() {
        return Ok(Resume { done, torn: None });
    }
    let hash = &plan.meta.model_hash;
    let f = records::read(&per_image)?;
    if let Some(r) = f.records.iter().find(|r| &r.model_hash != hash) {
        return Err(ReportError::OtherModel {
            path: per_image.clone(),
            found: r.model_hash.clone(),
            expected: hash.clone(),
        });
    }
    let resume_err = |reason: String| ReportError::Resume {
        path: per_image.clone(),
        reason,
    };
    if f.metrics != plan.metrics {
        let keys = |m: &[Metric]| m.iter().map(|m| m.key()).collect::<Vec<_>>().join(", ");
        return Err(resume_err(format!(
            "its metric columns are [{}] but this run computes [{}]",
            keys(&f.metrics),
            keys(&plan.metrics)
        )));
    }
    for r in &f.records {
        if split.members.get(r.image) != Some(&r.member) {
            return Err(resume_err(format!(
                "image {} is {:?} there but {:?} in this test split: the data or split changed",
                r.image,
                r.member,
                split.members.get(r.image)
            )));
        }
        if !done.insert((r.image, r.method)) {
            return Err(resume_err(format!(
                "image {} has two rows for {}",
                r.image, r.method
            )));
        }
    }
    if settings_file.is_file() {
        let old: serde_json::Value = std::fs::read(settings_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| resume_err(format!("{} is unreadable", settings_file.display())))?;
        let old_settings = old.pointer(pointer).unwrap_or(&serde_json::Value::Null);
        let differ = settings_diff(old_settings, &plan.settings);
        if !differ.is_empty() {
            return Err(resume_err(format!(
                "the settings differ from {}: {}",
                settings_file.display(),
                differ.join("; ")
            )));
        }
    }
    let torn = (f.complete_len < f.file_len).then_some(f.complete_len);
    Ok(Resume { done, torn })
}

/// The keys of `new` (an object) whose values differ in `old`, as `key: old -> new`.
pub(crate) fn settings_diff(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    let null = serde_json::Value::Null;
    let Some(o) = new.as_object() else {
        return if old == new {
            Vec::new()
        } else {
            vec![format!("{old} -> {new}")]
        };
    };
    let mut keys: BTreeSet<&String> = o.keys().collect();
    if let Some(oo) = old.as_object() {
        keys.extend(oo.keys());
    }
    keys.into_iter()
        .filter(|k| old.get(k.as_str()) != o.get(k.as_str()))
        .map(|k| {
            format!(
                "{k}: {} -> {}",
                old.get(k.as_str()).unwrap_or(&null),
                o.get(k.as_str()).unwrap_or(&null)
            )
        })
        .collect()
}

/// Creates `out_dir`, cuts a torn row, writes the `per_image.csv` and `timings.csv`
/// headers where missing and cuts a torn timings row.
pub(crate) fn prepare_dir(plan: &Plan, out_dir: &Path, resume: &Resume) -> Result<(), ReportError> {
    let per_image = out_dir.join(files::PER_IMAGE);
    let timings_path = out_dir.join(files::TIMINGS);
    std::fs::create_dir_all(out_dir).map_err(|e| ReportError::io(out_dir, e))?;
    if let Some(len) = resume.torn {
        records::truncate(&per_image, len)?;
    }
    if !per_image.exists() {
        crate::io::write_atomic(&per_image, records::header(&plan.metrics).as_bytes())
            .map_err(|e| ReportError::io(&per_image, e))?;
    }
    if !timings_path.exists() {
        crate::io::write_atomic(&timings_path, timings_header(&plan.metrics).as_bytes())
            .map_err(|e| ReportError::io(&timings_path, e))?;
    } else {
        // Cut a row torn by an interruption (timings are informative, not resumed from).
        let bytes = std::fs::read(&timings_path).map_err(|e| ReportError::io(&timings_path, e))?;
        if bytes.last().is_some_and(|&b| b != b'\n') {
            let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            records::truncate(&timings_path, keep)?;
        }
    }
    Ok(())
}

/// `timings.csv`'s header line for `metrics`.
pub(crate) fn timings_header(metrics: &[Metric]) -> String {
    let cols: Vec<String> = std::iter::once("attribution_s".to_string())
        .chain(metrics.iter().map(|m| format!("{}_s", m.key())))
        .collect();
    format!("image,method,{},total_s,device\n", cols.join(","))
}

/// Writes `score.json` with `status` and `extra` keys.
fn write_score_json(
    plan: &Plan,
    path: &Path,
    status: &str,
    provenance: &Provenance,
    extra: serde_json::Value,
) -> Result<(), ReportError> {
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
    if let (Some(o), Some(e)) = (j.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    write_json(path, &j)
}

/// Writes `value` as pretty JSON with a final newline, atomically.
pub(crate) fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), ReportError> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("JSON values serialise");
    bytes.push(b'\n');
    crate::io::write_atomic(path, &bytes).map_err(|e| ReportError::io(path, e))
}

/// What [`score_images`] did.
pub struct Scored {
    pub computed_pairs: usize,
    /// Mean seconds per image and method of this session.
    pub timings: BTreeMap<Method, MethodTiming>,
    /// Figure 1's encoder sweep summary, when the figure image was among the positions.
    pub entropy_settings: Option<serde_json::Value>,
}

/// Stage 2: scores the images at `positions` of the plan's selection (pairs in `done`
/// skipped), appending to `per_image.csv` and `timings.csv` one image at a time, then,
/// when the figure image is among them, writes Figure 1 and `entropy_settings.csv`.
pub fn score_images(
    cfg: &ScoreConfig,
    model: &ResNet,
    data: &ScoreData,
    plan: &Plan,
    positions: &[usize],
    done: &BTreeSet<(usize, Method)>,
    out_dir: &Path,
) -> Result<Scored, ReportError> {
    let metrics = &plan.metrics;
    let randomised = |stages: &[Stage], k: Metric| -> Result<Option<ResNet>, ReportError> {
        Ok(if metrics.contains(&k) {
            Some(randomised_copy(model, stages, cfg.randomisation_seed)?)
        } else {
            None
        })
    };
    let mprt_fc = randomised(&[Stage::Fc], Metric::MprtFc)?;
    let mprt_all = randomised(&Stage::TOP_DOWN, Metric::MprtAll)?;
    let ctx = Ctx {
        cfg,
        model,
        data,
        metrics,
        mprt_fc: mprt_fc.as_ref(),
        mprt_all: mprt_all.as_ref(),
    };
    let attributors: BTreeMap<Method, Box<dyn Attribution>> = plan
        .methods
        .iter()
        .map(|&m| (m, m.with_defaults(cfg.budget)))
        .collect();
    let (computed_pairs, timings) =
        ctx.score_positions(plan, positions, done, &attributors, out_dir)?;
    let entropy_settings = if positions.contains(&plan.figure_position) {
        let i = plan.chosen[plan.figure_position];
        let all: Vec<ImageRecord> = records::read(&out_dir.join(files::PER_IMAGE))?
            .records
            .into_iter()
            .filter(|r| r.image == i)
            .collect();
        let (_, _, summary) = ctx.figure_and_sweep(
            &attributors,
            &plan.methods,
            &all,
            i,
            &plan.meta.model_hash,
            out_dir,
        )?;
        Some(summary)
    } else {
        None
    };
    Ok(Scored {
        computed_pairs,
        timings,
        entropy_settings,
    })
}

/// Stage 3, shared by [`score`] and `sarxai merge`: from the complete `per_image.csv` in
/// `out_dir` writes `images.csv`, Table 1 (`table1.{md,csv,json}`) and the complete
/// `score.json`. Figure 1 and `entropy_settings.csv` are already there.
pub fn finish(
    plan: &Plan,
    out_dir: &Path,
    input: &FinishInput,
) -> Result<(Table1, Vec<PathBuf>), ReportError> {
    let images_path = out_dir.join(files::IMAGES);
    crate::io::write_atomic(&images_path, plan.images_csv.as_bytes())
        .map_err(|e| ReportError::io(&images_path, e))?;
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

/// The paper's metrics of one (image, method) pair recomputed exactly as [`score`] computed
/// them under `cfg` (attribution, both Max-Sensitivities with the image's own noise seed,
/// XAI entropy): what `sarxai claims check --recompute` compares with `per_image.csv`.
pub fn rescore_pair(
    cfg: &ScoreConfig,
    model: &ResNet,
    data: &ScoreData,
    image: usize,
    method: Method,
) -> Result<BTreeMap<Metric, f64>, ReportError> {
    let metrics = Metric::PAPER;
    let ctx = Ctx {
        cfg,
        model,
        data,
        metrics: &metrics,
        mprt_fc: None,
        mprt_all: None,
    };
    let img = ctx.image(image)?;
    let attributor = method.with_defaults(cfg.budget);
    Ok(ctx.score_pair(&img, attributor.as_ref())?.0)
}

impl ScoreConfig {
    /// The configuration a scoring run recorded in its `score.json` (`settings`): the
    /// seed, the explained class and the Max-Sensitivity and XAI-entropy settings; the
    /// rest at its defaults.
    pub fn from_recorded(settings: &serde_json::Value) -> Result<ScoreConfig, ReportError> {
        fn field<T: serde::de::DeserializeOwned>(
            settings: &serde_json::Value,
            key: &str,
        ) -> Result<T, ReportError> {
            serde_json::from_value(settings[key].clone()).map_err(|e| {
                ReportError::Config(format!("score.json settings.{key} is unreadable: {e}"))
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

/// The class `model` predicts for test image `i` of `split`.
fn predicted_class(model: &ResNet, split: &crate::data::SplitData, i: usize) -> i64 {
    let x = crate::train::eval::input_tensor(
        split.image(i),
        split.size,
        model.config.in_channels,
        model.device(),
    );
    tch::no_grad(|| model.forward_t(&x, false))
        .argmax(1, false)
        .int64_value(&[0])
}

/// One image on the model's device.
struct Img {
    x: Tensor,
    t: Tensor,
    label: i64,
    predicted: i64,
    target: i64,
    index: usize,
}

#[derive(Default)]
struct Secs {
    attribution: f64,
    metrics: BTreeMap<Metric, f64>,
}

struct Ctx<'a> {
    cfg: &'a ScoreConfig,
    model: &'a ResNet,
    data: &'a ScoreData<'a>,
    metrics: &'a [Metric],
    mprt_fc: Option<&'a ResNet>,
    mprt_all: Option<&'a ResNet>,
}

impl Ctx<'_> {
    fn image(&self, i: usize) -> Result<Img, ReportError> {
        let split = self.data.split;
        let device = self.model.device();
        let x = crate::train::eval::input_tensor(
            split.image(i),
            split.size,
            self.model.config.in_channels,
            device,
        );
        let logits = tch::no_grad(|| self.model.forward_t(&x, false));
        let predicted = logits.argmax(1, false).int64_value(&[0]);
        let label = split.labels[i];
        let target = match self.cfg.target {
            TargetChoice::TrueLabel => label,
            TargetChoice::Predicted => predicted,
        };
        let t = Tensor::from_slice(&[target]).to_device(device);
        Ok(Img {
            x,
            t,
            label,
            predicted,
            target,
            index: i,
        })
    }

    /// Scores `positions` of the plan's selection (pairs in `done` skipped), appending each
    /// image's rows to `per_image.csv` and `timings.csv`. Returns the pairs computed and
    /// the mean seconds per image and method.
    fn score_positions(
        &self,
        plan: &Plan,
        positions: &[usize],
        done: &BTreeSet<(usize, Method)>,
        attributors: &BTreeMap<Method, Box<dyn Attribution>>,
        out_dir: &Path,
    ) -> Result<(usize, BTreeMap<Method, MethodTiming>), ReportError> {
        let (split, classes, metrics) = (self.data.split, self.data.classes, self.metrics);
        let (per_image, timings_path) =
            (out_dir.join(files::PER_IMAGE), out_dir.join(files::TIMINGS));
        let todo_of = |i: usize| -> Vec<Method> {
            plan.methods
                .iter()
                .copied()
                .filter(|&m| !done.contains(&(i, m)))
                .collect()
        };
        let pending: usize = positions
            .iter()
            .map(|&p| todo_of(plan.chosen[p]).len())
            .sum();
        let bar = if self.cfg.progress {
            crate::progress::bar(pending as u64, "score")
        } else {
            indicatif::ProgressBar::hidden()
        };
        let n = plan.chosen.len();
        let hash = &plan.meta.model_hash;
        let mut timings: BTreeMap<Method, MethodTiming> = BTreeMap::new();
        let mut computed_pairs = 0;
        let device_desc = crate::device::describe(self.model.device());
        for &position in positions {
            let i = plan.chosen[position];
            let todo = todo_of(i);
            if todo.is_empty() {
                continue;
            }
            let img = self.image(i)?;
            let (mut rows, mut trows) = (String::new(), String::new());
            for m in todo {
                bar.set_message(format!("image {}/{n} {}", position + 1, m.name()));
                let (values, secs) =
                    self.score_pair(&img, attributors[&m].as_ref())
                        .map_err(|e| ReportError::Scoring {
                            image: i,
                            member: split.members[i].clone(),
                            method: m,
                            source: Box::new(e),
                        })?;
                let rec = ImageRecord {
                    image: i,
                    member: split.members[i].clone(),
                    file: self.file_of(i),
                    label: img.label,
                    label_name: classes[img.label as usize].clone(),
                    predicted: img.predicted,
                    predicted_name: classes[img.predicted as usize].clone(),
                    target: img.target,
                    method: m,
                    values,
                    model_hash: hash.clone(),
                };
                rows.push_str(&rec.to_csv_row(metrics));
                let total: f64 = secs.attribution + secs.metrics.values().sum::<f64>();
                trows.push_str(&format!(
                    "{i},{},{},{},{total},{}\n",
                    m.name(),
                    secs.attribution,
                    metrics
                        .iter()
                        .map(|k| secs.metrics.get(k).copied().unwrap_or(0.0).to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                    records::field(&device_desc)
                ));
                let t = timings.entry(m).or_default();
                t.images += 1;
                t.attribution_s += secs.attribution;
                for (k, v) in &secs.metrics {
                    *t.metrics_s.entry(*k).or_default() += v;
                }
                t.total_s += total;
                computed_pairs += 1;
                bar.inc(1);
            }
            records::append(&per_image, &rows)?;
            records::append(&timings_path, &trows)?;
        }
        bar.finish_and_clear();
        for t in timings.values_mut() {
            let k = t.images.max(1) as f64;
            t.attribution_s /= k;
            t.total_s /= k;
            for v in t.metrics_s.values_mut() {
                *v /= k;
            }
        }
        Ok((computed_pairs, timings))
    }

    fn file_of(&self, i: usize) -> String {
        let Some(f) = self.data.split.files.get(i) else {
            return String::new();
        };
        self.data
            .root
            .and_then(|r| f.strip_prefix(r).ok())
            .unwrap_or(f)
            .display()
            .to_string()
    }

    fn score_pair(
        &self,
        img: &Img,
        method: &dyn Attribution,
    ) -> Result<(BTreeMap<Metric, f64>, Secs), ReportError> {
        let (model, cfg) = (self.model, self.cfg);
        let s = img.x.size();
        let (h, w) = (s[2], s[3]);
        let mut secs = Secs::default();
        let t0 = Instant::now();
        let a = method.attribute(model, &img.x, &img.t)?.detach();
        secs.attribution = t0.elapsed().as_secs_f64();
        let full = to_input_resolution(&a, h, w)?;
        let first = |t: &Tensor| -> f64 { t.to_kind(Kind::Double).double_value(&[0]) };
        let seed = image_seed(cfg.seed, img.index);
        let mut values = BTreeMap::new();
        let mut entropy = None;
        let mut ms = None;
        for &k in self.metrics {
            let t0 = Instant::now();
            let v = match k {
                Metric::MaxSensitivity | Metric::MaxSensitivityCaptum09 => {
                    let v = match ms {
                        Some(v) => v,
                        None => {
                            let mut sc = cfg.sensitivity;
                            sc.seed = seed;
                            *ms.insert(first(&max_sensitivity_from(
                                method,
                                model,
                                &img.x,
                                &img.t,
                                &a,
                                &sc,
                                &Perturbations::Uniform,
                            )?))
                        }
                    };
                    if k == Metric::MaxSensitivity {
                        v
                    } else {
                        captum09_reported(method.method(), v, cfg.sensitivity.samples)
                    }
                }
                Metric::EntropyKb | Metric::ShannonBits => {
                    let e = match entropy {
                        Some(e) => e,
                        None => *entropy.insert(
                            xai_entropy(&a, h, w, &cfg.entropy)
                                .map_err(|e| ReportError::Config(format!("XAI entropy: {e}")))?[0],
                        ),
                    };
                    if k == Metric::EntropyKb {
                        e.kb
                    } else {
                        e.shannon_bits
                    }
                }
                Metric::Sparseness => first(&sparseness(&full)?),
                Metric::RelevanceMassAccuracy | Metric::PointingGame => {
                    let Some(mask) = self.data.split.mask(img.index) else {
                        return Err(ReportError::Config("the data has no masks".into()));
                    };
                    let m = Tensor::from_slice(mask).view([1, h, w]);
                    if k == Metric::RelevanceMassAccuracy {
                        first(&relevance_mass_accuracy(&full, &m)?)
                    } else {
                        first(&pointing_game(&full, &m)?)
                    }
                }
                Metric::DeletionAuc | Metric::InsertionAuc => {
                    let game = if k == Metric::DeletionAuc {
                        Game::Deletion
                    } else {
                        Game::Insertion
                    };
                    let c = perturbation_curves(
                        model,
                        &img.x,
                        &img.t,
                        &full,
                        game,
                        &cfg.faithfulness,
                        cfg.budget,
                    )?;
                    first(&c.auc)
                }
                Metric::Infidelity => {
                    let phi = if full.size() == s {
                        full.shallow_clone()
                    } else {
                        full.expand(s.as_slice(), false).contiguous()
                    };
                    let noise = GaussianNoise {
                        std: cfg.infidelity_std,
                        seed,
                    };
                    first(&infidelity(
                        model,
                        &img.x,
                        &img.t,
                        &phi,
                        &noise,
                        &cfg.infidelity,
                        cfg.budget,
                    )?)
                }
                Metric::MprtFc | Metric::MprtAll => {
                    let r = if k == Metric::MprtFc {
                        self.mprt_fc
                    } else {
                        self.mprt_all
                    }
                    .ok_or_else(|| ReportError::Config("randomised model missing".into()))?;
                    let b = method.attribute(r, &img.x, &img.t)?.detach();
                    first(&spearman(&a, &b, true)?)
                }
            };
            secs.metrics.insert(k, t0.elapsed().as_secs_f64());
            values.insert(k, v);
        }
        Ok((values, secs))
    }

    /// Figure 1 of the figure image and `entropy_settings.csv` from its maps.
    #[allow(clippy::type_complexity)]
    fn figure_and_sweep(
        &self,
        attributors: &BTreeMap<Method, Box<dyn Attribution>>,
        methods: &[Method],
        all: &[ImageRecord],
        i: usize,
        hash: &str,
        out_dir: &Path,
    ) -> Result<(PathBuf, PathBuf, serde_json::Value), ReportError> {
        let pol = pol_name(self.data.pol);
        let img = self.image(i)?;
        let split = self.data.split;
        let size = split.size;
        let (h, w) = (size as i64, size as i64);
        let order: Vec<Method> = super::table::PAPER_ORDER
            .iter()
            .copied()
            .filter(|m| methods.contains(m))
            .collect();
        let mut panels = Vec::new();
        let mut sweep = String::from("method,compression,filter,png_bytes,kb,ratio_to_default\n");
        let mut summary = serde_json::Map::new();
        for m in &order {
            let a = attributors[m]
                .attribute(self.model, &img.x, &img.t)?
                .detach();
            let map = heatmaps_u8(&a, h, w, &self.cfg.entropy).remove(0);
            let ms = all
                .iter()
                .find(|r| r.image == i && r.method == *m)
                .and_then(|r| r.values.get(&Metric::MaxSensitivity).copied());
            panels.push(FigurePanel {
                title: m.title().to_string(),
                subtitle: match ms {
                    Some(v) => format!("MS = {v:.4}"),
                    None => "MS not computed".into(),
                },
                map: map.clone(),
            });
            let rows = size_sweep(&map, size as u32, size as u32);
            let default = rows
                .iter()
                .find(|r| {
                    format!("{:?}{:?}", r.0, r.1)
                        == format!(
                            "{:?}{:?}",
                            self.cfg.entropy.compression, self.cfg.entropy.filter
                        )
                })
                .map(|r| r.2)
                .unwrap_or(1)
                .max(1);
            let (mut lo, mut hi) = (usize::MAX, 0usize);
            for (c, f, bytes) in &rows {
                lo = lo.min(*bytes);
                hi = hi.max(*bytes);
                sweep.push_str(&format!(
                    "{},{},{},{bytes},{},{}\n",
                    m.name(),
                    ser_name(c),
                    ser_name(f),
                    *bytes as f64 / 1000.0,
                    *bytes as f64 / default as f64
                ));
            }
            summary.insert(
                m.name().to_string(),
                serde_json::json!({ "default_bytes": default, "min_bytes": lo, "max_bytes": hi }),
            );
        }
        let sweep_path = out_dir.join(files::ENTROPY_SETTINGS);
        crate::io::write_atomic(&sweep_path, sweep.as_bytes())
            .map_err(|e| ReportError::io(&sweep_path, e))?;

        let classes = self.data.classes;
        let pol_up = self.data.pol.map(|p| p.to_string().to_uppercase());
        let input = FigureInput {
            heading: vec![
                format!(
                    "Figure 1{}: test image {i} ({}), true class {}, predicted {}",
                    pol_up.as_ref().map(|p| format!(" ({p})")).unwrap_or_default(),
                    split.members[i],
                    classes[img.label as usize],
                    classes[img.predicted as usize]
                ),
                format!(
                    "Heatmaps explain the {} class ({}).",
                    if self.cfg.target == TargetChoice::TrueLabel { "true" } else { "predicted" },
                    classes[img.target as usize]
                ),
            ],
            input_title: match &pol_up {
                Some(p) => format!("Input ({p})"),
                None => "Input".into(),
            },
            input_subtitle: classes[img.label as usize].clone(),
            image: split.image(i).to_vec(),
            size,
            panels,
            bar_label: "abs(attr)".into(),
            caption: vec![
                format!(
                    "MS: Max-Sensitivity of this image (radius {}, {} samples). Heatmaps: abs(sum over channels) divided by its value at {} % cumulative mass, clipped to [0, 1]: the maps whose PNG size is the XAI entropy. Model {}.",
                    self.cfg.sensitivity.radius,
                    self.cfg.sensitivity.samples,
                    100.0 - self.cfg.entropy.outlier_percent,
                    &hash[..hash.len().min(12)]
                ),
            ],
        };
        let fig = render_figure1(&input)?;
        let path = out_dir.join(files::figure(&pol));
        crate::io::write_atomic(&path, &fig.png).map_err(|e| ReportError::io(&path, e))?;
        Ok((path, sweep_path, serde_json::Value::Object(summary)))
    }
}

/// The serde name of a unit enum variant (kebab-case for the entropy settings).
fn ser_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pins_read_the_file_scoring_writes() {
        assert_eq!(crate::claims::pins::SCORE_JSON, files::SCORE_JSON);
    }

    #[test]
    fn image_seeds_differ_per_image_and_seed() {
        assert_ne!(image_seed(0, 0), image_seed(0, 1));
        assert_ne!(image_seed(0, 1), image_seed(1, 0));
        assert_eq!(image_seed(7, 3), image_seed(7, 3));
    }
}
