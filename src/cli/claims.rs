//! `sarxai claims check|list`: the paper's claims against a reproduce run directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::claims::{
    self, check_claims, render_table, ClaimsFile, Pins, PinsFile, Results, Verdict,
};
use crate::recompute::PolContext;

/// The embedded fixtures (overridable with --claims / --pins).
pub const CLAIMS_YAML: &str = include_str!("../../fixtures/claims.yaml");
pub const PINS_YAML: &str = include_str!("../../fixtures/pins.yaml");
pub const PAPER_YAML: &str = include_str!("../../fixtures/paper_table1.yaml");

#[derive(Debug, clap::Subcommand)]
pub enum ClaimsCommand {
    /// PASS, FAIL or NOT RUN (with the reason) per claim for a reproduce run directory;
    /// exits non-zero on any FAIL. Refuses runs whose pins disagree, naming the pin.
    #[command(after_help = "Examples:
  sarxai claims check runs/quick
  sarxai claims check runs/quick --recompute 1000   # every (image, method) pair
  sarxai claims check runs/paper --json

Before deciding, it recomputes from the weights and the data: every Table 1 mean (from
per_image.csv), each test accuracy, and K seeded (image, method) pairs' attribution,
Max-Sensitivity and XAI entropy (--recompute K); a value that differs beyond its tolerance
is a FAIL naming it.")]
    Check {
        run_dir: PathBuf,
        /// (image, method) pairs recomputed from the weights and data (more than there are:
        /// all of them).
        #[arg(long, value_name = "K", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
        recompute: u64,
        /// Seed of the draw of the recomputed pairs.
        #[arg(long, value_name = "S", default_value_t = 0)]
        recompute_seed: u64,
        #[command(flatten)]
        compute: super::ComputeArgs,
        /// Claims file (default: the embedded fixtures/claims.yaml).
        #[arg(long)]
        claims: Option<PathBuf>,
        /// Pins file (default: the embedded fixtures/pins.yaml).
        #[arg(long)]
        pins: Option<PathBuf>,
        /// Print the verdicts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the claims and the profiles they apply to.
    List,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_saphyr::from_str(text).with_context(|| format!("parsing {what}"))
}

pub fn load_fixtures(
    claims: Option<&Path>,
    pins: Option<&Path>,
) -> Result<(ClaimsFile, PinsFile, Results)> {
    let c: ClaimsFile = match claims {
        Some(p) => claims::read_yaml(p)?,
        None => parse(CLAIMS_YAML, "the embedded claims.yaml")?,
    };
    let p: PinsFile = match pins {
        Some(p) => claims::read_yaml(p)?,
        None => parse(PINS_YAML, "the embedded pins.yaml")?,
    };
    let paper: Results = parse(PAPER_YAML, "the embedded paper_table1.yaml")?;
    Ok((c, p, paper))
}

/// A run directory after its pins were verified: the verdicts (each carrying the run's
/// marks), the marks with their reasons, notes, and each polarization's re-loaded data and
/// model (for the recomputation).
pub struct CheckedRun {
    pub results: Results,
    pub verdicts: Vec<claims::VerdictRow>,
    pub marks: Vec<(&'static str, String)>,
    pub notes: Vec<String>,
    pub contexts: BTreeMap<String, PolContext>,
}

impl CheckedRun {
    /// Whether a FAIL verdict fails the check: not on a smoke run, whose numbers are not
    /// comparable (its pins and recomputation still decide).
    pub fn verdicts_decide(&self) -> bool {
        !self.marks.iter().any(|(m, _)| *m == claims::SMOKE_MARK)
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
    let pols = ["vh", "vv"];
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
    for pol in pols {
        let ctx = PolContext::load(run_dir, pol, device)?;
        ctx.derive_pins(run_dir, pol, &mut derived)?;
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
    let marks = measured.marks(profile);
    let mut verdicts = check_claims(claims, &results, paper);
    if !marks.is_empty() {
        let label: Vec<&str> = marks.iter().map(|m| m.0).collect();
        for v in &mut verdicts {
            v.measured = format!("{} [{}]", v.measured, label.join("; "));
        }
    }
    Ok(CheckedRun {
        results,
        verdicts,
        marks,
        notes,
        contexts,
    })
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

/// What was recomputed, in words, and every value that differs.
fn render_recomputation(re: &crate::recompute::Recomputation) -> String {
    let count = |p: &str| re.rows.iter().filter(|r| r.what.starts_with(p)).count();
    let (means, accuracies) = (count("table1."), count("accuracy."));
    let mut s = format!(
        "\nrecomputed from the weights and data: {} values ({means} Table 1 means from per_image.csv, {accuracies} test accuracies, {} values of {} of {} (image, method) pairs)",
        re.rows.len(),
        re.rows.len() - means - accuracies,
        re.pairs,
        re.pairs_available
    );
    let failures: Vec<_> = re.failures().collect();
    if failures.is_empty() {
        s.push_str(": all within tolerance\n");
    } else {
        s.push_str(&format!(": {} differ\n", failures.len()));
        for r in failures {
            s.push_str(&format!(
                "FAIL     {}: recorded {} but recomputed {} (tolerance {})\n",
                r.what, r.recorded, r.recomputed, r.tolerance
            ));
        }
    }
    s
}

pub fn run(cmd: ClaimsCommand) -> Result<()> {
    match cmd {
        ClaimsCommand::List => {
            let (c, _, _) = load_fixtures(None, None)?;
            for claim in &c.claims {
                println!(
                    "{:<40} [{}] {}",
                    claim.id,
                    claim.profiles.join(","),
                    claim.statement
                );
            }
        }
        ClaimsCommand::Check {
            run_dir,
            recompute,
            recompute_seed,
            compute,
            claims,
            pins,
            json,
        } => {
            let (c, p, paper) = load_fixtures(claims.as_deref(), pins.as_deref())?;
            let device = compute.setup()?;
            let run = check_run(&run_dir, &c, &p, &paper, device)?;
            let re = crate::recompute::recompute(
                &run_dir,
                &run.results,
                usize::try_from(recompute).unwrap_or(usize::MAX),
                recompute_seed,
                &run.contexts,
            )
            .with_context(|| format!("recomputing the results of {}", run_dir.display()))?;
            let marks: Vec<&str> = run.marks.iter().map(|m| m.0).collect();
            if json {
                let j = serde_json::json!({
                    "verdicts": run.verdicts,
                    "marks": marks,
                    "notes": run.notes,
                    "recomputed": re,
                });
                println!("{}", serde_json::to_string_pretty(&j)?);
            } else {
                print!("{}", render_table(&run.verdicts));
                print!("{}", render_marks(&run));
                print!("{}", render_recomputation(&re));
            }
            let failed = run
                .verdicts
                .iter()
                .filter(|r| r.verdict == Verdict::Fail)
                .count();
            let decisive = if run.verdicts_decide() { failed } else { 0 };
            let differ = re.failures().count();
            if decisive > 0 || differ > 0 {
                anyhow::bail!(
                    "{decisive} claim(s) failed, {differ} recomputed value(s) differ from the run's"
                );
            }
        }
    }
    Ok(())
}
