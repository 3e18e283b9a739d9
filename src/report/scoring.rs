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

/// Scores the first N images of `data`'s test split with `cfg.methods` into `out_dir`
/// (resuming what is there) and writes `per_image.csv`, `timings.csv`,
/// `entropy_settings.csv`, `table1.{md,csv,json}`, `figure1_<pol>.png` and `score.json`.
pub fn score(
    cfg: &ScoreConfig,
    model: &ResNet,
    data: &ScoreData,
    out_dir: &Path,
) -> Result<ScoreSummary, ReportError> {
    // Every check before anything is written.
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
    let settings = settings_json(cfg, &metrics, &hash, data);

    let per_image = out_dir.join(files::PER_IMAGE);
    let timings_path = out_dir.join(files::TIMINGS);
    let json_path = out_dir.join(files::SCORE_JSON);
    let mut done: BTreeSet<(usize, Method)> = BTreeSet::new();
    let mut torn: Option<usize> = None;
    if per_image.exists() {
        let f = records::read(&per_image)?;
        if let Some(r) = f.records.iter().find(|r| r.model_hash != hash) {
            return Err(ReportError::OtherModel {
                path: per_image.clone(),
                found: r.model_hash.clone(),
                expected: hash,
            });
        }
        let resume_err = |reason: String| ReportError::Resume {
            path: per_image.clone(),
            reason,
        };
        if f.metrics != metrics {
            return Err(resume_err(format!(
                "its metric columns are [{}] but this run computes [{}]",
                f.metrics
                    .iter()
                    .map(|m| m.key())
                    .collect::<Vec<_>>()
                    .join(", "),
                metrics
                    .iter()
                    .map(|m| m.key())
                    .collect::<Vec<_>>()
                    .join(", ")
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
        if json_path.is_file() {
            let old: serde_json::Value = std::fs::read(&json_path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| resume_err(format!("{} is unreadable", json_path.display())))?;
            let old_settings = &old["settings"];
            if old_settings != &settings {
                let differ: Vec<String> = settings
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter(|(k, v)| old_settings.get(k.as_str()) != Some(v))
                            .map(|(k, v)| {
                                format!(
                                    "{k}: {} -> {v}",
                                    old_settings
                                        .get(k.as_str())
                                        .unwrap_or(&serde_json::Value::Null)
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                return Err(resume_err(format!(
                    "the settings differ from {}: {}",
                    json_path.display(),
                    differ.join("; ")
                )));
            }
        }
        if f.complete_len < f.file_len {
            torn = Some(f.complete_len);
        }
    }
    let resumed_pairs = done
        .iter()
        .filter(|(i, m)| chosen.contains(i) && methods.contains(m))
        .count();

    // Write: the directory, the header or the cut of a torn row, score.json.
    std::fs::create_dir_all(out_dir).map_err(|e| ReportError::io(out_dir, e))?;
    if let Some(len) = torn {
        records::truncate(&per_image, len)?;
    }
    if !per_image.exists() {
        crate::io::write_atomic(&per_image, records::header(&metrics).as_bytes())
            .map_err(|e| ReportError::io(&per_image, e))?;
    }
    let images_path = out_dir.join(files::IMAGES);
    crate::io::write_atomic(
        &images_path,
        images_csv(&chosen, split, data.classes).as_bytes(),
    )
    .map_err(|e| ReportError::io(&images_path, e))?;
    let timing_cols: Vec<String> = std::iter::once("attribution_s".to_string())
        .chain(metrics.iter().map(|m| format!("{}_s", m.key())))
        .collect();
    if !timings_path.exists() {
        let head = format!("image,method,{},total_s,device\n", timing_cols.join(","));
        crate::io::write_atomic(&timings_path, head.as_bytes())
            .map_err(|e| ReportError::io(&timings_path, e))?;
    } else {
        // Cut a row torn by an interruption (timings are informative, not resumed from).
        let bytes = std::fs::read(&timings_path).map_err(|e| ReportError::io(&timings_path, e))?;
        if bytes.last().is_some_and(|&b| b != b'\n') {
            let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            records::truncate(&timings_path, keep)?;
        }
    }
    let write_json = |status: &str, extra: serde_json::Value| -> Result<(), ReportError> {
        let mut j = serde_json::json!({
            "format": "sarxai-score-1",
            "status": status,
            "settings": settings,
            "images": n,
            "selection": cfg.selection,
            "selection_digest": digest,
            "methods": methods,
            "device": crate::device::describe(model.device()),
            "versions": crate::train::manifest::Versions::current(),
        });
        if let (Some(o), Some(e)) = (j.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        let mut bytes = serde_json::to_vec_pretty(&j).expect("score.json serialises");
        bytes.push(b'\n');
        crate::io::write_atomic(&json_path, &bytes).map_err(|e| ReportError::io(&json_path, e))
    };
    write_json("running", serde_json::json!({}))?;

    // The randomised models, once.
    let mprt_fc = if metrics.contains(&Metric::MprtFc) {
        Some(randomised_copy(
            model,
            &[Stage::Fc],
            cfg.randomisation_seed,
        )?)
    } else {
        None
    };
    let mprt_all = if metrics.contains(&Metric::MprtAll) {
        Some(randomised_copy(
            model,
            &Stage::TOP_DOWN,
            cfg.randomisation_seed,
        )?)
    } else {
        None
    };
    let ctx = Ctx {
        cfg,
        model,
        data,
        metrics: &metrics,
        mprt_fc: mprt_fc.as_ref(),
        mprt_all: mprt_all.as_ref(),
    };

    let pending: usize = chosen
        .iter()
        .map(|&i| methods.iter().filter(|&&m| !done.contains(&(i, m))).count())
        .sum();
    let bar = if cfg.progress {
        crate::progress::bar(pending as u64, "score")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let attributors: BTreeMap<Method, Box<dyn Attribution>> = methods
        .iter()
        .map(|&m| (m, m.with_defaults(cfg.budget)))
        .collect();
    let mut timings: BTreeMap<Method, MethodTiming> = BTreeMap::new();
    let mut computed_pairs = 0;
    let device_desc = crate::device::describe(model.device());
    for (position, &i) in chosen.iter().enumerate() {
        let todo: Vec<Method> = methods
            .iter()
            .copied()
            .filter(|&m| !done.contains(&(i, m)))
            .collect();
        if todo.is_empty() {
            continue;
        }
        let img = ctx.image(i)?;
        let (mut rows, mut trows) = (String::new(), String::new());
        for m in todo {
            bar.set_message(format!("image {}/{n} {}", position + 1, m.name()));
            let (values, secs) = ctx
                .score_pair(&img, attributors[&m].as_ref())
                .map_err(|e| ReportError::Scoring {
                    image: i,
                    member: split.members[i].clone(),
                    method: m,
                    source: Box::new(e),
                })?;
            let rec = ImageRecord {
                image: i,
                member: split.members[i].clone(),
                file: ctx.file_of(i),
                label: img.label,
                label_name: data.classes[img.label as usize].clone(),
                predicted: img.predicted,
                predicted_name: data.classes[img.predicted as usize].clone(),
                target: img.target,
                method: m,
                values,
                model_hash: hash.clone(),
            };
            rows.push_str(&rec.to_csv_row(&metrics));
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

    // Table 1 from the file, so that a resumed run gives the uninterrupted table.
    let all: Vec<ImageRecord> = records::read(&per_image)?
        .records
        .into_iter()
        .filter(|r| chosen.contains(&r.image))
        .collect();
    let paper_pol = cfg.paper_pol.or(data.pol).map(|p| p.to_string());
    let embedded;
    let paper = match &cfg.paper {
        Some(p) => p,
        None => {
            embedded = PaperTable::embedded();
            &embedded
        }
    };
    let meta = TableMeta {
        pol: data.pol.map(|p| p.to_string()),
        paper_pol,
        model_hash: hash.clone(),
        images: n,
        target: cfg.target.key().to_string(),
        notes: notes(cfg, &metrics, true, &digest),
    };
    let table = Table1::from_records(&all, &methods, &metrics, meta, Some(paper));
    let mut written = vec![per_image.clone(), timings_path.clone(), images_path];
    written.extend(table.write(out_dir)?);

    // Figure 1 and the encoder settings, from the figure image's attributions.
    let (figure, sweep_path, sweep_summary) = ctx.figure_and_sweep(
        &attributors,
        &methods,
        &all,
        chosen[cfg.figure_image],
        &hash,
        out_dir,
    )?;
    written.push(figure.clone());
    written.push(sweep_path);
    written.push(json_path.clone());
    write_json(
        "complete",
        serde_json::json!({
            "resumed_pairs": resumed_pairs,
            "computed_pairs": computed_pairs,
            "seconds_per_image_this_session": timings,
            "entropy_settings": sweep_summary,
            "table1_means": table.means(),
        }),
    )?;
    Ok(ScoreSummary {
        out_dir: out_dir.to_path_buf(),
        model_hash: hash,
        images: n,
        chosen,
        selection_digest: digest,
        resumed_pairs,
        computed_pairs,
        metrics,
        table,
        figure,
        files: written,
        timings,
    })
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
    let x = crate::eval::input_tensor(
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
        let x = crate::eval::input_tensor(
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
    fn image_seeds_differ_per_image_and_seed() {
        assert_ne!(image_seed(0, 0), image_seed(0, 1));
        assert_ne!(image_seed(0, 1), image_seed(1, 0));
        assert_eq!(image_seed(7, 3), image_seed(7, 3));
    }
}
