//! Properties of the statistics module (`sarxai::stats`): the axioms every interval and
//! rank correlation must satisfy, on random samples.

use proptest::prelude::*;
use sarxai::stats::{
    clopper_pearson_interval, kendall_exact_p, kendall_tau_b, mean, t_interval, wilson_interval,
};

fn sample(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-1e3f64..1e3, 2..max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The t interval is centred on the mean, contains it, and widens with the level.
    #[test]
    fn t_interval_is_centred_and_nested(v in sample(30)) {
        let s95 = t_interval(&v, 0.95);
        let s99 = t_interval(&v, 0.99);
        let m = mean(&v).unwrap();
        prop_assert_eq!(s95.mean, Some(m));
        let (lo, hi) = (s95.ci_lo.unwrap(), s95.ci_hi.unwrap());
        prop_assert!(lo <= m && m <= hi);
        prop_assert!(((hi - m) - (m - lo)).abs() <= 1e-9 * (1.0 + m.abs() + (hi - lo)));
        prop_assert!(s99.ci_lo.unwrap() <= lo && hi <= s99.ci_hi.unwrap());
    }

    /// Undefined values are counted, never used.
    #[test]
    fn t_interval_leaves_out_undefined_values(v in sample(20), k in 0usize..4) {
        let mut w = v.clone();
        w.extend(std::iter::repeat_n(f64::NAN, k));
        let (a, b) = (t_interval(&v, 0.95), t_interval(&w, 0.95));
        prop_assert_eq!((b.n, b.undefined), (v.len(), k));
        prop_assert_eq!(a.mean, b.mean);
        prop_assert_eq!(a.ci_hi, b.ci_hi);
    }

    /// Tau-b lies in [-1, 1], is symmetric in its arguments, flips sign when one sample is
    /// negated, and is 1 against itself when the sample has no ties.
    #[test]
    fn tau_b_axioms(x in sample(12), y in sample(12)) {
        let n = x.len().min(y.len());
        let (x, y) = (&x[..n], &y[..n]);
        if let Some(t) = kendall_tau_b(x, y) {
            prop_assert!((-1.0 - 1e-12..=1.0 + 1e-12).contains(&t));
            prop_assert_eq!(kendall_tau_b(y, x), Some(t));
            let neg: Vec<f64> = y.iter().map(|v| -v).collect();
            prop_assert!((kendall_tau_b(x, &neg).unwrap() + t).abs() < 1e-12);
        }
        let mut distinct = x.to_vec();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() == n {
            prop_assert!((kendall_tau_b(x, x).unwrap() - 1.0).abs() < 1e-12);
        }
    }

    /// The exact p-value is a probability, at least 2/n! (the identity and the reversal
    /// reach |tau| = 1) and equal for a ranking and its reversal.
    #[test]
    fn exact_p_is_a_probability(x in prop::collection::vec(-10i32..10, 3..7),
                                y in prop::collection::vec(-10i32..10, 3..7)) {
        let n = x.len().min(y.len());
        let x: Vec<f64> = x[..n].iter().map(|&v| v as f64).collect();
        let y: Vec<f64> = y[..n].iter().map(|&v| v as f64).collect();
        if let Some(p) = kendall_exact_p(&x, &y) {
            let n_fact: f64 = (1..=n).map(|k| k as f64).product();
            prop_assert!(p > 0.0 && p <= 1.0);
            prop_assert!(p >= 1.0 / n_fact - 1e-15);
            let rev: Vec<f64> = y.iter().map(|v| -v).collect();
            prop_assert!((kendall_exact_p(&x, &rev).unwrap() - p).abs() < 1e-12);
        }
    }

    /// Both intervals of a proportion lie in [0, 1], contain k/n, and narrow as the
    /// sample grows at a fixed proportion.
    #[test]
    fn proportion_intervals_contain_the_estimate(n in 1u64..2000, frac in 0.0f64..=1.0) {
        let k = ((n as f64) * frac).round() as u64;
        let p = k as f64 / n as f64;
        for ci in [wilson_interval(k, n, 0.95), clopper_pearson_interval(k, n, 0.95)] {
            prop_assert!(0.0 <= ci.lo && ci.lo <= p + 1e-12 && p <= ci.hi + 1e-12 && ci.hi <= 1.0);
        }
        let (small, large) = (wilson_interval(k, n, 0.95), wilson_interval(4 * k, 4 * n, 0.95));
        prop_assert!(large.hi - large.lo <= small.hi - small.lo + 1e-12);
    }
}
