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
//!
//! The scene (background, class structures, clutter) is drawn in `synth/scene.rs`; this
//! file turns it into observed patches and writes the dataset.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};
use serde::{Deserialize, Serialize};

use super::encode;
use super::error::{DataError, Result};
use super::manifest::{Manifest, ManifestEntry, MANIFEST_FILE_NAME};
use super::naming::{Pol, OPENSARURBAN_CLASSES};
use crate::io::{sha256_hex, write_atomic};

mod scene;

use scene::{draw_class, draw_clutter, Scene};

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

/// The manifest of `dir` when it holds exactly the dataset `cfg` describes, intact: the same
/// `synth.json` (generator version and config) and every file matching its manifest.
pub fn intact(dir: &Path, cfg: &SynthConfig) -> Option<Manifest> {
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
        let n = scene::smooth_noise(50, 6, &mut rng);
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
        // intact() recognises the dataset a config describes, and only that one.
        assert_eq!(
            intact(dir.path(), &fewer).unwrap().root_digest,
            m.root_digest
        );
        assert!(intact(dir.path(), &small()).is_none());
        std::fs::write(dir.path().join("extra.txt"), b"x").unwrap();
        assert!(intact(dir.path(), &fewer).is_none(), "an extra file");
    }
}
