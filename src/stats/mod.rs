//! The statistics every layer below the report uses, in one place: the mean with a
//! Student-t confidence interval (Table 1's cells), Kendall's tau-b with an exact
//! permutation p-value (the paper's rankings against ours), Wilson's and Clopper-Pearson's
//! intervals of a proportion (test accuracy), and seeded, stratified bootstrap intervals of
//! a mean, percentile or BCa ([`bootstrap_mean_interval`]). Quantiles come from statrs.

mod bootstrap;

pub use bootstrap::{
    bootstrap_mean_interval, expanded_level, hierarchical_resamples, ndtr, ndtri,
    percentile_interval, resampling_strata, resampling_strata_by_model, stratified_resamples,
    BootInterval, BootKind, Resampler,
};

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::beta::inv_beta_reg;

/// Mean, standard deviation and confidence interval of one method x metric cell.
///
/// The interval is **Student's t interval** for the mean,
/// `mean +- t_{(1+level)/2, n-1} * sd / sqrt(n)`, with the sample standard deviation
/// (`n - 1` in the denominator) and the t quantile from statrs. Undefined values (NaN,
/// e.g. localisation on an image with an empty mask) are left out and counted in
/// `undefined`. With fewer than two values the standard deviation and interval are absent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CellStats {
    /// Values used (finite).
    pub n: usize,
    /// Values left out (NaN or infinite).
    pub undefined: usize,
    /// `None` without any value.
    pub mean: Option<f64>,
    /// Sample standard deviation (`n - 1` in the denominator); `None` below 2 values.
    pub sd: Option<f64>,
    /// Lower end of the interval of the mean (Student t from [`t_interval`]; Table 1 puts
    /// its metric's interval here); `None` below 2 values.
    pub ci_lo: Option<f64>,
    /// Upper end of the interval of the mean; `None` below 2 values.
    pub ci_hi: Option<f64>,
    /// Confidence level of the interval, e.g. 0.95.
    pub level: f64,
}

/// The arithmetic mean `sum(v) / n`, summed in order; `None` for no values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Statistics of `values` with a Student-t interval at `level` (see [`CellStats`]).
pub fn t_interval(values: &[f64], level: f64) -> CellStats {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    let undefined = values.len() - n;
    let mut s = CellStats {
        n,
        undefined,
        mean: None,
        sd: None,
        ci_lo: None,
        ci_hi: None,
        level,
    };
    if n == 0 {
        return s;
    }
    let mean = mean(&finite).expect("n > 0");
    s.mean = Some(mean);
    if n < 2 {
        return s;
    }
    let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    s.sd = Some(sd);
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .map(|d| d.inverse_cdf(0.5 + level / 2.0))
        .unwrap_or(f64::NAN);
    let half = t * sd / (n as f64).sqrt();
    s.ci_lo = Some(mean - half);
    s.ci_hi = Some(mean + half);
    s
}

/// Kendall's tau-b of two paired samples (ties in either handled as in SciPy's
/// `kendalltau(variant="b")`): `(n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2))`. `None` when
/// the lengths differ, fewer than two pairs, or either sample is constant.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let n = x.len();
    let (mut concordant, mut discordant, mut tie_x, mut tie_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[i].total_cmp(&x[j]) as i64;
            let dy = y[i].total_cmp(&y[j]) as i64;
            if dx == 0 {
                tie_x += 1;
            }
            if dy == 0 {
                tie_y += 1;
            }
            match dx * dy {
                1 => concordant += 1,
                -1 => discordant += 1,
                _ => {}
            }
        }
    }
    let n0 = (n * (n - 1) / 2) as i64;
    let den = (((n0 - tie_x) * (n0 - tie_y)) as f64).sqrt();
    (den > 0.0).then(|| (concordant - discordant) as f64 / den)
}

/// Largest sample for which [`kendall_exact_p`] enumerates every permutation (9! = 362,880).
pub const EXACT_P_MAX_N: usize = 9;

/// Two-sided exact permutation p-value of Kendall's tau-b: the share of the `n!` orderings
/// of `y` against `x` whose |tau-b| is at least the observed one (within 1e-12). `None`
/// when tau-b is undefined or `n` exceeds [`EXACT_P_MAX_N`].
pub fn kendall_exact_p(x: &[f64], y: &[f64]) -> Option<f64> {
    let observed = kendall_tau_b(x, y)?.abs();
    let n = x.len();
    if n > EXACT_P_MAX_N {
        return None;
    }
    let mut perm: Vec<f64> = y.to_vec();
    let (mut hits, mut total) = (0u64, 0u64);
    // Heap's algorithm, iterative.
    let mut c = vec![0usize; n];
    let mut visit = |p: &[f64]| {
        total += 1;
        if kendall_tau_b(x, p).is_some_and(|t| t.abs() >= observed - 1e-12) {
            hits += 1;
        }
    };
    visit(&perm);
    let mut i = 0;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                perm.swap(0, i);
            } else {
                perm.swap(c[i], i);
            }
            visit(&perm);
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    Some(hits as f64 / total as f64)
}

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
}

/// Wilson's score interval for `k` successes out of `n` at confidence `level`.
pub fn wilson_interval(k: u64, n: u64, level: f64) -> Interval {
    if n == 0 {
        return Interval {
            lo: 0.0,
            hi: 1.0,
            level,
        };
    }
    let z = Normal::standard().inverse_cdf(0.5 + level / 2.0);
    let (n_f, p) = (n as f64, k as f64 / n as f64);
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = z / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    Interval {
        lo: (centre - half).max(0.0),
        hi: (centre + half).min(1.0),
        level,
    }
}

/// The exact (Clopper-Pearson) interval for `k` successes out of `n` at confidence
/// `level`: Beta(k, n - k + 1) and Beta(k + 1, n - k) quantiles.
pub fn clopper_pearson_interval(k: u64, n: u64, level: f64) -> Interval {
    if n == 0 {
        return Interval {
            lo: 0.0,
            hi: 1.0,
            level,
        };
    }
    let alpha = 1.0 - level;
    let (k_f, n_f) = (k as f64, n as f64);
    let lo = if k == 0 {
        0.0
    } else {
        inv_beta_reg(k_f, n_f - k_f + 1.0, alpha / 2.0)
    };
    let hi = if k == n {
        1.0
    } else {
        inv_beta_reg(k_f + 1.0, n_f - k_f, 1.0 - alpha / 2.0)
    };
    Interval { lo, hi, level }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_and_clopper_pearson_match_reference_values() {
        // Wilson from the closed form with Python's NormalDist; Clopper-Pearson by bisection
        // on mpmath's regularised incomplete beta (statsmodels' method="beta").
        let w = wilson_interval(84, 100, 0.95);
        assert!(
            (w.lo - 0.755_797_306).abs() < 1e-8 && (w.hi - 0.899_047_115).abs() < 1e-8,
            "{w:?}"
        );
        let e = clopper_pearson_interval(84, 100, 0.95);
        assert!(
            (e.lo - 0.753_212_403).abs() < 1e-7 && (e.hi - 0.905_689_710).abs() < 1e-7,
            "{e:?}"
        );
        let all = clopper_pearson_interval(10, 10, 0.95);
        assert_eq!(all.hi, 1.0);
        assert!((all.lo - 0.025f64.powf(0.1)).abs() < 1e-9);
        assert_eq!(wilson_interval(0, 0, 0.95).hi, 1.0);
    }

    #[test]
    fn t_interval_matches_a_hand_computation() {
        // mean 2, sd 1, n 3: t_{0.975, 2} = 4.302653; half = 4.302653 / sqrt(3).
        let s = t_interval(&[1.0, 2.0, 3.0, f64::NAN], 0.95);
        assert_eq!((s.n, s.undefined), (3, 1));
        assert_eq!(s.mean, Some(2.0));
        assert!((s.sd.unwrap() - 1.0).abs() < 1e-12);
        let half = 4.302652729911275 / 3f64.sqrt();
        assert!((s.ci_hi.unwrap() - (2.0 + half)).abs() < 1e-9);
        assert!((s.ci_lo.unwrap() - (2.0 - half)).abs() < 1e-9);
        let one = t_interval(&[5.0], 0.95);
        assert_eq!((one.mean, one.sd, one.ci_lo), (Some(5.0), None, None));
        assert_eq!(t_interval(&[], 0.95).mean, None);
    }

    #[test]
    fn tau_b_matches_scipy() {
        // scipy.stats.kendalltau([1,2,3,4,5],[3,4,1,2,5]) -> 0.2
        let t = kendall_tau_b(&[1., 2., 3., 4., 5.], &[3., 4., 1., 2., 5.]).unwrap();
        assert!((t - 0.2).abs() < 1e-12);
        // With ties: kendalltau([1,1,2,3],[1,2,2,3]) -> 0.8
        let t = kendall_tau_b(&[1., 1., 2., 3.], &[1., 2., 2., 3.]).unwrap();
        assert!((t - 0.8).abs() < 1e-12, "{t}");
        assert_eq!(kendall_tau_b(&[1., 1.], &[1., 2.]), None);
        assert_eq!(kendall_tau_b(&[1.], &[1.]), None);
    }

    #[test]
    fn exact_p_of_a_perfect_ranking() {
        // n = 5, tau = 1: only the identity and the reversal reach |tau| = 1: 2 / 120.
        let x = [1., 2., 3., 4., 5.];
        let p = kendall_exact_p(&x, &x).unwrap();
        assert!((p - 2.0 / 120.0).abs() < 1e-15);
        // scipy.stats.kendalltau(x, [3,4,1,2,5], method="exact").pvalue = 0.8166666...
        let p = kendall_exact_p(&x, &[3., 4., 1., 2., 5.]).unwrap();
        assert!((p - 98.0 / 120.0).abs() < 1e-12, "{p}");
    }
}
