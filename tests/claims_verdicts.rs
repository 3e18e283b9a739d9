//! Verdicts with their uncertainty (issue 27), on simulated per-image tables whose truth is
//! known: an ordering claim PASSes when one method is clearly lowest, is INCONCLUSIVE (its
//! probability near 0.5) when two methods are drawn from one distribution, FAILs when the
//! method is clearly not lowest; a value claim PASSes when its interval lies inside the
//! band, is INCONCLUSIVE when it straddles an edge, FAILs when it lies outside; accuracy
//! is decided by its Wilson interval. Each decided verdict carries its evidence (interval
//! or probability, n, resamples, seed), and an INCONCLUSIVE one what would decide it.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sarxai::attr::Method;
use sarxai::claims::{
    check_claims, ClaimsFile, PolEvidence, ReplicateEvidence, Results, Verdict, VerdictRow,
};

const METRIC: &str = "max_sensitivity_captum09";
const CLASSES: i64 = 10;

/// Claims of the test: `rules` in YAML flow style, decided at the fixture's settings.
fn claims(rules: &[(&str, &str)]) -> ClaimsFile {
    let mut y = String::from(
        "decision: { level: 0.95, resamples: 2000, seed: 0, pass_at: 0.95, fail_at: 0.05 }\nclaims:\n",
    );
    for (id, rule) in rules {
        y.push_str(&format!(
            "  - {{ id: {id}, source: test, statement: test, profiles: [paper], rule: {rule} }}\n"
        ));
    }
    serde_saphyr::from_str(&y).unwrap()
}

/// A run whose per-image values of METRIC for method m are `centre(m) * (1 + spread * u)`,
/// u uniform in [-1, 1], `per_class` images for each of 10 classes (seeded).
fn simulated(per_class: usize, centre: impl Fn(Method) -> f64, spread: f64) -> Results {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = per_class * CLASSES as usize;
    let strata: Vec<i64> = (0..n).map(|i| (i / per_class) as i64).collect();
    let mut values = BTreeMap::new();
    let mut table = BTreeMap::new();
    for m in Method::ALL {
        let v: Vec<f64> = (0..n)
            .map(|_| centre(m) * (1.0 + spread * rng.random_range(-1.0..1.0)))
            .collect();
        let mean = v.iter().sum::<f64>() / n as f64;
        table.insert(m, BTreeMap::from([(METRIC.to_string(), mean)]));
        values.insert(
            m,
            BTreeMap::from([(METRIC.to_string(), v.into_iter().map(Some).collect())]),
        );
    }
    let evidence = PolEvidence {
        test_correct: 0,
        test_n: 0,
        images: (0..n).collect(),
        strata,
        values,
        replicates: Vec::new(),
    };
    Results {
        profile: "paper".into(),
        table1: BTreeMap::from([("vh".to_string(), table)]),
        evidence: BTreeMap::from([("vh".to_string(), evidence)]),
        ..Default::default()
    }
}

fn one(c: &ClaimsFile, r: &Results) -> VerdictRow {
    check_claims(c, r, r).into_iter().next().unwrap()
}

/// Centres: Occlusion `occ`, Guided Backprop `gbp`, every other method 1.0 and above.
fn centres(occ: f64, gbp: f64) -> impl Fn(Method) -> f64 {
    move |m| match m {
        Method::Occlusion => occ,
        Method::GuidedBackprop => gbp,
        other => 1.0 + 0.1 * Method::ALL.iter().position(|x| *x == other).unwrap() as f64,
    }
}

#[test]
fn lowest_passes_fails_or_is_inconclusive_by_its_probability() {
    let c = claims(&[(
        "lowest",
        "{ kind: lowest, metric: max_sensitivity_captum09, pol: vh, method: occlusion }",
    )]);
    let clear = one(&c, &simulated(2, centres(0.2, 0.5), 0.3));
    assert_eq!(clear.verdict, Verdict::Pass, "{}", clear.measured);
    let e = clear.evidence.as_ref().unwrap();
    assert!(e.probability.unwrap() >= 0.95);
    assert_eq!((e.n, e.resamples, e.seed), (20, Some(2000), Some(0)));

    let not = one(&c, &simulated(2, centres(0.5, 0.2), 0.3));
    assert_eq!(not.verdict, Verdict::Fail, "{}", not.measured);
    assert!(not.evidence.unwrap().probability.unwrap() <= 0.05);

    // Occlusion and Guided Backprop from one distribution, with equal means (Guided
    // Backprop's values are Occlusion's, the two images of each class swapped): a coin toss.
    let mut r = simulated(2, centres(0.3, 0.3), 0.5);
    let e = r.evidence.get_mut("vh").unwrap();
    let occ = e.values[&Method::Occlusion][METRIC].clone();
    let swapped: Vec<Option<f64>> = (0..occ.len()).map(|i| occ[i ^ 1]).collect();
    e.values
        .get_mut(&Method::GuidedBackprop)
        .unwrap()
        .insert(METRIC.into(), swapped);
    let tie = one(&c, &r);
    assert_eq!(tie.verdict, Verdict::Inconclusive, "{}", tie.measured);
    let p = tie.evidence.as_ref().unwrap().probability.unwrap();
    assert!((0.2..=0.8).contains(&p), "P = {p}: {}", tie.measured);
    assert!(tie.measured.contains("to decide:"), "{}", tie.measured);
}

#[test]
fn lowest_set_and_below_use_the_same_resamples() {
    let c = claims(&[
        (
            "set",
            "{ kind: lowest_set, metric: max_sensitivity_captum09, pol: vh, methods: [occlusion, guided-backprop] }",
        ),
        (
            "below",
            "{ kind: below, quantity: table1.vh.occlusion.max_sensitivity_captum09, bound: 0.5 }",
        ),
    ]);
    let rows = check_claims(
        &c,
        &simulated(2, centres(0.2, 0.3), 0.3),
        &Results::default(),
    );
    assert!(rows.iter().all(|r| r.verdict == Verdict::Pass), "{rows:#?}");
    let rows = check_claims(
        &c,
        &simulated(2, centres(0.6, 2.0), 0.1),
        &Results::default(),
    );
    assert!(rows.iter().all(|r| r.verdict == Verdict::Fail), "{rows:#?}");
}

#[test]
fn value_claims_are_equivalence_tests_of_the_interval() {
    // Occlusion's mean near 0.2, its interval about +-0.02 wide at 20 images.
    let r = simulated(2, centres(0.2, 0.5), 0.3);
    let mean = r
        .lookup("table1.vh.occlusion.max_sensitivity_captum09")
        .unwrap();
    let rule = |expected: f64, tolerance: f64| {
        format!("{{ kind: value, quantity: table1.vh.occlusion.max_sensitivity_captum09, expected: {expected}, tolerance: {tolerance} }}")
    };
    let inside = one(&claims(&[("v", &rule(mean, 0.1))]), &r);
    assert_eq!(inside.verdict, Verdict::Pass, "{}", inside.measured);
    let [lo, hi] = inside.evidence.as_ref().unwrap().interval.unwrap();
    assert!(lo < mean && mean < hi && hi - lo < 0.1, "{lo} {hi}");

    // The band's upper edge at the mean: the interval straddles it.
    let straddle = one(&claims(&[("v", &rule(mean - 0.05, 0.05))]), &r);
    assert_eq!(
        straddle.verdict,
        Verdict::Inconclusive,
        "{}",
        straddle.measured
    );
    let outside = one(&claims(&[("v", &rule(mean + 0.5, 0.1))]), &r);
    assert_eq!(outside.verdict, Verdict::Fail, "{}", outside.measured);
    // Half the band's room on the mean's side: about four times the images decide it.
    let near = one(
        &claims(&[("v", &rule(mean + (hi - lo) / 4.0 + 0.1, 0.1))]),
        &r,
    );
    assert_eq!(near.verdict, Verdict::Inconclusive, "{}", near.measured);
    assert!(
        near.measured.contains("images per class"),
        "{}",
        near.measured
    );
}

#[test]
fn accuracy_is_decided_by_its_wilson_interval() {
    let c = claims(&[(
        "acc",
        "{ kind: value, quantity: accuracy.vh, expected: 0.84, tolerance: 0.02 }",
    )]);
    let run = |correct: u64, n: u64| {
        let mut r = Results {
            profile: "paper".into(),
            ..Default::default()
        };
        r.accuracy.insert("vh".into(), correct as f64 / n as f64);
        r.evidence.insert(
            "vh".into(),
            PolEvidence {
                test_correct: correct,
                test_n: n,
                ..Default::default()
            },
        );
        one(&c, &r)
    };
    // 84 % of 10,000: the interval [0.833, 0.847] inside 0.84 +- 0.02.
    assert_eq!(run(8400, 10_000).verdict, Verdict::Pass);
    // 84 % of 500: +-3.2 points, wider than the band.
    let wide = run(420, 500);
    assert_eq!(wide.verdict, Verdict::Inconclusive, "{}", wide.measured);
    assert!(wide.measured.contains("wilson"), "{}", wide.measured);
    // 70 % of 1,000: wholly below the band.
    assert_eq!(run(700, 1000).verdict, Verdict::Fail);
}

#[test]
fn a_run_without_evidence_is_inconclusive_not_decided_by_its_means() {
    let c = claims(&[
        (
            "lowest",
            "{ kind: lowest, metric: max_sensitivity_captum09, pol: vh, method: occlusion }",
        ),
        (
            "v",
            "{ kind: value, quantity: table1.vh.occlusion.max_sensitivity_captum09, expected: 0.2, tolerance: 0.1 }",
        ),
    ]);
    let mut r = simulated(2, centres(0.2, 0.5), 0.3);
    r.evidence.clear();
    for row in check_claims(&c, &r, &r) {
        assert_eq!(row.verdict, Verdict::Inconclusive, "{}", row.measured);
        assert!(
            row.measured.contains("no per-image evidence"),
            "{}",
            row.measured
        );
    }
}

/// `r` with a second model (`vh-r1`) on the same images: the base model's values of every
/// method mapped through `f(method, value)`, its test counts `counts`, and Table 1 the
/// pooled means.
fn with_replicate(mut r: Results, f: impl Fn(Method, f64) -> f64, counts: (u64, u64)) -> Results {
    let e = r.evidence.get_mut("vh").unwrap();
    let values = e
        .values
        .iter()
        .map(|(m, by_metric)| {
            let mapped = by_metric
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().map(|x| x.map(|x| f(*m, x))).collect()))
                .collect();
            (*m, mapped)
        })
        .collect();
    e.replicates.push(ReplicateEvidence {
        key: "vh-r1".into(),
        test_correct: counts.0,
        test_n: counts.1,
        values,
    });
    let pooled = e.pooled_means();
    r.table1.insert("vh".into(), pooled);
    r
}

/// Replicate models (issue 27, item 3): the verdict rests on the two-level bootstrap
/// (models, then images). A second model identical to the first decides as one model
/// does; a second model whose values sit elsewhere widens a value claim's interval by
/// the between-model spread (PASS on one model, INCONCLUSIVE on both), and two models that
/// disagree on an ordering leave it INCONCLUSIVE near P = 0.5.
#[test]
fn replicate_models_enter_every_verdict() {
    let base = simulated(2, centres(0.2, 0.5), 0.3);
    let mean = base
        .lookup("table1.vh.occlusion.max_sensitivity_captum09")
        .unwrap();
    let value = claims(&[(
        "v",
        &format!("{{ kind: value, quantity: table1.vh.occlusion.max_sensitivity_captum09, expected: {mean}, tolerance: 0.05 }}"),
    )]);
    let lowest = claims(&[(
        "lowest",
        "{ kind: lowest, metric: max_sensitivity_captum09, pol: vh, method: occlusion }",
    )]);
    let one_model = one(&value, &base);
    assert_eq!(one_model.verdict, Verdict::Pass, "{}", one_model.measured);

    let same = with_replicate(base.clone(), |_, x| x, (0, 0));
    let v = one(&value, &same);
    assert_eq!(v.verdict, Verdict::Pass, "{}", v.measured);
    assert!(
        v.measured.contains("hierarchical bootstrap (2 models"),
        "{}",
        v.measured
    );
    assert_eq!(v.evidence.as_ref().unwrap().n, 40);
    assert_eq!(one(&lowest, &same).verdict, Verdict::Pass);

    // The second model's Occlusion 0.1 higher: the pooled mean moves by 0.05 and its
    // interval spans both models' means, wider than the band.
    let shifted = with_replicate(
        base.clone(),
        |m, x| if m == Method::Occlusion { x + 0.1 } else { x },
        (0, 0),
    );
    let v = one(&value, &shifted);
    let [lo, hi] = v.evidence.as_ref().unwrap().interval.unwrap();
    let [lo1, hi1] = one_model.evidence.as_ref().unwrap().interval.unwrap();
    assert!(
        hi - lo > 2.0 * (hi1 - lo1),
        "[{lo}, {hi}] vs one model [{lo1}, {hi1}]"
    );
    assert_eq!(v.verdict, Verdict::Inconclusive, "{}", v.measured);

    // The second model ranks Occlusion highest (its values times 10): the models disagree.
    let disagree = with_replicate(
        base,
        |m, x| if m == Method::Occlusion { 10.0 * x } else { x },
        (0, 0),
    );
    let o = one(&lowest, &disagree);
    assert_eq!(o.verdict, Verdict::Inconclusive, "{}", o.measured);
    let p = o.evidence.as_ref().unwrap().probability.unwrap();
    assert!((0.15..=0.35).contains(&p), "P = {p}: {}", o.measured);
}

/// The accuracy of several models: the pooled accuracy with the two-level bootstrap's
/// percentile interval, wider than one model's Wilson interval when the models differ.
#[test]
fn accuracy_of_replicate_models_carries_their_spread() {
    let c = claims(&[(
        "acc",
        "{ kind: value, quantity: accuracy.vh, expected: 0.84, tolerance: 0.02 }",
    )]);
    let run = |counts: &[(u64, u64)]| {
        let mut r = Results {
            profile: "paper".into(),
            ..Default::default()
        };
        let (hits, n) = counts.iter().fold((0, 0), |a, c| (a.0 + c.0, a.1 + c.1));
        r.accuracy.insert("vh".into(), hits as f64 / n as f64);
        let mut e = PolEvidence {
            test_correct: counts[0].0,
            test_n: counts[0].1,
            ..Default::default()
        };
        for (k, &(correct, n)) in counts.iter().enumerate().skip(1) {
            e.replicates.push(ReplicateEvidence {
                key: format!("vh-r{k}"),
                test_correct: correct,
                test_n: n,
                ..Default::default()
            });
        }
        r.evidence.insert("vh".into(), e);
        one(&c, &r)
    };
    // Two models at 84 % of 10,000: as decided as one.
    let agree = run(&[(8400, 10_000), (8400, 10_000)]);
    assert_eq!(agree.verdict, Verdict::Pass, "{}", agree.measured);
    assert!(
        agree.measured.contains("2 models, then test images"),
        "{}",
        agree.measured
    );
    // 82 % and 86 %: the pooled 84 % is inside the band, the models' spread is not.
    let spread = run(&[(8200, 10_000), (8600, 10_000)]);
    assert_eq!(spread.verdict, Verdict::Inconclusive, "{}", spread.measured);
    let [lo, hi] = spread.evidence.as_ref().unwrap().interval.unwrap();
    assert!(lo < 0.825 && hi > 0.855, "[{lo}, {hi}]");
}
