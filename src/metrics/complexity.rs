//! Complexity: the Shannon entropy of the attribution's share of absolute value per element
//! (Bhatt et al. 2020, "Evaluating and aggregating feature-based model explanations",
//! IJCAI; as Quantus' `Complexity`):
//!
//! `C(a) = -sum_i p_i ln p_i`, `p_i = |a_i| / sum_j |a_j|`
//!
//! over every element of one image's attribution as given (all channels and pixels), in
//! nats, `0 ln 0 = 0`: 0 for a one-hot map, `ln n` for a constant one; NaN for an all-zero
//! map, where no share is defined. Quantus 0.6.0 takes `ln(p_i + 1e-12)`, which moves a
//! score by about `-1e-12` per non-zero element ([`Convention::Quantus`] keeps it).
//! Not the paper's "XAI entropy" (the PNG size of the heat map) nor
//! [`super::entropy::shannon_bits`] (the entropy of its 8-bit histogram).

use tch::{Kind, Tensor};

use super::{Convention, MetricError};

/// Complexity of every image: (N,) f64 on the CPU. `attributions` is (N, ...) with at
/// least one element per image.
pub fn complexity(attributions: &Tensor, convention: Convention) -> Result<Tensor, MetricError> {
    let a = super::abs_rows(attributions)?;
    let p = &a / a.sum_dim_intlist(1, true, Kind::Double);
    let log = match convention {
        Convention::Sarxai => p.log().where_scalarother(&p.gt(0.0), 0.0),
        Convention::Quantus => (&p + 1e-12).log(),
    };
    Ok(-(p * log).sum_dim_intlist(1, false, Kind::Double))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn one_hot_is_zero_constant_is_ln_n_and_zero_is_nan() {
        let a = Tensor::zeros([3, 1, 2, 2], (Kind::Float, Device::Cpu));
        let _ = a.get(0).get(0).get(1).get(1).fill_(-2.0);
        let _ = a.get(1).fill_(0.5);
        let c = Vec::<f64>::try_from(complexity(&a, Convention::Sarxai).unwrap()).unwrap();
        assert_eq!(c[0], 0.0);
        assert!((c[1] - 4f64.ln()).abs() < 1e-15);
        assert!(c[2].is_nan());
        let q = Vec::<f64>::try_from(complexity(&a, Convention::Quantus).unwrap()).unwrap();
        assert!((q[0] + 1e-12).abs() < 1e-15, "{}", q[0]);
    }
}
