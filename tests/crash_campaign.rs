//! The crash campaign (issue 32, item 1): `sarxai reproduce` killed with SIGKILL at N seeded
//! random instants spread over every stage of the run (kill k falls uniformly inside stage
//! k mod 4 of the uninterrupted run: planning, training, scoring, then pins, claims and the
//! report), resumed after each kill by the same command, must end byte-identical to an
//! uninterrupted run (the weights, per_image.csv, images.csv, table1.json, results.json,
//! pins.json, claims.json, claims.txt; timing files and the report page, which shows
//! timings, excluded) and pass `claims check --recompute`.
//!
//! The run is the transfer profile's smoke on a small copy of MSTAR SOC (real radar, tens
//! of seconds uninterrupted), so like tests/transfer_smoke.rs it needs ../shared/data:
//! ignored with the reason unless the build sets `SARXAI_REQUIRE_SHARED=1` (.ci/run does).
//! N is 10 in CI; `SARXAI_CRASH_KILLS=100 SARXAI_CRASH_SEED=S` sets a campaign
//! (scripts/crash_campaign.sh), whose table (kills, resumes and mismatches per stage) the
//! test prints.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::{reproduce, small_mstar, snapshot, COMPARED};

/// The `== stage` headers of a run's log so far, each shortened to its name (`train hh`,
/// `transfer`).
fn stages_of(log: &Path) -> Vec<String> {
    let mut text = String::new();
    std::fs::File::open(log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("== "))
        .map(|s| {
            let s = s.split(" (").next().unwrap_or(s);
            s.split(':').next().unwrap_or(s).to_string()
        })
        .collect()
}

/// A stage of the uninterrupted run: its name and its window since the process started.
type Window = (String, Duration, Duration);

/// Runs the uninterrupted reference, watching its log: each stage's window and the whole
/// run's duration.
fn reference_run(data: &Path, run: &Path, log: &Path) -> (Vec<Window>, Duration) {
    let t0 = Instant::now();
    let mut child = reproduce(data, run, log).spawn().unwrap();
    let mut starts: Vec<(String, Duration)> = Vec::new();
    let status = loop {
        for s in stages_of(log).into_iter().skip(starts.len()) {
            starts.push((s, t0.elapsed()));
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let total = t0.elapsed();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(log).unwrap()
    );
    let windows = starts
        .iter()
        .enumerate()
        .map(|(i, (s, a))| (s.clone(), *a, starts.get(i + 1).map_or(total, |n| n.1)))
        .collect();
    (windows, total)
}

#[derive(Default)]
struct Tally {
    kills: usize,
    resumed: usize,
    mismatches: usize,
}

/// `reproduce` (transfer smoke on MSTAR chips) SIGKILLed at 10 seeded instants spread over
/// its stages and resumed: every resumed run byte-identical to the uninterrupted one in 8
/// files; the last passes `claims check --recompute 4`.
#[test]
#[cfg_attr(
    not(sarxai_require_shared),
    ignore = "needs the real MSTAR SOC chips in ../shared/data (research data, not in the repository); set SARXAI_REQUIRE_SHARED=1 to require them"
)]
fn killed_and_resumed_runs_end_byte_identical() {
    let kills: usize = std::env::var("SARXAI_CRASH_KILLS")
        .map_or(10, |v| v.parse().expect("SARXAI_CRASH_KILLS: a number"));
    let seed: u64 = std::env::var("SARXAI_CRASH_SEED")
        .map_or(0, |v| v.parse().expect("SARXAI_CRASH_SEED: a number"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("crash-campaign");
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    let data = root.join("mstar");
    small_mstar(&data);
    // Every run uses the same path, so no file differs by where it was written.
    let run = root.join("run");
    let log = root.join("log.txt");

    let (windows, uninterrupted) = reference_run(&data, &run, &log);
    assert_eq!(windows.len(), 4, "{windows:?}");
    let reference = snapshot(&run);

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut table: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for k in 0..kills {
        std::fs::remove_dir_all(&run).unwrap();
        let (_, from, to) = &windows[k % windows.len()];
        let at = *from + (*to - *from).mul_f64(rng.random_range(0.0..1.0));
        let mut child = reproduce(&data, &run, &log).spawn().unwrap();
        std::thread::sleep(at);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let stage = if finished {
            "finished before the kill".to_string()
        } else {
            stages_of(&log).pop().unwrap_or_else(|| "start".into())
        };
        let t = table.entry(stage.clone()).or_default();
        t.kills += 1;
        let resumed = reproduce(&data, &run, &log).status().unwrap();
        if !resumed.success() {
            failures.push(format!(
                "kill {k} at {at:?} ({stage}): the resumed run failed:\n{}",
                std::fs::read_to_string(&log).unwrap()
            ));
            continue;
        }
        t.resumed += 1;
        let after = snapshot(&run);
        let differ: Vec<&str> = COMPARED
            .iter()
            .filter(|f| after[*f] != reference[*f])
            .copied()
            .collect();
        if !differ.is_empty() {
            t.mismatches += 1;
            failures.push(format!("kill {k} at {at:?} ({stage}): {differ:?} differ"));
        }
    }
    // The last resumed run passes the check with recomputation.
    let o = Command::new(env!("CARGO_BIN_EXE_sarxai"))
        .args(["claims", "check", "--recompute", "4", "--device", "cpu"])
        .arg(&run)
        .output()
        .unwrap();
    let check = String::from_utf8_lossy(&o.stdout);
    eprintln!(
        "crash campaign: {kills} SIGKILLs (seed {seed}) over an uninterrupted run of {:.1} s\n\
         stage                     kills  resumed  mismatches",
        uninterrupted.as_secs_f64()
    );
    for (stage, t) in &table {
        eprintln!(
            "{stage:<25} {:>5}  {:>7}  {:>10}",
            t.kills, t.resumed, t.mismatches
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        o.status.success() && check.contains("all within tolerance"),
        "{check}{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
