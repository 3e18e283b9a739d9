//! "XAI entropy": the byte size of a heatmap PNG (Samek et al.'s file-size complexity, the
//! paper's second metric), and the Shannon entropy of the same quantised map.
//!
//! No library implements it, so the pipeline is fixed here, step by step:
//! 1. channel reduction: sum over channels, then absolute value (Captum's
//!    `visualize_image_attr` with `sign="absolute_value"`);
//! 2. resolution: maps smaller than the input (Grad-CAM's layer4 map) are upsampled to the
//!    input size by nearest-neighbour interpolation (as Guided Grad-CAM does);
//! 3. normalisation: divide by the value at which the cumulative sum of the sorted values
//!    reaches `100 - outlier_percent` % of the total (Captum's `_cumulative_sum_threshold`,
//!    `outlier_perc = 2`), clip to [0, 1]; an all-zero map stays zero;
//! 4. quantisation: `round(255 v)` to 8-bit grey (no colormap);
//! 5. encoding: PNG, 8-bit greyscale, the `png` crate pinned at =0.18.1, compression
//!    `High`, filter `Adaptive` (both configurable; [`size_sweep`] records how much the size
//!    moves with them).
//!
//! The score is the PNG's byte count, reported in KB = 1000 bytes.

use tch::{Kind, Tensor};

/// PNG compression levels of the `png` crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PngCompression {
    NoCompression,
    Fastest,
    Fast,
    Balanced,
    High,
}

/// PNG row filters of the `png` crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PngFilter {
    NoFilter,
    Sub,
    Up,
    Avg,
    Paeth,
    Adaptive,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EntropyConfig {
    /// Percent of the total attribution mass treated as outliers above the scale value.
    pub outlier_percent: f64,
    pub compression: PngCompression,
    pub filter: PngFilter,
}

impl Default for EntropyConfig {
    fn default() -> Self {
        Self {
            outlier_percent: 2.0,
            compression: PngCompression::High,
            filter: PngFilter::Adaptive,
        }
    }
}

/// The two complexity scores of one heatmap.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EntropyScore {
    /// PNG size in bytes.
    pub png_bytes: usize,
    /// PNG size in KB (1000 bytes): the paper's "XAI entropy".
    pub kb: f64,
    /// Shannon entropy of the 8-bit map's histogram, bits per pixel.
    pub shannon_bits: f64,
}

/// Steps 1-4 for every image: 8-bit maps (N, H, W) at the input resolution `(h, w)`.
pub fn heatmaps_u8(attr: &Tensor, h: i64, w: i64, cfg: &EntropyConfig) -> Vec<Vec<u8>> {
    let a = attr.to_device(tch::Device::Cpu).to_kind(Kind::Double);
    let a = a.sum_dim_intlist(1, true, Kind::Double).abs();
    let a = if a.size()[2..] != [h, w] {
        a.upsample_nearest2d([h, w], None, None)
    } else {
        a
    };
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

/// XAI entropy and Shannon entropy of every image's attribution, at input size `(h, w)`.
pub fn xai_entropy(attr: &Tensor, h: i64, w: i64, cfg: &EntropyConfig) -> Vec<EntropyScore> {
    heatmaps_u8(attr, h, w, cfg)
        .iter()
        .map(|m| {
            let bytes = encode_png(m, w as u32, h as u32, cfg.compression, cfg.filter).len();
            EntropyScore {
                png_bytes: bytes,
                kb: bytes as f64 / 1000.0,
                shannon_bits: shannon_bits(m),
            }
        })
        .collect()
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
    fn constant_map_has_minimal_entropy() {
        let cfg = EntropyConfig::default();
        let zero = Tensor::zeros([1, 1, 100, 100], (Kind::Float, Device::Cpu));
        let noise = Tensor::rand([1, 1, 100, 100], (Kind::Float, Device::Cpu));
        let flat = Tensor::ones([1, 3, 100, 100], (Kind::Float, Device::Cpu));
        let z = xai_entropy(&zero, 100, 100, &cfg)[0];
        let c = xai_entropy(&flat, 100, 100, &cfg)[0];
        let r = xai_entropy(&noise, 100, 100, &cfg)[0];
        assert_eq!(z.shannon_bits, 0.0);
        assert_eq!(c.shannon_bits, 0.0);
        assert!(z.png_bytes < r.png_bytes / 10, "{z:?} {r:?}");
        assert!(c.png_bytes < r.png_bytes / 10, "{c:?} {r:?}");
        assert!(r.shannon_bits > 6.0);
    }

    #[test]
    fn threshold_matches_captum() {
        // np.sort([1,2,3,4]) cumsum [1,3,6,10]; 98 % of 10 = 9.8 -> first index 3 -> 4.
        assert_eq!(cumulative_sum_threshold(&[4.0, 1.0, 3.0, 2.0], 98.0), 4.0);
        assert_eq!(cumulative_sum_threshold(&[4.0, 1.0, 3.0, 2.0], 50.0), 3.0);
        assert_eq!(cumulative_sum_threshold(&[0.0, 0.0], 98.0), 0.0);
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
