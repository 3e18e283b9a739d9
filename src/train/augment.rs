//! Data augmentation as configuration, applied in Rust to single-band square images.
//!
//! One random transform per sample, as an inverse coordinate map from output to input
//! pixel (centred coordinates, `c = (size - 1) / 2`):
//!
//! 1. a small rotation by `theta ~ U(-rotate_degrees, rotate_degrees)` (bilinear);
//! 2. a translation by `(dx, dy)`, each `~ U{-crop_padding..=crop_padding}` pixels: the
//!    same as padding by `crop_padding` and cropping back to the size at a random offset;
//! 3. an element of the dihedral group: a 90-degree rotation `k ~ U{0..3}` (`rot90`), a
//!    horizontal flip (`hflip`, p = 0.5) and a vertical flip (`vflip`, p = 0.5).
//!
//! Pixels outside the image are read by mirror reflection (`reflect` mode: -1 -> 1), so
//! no artificial border appears. Without rotation every output pixel is an exact copy of
//! an input pixel. The random draws come from the caller's generator in a fixed order
//! (D4, translation, angle; only the enabled ones), so a seeded generator gives the same
//! transforms on every platform.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Which augmentations are applied to training images (never to validation or test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Horizontal flip with probability 0.5.
    pub hflip: bool,
    /// Vertical flip with probability 0.5.
    pub vflip: bool,
    /// Rotation by a uniformly drawn multiple of 90 degrees.
    pub rot90: bool,
    /// Random crop: translation by up to this many pixels in x and y (reflect padding).
    pub crop_padding: usize,
    /// Small rotation by up to this many degrees either way (0 disables it).
    pub rotate_degrees: f32,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        AugmentConfig {
            hflip: true,
            vflip: true,
            rot90: true,
            crop_padding: 8,
            rotate_degrees: 0.0,
        }
    }
}

impl AugmentConfig {
    /// No augmentation at all.
    pub fn none() -> AugmentConfig {
        AugmentConfig {
            hflip: false,
            vflip: false,
            rot90: false,
            crop_padding: 0,
            rotate_degrees: 0.0,
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
        let n = size as i64;
        debug_assert_eq!(src.len(), size * size);
        debug_assert_eq!(dst.len(), size * size);
        if self.degrees == 0.0 {
            for y in 0..n {
                for x in 0..n {
                    // Doubled centred coordinates: 2x - (n - 1).
                    let (sx2, sy2) = self.d4(2 * x - (n - 1), 2 * y - (n - 1));
                    let sx = reflect((sx2 + n - 1) / 2 + self.dx, n);
                    let sy = reflect((sy2 + n - 1) / 2 + self.dy, n);
                    dst[(y * n + x) as usize] = src[(sy * n + sx) as usize];
                }
            }
            return;
        }
        let c = (size as f32 - 1.0) / 2.0;
        let (s, co) = self.degrees.to_radians().sin_cos();
        for y in 0..n {
            for x in 0..n {
                let (sx2, sy2) = self.d4(2 * x - (n - 1), 2 * y - (n - 1));
                let (ux, uy) = (sx2 as f32 / 2.0, sy2 as f32 / 2.0);
                // Inverse rotation about the centre, then the translation.
                let rx = co * ux + s * uy + c + self.dx as f32;
                let ry = -s * ux + co * uy + c + self.dy as f32;
                dst[(y * n + x) as usize] = bilinear(src, n, rx, ry);
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
}
