//! The run directory's layout: every file and folder name of a run, in one place (issue
//! 29). No other module spells these names; `tests/architecture.rs` fails on a literal of
//! one elsewhere.
//!
//! A `reproduce` run directory holds, for each channel `<key>` (`vh`, `vv`, or the data's
//! one channel, e.g. `hh`), a training run `<key>/` ([`train`]) and a score directory
//! `score-<key>/` ([`score`]), and at its top the study's records: [`RESULTS`], [`PINS`],
//! [`CLAIMS_JSON`], [`CLAIMS_TXT`], [`TIMINGS_JSON`] and [`REPORT_HTML`].

use std::path::{Path, PathBuf};

/// Accuracies, Table 1 means and the evidence of every claim (JSON).
pub const RESULTS: &str = "results.json";
/// The pins recorded by the run: data, splits, seeds, model hashes, versions (JSON).
pub const PINS: &str = "pins.json";
/// One verdict per claim with its evidence (JSON).
pub const CLAIMS_JSON: &str = "claims.json";
/// The verdict table with its marks (text).
pub const CLAIMS_TXT: &str = "claims.txt";
/// Seconds per stage (JSON).
pub const TIMINGS_JSON: &str = "timings.json";
/// The report page.
pub const REPORT_HTML: &str = "report.html";
/// Table 1 over each channel's models, with the spread between and within models
/// (`reproduce --replicates R`, R > 1; Markdown).
pub const TABLE1_MODELS_MD: &str = "table1_models.md";

/// The unit key of a channel's model number `replicate` (`reproduce --replicates R`): the
/// channel's key for its base model (0), `<key>-r<replicate>` for the others. Every file
/// of a model lives under its unit key: `RUN/<unit>/`, `RUN/score-<unit>/`.
pub fn replicate_key(key: &str, replicate: usize) -> String {
    if replicate == 0 {
        key.to_string()
    } else {
        format!("{key}-r{replicate}")
    }
}

/// Whether `unit` names a replicate model (`vh-r1`), not a channel's base model.
pub fn is_replicate(unit: &str) -> bool {
    unit.rsplit_once("-r")
        .is_some_and(|(_, k)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

/// The training run of channel `key`: `RUN/<key>`.
pub fn train_dir(run: &Path, key: &str) -> PathBuf {
    run.join(key)
}

/// The score directory of channel `key`: `RUN/score-<key>`.
pub fn score_dir(run: &Path, key: &str) -> PathBuf {
    run.join(format!("score-{key}"))
}

/// File names inside a training run directory.
pub mod train {
    /// The effective configuration (YAML).
    pub const CONFIG: &str = "config.yaml";
    /// The run manifest (JSON).
    pub const MANIFEST: &str = "run.json";
    /// Model, optimizer and loop state after the last completed epoch.
    pub const CHECKPOINT: &str = "checkpoint.safetensors";
    /// Final weights (torchvision state_dict names).
    pub const WEIGHTS: &str = "model.safetensors";
    /// The final model's hash, `sha256sum`-like: `<hash>  model.safetensors`.
    pub const MODEL_HASH: &str = "model.sha256";
    /// One JSON object per completed epoch.
    pub const METRICS: &str = "metrics.jsonl";
    /// Loss, accuracy and learning rate per epoch.
    pub const CURVE: &str = "curve.png";
    /// Test-split evaluation (JSON).
    pub const EVAL_JSON: &str = "eval.json";
    /// Test-split evaluation (text).
    pub const EVAL_TEXT: &str = "eval.txt";
    /// The test split's confusion matrix.
    pub const CONFUSION: &str = "confusion.png";
}

/// File names inside a score directory (`sarxai score --out`, or `RUN/score-<key>`).
pub mod score {
    /// One row per image x method with every metric.
    pub const PER_IMAGE: &str = "per_image.csv";
    /// Seconds of each image x method: the attribution, each metric, the total, the device.
    pub const TIMINGS: &str = "timings.csv";
    /// Figure 1's image: XAI entropy of each method under every PNG encoder setting.
    pub const ENTROPY_SETTINGS: &str = "entropy_settings.csv";
    /// The run's settings, provenance and summary.
    pub const SCORE_JSON: &str = "score.json";
    /// The explained test images (`position,image,member,label`).
    pub const IMAGES: &str = "images.csv";
    /// A shard's manifest (`score --shard I/N`).
    pub const SHARD_JSON: &str = "shard.json";
    /// Table 1 as Markdown.
    pub const TABLE1_MD: &str = "table1.md";
    /// Table 1 as CSV.
    pub const TABLE1_CSV: &str = "table1.csv";
    /// Table 1 as JSON.
    pub const TABLE1_JSON: &str = "table1.json";

    /// `figure1_<pol>.png`, `<pol>` being `vh`, `vv` or `single`.
    pub fn figure(pol: &str) -> String {
        format!("figure1_{pol}.png")
    }
}

/// File names of `sarxai explain --out DIR` besides `<method>.npy`.
pub mod explain {
    /// Seconds per method (JSON).
    pub const TIMINGS: &str = "timings.json";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicate_units_are_named_after_their_channel() {
        assert_eq!(replicate_key("vh", 0), "vh");
        assert_eq!(replicate_key("vh", 2), "vh-r2");
        assert!(is_replicate("vh-r2") && is_replicate("single-r10"));
        assert!(!is_replicate("vh") && !is_replicate("vh-r") && !is_replicate("hh-rx"));
    }
}
