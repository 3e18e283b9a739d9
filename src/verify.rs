//! The claims check of a run directory ([`check_run`], `sarxai claims check`): every pin
//! re-measured from the files and re-derived from the re-loaded data and model, then every
//! claim decided; the data and model it loads are kept for the recomputation
//! ([`crate::recompute`]). The last stage of `sarxai reproduce` decides with the pins it has
//! just recorded instead ([`decide_recorded`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::claims::{self, check_claims, ClaimsFile, Pins, PinsFile, Results};
use crate::recompute::PolContext;
use crate::score::scoring::{files, predicted_class};
use crate::score::selection::{select, selection_digest, Selection};

mod measure;
pub use measure::{members_digest, pins_measured};

/// A run directory after its pins were verified: the verdicts (each carrying the run's
/// marks), the marks with their reasons, notes, and each polarization's re-loaded data and
/// model (for the recomputation).
pub struct CheckedRun {
    /// The run's results (`results.json`).
    pub results: Results,
    /// One verdict per claim, its measured value carrying the run's marks.
    pub verdicts: Vec<claims::VerdictRow>,
    /// The run's marks (smoke, unpinned, transfer) with their reasons.
    pub marks: Vec<(&'static str, String)>,
    /// Notes of the pin checks, one line each.
    pub notes: Vec<String>,
    /// Each polarization's re-loaded data and model, by name (`vh`, `vv`).
    pub contexts: BTreeMap<String, PolContext>,
}

impl CheckedRun {
    /// Whether a FAIL verdict fails the check: not on a smoke run, whose numbers are not
    /// comparable, nor on a transfer run, whose FAIL is a finding about other data (their
    /// pins and recomputation still decide).
    pub fn verdicts_decide(&self) -> bool {
        !self
            .marks
            .iter()
            .any(|(m, _)| *m == claims::SMOKE_MARK || *m == claims::TRANSFER_MARK)
    }
}

/// Refuses the run when any pin differs, naming each one once.
fn refuse(what: &str, all: Vec<claims::Mismatch>) -> Result<()> {
    let mut mismatches: Vec<claims::Mismatch> = Vec::new();
    for m in all {
        if !mismatches.contains(&m) {
            mismatches.push(m);
        }
    }
    if mismatches.is_empty() {
        return Ok(());
    }
    Err(claims::ClaimsError::Pins {
        what: what.to_string(),
        mismatches,
    }
    .into())
}

/// Verifies the pins of a run directory and decides every claim:
/// 1. from the files alone: the weights' model hashes, the data manifest, the archive's
///    digest (re-hashed from the zip), against what the run recorded (`RUN/pins.json` and
///    each `RUN/<pol>/run.json`) and the profile's pins;
/// 2. from the re-loaded data and model of each polarization: the chosen members', split
///    and image-selection digests, against the run's record.
///
/// Every pin that differs is named (with both values) before anything is decided.
pub fn check_run(
    run_dir: &Path,
    claims: &ClaimsFile,
    pins: &PinsFile,
    paper: &Results,
    device: tch::Device,
) -> Result<CheckedRun> {
    let results = Results::read(&run_dir.join(Results::FILE))?;
    // Every trained model: one per channel, or each replicate (`vh`, `vh-r1`, ...).
    let keys = results.units();
    let pols: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (measured, mut notes) = Pins::measure_with_notes(run_dir, &pols, true)
        .with_context(|| format!("re-measuring the pins of {}", run_dir.display()))?;
    let run_json = Pins::measure(run_dir, &pols, false)?;
    let recorded = Pins::read_recorded(run_dir)?;
    let from_files = |k: &str| !k.starts_with("members.");
    let mut mismatches = run_json.compare(&measured, &from_files);
    if let Some(r) = &recorded {
        mismatches.extend(r.compare(&measured, &from_files));
    }
    refuse(
        &format!("{} no longer matches what it recorded", run_dir.display()),
        mismatches,
    )?;
    let profile = pins.profile(&results.profile)?;
    notes.extend(profile.verify(&measured).with_context(|| {
        format!(
            "{} does not match the pins of the {} profile",
            run_dir.display(),
            results.profile
        )
    })?);
    let mut derived = Pins::default();
    let mut contexts = BTreeMap::new();
    for &pol in &pols {
        let ctx = PolContext::load(run_dir, pol, device)?;
        derive_pins(&ctx, run_dir, pol, &mut derived)?;
        contexts.insert(pol.to_string(), ctx);
    }
    let data_pins = |k: &str| {
        ["members.", "splits.", "selection."]
            .iter()
            .any(|p| k.starts_with(p))
    };
    refuse(
        &format!(
            "{}: the data and model re-loaded do not give the recorded pins",
            run_dir.display()
        ),
        recorded
            .as_ref()
            .unwrap_or(&run_json)
            .compare(&derived, &data_pins),
    )?;
    let mut run = decide(results, &measured, profile, claims, paper, notes);
    run.contexts = contexts;
    Ok(run)
}

/// Re-derives the data pins of model `pol` from its re-loaded context into `pins`: the chosen members' digest (from the
/// files' content), the split digests (from the re-loaded split) and the Table 1
/// image-selection digest (the rule recorded in `score-<pol>/score.json` applied to the
/// re-loaded test split and model).
fn derive_pins(ctx: &PolContext, run_dir: &Path, pol: &str, pins: &mut Pins) -> Result<()> {
    let d = &ctx.data.dataset;
    let files = [&d.train, &d.val, &d.test]
        .into_iter()
        .flat_map(|s| s.files.iter().map(|f| f.as_path()));
    pins.members
        .insert(pol.to_string(), members_digest(&d.root, files)?);
    let u = &ctx.data.digests;
    pins.splits.insert(pol.to_string(), u.by_split());
    let score_json = crate::layout::score_dir(run_dir, pol).join(files::SCORE_JSON);
    if !score_json.is_file() {
        return Ok(());
    }
    let recorded: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&score_json).with_context(|| format!("reading {}", score_json.display()))?,
    )
    .with_context(|| format!("parsing {}", score_json.display()))?;
    let rule: Selection = serde_json::from_value(recorded["selection"].clone())
        .with_context(|| format!("{}: unreadable selection", score_json.display()))?;
    let test = &d.test;
    // The same forward as scoring's selection (`predicted_class`), image by image as
    // the selection asks.
    let chosen = select(&rule, test, &d.classes, |i| {
        predicted_class(&ctx.model, test, i) == test.labels[i]
    })
    .with_context(|| format!("re-deriving the selection of {pol}"))?;
    pins.selection
        .insert(pol.to_string(), selection_digest(&chosen, test));
    Ok(())
}

/// What `reproduce` decides with the pins it has just measured and recorded (`recorded`,
/// with their notes): the profile's pins checked and the claims decided, without the
/// re-measurement and re-loading of [`check_run`], which `claims check` keeps as the
/// independent check of a finished run.
pub fn decide_recorded(
    results: Results,
    recorded: &Pins,
    mut notes: Vec<String>,
    claims: &ClaimsFile,
    pins: &PinsFile,
    paper: &Results,
) -> Result<CheckedRun> {
    let profile = pins.profile(&results.profile)?;
    notes.extend(profile.verify(recorded).with_context(|| {
        format!(
            "the run does not match the pins of the {} profile",
            results.profile
        )
    })?);
    Ok(decide(results, recorded, profile, claims, paper, notes))
}

/// The run's marks, and every claim decided with them on its measured value.
fn decide(
    results: Results,
    measured: &Pins,
    profile: &Pins,
    claims: &ClaimsFile,
    paper: &Results,
    notes: Vec<String>,
) -> CheckedRun {
    let mut marks = measured.marks(profile);
    if let Some(t) = &results.transfer {
        marks.push((
            claims::TRANSFER_MARK,
            format!(
                "a transfer run on {}: the paper's claims decided on other data ({}); its verdicts say whether the claims carry over, never that the paper is reproduced, and do not decide the exit status (its pins and recomputation do)",
                t.dataset, t.rule
            ),
        ));
    }
    let mut verdicts = check_claims(claims, &results, paper);
    if !marks.is_empty() {
        let label: Vec<&str> = marks.iter().map(|m| m.0).collect();
        for v in &mut verdicts {
            v.measured = format!("{} [{}]", v.measured, label.join("; "));
        }
    }
    CheckedRun {
        results,
        verdicts,
        marks,
        notes,
        contexts: BTreeMap::new(),
    }
}

/// The run's marks and their reasons, then the notes, one line each.
pub fn render_marks(run: &CheckedRun) -> String {
    let mut s = String::new();
    for (m, why) in &run.marks {
        s.push_str(&format!("every verdict marked \"{m}\": {why}\n"));
    }
    for n in &run.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}
