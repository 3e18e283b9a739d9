//! Localisation against a ground-truth relevance mask (the synthetic data's masks: true on
//! the class-defining structure).
//!
//! Both scores first reduce the attribution over channels by a **signed sum**,
//! `r(p) = sum_c a_c(p)`, so that positive and negative evidence of the two polarizations
//! can cancel; the attribution must be at the mask's resolution (bring Grad-CAM's layer4 map
//! there with [`to_input_resolution`], nearest-neighbour like Captum's Guided Grad-CAM).
//!
//! * **Relevance mass accuracy** (Arras, Osman and Samek 2022, "CLEVR-XAI: a benchmark
//!   dataset for the ground truth evaluation of neural network explanations", Information
//!   Fusion 81), on the **positive** relevance only:
//!   `RMA = sum_{p in M} max(r(p), 0) / sum_p max(r(p), 0)`.
//!   A map without positive relevance scores 0. (Quantus' `RelevanceMassAccuracy` divides
//!   the signed sum over the mask by the signed total of the max-normalised map: the same
//!   number for non-negative maps such as Saliency's, not for signed ones.)
//! * **Pointing game** (Zhang et al. 2018, "Top-down neural attention by excitation
//!   backprop", IJCV 126): 1 when a pixel attaining `max_p r(p)` lies in the mask, else 0.
//!   As in Quantus' `PointingGame`, a tie counts as a hit when **any** maximiser is in the
//!   mask (so a constant map hits whenever the mask is not empty), and no tolerance margin
//!   is used (Zhang et al. allow 15 pixels).
//!
//! Both return NaN for an image with an empty mask (undefined, as in Quantus).

use tch::{Device, Kind, Tensor};

use super::{Convention, MetricError};

/// Resizes an attribution map (N, C, h, w) to (N, C, `height`, `width`) by nearest-neighbour
/// interpolation (PyTorch's `F.interpolate(mode="nearest")`, as Captum's Guided Grad-CAM
/// upsamples Grad-CAM); a map already at that size is returned as it is.
pub fn to_input_resolution(
    attributions: &Tensor,
    height: i64,
    width: i64,
) -> Result<Tensor, MetricError> {
    let s = attributions.size();
    if s.len() != 4 || s.contains(&0) || height <= 0 || width <= 0 {
        return Err(MetricError::Shape {
            what: "attributions",
            expected: format!(
                "(N, C, h, w) with no empty dimension, resized to {height} x {width}"
            ),
            got: s,
        });
    }
    if s[2] == height && s[3] == width {
        return Ok(attributions.shallow_clone());
    }
    let a = if attributions.is_floating_point() {
        attributions.shallow_clone()
    } else {
        attributions.to_kind(Kind::Float)
    };
    Ok(a.f_upsample_nearest2d([height, width], None, None)?)
}

/// The attribution reduced over channels by a signed sum, (N, H*W) f64 on the CPU, and the
/// mask (N, H*W) bool, after checking that they match.
pub(crate) fn relevance_and_mask(
    attributions: &Tensor,
    masks: &Tensor,
) -> Result<(Tensor, Tensor), MetricError> {
    let a = attributions.size();
    let m = masks.size();
    if a.len() != 4 || a.contains(&0) {
        return Err(MetricError::Shape {
            what: "attributions",
            expected: "(N, C, H, W) with no empty dimension".into(),
            got: a,
        });
    }
    if m.len() != 3 || m[0] != a[0] || m[1..] != a[2..] {
        return Err(MetricError::Shape {
            what: "masks",
            expected: format!(
                "(N, H, W) = ({}, {}, {}) like the attributions (use to_input_resolution for a Grad-CAM map)",
                a[0], a[2], a[3]
            ),
            got: m,
        });
    }
    let r = attributions
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Double)
        .sum_dim_intlist(1, false, Kind::Double)
        .reshape([a[0], -1]);
    if !bool::try_from(r.isfinite().all())? {
        return Err(MetricError::NonFinite {
            what: "attributions",
        });
    }
    let mask = masks.to_device(Device::Cpu).ne(0).reshape([a[0], -1]);
    Ok((r, mask))
}

/// NaN where an image's mask is empty.
fn nan_where_empty(scores: Tensor, mask: &Tensor) -> Tensor {
    let any = mask.any_dim(1, false);
    scores.where_scalarother(&any, f64::NAN)
}

/// Relevance mass accuracy of every image: the share of positive relevance (channel-summed)
/// that falls inside the mask. `attributions` (N, C, H, W), `masks` (N, H, W) bool or
/// numeric (non-zero = inside). Returns (N,) f64 on the CPU, NaN for an empty mask.
pub fn relevance_mass_accuracy(
    attributions: &Tensor,
    masks: &Tensor,
) -> Result<Tensor, MetricError> {
    relevance_mass_accuracy_as(attributions, masks, Convention::Sarxai)
}

/// [`relevance_mass_accuracy`] under a [`Convention`]: Quantus 0.6.0 takes the signed ratio
/// `sum_M r / sum r` of the channel-summed relevance, which leaves [0, 1] on signed maps
/// (-0.756 where sarxai gives 0.924 on fixtures/quantus image 2) and is NaN when `sum r = 0`.
pub fn relevance_mass_accuracy_as(
    attributions: &Tensor,
    masks: &Tensor,
    convention: Convention,
) -> Result<Tensor, MetricError> {
    let (r, mask) = relevance_and_mask(attributions, masks)?;
    if convention == Convention::Quantus {
        let inside = (&r * mask.to_kind(Kind::Double)).sum_dim_intlist(1, false, Kind::Double);
        let total = r.sum_dim_intlist(1, false, Kind::Double);
        return Ok(nan_where_empty(inside / total, &mask));
    }
    let pos = r.clamp_min(0.0);
    let inside = (&pos * mask.to_kind(Kind::Double)).sum_dim_intlist(1, false, Kind::Double);
    let total = pos.sum_dim_intlist(1, false, Kind::Double);
    let has_mass = total.gt(0.0);
    let rma = (inside / total.where_scalarother(&has_mass, 1.0)).where_scalarother(&has_mass, 0.0);
    Ok(nan_where_empty(rma, &mask))
}

/// Pointing game of every image: 1.0 when a maximiser of the channel-summed attribution lies
/// inside the mask, 0.0 when none does, NaN for an empty mask. Shapes as
/// [`relevance_mass_accuracy`]; returns (N,) f64 on the CPU.
pub fn pointing_game(attributions: &Tensor, masks: &Tensor) -> Result<Tensor, MetricError> {
    let (r, mask) = relevance_and_mask(attributions, masks)?;
    let max = r.amax([1i64].as_slice(), true);
    let hit = r
        .eq_tensor(&max)
        .logical_and(&mask)
        .any_dim(1, false)
        .to_kind(Kind::Double);
    Ok(nan_where_empty(hit, &mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(t).unwrap()
    }

    /// Two 8x8 masks: a square and a bar.
    fn masks() -> Tensor {
        let m = Tensor::zeros([2, 8, 8], (Kind::Bool, Device::Cpu));
        let _ = m.get(0).narrow(0, 2, 3).narrow(1, 2, 3).fill_(1);
        let _ = m.get(1).narrow(0, 6, 1).fill_(1);
        m
    }

    #[test]
    fn attribution_equal_to_the_mask_is_perfect() {
        let m = masks();
        let a = m.to_kind(Kind::Float).unsqueeze(1);
        assert_eq!(
            values(&relevance_mass_accuracy(&a, &m).unwrap()),
            [1.0, 1.0]
        );
        assert_eq!(values(&pointing_game(&a, &m).unwrap()), [1.0, 1.0]);
        // Two channels summed, numeric mask.
        let a2 = Tensor::cat(&[&a, &a], 1);
        let mu8 = m.to_kind(Kind::Uint8);
        assert_eq!(
            values(&relevance_mass_accuracy(&a2, &mu8).unwrap()),
            [1.0, 1.0]
        );
    }

    #[test]
    fn mass_counts_positive_relevance_only() {
        let m = masks();
        // Inside: 1 per pixel (9 px); outside: +1 on one pixel, -50 on another.
        let a = m.to_kind(Kind::Double).unsqueeze(1).get(0).unsqueeze(0);
        let _ = a.get(0).get(0).get(0).get(0).fill_(1.0);
        let _ = a.get(0).get(0).get(7).get(7).fill_(-50.0);
        let rma = values(&relevance_mass_accuracy(&a, &m.get(0).unsqueeze(0)).unwrap());
        assert!((rma[0] - 0.9).abs() < 1e-12, "{rma:?}");
        // No positive relevance at all: 0.
        let neg = -a.abs();
        let rma = values(&relevance_mass_accuracy(&neg, &m.get(0).unsqueeze(0)).unwrap());
        assert_eq!(rma, [0.0]);
    }

    #[test]
    fn pointing_game_misses_and_empty_masks() {
        let m = masks();
        let a = Tensor::zeros([2, 1, 8, 8], (Kind::Float, Device::Cpu));
        let _ = a.get(0).get(0).get(0).get(0).fill_(5.0); // outside the square
        let _ = a.get(1).get(0).get(6).get(3).fill_(5.0); // on the bar
        assert_eq!(values(&pointing_game(&a, &m).unwrap()), [0.0, 1.0]);
        let empty = Tensor::zeros([2, 8, 8], (Kind::Bool, Device::Cpu));
        let p = values(&pointing_game(&a, &empty).unwrap());
        assert!(p.iter().all(|v| v.is_nan()));
        assert!(values(&relevance_mass_accuracy(&a, &empty).unwrap())
            .iter()
            .all(|v| v.is_nan()));
    }

    #[test]
    fn grad_cam_maps_upsample_by_nearest_neighbour() {
        // A 2x2 "layer4" map whose top-left cell is hot; an 8x8 mask on the top-left quarter.
        let cam = Tensor::from_slice(&[3.0f32, 0.0, 0.0, 1.0]).view([1, 1, 2, 2]);
        let up = to_input_resolution(&cam, 8, 8).unwrap();
        assert_eq!(up.size(), [1, 1, 8, 8]);
        assert_eq!(up.double_value(&[0, 0, 3, 3]), 3.0);
        assert_eq!(up.double_value(&[0, 0, 4, 4]), 1.0);
        let m = Tensor::zeros([1, 8, 8], (Kind::Bool, Device::Cpu));
        let _ = m.get(0).narrow(0, 0, 4).narrow(1, 0, 4).fill_(1);
        assert_eq!(values(&pointing_game(&up, &m).unwrap()), [1.0]);
        assert!((values(&relevance_mass_accuracy(&up, &m).unwrap())[0] - 0.75).abs() < 1e-12);
        // Same size: unchanged. Wrong size for the mask: a shape error naming the helper.
        assert!(to_input_resolution(&up, 8, 8).unwrap().equal(&up));
        let err = pointing_game(&cam, &m).unwrap_err().to_string();
        assert!(err.contains("to_input_resolution"), "{err}");
    }
}
