//! The bootstrap and proportion intervals of `sarxai::stats` (issue 27): the bootstrap
//! against scipy.stats.bootstrap on the same resamples (golden values from
//! `scripts/golden_bootstrap.py`, committed in `fixtures/golden/bootstrap.json`), the
//! coverage of the 95 % intervals on seeded simulated data, and their axioms.

use proptest::prelude::*;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, Gamma};
use sarxai::stats::{
    bootstrap_mean_interval, expanded_level, resampling_strata, stratified_resamples,
    wilson_interval, BootKind, Resampler,
};
use serde::Deserialize;
use statrs::distribution::{Binomial as BinomialPmf, Discrete};

#[derive(Deserialize)]
struct Golden {
    scipy: String,
    resamples: usize,
    level: f64,
    cases: Vec<GoldenCase>,
    stratified: GoldenStrata,
}

#[derive(Deserialize)]
struct GoldenCase {
    name: String,
    seed: u64,
    values: Vec<f64>,
    first_indices: Vec<Vec<usize>>,
    percentile: [f64; 2],
    bca: [f64; 2],
}

#[derive(Deserialize)]
struct GoldenStrata {
    strata: Vec<i64>,
    seed: u64,
    indices: Vec<Vec<usize>>,
}

fn golden() -> Golden {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/golden/bootstrap.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `|got - want| / |want|` (the absolute difference when `want` is 0).
fn rel(got: f64, want: f64) -> f64 {
    (got - want).abs() / if want == 0.0 { 1.0 } else { want.abs() }
}

/// scipy.stats.bootstrap (percentile and BCa, B = 2000, level 0.95) on sarxai's own
/// resamples: the same indices, and the same interval ends within 1e-9 relative.
#[test]
fn bootstrap_matches_scipy_on_the_same_resamples() {
    let g = golden();
    assert_eq!((g.resamples, g.level), (2000, 0.95));
    for c in &g.cases {
        let zeros = vec![0; c.values.len()];
        let r = stratified_resamples(&zeros, g.resamples, c.seed);
        assert_eq!(
            r[..c.first_indices.len()],
            c.first_indices[..],
            "{}",
            c.name
        );
        for (kind, want) in [(BootKind::Percentile, c.percentile), (BootKind::Bca, c.bca)] {
            let got = bootstrap_mean_interval(&c.values, &r, g.level, kind, c.seed).unwrap();
            let err = rel(got.lo, want[0]).max(rel(got.hi, want[1]));
            println!(
                "{} {kind:?}: [{}, {}], scipy {}: {want:?}",
                c.name, got.lo, got.hi, g.scipy
            );
            assert!(
                err <= 1e-9,
                "{} {kind:?}: {got:?} vs scipy {want:?}",
                c.name
            );
            assert_eq!((got.resamples, got.seed, got.kind), (2000, c.seed, kind));
        }
    }
    let s = &g.stratified;
    assert_eq!(
        stratified_resamples(&s.strata, s.indices.len(), s.seed),
        s.indices
    );
}

/// The share of `trials` (k, n) draws from Binomial(n, p) whose 95 % Wilson interval
/// covers p, and the exact coverage `sum of P(k) over the k whose interval covers p`.
fn wilson_coverage(p: f64, n: u64, trials: usize, seed: u64) -> (f64, f64) {
    let covers = |k: u64| {
        let ci = wilson_interval(k, n, 0.95);
        ci.lo <= p && p <= ci.hi
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draws = Binomial::new(n, p).unwrap();
    let hits = (0..trials)
        .filter(|_| covers(draws.sample(&mut rng)))
        .count();
    let pmf = BinomialPmf::new(p, n).unwrap();
    let exact = (0..=n).filter(|&k| covers(k)).map(|k| pmf.pmf(k)).sum();
    (hits as f64 / trials as f64, exact)
}

/// Wilson's 95 % interval covers p in 95 % +- 2 points of 2,000 seeded trials, and its
/// exact coverage is within the same band. Measured (simulated, exact): (0.7, 40):
/// 0.9545, 0.9443; (0.9, 60): 0.9540, 0.9520. Wilson's coverage oscillates with n and p
/// (Brown, Cai & DasGupta 2001): (0.9, 100) has exact coverage 0.9364, where a 2,000-trial
/// estimate falls below 0.93 about one time in eight, and (0.8, 40) has 0.9283, outside
/// the band; the pairs here are where the exact coverage is near 0.95.
#[test]
fn wilson_covers_the_true_proportion() {
    for (p, n, seed) in [(0.7, 40, 1), (0.9, 60, 2)] {
        let (simulated, exact) = wilson_coverage(p, n, 2000, seed);
        println!("Wilson p = {p}, n = {n}: simulated {simulated:.4}, exact {exact:.4}");
        assert!((simulated - 0.95).abs() <= 0.02, "p {p} n {n}: {simulated}");
        assert!((exact - 0.95).abs() <= 0.02, "p {p} n {n}: {exact}");
    }
}

/// The share of `trials` samples of size `n` from Gamma(shape 4, scale 1) (mean 4,
/// skewness 1) whose 95 % percentile, BCa, and BCa at the expanded level
/// ([`expanded_level`]) intervals (B = 1000) cover the mean.
fn bootstrap_coverage(n: usize, trials: usize, seed: u64) -> [f64; 3] {
    let gamma = Gamma::new(4.0, 1.0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut covered = [0usize; 3];
    let expanded = expanded_level(0.95, n);
    for _ in 0..trials {
        let values: Vec<f64> = (0..n).map(|_| gamma.sample(&mut rng)).collect();
        let r = stratified_resamples(&vec![0; n], 1000, rng.next_u64());
        let covers = |kind, level| {
            let ci = bootstrap_mean_interval(&values, &r, level, kind, 0).unwrap();
            usize::from(ci.lo <= 4.0 && 4.0 <= ci.hi)
        };
        covered[0] += covers(BootKind::Percentile, 0.95);
        covered[1] += covers(BootKind::Bca, 0.95);
        covered[2] += covers(BootKind::Bca, expanded);
    }
    covered.map(|c| c as f64 / trials as f64)
}

/// The percentile and BCa bootstrap intervals of the mean (B = 1000) cover the true mean
/// in 95 % +- 2 points of 1,000 seeded trials, for samples of n = 300 from Gamma(shape 4,
/// scale 1) (mean 4, skewness 1).
///
/// Both undercover at smaller n (the bootstrap uses the plug-in variance and normal-like
/// tails; BCa corrects skewness but not that), measured on this distribution with B = 1000
/// (percentile, BCa; 20,000 trials unless stated, Monte Carlo standard error about 0.002):
/// n = 10: 0.890, 0.893; n = 50: 0.936, 0.937 (40,000 trials); n = 100: 0.941, 0.941
/// (40,000); n = 150: 0.942, 0.942; n = 200: 0.942, 0.943; n = 300: 0.945, 0.945.
/// The Student-t interval of the same samples covered 0.937 at n = 10 and 0.947 at
/// n = 100. n = 300 is where the expected coverage lies two standard errors of a
/// 1,000-trial estimate (0.007) inside the band; at n = 100 it lies 1.5 inside. This
/// test's 1,000 trials at n = 300: 0.949, 0.945.
#[test]
fn bootstrap_intervals_cover_the_true_mean() {
    let [percentile, bca, _] = bootstrap_coverage(300, 1000, 27);
    println!("bootstrap coverage at n = 300: percentile {percentile:.4}, BCa {bca:.4}");
    assert!((percentile - 0.95).abs() <= 0.02, "percentile {percentile}");
    assert!((bca - 0.95).abs() <= 0.02, "BCa {bca}");
}

/// Table 1's interval, BCa at Hesterberg's expanded level, covers 95 % +- 2 points at the
/// profiles' small samples. Measured with numpy on the same distribution (20,000 trials,
/// B = 1000; percentile / BCa / BCa expanded / Student t): n = 10: 0.886 / 0.890 / 0.933 /
/// 0.936; n = 20: 0.920 / 0.921 / 0.943 / 0.943; n = 50: 0.935 / 0.936 / 0.945 / 0.945;
/// n = 100: 0.942 / 0.943 / 0.947 / 0.948. At n = 20, 4,000 trials (standard error
/// 0.0037) put the expected 0.943 3.6 standard errors inside the band; at n = 10 the
/// expected 0.933 sits on the band's edge, so the test holds it above 0.92 and 3 points
/// above plain BCa (expected gap 4.3).
#[test]
fn expanded_bca_covers_at_small_n() {
    let [_, bca20, expanded20] = bootstrap_coverage(20, 4000, 28);
    let [_, bca10, expanded10] = bootstrap_coverage(10, 4000, 29);
    println!(
        "coverage, BCa / BCa expanded: n = 20 {bca20:.4} / {expanded20:.4}; n = 10 {bca10:.4} / {expanded10:.4}"
    );
    assert!((expanded20 - 0.95).abs() <= 0.02, "n = 20: {expanded20}");
    assert!(
        expanded10 >= 0.92 && expanded10 - bca10 >= 0.03,
        "n = 10: {bca10} {expanded10}"
    );
}

fn values(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-1e3f64..1e3, 2..max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Wilson's bounds lie in [0, 1] and around k / n, at any size and level.
    #[test]
    fn wilson_bounds_stay_in_the_unit_interval(n in 1u64..10_000_000, frac in 0.0f64..=1.0,
                                               level in 0.5f64..0.9999) {
        let k = ((n as f64) * frac).round() as u64;
        let ci = wilson_interval(k, n, level);
        let p = k as f64 / n as f64;
        prop_assert!(0.0 <= ci.lo && ci.lo <= p + 1e-12 && p <= ci.hi + 1e-12 && ci.hi <= 1.0);
    }

    /// Both bootstrap intervals lie within the range of the values (no bound outside the
    /// metric's range), and the percentile interval widens with the level.
    #[test]
    fn bootstrap_bounds_stay_in_the_data_range(v in values(40), seed in any::<u64>(),
                                               b in 20usize..300) {
        let r = stratified_resamples(&vec![0; v.len()], b, seed);
        let (min, max) = v.iter().fold((f64::MAX, f64::MIN), |(a, z), &x| (a.min(x), z.max(x)));
        for kind in [BootKind::Percentile, BootKind::Bca] {
            if let Some(ci) = bootstrap_mean_interval(&v, &r, 0.95, kind, seed) {
                prop_assert!(min <= ci.lo && ci.lo <= ci.hi && ci.hi <= max, "{ci:?}");
            }
        }
        let p90 = bootstrap_mean_interval(&v, &r, 0.90, BootKind::Percentile, seed).unwrap();
        let p99 = bootstrap_mean_interval(&v, &r, 0.99, BootKind::Percentile, seed).unwrap();
        prop_assert!(p99.lo <= p90.lo && p90.hi <= p99.hi);
    }

    /// A stratified resample draws each stratum's observations as often as it has them,
    /// only from itself, and the same seed gives the same resamples.
    #[test]
    fn stratified_resamples_keep_the_strata(strata in prop::collection::vec(-3i64..3, 0..30),
                                            seed in any::<u64>()) {
        let r = stratified_resamples(&strata, 5, seed);
        prop_assert_eq!(&r, &stratified_resamples(&strata, 5, seed));
        let mut sorted = strata.clone();
        sorted.sort_unstable();
        for resample in &r {
            let labels: Vec<i64> = resample.iter().map(|&i| strata[i]).collect();
            prop_assert_eq!(&labels, &sorted);
        }
    }

    /// One stratum is the ordinary bootstrap: `index(n)`, n per resample, in order.
    #[test]
    fn one_stratum_replays_the_resampler(n in 1usize..20, seed in any::<u64>()) {
        let mut rng = Resampler::new(seed);
        let r = stratified_resamples(&vec![7; n], 3, seed);
        for resample in r {
            for i in resample {
                prop_assert_eq!(i, rng.index(n));
            }
        }
    }
}

/// One explained image per class (the quick profile's budget): stratifying would redraw
/// every image as itself and collapse the interval onto the mean, so the bootstrap then
/// resamples all images together; two or more per class keep their strata.
#[test]
fn one_image_per_class_is_resampled_without_strata() {
    let strata: Vec<i64> = (0..10).collect();
    let v: Vec<f64> = (0..10).map(f64::from).collect();
    let collapsed = stratified_resamples(&strata, 500, 3);
    let ci = bootstrap_mean_interval(&v, &collapsed, 0.95, BootKind::Percentile, 3).unwrap();
    assert_eq!(ci.hi - ci.lo, 0.0, "stratified by singletons: {ci:?}");
    let (pooled, stratified) = resampling_strata(&strata);
    assert!(!stratified && pooled.iter().all(|&s| s == 0));
    let r = stratified_resamples(&pooled, 500, 3);
    let ci = bootstrap_mean_interval(&v, &r, 0.95, BootKind::Percentile, 3).unwrap();
    assert!(ci.hi - ci.lo > 2.0, "{ci:?}");
    let (kept, stratified) = resampling_strata(&[0, 0, 1, 1, 2, 2]);
    assert!(stratified && kept == [0, 0, 1, 1, 2, 2]);
}
