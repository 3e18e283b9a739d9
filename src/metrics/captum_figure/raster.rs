//! Steps 5-6 of the module docs: compositing the resampled image onto the canvas and
//! drawing the four spines with AGG's coverage and blender.

use super::colour::{blues, captum_normalize};
use super::geometry::{iround, mpl_round};
use super::{CaptumFigure, CaptumFigureError, Raster};

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
}
