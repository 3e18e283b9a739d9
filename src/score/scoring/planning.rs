//! Stage 1 of scoring, nothing written: the input checked against the model, the explained
//! images selected, the methods and metric columns fixed, the settings every per-image value
//! depends on and Table 1's description ([`Plan`]).

use serde::{Deserialize, Serialize};

use super::{pol_name, ScoreConfig, ScoreData};
use crate::attr::Method;
use crate::model::{self, ResNet};
use crate::score::metric::Metric;
use crate::score::selection::{images_csv, select, selection_digest, Selection};
use crate::score::table::{PaperTable, TableMeta};
use crate::score::ScoreError;

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
    v.push(crate::mkl::in_force().describe());
    v.extend(
        cfg.weights_source
            .iter()
            .map(|s| format!("weights imported from a PyTorch file: {s}")),
    );
    v
}

/// Everything a scoring run fixes before it computes: the explained images, the methods
/// and metric columns, the settings every value depends on and Table 1's description. A
/// shard records it in its manifest and [`crate::score::merge()`] requires every shard's to
/// be equal.
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
    /// [`super::ScoreConfig::weights_source`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_source: Option<String>,
}

/// Stage 1, nothing written: checks the input, selects the explained images and fixes the
/// settings ([`Plan`]).
pub fn plan(cfg: &ScoreConfig, model: &ResNet, data: &ScoreData) -> Result<Plan, ScoreError> {
    if cfg.methods.is_empty() {
        return Err(ScoreError::Config("no methods to score".into()));
    }
    let split = data.split;
    if model.config.num_classes as usize != data.classes.len() {
        return Err(ScoreError::Config(format!(
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
        return Err(ScoreError::Config(format!(
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
        weights_source: cfg.weights_source.clone(),
    })
}

/// The class `model` predicts for test image `i` of `split`: the unfolded forward of one
/// image, as a `correct_only` selection asks it. `claims check` re-derives the selection
/// with this same function, so an image whose top two logits nearly tie is judged alike
/// (the batched, BatchNorm-folded forward of the test evaluation may round it the other
/// way).
pub fn predicted_class(model: &ResNet, split: &crate::data::SplitData, i: usize) -> i64 {
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
