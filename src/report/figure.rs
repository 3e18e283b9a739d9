//! Figure 1: the input patch and its heatmaps in a grid of three columns, each panel titled
//! with the method and its Max-Sensitivity, with a shared colour bar, as one PNG.
//!
//! * Heatmaps are the 8-bit maps of the XAI-entropy pipeline
//!   ([`crate::metrics::entropy::heatmaps_u8`]): |sum over channels|, Grad-CAM upsampled
//!   nearest-neighbour, divided by the value at 98 % of the cumulative mass (Captum's
//!   `visualize_image_attr` scaling) and clipped to [0, 1]. So the figure shows exactly the
//!   image whose PNG size is the method's XAI entropy, coloured with the perceptually uniform
//!   **inferno** colormap (the `colorous` crate; 0 is black): one colour bar serves every
//!   heatmap.
//! * The input patch is shown in grey, stretched between its 1st and 99th percentiles.
//! * Panels are enlarged by an integer factor (nearest neighbour, about 300 pixels wide).
//! * Text is the public-domain 8x8 bitmap font of the `font8x8` crate drawn at twice its size.

use serde::{Deserialize, Serialize};

use super::ReportError;
use crate::train::plot::{Canvas, Rgb, BLACK, WHITE};

/// Text scale: 16 x 16 pixels per character.
pub const TEXT_SCALE: usize = 2;
const CHAR: usize = 8 * TEXT_SCALE;
const LINE: usize = CHAR + 6;
const MARGIN: usize = 24;
const GAP: usize = 28;
const BAR_WIDTH: usize = 28;
const BORDER: Rgb = [90, 90, 90];
const TEXT: Rgb = [20, 20, 20];
const COLUMNS: usize = 3;

/// One heatmap panel.
#[derive(Debug, Clone, PartialEq)]
pub struct FigurePanel {
    /// First title line (the method).
    pub title: String,
    /// Second title line (e.g. `MS = 0.0742`).
    pub subtitle: String,
    /// `size * size` values, 0 to 255 (0 = no attribution, 255 = at or above the scale).
    pub map: Vec<u8>,
}

/// Everything Figure 1 shows.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureInput {
    /// Lines above the grid.
    pub heading: Vec<String>,
    /// The input panel's two title lines.
    pub input_title: String,
    pub input_subtitle: String,
    /// The input patch, `size * size` values (any range).
    pub image: Vec<f32>,
    pub size: usize,
    pub panels: Vec<FigurePanel>,
    /// Colour bar label (above the bar).
    pub bar_label: String,
    /// Lines below the grid.
    pub caption: Vec<String>,
}

/// A rectangle of the figure, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

/// A rendered figure with its layout.
#[derive(Debug, Clone)]
pub struct Figure {
    pub png: Vec<u8>,
    pub width: usize,
    pub height: usize,
    /// The input panel first, then the heatmaps in the order given.
    pub panels: Vec<Rect>,
    pub colorbar: Rect,
}

/// Width in pixels of `text` in the figure's font.
pub fn text_width(text: &str) -> usize {
    text.chars().count() * CHAR
}

/// Draws `text` with the font8x8 glyphs at [`TEXT_SCALE`], top-left at `(x, y)`; characters
/// without a glyph are drawn as `?`.
pub fn draw_text(c: &mut Canvas, x: usize, y: usize, text: &str, colour: Rgb) {
    use font8x8::UnicodeFonts;
    for (k, ch) in text.chars().enumerate() {
        let glyph = font8x8::BASIC_FONTS
            .get(ch)
            .or_else(|| font8x8::LATIN_FONTS.get(ch))
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
            .unwrap_or([0; 8]);
        let x0 = x + k * CHAR;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    c.fill_rect(
                        (x0 + col * TEXT_SCALE) as i64,
                        (y + row * TEXT_SCALE) as i64,
                        TEXT_SCALE,
                        TEXT_SCALE,
                        colour,
                    );
                }
            }
        }
    }
}

/// Splits `text` into lines of at most `max` pixels at word boundaries.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let per_line = (max / CHAR).max(8);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > per_line {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// The inferno colour of an 8-bit value.
pub fn inferno(v: u8) -> Rgb {
    let c = colorous::INFERNO.eval_continuous(v as f64 / 255.0);
    [c.r, c.g, c.b]
}

/// The 1st and 99th percentiles of `v` (finite values), for the grey stretch.
fn stretch(v: &[f32]) -> (f32, f32) {
    let mut s: Vec<f32> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return (0.0, 1.0);
    }
    s.sort_by(f32::total_cmp);
    let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    let (lo, hi) = (at(0.01), at(0.99));
    if hi > lo {
        (lo, hi)
    } else {
        (s[0], s[s.len() - 1].max(s[0] + f32::EPSILON))
    }
}

/// Renders Figure 1 (see the module docs).
pub fn render_figure1(input: &FigureInput) -> Result<Figure, ReportError> {
    let n = input.size;
    if n == 0 || input.image.len() != n * n {
        return Err(ReportError::Config(format!(
            "figure: the input patch has {} values, expected {n} x {n}",
            input.image.len()
        )));
    }
    if let Some(p) = input.panels.iter().find(|p| p.map.len() != n * n) {
        return Err(ReportError::Config(format!(
            "figure: the heatmap of {} has {} values, expected {n} x {n}",
            p.title,
            p.map.len()
        )));
    }
    let zoom = (300 / n).max(1);
    let side = n * zoom;
    let titles = std::iter::once((&input.input_title, &input.input_subtitle))
        .chain(input.panels.iter().map(|p| (&p.title, &p.subtitle)));
    let cell_w = titles
        .map(|(a, b)| text_width(a).max(text_width(b)))
        .max()
        .unwrap_or(0)
        .max(side);
    let cells = 1 + input.panels.len();
    let rows = cells.div_ceil(COLUMNS);
    let cols = cells.min(COLUMNS);
    let cell_h = 2 * LINE + 6 + side;
    let grid_w = cols * cell_w + (cols - 1) * GAP;
    let ticks = ["1.0", "0.75", "0.5", "0.25", "0"];
    let bar_block = GAP + BAR_WIDTH + 8 + text_width("0.75");
    let bar_label_w = text_width(&input.bar_label);
    let width = MARGIN + grid_w + bar_block.max(GAP + bar_label_w) + MARGIN;
    let text_w = width - 2 * MARGIN;
    let heading: Vec<String> = input.heading.iter().flat_map(|l| wrap(l, text_w)).collect();
    let caption: Vec<String> = input.caption.iter().flat_map(|l| wrap(l, text_w)).collect();
    let grid_y = MARGIN + heading.len() * LINE + if heading.is_empty() { 0 } else { 12 };
    let grid_h = rows * cell_h + (rows - 1) * GAP;
    let caption_y = grid_y + grid_h + 16;
    let height = caption_y + caption.len() * LINE + MARGIN;

    let mut c = Canvas::new(width, height, WHITE);
    for (i, line) in heading.iter().enumerate() {
        draw_text(&mut c, MARGIN, MARGIN + i * LINE, line, BLACK);
    }
    let mut panels = Vec::with_capacity(cells);
    let (lo, hi) = stretch(&input.image);
    for k in 0..cells {
        let (row, col) = (k / COLUMNS, k % COLUMNS);
        let x0 = MARGIN + col * (cell_w + GAP);
        let y0 = grid_y + row * (cell_h + GAP);
        let (title, subtitle) = if k == 0 {
            (&input.input_title, &input.input_subtitle)
        } else {
            (&input.panels[k - 1].title, &input.panels[k - 1].subtitle)
        };
        let centre = |w: usize| x0 + (cell_w - w) / 2;
        draw_text(&mut c, centre(text_width(title)), y0, title, TEXT);
        draw_text(
            &mut c,
            centre(text_width(subtitle)),
            y0 + LINE,
            subtitle,
            TEXT,
        );
        let px = centre(side);
        let py = y0 + 2 * LINE + 6;
        for yy in 0..n {
            for xx in 0..n {
                let colour = if k == 0 {
                    let v = ((input.image[yy * n + xx] - lo) / (hi - lo)).clamp(0.0, 1.0);
                    let g = (v * 255.0).round() as u8;
                    [g, g, g]
                } else {
                    inferno(input.panels[k - 1].map[yy * n + xx])
                };
                c.fill_rect(
                    (px + xx * zoom) as i64,
                    (py + yy * zoom) as i64,
                    zoom,
                    zoom,
                    colour,
                );
            }
        }
        c.rect(px as i64 - 1, py as i64 - 1, side + 2, side + 2, BORDER);
        panels.push(Rect {
            x: px,
            y: py,
            w: side,
            h: side,
        });
    }
    // Colour bar: beside the grid, as tall as the panels of the first row to the last.
    let bx = MARGIN + grid_w + GAP;
    let by = grid_y + 2 * LINE + 6 + LINE;
    let bh = (grid_y + grid_h).saturating_sub(by).max(side);
    draw_text(&mut c, bx, grid_y + LINE, &input.bar_label, TEXT);
    for yy in 0..bh {
        let v = (255.0 * (1.0 - yy as f64 / (bh - 1).max(1) as f64)).round() as u8;
        c.fill_rect(bx as i64, (by + yy) as i64, BAR_WIDTH, 1, inferno(v));
    }
    c.rect(bx as i64 - 1, by as i64 - 1, BAR_WIDTH + 2, bh + 2, BORDER);
    for (i, t) in ticks.iter().enumerate() {
        let ty = by + i * (bh - 1) / (ticks.len() - 1);
        c.fill_rect((bx + BAR_WIDTH) as i64, ty as i64, 6, 2, BORDER);
        let label_y = ty.saturating_sub(CHAR / 2).min(by + bh - CHAR);
        draw_text(&mut c, bx + BAR_WIDTH + 10, label_y, t, TEXT);
    }
    for (i, line) in caption.iter().enumerate() {
        draw_text(&mut c, MARGIN, caption_y + i * LINE, line, TEXT);
    }
    let png = c
        .to_png()
        .map_err(|e| ReportError::io("figure (in memory)", e))?;
    Ok(Figure {
        png,
        width,
        height,
        panels,
        colorbar: Rect {
            x: bx,
            y: by,
            w: BAR_WIDTH,
            h: bh,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_words_whole() {
        let lines = wrap("one two three four five six seven", 16 * 10);
        assert!(lines.iter().all(|l| l.chars().count() <= 10), "{lines:?}");
        assert_eq!(lines.join(" "), "one two three four five six seven");
    }

    #[test]
    fn inferno_runs_from_black_to_light_yellow() {
        let (a, b) = (inferno(0), inferno(255));
        assert!(a.iter().all(|&v| v < 10), "{a:?}");
        assert!(b[0] > 240 && b[1] > 240, "{b:?}");
    }
}
