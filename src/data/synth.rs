//! The embedded default dataset: a deterministic synthetic SAR generator shaped like
//! OpenSARUrban (10 urban classes, VH and VV patches, float32 TIFF named
//! `<Class>_x<X>_y<Y>_Polygon<N>_<vh|vv>.tif`), with a ground-truth relevance mask per patch
//! (`<Class>_x<X>_y<Y>_Polygon<N>_mask.png`, 8-bit, 255 on the class-defining structure).
//!
//! # Image model
//!
//! Each patch is a reflectivity map sigma(x, y) per polarization (linear intensity), drawn
//! from geometry:
//!
//! * background: `sigma_vv = b * exp(0.35 n(x, y))` with level `b ~ U(0.6, 1.4)` and `n` a
//!   smooth unit-variance noise field (bilinear up-sampling of a 6 x 6 Gaussian grid);
//!   `sigma_vh = r * sigma_vv` with `r ~ U(0.15, 0.25)` (cross-pol about 7 dB darker);
//! * class structure (table below) with random position, orientation, scale, density and
//!   a strength factor `k ~ U(0.8, 1.6)` on every gain, so some patches are faint;
//!   bright scatterers add `g * b` to VV and `g * b * rho` to VH, with `rho` = 0.10 to 0.15
//!   for double-bounce and point scatterers and 0.45 for volume scattering (vegetation: the
//!   VH/VV contrast differs from the urban classes); dark (specular) surfaces multiply both
//!   polarizations by a factor `f`;
//! * clutter shared by all classes: 0 to 6 isolated bright points, a dark pond with
//!   probability 0.3, and a small off-class distractor (short dark road or lone building)
//!   with probability 0.25;
//! * multiplicative speckle: observed intensity `I = sigma * G`, `G ~ Gamma(L, 1/L)`
//!   (mean 1, variance 1/L, L = `looks`), independent per polarization;
//! * stored value: amplitude `A = 100 * sqrt(I)` as float32 (OpenSARShip's `Patch` files
//!   hold amplitude too).
//!
//! | class | structure (mask) |
//! |---|---|
//! | DenseLowRise | dense lattice of small bright points, spacing 4-7 px (lattice region) |
//! | GeneralResidential | grid of medium blocks, spacing 8-13 px, darker streets (grid region) |
//! | HighBuildings | 3-6 large blocks with bright double-bounce edge and shadow (blocks + shadows) |
//! | SingleBuilding | one block with bright edge and shadow (block + shadow) |
//! | Skyscraper | 1-3 very bright towers with layover streak and long shadow (all three) |
//! | StorageArea | 2-3 rows of 3-5 round tanks with bright rims (tanks) |
//! | Vegetation | irregular canopy with strong volume scattering and fine texture (canopy) |
//! | Highway | dark road 3-6 px wide across the patch, bright rails (p = 0.8), crossing road (p = 0.3) (road) |
//! | Railway | two parallel bright rails 3-5 px apart on a faintly bright bed, pole points (p = 0.7) (track band) |
//! | Airport | dark runway 10-16 px wide, taxiway (p = 0.9), terminal (p = 0.54) (runway + taxiway) |
//!
//! # Determinism
//!
//! Patch `(class c, index i)` draws all its randomness from a ChaCha8 stream seeded with
//! `seed` on stream `c * 2^32 + i`, so generation is parallel and order-independent, and
//! the same seed gives byte-identical files (TIFF and PNG encoders run with fixed settings).
//! Pixel values go through `sin`, `cos`, `exp`, `ln` and `sqrt` from the platform's libm;
//! the pinned digest in `fixtures/data/synthetic-default.yaml` was produced on
//! x86_64-unknown-linux-gnu.

use std::f32::consts::PI;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, StandardNormal};
use serde::{Deserialize, Serialize};

use super::encode;
use super::error::{DataError, Result};
use super::manifest::{Manifest, ManifestEntry, MANIFEST_FILE_NAME};
use super::naming::{Pol, OPENSARURBAN_CLASSES};
use super::raster::Shape;
use crate::io::{sha256_hex, write_atomic};

/// Version tag of the generator's image model; bump it whenever the pixels change.
pub const SYNTH_VERSION: &str = "sarxai-synth-2";

/// Name of the file recording the generator configuration inside a generated dataset.
pub const SYNTH_CONFIG_FILE_NAME: &str = "synth.json";

/// Amplitude calibration constant: stored amplitude = `AMPLITUDE_SCALE * sqrt(intensity)`.
pub const AMPLITUDE_SCALE: f32 = 100.0;

/// Configuration of the synthetic generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynthConfig {
    /// Master seed.
    pub seed: u64,
    /// Patches per class.
    pub per_class: usize,
    /// Patch side in pixels (square patches).
    pub size: usize,
    /// Equivalent number of looks L of the Gamma speckle (larger = less speckle).
    pub looks: f32,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 0,
            per_class: 100,
            size: 100,
            looks: 4.0,
        }
    }
}

impl SynthConfig {
    fn validate(&self, out_dir: &Path) -> Result<()> {
        let bad = |reason: String, fix: &str| {
            Err(DataError::Config {
                dir: out_dir.to_path_buf(),
                reason,
                fix: fix.to_string(),
            })
        };
        if self.per_class == 0 || self.per_class > 1_000_000 {
            return bad(
                format!("per_class = {} is out of range", self.per_class),
                "use --per-class between 1 and 1000000",
            );
        }
        if !(16..=4096).contains(&self.size) {
            return bad(
                format!("size = {} is out of range", self.size),
                "use --size between 16 and 4096",
            );
        }
        if !(self.looks.is_finite() && self.looks >= 0.5 && self.looks <= 1000.0) {
            return bad(
                format!("looks = {} is out of range", self.looks),
                "use --looks between 0.5 and 1000 (4 is typical of Sentinel-1 GRD)",
            );
        }
        Ok(())
    }
}

/// What `synth.json` records next to the generated files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthRecord {
    /// [`SYNTH_VERSION`] of the generator that wrote the files.
    pub generator: String,
    /// The configuration used.
    pub config: SynthConfig,
    /// Class names in label order.
    pub classes: Vec<String>,
}

/// One synthetic patch before encoding.
#[derive(Debug, Clone)]
pub struct Patch {
    /// Observed VH amplitude, row-major `size * size`.
    pub vh: Vec<f32>,
    /// Observed VV amplitude.
    pub vv: Vec<f32>,
    /// Ground-truth relevance mask (true on the class-defining structure).
    pub mask: Vec<bool>,
}

/// The file stem (without polarization or mask suffix) of patch `index` of class `class`:
/// `<Class>_x<X>_y<Y>_Polygon<N>` with X = (index mod 50) * size, Y = (index div 50) * size
/// and N = index div 5 + 1 (five patches per polygon, as in the real data).
pub fn patch_stem(class: usize, index: usize, size: usize) -> String {
    format!(
        "{}_x{}_y{}_Polygon{}",
        OPENSARURBAN_CLASSES[class],
        (index % 50) * size,
        (index / 50) * size,
        index / 5 + 1
    )
}

/// Renders patch `index` of class `class` (0-based index into [`OPENSARURBAN_CLASSES`]).
pub fn render_patch(cfg: &SynthConfig, class: usize, index: usize) -> Patch {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(((class as u64) << 32) | index as u64);
    let mut scene = Scene::background(cfg.size, &mut rng);
    let strength = rng.random_range(0.8f32..1.6);
    draw_class(&mut scene, class, strength, &mut rng);
    draw_clutter(&mut scene, class, &mut rng);
    let looks = cfg.looks;
    let speckle = Gamma::new(looks, 1.0 / looks).expect("looks validated to be positive");
    let observe = |sigma: &[f32], rng: &mut ChaCha8Rng| -> Vec<f32> {
        sigma
            .iter()
            .map(|&s| AMPLITUDE_SCALE * (s * speckle.sample(rng)).max(0.0).sqrt())
            .collect()
    };
    let vv = observe(&scene.vv, &mut rng);
    let vh = observe(&scene.vh, &mut rng);
    Patch {
        vh,
        vv,
        mask: scene.mask,
    }
}

/// Reflectivity maps under construction.
struct Scene {
    size: usize,
    /// Background level b (VV).
    level: f32,
    vv: Vec<f32>,
    vh: Vec<f32>,
    mask: Vec<bool>,
}

/// VH/VV ratio of double-bounce and point scatterers.
const RHO_DOUBLE: f32 = 0.12;
/// VH/VV ratio of volume scattering (vegetation).
const RHO_VOLUME: f32 = 0.45;

impl Scene {
    fn background(size: usize, rng: &mut ChaCha8Rng) -> Scene {
        let level = rng.random_range(0.6f32..1.4);
        let ratio = rng.random_range(0.15f32..0.25);
        let noise = smooth_noise(size, 6, rng);
        let vv: Vec<f32> = noise.iter().map(|n| level * (0.35 * n).exp()).collect();
        let vh = vv.iter().map(|v| v * ratio).collect();
        Scene {
            size,
            level,
            vv,
            vh,
            mask: vec![false; size * size],
        }
    }

    fn s(&self) -> f32 {
        self.size as f32
    }

    /// Adds a bright scatterer: VV += g * b, VH += g * b * rho.
    fn bright(&mut self, shape: Shape, gain: f32, rho: f32, mask: bool) {
        let add = gain * self.level;
        let (vv, vh, m) = (&mut self.vv, &mut self.vh, &mut self.mask);
        shape.for_each_pixel(self.size, |i| {
            vv[i] += add;
            vh[i] += add * rho;
            if mask {
                m[i] = true;
            }
        });
    }

    /// Darkens a specular surface: both polarizations multiplied by `factor`.
    fn dark(&mut self, shape: Shape, factor: f32, mask: bool) {
        let (vv, vh, m) = (&mut self.vv, &mut self.vh, &mut self.mask);
        shape.for_each_pixel(self.size, |i| {
            vv[i] *= factor;
            vh[i] *= factor;
            if mask {
                m[i] = true;
            }
        });
    }

    fn mark(&mut self, shape: Shape) {
        let m = &mut self.mask;
        shape.for_each_pixel(self.size, |i| m[i] = true);
    }
}

/// Smooth zero-mean, unit-variance field: a `grid` x `grid` array of N(0, 1) values,
/// bilinearly interpolated to `size` x `size` and rescaled to unit variance
/// (bilinear weights w satisfy sum w^2 >= 1/4, so the rescale is at most 2x).
fn smooth_noise(size: usize, grid: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let g: Vec<f32> = (0..grid * grid)
        .map(|_| StandardNormal.sample(rng))
        .collect();
    let mut out = vec![0.0f32; size * size];
    let scale = (grid - 1) as f32 / (size.max(2) - 1) as f32;
    for y in 0..size {
        let fy = y as f32 * scale;
        let y0 = (fy as usize).min(grid - 2);
        let ty = fy - y0 as f32;
        for x in 0..size {
            let fx = x as f32 * scale;
            let x0 = (fx as usize).min(grid - 2);
            let tx = fx - x0 as f32;
            let a = g[y0 * grid + x0] * (1.0 - tx) + g[y0 * grid + x0 + 1] * tx;
            let b = g[(y0 + 1) * grid + x0] * (1.0 - tx) + g[(y0 + 1) * grid + x0 + 1] * tx;
            out[y * size + x] = a * (1.0 - ty) + b * ty;
        }
    }
    let n = out.len() as f32;
    let mean = out.iter().sum::<f32>() / n;
    let var = out.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let sd = var.sqrt().max(1e-3);
    out.iter_mut().for_each(|v| *v = (*v - mean) / sd);
    out
}

fn angle(rng: &mut ChaCha8Rng) -> f32 {
    rng.random_range(0.0f32..PI)
}

/// A point inside the central `frac` of the patch.
fn centre(rng: &mut ChaCha8Rng, s: f32, frac: f32) -> (f32, f32) {
    let lo = s * (0.5 - frac / 2.0);
    let hi = s * (0.5 + frac / 2.0);
    (rng.random_range(lo..hi), rng.random_range(lo..hi))
}

/// A line through (cx, cy) at angle `theta` long enough to cross the whole patch.
fn crossing_segment(cx: f32, cy: f32, theta: f32, s: f32, hw: f32) -> Shape {
    let (sn, cs) = theta.sin_cos();
    let l = 1.5 * s;
    Shape::Segment {
        x0: cx - l * cs,
        y0: cy - l * sn,
        x1: cx + l * cs,
        y1: cy + l * sn,
        hw,
    }
}

/// Paint the structure of `class` into the scene (the table in the module docs), with
/// strength `k` on every gain. Each class has its own painter below; each painter takes
/// its random draws from `rng` in a fixed order (the pinned dataset digest depends on it).
fn draw_class(sc: &mut Scene, class: usize, k: f32, rng: &mut ChaCha8Rng) {
    let s = sc.s();
    let u = s / 100.0; // geometry scales with the patch size
    match OPENSARURBAN_CLASSES[class] {
        "DenseLowRise" => lattice_region(sc, k, rng, 4.0 * u, 7.0 * u, false),
        "GeneralResidential" => lattice_region(sc, k, rng, 8.0 * u, 13.0 * u, true),
        "HighBuildings" => high_buildings(sc, k, u, rng),
        "SingleBuilding" => single_building(sc, k, u, rng),
        "Skyscraper" => skyscrapers(sc, k, u, rng),
        "StorageArea" => storage_tanks(sc, k, u, rng),
        "Vegetation" => vegetation(sc, k, rng),
        "Highway" => highway(sc, k, u, rng),
        "Railway" => railway(sc, k, u, rng),
        "Airport" => airport(sc, k, u, rng),
        other => unreachable!("class table and generator disagree on {other}"),
    }
}

/// HighBuildings: 3-6 large blocks (centres in the central 80%), each with a bright
/// double-bounce edge and a shadow (see [`building`]).
fn high_buildings(sc: &mut Scene, k: f32, u: f32, rng: &mut ChaCha8Rng) {
    let s = sc.s();
    let n = rng.random_range(3..=6);
    for _ in 0..n {
        let (cx, cy) = centre(rng, s, 0.8);
        let hl = rng.random_range(6.0..12.0) * u;
        let hw = rng.random_range(4.0..8.0) * u;
        building(sc, cx, cy, hl, hw, k, rng);
    }
}

/// SingleBuilding: one block near the centre (central 50%) with bright edge and shadow.
fn single_building(sc: &mut Scene, k: f32, u: f32, rng: &mut ChaCha8Rng) {
    let s = sc.s();
    let (cx, cy) = centre(rng, s, 0.5);
    let hl = rng.random_range(5.0..10.0) * u;
    let hw = rng.random_range(3.0..7.0) * u;
    building(sc, cx, cy, hl, hw, k, rng);
}

/// Skyscraper: 1-3 very bright towers, each with a layover streak towards near range (-x)
/// and a long shadow towards far range (+x); mask: tower, streak and shadow.
fn skyscrapers(sc: &mut Scene, k: f32, u: f32, rng: &mut ChaCha8Rng) {
    let s = sc.s();
    let n = rng.random_range(1..=3);
    for _ in 0..n {
        let (cx, cy) = centre(rng, s, 0.6);
        let r = rng.random_range(3.0..5.0) * u;
        let lay = rng.random_range(12.0..25.0) * u;
        let shadow = rng.random_range(15.0..30.0) * u;
        // Layover towards near range (-x), shadow towards far range (+x).
        let body = Shape::Rect {
            cx,
            cy,
            hl: r,
            hw: r,
            theta: 0.0,
        };
        let streak = Shape::Rect {
            cx: cx - r - lay / 2.0,
            cy,
            hl: lay / 2.0,
            hw: r * 0.6,
            theta: 0.0,
        };
        let shade = Shape::Rect {
            cx: cx + r + shadow / 2.0,
            cy,
            hl: shadow / 2.0,
            hw: r,
            theta: 0.0,
        };
        sc.dark(shade, 0.12, true);
        sc.bright(streak, k * rng.random_range(5.0..10.0), RHO_DOUBLE, true);
        sc.bright(body, k * rng.random_range(25.0..60.0), RHO_DOUBLE, true);
    }
}

/// StorageArea: a rotated grid of 2-3 rows x 3-5 round tanks, each a faint disc with a
/// bright rim (double bounce at the tank wall); mask: the tanks.
fn storage_tanks(sc: &mut Scene, k: f32, u: f32, rng: &mut ChaCha8Rng) {
    let s = sc.s();
    let theta = angle(rng);
    let (sn, cs) = theta.sin_cos();
    let r = rng.random_range(3.0..5.0) * u;
    let cols = rng.random_range(3..=5);
    let rows = rng.random_range(2..=3);
    let pitch = r * rng.random_range(2.3..3.0);
    let (cx, cy) = centre(rng, s, 0.4);
    let rim = k * rng.random_range(8.0..15.0);
    for j in 0..rows {
        for i in 0..cols {
            let a = (i as f32 - (cols - 1) as f32 / 2.0) * pitch;
            let b = (j as f32 - (rows - 1) as f32 / 2.0) * pitch;
            let (tx, ty) = (cx + a * cs - b * sn, cy + a * sn + b * cs);
            let disc = Shape::Disc { cx: tx, cy: ty, r };
            sc.bright(disc, k * 1.2, RHO_DOUBLE, true);
            let ring = Shape::Ring {
                cx: tx,
                cy: ty,
                r_in: (r - 1.2 * u).max(0.5),
                r_out: r,
            };
            sc.bright(ring, rim, RHO_DOUBLE, true);
        }
    }
}

/// Vegetation: an irregular canopy (a coarse smooth-noise field above a threshold) with
/// volume scattering (VH/VV = `RHO_VOLUME`) and fine log-normal texture; mask: the canopy.
fn vegetation(sc: &mut Scene, k: f32, rng: &mut ChaCha8Rng) {
    let field = smooth_noise(sc.size, 5, rng);
    let fine = smooth_noise(sc.size, 25, rng);
    let threshold = rng.random_range(-0.5f32..0.5);
    let gain = k * rng.random_range(0.8..2.0) * sc.level;
    for i in 0..sc.size * sc.size {
        if field[i] > threshold {
            let t = gain * (0.5 * fine[i]).exp();
            sc.vv[i] += t;
            sc.vh[i] += t * RHO_VOLUME;
            sc.mask[i] = true;
        }
    }
}

/// Highway: a dark (specular) road across the patch, bright rails on both sides
/// (p = 0.8) and a crossing road (p = 0.3); mask: the road(s) and rails.
fn highway(sc: &mut Scene, k: f32, u: f32, rng: &mut ChaCha8Rng) {
    let s = sc.s();
    let (cx, cy) = centre(rng, s, 0.6);
    let theta = angle(rng);
    let hw = rng.random_range(1.5..3.0) * u;
    let f = rng.random_range(0.08..0.25);
    sc.dark(crossing_segment(cx, cy, theta, s, hw), f, true);
    if rng.random_bool(0.8) {
        let (sn, cs) = theta.sin_cos();
        let g = k * rng.random_range(2.0..4.0);
        for side in [-1.0f32, 1.0] {
            let off = side * (hw + 0.8 * u);
            let rail = crossing_segment(cx - off * sn, cy + off * cs, theta, s, 0.5 * u);
            sc.bright(rail, g, RHO_DOUBLE, true);
        }
    }
    if rng.random_bool(0.3) {
        let theta2 = theta + rng.random_range(0.6..(PI - 0.6));
        sc.dark(crossing_segment(cx, cy, theta2, s, hw), f, true);
    }
}

/// Railway: two parallel bright rails on a faintly bright bed across the patch, and a row
/// of bright pole points beside it (p = 0.7); mask: the track band and poles.
fn railway(sc: &mut Scene, k: f32, u: f32, rng: &mut ChaCha8Rng) {
    let s = sc.s();
    let (cx, cy) = centre(rng, s, 0.6);
    let theta = angle(rng);
    let (sn, cs) = theta.sin_cos();
    let gap = rng.random_range(3.0..5.0) * u;
    let g = k * rng.random_range(5.0..10.0);
    let hw = rng.random_range(0.6..0.9) * u;
    let track = crossing_segment(cx, cy, theta, s, gap / 2.0 + hw);
    sc.bright(track, k * 0.6, RHO_DOUBLE, true);
    for side in [-0.5f32, 0.5] {
        let off = side * gap;
        let rail = crossing_segment(cx - off * sn, cy + off * cs, theta, s, hw);
        sc.bright(rail, g, RHO_DOUBLE, true);
    }
    if rng.random_bool(0.7) {
        let step = rng.random_range(6.0..10.0) * u;
        let off = gap / 2.0 + 2.0 * u;
        let mut t = -1.5 * s;
        while t < 1.5 * s {
            let (px, py) = (cx + t * cs - off * sn, cy + t * sn + off * cs);
            let pole = Shape::Disc {
                cx: px,
                cy: py,
                r: 0.9 * u,
            };
            sc.bright(pole, g * 1.5, RHO_DOUBLE, true);
            t += step;
        }
    }
}

/// Airport: a dark runway, a parallel taxiway with its link (p = 0.9) and a bright
/// terminal beside the taxiway (p = 0.6 of those); mask: runway and taxiway.
fn airport(sc: &mut Scene, k: f32, u: f32, rng: &mut ChaCha8Rng) {
    let s = sc.s();
    let (cx, cy) = centre(rng, s, 0.5);
    let theta = angle(rng);
    let (sn, cs) = theta.sin_cos();
    let hw = rng.random_range(5.0..8.0) * u;
    let f = rng.random_range(0.05..0.12);
    let half_len = rng.random_range(35.0..65.0) * u;
    let runway = Shape::Rect {
        cx,
        cy,
        hl: half_len,
        hw,
        theta,
    };
    sc.dark(runway, f, true);
    if rng.random_bool(0.9) {
        let off = hw + rng.random_range(8.0..14.0) * u;
        let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let (tx, ty) = (cx - side * off * sn, cy + side * off * cs);
        let taxi = Shape::Rect {
            cx: tx,
            cy: ty,
            hl: half_len * 0.8,
            hw: 1.5 * u,
            theta,
        };
        sc.dark(taxi, f * 1.5, true);
        let link = Shape::Segment {
            x0: cx,
            y0: cy,
            x1: tx,
            y1: ty,
            hw: 1.5 * u,
        };
        sc.dark(link, f * 1.5, true);
        if rng.random_bool(0.6) {
            let (bx, by) = (tx - side * 8.0 * u * sn, ty + side * 8.0 * u * cs);
            let terminal = Shape::Rect {
                cx: bx,
                cy: by,
                hl: rng.random_range(6.0..12.0) * u,
                hw: 3.0 * u,
                theta,
            };
            sc.bright(terminal, k * rng.random_range(3.0..6.0), RHO_DOUBLE, false);
        }
    }
}

/// A rotated rectangular region filled with a lattice of scatterers. `blocks = false`:
/// small bright points (dense low-rise); `blocks = true`: medium blocks with darker streets
/// between them (general residential). Mask: the region.
fn lattice_region(
    sc: &mut Scene,
    k: f32,
    rng: &mut ChaCha8Rng,
    d_lo: f32,
    d_hi: f32,
    blocks: bool,
) {
    let s = sc.s();
    let u = s / 100.0;
    let theta = angle(rng);
    let (sn, cs) = theta.sin_cos();
    let (cx, cy) = centre(rng, s, 0.4);
    let hl = rng.random_range(25.0..50.0) * u;
    let hw = rng.random_range(20.0..45.0) * u;
    let d = rng.random_range(d_lo..d_hi);
    let dropout = rng.random_range(0.1..0.3);
    let jitter = rng.random_range(0.2..0.8) * u;
    let region = Shape::Rect {
        cx,
        cy,
        hl,
        hw,
        theta,
    };
    sc.mark(region);
    if blocks {
        sc.dark(region, rng.random_range(0.5..0.8), true);
    }
    let g = k * if blocks {
        rng.random_range(1.5..4.0)
    } else {
        rng.random_range(2.0..6.0)
    };
    let (bl, bw) = (
        d * rng.random_range(0.2..0.3),
        d * rng.random_range(0.12..0.2),
    );
    let r = rng.random_range(0.8..1.3) * u;
    let ni = (hl / d).floor() as i32;
    let nj = (hw / d).floor() as i32;
    for j in -nj..=nj {
        for i in -ni..=ni {
            if rng.random::<f32>() < dropout {
                continue;
            }
            let a = i as f32 * d + rng.random_range(-jitter..=jitter);
            let b = j as f32 * d + rng.random_range(-jitter..=jitter);
            let (px, py) = (cx + a * cs - b * sn, cy + a * sn + b * cs);
            let shape = if blocks {
                Shape::Rect {
                    cx: px,
                    cy: py,
                    hl: bl,
                    hw: bw,
                    theta,
                }
            } else {
                Shape::Disc { cx: px, cy: py, r }
            };
            sc.bright(shape, g, RHO_DOUBLE, true);
        }
    }
}

/// A building block of half-size (hl, hw) at a random orientation: moderately bright roof,
/// a bright double-bounce line on its near-range side and a shadow on its far side.
fn building(sc: &mut Scene, cx: f32, cy: f32, hl: f32, hw: f32, k: f32, rng: &mut ChaCha8Rng) {
    let u = sc.s() / 100.0;
    let theta = angle(rng);
    let (sn, cs) = theta.sin_cos();
    let shadow_len = rng.random_range(3.0..7.0) * u;
    // Shadow: the footprint displaced by `shadow_len` towards far range (+x); the roof is
    // drawn over it, so a sliver about `shadow_len` wide stays dark.
    let shade = Shape::Rect {
        cx: cx + shadow_len,
        cy,
        hl,
        hw,
        theta,
    };
    sc.dark(shade, 0.25, true);
    let roof = Shape::Rect {
        cx,
        cy,
        hl,
        hw,
        theta,
    };
    sc.bright(roof, k * rng.random_range(2.0..4.0), RHO_DOUBLE, true);
    let edge = Shape::Rect {
        cx: cx + hw * sn,
        cy: cy - hw * cs,
        hl,
        hw: 0.8 * u,
        theta,
    };
    sc.bright(edge, k * rng.random_range(8.0..15.0), RHO_DOUBLE, true);
}

/// Clutter every class shares (never masked): isolated bright points, a dark pond, and a
/// small off-class distractor (a short dark road stub or a lone small building).
fn draw_clutter(sc: &mut Scene, class: usize, rng: &mut ChaCha8Rng) {
    let s = sc.s();
    let u = s / 100.0;
    let n_points = rng.random_range(0..=6);
    for _ in 0..n_points {
        let (x, y) = centre(rng, s, 1.0);
        let p = Shape::Disc {
            cx: x,
            cy: y,
            r: rng.random_range(0.6..1.5) * u,
        };
        sc.bright(p, rng.random_range(3.0..10.0), RHO_DOUBLE, false);
    }
    if rng.random_bool(0.3) {
        let (x, y) = centre(rng, s, 1.0);
        let pond = Shape::Rect {
            cx: x,
            cy: y,
            hl: rng.random_range(3.0..9.0) * u,
            hw: rng.random_range(2.0..6.0) * u,
            theta: angle(rng),
        };
        sc.dark(pond, 0.1, false);
    }
    if rng.random_bool(0.25) {
        let (x, y) = centre(rng, s, 0.9);
        let theta = angle(rng);
        let road_like =
            OPENSARURBAN_CLASSES[class] == "Highway" || OPENSARURBAN_CLASSES[class] == "Airport";
        if rng.random_bool(0.5) && !road_like {
            let (sn, cs) = theta.sin_cos();
            let l = rng.random_range(8.0..15.0) * u;
            let stub = Shape::Segment {
                x0: x - l * cs,
                y0: y - l * sn,
                x1: x + l * cs,
                y1: y + l * sn,
                hw: rng.random_range(1.0..1.8) * u,
            };
            sc.dark(stub, 0.2, false);
        } else {
            let lone = Shape::Rect {
                cx: x,
                cy: y,
                hl: rng.random_range(2.0..3.5) * u,
                hw: rng.random_range(1.5..2.5) * u,
                theta,
            };
            sc.bright(lone, rng.random_range(2.0..5.0), RHO_DOUBLE, false);
        }
    }
}

/// Encodes the three files of one patch: `(file name, bytes)` for VH, VV and the mask.
fn encode_patch(
    cfg: &SynthConfig,
    class: usize,
    index: usize,
) -> Result<[(String, Vec<u8>); 3], String> {
    let p = render_patch(cfg, class, index);
    let stem = patch_stem(class, index, cfg.size);
    let n = cfg.size;
    let mask: Vec<u8> = p.mask.iter().map(|&m| if m { 255 } else { 0 }).collect();
    Ok([
        (
            format!("{stem}_{}.tif", Pol::Vh.suffix()),
            encode::tiff_f32(n, n, &p.vh)?,
        ),
        (
            format!("{stem}_{}.tif", Pol::Vv.suffix()),
            encode::tiff_f32(n, n, &p.vv)?,
        ),
        (format!("{stem}_mask.png"), encode::png_gray8(n, n, &mask)?),
    ])
}

/// Generates the dataset into `out_dir` (created if missing) without a progress display.
/// See [`generate_with_progress`].
pub fn generate(cfg: &SynthConfig, out_dir: &Path) -> Result<Manifest> {
    generate_with_progress(cfg, out_dir, &indicatif::ProgressBar::hidden())
}

/// Generates the dataset into `out_dir`: for every class and index the VH and VV float32
/// TIFFs and the mask PNG (flat layout), then `synth.json` (the configuration) and
/// `manifest.json` (SHA-256 and size of every other file, see [`Manifest`]).
///
/// `out_dir` must be empty, missing, or a previous synthetic dataset (it has `synth.json`);
/// in the last case the files of the previous manifest that the new one lacks are removed.
/// Files are written atomically by several threads; `progress` advances once per patch.
pub fn generate_with_progress(
    cfg: &SynthConfig,
    out_dir: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<Manifest> {
    cfg.validate(out_dir)?;
    let previous = check_output_dir(out_dir)?;
    std::fs::create_dir_all(out_dir).map_err(|e| DataError::io(out_dir, e))?;
    let n_classes = OPENSARURBAN_CLASSES.len();
    let total = n_classes * cfg.per_class;
    progress.set_length(total as u64);
    let next = AtomicUsize::new(0);
    let entries = Mutex::new(Vec::with_capacity(total * 3 + 1));
    let failure: Mutex<Option<DataError>> = Mutex::new(None);
    // More threads than cores: each file is fsync'ed, so writers overlap on I/O.
    let threads = std::thread::available_parallelism()
        .map(|n| n.get() * 3)
        .unwrap_or(4)
        .clamp(2, 12);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job >= total || failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                    break;
                }
                let (class, index) = (job / cfg.per_class, job % cfg.per_class);
                let result = encode_patch(cfg, class, index)
                    .map_err(|e| DataError::Config {
                        dir: out_dir.to_path_buf(),
                        reason: format!("encoding failed: {e}"),
                        fix: "report this as a bug".into(),
                    })
                    .and_then(|files| {
                        let mut local = Vec::with_capacity(3);
                        for (name, bytes) in files {
                            let path = out_dir.join(&name);
                            write_atomic(&path, &bytes).map_err(|e| DataError::io(&path, e))?;
                            local.push(ManifestEntry {
                                path: name,
                                sha256: sha256_hex(&bytes),
                                size: Some(bytes.len() as u64),
                            });
                        }
                        Ok(local)
                    });
                match result {
                    Ok(local) => {
                        if let Ok(mut e) = entries.lock() {
                            e.extend(local);
                        }
                        progress.inc(1);
                    }
                    Err(e) => {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut entries = entries.into_inner().unwrap_or_default();
    let record = SynthRecord {
        generator: SYNTH_VERSION.to_string(),
        config: cfg.clone(),
        classes: OPENSARURBAN_CLASSES.iter().map(|c| c.to_string()).collect(),
    };
    let record_bytes = serde_json::to_vec_pretty(&record).expect("SynthRecord serializes");
    let record_path = out_dir.join(SYNTH_CONFIG_FILE_NAME);
    write_atomic(&record_path, &record_bytes).map_err(|e| DataError::io(&record_path, e))?;
    entries.push(ManifestEntry {
        path: SYNTH_CONFIG_FILE_NAME.to_string(),
        sha256: sha256_hex(&record_bytes),
        size: Some(record_bytes.len() as u64),
    });
    let manifest = Manifest::from_entries(entries);
    if let Some(prev) = previous {
        let keep: std::collections::HashSet<&str> =
            manifest.files.iter().map(|e| e.path.as_str()).collect();
        for old in prev
            .files
            .iter()
            .filter(|e| !keep.contains(e.path.as_str()))
        {
            let p = out_dir.join(&old.path);
            if p.is_file() {
                std::fs::remove_file(&p).map_err(|e| DataError::io(&p, e))?;
            }
        }
    }
    manifest.write(&out_dir.join(MANIFEST_FILE_NAME))?;
    progress.finish();
    Ok(manifest)
}

/// Refuses to write into a non-empty directory that is not a previous synthetic dataset;
/// returns the previous manifest, if any, so that stale files can be removed.
fn check_output_dir(out_dir: &Path) -> Result<Option<Manifest>> {
    if !out_dir.exists() {
        return Ok(None);
    }
    let mut entries = std::fs::read_dir(out_dir).map_err(|e| DataError::io(out_dir, e))?;
    if entries.next().is_none() {
        return Ok(None);
    }
    if !out_dir.join(SYNTH_CONFIG_FILE_NAME).is_file() {
        return Err(DataError::Config {
            dir: out_dir.to_path_buf(),
            reason: "the output directory is not empty and is not a sarxai synthetic dataset (no synth.json)".into(),
            fix: "choose a new or empty --out directory".into(),
        });
    }
    let manifest_path = out_dir.join(MANIFEST_FILE_NAME);
    if manifest_path.is_file() {
        Ok(Some(Manifest::read(&manifest_path)?))
    } else {
        Ok(None)
    }
}

/// Reuses `dir` when it holds exactly the dataset `cfg` describes (same `synth.json`, every
/// file matching its manifest), otherwise (re)generates it. Returns the manifest.
pub fn ensure(cfg: &SynthConfig, dir: &Path) -> Result<Manifest> {
    if let Some(m) = existing_matches(cfg, dir) {
        return Ok(m);
    }
    generate(cfg, dir)
}

fn existing_matches(cfg: &SynthConfig, dir: &Path) -> Option<Manifest> {
    let record: SynthRecord =
        serde_json::from_slice(&std::fs::read(dir.join(SYNTH_CONFIG_FILE_NAME)).ok()?).ok()?;
    if record.generator != SYNTH_VERSION || &record.config != cfg {
        return None;
    }
    let manifest = Manifest::read(&dir.join(MANIFEST_FILE_NAME)).ok()?;
    let report = super::manifest::verify_manifest(dir, &manifest).ok()?;
    report.is_clean().then_some(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SynthConfig {
        SynthConfig {
            seed: 7,
            per_class: 2,
            size: 64,
            looks: 4.0,
        }
    }

    #[test]
    fn rendering_is_deterministic_and_seed_dependent() {
        let a = render_patch(&small(), 3, 1);
        let b = render_patch(&small(), 3, 1);
        assert_eq!(a.vv, b.vv);
        assert_eq!(a.vh, b.vh);
        assert_eq!(a.mask, b.mask);
        let c = render_patch(&SynthConfig { seed: 8, ..small() }, 3, 1);
        assert_ne!(a.vv, c.vv);
        let d = render_patch(&small(), 3, 0);
        assert_ne!(a.vv, d.vv);
    }

    #[test]
    fn every_class_has_a_nonempty_partial_mask_and_finite_positive_pixels() {
        let cfg = SynthConfig {
            size: 100,
            ..small()
        };
        for (class, name) in OPENSARURBAN_CLASSES.iter().enumerate() {
            for index in 0..5 {
                let p = render_patch(&cfg, class, index);
                let on = p.mask.iter().filter(|&&m| m).count();
                assert!(on > 0, "{name} #{index}: empty mask");
                assert!(on < p.mask.len(), "{name} #{index}: mask covers everything");
                for v in p.vv.iter().chain(&p.vh) {
                    assert!(v.is_finite() && *v >= 0.0, "{name}: pixel {v}");
                }
            }
        }
    }

    #[test]
    fn cross_pol_is_darker_than_co_pol() {
        // Mean VH intensity over VV intensity, per class, averaged over 5 patches: the
        // background ratio is 0.15-0.25 and no scattering mechanism exceeds 0.45.
        let cfg = SynthConfig {
            size: 100,
            ..small()
        };
        for (class, name) in OPENSARURBAN_CLASSES.iter().enumerate() {
            let (mut ivh, mut ivv) = (0.0f64, 0.0f64);
            for index in 0..5 {
                let p = render_patch(&cfg, class, index);
                ivh += p.vh.iter().map(|a| (*a as f64).powi(2)).sum::<f64>();
                ivv += p.vv.iter().map(|a| (*a as f64).powi(2)).sum::<f64>();
            }
            let ratio = ivh / ivv;
            assert!(ratio > 0.08 && ratio < 0.45, "{name}: {ratio}");
        }
    }

    #[test]
    fn speckle_has_the_gamma_statistics_of_l_looks() {
        // On a flat scene sigma = 1 the intensity I = sigma * G has mean 1 and variance 1/L.
        let looks = 4.0f32;
        let g = Gamma::new(looks, 1.0 / looks).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let xs: Vec<f64> = (0..200_000).map(|_| g.sample(&mut rng) as f64).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!((mean - 1.0).abs() < 0.01, "{mean}");
        assert!((var - 0.25).abs() < 0.01, "{var}");
    }

    #[test]
    fn smooth_noise_has_unit_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = smooth_noise(50, 6, &mut rng);
        let mean = n.iter().sum::<f32>() / n.len() as f32;
        let var = n.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n.len() as f32;
        assert!(mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3);
    }

    #[test]
    fn invalid_configs_are_refused_with_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [
            SynthConfig {
                per_class: 0,
                ..small()
            },
            SynthConfig { size: 3, ..small() },
            SynthConfig {
                looks: f32::NAN,
                ..small()
            },
            SynthConfig {
                looks: 0.0,
                ..small()
            },
        ] {
            let e = generate(&bad, dir.path()).unwrap_err().to_string();
            assert!(e.contains("fix:"), "{e}");
        }
    }

    #[test]
    fn refuses_foreign_non_empty_directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("precious.txt"), b"keep me").unwrap();
        let e = generate(&small(), dir.path()).unwrap_err();
        assert!(e.to_string().contains("not empty"), "{e}");
        assert!(dir.path().join("precious.txt").exists());
    }

    #[test]
    fn regenerating_with_fewer_patches_removes_stale_files() {
        let dir = tempfile::tempdir().unwrap();
        let big = generate(&small(), dir.path()).unwrap();
        let fewer = SynthConfig {
            per_class: 1,
            ..small()
        };
        let m = generate(&fewer, dir.path()).unwrap();
        assert_eq!(big.files.len(), 10 * 2 * 3 + 1);
        assert_eq!(m.files.len(), 10 * 3 + 1);
        let on_disk = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(on_disk, m.files.len() + 1, "files + manifest.json");
        // ensure() reuses a matching dataset and regenerates a mismatching one.
        assert_eq!(
            ensure(&fewer, dir.path()).unwrap().root_digest,
            m.root_digest
        );
        assert_eq!(
            ensure(&small(), dir.path()).unwrap().root_digest,
            big.root_digest
        );
    }
}
