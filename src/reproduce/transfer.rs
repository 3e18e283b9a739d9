//! The transfer profile's plan: which channels a labelled SAR chip set holds, what its
//! polarization is called, which image axis is range, and how the paper's VH and VV
//! claims map onto it ([`crate::claims::Transfer`]), all decided from the files before
//! any training.

use std::path::Path;

use anyhow::{Context, Result};

use crate::claims::Transfer;
use crate::data::dataset::HeldPolarizations;
use crate::data::naming::class_key;
use crate::data::{Dataset, DatasetConfig, Pol};
use crate::train::augment::RangeAxis;

/// MSTAR SOC's ten target classes (the public MSTAR release, 17/15-degree split).
pub const MSTAR_SOC_CLASSES: [&str; 10] = [
    "2S1", "BMP2", "BRDM_2", "BTR_60", "BTR_70", "D7", "T62", "T72", "ZIL131", "ZSU_23_4",
];

/// One channel the study runs on: the polarization to load (`None`: the files' one band)
/// and its key (`hh`, `vh`, `vv`: run sub-directories `RUN/<key>`, `score-<key>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// The polarization chosen when loading, `None` for single-band files.
    pub pol: Option<Pol>,
    /// The channel's key.
    pub key: String,
}

/// What a transfer run trains and scores, and how its verdicts read it.
#[derive(Debug, Clone)]
pub struct TransferPlan {
    /// The channels, in the order they run.
    pub channels: Vec<Channel>,
    /// Range axis of the data (the `sar` augmentation flips only across azimuth).
    pub range_axis: RangeAxis,
    /// The record results.json keeps.
    pub transfer: Transfer,
}

/// Whether `classes` are MSTAR SOC's ten (any spelling: `BRDM_2`, `brdm2`).
fn is_mstar_soc(classes: &[String]) -> bool {
    let mut keys: Vec<String> = classes.iter().map(|c| class_key(c)).collect();
    let mut known: Vec<String> = MSTAR_SOC_CLASSES.iter().map(|c| class_key(c)).collect();
    keys.sort();
    known.sort();
    keys == known
}

/// The plan for `root` read with `dataset` (format group, discovery options):
/// * dual-polarization data (VH/VV pairs or two-band files) run VH and VV, each claim on
///   its own polarization;
/// * single-polarization data run one channel that tests both the VH and the VV claims:
///   named by the files' suffix, else by `channel_name`, else `hh` for MSTAR SOC
///   (recognised by its ten class names: X-band HH, range along the rows), else `single`.
///
/// `range_axis` overrides the data's (MSTAR: `y`; otherwise `x`, Sentinel-1 GRD chips).
pub fn plan(
    root: &Path,
    dataset: &DatasetConfig,
    channel_name: Option<&str>,
    range_axis: Option<RangeAxis>,
) -> Result<TransferPlan> {
    let (classes, held) = Dataset::polarizations(root, dataset)
        .with_context(|| format!("reading what {} holds", root.display()))?;
    let mstar = is_mstar_soc(&classes);
    let dataset_name = if mstar {
        "MSTAR SOC".to_string()
    } else {
        root.file_name().map_or_else(
            || root.display().to_string(),
            |n| n.to_string_lossy().into(),
        )
    };
    let (channels, how) = match held {
        HeldPolarizations::Both => (
            Pol::ALL
                .iter()
                .map(|&p| Channel {
                    pol: Some(p),
                    key: p.suffix().into(),
                })
                .collect::<Vec<_>>(),
            "VH and VV held: each claim on its own polarization".to_string(),
        ),
        held => {
            let (key, why) = match (held, channel_name) {
                (_, Some(n)) => (n.to_lowercase(), "as named by --channel-name"),
                (HeldPolarizations::One(p), None) => (p.suffix().into(), "named by the files"),
                (_, None) if mstar => (
                    "hh".into(),
                    "MSTAR SOC, recognised by its ten class names, is X-band HH",
                ),
                _ => (
                    "single".into(),
                    "its polarization not named by the files (--channel-name names it)",
                ),
            };
            let pol = match held {
                HeldPolarizations::One(p) => Some(p),
                _ => None,
            };
            let how = format!(
                "one polarization, {} ({why}): it tests both the VH and the VV claims",
                key.to_uppercase()
            );
            (vec![Channel { pol, key }], how)
        }
    };
    let range_axis = range_axis.unwrap_or(if mstar { RangeAxis::Y } else { RangeAxis::X });
    let transfer = Transfer {
        dataset: dataset_name,
        channels: ["vh", "vv"]
            .iter()
            .map(|p| {
                let ch = channels
                    .iter()
                    .find(|c| c.key == *p)
                    .unwrap_or(&channels[0]);
                (p.to_string(), ch.key.clone())
            })
            .collect(),
        rule: how,
    };
    Ok(TransferPlan {
        channels,
        range_axis,
        transfer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mstar_is_recognised_by_its_class_names_in_any_spelling() {
        let names: Vec<String> = MSTAR_SOC_CLASSES
            .iter()
            .map(|c| c.to_lowercase().replace('_', ""))
            .collect();
        assert!(is_mstar_soc(&names));
        assert!(!is_mstar_soc(&names[..9]));
    }
}
