//! The per-image metrics of a scoring run: their column names, titles and directions
//! ([`Metric`]), and how each is computed ([`Metric::values`] on an [`Explained`] batch):
//! the one dispatch that `score` (one image at a time) and `sarxai metrics` (arrays made
//! anywhere) share, so a value of one equals the other's for the same attribution.

mod explained;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use explained::{values_of, Explained, MetricSettings, ModelInputs, Need, Randomised};

use super::ScoreError;
use crate::metrics::faithfulness::Game;
use crate::metrics::localisation::{pointing_game, relevance_mass_accuracy_as};
use crate::metrics::randomisation::Stage;
use crate::metrics::sparseness::sparseness_as;

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Lower values are better.
    Lower,
    /// Higher values are better.
    Higher,
}

/// Declares [`Metric`] from one table, a row per metric: its doc, variant, key and title.
/// The row order is the column order (`plan`, `per_image.csv` and Table 1 sort by the
/// derived `Ord`), and [`Metric::ALL`], [`Metric::key`] and [`Metric::title`] follow it, so
/// a new metric is one row here and one arm of [`Metric::values`].
macro_rules! metric_table {
    ($($(#[doc = $doc:literal])* $variant:ident => $key:literal, $title:literal;)*) => {
        /// A per-image score of one explanation. The key ([`Metric::key`]) is the column name
        /// in `per_image.csv` and `table1.csv`, and the metric name in `results.json` and the
        /// paper's table (`fixtures/paper_table1.yaml`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Metric {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Metric {
            /// Every metric, in column order.
            pub const ALL: [Metric; [$($key),*].len()] = [$(Metric::$variant),*];

            /// Column name.
            pub fn key(self) -> &'static str {
                match self {
                    $(Metric::$variant => $key,)*
                }
            }

            /// Column title in Table 1.
            pub fn title(self) -> &'static str {
                match self {
                    $(Metric::$variant => $title,)*
                }
            }
        }
    };
}

metric_table! {
    /// Captum's `sensitivity_max` (radius 0.02, 10 samples, Frobenius, relative).
    MaxSensitivity => "max_sensitivity", "Max-Sensitivity";
    /// The same as Captum 0.9 reports it when called the paper's way, one image at a time
    /// with the method's own `attribute`: Grad-CAM `sqrt(samples)` times
    /// [`Metric::MaxSensitivity`], every other method equal to it
    /// ([`crate::metrics::sensitivity::captum09_reported`]). The paper's Table 1 values.
    MaxSensitivityCaptum09 => "max_sensitivity_captum09", "Max-Sens. (Captum 0.9)";
    /// PNG byte size of the 8-bit heatmap in KB = 1000 bytes (the paper's "XAI entropy").
    EntropyKb => "entropy_kb", "XAI entropy (KB)";
    /// Shannon entropy of the same 8-bit heatmap, bits per pixel.
    ShannonBits => "shannon_bits", "Shannon (bits)";
    /// Gini index of |attribution| at the input resolution.
    Sparseness => "sparseness", "Sparseness (Gini)";
    /// Share of positive relevance inside the ground-truth mask.
    RelevanceMassAccuracy => "relevance_mass_accuracy", "Relevance mass acc.";
    /// 1 when the maximum lies in the ground-truth mask.
    PointingGame => "pointing_game", "Pointing game";
    /// Area under the deletion curve of the target's softmax probability.
    DeletionAuc => "deletion_auc", "Deletion AUC";
    /// Area under the insertion curve.
    InsertionAuc => "insertion_auc", "Insertion AUC";
    /// Captum's `infidelity` (Gaussian noise sigma 0.003, 10 samples, not normalised).
    Infidelity => "infidelity", "Infidelity";
    /// Spearman correlation of |attribution| with the model's `fc` re-initialised.
    MprtFc => "mprt_fc_spearman", "MPRT rho (fc)";
    /// Spearman correlation of |attribution| with every stage re-initialised (cascade).
    MprtAll => "mprt_all_spearman", "MPRT rho (all)";
}

impl Metric {
    /// This metric of each explanation of `e` (NaN where undefined): the one place a
    /// metric is computed, for `score` and `sarxai metrics` alike. Errors name what a
    /// metric needs and `e` lacks ([`ScoreError::Needs`]).
    pub fn values(self, e: &Explained) -> Result<Vec<f64>, ScoreError> {
        match self {
            Metric::MaxSensitivity => Ok(e.max_sensitivity(self)?.to_vec()),
            Metric::MaxSensitivityCaptum09 => e.max_sensitivity_captum09(self),
            Metric::EntropyKb => Ok(e.entropy()?.iter().map(|s| s.kb).collect()),
            Metric::ShannonBits => Ok(e.entropy()?.iter().map(|s| s.shannon_bits).collect()),
            Metric::Sparseness => values_of(&sparseness_as(&e.full, e.convention)?),
            Metric::RelevanceMassAccuracy => values_of(&relevance_mass_accuracy_as(
                &e.full,
                e.masks(self)?,
                e.convention,
            )?),
            Metric::PointingGame => values_of(&pointing_game(&e.full, e.masks(self)?)?),
            Metric::DeletionAuc => e.auc(self, Game::Deletion),
            Metric::InsertionAuc => e.auc(self, Game::Insertion),
            Metric::Infidelity => e.infidelity(self),
            Metric::MprtFc | Metric::MprtAll => e.mprt(self),
        }
    }

    /// The stages the randomisation test re-initialises, for its metrics (top-down).
    pub fn randomised_stages(self) -> Option<&'static [Stage]> {
        match self {
            Metric::MprtFc => Some(&[Stage::Fc]),
            Metric::MprtAll => Some(&Stage::TOP_DOWN),
            _ => None,
        }
    }

    /// The paper's two metrics (Max-Sensitivity both as defined and as Captum 0.9 reports it).
    pub const PAPER: [Metric; 3] = [
        Metric::MaxSensitivity,
        Metric::MaxSensitivityCaptum09,
        Metric::EntropyKb,
    ];

    /// What the better direction is (for the randomisation test: lower correlation, i.e.
    /// the explanation changes when the learned weights are destroyed).
    pub fn better(self) -> Better {
        match self {
            Metric::RelevanceMassAccuracy
            | Metric::PointingGame
            | Metric::InsertionAuc
            | Metric::Sparseness => Better::Higher,
            _ => Better::Lower,
        }
    }

    /// Decimals shown in Table 1.
    pub fn decimals(self) -> usize {
        match self {
            Metric::EntropyKb => 3,
            Metric::ShannonBits => 3,
            Metric::Infidelity => 3,
            _ => 4,
        }
    }

    /// Shown in scientific notation (values spanning orders of magnitude near 0).
    pub fn scientific(self) -> bool {
        matches!(self, Metric::Infidelity)
    }

    /// Needs the ground-truth masks of the data.
    pub fn needs_masks(self) -> bool {
        matches!(self, Metric::RelevanceMassAccuracy | Metric::PointingGame)
    }

    /// The metrics a comma-separated list names (`all`, `paper`, or keys).
    pub fn parse_list(s: &str) -> Result<Vec<Metric>, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => return Ok(Metric::ALL.to_vec()),
            "paper" => return Ok(Metric::PAPER.to_vec()),
            _ => {}
        }
        let mut out: Vec<Metric> = Vec::new();
        for part in s.split(',') {
            let m: Metric = part.trim().parse()?;
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out.sort();
        Ok(out)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let k = s.trim().to_ascii_lowercase().replace('-', "_");
        let k = match k.as_str() {
            "ms" | "sensitivity" => "max_sensitivity",
            "ms_captum09" | "captum09" => "max_sensitivity_captum09",
            "entropy" | "xai_entropy" => "entropy_kb",
            "shannon" => "shannon_bits",
            "rma" => "relevance_mass_accuracy",
            "deletion" => "deletion_auc",
            "insertion" => "insertion_auc",
            "mprt_fc" => "mprt_fc_spearman",
            "mprt_all" | "mprt" | "randomisation" => "mprt_all_spearman",
            other => other,
        };
        Metric::ALL
            .into_iter()
            .find(|m| m.key() == k)
            .ok_or_else(|| {
                format!(
                    "unknown metric '{s}': expected one of {}, paper or all",
                    Metric::ALL.map(|m| m.key()).join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_lists_parse() {
        for m in Metric::ALL {
            assert_eq!(m.key().parse::<Metric>().unwrap(), m);
        }
        assert_eq!(
            Metric::parse_list("entropy, ms").unwrap(),
            vec![Metric::MaxSensitivity, Metric::EntropyKb]
        );
        assert_eq!(Metric::parse_list("paper").unwrap(), Metric::PAPER.to_vec());
        assert!(Metric::parse_list("max_sensitivity,bogus")
            .unwrap_err()
            .contains("unknown metric 'bogus'"));
    }
}
