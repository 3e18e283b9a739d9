//! `sarxai claims check|list`: the paper's claims against a reproduce run directory.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::claims::{render_table, Verdict};

/// `sarxai claims`: the paper's claims checked on a reproduce run.
#[derive(Debug, clap::Subcommand)]
pub enum ClaimsCommand {
    /// PASS, FAIL or NOT RUN (with the reason) per claim for a reproduce run directory;
    /// exits non-zero on any FAIL. Refuses runs whose pins disagree, naming the pin.
    #[command(after_help = "Examples:
  sarxai claims check runs/quick
  sarxai claims check runs/quick --recompute 1000   # every (image, method) pair
  sarxai claims check runs/paper --json

After re-measuring the pins and deciding, it recomputes from the weights and the data:
every Table 1 mean (from per_image.csv), each test accuracy, and K seeded (image, method)
pairs' attribution, Max-Sensitivity and XAI entropy (--recompute K); a value that differs
beyond its tolerance is a FAIL naming it.")]
    Check {
        /// A reproduce run directory (e.g. runs/quick).
        run_dir: PathBuf,
        /// (image, method) pairs recomputed from the weights and data (more than there are:
        /// all of them).
        #[arg(long, value_name = "K", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
        recompute: u64,
        /// Seed of the draw of the recomputed pairs.
        #[arg(long, value_name = "S", default_value_t = 0)]
        recompute_seed: u64,
        /// Device and threads.
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

/// What was recomputed, in words, and every value that differs.
fn render_recomputation(re: &crate::recompute::Recomputation) -> String {
    let count = |p: &str| re.rows.iter().filter(|r| r.what.starts_with(p)).count();
    let (means, accuracies, evidence) = (count("table1."), count("accuracy."), count("evidence."));
    let mut s = format!(
        "\nrecomputed from the weights and data: {} values ({means} Table 1 means and {evidence} values of the verdicts' evidence from per_image.csv and the predictions, {accuracies} test accuracies, {} values of {} of {} (image, method) pairs)",
        re.rows.len(),
        re.rows.len() - means - accuracies - evidence,
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

/// Runs a `sarxai claims` subcommand.
pub fn run(cmd: ClaimsCommand) -> Result<()> {
    match cmd {
        ClaimsCommand::List => {
            let (c, _, _) = crate::claims::fixtures::load(None, None)?;
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
            // A run still being written (reproduce, train or score holds its lock) is not
            // judged: its files are not final.
            if let Some(holder) = crate::io::lock_holder(&run_dir)? {
                anyhow::bail!(
                    "{}: run in progress ({holder}); check it once that process has finished",
                    run_dir.display()
                );
            }
            let (c, p, paper) = crate::claims::fixtures::load(claims.as_deref(), pins.as_deref())?;
            let device = compute.setup()?;
            let run = crate::verify::check_run(&run_dir, &c, &p, &paper, device)?;
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
                print!("{}", crate::verify::render_marks(&run));
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
