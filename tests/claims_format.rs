//! The claims harness without a training run: the fixtures parse, every paper claim is
//! decided on the paper's own numbers, and the verdict table's format (insta snapshot).

use sarxai::claims::fixtures::{CLAIMS_YAML, PAPER_YAML, PINS_YAML};
use sarxai::claims::{
    check_claims, render_table, ClaimsFile, PinsFile, Results, Verdict, VerdictRow,
};

fn fixtures() -> (ClaimsFile, PinsFile, Results) {
    (
        serde_saphyr::from_str(CLAIMS_YAML).expect("claims.yaml"),
        serde_saphyr::from_str(PINS_YAML).expect("pins.yaml"),
        serde_saphyr::from_str(PAPER_YAML).expect("paper_table1.yaml"),
    )
}

#[test]
fn the_paper_passes_its_own_claims() {
    let (claims, pins, paper) = fixtures();
    assert!(pins.profiles.contains_key("quick") && pins.profiles.contains_key("paper"));
    let rows = check_claims(&claims, &paper, &paper);
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
    let mut r = paper.clone();
    // Make Grad-CAM the most robust method in VH.
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
        },
        VerdictRow {
            id: "accuracy-vh".into(),
            source: "Sec. 4, text".into(),
            expected: "0.8344 ± 0.02".into(),
            measured: "0.7900".into(),
            verdict: Verdict::Fail,
        },
        VerdictRow {
            id: "quick-accuracy-vv".into(),
            source: "issue 4 acceptance".into(),
            expected: ">= 0.9".into(),
            measured: "not a paper claim (profiles: quick)".into(),
            verdict: Verdict::NotRun,
        },
    ];
    insta::assert_snapshot!(render_table(&rows));
}
