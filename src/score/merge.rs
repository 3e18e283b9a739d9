//! Scale-out scoring: a shard `i/n` of a selection, its manifest, and [`merge`], which
//! checks a set of shard directories and writes exactly what a single-process
//! [`super::scoring::score`] writes.
//!
//! # Shards
//!
//! Shards are numbered from 0, as a Slurm array `--array=0-(N-1)` or a CI matrix index:
//! shard `i/n` scores the images at positions `p` of the selection with `p mod n = i`
//! (every n-th image, so each shard gets a share of every part of the selection order).
//! Every shard computes the same selection (same seed, same digest) and scores each of
//! its images exactly as a single process does: the noise of image `i` is seeded by
//! [`super::scoring::image_seed`]`(seed, i)` and the randomised models of the MPRT metrics by
//! their own seed, so no value depends on which other images a process scored.
//!
//! A shard directory holds `per_image.csv` and `timings.csv` (its rows only), Figure 1 and
//! `entropy_settings.csv` when the figure image is its own, and `shard.json`
//! ([`ShardManifest`]: the shard, the [`Plan`] with model hash, settings and selection
//! digest, the device, and the images it covered), written atomically, `"running"` before
//! and `"complete"` after the work. It has no Table 1 and no `score.json`.
//!
//! # Merge
//!
//! [`merge`] requires every shard to be complete, of the same count `n` and the same plan
//! (model hash, test split, settings, methods, metrics, selection and its digest, Table 1's
//! description) and the same sarxai, tch and libtorch versions; the shards `0..n` must each
//! be given once and each must cover exactly its images x methods. Errors name the shard
//! directories, the differing settings, and the missing or duplicated shards and images.
//! It then writes `per_image.csv` (rows in the selection order, as a single process writes
//! them), `timings.csv` (the shards' rows in the same order: wall-clock seconds, not
//! comparable with another run's), Figure 1 and `entropy_settings.csv` (copied from the
//! figure image's shard) and runs [`finish`] (the stage `score` ends with): `images.csv`,
//! `table1.{md,csv,json}`, `score.json`. `score.json` records the device; where shards ran
//! on different devices it lists them all (`"a; b"`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::records::{self, ImageRecord};
use super::scoring::{
    files, finish, settings_diff, timings_header, FinishInput, Plan, Provenance, ShardManifest,
};
use super::shard::{Shard, ShardError};
use super::table::Table1;
use super::ScoreError;
use crate::attr::Method;

/// Errors of [`merge`].
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A shard specification or a shard directory that cannot be read.
    #[error(transparent)]
    Shard(#[from] ShardError),
    /// No shard directory was given.
    #[error("no shard directories to merge")]
    NoShards,
    /// A shard whose scoring has not finished.
    #[error("shard {shard} in {path} is not complete (status {status:?}): run its sarxai score --shard {shard} again to finish it")]
    Incomplete {
        /// The shard directory.
        path: PathBuf,
        /// Its shard.
        shard: Shard,
        /// Its status (`running`).
        status: String,
    },
    #[error(
        "shard {shard} in {path} does not belong with shard {first} in {first_path}: {differ}"
    )]
    /// Shards of different runs (plan, settings or provenance differ).
    Mismatch {
        /// The shard directory.
        path: PathBuf,
        /// Its shard.
        shard: Shard,
        /// The first shard's directory.
        first_path: PathBuf,
        /// The first shard.
        first: Shard,
        /// What differs.
        differ: String,
    },
    /// The same shard given twice.
    #[error("shard {shard} is given twice: {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" and "))]
    Duplicate {
        /// The shard.
        shard: Shard,
        /// Its two directories.
        paths: Vec<PathBuf>,
    },
    /// Shards of the run that were not given.
    #[error("missing shard(s) {} of {count}: each of 0 to {} must be given once", missing.iter().map(|i| format!("{i}/{count}")).collect::<Vec<_>>().join(", "), count - 1)]
    Missing {
        /// Their indices.
        missing: Vec<usize>,
        /// The number of shards, `n`.
        count: usize,
    },
    /// A shard whose records do not cover its positions (or Figure 1's image) exactly.
    #[error("shard {shard} in {path}: {reason}")]
    Coverage {
        /// The shard directory.
        path: PathBuf,
        /// Its shard.
        shard: Shard,
        /// What is missing or extra.
        reason: String,
    },
    /// The output directory is not a new or empty directory.
    #[error("the output directory {path} {reason}; merge into a new or empty directory (nothing was written)")]
    Output {
        /// The output directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// What [`merge`] did.
#[derive(Debug, Clone)]
pub struct MergeSummary {
    /// The merged run's directory.
    pub out_dir: PathBuf,
    /// n.
    pub shards: usize,
    /// N: the explained images.
    pub images: usize,
    /// The merged Table 1.
    pub table: Table1,
    /// The distinct devices the shards ran on.
    pub devices: Vec<String>,
    /// Every file written.
    pub files: Vec<PathBuf>,
}

/// A short rendering of a JSON value for an error message.
fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(77).collect::<String>())
    } else {
        s
    }
}

/// How `b`'s plan and code versions differ from `a`'s (empty: they belong together).
fn plan_diff(a: &ShardManifest, b: &ShardManifest) -> Vec<String> {
    let (pa, pb) = (
        serde_json::to_value(&a.plan).expect("plans serialise"),
        serde_json::to_value(&b.plan).expect("plans serialise"),
    );
    let mut differ = Vec::new();
    if a.shard.count != b.shard.count {
        differ.push(format!(
            "shard count: {} -> {}",
            a.shard.count, b.shard.count
        ));
    }
    for (k, va) in pa.as_object().into_iter().flatten() {
        let vb = &pb[k.as_str()];
        if k == "settings" {
            differ.extend(
                settings_diff(va, vb)
                    .into_iter()
                    .map(|d| format!("settings.{d}")),
            );
        } else if va != vb {
            differ.push(format!("{k}: {} -> {}", short(va), short(vb)));
        }
    }
    for k in ["sarxai", "tch", "libtorch", "libtorch_build"] {
        let (va, vb) = (&a.provenance.versions[k], &b.provenance.versions[k]);
        if va != vb {
            differ.push(format!("versions.{k}: {va} -> {vb}"));
        }
    }
    differ
}

/// Reads the manifests and checks they are complete, belong together, and are each given
/// once with none missing. Returns them ordered by shard index.
fn check_shards(dirs: &[PathBuf]) -> Result<Vec<(PathBuf, ShardManifest)>, MergeError> {
    if dirs.is_empty() {
        return Err(MergeError::NoShards);
    }
    let mut all = Vec::new();
    for d in dirs {
        let m = ShardManifest::read(d)?;
        if m.status != "complete" {
            return Err(MergeError::Incomplete {
                path: d.clone(),
                shard: m.shard,
                status: m.status,
            });
        }
        all.push((d.clone(), m));
    }
    let (first_path, first) = &all[0];
    for (d, m) in &all[1..] {
        let differ = plan_diff(first, m);
        if !differ.is_empty() {
            return Err(MergeError::Mismatch {
                path: d.clone(),
                shard: m.shard,
                first_path: first_path.clone(),
                first: first.shard,
                differ: differ.join("; "),
            });
        }
    }
    let count = first.shard.count;
    let mut by_index: BTreeMap<usize, Vec<PathBuf>> = BTreeMap::new();
    for (d, m) in &all {
        by_index.entry(m.shard.index).or_default().push(d.clone());
    }
    if let Some((&index, paths)) = by_index.iter().find(|(_, p)| p.len() > 1) {
        return Err(MergeError::Duplicate {
            shard: Shard { index, count },
            paths: paths.clone(),
        });
    }
    let missing: Vec<usize> = (0..count).filter(|i| !by_index.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, count });
    }
    all.sort_by_key(|(_, m)| m.shard.index);
    Ok(all)
}

/// The shard's records, checked to be exactly its images x the plan's methods.
fn shard_records(dir: &Path, m: &ShardManifest) -> Result<Vec<ImageRecord>, ScoreError> {
    let plan = &m.plan;
    let cov = |reason: String| MergeError::Coverage {
        path: dir.to_path_buf(),
        shard: m.shard,
        reason,
    };
    let expected = m.shard.positions(plan.chosen.len());
    if m.positions != expected {
        return Err(cov(format!(
            "it covered positions {:?} but shard {} of {} images covers {:?}",
            m.positions,
            m.shard,
            plan.chosen.len(),
            expected
        ))
        .into());
    }
    let f = records::read(&dir.join(files::PER_IMAGE))?;
    if f.complete_len < f.file_len || f.metrics != plan.metrics {
        return Err(cov("its per_image.csv has a torn row or other metric columns".into()).into());
    }
    let want: BTreeSet<(usize, Method)> = expected
        .iter()
        .flat_map(|&p| plan.methods.iter().map(move |&k| (plan.chosen[p], k)))
        .collect();
    let mut seen = BTreeSet::new();
    for r in &f.records {
        let key = (r.image, r.method);
        if !want.contains(&key) || !seen.insert(key) || r.model_hash != plan.meta.model_hash {
            return Err(cov(format!(
                "per_image.csv has an unexpected, repeated or other-model row: image {} ({}), {}",
                r.image, r.member, r.method
            ))
            .into());
        }
    }
    let lacking: Vec<String> = want
        .difference(&seen)
        .map(|(i, k)| format!("image {i} {k}"))
        .collect();
    if !lacking.is_empty() {
        return Err(cov(format!("per_image.csv lacks {}", lacking.join(", "))).into());
    }
    Ok(f.records)
}

/// The device and versions of the shards: one where they agree, every distinct one
/// otherwise (devices joined with `"; "`, versions as a JSON array).
fn provenance(shards: &[(PathBuf, ShardManifest)]) -> (Provenance, Vec<String>) {
    let mut devices: Vec<String> = Vec::new();
    let mut versions: Vec<serde_json::Value> = Vec::new();
    for (_, m) in shards {
        if !devices.contains(&m.provenance.device) {
            devices.push(m.provenance.device.clone());
        }
        if !versions.contains(&m.provenance.versions) {
            versions.push(m.provenance.versions.clone());
        }
    }
    let versions = if versions.len() == 1 {
        versions.remove(0)
    } else {
        serde_json::Value::Array(versions)
    };
    let device = devices.join("; ");
    (Provenance { device, versions }, devices)
}

/// The shards' `timings.csv` rows (after each header) in the selection order.
fn merged_timings(shards: &[(PathBuf, ShardManifest)], plan: &Plan) -> Result<String, ScoreError> {
    let position: BTreeMap<usize, usize> = plan
        .chosen
        .iter()
        .enumerate()
        .map(|(p, &i)| (i, p))
        .collect();
    let rank = |name: &str| {
        let m = name.parse::<Method>().ok();
        plan.methods
            .iter()
            .position(|&k| Some(k) == m)
            .unwrap_or(usize::MAX)
    };
    let mut rows: Vec<((usize, usize), String)> = Vec::new();
    for (d, _) in shards {
        let path = d.join(files::TIMINGS);
        let text = std::fs::read_to_string(&path).map_err(|e| ScoreError::io(&path, e))?;
        for line in text.lines().skip(1) {
            let mut f = line.splitn(3, ',');
            let (image, method) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
            let p = image
                .parse::<usize>()
                .ok()
                .and_then(|i| position.get(&i).copied())
                .unwrap_or(usize::MAX);
            rows.push(((p, rank(method)), format!("{line}\n")));
        }
    }
    rows.sort_by_key(|r| r.0);
    let mut s = timings_header(&plan.metrics);
    s.extend(rows.into_iter().map(|(_, r)| r));
    Ok(s)
}

/// Checks the shard directories `dirs` (see the module documentation) and writes into
/// `out_dir` (new or empty) what a single-process `score` of the same plan writes.
pub fn merge(out_dir: &Path, dirs: &[PathBuf]) -> Result<MergeSummary, ScoreError> {
    let shards = check_shards(dirs)?;
    let out_err = |reason: &str| MergeError::Output {
        path: out_dir.to_path_buf(),
        reason: reason.into(),
    };
    if out_dir.is_dir() {
        // The lock `sarxai merge` holds on OUT (crate::io::LOCK_FILE) does not count.
        let mut entries = std::fs::read_dir(out_dir)
            .map_err(|e| ScoreError::io(out_dir, e))?
            .filter(|e| {
                e.as_ref()
                    .map_or(true, |e| e.file_name() != crate::io::LOCK_FILE)
            });
        if entries.next().is_some() {
            return Err(out_err("is not empty").into());
        }
    } else if out_dir.exists() {
        return Err(out_err("is not a directory").into());
    }
    let plan = shards[0].1.plan.clone();
    let mut by_pair: BTreeMap<(usize, Method), ImageRecord> = BTreeMap::new();
    for (d, m) in &shards {
        for r in shard_records(d, m)? {
            by_pair.insert((r.image, r.method), r);
        }
    }
    let fig_shard = &shards[plan.figure_position % shards.len()];
    let figure_name = files::figure(&plan.pol);
    let fig_err = |what: &str| MergeError::Coverage {
        path: fig_shard.0.clone(),
        shard: fig_shard.1.shard,
        reason: format!("it holds Figure 1's image but {what}"),
    };
    let entropy_settings = fig_shard
        .1
        .entropy_settings
        .clone()
        .ok_or_else(|| fig_err("its shard.json has no entropy_settings"))?;
    for f in [figure_name.as_str(), files::ENTROPY_SETTINGS] {
        if !fig_shard.0.join(f).is_file() {
            return Err(fig_err(&format!("{f} is missing")).into());
        }
    }

    std::fs::create_dir_all(out_dir).map_err(|e| ScoreError::io(out_dir, e))?;
    let mut per_image = records::header(&plan.metrics);
    for &i in &plan.chosen {
        for &k in &plan.methods {
            per_image.push_str(&by_pair[&(i, k)].to_csv_row(&plan.metrics));
        }
    }
    let mut written = Vec::new();
    let timings = merged_timings(&shards, &plan)?;
    for (name, text) in [(files::PER_IMAGE, per_image), (files::TIMINGS, timings)] {
        let p = out_dir.join(name);
        crate::io::write_atomic(&p, text.as_bytes()).map_err(|e| ScoreError::io(&p, e))?;
        written.push(p);
    }
    for f in [figure_name.as_str(), files::ENTROPY_SETTINGS] {
        let (from, to) = (fig_shard.0.join(f), out_dir.join(f));
        let bytes = std::fs::read(&from).map_err(|e| ScoreError::io(&from, e))?;
        crate::io::write_atomic(&to, &bytes).map_err(|e| ScoreError::io(&to, e))?;
        written.push(to);
    }
    let (prov, devices) = provenance(&shards);
    let fin = FinishInput {
        provenance: prov,
        resumed_pairs: shards.iter().map(|(_, m)| m.resumed_pairs).sum(),
        computed_pairs: shards.iter().map(|(_, m)| m.computed_pairs).sum(),
        entropy_settings,
    };
    let (table, tables) = finish(&plan, out_dir, &fin)?;
    written.push(out_dir.join(files::IMAGES));
    written.extend(tables);
    written.push(out_dir.join(files::SCORE_JSON));
    Ok(MergeSummary {
        out_dir: out_dir.to_path_buf(),
        shards: shards.len(),
        images: plan.chosen.len(),
        table,
        devices,
        files: written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_bad_ones_are_named() {
        let s: Shard = "1/3".parse().unwrap();
        assert_eq!(s, Shard { index: 1, count: 3 });
        assert_eq!(s.to_string(), "1/3");
        assert_eq!(s.positions(8), vec![1, 4, 7]);
        assert!(s.owns(4) && !s.owns(5));
        assert_eq!("0/1".parse::<Shard>().unwrap().positions(3), vec![0, 1, 2]);
        for (bad, says) in [
            ("0/0", "at least 1"),
            ("3/3", "numbered 0 to 2"),
            ("5/2", "numbered 0 to 1"),
            ("1", "expected I/N"),
            ("a/2", "the index \"a\""),
            ("1/-2", "the count \"-2\""),
        ] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn every_position_belongs_to_exactly_one_shard() {
        for n in 1..5 {
            let mut all: Vec<usize> = (0..n)
                .flat_map(|i| Shard::new(i, n).unwrap().positions(11))
                .collect();
            all.sort();
            assert_eq!(all, (0..11).collect::<Vec<_>>(), "n = {n}");
        }
    }
}
