//! Sparseness: the Gini index of the absolute attribution (Chalasani et al. 2020,
//! "Concise explanations of neural networks using adversarial training", ICML; as Quantus'
//! `Sparseness`):
//!
//! `G(a) = sum_{i=1..n} (2i - n - 1) a_(i) / (n sum_i a_(i))`
//!
//! where `a_(1) <= ... <= a_(n)` are the absolute attribution values of one image sorted
//! ascending, over every element of its attribution as given (all channels and pixels, no
//! channel reduction: reduce first if you want a per-pixel score). `G` lies in `[0, (n-1)/n]`:
//! 0 for a constant map, `(n-1)/n` for a one-hot map; higher is sparser. An all-zero map
//! scores 0. Unlike Quantus, no `1e-7` is added to the values and the map is not
//! max-normalised first (the index is scale-invariant, so only the `1e-7` would change it).
//! `n` enters the maximum, so compare maps of the same resolution (Grad-CAM's layer4 map has
//! far fewer elements than an input-sized map).

use tch::{Device, Kind, Tensor};

use super::{Convention, MetricError};

/// Gini index of `|attributions[i]|` for every image `i`: (N,) f64 on the CPU.
/// `attributions` is (N, ...) with at least one element per image.
pub fn sparseness(attributions: &Tensor) -> Result<Tensor, MetricError> {
    sparseness_as(attributions, Convention::Sarxai)
}

/// [`sparseness`] under a [`Convention`]: Quantus 0.6.0 computes `G` of
/// `|a| / M + 1e-7` with `M` the largest `|a|` of the whole batch, which equals
/// `G * S / (S + n 1e-7)` with `S = sum |a| / M` (docs/quantus.md: -5e-7 on dense maps,
/// -4e-4 on a one-pixel map of 1152 elements).
pub fn sparseness_as(attributions: &Tensor, convention: Convention) -> Result<Tensor, MetricError> {
    let a = super::abs_rows(attributions)?;
    let a = match convention {
        Convention::Sarxai => a,
        Convention::Quantus => {
            let m = a.max().double_value(&[]);
            (if m > 0.0 { a / m } else { a }) + 1e-7
        }
    };
    let n = a.size()[1];
    let (sorted, _) = a.sort(1, false);
    // Weights 2i - n - 1 for i = 1..n.
    let weights = Tensor::arange(n, (Kind::Double, Device::Cpu)) * 2.0 + (1 - n) as f64;
    let num = (&sorted * weights.unsqueeze(0)).sum_dim_intlist(1, false, Kind::Double);
    let total = sorted.sum_dim_intlist(1, false, Kind::Double);
    let den = &total * n as f64;
    // An all-zero map: 0 (the numerator is 0 too).
    let den = den.where_scalarother(&total.ne(0.0), 1.0);
    Ok(num / den)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(t).unwrap()
    }

    #[test]
    fn one_hot_is_n_minus_one_over_n_and_constant_is_zero() {
        let n = 2 * 8 * 8;
        let one_hot = Tensor::zeros([3, 2, 8, 8], (Kind::Float, Device::Cpu));
        let _ = one_hot.get(0).get(1).get(3).get(5).fill_(-4.0); // sign is ignored
        let _ = one_hot.get(1).fill_(2.5); // constant
        let g = values(&sparseness(&one_hot).unwrap());
        assert!((g[0] - (n as f64 - 1.0) / n as f64).abs() < 1e-12, "{g:?}");
        assert!(g[1].abs() < 1e-12, "{g:?}");
        assert_eq!(g[2], 0.0, "all-zero map"); // image 2 is all zero
    }

    #[test]
    fn matches_the_formula_on_a_small_example() {
        // |a| sorted = [0, 1, 2, 3, 4], weights 2i - n - 1 = [-4, -2, 0, 2, 4]:
        // numerator -2 + 6 + 16 = 20, denominator n * sum = 5 * 10 = 50, G = 0.4.
        let a = Tensor::from_slice(&[3.0f64, -1.0, 0.0, 4.0, 2.0]).view([1, 5]);
        let g = values(&sparseness(&a).unwrap());
        assert!((g[0] - 0.4).abs() < 1e-12, "{g:?}");
    }

    #[test]
    fn scale_invariant_and_sparser_maps_score_higher() {
        let dense = Tensor::ones([1, 1, 4, 4], (Kind::Double, Device::Cpu));
        let _ = dense.get(0).get(0).get(0).fill_(2.0);
        let sparse = Tensor::zeros([1, 1, 4, 4], (Kind::Double, Device::Cpu));
        let _ = sparse.get(0).get(0).get(0).fill_(1.0);
        let g_dense = values(&sparseness(&dense).unwrap())[0];
        let g_scaled = values(&sparseness(&(&dense * 7.0)).unwrap())[0];
        let g_sparse = values(&sparseness(&sparse).unwrap())[0];
        assert!((g_dense - g_scaled).abs() < 1e-12);
        assert!(g_sparse > g_dense);
    }

    #[test]
    fn rejects_empty_and_non_finite() {
        let empty = Tensor::zeros([2, 0], (Kind::Float, Device::Cpu));
        assert!(matches!(sparseness(&empty), Err(MetricError::Shape { .. })));
        let nan = Tensor::from_slice(&[1.0f32, f32::NAN]).view([1, 2]);
        assert!(matches!(
            sparseness(&nan),
            Err(MetricError::NonFinite { .. })
        ));
    }
}
