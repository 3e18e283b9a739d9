//! The evidence of a verdict: an interval of the measured quantity, or the probability
//! that the claim holds over bootstrap resamples of the explained images, with n, the
//! resamples and the seed, and for an undecided claim what would decide it.
//!
//! Intervals fit the quantity: Wilson's for a test accuracy (a proportion), the BCa
//! bootstrap interval of the mean (Efron 1987; scipy.stats.bootstrap's formulas) at
//! Hesterberg's expanded level for a Table 1 cell, whose metrics are bounded or skewed.
//! Resamples are stratified by the images' true class, as the images were chosen (K per
//! class), and paired: one resample draws the same images for every method. With several
//! models per channel (`reproduce --replicates`), every resample first draws the models,
//! then each drawn model's images (a two-level bootstrap), and an accuracy pools them.

use serde::Serialize;

use super::results::Observations;
use super::spec::Decision;
use crate::stats::{
    bootstrap_mean_interval, expanded_level, hierarchical_resamples, kendall_tau_b,
    percentile_interval, resampling_strata_by_model, wilson_interval, BootKind, Resampler,
};

/// What a verdict rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The point estimate: a mean, an accuracy, a tau-b.
    pub estimate: f64,
    /// The interval of the quantity (`lo`, `hi`), when the verdict rests on one.
    pub interval: Option<[f64; 2]>,
    /// The probability that the claim holds, when the verdict rests on one.
    pub probability: Option<f64>,
    /// How the interval or probability was computed, e.g. `bootstrap-bca`, `wilson`.
    pub method: String,
    /// Observations: explained images (paired across methods), or test images.
    pub n: usize,
    /// Bootstrap resamples (none for Wilson).
    pub resamples: Option<usize>,
    /// Seed of the resamples.
    pub seed: Option<u64>,
    /// For an INCONCLUSIVE verdict: what would decide it at the observed effect and spread.
    pub to_decide: Option<String>,
}

impl Evidence {
    /// The evidence in one line, e.g. `0.0066 [0.0047, 0.0085] bootstrap-bca, n=10, 2000
    /// resamples, seed 0`.
    pub fn describe(&self) -> String {
        let mut s = match (self.interval, self.probability) {
            (_, Some(p)) => format!("P(holds) = {p:.3} ({} {:.4})", self.method, self.estimate),
            (Some([lo, hi]), None) => {
                format!("{:.4} [{lo:.4}, {hi:.4}] {}", self.estimate, self.method)
            }
            (None, None) => format!("{:.4} {}", self.estimate, self.method),
        };
        s.push_str(&format!(", n={}", self.n));
        if let (Some(b), Some(seed)) = (self.resamples, self.seed) {
            s.push_str(&format!(", {b} resamples, seed {seed}"));
        }
        if let Some(t) = &self.to_decide {
            s.push_str(&format!("; to decide: {t}"));
        }
        s
    }
}

/// Wilson's interval of an accuracy of `correct` out of `n` test images.
pub fn accuracy(correct: u64, n: u64, d: &Decision) -> Evidence {
    let w = wilson_interval(correct, n, d.level);
    Evidence {
        estimate: correct as f64 / n.max(1) as f64,
        interval: Some([w.lo, w.hi]),
        probability: None,
        method: "wilson".into(),
        n: n as usize,
        resamples: None,
        seed: None,
        to_decide: None,
    }
}

/// The accuracy of several models (`counts`: each model's correct predictions and test
/// images): one model, [`accuracy`]; several, the pooled accuracy `sum correct / sum n`
/// with the percentile interval of the two-level bootstrap (models drawn with
/// replacement, then each drawn model's test images: the hits of n draws from its n
/// images, `rng.index(n) < correct`, which is the image bootstrap of its 0/1 outcomes).
pub fn accuracy_of_models(counts: &[(u64, u64)], d: &Decision) -> Evidence {
    if let [(correct, n)] = counts {
        return accuracy(*correct, *n, d);
    }
    let total: u64 = counts.iter().map(|c| c.1).sum();
    let hits: u64 = counts.iter().map(|c| c.0).sum();
    let mut rng = Resampler::new(d.seed);
    let stats: Vec<f64> = (0..d.resamples)
        .map(|_| {
            let drawn: Vec<usize> = (0..counts.len()).map(|_| rng.index(counts.len())).collect();
            let (mut h, mut m) = (0u64, 0u64);
            for k in drawn {
                let (correct, n) = counts[k];
                h += (0..n)
                    .filter(|_| (rng.index(n as usize) as u64) < correct)
                    .count() as u64;
                m += n;
            }
            h as f64 / m.max(1) as f64
        })
        .collect();
    Evidence {
        estimate: hits as f64 / total.max(1) as f64,
        interval: percentile_interval(stats, d.level).map(|(lo, hi)| [lo, hi]),
        probability: None,
        method: format!(
            "hierarchical bootstrap percentile ({} models, then test images)",
            counts.len()
        ),
        n: total as usize,
        resamples: Some(d.resamples),
        seed: Some(d.seed),
        to_decide: None,
    }
}

/// The resamples of `obs` (models, then images within their class where every (model,
/// class) group holds two, else all images of the model together) and how they were drawn
/// in words.
fn resamples(obs: &Observations, d: &Decision) -> (Vec<Vec<usize>>, String) {
    let (strata, stratified) = resampling_strata_by_model(&obs.models, &obs.strata);
    let r = hierarchical_resamples(&obs.models, &strata, d.resamples, d.seed);
    let within = if stratified {
        "stratified bootstrap"
    } else {
        "bootstrap (not stratified: a class holds one image)"
    };
    let how = match obs.model_count() {
        0 | 1 => within.to_string(),
        m => format!("hierarchical bootstrap ({m} models, then images; {within})"),
    };
    (r, how)
}

/// The bootstrap interval of the mean of `values` (made by `obs`): one model, BCa over
/// the images resampled within their class at the expanded level (Table 1's cell
/// interval, `score::table::cell_stats`); several, the percentile interval of the
/// two-level bootstrap at the nominal level (BCa's jackknife acceleration and the
/// expansion's t quantile assume one level of independent observations). `None` below two
/// values.
pub fn mean(values: &[f64], obs: &Observations, d: &Decision) -> Option<Evidence> {
    let (resamples, how) = resamples(obs, d);
    let (kind, level, method) = if obs.model_count() > 1 {
        (BootKind::Percentile, d.level, format!("{how}, percentile"))
    } else {
        let level = expanded_level(d.level, values.len());
        (BootKind::Bca, level, "bootstrap-bca-expanded".to_string())
    };
    let b = bootstrap_mean_interval(values, &resamples, level, kind, d.seed)?;
    Some(Evidence {
        estimate: crate::stats::mean(values)?,
        interval: Some([b.lo, b.hi]),
        probability: None,
        method,
        n: values.len(),
        resamples: Some(d.resamples),
        seed: Some(d.seed),
        to_decide: None,
    })
}

/// Column means of `cols` over the observations `idx`.
fn means_at(cols: &[Vec<f64>], idx: &[usize]) -> Vec<f64> {
    cols.iter()
        .map(|c| idx.iter().map(|&i| c[i]).sum::<f64>() / idx.len() as f64)
        .collect()
}

/// The share of paired resamples (models, then images within their class) whose
/// per-column means satisfy `holds` (`cols[j][i]`: column j's value on observation i; all
/// columns the same observations, made by `obs`), with the statistic `estimate` of the
/// means of every observation.
pub fn probability(
    cols: &[Vec<f64>],
    obs: &Observations,
    d: &Decision,
    estimate: impl Fn(&[f64]) -> f64,
    holds: impl Fn(&[f64]) -> bool,
) -> Option<Evidence> {
    let n = obs.len();
    if n < 2 || cols.is_empty() {
        return None;
    }
    let (resamples, how) = resamples(obs, d);
    let hits = resamples
        .iter()
        .filter(|idx| holds(&means_at(cols, idx)))
        .count();
    let all: Vec<usize> = (0..n).collect();
    Some(Evidence {
        estimate: estimate(&means_at(cols, &all)),
        interval: None,
        probability: Some(hits as f64 / resamples.len() as f64),
        method: how,
        n,
        resamples: Some(d.resamples),
        seed: Some(d.seed),
        to_decide: None,
    })
}

/// Kendall's tau-b between the methods' means (`cols`, paired observations made by `obs`)
/// and `paper`, with its bootstrap percentile interval (resamples where tau-b is
/// undefined left out).
pub fn tau(cols: &[Vec<f64>], obs: &Observations, paper: &[f64], d: &Decision) -> Option<Evidence> {
    let all: Vec<usize> = (0..obs.len()).collect();
    let estimate = kendall_tau_b(&means_at(cols, &all), paper)?;
    let (resamples, how) = resamples(obs, d);
    let mut taus: Vec<f64> = resamples
        .iter()
        .filter_map(|idx| kendall_tau_b(&means_at(cols, idx), paper))
        .collect();
    taus.sort_by(f64::total_cmp);
    let q = |p: f64| taus[((p * (taus.len() - 1) as f64).round() as usize).min(taus.len() - 1)];
    let alpha = (1.0 - d.level) / 2.0;
    Some(Evidence {
        estimate,
        interval: (!taus.is_empty()).then(|| [q(alpha), q(1.0 - alpha)]),
        probability: None,
        method: if obs.model_count() > 1 {
            format!("{how}, percentile")
        } else {
            "bootstrap percentile".into()
        },
        n: obs.len(),
        resamples: Some(d.resamples),
        seed: Some(d.seed),
        to_decide: None,
    })
}

/// Observations needed for an interval of half-width `half` at `n` to shrink to `gap`
/// (half-widths fall as 1 / sqrt(n)): `n (half / gap)^2`, rounded up.
pub fn needed_for_interval(n: usize, half: f64, gap: f64) -> Option<usize> {
    (gap > 0.0 && half.is_finite()).then(|| (n as f64 * (half / gap).powi(2)).ceil() as usize)
}

/// Observations needed for a bootstrap probability `p` at `n` to reach `target` (its
/// normal score grows as sqrt(n)): `n (z_target / z_p)^2`; `None` when `p` is 0.5 (no
/// effect seen, so no number of images decides it) or already decides.
pub fn needed_for_probability(n: usize, p: f64, target: f64) -> Option<usize> {
    let zp = crate::stats::ndtri(p.clamp(1e-6, 1.0 - 1e-6));
    let zt = crate::stats::ndtri(target);
    (zp.abs() > 1e-9 && zp.abs() < zt.abs()).then(|| (n as f64 * (zt / zp).powi(2)).ceil() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_sizes_scale_with_the_square() {
        // Half-width 0.02 at n = 10, 0.01 to spare: four times the images.
        assert_eq!(needed_for_interval(10, 0.02, 0.01), Some(40));
        assert_eq!(needed_for_interval(10, 0.02, 0.0), None);
        // P = Phi(0.8224) ~ 0.7945 at n = 10: z must double to 1.645: ~ 40 images.
        let p = crate::stats::ndtr(1.644_853_626_951_472_2 / 2.0);
        assert!(matches!(needed_for_probability(10, p, 0.95), Some(40 | 41)));
        assert_eq!(needed_for_probability(10, 0.5, 0.95), None);
        assert_eq!(needed_for_probability(10, 0.99, 0.95), None);
    }
}
