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
    pub width: usize,
    pub height: usize,
    /// `height * width * 4` bytes, RGBA, row-major.
    pub rgba: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CaptumFigureError {
    /// `map.len() != channels * h * w` or an empty map.
    Shape {
        len: usize,
        channels: usize,
        h: usize,
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

/// `Blues` with N = 256 as `matplotlib.colormaps["Blues"](np.arange(256), bytes=True)`
/// (matplotlib 3.10.9; `(lut * 255).astype(np.uint8)`), RGBA.
pub const BLUES_LUT_U8: [[u8; 4]; 256] = [
    [247, 251, 255, 255],
    [246, 250, 254, 255],
    [245, 249, 254, 255],
    [244, 249, 254, 255],
    [243, 248, 253, 255],
    [243, 248, 253, 255],
    [242, 247, 253, 255],
    [241, 247, 253, 255],
    [240, 246, 252, 255],
    [239, 246, 252, 255],
    [239, 245, 252, 255],
    [238, 245, 252, 255],
    [237, 244, 251, 255],
    [236, 244, 251, 255],
    [236, 243, 251, 255],
    [235, 243, 251, 255],
    [234, 242, 250, 255],
    [233, 242, 250, 255],
    [232, 241, 250, 255],
    [232, 241, 250, 255],
    [231, 240, 249, 255],
    [230, 240, 249, 255],
    [229, 239, 249, 255],
    [228, 239, 249, 255],
    [228, 238, 248, 255],
    [227, 238, 248, 255],
    [226, 237, 248, 255],
    [225, 237, 248, 255],
    [225, 236, 247, 255],
    [224, 236, 247, 255],
    [223, 235, 247, 255],
    [222, 235, 247, 255],
    [221, 234, 246, 255],
    [221, 234, 246, 255],
    [220, 233, 246, 255],
    [219, 233, 246, 255],
    [218, 232, 245, 255],
    [218, 232, 245, 255],
    [217, 231, 245, 255],
    [216, 231, 245, 255],
    [215, 230, 244, 255],
    [215, 230, 244, 255],
    [214, 229, 244, 255],
    [213, 229, 244, 255],
    [212, 228, 243, 255],
    [212, 228, 243, 255],
    [211, 227, 243, 255],
    [210, 227, 243, 255],
    [209, 226, 242, 255],
    [209, 226, 242, 255],
    [208, 225, 242, 255],
    [207, 225, 242, 255],
    [206, 224, 241, 255],
    [206, 224, 241, 255],
    [205, 223, 241, 255],
    [204, 223, 241, 255],
    [203, 222, 240, 255],
    [203, 222, 240, 255],
    [202, 221, 240, 255],
    [201, 221, 240, 255],
    [200, 220, 239, 255],
    [200, 220, 239, 255],
    [199, 219, 239, 255],
    [198, 219, 239, 255],
    [197, 218, 238, 255],
    [196, 218, 238, 255],
    [195, 217, 238, 255],
    [193, 217, 237, 255],
    [192, 216, 237, 255],
    [191, 216, 236, 255],
    [190, 215, 236, 255],
    [188, 215, 235, 255],
    [187, 214, 235, 255],
    [186, 214, 234, 255],
    [185, 213, 234, 255],
    [183, 212, 234, 255],
    [182, 212, 233, 255],
    [181, 211, 233, 255],
    [180, 211, 232, 255],
    [178, 210, 232, 255],
    [177, 210, 231, 255],
    [176, 209, 231, 255],
    [175, 209, 230, 255],
    [173, 208, 230, 255],
    [172, 208, 230, 255],
    [171, 207, 229, 255],
    [170, 207, 229, 255],
    [168, 206, 228, 255],
    [167, 206, 228, 255],
    [166, 205, 227, 255],
    [165, 205, 227, 255],
    [163, 204, 227, 255],
    [162, 203, 226, 255],
    [161, 203, 226, 255],
    [160, 202, 225, 255],
    [158, 202, 225, 255],
    [157, 201, 224, 255],
    [155, 200, 224, 255],
    [154, 199, 224, 255],
    [152, 199, 223, 255],
    [151, 198, 223, 255],
    [149, 197, 223, 255],
    [147, 196, 222, 255],
    [146, 195, 222, 255],
    [144, 194, 222, 255],
    [143, 193, 221, 255],
    [141, 192, 221, 255],
    [139, 192, 221, 255],
    [138, 191, 220, 255],
    [136, 190, 220, 255],
    [135, 189, 220, 255],
    [133, 188, 219, 255],
    [131, 187, 219, 255],
    [130, 186, 219, 255],
    [128, 185, 218, 255],
    [127, 184, 218, 255],
    [125, 184, 217, 255],
    [123, 183, 217, 255],
    [122, 182, 217, 255],
    [120, 181, 216, 255],
    [119, 180, 216, 255],
    [117, 179, 216, 255],
    [115, 178, 215, 255],
    [114, 177, 215, 255],
    [112, 177, 215, 255],
    [111, 176, 214, 255],
    [109, 175, 214, 255],
    [107, 174, 214, 255],
    [106, 173, 213, 255],
    [105, 172, 213, 255],
    [103, 171, 212, 255],
    [102, 170, 212, 255],
    [101, 170, 211, 255],
    [99, 169, 211, 255],
    [98, 168, 210, 255],
    [97, 167, 210, 255],
    [96, 166, 209, 255],
    [94, 165, 209, 255],
    [93, 164, 208, 255],
    [92, 163, 208, 255],
    [90, 163, 207, 255],
    [89, 162, 207, 255],
    [88, 161, 206, 255],
    [87, 160, 206, 255],
    [85, 159, 205, 255],
    [84, 158, 205, 255],
    [83, 157, 204, 255],
    [81, 156, 204, 255],
    [80, 155, 203, 255],
    [79, 155, 203, 255],
    [78, 154, 202, 255],
    [76, 153, 202, 255],
    [75, 152, 201, 255],
    [74, 151, 201, 255],
    [72, 150, 200, 255],
    [71, 149, 200, 255],
    [70, 148, 199, 255],
    [69, 148, 199, 255],
    [67, 147, 198, 255],
    [66, 146, 198, 255],
    [65, 145, 197, 255],
    [64, 144, 197, 255],
    [63, 143, 196, 255],
    [62, 142, 196, 255],
    [61, 141, 195, 255],
    [60, 140, 195, 255],
    [59, 139, 194, 255],
    [58, 138, 193, 255],
    [57, 137, 193, 255],
    [56, 136, 192, 255],
    [55, 135, 192, 255],
    [53, 133, 191, 255],
    [52, 132, 191, 255],
    [51, 131, 190, 255],
    [50, 130, 190, 255],
    [49, 129, 189, 255],
    [48, 128, 189, 255],
    [47, 127, 188, 255],
    [46, 126, 188, 255],
    [45, 125, 187, 255],
    [44, 124, 187, 255],
    [43, 123, 186, 255],
    [42, 122, 185, 255],
    [41, 121, 185, 255],
    [40, 120, 184, 255],
    [39, 119, 184, 255],
    [38, 118, 183, 255],
    [37, 117, 183, 255],
    [36, 116, 182, 255],
    [35, 115, 182, 255],
    [34, 114, 181, 255],
    [33, 113, 181, 255],
    [32, 112, 180, 255],
    [31, 111, 179, 255],
    [30, 110, 178, 255],
    [30, 109, 178, 255],
    [29, 108, 177, 255],
    [28, 107, 176, 255],
    [27, 106, 175, 255],
    [26, 105, 174, 255],
    [26, 104, 174, 255],
    [25, 103, 173, 255],
    [24, 102, 172, 255],
    [23, 101, 171, 255],
    [23, 100, 171, 255],
    [22, 99, 170, 255],
    [21, 98, 169, 255],
    [20, 97, 168, 255],
    [19, 96, 167, 255],
    [19, 95, 167, 255],
    [18, 94, 166, 255],
    [17, 93, 165, 255],
    [16, 92, 164, 255],
    [15, 91, 163, 255],
    [15, 90, 163, 255],
    [14, 89, 162, 255],
    [13, 88, 161, 255],
    [12, 87, 160, 255],
    [12, 86, 160, 255],
    [11, 85, 159, 255],
    [10, 84, 158, 255],
    [9, 83, 157, 255],
    [8, 82, 156, 255],
    [8, 81, 156, 255],
    [8, 80, 154, 255],
    [8, 79, 153, 255],
    [8, 78, 151, 255],
    [8, 76, 150, 255],
    [8, 75, 148, 255],
    [8, 74, 146, 255],
    [8, 73, 145, 255],
    [8, 72, 143, 255],
    [8, 71, 142, 255],
    [8, 70, 140, 255],
    [8, 69, 139, 255],
    [8, 68, 137, 255],
    [8, 67, 136, 255],
    [8, 66, 134, 255],
    [8, 65, 133, 255],
    [8, 64, 131, 255],
    [8, 63, 130, 255],
    [8, 62, 128, 255],
    [8, 61, 126, 255],
    [8, 60, 125, 255],
    [8, 59, 123, 255],
    [8, 58, 122, 255],
    [8, 57, 120, 255],
    [8, 56, 119, 255],
    [8, 55, 117, 255],
    [8, 54, 116, 255],
    [8, 53, 114, 255],
    [8, 52, 113, 255],
    [8, 51, 111, 255],
    [8, 50, 110, 255],
    [8, 49, 108, 255],
    [8, 48, 107, 255],
];

type M3 = [[f64; 3]; 3];

/// `np.dot(a, b)` for the 3x3 affine matrices matplotlib composes
/// (`CompositeGenericTransform.get_matrix` = `b @ a`); sequential k sum.
fn mmul(a: &M3, b: &M3) -> M3 {
    let mut c = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            c[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
        }
    }
    c
}

/// `floor(v + 0.5)` (matplotlib `mpl_round`).
fn mpl_round(v: f64) -> f64 {
    (v + 0.5).floor()
}

/// AGG `iround`.
fn iround(v: f64) -> i64 {
    if v < 0.0 {
        (v - 0.5) as i64
    } else {
        (v + 0.5) as i64
    }
}

/// Geometry of one figure, every value computed in matplotlib's operation order.
#[derive(Clone, Debug)]
pub struct FigureGeometry {
    /// Canvas size in pixels.
    pub width_px: usize,
    pub height_px: usize,
    /// `ax.bbox` after `apply_aspect` (display coordinates, y up): x0, y0, x1, y1.
    pub axes_bbox: [f64; 4],
    /// `transData` matrix.
    pub trans_data: M3,
    /// Final image transform `t` of `_make_image` (data index -> output array).
    pub image_t: M3,
    /// Clipped output bbox (x0, y0, x1, y1).
    pub clipped_bbox: [f64; 4],
    /// Resampled block size.
    pub out_w: usize,
    pub out_h: usize,
    /// For each output column, the source column; for each output *array* row
    /// (bottom-up, as `_image.resample` writes it), the source row.
    pub col_map: Vec<usize>,
    pub row_map: Vec<usize>,
}

impl CaptumFigure {
    fn canvas_size(&self) -> (usize, usize) {
        // Figure.bbox = bbox_inches transformed by Affine2D().scale(dpi); savefig at
        // dpi='figure' -> int(round) of the (exact here) product.
        let w = (self.fig_inches.0 * self.dpi).round() as usize;
        let h = (self.fig_inches.1 * self.dpi).round() as usize;
        (w, h)
    }

    /// Replays `GridSpec.get_grid_positions`, `Axes.apply_aspect`, `transData` and
    /// `_make_image` for an `h x w` image.
    pub fn geometry(&self, h: usize, w: usize) -> Result<FigureGeometry, CaptumFigureError> {
        let (wp, hp) = self.canvas_size();
        let fig_w = self.fig_inches.0 * self.dpi;
        let fig_h = self.fig_inches.1 * self.dpi;
        let (left, right, bottom, top) = self.subplot_lrbt;
        // gridspec.get_grid_positions, nrows = ncols = 1.
        let tot_width = right - left;
        let tot_height = top - bottom;
        let cell_h = tot_height / (1.0 + 0.2 * 0.0);
        let norm_h = cell_h * 1.0 / 1.0;
        let cell_hs = [0.0, 0.0 + 1.0 * norm_h];
        let cell_w = tot_width / (1.0 + 0.2 * 0.0);
        let norm_w = cell_w * 1.0 / 1.0;
        let cell_ws = [0.0, 0.0 + 1.0 * norm_w];
        let fig_top = top - cell_hs[0];
        let fig_bottom = top - cell_hs[1];
        let fig_left = left + cell_ws[0];
        let fig_right = left + cell_ws[1];
        let pos = [fig_left, fig_bottom, fig_right, fig_top];
        // apply_aspect, adjustable='box', aspect=1 ('equal').
        let fig_aspect = fig_h / fig_w; // Bbox.unit() through transSubfigure
        let (xlo, xhi) = (-0.5f64, w as f64 - 0.5);
        let (ylo, yhi) = (-0.5f64, h as f64 - 0.5);
        let xsize = (xhi - xlo).abs().max(1e-30);
        let ysize = (yhi - ylo).abs().max(1e-30);
        let box_aspect = 1.0 * (ysize / xsize);
        // shrunk_to_aspect(box_aspect, pos, fig_aspect)
        let (cw, ch) = (pos[2] - pos[0], pos[3] - pos[1]);
        let mut hh = cw * box_aspect / fig_aspect;
        let ww;
        if hh <= ch {
            ww = cw;
        } else {
            ww = ch * fig_aspect / box_aspect;
            hh = ch;
        }
        let shr = [pos[0], pos[1], pos[0] + ww, pos[1] + hh];
        // anchored('C', pos)
        let (l, b, cwid, chei) = (pos[0], pos[1], pos[2] - pos[0], pos[3] - pos[1]);
        let (ll, bb, w2, h2) = (shr[0], shr[1], shr[2] - shr[0], shr[3] - shr[1]);
        let dx = (l + 0.5 * (cwid - w2)) - ll;
        let dy = (b + 0.5 * (chei - h2)) - bb;
        let act = [shr[0] + dx, shr[1] + dy, shr[2] + dx, shr[3] + dy];
        // ax.bbox = TransformedBbox(position, BboxTransformTo(fig.bbox)) (fig.bbox at 0,0)
        let ab = [
            fig_w * act[0] + 0.0 * act[1] + 0.0,
            fig_h * act[1] + 0.0 * act[0] + 0.0,
            fig_w * act[2] + 0.0 * act[3] + 0.0,
            fig_h * act[3] + 0.0 * act[2] + 0.0,
        ];
        // transAxes = BboxTransformTo(ax.bbox)
        let (outl, outb, outw, outh) = (ab[0], ab[1], ab[2] - ab[0], ab[3] - ab[1]);
        let to: M3 = [[outw, 0.0, outl], [0.0, outh, outb], [0.0, 0.0, 1.0]];
        // transLimits = BboxTransformFrom(viewLim); viewLim = [[-0.5, h-0.5], [w-0.5, -0.5]]
        let (inl, inb, inw, inh) = (xlo, yhi, xhi - xlo, ylo - yhi);
        let xs = 1.0 / inw;
        let ys = 1.0 / inh;
        let from: M3 = [[xs, 0.0, -inl * xs], [0.0, ys, -inb * ys], [0.0, 0.0, 1.0]];
        let ident: M3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let trans_data = mmul(&mmul(&to, &from), &ident);
        // out_bbox = extent through transData; clip = ax.bbox
        let tx = |x: f64, y: f64| trans_data[0][0] * x + trans_data[0][1] * y + trans_data[0][2];
        let ty = |x: f64, y: f64| trans_data[1][0] * x + trans_data[1][1] * y + trans_data[1][2];
        let e = [(xlo, yhi), (xhi, ylo)];
        let ox = [tx(e[0].0, e[0].1), tx(e[1].0, e[1].1)];
        let oy = [ty(e[0].0, e[0].1), ty(e[1].0, e[1].1)];
        let cx0 = ox[0].min(ox[1]).max(ab[0].min(ab[2]));
        let cx1 = ox[0].max(ox[1]).min(ab[0].max(ab[2]));
        let cy0 = oy[0].min(oy[1]).max(ab[1].min(ab[3]));
        let cy1 = oy[0].max(oy[1]).min(ab[1].max(ab[3]));
        if !(cx0 <= cx1 && cy0 <= cy1) {
            return Err(CaptumFigureError::Unsupported("image outside axes".into()));
        }
        let (owb, ohb) = (cx1 - cx0, cy1 - cy0);
        // t0 = flip + (extent scale/translate + transData)
        let in_w = xhi - xlo;
        let in_h = ylo - yhi;
        let (sxe, sye) = (in_w / w as f64, in_h / h as f64);
        let aext: M3 = [
            [1.0 * sxe, 0.0 * sxe, 0.0 * sxe + xlo],
            [0.0 * sye, 1.0 * sye, 0.0 * sye + yhi],
            [0.0, 0.0, 1.0],
        ];
        let flip: M3 = [
            [1.0, 0.0, 0.0],
            [-0.0, -1.0, -(-(h as f64))],
            [0.0, 0.0, 1.0],
        ];
        let t0 = mmul(&mmul(&trans_data, &aext), &flip);
        let atr: M3 = [[1.0, 0.0, -cx0], [0.0, 1.0, -cy0], [0.0, 0.0, 1.0]];
        let mut t = mmul(&atr, &t0);
        let (out_w, out_h);
        if owb % 1.0 != 0.0 || ohb % 1.0 != 0.0 {
            out_w = owb.ceil();
            out_h = ohb.ceil();
            let ew = (out_w - owb) / owb;
            let eh = (out_h - ohb) / ohb;
            let s: M3 = [[1.0 + ew, 0.0, 0.0], [0.0, 1.0 + eh, 0.0], [0.0, 0.0, 1.0]];
            t = mmul(&s, &t);
        } else {
            out_w = owb.trunc();
            out_h = ohb.trunc();
        }
        let (out_w, out_h) = (out_w as usize, out_h as usize);
        // interpolation 'auto' -> data stage only if magnified >= 3 on both axes, and
        // nearest only if > 3 (or exactly 1x/2x, impossible here).
        let px = |x: f64, y: f64| {
            (
                t[0][0] * x + t[0][1] * y + t[0][2],
                t[1][0] * x + t[1][1] * y + t[1][2],
            )
        };
        let (p0, p1) = (px(0.0, 0.0), px(w as f64, h as f64));
        let dispx = (p1.0 - p0.0).abs();
        let dispy = (p1.1 - p0.1).abs();
        if !(dispx > 3.0 * w as f64 && dispy > 3.0 * h as f64) {
            return Err(CaptumFigureError::Unsupported(format!(
                "{h}x{w} map magnified {:.3}x{:.3} (< 3x): matplotlib uses RGBA-stage hanning",
                dispy / h as f64,
                dispx / w as f64
            )));
        }
        let (col_map, row_map) = nn_maps(&t, w, h, out_w, out_h);
        Ok(FigureGeometry {
            width_px: wp,
            height_px: hp,
            axes_bbox: ab,
            trans_data,
            image_t: t,
            clipped_bbox: [cx0, cy0, cx1, cy1],
            out_w,
            out_h,
            col_map,
            row_map,
        })
    }
}

/// AGG `wrap_mode_reflect`.
fn reflect(v: i64, size: usize) -> usize {
    let size2 = 2 * size as u64;
    let add = size2 * (0x3FFF_FFFFu64 / size2);
    let m = (v + add as i64) as u64 % size2;
    if m >= size as u64 {
        (size2 - m - 1) as usize
    } else {
        m as usize
    }
}

/// AGG `dda2_line_interpolator`.
struct Dda2 {
    cnt: i64,
    lft: i64,
    rem: i64,
    md: i64,
    y: i64,
}

impl Dda2 {
    fn new(y1: i64, y2: i64, count: i64) -> Self {
        let cnt = if count <= 0 { 1 } else { count };
        let mut d = Dda2 {
            cnt,
            lft: (y2 - y1) / cnt,
            rem: (y2 - y1) % cnt,
            md: 0,
            y: y1,
        };
        d.md = d.rem;
        if d.md <= 0 {
            d.md += count;
            d.rem += count;
            d.lft -= 1;
        }
        d.md -= count;
        d
    }
    fn step(&mut self) {
        self.md += self.rem;
        self.y += self.lft;
        if self.md > 0 {
            self.md -= self.cnt;
            self.y += 1;
        }
    }
}

/// `_image.resample(..., NEAREST)` index maps (matplotlib 3.10.9 `_image_resample.h`:
/// `span_image_filter_gray_nn` with `agg::span_interpolator_linear<>`): AGG
/// `trans_affine::invert`; per output row one span `x = 0..out_w`;
/// `begin(0.5, r + 0.5, out_w)` transforms the span start and `x + len`, rounds both to
/// 1/256 pixel (`iround(v * 256)`), and steps a `dda2_line_interpolator`; the source
/// index is `coord >> 8`, wrapped by `image_accessor_wrap<reflect>`.
fn nn_maps(t: &M3, w: usize, h: usize, out_w: usize, out_h: usize) -> (Vec<usize>, Vec<usize>) {
    // agg::trans_affine from the numpy matrix
    let (mut sx, mut shy, mut shx, mut sy, mut tx, mut ty) =
        (t[0][0], t[1][0], t[0][1], t[1][1], t[0][2], t[1][2]);
    // invert()
    let d = 1.0 / (sx * sy - shy * shx);
    let t0 = sy * d;
    sy = sx * d;
    shy = -shy * d;
    shx = -shx * d;
    let t4 = -tx * t0 - ty * shx;
    ty = -tx * shy - ty * sy;
    sx = t0;
    tx = t4;
    let tr = |x: f64, y: f64| (x * sx + y * shx + tx, x * shy + y * sy + ty);
    let mut rows = Vec::with_capacity(out_h);
    let mut cols = Vec::new();
    for r in 0..out_h {
        let yc = r as f64 + 0.5;
        let (a, b) = tr(0.5, yc);
        let (a2, b2) = tr(0.5 + out_w as f64, yc);
        let mut lx = Dda2::new(iround(a * 256.0), iround(a2 * 256.0), out_w as i64);
        let mut ly = Dda2::new(iround(b * 256.0), iround(b2 * 256.0), out_w as i64);
        let mut rowcols = Vec::with_capacity(out_w);
        let mut rowsrc = None;
        for _ in 0..out_w {
            rowcols.push(reflect(lx.y >> 8, w));
            let ry = reflect(ly.y >> 8, h);
            if rowsrc.is_none() {
                rowsrc = Some(ry);
            }
            debug_assert_eq!(rowsrc, Some(ry));
            lx.step();
            ly.step();
        }
        if r == 0 {
            cols = rowcols;
        } else {
            debug_assert_eq!(cols, rowcols);
        }
        rows.push(rowsrc.unwrap_or(0));
    }
    (cols, rows)
}

/// Captum's normalisation (step 1 of the module docs): returns `n` in `[0, 1]`, H x W.
pub fn captum_normalize(
    map: &[f32],
    channels: usize,
    h: usize,
    w: usize,
    outlier_percent: f64,
) -> Result<Vec<f32>, CaptumFigureError> {
    if channels == 0 || h == 0 || w == 0 || map.len() != channels * h * w {
        return Err(CaptumFigureError::Shape {
            len: map.len(),
            channels,
            h,
            w,
        });
    }
    if map.iter().any(|v| !v.is_finite()) {
        return Err(CaptumFigureError::NonFinite);
    }
    let hw = h * w;
    // np.sum(attr_hwc, axis=2) (sequential f32), then np.abs
    let mut v: Vec<f32> = (0..hw)
        .map(|i| {
            let mut s = map[i];
            for c in 1..channels {
                s += map[c * hw + i];
            }
            s.abs()
        })
        .collect();
    let mut sorted = v.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let percentile = 100.0 - outlier_percent;
    let mut cum = Vec::with_capacity(hw);
    let mut acc = 0f32;
    for &s in &sorted {
        acc += s;
        cum.push(acc);
    }
    let target = (cum[hw - 1] * 0.01f64 as f32) * percentile as f32;
    let idx = cum.iter().position(|&c| c >= target).unwrap_or(hw - 1);
    let thr = sorted[idx];
    if thr == 0.0 {
        return Err(CaptumFigureError::ZeroThreshold);
    }
    for x in v.iter_mut() {
        *x = (*x / thr).clamp(-1.0, 1.0);
    }
    Ok(v)
}

/// `Colormap.__call__(n, bytes=True)` for Blues, vmin 0, vmax 1.
fn blues(n: f32) -> [u8; 4] {
    let mut x = n * 256.0;
    if x == 256.0 {
        x = 255.0;
    }
    let i = if x < 0.0 {
        0
    } else {
        (x as i64).min(255) as usize
    };
    BLUES_LUT_U8[i]
}

/// AGG `fixed_blender_rgba_plain::blend_pix` (matplotlib `agg_workaround.h`), rgba8.
fn blend_pix(p: &mut [u8], c: [u8; 4], cover: u32) {
    // rgba8::mult_cover(alpha, cover)
    let t = c[3] as u32 * cover + 128;
    let alpha = ((t >> 8) + t) >> 8;
    if alpha == 0 {
        return;
    }
    let a = p[3] as u32;
    let r = p[0] as u32 * a;
    let g = p[1] as u32 * a;
    let b = p[2] as u32 * a;
    let a2 = ((alpha + a) << 8) - alpha * a;
    p[3] = (a2 >> 8) as u8;
    let f = |cc: u8, d: u32| -> u8 {
        ((((((cc as u32) << 8) as i64 - d as i64) * alpha as i64) + ((d as i64) << 8)) / a2 as i64)
            as u8
    };
    p[0] = f(c[0], r);
    p[1] = f(c[1], g);
    p[2] = f(c[2], b);
}

/// Pixel coverage of an axis-aligned rectangle in AGG's scanline rasteriser
/// (24.8 fixed point, non-zero winding, clockwise after the y flip).
fn fill_rect_aa(ras: &mut Raster, x0: f64, y0: f64, x1: f64, y1: f64, color: [u8; 4]) {
    let (fx0, fx1) = (iround(x0 * 256.0), iround(x1 * 256.0));
    let (fy0, fy1) = (iround(y0 * 256.0), iround(y1 * 256.0));
    let (w, h) = (ras.width as i64, ras.height as i64);
    let py0 = (fy0 >> 8).max(0);
    let py1 = ((fy1 - 1) >> 8).min(h - 1);
    let px0 = (fx0 >> 8).max(0);
    let px1 = ((fx1 - 1) >> 8).min(w - 1);
    for py in py0..=py1 {
        let oy = (fy1.min((py + 1) * 256) - fy0.max(py * 256)).max(0);
        if oy == 0 {
            continue;
        }
        for px in px0..=px1 {
            let ox = (fx1.min((px + 1) * 256) - fx0.max(px * 256)).max(0);
            if ox == 0 {
                continue;
            }
            // |floor(-(ox*oy*2) / 512)| = ceil(ox*oy/256)
            let cover = ((ox * oy + 255) >> 8).min(255) as u32;
            if cover == 0 {
                continue;
            }
            let i = ((py * w + px) * 4) as usize;
            let p = &mut ras.rgba[i..i + 4];
            if cover == 255 && color[3] == 255 {
                p.copy_from_slice(&color);
            } else {
                blend_pix(p, color, cover);
            }
        }
    }
}

impl CaptumFigure {
    /// The 600 x 600 (by default) RGBA raster of the figure (steps 1-6 of the module docs).
    pub fn render_rgba(
        &self,
        map: &[f32],
        channels: usize,
        h: usize,
        w: usize,
    ) -> Result<Raster, CaptumFigureError> {
        let norm = captum_normalize(map, channels, h, w, self.outlier_percent)?;
        let g = self.geometry(h, w)?;
        let (wp, hp) = (g.width_px, g.height_px);
        let mut ras = Raster {
            width: wp,
            height: hp,
            rgba: vec![255u8; wp * hp * 4],
        };
        let colors: Vec<[u8; 4]> = norm.iter().map(|&n| blues(n)).collect();
        // draw_image: offset mpl_round(x0), H - (mpl_round(y0) + rows); clip to ax.bbox
        let dx = mpl_round(g.clipped_bbox[0]) as i64;
        let dy = (hp as f64 - (mpl_round(g.clipped_bbox[1]) + g.out_h as f64)) as i64;
        let ab = g.axes_bbox;
        let cx1 = (mpl_round(ab[0]) as i64).max(0);
        let cy1 = (mpl_round(hp as f64 - ab[1]) as i64).max(0);
        let cx2 = (mpl_round(ab[2]) as i64).min(wp as i64);
        let cy2 = (mpl_round(hp as f64 - ab[3]) as i64).min(hp as i64);
        let (clx0, clx1) = (cx1.min(cx2).max(0), cx1.max(cx2).min(wp as i64 - 1));
        let (cly0, cly1) = (cy1.min(cy2).max(0), cy1.max(cy2).min(hp as i64 - 1));
        for k in 0..g.out_h {
            let y = dy + k as i64;
            if y < cly0 || y > cly1 {
                continue;
            }
            let sr = g.row_map[g.out_h - 1 - k];
            for j in 0..g.out_w {
                let x = dx + j as i64;
                if x < clx0 || x > clx1 {
                    continue;
                }
                let c = colors[sr * w + g.col_map[j]];
                let i = ((y * wp as i64 + x) * 4) as usize;
                if c[3] == 255 {
                    ras.rgba[i..i + 4].copy_from_slice(&c);
                } else {
                    blend_pix(&mut ras.rgba[i..i + 4], c, 255);
                }
            }
        }
        // spines: left, right, bottom, top
        let td = &g.trans_data;
        let (outl, outb, outw, outh) = (ab[0], ab[1], ab[2] - ab[0], ab[3] - ab[1]);
        let hpf = hp as f64;
        let lw = self.spine_linewidth_pt * self.dpi / 72.0;
        let snap = if (mpl_round(lw) as i64) % 2 == 1 {
            0.5
        } else {
            0.0
        };
        let sn = |v: f64| (v + 0.5).floor() + snap;
        let hw_ = lw * 0.5;
        let (ylo_d, yhi_d) = (h as f64 - 0.5, -0.5f64); // viewLim.intervaly
        let (xlo_d, xhi_d) = (-0.5f64, w as f64 - 0.5);
        // y in AGG coordinates: (x*shy' + y*(-sy)) + (H - ty)
        let yrow = |yd: f64| (0.0 * -td[1][0] + yd * -td[1][1]) + (hpf - td[1][2]);
        let xrow = |xd: f64| (xd * td[0][0] + 0.0 * td[0][1]) + td[0][2];
        let black = [0u8, 0, 0, 255];
        for side in 0..4 {
            let (xa, ya, xb, yb) = match side {
                0 | 1 => {
                    let xax = if side == 0 { 0.0 } else { 1.0 };
                    let x = (xax * outw + 0.0 * ylo_d) + outl;
                    (x, yrow(ylo_d), x, yrow(yhi_d))
                }
                _ => {
                    let yax = if side == 2 { 0.0 } else { 1.0 };
                    let y = (0.0 * 0.0 + yax * -outh) + (hpf - outb);
                    (xrow(xlo_d), y, xrow(xhi_d), y)
                }
            };
            let (xa, ya, xb, yb) = (sn(xa), sn(ya), sn(xb), sn(yb));
            let (x0, x1, y0, y1) = if side < 2 {
                (xa - hw_, xa + hw_, ya.min(yb) - hw_, ya.max(yb) + hw_)
            } else {
                (xa.min(xb) - hw_, xa.max(xb) + hw_, ya - hw_, ya + hw_)
            };
            fill_rect_aa(&mut ras, x0, y0, x1, y1, black);
        }
        Ok(ras)
    }

    /// matplotlib + Pillow PNG bytes of a raster (step 7 of the module docs).
    pub fn encode_png(&self, raster: &Raster) -> Vec<u8> {
        let mut out = Vec::with_capacity(raster.rgba.len() / 8);
        out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(raster.width as u32).to_be_bytes());
        ihdr.extend_from_slice(&(raster.height as u32).to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        png_chunk(&mut out, b"IHDR", &ihdr);
        let text = format!(
            "Software\0Matplotlib version{}, https://matplotlib.org/",
            self.matplotlib_version
        );
        png_chunk(&mut out, b"tEXt", text.as_bytes());
        let ppm = (self.dpi / 0.0254 + 0.5) as u32;
        let mut phys = Vec::with_capacity(9);
        phys.extend_from_slice(&ppm.to_be_bytes());
        phys.extend_from_slice(&ppm.to_be_bytes());
        phys.push(1);
        png_chunk(&mut out, b"pHYs", &phys);
        let z = pillow_zip_encode(&raster.rgba, raster.width, raster.height);
        // ImageFile._save: bufsize = max(65536, width * 4); one IDAT per encoder call
        let bufsize = 65536.max(raster.width * 4);
        for part in z.chunks(bufsize) {
            png_chunk(&mut out, b"IDAT", part);
        }
        png_chunk(&mut out, b"IEND", &[]);
        out
    }

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

fn crc32(data: &[&[u8]]) -> u32 {
    let mut c = unsafe { libz_sys::crc32(0, std::ptr::null(), 0) };
    for d in data {
        c = unsafe { libz_sys::crc32(c, d.as_ptr(), d.len() as libz_sys::uInt) };
    }
    c as u32
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// Pillow `ImagingZipEncode` (ZIP_PNG, optimize off): adaptive filter per row and
/// a zlib stream (level 6, windowBits 15, memLevel 9, Z_FILTERED).
pub fn pillow_zip_encode(rgba: &[u8], width: usize, height: usize) -> Vec<u8> {
    let bytes = width * 4;
    let bpp = 4usize;
    let cost = |v: u8| -> i64 {
        if v < 128 {
            v as i64
        } else {
            256 - v as i64
        }
    };
    let mut prev = vec![0u8; bytes + 1];
    let mut cur = vec![0u8; bytes + 1];
    let mut up = vec![2u8; bytes + 1];
    let mut sub = vec![1u8; bytes + 1];
    let mut paeth = vec![4u8; bytes + 1];
    let mut z = Deflater::new();
    for y in 0..height {
        cur[0] = 0;
        cur[1..].copy_from_slice(&rgba[y * bytes..(y + 1) * bytes]);
        let mut sum: i64 = cur[1..].iter().map(|&v| cost(v)).sum();
        let mut choice = 0u8;
        if sum > 0 {
            let mut s = 0;
            for i in 1..=bytes {
                let v = cur[i].wrapping_sub(prev[i]);
                up[i] = v;
                s += cost(v);
            }
            if s < sum {
                choice = 2;
                sum = s;
            }
        }
        if sum > 0 {
            let mut s = 0;
            for i in 1..=bytes {
                let v = if i <= bpp {
                    cur[i]
                } else {
                    cur[i].wrapping_sub(cur[i - bpp])
                };
                sub[i] = v;
                s += cost(v);
            }
            if s < sum {
                choice = 1;
                sum = s;
            }
        }
        if sum > 0 {
            let mut s = 0;
            for i in 1..=bytes {
                let v = if i <= bpp {
                    cur[i].wrapping_sub(prev[i])
                } else {
                    let a = cur[i - bpp] as i32;
                    let b = prev[i] as i32;
                    let c = prev[i - bpp] as i32;
                    let pa = (b - c).abs();
                    let pb = (a - c).abs();
                    let pc = (a + b - 2 * c).abs();
                    let pred = if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    };
                    cur[i].wrapping_sub(pred as u8)
                };
                paeth[i] = v;
                s += cost(v);
            }
            if s < sum {
                choice = 4;
            }
        }
        let line: &[u8] = match choice {
            0 => &cur,
            1 => &sub,
            2 => &up,
            _ => &paeth,
        };
        z.feed(line);
        std::mem::swap(&mut prev, &mut cur);
    }
    z.finish()
}

/// Minimal safe wrapper over classic zlib's deflate (libz-sys).
struct Deflater {
    strm: Box<libz_sys::z_stream>,
    out: Vec<u8>,
}

impl Deflater {
    fn new() -> Self {
        // zlib needs zalloc/zfree; the Rust binding types them as non-null function
        // pointers, so supply calloc/free instead of Z_NULL.
        extern "C" {
            fn calloc(n: usize, size: usize) -> *mut std::ffi::c_void;
            fn free(p: *mut std::ffi::c_void);
        }
        extern "C" fn zalloc(
            _: libz_sys::voidpf,
            items: libz_sys::uInt,
            size: libz_sys::uInt,
        ) -> libz_sys::voidpf {
            unsafe { calloc(items as usize, size as usize) }
        }
        extern "C" fn zfree(_: libz_sys::voidpf, p: libz_sys::voidpf) {
            unsafe { free(p) }
        }
        let mut uninit = Box::new(std::mem::MaybeUninit::<libz_sys::z_stream>::zeroed());
        let mut strm: Box<libz_sys::z_stream> = unsafe {
            let p = uninit.as_mut_ptr();
            std::ptr::addr_of_mut!((*p).zalloc).write(zalloc);
            std::ptr::addr_of_mut!((*p).zfree).write(zfree);
            Box::from_raw(Box::into_raw(uninit) as *mut libz_sys::z_stream)
        };
        let ret = unsafe {
            libz_sys::deflateInit2_(
                &mut *strm,
                -1, // Z_DEFAULT_COMPRESSION (= 6)
                libz_sys::Z_DEFLATED,
                15,
                9,
                libz_sys::Z_FILTERED,
                libz_sys::zlibVersion(),
                std::mem::size_of::<libz_sys::z_stream>() as i32,
            )
        };
        assert_eq!(ret, libz_sys::Z_OK, "deflateInit2 failed");
        Deflater {
            strm,
            out: Vec::new(),
        }
    }

    fn run(&mut self, input: &[u8], flush: i32) {
        self.strm.next_in = input.as_ptr() as *mut u8;
        self.strm.avail_in = input.len() as libz_sys::uInt;
        let mut buf = [0u8; 65536];
        loop {
            self.strm.next_out = buf.as_mut_ptr();
            self.strm.avail_out = buf.len() as libz_sys::uInt;
            let ret = unsafe { libz_sys::deflate(&mut *self.strm, flush) };
            assert!(
                ret >= 0 || ret == libz_sys::Z_BUF_ERROR,
                "deflate failed: {ret}"
            );
            let n = buf.len() - self.strm.avail_out as usize;
            self.out.extend_from_slice(&buf[..n]);
            if flush == libz_sys::Z_FINISH {
                if ret == libz_sys::Z_STREAM_END {
                    break;
                }
            } else if self.strm.avail_in == 0 && self.strm.avail_out != 0 {
                break;
            }
        }
    }

    fn feed(&mut self, input: &[u8]) {
        self.run(input, libz_sys::Z_NO_FLUSH);
    }

    fn finish(mut self) -> Vec<u8> {
        self.run(&[], libz_sys::Z_FINISH);
        std::mem::take(&mut self.out)
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        unsafe {
            libz_sys::deflateEnd(&mut *self.strm);
        }
    }
}

#[cfg(test)]
mod tests {
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
