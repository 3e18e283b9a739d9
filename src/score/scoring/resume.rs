//! Resumption of a score directory: what `per_image.csv` already holds, checked against the
//! plan (model hash, metric columns, test split members, settings), and the directory made
//! ready to append to (torn rows cut, headers written).

use std::collections::BTreeSet;
use std::path::Path;

use super::{files, Plan};
use crate::attr::Method;
use crate::data::SplitData;
use crate::score::metric::Metric;
use crate::score::records;
use crate::score::ScoreError;

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
) -> Result<Resume, ScoreError> {
    let per_image = out_dir.join(files::PER_IMAGE);
    let mut done: BTreeSet<(usize, Method)> = BTreeSet::new();
    if !per_image.exists() {
        return Ok(Resume { done, torn: None });
    }
    let hash = &plan.meta.model_hash;
    let f = records::read(&per_image)?;
    if let Some(r) = f.records.iter().find(|r| &r.model_hash != hash) {
        return Err(ScoreError::OtherModel {
            path: per_image.clone(),
            found: r.model_hash.clone(),
            expected: hash.clone(),
        });
    }
    let resume_err = |reason: String| ScoreError::Resume {
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
pub(crate) fn prepare_dir(plan: &Plan, out_dir: &Path, resume: &Resume) -> Result<(), ScoreError> {
    let per_image = out_dir.join(files::PER_IMAGE);
    let timings_path = out_dir.join(files::TIMINGS);
    std::fs::create_dir_all(out_dir).map_err(|e| ScoreError::io(out_dir, e))?;
    if let Some(len) = resume.torn {
        records::truncate(&per_image, len)?;
    }
    if !per_image.exists() {
        crate::io::write_atomic(&per_image, records::header(&plan.metrics).as_bytes())
            .map_err(|e| ScoreError::io(&per_image, e))?;
    }
    if !timings_path.exists() {
        crate::io::write_atomic(&timings_path, timings_header(&plan.metrics).as_bytes())
            .map_err(|e| ScoreError::io(&timings_path, e))?;
    } else {
        // Cut a row torn by an interruption (timings are informative, not resumed from).
        let bytes = std::fs::read(&timings_path).map_err(|e| ScoreError::io(&timings_path, e))?;
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
