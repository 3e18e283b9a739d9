//! A tiny RGB raster canvas with a built-in 5x7 bitmap font, lines and rectangles, written
//! as PNG with the `png` crate: enough for training curves and confusion matrices without a
//! plotting library or system fonts. Text is drawn in upper case.

use std::io;
use std::path::Path;

use crate::io::write_atomic_with;

/// An RGB colour.
pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];
pub const GREY: Rgb = [200, 200, 200];
pub const DARK_GREY: Rgb = [90, 90, 90];
/// Matplotlib's tab10 blue, orange, green and red.
pub const BLUE: Rgb = [31, 119, 180];
pub const ORANGE: Rgb = [255, 127, 14];
pub const GREEN: Rgb = [44, 160, 44];
#[cfg(test)]
pub const RED: Rgb = [214, 39, 40];

/// A canvas of `width` x `height` RGB pixels, origin at the top left.
#[derive(Debug, Clone)]
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// Glyph rows (5 bits each, most significant bit on the left) of the supported characters.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '/' => [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        ' ' => [0; 7],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
    }
}

/// Width in pixels of `text` drawn at `scale` (6 pixels per character at scale 1).
pub fn text_width(text: &str, scale: usize) -> usize {
    (text.chars().count() * 6).saturating_sub(1) * scale
}

/// Height in pixels of a line of text at `scale`.
pub fn text_height(scale: usize) -> usize {
    7 * scale
}

impl Canvas {
    /// A canvas filled with `background`.
    pub fn new(width: usize, height: usize, background: Rgb) -> Canvas {
        let mut pixels = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            pixels.extend_from_slice(&background);
        }
        Canvas {
            width,
            height,
            pixels,
        }
    }

    /// Sets one pixel (ignored outside the canvas).
    pub fn put(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Fills the rectangle `[x, x + w) x [y, y + h)`.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: usize, h: usize, c: Rgb) {
        for yy in y..y + h as i64 {
            for xx in x..x + w as i64 {
                self.put(xx, yy, c);
            }
        }
    }

    /// Outlines the rectangle `[x, x + w) x [y, y + h)`.
    pub fn rect(&mut self, x: i64, y: i64, w: usize, h: usize, c: Rgb) {
        let (w, h) = (w as i64, h as i64);
        self.line(x, y, x + w - 1, y, c);
        self.line(x, y + h - 1, x + w - 1, y + h - 1, c);
        self.line(x, y, x, y + h - 1, c);
        self.line(x + w - 1, y, x + w - 1, y + h - 1, c);
    }

    /// A one-pixel line (Bresenham).
    pub fn line(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.put(x, y, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// A line `width` pixels thick (square pen).
    pub fn thick_line(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, width: i64, c: Rgb) {
        let r = width / 2;
        for ox in -r..=(width - 1 - r) {
            for oy in -r..=(width - 1 - r) {
                self.line(x0 + ox, y0 + oy, x1 + ox, y1 + oy, c);
            }
        }
    }

    /// Draws `text` with its top-left corner at `(x, y)`.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: usize, c: Rgb) {
        let s = scale as i64;
        for (k, ch) in text.chars().enumerate() {
            let g = glyph(ch);
            let x0 = x + k as i64 * 6 * s;
            for (row, bits) in g.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        for dy in 0..s {
                            for dx in 0..s {
                                self.put(x0 + col * s + dx, y + row as i64 * s + dy, c);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Draws `text` rotated 90 degrees counter-clockwise (reading bottom to top), its
    /// bounding box's top-left corner at `(x, y)`.
    pub fn text_vertical(&mut self, x: i64, y: i64, text: &str, scale: usize, c: Rgb) {
        let w = text_width(text, scale);
        let h = text_height(scale);
        let mut tmp = Canvas::new(w, h, [1, 2, 3]);
        tmp.text(0, 0, text, scale, c);
        for ty in 0..h {
            for tx in 0..w {
                let i = (ty * w + tx) * 3;
                let px = [tmp.pixels[i], tmp.pixels[i + 1], tmp.pixels[i + 2]];
                if px != [1, 2, 3] {
                    self.put(x + ty as i64, y + (w - 1 - tx) as i64, px);
                }
            }
        }
    }

    /// The PNG encoding (8-bit RGB, default compression).
    pub fn to_png(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().map_err(io::Error::other)?;
            w.write_image_data(&self.pixels).map_err(io::Error::other)?;
            w.finish().map_err(io::Error::other)?;
        }
        Ok(out)
    }

    /// Writes the PNG atomically.
    pub fn save_png(&self, path: &Path) -> io::Result<()> {
        let bytes = self.to_png()?;
        write_atomic_with(path, |w| w.write_all(&bytes))
    }
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `n` ticks over `span`.
pub fn nice_step(span: f64, n: usize) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / n.max(1) as f64;
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let k = if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    };
    k * p
}

/// Formats a tick value compactly.
pub fn tick_label(v: f64, step: f64) -> String {
    if step >= 1.0 || v == 0.0 {
        format!("{}", v.round() as i64)
    } else if v.abs() < 1e-3 {
        format!("{v:.0E}")
    } else {
        let decimals = (-step.log10().floor()) as usize;
        format!("{v:.decimals$}")
    }
}

/// One series of a line chart.
pub struct Series<'a> {
    pub label: &'a str,
    pub color: Rgb,
    /// `(x, y)` points; non-finite y values are skipped.
    pub points: Vec<(f64, f64)>,
}

/// Draws a line chart with axes, ticks, a title and a legend inside the box
/// `[x0, x0 + w) x [y0, y0 + h)`; `y_range` fixes the y axis (else fitted to the data).
#[allow(clippy::too_many_arguments)]
pub fn line_chart(
    c: &mut Canvas,
    x0: i64,
    y0: i64,
    w: usize,
    h: usize,
    title: &str,
    series: &[Series],
    y_range: Option<(f64, f64)>,
) {
    let pts = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| p.0.is_finite() && p.1.is_finite())
    };
    let (mut xmin, mut xmax) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.0), b.max(p.0))
    });
    let (mut ymin, mut ymax) = match y_range {
        Some(r) => r,
        None => pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        }),
    };
    if !xmin.is_finite() {
        (xmin, xmax) = (0.0, 1.0);
    }
    if !ymin.is_finite() {
        (ymin, ymax) = (0.0, 1.0);
    }
    if xmax <= xmin {
        xmax = xmin + 1.0;
    }
    if ymax <= ymin {
        let pad = if ymin == 0.0 { 1.0 } else { ymin.abs() * 0.1 };
        ymin -= pad;
        ymax += pad;
    }
    if y_range.is_none() {
        let pad = (ymax - ymin) * 0.05;
        ymin = if ymin >= 0.0 {
            (ymin - pad).max(0.0)
        } else {
            ymin - pad
        };
        ymax += pad;
    }
    // Plot area inside the box: room for tick labels on the left and below, title above.
    let (left, right, top, bottom) = (52i64, 10i64, 22i64, 30i64);
    let (px, py) = (x0 + left, y0 + top);
    let (pw, ph) = (
        (w as i64 - left - right).max(10),
        (h as i64 - top - bottom).max(10),
    );
    c.text(x0 + left, y0 + 4, title, 2, BLACK);
    let map_x = |x: f64| px + ((x - xmin) / (xmax - xmin) * (pw - 1) as f64).round() as i64;
    let map_y =
        |y: f64| py + ph - 1 - ((y - ymin) / (ymax - ymin) * (ph - 1) as f64).round() as i64;
    // Grid and ticks.
    let ystep = nice_step(ymax - ymin, 5);
    let mut v = (ymin / ystep).ceil() * ystep;
    while v <= ymax + 1e-9 * ystep {
        let yy = map_y(v);
        c.line(px, yy, px + pw - 1, yy, GREY);
        let label = tick_label(v, ystep);
        c.text(
            px - 4 - text_width(&label, 1) as i64,
            yy - 3,
            &label,
            1,
            BLACK,
        );
        v += ystep;
    }
    let xstep = nice_step(xmax - xmin, 6).max(1.0);
    let mut v = (xmin / xstep).ceil() * xstep;
    while v <= xmax + 1e-9 {
        let xx = map_x(v);
        c.line(xx, py, xx, py + ph - 1, GREY);
        let label = tick_label(v, xstep);
        c.text(
            xx - text_width(&label, 1) as i64 / 2,
            py + ph + 5,
            &label,
            1,
            BLACK,
        );
        v += xstep;
    }
    c.text(px + pw / 2 - 15, py + ph + 17, "EPOCH", 1, DARK_GREY);
    c.rect(px, py, pw as usize, ph as usize, BLACK);
    for s in series {
        let mut prev: Option<(i64, i64)> = None;
        for &(x, y) in &s.points {
            if !(x.is_finite() && y.is_finite()) {
                prev = None;
                continue;
            }
            let p = (map_x(x), map_y(y.clamp(ymin, ymax)));
            if let Some(q) = prev {
                c.thick_line(q.0, q.1, p.0, p.1, 2, s.color);
            }
            c.fill_rect(p.0 - 2, p.1 - 2, 5, 5, s.color);
            prev = Some(p);
        }
    }
    // Legend, top right inside the plot.
    let mut ly = py + 6;
    for s in series.iter().filter(|s| !s.label.is_empty()) {
        let tw = text_width(s.label, 1) as i64;
        let lx = px + pw - tw - 26;
        c.fill_rect(lx - 4, ly - 3, (tw + 28) as usize, 13, WHITE);
        c.thick_line(lx, ly + 3, lx + 14, ly + 3, 2, s.color);
        c.text(lx + 18, ly, s.label, 1, BLACK);
        ly += 14;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canvas_draws_and_encodes_a_png() {
        let mut c = Canvas::new(40, 20, WHITE);
        c.text(1, 1, "AB 1.5%", 1, BLACK);
        c.line(0, 19, 39, 0, RED);
        c.text_vertical(30, 0, "XY", 1, BLUE);
        let png = c.to_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let dark = c.pixels.chunks(3).filter(|p| *p == BLACK).count();
        assert!(dark > 20);
        assert_eq!(text_width("AB", 1), 11);
    }

    #[test]
    fn nice_steps_and_labels() {
        assert_eq!(nice_step(10.0, 5), 2.0);
        assert_eq!(nice_step(1.0, 5), 0.2);
        assert_eq!(nice_step(0.07, 5), 0.01);
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(40.0, 20.0), "40");
    }

    #[test]
    fn chart_handles_empty_and_constant_series() {
        let mut c = Canvas::new(300, 200, WHITE);
        line_chart(&mut c, 0, 0, 300, 200, "LOSS", &[], None);
        let s = Series {
            label: "TRAIN",
            color: BLUE,
            points: vec![(1.0, 2.0), (2.0, 2.0), (3.0, f64::NAN)],
        };
        line_chart(&mut c, 0, 0, 300, 200, "LOSS", &[s], None);
        assert!(c.pixels.chunks(3).any(|p| p == BLUE));
    }
}
