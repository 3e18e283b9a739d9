//! "XAI entropy": the byte size of a heatmap PNG (Samek et al.'s file-size complexity, the
//! paper's second metric), and the Shannon entropy of the same quantised map.
//!
//! The paper computed its attributions with Captum (its ref. \[16\]), whose own way to turn an
//! attribution into an image is `captum.attr.visualization.visualize_image_attr`. The
//! default measure, [`Measure::CaptumFigure`], is the byte size of exactly that figure:
//! `visualize_image_attr(attr, method="heat_map", sign="absolute_value", use_pyplot=False)`
//! saved with `fig.savefig(buf, format="png")` at matplotlib's defaults (6 x 6 in at 100
//! dpi, colormap Blues, 2 % outlier normalisation, axes frame, ticks hidden), rendered and
//! encoded in Rust by [`super::captum_figure`] and held to matplotlib's own PNGs by
//! `tests/golden.rs` (`entropy_figure`). [`Measure::GreyPng`], sarxai's earlier measure, is
//! kept as a named alternative: the PNG of the 8-bit grey map of step 4 below.
//!
//! Steps shared by both measures:
//! 1. resolution: maps smaller than the input (Grad-CAM's layer4 map) are brought to the
//!    input size first, by bilinear interpolation (`align_corners=False`, as Captum's
//!    `LayerAttribution.interpolate(..., "bilinear")`; the default: the only reading that
//!    fits the paper's Grad-CAM 15.1 KB above Occlusion's 4.3 KB) or nearest neighbour
//!    ([`Upsample`]), in the attribution's own float type;
//! 2. channel reduction: sum over channels, then absolute value (`sign="absolute_value"`);
//! 3. normalisation: divide by the value at which the cumulative sum of the sorted values
//!    reaches `100 - outlier_percent` % of the total (Captum's `_cumulative_sum_threshold`,
//!    `outlier_perc = 2`), clip to [0, 1]; an all-zero map stays zero;
//! 4. grey measure and Shannon bits: `round(255 v)` to 8-bit grey, encoded by the `png`
//!    crate pinned at =0.18.1 (compression `High`, filter `Adaptive`, both configurable;
//!    [`size_sweep`] records how much the size moves with them).
//!
//! The score is the PNG's byte count, reported in KB = 1000 bytes.

use tch::{Kind, Tensor};

use super::captum_figure::{CaptumFigure, CaptumFigureError};

/// Which PNG the XAI entropy measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Captum's heat-map figure as matplotlib saves it (the paper's measure; default).
    CaptumFigure,
    /// The 8-bit grey map at the input size (sarxai's earlier measure).
    GreyPng,
}

/// How a map smaller than the input is brought to the input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Upsample {
    /// Bilinear, `align_corners=False` (torch's `F.interpolate(mode="bilinear")`; default).
    Bilinear,
    /// Nearest neighbour (torch's `F.interpolate(mode="nearest")`).
    Nearest,
}

/// PNG compression levels of the `png` crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PngCompression {
    /// Stored, not deflated.
    NoCompression,
    /// The fastest deflate.
    Fastest,
    /// Fast deflate.
    Fast,
    /// The `png` crate's default balance of size and speed.
    Balanced,
    /// The smallest files, the slowest.
    High,
}

/// PNG row filters of the `png` crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PngFilter {
    /// No filter.
    NoFilter,
    /// Difference to the pixel on the left.
    Sub,
    /// Difference to the pixel above.
    Up,
    /// Difference to the mean of left and above.
    Avg,
    /// Difference to the Paeth predictor of left, above and upper left.
    Paeth,
    /// The filter chosen per row (the encoder's heuristic).
    Adaptive,
}

/// Everything the XAI entropy of a map depends on (recorded with every run).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EntropyConfig {
    /// Which PNG is measured.
    pub measure: Measure,
    /// Upsampling of maps smaller than the input.
    pub upsample: Upsample,
    /// Percent of the total attribution mass treated as outliers above the scale value.
    pub outlier_percent: f64,
    /// Grey measure only: the `png` crate's compression.
    pub compression: PngCompression,
    /// Grey measure only: the `png` crate's row filter.
    pub filter: PngFilter,
    /// Captum-figure measure only: the figure's settings.
    pub figure: CaptumFigure,
}

impl Default for EntropyConfig {
    fn default() -> Self {
        Self {
            measure: Measure::CaptumFigure,
            upsample: Upsample::Bilinear,
            outlier_percent: 2.0,
            compression: PngCompression::High,
            filter: PngFilter::Adaptive,
            figure: CaptumFigure::default(),
        }
    }
}

impl EntropyConfig {
    /// The sarxai-0.1 measure: grey PNG, nearest-neighbour upsampling.
    #[cfg(test)]
    pub fn grey_png() -> Self {
        Self {
            measure: Measure::GreyPng,
            upsample: Upsample::Nearest,
            ..Self::default()
        }
    }

    /// The measure in words (Table 1's notes).
    pub fn describe(&self) -> String {
        let up = match self.upsample {
            Upsample::Bilinear => "bilinear",
            Upsample::Nearest => "nearest",
        };
        match self.measure {
            Measure::CaptumFigure => format!(
                "XAI entropy: byte size (KB = 1000 bytes) of Captum's heat-map figure PNG (visualize_image_attr, heat_map, absolute_value, {} % outliers, Blues, {}x{} in at {} dpi, saved as matplotlib does), maps smaller than the input upsampled {up}; Shannon: bits per pixel of the 8-bit map",
                self.outlier_percent,
                self.figure.fig_inches.0,
                self.figure.fig_inches.1,
                self.figure.dpi
            ),
            Measure::GreyPng => format!(
                "XAI entropy (grey-png measure): PNG size in KB = 1000 bytes of the 8-bit |sum over channels| map scaled at {} % cumulative mass (png {:?} compression, {:?} filter), maps smaller than the input upsampled {up}; Shannon: bits per pixel of the same map",
                100.0 - self.outlier_percent,
                self.compression,
                self.filter
            ),
        }
    }
}

/// The two complexity scores of one heatmap.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EntropyScore {
    /// PNG size in bytes (`None`: undefined, see [`entropy_pngs`]).
    pub png_bytes: Option<usize>,
    /// PNG size in KB (1000 bytes): the paper's "XAI entropy" (NaN when undefined).
    pub kb: f64,
    /// Shannon entropy of the 8-bit map's histogram, bits per pixel.
    pub shannon_bits: f64,
}

/// Step 1: `attr` (N, C, h', w') at the input size `(h, w)`, in its own float type.
pub fn at_input_size(attr: &Tensor, h: i64, w: i64, upsample: Upsample) -> Tensor {
    let a = attr.to_device(tch::Device::Cpu);
    if a.size()[2..] == [h, w] {
        return a;
    }
    match upsample {
        Upsample::Bilinear => a.upsample_bilinear2d([h, w], false, None, None),
        Upsample::Nearest => a.upsample_nearest2d([h, w], None, None),
    }
}

/// Steps 1-4 for every image: 8-bit maps (N, H, W) at the input resolution `(h, w)`.
pub fn heatmaps_u8(attr: &Tensor, h: i64, w: i64, cfg: &EntropyConfig) -> Vec<Vec<u8>> {
    let a = at_input_size(attr, h, w, cfg.upsample).to_kind(Kind::Double);
    let a = a.sum_dim_intlist(1, true, Kind::Double).abs();
    let n = a.size()[0];
    (0..n)
        .map(|i| {
            let v: Vec<f64> = Vec::try_from(a.get(i).flatten(0, -1)).unwrap_or_default();
            let scale = cumulative_sum_threshold(&v, 100.0 - cfg.outlier_percent);
            v.iter()
                .map(|&x| {
                    if scale > 0.0 {
                        ((x / scale).clamp(0.0, 1.0) * 255.0).round() as u8
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect()
}

/// The measured PNG of every image of `attr` (N, C, h', w') at input size `(h, w)`;
/// `None` where the measure is undefined: Captum's figure of an all-zero map (Captum's
/// `_normalize_scale` raises `AssertionError` there, so the paper's pipeline has no value).
/// Maps the figure cannot be drawn for (non-finite values, inputs above about 153 pixels a
/// side, where matplotlib switches to a resampling filter not modelled) are errors.
pub fn entropy_pngs(
    attr: &Tensor,
    h: i64,
    w: i64,
    cfg: &EntropyConfig,
) -> Result<Vec<Option<Vec<u8>>>, CaptumFigureError> {
    match cfg.measure {
        Measure::GreyPng => Ok(heatmaps_u8(attr, h, w, cfg)
            .iter()
            .map(|m| {
                Some(encode_png(
                    m,
                    w as u32,
                    h as u32,
                    cfg.compression,
                    cfg.filter,
                ))
            })
            .collect()),
        Measure::CaptumFigure => {
            let a = at_input_size(attr, h, w, cfg.upsample).to_kind(Kind::Float);
            let c = a.size()[1] as usize;
            let mut figure = cfg.figure.clone();
            figure.outlier_percent = cfg.outlier_percent;
            (0..a.size()[0])
                .map(|i| {
                    let v: Vec<f32> = Vec::try_from(a.get(i).flatten(0, -1)).unwrap_or_default();
                    match figure.png_bytes(&v, c, h as usize, w as usize) {
                        Ok(png) => Ok(Some(png)),
                        Err(CaptumFigureError::ZeroThreshold) => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .collect()
        }
    }
}

/// Captum's `_cumulative_sum_threshold`: the smallest sorted value at which the
/// cumulative sum reaches `percentile` % of the total (0 for an all-zero map).
pub fn cumulative_sum_threshold(values: &[f64], percentile: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let total: f64 = sorted.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let target = total * 0.01 * percentile;
    let mut acc = 0.0;
    for &x in &sorted {
        acc += x;
        if acc >= target {
            return x;
        }
    }
    *sorted.last().unwrap_or(&0.0)
}

/// Step 5: the PNG bytes of an 8-bit greyscale map.
pub fn encode_png(
    map: &[u8],
    w: u32,
    h: u32,
    compression: PngCompression,
    filter: PngFilter,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(match compression {
            PngCompression::NoCompression => png::Compression::NoCompression,
            PngCompression::Fastest => png::Compression::Fastest,
            PngCompression::Fast => png::Compression::Fast,
            PngCompression::Balanced => png::Compression::Balanced,
            PngCompression::High => png::Compression::High,
        });
        enc.set_filter(match filter {
            PngFilter::NoFilter => png::Filter::NoFilter,
            PngFilter::Sub => png::Filter::Sub,
            PngFilter::Up => png::Filter::Up,
            PngFilter::Avg => png::Filter::Avg,
            PngFilter::Paeth => png::Filter::Paeth,
            PngFilter::Adaptive => png::Filter::Adaptive,
        });
        // Writing into a Vec cannot fail for a map of the declared size.
        let mut writer = enc.write_header().expect("png header into memory");
        writer.write_image_data(map).expect("png data into memory");
    }
    out
}

/// Shannon entropy (bits) of the histogram of an 8-bit map.
pub fn shannon_bits(map: &[u8]) -> f64 {
    let mut hist = [0usize; 256];
    for &v in map {
        hist[v as usize] += 1;
    }
    let n = map.len() as f64;
    hist.iter()
        .filter(|&&c| c > 0)
        .map(|&c| c as f64 / n)
        .map(|p| -p * p.log2())
        .sum()
}

/// XAI entropy (the measured PNG's size) and Shannon entropy (of the 8-bit map) of every
/// image's attribution, at input size `(h, w)`.
pub fn xai_entropy(
    attr: &Tensor,
    h: i64,
    w: i64,
    cfg: &EntropyConfig,
) -> Result<Vec<EntropyScore>, CaptumFigureError> {
    let pngs = entropy_pngs(attr, h, w, cfg)?;
    Ok(heatmaps_u8(attr, h, w, cfg)
        .iter()
        .zip(pngs)
        .map(|(m, png)| EntropyScore {
            png_bytes: png.as_ref().map(Vec::len),
            kb: png.map_or(f64::NAN, |p| p.len() as f64 / 1000.0),
            shannon_bits: shannon_bits(m),
        })
        .collect())
}

/// PNG size of one map under every compression x filter setting.
pub fn size_sweep(map: &[u8], w: u32, h: u32) -> Vec<(PngCompression, PngFilter, usize)> {
    use PngCompression as C;
    use PngFilter as F;
    let mut out = Vec::new();
    for c in [C::NoCompression, C::Fastest, C::Fast, C::Balanced, C::High] {
        for f in [F::NoFilter, F::Sub, F::Up, F::Avg, F::Paeth, F::Adaptive] {
            out.push((c, f, encode_png(map, w, h, c, f).len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn constant_maps_are_cheap_and_zero_maps_undefined_only_for_captum() {
        let zero = Tensor::zeros([1, 1, 100, 100], (Kind::Float, Device::Cpu));
        let noise = Tensor::rand([1, 1, 100, 100], (Kind::Float, Device::Cpu));
        let flat = Tensor::ones([1, 3, 100, 100], (Kind::Float, Device::Cpu));
        for cfg in [EntropyConfig::default(), EntropyConfig::grey_png()] {
            let c = xai_entropy(&flat, 100, 100, &cfg).unwrap()[0];
            let r = xai_entropy(&noise, 100, 100, &cfg).unwrap()[0];
            assert_eq!(c.shannon_bits, 0.0);
            assert!(r.shannon_bits > 6.0);
            let (c, r) = (c.png_bytes.unwrap(), r.png_bytes.unwrap());
            assert!(c < r / 5, "{:?}: flat {c} vs noise {r}", cfg.measure);
        }
        // Captum raises on an all-zero map (scale factor 0): undefined, not a number.
        let z = xai_entropy(&zero, 100, 100, &EntropyConfig::default()).unwrap()[0];
        assert_eq!(z.png_bytes, None);
        assert!(z.kb.is_nan());
        let z = xai_entropy(&zero, 100, 100, &EntropyConfig::grey_png()).unwrap()[0];
        assert!(z.png_bytes.is_some_and(|b| b < 200), "{z:?}");
    }

    #[test]
    fn threshold_matches_captum() {
        // np.sort([1,2,3,4]) cumsum [1,3,6,10]; 98 % of 10 = 9.8 -> first index 3 -> 4.
        assert_eq!(cumulative_sum_threshold(&[4.0, 1.0, 3.0, 2.0], 98.0), 4.0);
        assert_eq!(cumulative_sum_threshold(&[4.0, 1.0, 3.0, 2.0], 50.0), 3.0);
        assert_eq!(cumulative_sum_threshold(&[0.0, 0.0], 98.0), 0.0);
    }

    #[test]
    fn small_maps_are_upsampled_as_chosen() {
        let cam = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 3.0]).view([1, 1, 2, 2]);
        let bi = at_input_size(&cam, 4, 4, Upsample::Bilinear);
        let ne = at_input_size(&cam, 4, 4, Upsample::Nearest);
        // align_corners=False: output pixel 1 samples input coordinate 0.25.
        let row: Vec<f32> = Vec::try_from(bi.get(0).get(0).get(0)).unwrap();
        assert_eq!(row, vec![0.0, 0.25, 0.75, 1.0]);
        let row: Vec<f32> = Vec::try_from(ne.get(0).get(0).get(0)).unwrap();
        assert_eq!(row, vec![0.0, 0.0, 1.0, 1.0]);
        assert_eq!(
            bi.kind(),
            Kind::Float,
            "upsampled in the attribution's own type"
        );
        let same = at_input_size(&bi, 4, 4, Upsample::Nearest);
        assert!(same.equal(&bi), "a map at the input size is left as it is");
    }

    #[test]
    fn grad_cam_maps_are_upsampled_and_png_decodes() {
        let cam = Tensor::rand([2, 1, 4, 4], (Kind::Float, Device::Cpu));
        let maps = heatmaps_u8(&cam, 100, 100, &EntropyConfig::default());
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[0].len(), 10_000);
        let bytes = encode_png(
            &maps[0],
            100,
            100,
            PngCompression::High,
            PngFilter::Adaptive,
        );
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        r.next_frame(&mut buf).unwrap();
        assert_eq!(buf, maps[0]);
        let sweep = size_sweep(&maps[0], 100, 100);
        assert_eq!(sweep.len(), 30);
    }
}
