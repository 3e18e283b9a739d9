//! Steps 3-4 of the module docs: the figure layout (`GridSpec`, `Axes.apply_aspect`),
//! `transData`, `_make_image`'s transform and the nearest-neighbour index maps, every
//! float operation in matplotlib's order.

use super::{CaptumFigure, CaptumFigureError};

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
pub(super) fn mpl_round(v: f64) -> f64 {
    (v + 0.5).floor()
}

/// AGG `iround`.
pub(super) fn iround(v: f64) -> i64 {
    if v < 0.0 {
        (v - 0.5) as i64
    } else {
        (v + 0.5) as i64
    }
}

/// Geometry of one figure, every value computed in matplotlib's operation order.
#[derive(Clone, Debug)]
pub struct FigureGeometry {
    /// Canvas width in pixels.
    pub width_px: usize,
    /// Canvas height in pixels.
    pub height_px: usize,
    /// `ax.bbox` after `apply_aspect` (display coordinates, y up): x0, y0, x1, y1.
    pub axes_bbox: [f64; 4],
    /// `transData` matrix.
    pub trans_data: M3,
    /// Final image transform `t` of `_make_image` (data index -> output array).
    pub image_t: M3,
    /// Clipped output bbox (x0, y0, x1, y1).
    pub clipped_bbox: [f64; 4],
    /// Resampled block width in pixels.
    pub out_w: usize,
    /// Resampled block height in pixels.
    pub out_h: usize,
    /// For each output column, the source column.
    pub col_map: Vec<usize>,
    /// For each output *array* row (bottom-up, as `_image.resample` writes it), the source
    /// row.
    pub row_map: Vec<usize>,
}

/// `viewLim` of the image extent `(-0.5, W-0.5, H-0.5, -0.5)`: x from `xlo` to `xhi`,
/// y from `yhi` (bottom) to `ylo` (top, y inverted).
#[derive(Clone, Copy)]
struct ViewLim {
    xlo: f64,
    xhi: f64,
    ylo: f64,
    yhi: f64,
}

impl ViewLim {
    /// The limits `imshow` sets for an `h x w` image.
    fn of_image(h: usize, w: usize) -> Self {
        let (xlo, xhi) = (-0.5f64, w as f64 - 0.5);
        let (ylo, yhi) = (-0.5f64, h as f64 - 0.5);
        ViewLim { xlo, xhi, ylo, yhi }
    }

    /// `apply_aspect`'s box aspect for aspect 1 ('equal'): data height over width.
    fn box_aspect(&self) -> f64 {
        let xsize = (self.xhi - self.xlo).abs().max(1e-30);
        let ysize = (self.yhi - self.ylo).abs().max(1e-30);
        1.0 * (ysize / xsize)
    }
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
        let lim = ViewLim::of_image(h, w);
        let pos = self.subplot_position();
        // apply_aspect, adjustable='box', aspect=1 ('equal').
        let fig_aspect = fig_h / fig_w; // Bbox.unit() through transSubfigure
        let shr = shrunk_to_aspect(&pos, lim.box_aspect(), fig_aspect);
        let act = anchored_centre(&shr, &pos);
        let ab = axes_bbox(&act, fig_w, fig_h);
        let trans_data = trans_data(&ab, &lim);
        let clipped_bbox = clip_extent(&trans_data, &ab, &lim)?;
        let (t, out_w, out_h) = image_transform(&trans_data, &lim, h, w, &clipped_bbox);
        check_magnification(&t, h, w)?;
        let (col_map, row_map) = nn_maps(&t, w, h, out_w, out_h);
        Ok(FigureGeometry {
            width_px: wp,
            height_px: hp,
            axes_bbox: ab,
            trans_data,
            image_t: t,
            clipped_bbox,
            out_w,
            out_h,
            col_map,
            row_map,
        })
    }

    /// `GridSpec.get_grid_positions` (nrows = ncols = 1): the subplot box in figure
    /// fractions, (left, bottom, right, top).
    fn subplot_position(&self) -> [f64; 4] {
        let (left, right, bottom, top) = self.subplot_lrbt;
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
        [fig_left, fig_bottom, fig_right, fig_top]
    }
}

/// `Bbox.shrunk_to_aspect(box_aspect, pos, fig_aspect)`: x0, y0, x1, y1.
fn shrunk_to_aspect(pos: &[f64; 4], box_aspect: f64, fig_aspect: f64) -> [f64; 4] {
    let (cw, ch) = (pos[2] - pos[0], pos[3] - pos[1]);
    let mut hh = cw * box_aspect / fig_aspect;
    let ww;
    if hh <= ch {
        ww = cw;
    } else {
        ww = ch * fig_aspect / box_aspect;
        hh = ch;
    }
    [pos[0], pos[1], pos[0] + ww, pos[1] + hh]
}

/// `shr.anchored('C', pos)`: the shrunk box centred in the subplot box.
fn anchored_centre(shr: &[f64; 4], pos: &[f64; 4]) -> [f64; 4] {
    let (l, b, cwid, chei) = (pos[0], pos[1], pos[2] - pos[0], pos[3] - pos[1]);
    let (ll, bb, w2, h2) = (shr[0], shr[1], shr[2] - shr[0], shr[3] - shr[1]);
    let dx = (l + 0.5 * (cwid - w2)) - ll;
    let dy = (b + 0.5 * (chei - h2)) - bb;
    [shr[0] + dx, shr[1] + dy, shr[2] + dx, shr[3] + dy]
}

/// `ax.bbox` in display pixels from the active position in figure fractions.
fn axes_bbox(act: &[f64; 4], fig_w: f64, fig_h: f64) -> [f64; 4] {
    // ax.bbox = TransformedBbox(position, BboxTransformTo(fig.bbox)) (fig.bbox at 0,0)
    [
        fig_w * act[0] + 0.0 * act[1] + 0.0,
        fig_h * act[1] + 0.0 * act[0] + 0.0,
        fig_w * act[2] + 0.0 * act[3] + 0.0,
        fig_h * act[3] + 0.0 * act[2] + 0.0,
    ]
}

/// `transData` = `transLimits` then `transAxes` (then the identity `transScale`).
fn trans_data(ab: &[f64; 4], lim: &ViewLim) -> M3 {
    // transAxes = BboxTransformTo(ax.bbox)
    let (outl, outb, outw, outh) = (ab[0], ab[1], ab[2] - ab[0], ab[3] - ab[1]);
    let to: M3 = [[outw, 0.0, outl], [0.0, outh, outb], [0.0, 0.0, 1.0]];
    // transLimits = BboxTransformFrom(viewLim); viewLim = [[-0.5, h-0.5], [w-0.5, -0.5]]
    let (inl, inb, inw, inh) = (lim.xlo, lim.yhi, lim.xhi - lim.xlo, lim.ylo - lim.yhi);
    let xs = 1.0 / inw;
    let ys = 1.0 / inh;
    let from: M3 = [[xs, 0.0, -inl * xs], [0.0, ys, -inb * ys], [0.0, 0.0, 1.0]];
    let ident: M3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    mmul(&mmul(&to, &from), &ident)
}

/// The image extent through `transData`, clipped to `ax.bbox`: x0, y0, x1, y1.
fn clip_extent(
    trans_data: &M3,
    ab: &[f64; 4],
    lim: &ViewLim,
) -> Result<[f64; 4], CaptumFigureError> {
    // out_bbox = extent through transData; clip = ax.bbox
    let tx = |x: f64, y: f64| trans_data[0][0] * x + trans_data[0][1] * y + trans_data[0][2];
    let ty = |x: f64, y: f64| trans_data[1][0] * x + trans_data[1][1] * y + trans_data[1][2];
    let e = [(lim.xlo, lim.yhi), (lim.xhi, lim.ylo)];
    let ox = [tx(e[0].0, e[0].1), tx(e[1].0, e[1].1)];
    let oy = [ty(e[0].0, e[0].1), ty(e[1].0, e[1].1)];
    let cx0 = ox[0].min(ox[1]).max(ab[0].min(ab[2]));
    let cx1 = ox[0].max(ox[1]).min(ab[0].max(ab[2]));
    let cy0 = oy[0].min(oy[1]).max(ab[1].min(ab[3]));
    let cy1 = oy[0].max(oy[1]).min(ab[1].max(ab[3]));
    if !(cx0 <= cx1 && cy0 <= cy1) {
        return Err(CaptumFigureError::Unsupported("image outside axes".into()));
    }
    Ok([cx0, cy0, cx1, cy1])
}

/// `_make_image`'s transform `t` (data index -> output array) and the resampled block
/// size, stretched to whole pixels when the clipped box is fractional.
fn image_transform(
    trans_data: &M3,
    lim: &ViewLim,
    h: usize,
    w: usize,
    clipped: &[f64; 4],
) -> (M3, usize, usize) {
    let [cx0, cy0, cx1, cy1] = *clipped;
    let (xlo, xhi, ylo, yhi) = (lim.xlo, lim.xhi, lim.ylo, lim.yhi);
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
    let t0 = mmul(&mmul(trans_data, &aext), &flip);
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
    (t, out_w as usize, out_h as usize)
}

/// Rejects magnification below 3x, where matplotlib resamples at the RGBA stage.
fn check_magnification(t: &M3, h: usize, w: usize) -> Result<(), CaptumFigureError> {
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
    Ok(())
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
