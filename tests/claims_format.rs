//! The claims harness without a training run: the fixtures parse, every paper claim is
//! decided on the paper's own numbers, and the verdict table's format (insta snapshot).

use sarxai::claims::fixtures::{CLAIMS_YAML, PAPER_YAML, PINS_YAML};
use sarxai::claims::{
    check_claims, render_table, ClaimsFile, PinsFile, PolEvidence, Results, Verdict, VerdictRow,
};

fn fixtures() -> (ClaimsFile, PinsFile, Results) {
    (
        serde_saphyr::from_str(CLAIMS_YAML).expect("claims.yaml"),
        serde_saphyr::from_str(PINS_YAML).expect("pins.yaml"),
        serde_saphyr::from_str(PAPER_YAML).expect("paper_table1.yaml"),
    )
}

/// The paper's numbers as a run with per-image evidence: 10 images (one per class) whose
/// every value is the paper's mean (no spread), and the paper's own accuracy on 10,000
/// test images (a Wilson interval of +-0.7 points, inside the +-2-point band; the paper
/// does not state its test split's size).
fn as_run(paper: &Results) -> Results {
    let mut r = paper.clone();
    for (pol, methods) in &paper.table1 {
        let mut e = PolEvidence {
            test_correct: (paper.accuracy[pol] * 10_000.0).round() as u64,
            test_n: 10_000,
            images: (0..10).collect(),
            strata: (0..10).collect(),
            ..Default::default()
        };
        for (m, metrics) in methods {
            let by = e.values.entry(*m).or_default();
            for (k, v) in metrics {
                by.insert(k.clone(), vec![Some(*v); 10]);
            }
        }
        r.evidence.insert(pol.clone(), e);
    }
    r
}

#[test]
fn the_paper_passes_its_own_claims() {
    let (claims, pins, paper) = fixtures();
    assert!(pins.profiles.contains_key("quick") && pins.profiles.contains_key("paper"));
    let rows = check_claims(&claims, &as_run(&paper), &paper);
    let paper_rows: Vec<&VerdictRow> = rows
        .iter()
        .filter(|r| r.verdict != Verdict::NotRun)
        .collect();
    assert!(paper_rows.len() >= 40, "{}", render_table(&rows));
    for r in &paper_rows {
        assert_eq!(
            r.verdict,
            Verdict::Pass,
            "{} on the paper's own numbers: {}",
            r.id,
            r.measured
        );
    }
    // Quick-profile claims are NOT RUN on the paper profile, with the reason.
    let q = rows.iter().find(|r| r.id == "quick-accuracy-vh").unwrap();
    assert_eq!(q.verdict, Verdict::NotRun);
    assert!(q.measured.contains("not a paper claim"));
}

#[test]
fn a_changed_ordering_fails_the_ordering_claims() {
    let (claims, _, paper) = fixtures();
    let mut r = as_run(&paper);
    // Make Grad-CAM the most robust method in VH, on every image.
    r.evidence
        .get_mut("vh")
        .unwrap()
        .values
        .get_mut(&sarxai::attr::Method::GradCam)
        .unwrap()
        .insert("max_sensitivity_captum09".into(), vec![Some(0.001); 10]);
    let gc = r
        .table1
        .get_mut("vh")
        .unwrap()
        .get_mut(&sarxai::attr::Method::GradCam)
        .unwrap();
    gc.insert("max_sensitivity_captum09".into(), 0.001);
    let rows = check_claims(&claims, &r, &paper);
    let verdict = |id: &str| rows.iter().find(|x| x.id == id).unwrap().verdict;
    assert_eq!(verdict("ms-vh-occlusion-lowest"), Verdict::Fail);
    assert_eq!(verdict("ms-vh-grad-cam-highest"), Verdict::Fail);
    assert_eq!(verdict("ms-vv-grad-cam-highest"), Verdict::Pass);
    // Missing quantities are NOT RUN, never PASS.
    let empty = Results {
        profile: "paper".into(),
        ..Default::default()
    };
    assert!(check_claims(&claims, &empty, &paper)
        .iter()
        .all(|r| r.verdict == Verdict::NotRun));
}

#[test]
fn verdict_table_format() {
    let rows = vec![
        VerdictRow {
            id: "ms-vh-occlusion-lowest".into(),
            source: "Table 1, text".into(),
            expected: "lowest: occlusion".into(),
            measured: "occlusion (0.0178)".into(),
            verdict: Verdict::Pass,
            evidence: None,
            transfer: None,
        },
        VerdictRow {
            id: "accuracy-vh".into(),
            source: "Sec. 4, text".into(),
            expected: "0.8344 ± 0.02".into(),
            measured: "0.7900".into(),
            verdict: Verdict::Fail,
            evidence: None,
            transfer: None,
        },
        VerdictRow {
            id: "table1-vh-occlusion-ms".into(),
            source: "Table 1".into(),
            expected: "0.0178 ± 0.00445".into(),
            measured: "0.0150 [0.0120, 0.0190] bootstrap-bca, n=10, 2000 resamples, seed 0; to decide: about 4 images per class at this mean and spread".into(),
            verdict: Verdict::Inconclusive,
            evidence: None,
            transfer: None,
        },
        VerdictRow {
            id: "quick-accuracy-vv".into(),
            source: "issue 4 acceptance".into(),
            expected: ">= 0.9".into(),
            measured: "not a paper claim (profiles: quick)".into(),
            verdict: Verdict::NotRun,
            evidence: None,
            transfer: None,
        },
    ];
    insta::assert_snapshot!(render_table(&rows));
}
