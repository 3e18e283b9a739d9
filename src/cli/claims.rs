//! `sarxai claims check|list`: the paper's claims against a reproduce run directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::claims::{
    self, check_claims, render_table, ClaimsFile, Pins, PinsFile, Results, Verdict,
};

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

/// Verifies the pins of a run directory (against the profile's pinned values and the
/// run's own recorded ones, with hashes recomputed from the files) and decides every claim.
pub fn check_run(
    run_dir: &Path,
    claims: &ClaimsFile,
    pins: &PinsFile,
    paper: &Results,
) -> Result<Vec<claims::VerdictRow>> {
    let results = Results::read(&run_dir.join(Results::FILE))?;
    let pols = ["vh", "vv"];
    let recorded = Pins::measure(run_dir, &pols, false)?;
    let measured = Pins::measure(run_dir, &pols, true)
        .with_context(|| format!("re-measuring the pins of {}", run_dir.display()))?;
    recorded
        .verify(&measured)
        .context("the run directory no longer matches what it recorded")?;
    let notes = pins
        .profile(&results.profile)?
        .verify(&measured)
        .with_context(|| {
            format!(
                "{} does not match the pins of the {} profile",
                run_dir.display(),
                results.profile
            )
        })?;
    for note in notes {
        eprintln!("note: {note}");
    }
    Ok(check_claims(claims, &results, paper))
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
            let rows = check_run(&run_dir, &c, &p, &paper)?;
            let device = compute.setup()?;
            let results = Results::read(&run_dir.join(Results::FILE))?;
            let re = crate::recompute::recompute(
                &run_dir,
                &results,
                usize::try_from(recompute).unwrap_or(usize::MAX),
                recompute_seed,
                device,
            )
            .with_context(|| format!("recomputing the results of {}", run_dir.display()))?;
            if json {
                let j = serde_json::json!({ "verdicts": rows, "recomputed": re });
                println!("{}", serde_json::to_string_pretty(&j)?);
            } else {
                print!("{}", render_table(&rows));
                print!("{}", render_recomputation(&re));
            }
            let failed = rows.iter().filter(|r| r.verdict == Verdict::Fail).count();
            let differ = re.failures().count();
            if failed > 0 || differ > 0 {
                anyhow::bail!(
                    "{failed} claim(s) failed, {differ} recomputed value(s) differ from the run's"
                );
            }
        }
    }
    Ok(())
}
