//! The synthetic scene: reflectivity maps (VV, VH) and the ground-truth mask of one patch,
//! drawn from geometry: the background, each class's structure (the table in the parent
//! module's docs) and the clutter every class shares. Every painter takes its random draws
//! from the patch's generator in a fixed order: the pinned dataset digest depends on it.

use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::data::naming::OPENSARURBAN_CLASSES;
use crate::data::raster::Shape;

/// Reflectivity maps under construction.
pub(super) struct Scene {
    size: usize,
    /// Background level b (VV).
    level: f32,
    pub(super) vv: Vec<f32>,
    pub(super) vh: Vec<f32>,
    pub(super) mask: Vec<bool>,
}

/// VH/VV ratio of double-bounce and point scatterers.
const RHO_DOUBLE: f32 = 0.12;
/// VH/VV ratio of volume scattering (vegetation).
const RHO_VOLUME: f32 = 0.45;

impl Scene {
    pub(super) fn background(size: usize, rng: &mut ChaCha8Rng) -> Scene {
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
pub(super) fn smooth_noise(size: usize, grid: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
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
pub(super) fn draw_class(sc: &mut Scene, class: usize, k: f32, rng: &mut ChaCha8Rng) {
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
pub(super) fn draw_clutter(sc: &mut Scene, class: usize, rng: &mut ChaCha8Rng) {
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
