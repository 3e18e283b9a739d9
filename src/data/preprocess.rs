//! Preprocessing of one band into the model's input, in this order:
//!
//! 1. **scale**: from the stored quantity (`input`: amplitude A or intensity I = A^2) to the
//!    requested one: amplitude `A = sqrt(max(I, 0))`, intensity `I = A^2`, or decibels
//!    `10 log10(max(I, 1e-10))` (so at least -100 dB). A *display* render (`input =
//!    display`: 8- or 16-bit grey levels already scaled for viewing, e.g. PNG, JPEG, uint8
//!    TIFF) is used as stored: no square, no logarithm, `scale` does not apply. `input =
//!    auto` (the default) decides per file by its sample type ([`InputQuantity::resolve`]):
//!    floating point is amplitude, 8- and 16-bit unsigned integers are display renders,
//!    other integers amplitude;
//! 2. **geometry** to `size` x `size` (`resize`): `crop_or_resize` centre-crops when both
//!    sides are at least `size`, else centre-crops to a square of the shorter side and
//!    resizes bilinearly; `resize` always centre-crops to a square and resizes; `exact`
//!    refuses other sizes. Bilinear sampling uses pixel centres
//!    (`src = (dst + 0.5) * in / out - 0.5`, clamped to the image, like
//!    `align_corners=False`); masks use nearest neighbour (`src = floor((dst + 0.5) * in / out)`);
//! 3. **clip and stretch** (`clip_percentiles = [lo, hi]`, per image): the lo-th and hi-th
//!    percentiles p_lo, p_hi (linear interpolation between order statistics, numpy's
//!    default), then `x' = clamp((x - p_lo) / (p_hi - p_lo), 0, 1)`; a constant image maps
//!    to 0;
//! 4. **normalisation** (dataset level, `normalize`): `(x - mean) / std` with the mean and
//!    standard deviation of every training-split pixel after steps 1-3 ([`NormStats`]).

use serde::{Deserialize, Serialize};

use super::decode::SampleType;

/// What the stored pixel values are (the radiometry of the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputQuantity {
    /// Decided per file by its sample type ([`InputQuantity::resolve`]).
    #[default]
    Auto,
    /// Amplitude (OpenSARShip `Patch`, OpenSARUrban float32 TIFF, sarxai's synthetic data).
    Amplitude,
    /// Intensity, e.g. calibrated sigma0 (OpenSARShip `Patch_Cal`).
    Intensity,
    /// A display render: grey levels already scaled for viewing (OpenSARShip
    /// `Patch_Uint8`, PNG/JPEG chips such as MSTAR's): used as stored, no dB.
    Display,
}

impl InputQuantity {
    /// The quantity assumed for a file of sample type `dtype`: the setting itself unless it
    /// is `auto`; `auto` is `display` for u8 and u16 (PNG, JPEG, 8/16-bit TIFF renders) and
    /// `amplitude` for every other type (floating point holds physical values; Sentinel-1
    /// GRD products store amplitude as u16 too, so give `amplitude` explicitly for
    /// those).
    pub fn resolve(self, dtype: SampleType) -> InputQuantity {
        match (self, dtype) {
            (InputQuantity::Auto, SampleType::U8 | SampleType::U16) => InputQuantity::Display,
            (InputQuantity::Auto, _) => InputQuantity::Amplitude,
            (q, _) => q,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            InputQuantity::Auto => "auto",
            InputQuantity::Amplitude => "amplitude",
            InputQuantity::Intensity => "intensity",
            InputQuantity::Display => "display",
        }
    }

    /// What step 1 makes of the values under this (resolved) quantity and `scale`.
    pub fn treatment(self, scale: Scale) -> &'static str {
        match (self, scale) {
            (InputQuantity::Display, _) => "grey levels as stored (no dB)",
            (_, Scale::Db) => "dB (10 log10 of intensity)",
            (_, Scale::Amplitude) => "amplitude",
            (_, Scale::Intensity) => "intensity",
        }
    }
}

/// What one run assumed about the files of one sample type (recorded with the run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RadiometryRecord {
    /// Sample type of the files.
    pub sample_type: SampleType,
    /// Files of that type read.
    pub files: usize,
    /// The configured `input` (`auto` or what the user said).
    pub setting: InputQuantity,
    /// The quantity assumed ([`InputQuantity::resolve`]).
    pub assumed: InputQuantity,
    /// What step 1 makes of the values (e.g. "dB (10 log10 of intensity)").
    pub treatment: String,
}

impl RadiometryRecord {
    /// One record per sample type of `counts` (type, files read) under `pre`.
    pub fn list(pre: &PreprocessConfig, counts: &[(SampleType, usize)]) -> Vec<RadiometryRecord> {
        counts
            .iter()
            .map(|&(sample_type, files)| {
                let assumed = pre.input.resolve(sample_type);
                RadiometryRecord {
                    sample_type,
                    files,
                    setting: pre.input,
                    assumed,
                    treatment: assumed.treatment(pre.scale).to_string(),
                }
            })
            .collect()
    }
}

/// The scale the model sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Amplitude `A`.
    Amplitude,
    /// Intensity `I = A^2`.
    Intensity,
    /// 10 log10 of intensity.
    #[default]
    Db,
}

/// How patches of another size reach `size` x `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeMode {
    /// Centre-crop when both sides are at least `size`, else crop to a square and resize.
    #[default]
    CropOrResize,
    /// Always centre-crop to a square and resize bilinearly.
    Resize,
    /// Refuse any other size.
    Exact,
}

/// Preprocessing configuration (see the module docs for the formulas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreprocessConfig {
    /// What the stored values are (amplitude, intensity, a display render, or decided per file).
    pub input: InputQuantity,
    /// The scale the model sees.
    pub scale: Scale,
    /// Per-image percentile clip and stretch to [0, 1]; `None` leaves values as scaled.
    pub clip_percentiles: Option<[f32; 2]>,
    /// Output side in pixels.
    pub size: usize,
    /// How other sizes reach `size` x `size`.
    pub resize: ResizeMode,
    /// Normalise with training-split statistics.
    pub normalize: bool,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        PreprocessConfig {
            input: InputQuantity::Auto,
            scale: Scale::Db,
            clip_percentiles: Some([1.0, 99.0]),
            size: 100,
            resize: ResizeMode::CropOrResize,
            normalize: true,
        }
    }
}

impl PreprocessConfig {
    /// Checks the fields: size in 1..=4096, percentiles with 0 <= lo < hi <= 100.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=4096).contains(&self.size) {
            return Err(format!("size {} is outside 1..=4096", self.size));
        }
        if let Some([lo, hi]) = self.clip_percentiles {
            if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo < hi && hi <= 100.0) {
                return Err(format!(
                    "clip_percentiles [{lo}, {hi}] must satisfy 0 <= lo < hi <= 100"
                ));
            }
        }
        Ok(())
    }

    /// The configuration for a file of sample type `dtype`: `input` resolved
    /// ([`InputQuantity::resolve`]), everything else unchanged.
    pub fn for_sample_type(&self, dtype: SampleType) -> PreprocessConfig {
        PreprocessConfig {
            input: self.input.resolve(dtype),
            ..self.clone()
        }
    }

    /// Steps 1-3 on one band of `width` x `height`; returns `size * size` values. An
    /// unresolved `auto` input is read as amplitude (resolve it first with
    /// [`PreprocessConfig::for_sample_type`]).
    pub fn apply(&self, band: &[f32], width: usize, height: usize) -> Result<Vec<f32>, String> {
        let scaled: Vec<f32> = band.iter().map(|&v| self.rescale(v)).collect();
        let mut out = self.fit(&scaled, width, height, Interp::Bilinear)?;
        if let Some([lo, hi]) = self.clip_percentiles {
            clip_stretch(&mut out, lo, hi);
        }
        Ok(out)
    }

    /// Steps 1-3 with a context: also returns the image at `size + 2 * margin` around the
    /// same centre (the chip's own pixels a translation of up to `margin` reads), stretched
    /// with the percentiles of the `size` x `size` centre, so the centre of the context is
    /// exactly [`PreprocessConfig::apply`]'s image. `None` when `margin` is 0 or the chip
    /// is not at least `size + 2 * margin` on both sides under `crop_or_resize`.
    pub fn apply_with_context(
        &self,
        band: &[f32],
        width: usize,
        height: usize,
        margin: usize,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>), String> {
        let side = self.size + 2 * margin;
        let fits = width >= side && height >= side && band.len() == width * height;
        if margin == 0 || self.resize != ResizeMode::CropOrResize || !fits {
            return Ok((self.apply(band, width, height)?, None));
        }
        let scaled: Vec<f32> = band.iter().map(|&v| self.rescale(v)).collect();
        let mut context = crop(&scaled, width, height, side, side);
        let mut centre = crop(&context, side, side, self.size, self.size);
        if let Some([lo, hi]) = self.clip_percentiles {
            let (p_lo, p_hi) = stretch_bounds(&centre, lo, hi);
            stretch(&mut centre, p_lo, p_hi);
            stretch(&mut context, p_lo, p_hi);
        }
        Ok((centre, Some(context)))
    }

    /// Step 2 for a mask (nearest neighbour): values > 0 become 1, others 0.
    pub fn apply_mask(&self, band: &[f32], width: usize, height: usize) -> Result<Vec<u8>, String> {
        let fitted = self.fit(band, width, height, Interp::Nearest)?;
        Ok(fitted.iter().map(|&v| u8::from(v > 0.0)).collect())
    }

    /// Step 1 on one value (`auto` is read as amplitude, `display` is returned as is).
    pub fn rescale(&self, v: f32) -> f32 {
        let intensity = match self.input {
            InputQuantity::Display => return v,
            InputQuantity::Amplitude | InputQuantity::Auto => v * v,
            InputQuantity::Intensity => v,
        };
        match self.scale {
            Scale::Amplitude => match self.input {
                InputQuantity::Intensity => v.max(0.0).sqrt(),
                _ => v,
            },
            Scale::Intensity => intensity,
            Scale::Db => 10.0 * intensity.max(1e-10).log10(),
        }
    }

    fn fit(&self, img: &[f32], w: usize, h: usize, interp: Interp) -> Result<Vec<f32>, String> {
        let s = self.size;
        if w == 0 || h == 0 || img.len() != w * h {
            return Err(format!("{w}x{h} image with {} values", img.len()));
        }
        match self.resize {
            ResizeMode::Exact if (w, h) != (s, s) => Err(format!(
                "image is {w}x{h}, the configuration requires exactly {s}x{s} (resize = exact)"
            )),
            ResizeMode::CropOrResize if w >= s && h >= s => Ok(crop(img, w, h, s, s)),
            _ => {
                let side = w.min(h);
                let square = crop(img, w, h, side, side);
                Ok(resample(&square, side, s, interp))
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Interp {
    Bilinear,
    Nearest,
}

/// Centre crop of `cw` x `ch` (offsets `(w - cw) / 2`, `(h - ch) / 2`, rounded down).
fn crop(img: &[f32], w: usize, h: usize, cw: usize, ch: usize) -> Vec<f32> {
    let (x0, y0) = ((w - cw) / 2, (h - ch) / 2);
    let mut out = Vec::with_capacity(cw * ch);
    for y in y0..y0 + ch {
        out.extend_from_slice(&img[y * w + x0..y * w + x0 + cw]);
    }
    out
}

/// Square resample from `n` x `n` to `m` x `m`.
fn resample(img: &[f32], n: usize, m: usize, interp: Interp) -> Vec<f32> {
    if n == m {
        return img.to_vec();
    }
    let ratio = n as f32 / m as f32;
    let mut out = vec![0.0f32; m * m];
    match interp {
        Interp::Nearest => {
            for y in 0..m {
                let sy = (((y as f32 + 0.5) * ratio) as usize).min(n - 1);
                for x in 0..m {
                    let sx = (((x as f32 + 0.5) * ratio) as usize).min(n - 1);
                    out[y * m + x] = img[sy * n + sx];
                }
            }
        }
        Interp::Bilinear => {
            let coord = |d: usize| {
                let s = ((d as f32 + 0.5) * ratio - 0.5).clamp(0.0, (n - 1) as f32);
                let i0 = (s as usize).min(n - 1);
                let i1 = (i0 + 1).min(n - 1);
                (i0, i1, s - i0 as f32)
            };
            for y in 0..m {
                let (y0, y1, ty) = coord(y);
                for x in 0..m {
                    let (x0, x1, tx) = coord(x);
                    let a = img[y0 * n + x0] * (1.0 - tx) + img[y0 * n + x1] * tx;
                    let b = img[y1 * n + x0] * (1.0 - tx) + img[y1 * n + x1] * tx;
                    out[y * m + x] = a * (1.0 - ty) + b * ty;
                }
            }
        }
    }
    out
}

/// The p-th percentile (0..=100) of `values` by linear interpolation between the order
/// statistics at ranks floor(r) and ceil(r), r = p / 100 * (n - 1). `values` is reordered.
pub fn percentile(values: &mut [f32], p: f32) -> f32 {
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    let r = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f32;
    let k = (r.floor() as usize).min(n - 1);
    let frac = r - k as f32;
    let (_, &mut lo, rest) = values.select_nth_unstable_by(k, f32::total_cmp);
    if frac == 0.0 || rest.is_empty() {
        return lo;
    }
    let hi = rest.iter().copied().fold(f32::INFINITY, f32::min);
    lo + frac * (hi - lo)
}

/// Per-image clip to [p_lo, p_hi] and stretch to [0, 1] (module docs, step 3).
pub fn clip_stretch(values: &mut [f32], lo_pct: f32, hi_pct: f32) {
    let (lo, hi) = stretch_bounds(values, lo_pct, hi_pct);
    stretch(values, lo, hi);
}

/// The `lo_pct`-th and `hi_pct`-th percentiles of `values` (step 3's p_lo, p_hi).
fn stretch_bounds(values: &[f32], lo_pct: f32, hi_pct: f32) -> (f32, f32) {
    let mut tmp = values.to_vec();
    (percentile(&mut tmp, lo_pct), percentile(&mut tmp, hi_pct))
}

/// `x' = clamp((x - lo) / (hi - lo), 0, 1)`; every value 0 when `hi - lo` is not a
/// positive finite number.
fn stretch(values: &mut [f32], lo: f32, hi: f32) {
    let range = hi - lo;
    if range.is_finite() && range > 1e-12 * hi.abs().max(1.0) {
        for v in values.iter_mut() {
            *v = ((*v - lo) / range).clamp(0.0, 1.0);
        }
    } else {
        values.iter_mut().for_each(|v| *v = 0.0);
    }
}

/// Normalisation statistics of the training split: mean and (population) standard
/// deviation over every pixel, accumulated in f64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormStats {
    /// Mean of the pixels.
    pub mean: f64,
    /// Population standard deviation of the pixels (at least 1e-6).
    pub std: f64,
    /// Pixels the statistics were computed over.
    pub count: u64,
}

impl NormStats {
    /// Statistics of `values` (two passes; `std` floored at 1e-6).
    pub fn compute(values: &[f32]) -> NormStats {
        let n = values.len().max(1) as f64;
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = values
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        NormStats {
            mean,
            std: var.sqrt().max(1e-6),
            count: values.len() as u64,
        }
    }

    /// `(x - mean) / std` in place.
    pub fn apply(&self, values: &mut [f32]) {
        let (m, s) = (self.mean as f32, self.std as f32);
        values.iter_mut().for_each(|v| *v = (*v - m) / s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(size: usize) -> PreprocessConfig {
        PreprocessConfig {
            size,
            clip_percentiles: None,
            scale: Scale::Amplitude,
            ..Default::default()
        }
    }

    #[test]
    fn scales_follow_their_formulas() {
        let mut c = cfg(1);
        assert_eq!(c.rescale(3.0), 3.0);
        c.scale = Scale::Intensity;
        assert_eq!(c.rescale(3.0), 9.0);
        c.scale = Scale::Db;
        assert!((c.rescale(10.0) - 20.0).abs() < 1e-5);
        assert!((c.rescale(0.0) + 100.0).abs() < 1e-3);
        c.input = InputQuantity::Intensity;
        assert!((c.rescale(100.0) - 20.0).abs() < 1e-5);
        c.scale = Scale::Amplitude;
        assert_eq!(c.rescale(16.0), 4.0);
    }

    #[test]
    fn auto_radiometry_follows_the_sample_type_and_display_skips_db() {
        use SampleType::*;
        for t in [F16, F32, F64, U32, I16] {
            assert_eq!(
                InputQuantity::Auto.resolve(t),
                InputQuantity::Amplitude,
                "{t:?}"
            );
        }
        for t in [U8, U16] {
            assert_eq!(
                InputQuantity::Auto.resolve(t),
                InputQuantity::Display,
                "{t:?}"
            );
        }
        // What the user says wins over the sample type.
        assert_eq!(
            InputQuantity::Amplitude.resolve(U8),
            InputQuantity::Amplitude
        );
        assert_eq!(InputQuantity::Display.resolve(F32), InputQuantity::Display);
        assert_eq!(
            InputQuantity::Intensity.resolve(U16),
            InputQuantity::Intensity
        );
        let db = PreprocessConfig::default();
        assert_eq!(db.input, InputQuantity::Auto);
        let u8_cfg = db.for_sample_type(U8);
        assert_eq!(u8_cfg.input, InputQuantity::Display);
        assert_eq!(
            u8_cfg.rescale(200.0),
            200.0,
            "display levels are not converted"
        );
        let f32_cfg = db.for_sample_type(F32);
        assert!(
            (f32_cfg.rescale(10.0) - 20.0).abs() < 1e-5,
            "amplitude 10 is 20 dB"
        );
        // A u8 chip: dB of the grey levels (the old default) compresses the bright end;
        // display keeps the levels linear before the stretch.
        let band: Vec<f32> = (0..16).map(|i| (i * 16) as f32).collect();
        let stretch = |c: &PreprocessConfig| c.apply(&band, 4, 4).unwrap();
        let as_display = stretch(&PreprocessConfig { size: 4, ..u8_cfg });
        let as_amplitude = stretch(&PreprocessConfig {
            size: 4,
            input: InputQuantity::Amplitude,
            ..db.clone()
        });
        let mid = |v: &[f32]| v[8];
        assert!(
            (mid(&as_display) - 0.53).abs() < 0.01,
            "{}",
            mid(&as_display)
        );
        assert!(mid(&as_amplitude) > 0.9, "{}", mid(&as_amplitude));
        let recs = RadiometryRecord::list(&db, &[(U8, 3), (F32, 2)]);
        assert_eq!(recs[0].assumed, InputQuantity::Display);
        assert_eq!(recs[0].treatment, "grey levels as stored (no dB)");
        assert_eq!(recs[1].assumed, InputQuantity::Amplitude);
        assert_eq!(recs[1].files, 2);
    }

    #[test]
    fn percentile_matches_numpy_linear() {
        // numpy.percentile([1..10], 25) = 3.25, 90 -> 9.1, 0 -> 1, 100 -> 10
        let base: Vec<f32> = (1..=10).rev().map(|v| v as f32).collect();
        for (p, want) in [
            (25.0, 3.25),
            (90.0, 9.1),
            (0.0, 1.0),
            (100.0, 10.0),
            (50.0, 5.5),
        ] {
            let mut v = base.clone();
            assert!((percentile(&mut v, p) - want).abs() < 1e-5, "{p}");
        }
    }

    #[test]
    fn clip_stretch_maps_to_unit_interval_and_constant_to_zero() {
        let mut v: Vec<f32> = (0..101).map(|i| i as f32).collect();
        clip_stretch(&mut v, 10.0, 90.0);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[100], 1.0);
        assert!((v[50] - 0.5).abs() < 1e-6);
        let mut c = vec![5.0f32; 9];
        clip_stretch(&mut c, 1.0, 99.0);
        assert!(c.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn a_context_surrounds_the_unchanged_image_with_the_centre_stretch() {
        let (w, h) = (13usize, 12usize);
        let band: Vec<f32> = (0..w * h).map(|i| ((i * 37) % 101) as f32 + 1.0).collect();
        let cfg = PreprocessConfig {
            size: 6,
            ..PreprocessConfig::default()
        };
        let image = cfg.apply(&band, w, h).unwrap();
        let (centre, context) = cfg.apply_with_context(&band, w, h, 3).unwrap();
        assert_eq!(centre, image);
        let context = context.expect("13x12 holds 6 + 2 * 3");
        let inner: Vec<f32> = (3..9)
            .flat_map(|y| context[y * 12 + 3..y * 12 + 9].to_vec())
            .collect();
        assert_eq!(inner, image, "the context's centre is the image");
        assert!(context.iter().all(|v| (0.0..=1.0).contains(v)));
        // No context: margin 0, a chip smaller than size + 2 margin, or another resize mode.
        assert!(cfg.apply_with_context(&band, w, h, 0).unwrap().1.is_none());
        assert!(cfg.apply_with_context(&band, w, h, 4).unwrap().1.is_none());
        let resize = PreprocessConfig {
            resize: ResizeMode::Resize,
            ..cfg.clone()
        };
        assert!(resize
            .apply_with_context(&band, w, h, 3)
            .unwrap()
            .1
            .is_none());
    }

    #[test]
    fn geometry_crops_larger_and_resizes_smaller_images() {
        // 4x4 ramp cropped to 2x2 is the centre.
        let img: Vec<f32> = (0..16).map(|i| i as f32).collect();
        assert_eq!(cfg(2).apply(&img, 4, 4).unwrap(), vec![5.0, 6.0, 9.0, 10.0]);
        // 2x2 up to 4x4 bilinear: corners keep their values, mean preserved.
        let small = vec![0.0, 1.0, 2.0, 3.0];
        let up = cfg(4).apply(&small, 2, 2).unwrap();
        assert_eq!(up.len(), 16);
        assert_eq!((up[0], up[15]), (0.0, 3.0));
        assert!((up.iter().sum::<f32>() / 16.0 - 1.5).abs() < 1e-6);
        // Non-square smaller image: centre square then resize.
        let rect: Vec<f32> = (0..6).map(|i| i as f32).collect(); // 3 wide, 2 high
        assert_eq!(cfg(4).apply(&rect, 3, 2).unwrap().len(), 16);
        // Exact refuses.
        let exact = PreprocessConfig {
            resize: ResizeMode::Exact,
            ..cfg(4)
        };
        assert!(exact.apply(&img, 4, 4).is_ok());
        assert!(exact.apply(&small, 2, 2).unwrap_err().contains("exactly"));
        // Resize always resizes (4x4 -> 2x2 averages by bilinear at centres).
        let always = PreprocessConfig {
            resize: ResizeMode::Resize,
            ..cfg(2)
        };
        assert_eq!(
            always.apply(&img, 4, 4).unwrap(),
            vec![2.5, 4.5, 10.5, 12.5]
        );
    }

    #[test]
    fn masks_resize_by_nearest_neighbour_to_zero_one() {
        let m = vec![0.0, 255.0, 0.0, 0.0];
        let up = cfg(4).apply_mask(&m, 2, 2).unwrap();
        assert_eq!(up, vec![0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn norm_stats_standardise() {
        let mut v = vec![1.0f32, 2.0, 3.0, 4.0];
        let s = NormStats::compute(&v);
        assert!((s.mean - 2.5).abs() < 1e-12 && (s.std - 1.25f64.sqrt()).abs() < 1e-12);
        s.apply(&mut v);
        let st = NormStats::compute(&v);
        assert!(st.mean.abs() < 1e-6 && (st.std - 1.0).abs() < 1e-6);
    }

    #[test]
    fn validation_rejects_bad_fields() {
        assert!(PreprocessConfig::default().validate().is_ok());
        let bad = PreprocessConfig {
            clip_percentiles: Some([50.0, 10.0]),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        assert!(PreprocessConfig {
            size: 0,
            ..Default::default()
        }
        .validate()
        .is_err());
    }
}
