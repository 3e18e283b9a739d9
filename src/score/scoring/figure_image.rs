//! Figure 1 of the figure image and `entropy_settings.csv`, how the size of each method's
//! heat-map PNG moves with the encoder's settings: written by whoever scores the figure
//! image (the whole run, or the shard that holds it).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::per_image::{Ctx, Img};
use super::{files, pol_name, TargetChoice};
use crate::attr::{Attribution, Method};
use crate::metrics::entropy::{heatmaps_u8, size_sweep};
use crate::score::figure::{render_figure1, FigureInput, FigurePanel};
use crate::score::metric::Metric;
use crate::score::records::ImageRecord;
use crate::score::ScoreError;

/// The header of `entropy_settings.csv`.
const SWEEP_HEADER: &str = "method,compression,filter,png_bytes,kb,ratio_to_default\n";

impl Ctx<'_> {
    /// Figure 1 of the figure image `i` and `entropy_settings.csv` from its maps; returns
    /// the sweep's summary (bytes per method) for `score.json`.
    pub(super) fn figure_and_sweep(
        &self,
        attributors: &BTreeMap<Method, Box<dyn Attribution>>,
        methods: &[Method],
        all: &[ImageRecord],
        i: usize,
        hash: &str,
        out_dir: &Path,
    ) -> Result<serde_json::Value, ScoreError> {
        let img = self.image(i)?;
        let order: Vec<Method> = crate::score::table::PAPER_ORDER
            .iter()
            .copied()
            .filter(|m| methods.contains(m))
            .collect();
        let mut panels = Vec::new();
        let mut sweep = String::from(SWEEP_HEADER);
        let mut summary = serde_json::Map::new();
        for m in &order {
            let map = self.heatmap(attributors[m].as_ref(), &img)?;
            panels.push(panel(*m, all, i, map.clone()));
            summary.insert(m.name().to_string(), self.sweep_rows(*m, &map, &mut sweep));
        }
        let sweep_path = out_dir.join(files::ENTROPY_SETTINGS);
        crate::io::write_atomic(&sweep_path, sweep.as_bytes())
            .map_err(|e| ScoreError::io(&sweep_path, e))?;
        let fig = render_figure1(&self.figure_input(&img, i, panels, hash))?;
        let path = out_dir.join(files::figure(&pol_name(self.data.pol)));
        crate::io::write_atomic(&path, &fig.png).map_err(|e| ScoreError::io(&path, e))?;
        Ok(serde_json::Value::Object(summary))
    }

    /// The 8-bit heat map of `method`'s attribution of `img` (the map the XAI entropy
    /// encodes).
    fn heatmap(&self, method: &dyn Attribution, img: &Img) -> Result<Vec<u8>, ScoreError> {
        let size = self.data.split.size as i64;
        let a = method.attribute(self.model, &img.x, &img.t)?.detach();
        Ok(heatmaps_u8(&a, size, size, &self.cfg.entropy).remove(0))
    }

    /// Appends the `entropy_settings.csv` rows of method `m`'s `map` (its PNG size under
    /// every encoder setting, in KB and relative to the default setting) to `sweep`; returns
    /// the method's summary: default, smallest and largest size in bytes.
    fn sweep_rows(&self, m: Method, map: &[u8], sweep: &mut String) -> serde_json::Value {
        let size = self.data.split.size;
        let rows = size_sweep(map, size as u32, size as u32);
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
        serde_json::json!({ "default_bytes": default, "min_bytes": lo, "max_bytes": hi })
    }

    /// Figure 1's text and images for image `i`: heading (image, classes, explained class),
    /// the input panel, the heatmap `panels` and the caption (settings and model hash).
    fn figure_input(
        &self,
        img: &Img,
        i: usize,
        panels: Vec<FigurePanel>,
        hash: &str,
    ) -> FigureInput {
        let split = self.data.split;
        let classes = self.data.classes;
        let pol_up = self.data.pol.map(|p| p.to_string().to_uppercase());
        FigureInput {
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
            size: split.size,
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
        }
    }
}

/// Method `m`'s Figure 1 panel: its title, its Max-Sensitivity on image `i` from the
/// scored records `all`, and its heat `map`.
fn panel(m: Method, all: &[ImageRecord], i: usize, map: Vec<u8>) -> FigurePanel {
    let ms = all
        .iter()
        .find(|r| r.image == i && r.method == m)
        .and_then(|r| r.values.get(&Metric::MaxSensitivity).copied());
    FigurePanel {
        title: m.title().to_string(),
        subtitle: match ms {
            Some(v) => format!("MS = {v:.4}"),
            None => "MS not computed".into(),
        },
        map,
    }
}

/// The serde name of a unit enum variant (kebab-case for the entropy settings).
fn ser_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_string))
        .unwrap_or_default()
}
