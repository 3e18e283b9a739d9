//! Data augmentation as configuration, applied in Rust to single-band square images.
//!
//! One random transform per sample, as an inverse coordinate map from output to input
//! pixel (centred coordinates, `c = (size - 1) / 2`):
//!
//! 1. a small rotation by `theta ~ U(-rotate_degrees, rotate_degrees)` (bilinear);
//! 2. a translation by `(dx, dy)`, each `~ U{-crop_padding..=crop_padding}` pixels: a
//!    random crop of the image's size from the chip around it (`crop_from_chip`, where the
//!    chip is at least `size + 2 crop_padding` on both sides: the training data then keeps
//!    that margin of every chip, [`Transform::apply_within`]), else the same as padding
//!    the image by `crop_padding` and cropping back at a random offset;
//! 3. an element of the dihedral group: a 90-degree rotation `k ~ U{0..3}` (`rot90`), a
//!    horizontal flip (`hflip`, p = 0.5) and a vertical flip (`vflip`, p = 0.5).
//!
//! Pixels outside the image (and its chip margin) are read by mirror reflection (`reflect` mode: -1 -> 1), so
//! no artificial border appears. Without rotation every output pixel is an exact copy of
//! an input pixel. The random draws come from the caller's generator in a fixed order
//! (D4, translation, angle; only the enabled ones), so a seeded generator gives the same
//! transforms on every platform.
//!
//! # Radar geometry
//!
//! A SAR image is not rotation-invariant: the sensor looks from one side, so the near/far
//! range brightness gradient, layover (towards near range) and radar shadow (towards far
//! range) fall on a side fixed by the acquisition. One image axis is *range* (the look
//! direction, [`RangeAxis`], a property of the dataset), the other *azimuth* (the flight
//! direction). What each transform does to that geometry:
//!
//! | transform | radar geometry |
//! |---|---|
//! | flip across the azimuth axis (mirror of azimuth) | keeps the look direction: the mirrored scene seen from the same side (a pass in the opposite flight direction); shadows stay on the far-range side |
//! | flip across the range axis (mirror of range) | reverses the look direction: near and far range swap, shadows and layover move to the other side; no sensor looking from the original side produces it |
//! | 90-degree rotation | exchanges range and azimuth: the look direction turns by 90 degrees (or 270), a geometry the acquisition cannot produce |
//! | translation (`crop_padding`) | keeps the geometry: the target moves within the chip by a few pixels (range and azimuth offsets) |
//! | small rotation (`rotate_degrees`) | turns the look direction by a few degrees (an aspect-angle change of the scene; resamples the speckle bilinearly) |
//!
//! # Presets ([`AugmentPreset`])
//!
//! * `sar` (the default for real data): azimuth flips and translations of up to
//!   [`SAR_CROP_PADDING`] pixels only; no range flips, no 90-degree rotations, no small
//!   rotations: every augmented chip is one the sensor could have produced;
//! * `natural` (the natural-image recipe, sarxai's default before presets; the quick
//!   profile's synthetic data, whose scenes have no look direction, keeps it): both flips,
//!   90-degree rotations and 8-pixel translations;
//! * `none`: no augmentation.
//!
//! Over 600 lines: 269 of them are unit tests (the radar-geometry checks of the presets
//! among them); the rest is one transform, its presets and the table above.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// The image axis along which slant or ground range increases (the look direction); the
/// other axis is azimuth. Sentinel-1 GRD chips in radar geometry (OpenSARUrban,
/// OpenSARShip) have range along the columns (`x`); MSTAR chips are displayed with range
/// along the rows (`y`: the radar illuminates from the top, shadows fall downwards).
///
/// In YAML a bare `y` reads as the boolean true (YAML 1.1), so `true` is accepted as `y`;
/// `rows` and `columns` are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RangeAxis {
    /// Range along x (columns): a range flip is a horizontal flip.
    #[default]
    X,
    /// Range along y (rows): a range flip is a vertical flip.
    Y,
}

impl<'de> Deserialize<'de> for RangeAxis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Bool(bool),
        }
        let bad = || serde::de::Error::custom("range_axis must be x (columns) or y (rows)");
        match Raw::deserialize(d)? {
            Raw::Bool(true) => Ok(RangeAxis::Y),
            Raw::Bool(false) => Err(bad()),
            Raw::Name(n) => match n.to_ascii_lowercase().as_str() {
                "x" | "columns" => Ok(RangeAxis::X),
                "y" | "rows" => Ok(RangeAxis::Y),
                _ => Err(bad()),
            },
        }
    }
}

impl RangeAxis {
    /// Lower-case name (`x`, `y`).
    pub fn name(self) -> &'static str {
        match self {
            RangeAxis::X => "x",
            RangeAxis::Y => "y",
        }
    }
}

/// A named augmentation policy (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AugmentPreset {
    /// Azimuth flips and small translations: keeps the look direction.
    Sar,
    /// Both flips, 90-degree rotations, 8-pixel translations (the natural-image recipe).
    #[default]
    Natural,
    /// No augmentation.
    None,
}

impl AugmentPreset {
    /// Lower-case name (`sar`, `natural`, `none`).
    pub fn name(self) -> &'static str {
        match self {
            AugmentPreset::Sar => "sar",
            AugmentPreset::Natural => "natural",
            AugmentPreset::None => "none",
        }
    }
}

/// Translation of the `sar` preset in pixels (4 % of a 100-pixel chip).
pub const SAR_CROP_PADDING: usize = 4;

/// Which augmentations are applied to training images (never to validation or test).
///
/// `preset` names the policy the switches started from (what a run records); the switches
/// are what is applied, and a configuration may change any of them after the preset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// The named policy the switches below started from.
    pub preset: AugmentPreset,
    /// Horizontal flip (mirror of x) with probability 0.5: a range flip when range is x
    /// (reverses the look direction), an azimuth flip when range is y (keeps it).
    pub hflip: bool,
    /// Vertical flip (mirror of y) with probability 0.5: an azimuth flip when range is x
    /// (keeps the look direction), a range flip when range is y (reverses it).
    pub vflip: bool,
    /// Rotation by a uniformly drawn multiple of 90 degrees: exchanges range and azimuth.
    pub rot90: bool,
    /// Random crop: translation by up to this many pixels in x and y; keeps the geometry.
    pub crop_padding: usize,
    /// Translations read the chip's own pixels around the image where the chip is at least
    /// `size + 2 crop_padding` on both sides (a random crop from the chip, as A-ConvNets'
    /// 88-pixel crops from 128-pixel MSTAR chips); otherwise the image is mirrored at its
    /// border (`reflect`).
    pub crop_from_chip: bool,
    /// Small rotation by up to this many degrees either way (0 disables it): turns the
    /// look direction by that angle.
    pub rotate_degrees: f32,
}

impl Default for AugmentConfig {
    /// The `natural` preset (sarxai's default before presets existed, so that a saved
    /// configuration without `preset` reads back as it was written).
    fn default() -> Self {
        AugmentConfig::natural()
    }
}

impl AugmentConfig {
    /// The switches of `preset` for data whose range runs along `range_axis`.
    pub fn preset(preset: AugmentPreset, range_axis: RangeAxis) -> AugmentConfig {
        match preset {
            AugmentPreset::Sar => AugmentConfig::sar(range_axis),
            AugmentPreset::Natural => AugmentConfig::natural(),
            AugmentPreset::None => AugmentConfig::none(),
        }
    }

    /// The `sar` preset: flips across the azimuth axis only (the one that keeps the look
    /// direction: `vflip` when range is x, `hflip` when range is y) and translations of up
    /// to `SAR_CROP_PADDING` pixels.
    pub fn sar(range_axis: RangeAxis) -> AugmentConfig {
        AugmentConfig {
            preset: AugmentPreset::Sar,
            hflip: range_axis == RangeAxis::Y,
            vflip: range_axis == RangeAxis::X,
            rot90: false,
            crop_padding: SAR_CROP_PADDING,
            crop_from_chip: true,
            rotate_degrees: 0.0,
        }
    }

    /// The `natural` preset: both flips, 90-degree rotations and 8-pixel translations.
    pub fn natural() -> AugmentConfig {
        AugmentConfig {
            preset: AugmentPreset::Natural,
            hflip: true,
            vflip: true,
            rot90: true,
            crop_padding: 8,
            crop_from_chip: true,
            rotate_degrees: 0.0,
        }
    }

    /// The same policy for data whose range runs along `to` instead of `from`: the flips
    /// across range and azimuth keep their radar meaning (x and y flips swap when the axis
    /// changes; rotations and translations are symmetric).
    pub fn with_range_axis(mut self, from: RangeAxis, to: RangeAxis) -> AugmentConfig {
        if from != to {
            std::mem::swap(&mut self.hflip, &mut self.vflip);
        }
        self
    }

    /// True when some transform can reverse or turn the look direction of data whose range
    /// runs along `range_axis` (a range flip, a 90-degree or a small rotation).
    #[cfg(test)]
    pub fn changes_look_direction(&self, range_axis: RangeAxis) -> bool {
        let range_flip = match range_axis {
            RangeAxis::X => self.hflip,
            RangeAxis::Y => self.vflip,
        };
        range_flip || self.rot90 || self.rotate_degrees > 0.0
    }

    /// One line for logs and reports, e.g. `sar (vflip, crop 4 within chip)`.
    pub fn describe(&self) -> String {
        let mut on = Vec::new();
        for (flag, name) in [
            (self.hflip, "hflip"),
            (self.vflip, "vflip"),
            (self.rot90, "rot90"),
        ] {
            if flag {
                on.push(name.to_string());
            }
        }
        if self.crop_padding > 0 {
            let within = if self.crop_from_chip {
                " within chip"
            } else {
                ""
            };
            on.push(format!("crop {}{within}", self.crop_padding));
        }
        if self.rotate_degrees > 0.0 {
            on.push(format!("rotate {} deg", self.rotate_degrees));
        }
        if on.is_empty() {
            on.push("identity".into());
        }
        format!("{} ({})", self.preset.name(), on.join(", "))
    }

    /// No augmentation at all.
    pub fn none() -> AugmentConfig {
        AugmentConfig {
            preset: AugmentPreset::None,
            hflip: false,
            vflip: false,
            rot90: false,
            crop_padding: 0,
            crop_from_chip: true,
            rotate_degrees: 0.0,
        }
    }

    /// Pixels of the chip the training data must keep around each image
    /// ([`crate::data::DatasetConfig::train_margin`]): `crop_padding` with `crop_from_chip`.
    pub fn chip_margin(&self) -> usize {
        if self.crop_from_chip {
            self.crop_padding
        } else {
            0
        }
    }

    /// True when no transform is enabled.
    pub fn is_identity(&self) -> bool {
        !self.hflip
            && !self.vflip
            && !self.rot90
            && self.crop_padding == 0
            && self.rotate_degrees == 0.0
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.rotate_degrees.is_finite() && (0.0..=45.0).contains(&self.rotate_degrees)) {
            return Err(format!(
                "augment.rotate_degrees = {} must be in [0, 45] (use rot90 for larger turns)",
                self.rotate_degrees
            ));
        }
        if self.crop_padding > 4096 {
            return Err(format!(
                "augment.crop_padding = {} is too large",
                self.crop_padding
            ));
        }
        Ok(())
    }

    /// Draws one transform for an image of `size` x `size`.
    pub fn draw<R: Rng + ?Sized>(&self, size: usize, rng: &mut R) -> Transform {
        let mut t = Transform::identity();
        if self.rot90 {
            t.rot90 = rng.random_range(0..4u8);
        }
        if self.hflip {
            t.hflip = rng.random_bool(0.5);
        }
        if self.vflip {
            t.vflip = rng.random_bool(0.5);
        }
        if self.crop_padding > 0 {
            // Never translate by a full image or more: reflection needs an overlap.
            let p = self.crop_padding.min(size.saturating_sub(1)) as i64;
            t.dx = rng.random_range(-p..=p);
            t.dy = rng.random_range(-p..=p);
        }
        if self.rotate_degrees > 0.0 {
            let r = self.rotate_degrees;
            t.degrees = rng.random_range(-r..=r);
        }
        t
    }
}

/// One drawn transform (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    pub rot90: u8,
    pub hflip: bool,
    pub vflip: bool,
    pub dx: i64,
    pub dy: i64,
    pub degrees: f32,
}

/// Mirror reflection of an index into `0..n` (`-1 -> 1`, `n -> n - 2`).
fn reflect(i: i64, n: i64) -> i64 {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = i.rem_euclid(period);
    if m < n {
        m
    } else {
        period - m
    }
}

impl Transform {
    pub fn identity() -> Transform {
        Transform {
            rot90: 0,
            hflip: false,
            vflip: false,
            dx: 0,
            dy: 0,
            degrees: 0.0,
        }
    }

    /// Applies the dihedral part to doubled centred coordinates (integers, so that the
    /// half-pixel centre of an even size stays exact): returns the source's.
    fn d4(&self, mut x2: i64, mut y2: i64) -> (i64, i64) {
        // Output = flips(rot(input)); invert: undo the flips, then the rotation.
        if self.hflip {
            x2 = -x2;
        }
        if self.vflip {
            y2 = -y2;
        }
        for _ in 0..self.rot90 {
            // Output (X, Y) of one counter-clockwise quarter turn reads input (-Y, X).
            let (x, y) = (-y2, x2);
            x2 = x;
            y2 = y;
        }
        (x2, y2)
    }

    /// Writes the transformed `src` (`size` x `size`, row-major) into `dst`.
    pub fn apply(&self, src: &[f32], dst: &mut [f32], size: usize) {
        self.apply_within(src, 0, dst, size);
    }

    /// Writes the transformed centre of `src` into `dst` (`size` x `size`): `src` is the
    /// image with `margin` more pixels of its chip on every side (`size + 2 margin` square,
    /// row-major), so a translation of up to `margin` pixels reads the chip's own pixels;
    /// only beyond them is the chip mirrored. With `margin = 0` this is [`Transform::apply`].
    pub fn apply_within(&self, src: &[f32], margin: usize, dst: &mut [f32], size: usize) {
        let n = size as i64;
        let (m, side) = (margin as i64, (size + 2 * margin) as i64);
        debug_assert_eq!(src.len(), (side * side) as usize);
        debug_assert_eq!(dst.len(), size * size);
        if self.degrees == 0.0 {
            for y in 0..n {
                for x in 0..n {
                    // Doubled centred coordinates: 2x - (n - 1).
                    let (sx2, sy2) = self.d4(2 * x - (n - 1), 2 * y - (n - 1));
                    let sx = reflect((sx2 + n - 1) / 2 + self.dx + m, side);
                    let sy = reflect((sy2 + n - 1) / 2 + self.dy + m, side);
                    dst[(y * n + x) as usize] = src[(sy * side + sx) as usize];
                }
            }
            return;
        }
        let c = (size as f32 - 1.0) / 2.0 + margin as f32;
        let (s, co) = self.degrees.to_radians().sin_cos();
        for y in 0..n {
            for x in 0..n {
                let (sx2, sy2) = self.d4(2 * x - (n - 1), 2 * y - (n - 1));
                let (ux, uy) = (sx2 as f32 / 2.0, sy2 as f32 / 2.0);
                // Inverse rotation about the centre, then the translation.
                let rx = co * ux + s * uy + c + self.dx as f32;
                let ry = -s * ux + co * uy + c + self.dy as f32;
                dst[(y * n + x) as usize] = bilinear(src, side, rx, ry);
            }
        }
    }
}

fn bilinear(src: &[f32], n: i64, x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let at = |xi: i64, yi: i64| src[(reflect(yi, n) * n + reflect(xi, n)) as usize];
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn ramp(n: usize) -> Vec<f32> {
        (0..n * n).map(|i| i as f32).collect()
    }

    fn run(t: Transform, src: &[f32], n: usize) -> Vec<f32> {
        let mut d = vec![0.0; n * n];
        t.apply(src, &mut d, n);
        d
    }

    #[test]
    fn translations_within_a_chip_read_its_own_pixels() {
        let (n, m) = (6usize, 3usize);
        let side = n + 2 * m;
        let chip = ramp(side);
        let centre: Vec<f32> = (m..m + n)
            .flat_map(|y| chip[y * side + m..y * side + m + n].to_vec())
            .collect();
        let within = |t: Transform| {
            let mut d = vec![0.0; n * n];
            t.apply_within(&chip, m, &mut d, n);
            d
        };
        // Without translation the chip's centre is transformed as the image itself.
        for (hflip, vflip) in [(false, false), (true, false), (false, true)] {
            let t = Transform {
                hflip,
                vflip,
                ..Transform::identity()
            };
            assert_eq!(within(t), run(t, &centre, n));
        }
        // A translation of up to the margin reads the chip: (x, y) <- (x + m + dx, y + m + dy).
        let t = Transform {
            dx: 3,
            dy: -2,
            ..Transform::identity()
        };
        let out = within(t);
        for y in 0..n {
            for x in 0..n {
                assert_eq!(out[y * n + x], chip[(y + m - 2) * side + x + m + 3]);
            }
        }
        assert_ne!(out, run(t, &centre, n), "the image alone mirrors instead");
        // Beyond the chip the chip is mirrored: column n + m + 1 + 1 reads side - 2.
        let far = within(Transform {
            dx: 4,
            ..Transform::identity()
        });
        assert_eq!(far[n - 1], chip[m * side + side - 2]);
    }

    #[test]
    fn identity_copies_and_flips_match_index_formulas() {
        for n in [1usize, 2, 5, 6] {
            let src = ramp(n);
            assert_eq!(run(Transform::identity(), &src, n), src);
            let h = run(
                Transform {
                    hflip: true,
                    ..Transform::identity()
                },
                &src,
                n,
            );
            let v = run(
                Transform {
                    vflip: true,
                    ..Transform::identity()
                },
                &src,
                n,
            );
            for y in 0..n {
                for x in 0..n {
                    assert_eq!(h[y * n + x], src[y * n + (n - 1 - x)]);
                    assert_eq!(v[y * n + x], src[(n - 1 - y) * n + x]);
                }
            }
        }
    }

    #[test]
    fn four_quarter_turns_are_the_identity_and_one_is_a_permutation() {
        let n = 6;
        let src = ramp(n);
        let q = Transform {
            rot90: 1,
            ..Transform::identity()
        };
        let mut x = src.clone();
        for _ in 0..4 {
            x = run(q, &x, n);
        }
        assert_eq!(x, src);
        let mut once = run(q, &src, n);
        assert_ne!(once, src);
        once.sort_by(f32::total_cmp);
        assert_eq!(once, src);
        // A quarter turn is np.rot90 (counter-clockwise): out[y][x] = in[x][n-1-y].
        let r = run(q, &src, n);
        for y in 0..n {
            for x in 0..n {
                assert_eq!(r[y * n + x], src[x * n + (n - 1 - y)]);
            }
        }
    }

    #[test]
    fn translation_reflects_at_the_border() {
        let n = 4;
        let src = ramp(n);
        let t = Transform {
            dx: 1,
            ..Transform::identity()
        };
        let d = run(t, &src, n);
        assert_eq!(&d[..4], &[1.0, 2.0, 3.0, 2.0]);
        let t = Transform {
            dx: -2,
            dy: 0,
            ..Transform::identity()
        };
        assert_eq!(&run(t, &src, n)[..4], &[2.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn zero_degree_rotation_path_equals_exact_path_and_small_rotation_keeps_range() {
        let n = 9;
        let src = ramp(n);
        let tiny = Transform {
            degrees: 1e-6,
            rot90: 3,
            hflip: true,
            dx: 2,
            dy: -1,
            vflip: false,
        };
        let exact = Transform {
            degrees: 0.0,
            ..tiny
        };
        let a = run(tiny, &src, n);
        let b = run(exact, &src, n);
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-2, "{p} {q}");
        }
        let r = run(
            Transform {
                degrees: 10.0,
                ..Transform::identity()
            },
            &src,
            n,
        );
        let (lo, hi) = (0.0, (n * n - 1) as f32);
        assert!(r.iter().all(|v| *v >= lo && *v <= hi));
        // The centre pixel of an odd size stays put under rotation.
        assert!((r[n * n / 2] - src[n * n / 2]).abs() < 1e-4);
    }

    #[test]
    fn draws_are_seeded_and_cover_the_group() {
        let cfg = AugmentConfig::default();
        let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut b = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let t = cfg.draw(32, &mut a);
            assert_eq!(t, cfg.draw(32, &mut b));
            assert!(t.dx.abs() <= 8 && t.dy.abs() <= 8);
            seen.insert((t.rot90, t.hflip, t.vflip));
        }
        assert_eq!(seen.len(), 16);
        assert!(AugmentConfig::none().is_identity());
        assert!(AugmentConfig {
            rotate_degrees: 90.0,
            ..AugmentConfig::none()
        }
        .validate()
        .is_err());
    }

    /// A chip with a look direction along `axis`: bright near range (index 0 of the range
    /// axis), a brightness falling towards far range and a radar shadow (zeros) on the
    /// far-range quarter; constant along azimuth.
    fn look_chip(n: usize, axis: RangeAxis) -> Vec<f32> {
        let mut img = vec![0.0f32; n * n];
        for y in 0..n {
            for x in 0..n {
                let r = if axis == RangeAxis::X { x } else { y };
                img[y * n + x] = if r >= 3 * n / 4 { 0.0 } else { (n - r) as f32 };
            }
        }
        img
    }

    /// Mean of the near-range half minus the mean of the far-range half: positive while
    /// the bright near range and the shadow keep their acquired sides.
    fn near_minus_far(img: &[f32], n: usize, axis: RangeAxis) -> f32 {
        let (mut near, mut far) = (0.0f32, 0.0f32);
        for y in 0..n {
            for x in 0..n {
                let r = if axis == RangeAxis::X { x } else { y };
                if r < n / 2 {
                    near += img[y * n + x];
                } else {
                    far += img[y * n + x];
                }
            }
        }
        (near - far) / (n * n / 2) as f32
    }

    /// Applies 300 seeded draws of `cfg`; counts the outputs whose shadow moved to the
    /// near-range side.
    fn reversed_draws(cfg: &AugmentConfig, axis: RangeAxis) -> usize {
        let n = 16;
        let src = look_chip(n, axis);
        assert!(near_minus_far(&src, n, axis) > 0.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        (0..300)
            .filter(|_| {
                let out = run(cfg.draw(n, &mut rng), &src, n);
                near_minus_far(&out, n, axis) <= 0.0
            })
            .count()
    }

    #[test]
    fn sar_preset_never_moves_the_shadow_to_the_near_range_side() {
        for axis in [RangeAxis::X, RangeAxis::Y] {
            let sar = AugmentConfig::sar(axis);
            assert_eq!(sar.preset, AugmentPreset::Sar);
            assert!(!sar.rot90 && sar.rotate_degrees == 0.0);
            assert!(sar.crop_padding > 0, "sar translates");
            assert!(!sar.changes_look_direction(axis));
            assert_eq!(reversed_draws(&sar, axis), 0, "range axis {}", axis.name());
            // The azimuth flip is drawn: some outputs differ from translations alone.
            let flips = AugmentConfig {
                crop_padding: 0,
                ..sar.clone()
            };
            let src = look_chip(16, axis);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
            let moved = (0..50)
                .filter(|_| run(flips.draw(16, &mut rng), &src, 16) != src)
                .count();
            assert_eq!(
                moved, 0,
                "the chip is symmetric in azimuth, a flip keeps it"
            );
        }
        // Range along x: the azimuth flip is vflip; along y: hflip.
        assert!(AugmentConfig::sar(RangeAxis::X).vflip && !AugmentConfig::sar(RangeAxis::X).hflip);
        assert!(AugmentConfig::sar(RangeAxis::Y).hflip && !AugmentConfig::sar(RangeAxis::Y).vflip);
    }

    #[test]
    fn natural_preset_moves_the_shadow_to_the_other_side_and_none_is_identity() {
        for axis in [RangeAxis::X, RangeAxis::Y] {
            let natural = AugmentConfig::preset(AugmentPreset::Natural, axis);
            assert!(natural.changes_look_direction(axis));
            let reversed = reversed_draws(&natural, axis);
            // Range flips and quarter turns: about 3/8 + 1/8 of the draws turn it around.
            assert!(reversed > 60, "{reversed} of 300");
            let none = AugmentConfig::preset(AugmentPreset::None, axis);
            assert!(none.is_identity() && !none.changes_look_direction(axis));
            assert_eq!(reversed_draws(&none, axis), 0);
        }
        // A range flip alone reverses the look direction every time it is drawn.
        let range_flip = AugmentConfig {
            hflip: true,
            ..AugmentConfig::none()
        };
        let r = reversed_draws(&range_flip, RangeAxis::X);
        assert!((100..200).contains(&r), "{r} of 300 (p = 0.5)");
        assert_eq!(
            reversed_draws(&range_flip, RangeAxis::Y),
            0,
            "an azimuth flip for y"
        );
    }

    #[test]
    fn changing_the_range_axis_keeps_the_radar_meaning_of_the_flips() {
        let sar_x = AugmentConfig::sar(RangeAxis::X);
        assert_eq!(
            sar_x.clone().with_range_axis(RangeAxis::X, RangeAxis::Y),
            AugmentConfig::sar(RangeAxis::Y)
        );
        assert_eq!(
            sar_x.clone().with_range_axis(RangeAxis::X, RangeAxis::X),
            sar_x
        );
        let nat = AugmentConfig::natural();
        assert_eq!(nat.clone().with_range_axis(RangeAxis::X, RangeAxis::Y), nat);
        assert_eq!(
            AugmentConfig::default(),
            nat,
            "saved configs without preset"
        );
        assert_eq!(sar_x.describe(), "sar (vflip, crop 4 within chip)");
        assert_eq!(AugmentConfig::none().describe(), "none (identity)");
    }
}
