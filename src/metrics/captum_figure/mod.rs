//! Byte-exact re-implementation of the PNG written by Captum's default heat-map figure.
//!
//! The paper's "XAI entropy" of an attribution map is the byte size of
//!
//! ```python
//! fig, _ = captum.attr.visualization.visualize_image_attr(
//!     attr_hwc, method="heat_map", sign="absolute_value", use_pyplot=False)
//! fig.savefig(buf, format="png")          # matplotlib defaults, Agg canvas
//! ```
//!
//! Reference stack (pinned in `ci/bootstrap.sh`): Captum 0.9.0
//! (`captum/attr/_utils/visualization.py`), matplotlib 3.10.9 (`image.py`,
//! `axes/_base.py::apply_aspect`, `gridspec.py`, `spines.py`, `src/_image_resample.h` (3.10.9: `span_interpolator_linear`, not the later
//! `accurate_interpolator_affine_nn`),
//! `src/_backend_agg.h`, `src/path_converters.h`, bundled AGG 2.4), Pillow 10.4.0
//! (`PngImagePlugin.py`, `ImageFile._save`, `src/libImaging/ZipEncode.c`) linking the
//! classic zlib (1.2.x/1.3.x deflate; Pillow >= 11 wheels bundle zlib-ng instead, whose
//! deflate output differs, so they are not used).  `scripts/golden_entropy.py` renders
//! the Python references.
//!
//! The pipeline, for a map `a[c][y][x]` (f32, `C` channels, `H x W`):
//!
//! 1. **Captum normalisation** (`visualize_image_attr`, `_normalize_attr`,
//!    `_cumulative_sum_threshold`, `_normalize_scale`), all in f32 like numpy on an f32
//!    array: `s = sum_c a[c]` (sequential f32 sum over channels, `np.sum(axis=2)`),
//!    `v = |s|`; `sorted = sort(v)`; `cum = cumsum(sorted)` (sequential f32);
//!    `target = f32(f32(cum[-1] * f32(0.01)) * f32(100 - outlier_perc))` (NumPy 2 / NEP 50:
//!    the Python floats are weak, the products stay f32); `t = sorted[first i with
//!    cum[i] >= target]`; `n = clip(v / t, -1, 1)`.  Captum asserts `t != 0`
//!    (an all-zero map raises `AssertionError`), reported here as
//!    [`CaptumFigureError::ZeroThreshold`].
//! 2. **Colour map** (`Colormap.__call__(bytes=True)`): `Blues`, `N = 256`,
//!    `vmin = 0`, `vmax = 1` (Normalize is the identity in f32 here);
//!    `i = trunc(n * 256)` (f32, exact), `i = 255` when `i == 256`; colour =
//!    `BLUES_LUT_U8[i]` = `(lut * 255).astype(uint8)` of matplotlib's 256-entry table
//!    (hard-coded, regenerate with `golden_entropy.py --dump-lut`).  NaN would map to the
//!    transparent "bad" colour; non-finite inputs are rejected instead.
//! 3. **Layout**: `Figure(figsize=(6, 6))`, dpi 100 -> 600 x 600 px, white facecolor;
//!    one subplot at the default `subplot_params` (left .125, right .9, bottom .11, top .88;
//!    `GridSpec.get_grid_positions`), shrunk by `imshow`'s `aspect='equal'`
//!    (`Axes.apply_aspect`, adjustable 'box': `Bbox.shrunk_to_aspect(H/W, pos, fig_h/fig_w)`
//!    then `anchored('C', pos)`), the extent `(-0.5, W-0.5, H-0.5, -0.5)` mapped onto it.
//!    Every float operation is replayed in the same order as matplotlib (the results are
//!    compared bit for bit at pixel/subpixel boundaries).
//! 4. **Image resampling** (`_ImageBase._make_image`, interpolation 'auto' with
//!    interpolation_stage 'auto'): when the image is magnified by at least 3x on both
//!    axes, the *data* are resampled with nearest neighbour (`_image.resample`, AGG
//!    `span_image_filter_gray_nn`),
//!    onto `ceil(width) x ceil(height)` pixels of the clipped axes box (the transform is
//!    stretched by `1 + (ceil(w) - w) / w`).  Matplotlib 3.10.9 uses AGG's
//!    `span_interpolator_linear`: per output row the inverse affine is evaluated at the
//!    span start `(0.5, r + 0.5)` and at `x + len`, both rounded to 1/256 px, and walked
//!    with a `dda2_line_interpolator`; source index = `coord >> 8` (ties at exact pixel
//!    boundaries therefore follow AGG's integer rounding, not `floor`).  Magnification
//!    below 3x switches matplotlib to RGBA-stage hanning filtering, which is not
//!    implemented ([`CaptumFigureError::Unsupported`]).
//! 5. **Compositing** (`RendererAgg::draw_image`): the RGBA block is copied (alpha 255)
//!    at `(round_half_up(x0), H - (round_half_up(y0) + rows))`, clipped to the axes box
//!    rounded half up (inclusive AGG clip box).
//! 6. **Spines** (`spines.py`, `RendererAgg::draw_path`): four black 0.8 pt
//!    (1.111 px) lines, projecting caps, drawn left, right, bottom, top; vertices snapped
//!    (`PathSnapper`: `floor(v + 0.5) + 0.5` for an odd rounded width), stroked into
//!    axis-aligned rectangles, rasterised with AGG's 24.8 fixed-point area coverage
//!    (`cover = ceil(ox * oy / 256)`, clamped to 255, `ox`/`oy` the subpixel overlaps),
//!    and blended with AGG's `fixed_blender_rgba_plain` (`agg_workaround.h`).
//!    Ticks and tick labels are removed by Captum, so nothing else is drawn.
//! 7. **PNG** (`matplotlib.image.imsave` -> Pillow `PngImagePlugin._save`): signature,
//!    `IHDR` (8-bit RGBA), `tEXt` `Software\0Matplotlib version3.10.9, https://matplotlib.org/`,
//!    `pHYs` (`int(dpi / 0.0254 + 0.5)` px/m, unit 1), `IDAT` chunks of at most 65536
//!    bytes (`ImageFile._save` buffer), `IEND`.  Filtering per row as `ZipEncode.c`:
//!    candidates None, Up, Sub, Paeth (Average only with `optimize`), cost
//!    `sum(min(b, 256 - b))`, first strictly smaller wins, each later filter only tried while
//!    the best cost is > 0.  Deflate: zlib `deflateInit2(level -1 (=6), Z_DEFLATED,
//!    windowBits 15, memLevel 9, Z_FILTERED)`, fed one row at a time with `Z_NO_FLUSH`.
//!
//! Files of this folder: `colour.rs` steps 1-2, `geometry.rs` steps 3-4 (layout,
//! transforms and the nearest-neighbour index maps), `raster.rs` steps 5-6, `png.rs`
//! step 7; this file holds the figure parameters, the error type and the end-to-end tests.

mod colour;
mod geometry;
mod png;
mod raster;

pub use colour::{captum_normalize, BLUES_LUT_U8};
pub use geometry::FigureGeometry;
pub use png::pillow_zip_encode;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Matplotlib version string embedded in the PNG `tEXt` chunk.
pub const MATPLOTLIB_VERSION: &str = "3.10.9";

/// Parameters of Captum's default figure.  `Default` reproduces
/// `visualize_image_attr(..., method="heat_map", sign="absolute_value")` with
/// matplotlib 3.10.9 rcParams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptumFigure {
    /// `fig_size` argument of `visualize_image_attr` (inches), default (6, 6).
    pub fig_inches: (f64, f64),
    /// `figure.dpi` / `savefig.dpi` ('figure'), default 100.
    pub dpi: f64,
    /// Captum `outlier_perc`, default 2.
    pub outlier_percent: f64,
    /// `figure.subplot.{left,right,bottom,top}` = (0.125, 0.9, 0.11, 0.88).
    pub subplot_lrbt: (f64, f64, f64, f64),
    /// `axes.linewidth` in points (spines), default 0.8.
    pub spine_linewidth_pt: f64,
    /// Matplotlib version written into the `Software` text chunk.
    pub matplotlib_version: String,
}

impl Default for CaptumFigure {
    fn default() -> Self {
        CaptumFigure {
            fig_inches: (6.0, 6.0),
            dpi: 100.0,
            outlier_percent: 2.0,
            subplot_lrbt: (0.125, 0.9, 0.11, 0.88),
            spine_linewidth_pt: 0.8,
            matplotlib_version: MATPLOTLIB_VERSION.to_string(),
        }
    }
}

/// An RGBA8 raster, rows top to bottom (PNG order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raster {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height * width * 4` bytes, RGBA, row-major.
    pub rgba: Vec<u8>,
}

/// Why a map cannot be drawn as Captum's figure.
#[derive(Clone, Debug, PartialEq)]
pub enum CaptumFigureError {
    /// `map.len() != channels * h * w` or an empty map.
    Shape {
        /// The map's length.
        len: usize,
        /// Channels given.
        channels: usize,
        /// Height given.
        h: usize,
        /// Width given.
        w: usize,
    },
    /// A NaN or infinite attribution (matplotlib would draw "bad" pixels; not modelled).
    NonFinite,
    /// Captum's `_normalize_scale` asserts `scale_factor != 0` (e.g. an all-zero map).
    ZeroThreshold,
    /// Geometry outside the modelled path (magnification < 3x -> hanning/RGBA stage).
    Unsupported(String),
}

impl fmt::Display for CaptumFigureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptumFigureError::Shape {
                len,
                channels,
                h,
                w,
            } => {
                write!(f, "map has {len} values, expected {channels}x{h}x{w}")
            }
            CaptumFigureError::NonFinite => write!(f, "attribution map contains NaN/inf"),
            CaptumFigureError::ZeroThreshold => write!(
                f,
                "Captum normalisation threshold is 0 (all-zero map): Captum raises AssertionError"
            ),
            CaptumFigureError::Unsupported(s) => write!(f, "unsupported figure geometry: {s}"),
        }
    }
}

impl std::error::Error for CaptumFigureError {}

impl CaptumFigure {
    /// `len(png_bytes)` is the paper's XAI entropy.
    pub fn png_bytes(
        &self,
        map: &[f32],
        channels: usize,
        h: usize,
        w: usize,
    ) -> Result<Vec<u8>, CaptumFigureError> {
        let r = self.render_rgba(map, channels, h, w)?;
        Ok(self.encode_png(&r))
    }
}

#[cfg(test)]
mod tests {
    use super::colour::blues;
    use super::*;

    /// Deterministic map `((7x + 13y + 5c) mod 17) / 16 - 0.3` (C, H, W).
    fn det(c: usize, h: usize, w: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(c * h * w);
        for z in 0..c {
            for y in 0..h {
                for x in 0..w {
                    v.push(((x * 7 + y * 13 + z * 5) % 17) as f32 / 16.0 - 0.3);
                }
            }
        }
        v
    }

    /// Sizes of `scripts/golden_entropy.py` output (captum 0.9.0, matplotlib 3.10.9,
    /// Pillow 10.4.0 + classic zlib) for `det`.
    #[test]
    fn png_size_matches_captum_golden() {
        let fig = CaptumFigure::default();
        for &(c, h, w, size) in &[
            (1, 100, 100, 8941usize),
            (1, 90, 108, 8394),
            (3, 100, 100, 11829),
        ] {
            let png = fig.png_bytes(&det(c, h, w), c, h, w).unwrap();
            assert_eq!(png.len(), size, "{c}x{h}x{w}");
        }
    }

    #[test]
    fn png_chunk_layout() {
        let fig = CaptumFigure::default();
        let png = fig.png_bytes(&det(1, 100, 100), 1, 100, 100).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut p = 8;
        let mut kinds = vec![];
        while p < png.len() {
            let n = u32::from_be_bytes(png[p..p + 4].try_into().unwrap()) as usize;
            let kind = String::from_utf8(png[p + 4..p + 8].to_vec()).unwrap();
            let data = &png[p + 8..p + 8 + n];
            match kind.as_str() {
                "IHDR" => assert_eq!(data, &[0, 0, 2, 88, 0, 0, 2, 88, 8, 6, 0, 0, 0]),
                "tEXt" => assert_eq!(
                    data,
                    b"Software\0Matplotlib version3.10.9, https://matplotlib.org/"
                ),
                "pHYs" => assert_eq!(data, &[0, 0, 0x0f, 0x61, 0, 0, 0x0f, 0x61, 1]),
                _ => {}
            }
            kinds.push(kind);
            p += 12 + n;
        }
        assert_eq!(kinds, ["IHDR", "tEXt", "pHYs", "IDAT", "IEND"]);
    }

    /// Values printed by matplotlib 3.10.9 for a 100 x 100 and a 90 x 108 image.
    #[test]
    fn geometry_matches_matplotlib() {
        let fig = CaptumFigure::default();
        let g = fig.geometry(100, 100).unwrap();
        assert_eq!(g.axes_bbox, [76.5, 65.99999999999999, 538.5, 528.0]);
        assert_eq!((g.out_w, g.out_h), (462, 462));
        assert_eq!(&g.col_map[..12], &[0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
        assert_eq!(&g.row_map[..6], &[99, 99, 99, 99, 99, 98]);
        let g = fig.geometry(90, 108).unwrap();
        assert_eq!(g.clipped_bbox[0], 75.0);
        assert_eq!((g.out_w, g.out_h), (465, 388));
        assert_eq!(&g.col_map[..10], &[0, 0, 0, 0, 1, 1, 1, 1, 1, 2]);
        assert_eq!(&g.row_map[..6], &[89, 89, 89, 89, 88, 88]);
        // < 3x magnification switches matplotlib to hanning/RGBA stage: not modelled.
        assert!(matches!(
            fig.geometry(160, 160),
            Err(CaptumFigureError::Unsupported(_))
        ));
    }

    #[test]
    fn zero_map_is_captum_assertion() {
        let fig = CaptumFigure::default();
        let z = vec![0f32; 100 * 100];
        assert_eq!(
            fig.png_bytes(&z, 1, 100, 100),
            Err(CaptumFigureError::ZeroThreshold)
        );
        assert!(matches!(
            fig.png_bytes(&z[..10], 1, 100, 100),
            Err(CaptumFigureError::Shape { .. })
        ));
        let mut n = det(1, 10, 10);
        n[3] = f32::NAN;
        assert_eq!(
            fig.png_bytes(&n, 1, 10, 10),
            Err(CaptumFigureError::NonFinite)
        );
    }

    #[test]
    fn frame_pixels() {
        // Spine at column 77 / row 72 (black), 14/255 anti-aliasing fringe outside.
        let r = CaptumFigure::default()
            .render_rgba(&det(1, 100, 100), 1, 100, 100)
            .unwrap();
        let px = |y: usize, x: usize| &r.rgba[(y * 600 + x) * 4..(y * 600 + x) * 4 + 4];
        assert_eq!(px(300, 77), &[0, 0, 0, 255]);
        assert_eq!(px(300, 76), &[241, 241, 241, 255]);
        assert_eq!(px(72, 300), &[0, 0, 0, 255]);
        assert_eq!(px(71, 77), &[227, 227, 227, 255]);
        assert_eq!(px(71, 76), &[253, 253, 253, 255]);
        assert_eq!(px(10, 10), &[255, 255, 255, 255]);
    }

    #[test]
    fn captum_threshold_is_f32_cumsum() {
        // 98 % of the mass of [1, 1, 1, 97]: cum = [1, 2, 3, 100], target 98 -> t = 97.
        let n = captum_normalize(&[1.0, -1.0, 1.0, 97.0], 1, 2, 2, 2.0).unwrap();
        assert_eq!(n, vec![1.0 / 97.0, 1.0 / 97.0, 1.0 / 97.0, 1.0]);
        assert_eq!(blues(1.0), BLUES_LUT_U8[255]);
        assert_eq!(blues(0.0), [247, 251, 255, 255]);
    }
}
