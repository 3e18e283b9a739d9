//! Figure 1: the input patch and its heatmaps in a grid of three columns, each panel titled
//! with the method and its Max-Sensitivity, with a labelled colour bar, as one PNG.
//!
//! * Heatmaps are drawn the way the XAI-entropy images are
//!   ([`crate::metrics::captum_figure`], Captum's `visualize_image_attr` heat map): the 8-bit
//!   maps of [`crate::metrics::entropy::heatmaps_u8`] (|sum over channels| at the input size,
//!   Grad-CAM upsampled as the entropy measure does, bilinear by default, divided by the
//!   value at 98 % of the cumulative mass: Captum's normalisation, clipped to [0, 1]),
//!   coloured with matplotlib's **Blues** table [`BLUES_LUT_U8`] (entry `trunc(v * 256)`,
//!   255 at 1, as `Colormap.__call__`; 0 is near-white, 1 dark blue), magnified by nearest
//!   neighbour (matplotlib's choice at 3x and more) and framed in black like the figure's
//!   spines. One colour bar, ticked 0 to 1, serves every heatmap.
//! * The input patch is shown in grey, stretched between its 1st and 99th percentiles.
//! * Panels are enlarged by an integer factor (about 300 pixels wide).
//! * Text is DejaVu Sans, embedded and rasterised anti-aliased (`super::font`).

use serde::{Deserialize, Serialize};

use super::font;
use super::ScoreError;
use crate::metrics::captum_figure::BLUES_LUT_U8;
use crate::train::plot::{Canvas, Rgb, BLACK, WHITE};

/// Heading text size, pixels per em.
pub const HEADING_PX: f32 = 19.0;
/// Panel title size.
pub const TITLE_PX: f32 = 20.0;
/// Panel subtitle size.
pub const SUBTITLE_PX: f32 = 16.0;
/// Caption, tick label and colour-bar label size.
pub const SMALL_PX: f32 = 15.0;
const MARGIN: usize = 24;
const GAP: usize = 28;
const BAR_WIDTH: usize = 24;
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
    /// The input panel's first title line.
    pub input_title: String,
    /// The input panel's second title line.
    pub input_subtitle: String,
    /// The input patch, `size * size` values (any range).
    pub image: Vec<f32>,
    /// Side of the patch in pixels.
    pub size: usize,
    /// The heatmaps, in grid order.
    pub panels: Vec<FigurePanel>,
    /// Colour bar label (above the bar).
    pub bar_label: String,
    /// Lines below the grid.
    pub caption: Vec<String>,
}

/// A rectangle of the figure, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: usize,
    /// Top edge.
    pub y: usize,
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
}

/// A rendered figure with its layout.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The input panel first, then the heatmaps in the order given.
    pub panels: Vec<Rect>,
    /// The colour bar.
    pub colorbar: Rect,
}

/// Width in whole pixels of `text` at `px`.
pub fn text_width(text: &str, px: f32) -> usize {
    font::text_width(text, px).ceil() as usize
}

/// Draws `text` at `px` with the line's top-left at `(x, y)`.
pub fn draw_text(c: &mut Canvas, x: usize, y: usize, text: &str, px: f32, colour: Rgb) {
    font::draw_text(c, x as i64, y as i64, text, px, colour);
}

/// Splits `text` into lines of at most `max` pixels at `px`, at word boundaries.
pub fn wrap(text: &str, px: f32, max: usize) -> Vec<String> {
    font::wrap(text, px, max as f32)
}

/// The Blues colour of an 8-bit map value `u` (= round(255 v)): matplotlib's entry
/// `trunc(v * 256)`, 255 for v = 1.
pub fn blues(u: u8) -> Rgb {
    let i = (u as usize * 256 / 255).min(255);
    let c = BLUES_LUT_U8[i];
    [c[0], c[1], c[2]]
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

/// Renders Figure 1 (see the module docs): the heading, the grid of panels, the colour bar
/// and the caption on one canvas, as PNG.
pub fn render_figure1(input: &FigureInput) -> Result<Figure, ScoreError> {
    check_input(input)?;
    let l = Layout::of(input);
    let mut c = Canvas::new(l.width, l.height, WHITE);
    draw_heading(&mut c, &l);
    let panels = draw_panels(&mut c, input, &l);
    let colorbar = draw_colour_bar(&mut c, input, &l);
    draw_caption(&mut c, &l);
    let png = c
        .to_png()
        .map_err(|e| ScoreError::io("figure (in memory)", e))?;
    Ok(Figure {
        png,
        width: l.width,
        height: l.height,
        panels,
        colorbar,
    })
}

/// The colour bar's tick values, top to bottom.
const TICKS: [f64; 5] = [1.0, 0.75, 0.5, 0.25, 0.0];

/// Checks that the input patch and every heatmap hold `size * size` values.
fn check_input(input: &FigureInput) -> Result<(), ScoreError> {
    let n = input.size;
    if n == 0 || input.image.len() != n * n {
        return Err(ScoreError::Config(format!(
            "figure: the input patch has {} values, expected {n} x {n}",
            input.image.len()
        )));
    }
    if let Some(p) = input.panels.iter().find(|p| p.map.len() != n * n) {
        return Err(ScoreError::Config(format!(
            "figure: the heatmap of {} has {} values, expected {n} x {n}",
            p.title,
            p.map.len()
        )));
    }
    Ok(())
}

/// Where everything of Figure 1 goes, in pixels.
struct Layout {
    /// Map side in values.
    n: usize,
    /// Pixels per map value.
    zoom: usize,
    /// Panel side in pixels (`n * zoom`).
    side: usize,
    title_h: usize,
    small_h: usize,
    head_h: usize,
    /// Width of one grid cell (the panel or its widest title).
    cell_w: usize,
    /// The input panel and the heatmaps.
    cells: usize,
    /// Height of a cell's two title lines and the space below them.
    head_block: usize,
    cell_h: usize,
    grid_w: usize,
    grid_y: usize,
    grid_h: usize,
    /// Width of the widest tick label.
    tick_w: usize,
    /// The heading and caption wrapped to the figure's width.
    heading: Vec<String>,
    caption: Vec<String>,
    caption_y: usize,
    width: usize,
    height: usize,
}

impl Layout {
    /// Computes the layout of `input`: cell sizes from the titles, grid, colour-bar block,
    /// wrapped heading and caption, and the figure's size.
    fn of(input: &FigureInput) -> Layout {
        let n = input.size;
        let zoom = (300 / n).max(1);
        let side = n * zoom;
        let title_h = font::line_height(TITLE_PX);
        let sub_h = font::line_height(SUBTITLE_PX);
        let small_h = font::line_height(SMALL_PX);
        let head_h = font::line_height(HEADING_PX);
        let titles = std::iter::once((&input.input_title, &input.input_subtitle))
            .chain(input.panels.iter().map(|p| (&p.title, &p.subtitle)));
        let cell_w = titles
            .map(|(a, b)| text_width(a, TITLE_PX).max(text_width(b, SUBTITLE_PX)))
            .max()
            .unwrap_or(0)
            .max(side);
        let cells = 1 + input.panels.len();
        let rows = cells.div_ceil(COLUMNS);
        let cols = cells.min(COLUMNS);
        let head_block = title_h + sub_h + 6;
        let cell_h = head_block + side;
        let grid_w = cols * cell_w + (cols - 1) * GAP;
        let tick_w = TICKS
            .iter()
            .map(|t| text_width(&tick_text(*t), SMALL_PX))
            .max()
            .unwrap_or(0);
        // Bar, tick marks and labels, then the label turned a quarter turn.
        let bar_block = GAP + BAR_WIDTH + 6 + 4 + tick_w + 10 + small_h + 2;
        let width = MARGIN + grid_w + bar_block + MARGIN;
        let text_w = width - 2 * MARGIN;
        let wrapped = |lines: &[String], px: f32| -> Vec<String> {
            lines.iter().flat_map(|l| wrap(l, px, text_w)).collect()
        };
        let heading = wrapped(&input.heading, HEADING_PX);
        let caption = wrapped(&input.caption, SMALL_PX);
        let grid_y = MARGIN + heading.len() * head_h + if heading.is_empty() { 0 } else { 12 };
        let grid_h = rows * cell_h + (rows - 1) * GAP;
        let caption_y = grid_y + grid_h + 16;
        let height = caption_y + caption.len() * small_h + MARGIN;
        Layout {
            n,
            zoom,
            side,
            title_h,
            small_h,
            head_h,
            cell_w,
            cells,
            head_block,
            cell_h,
            grid_w,
            grid_y,
            grid_h,
            tick_w,
            heading,
            caption,
            caption_y,
            width,
            height,
        }
    }
}

/// Draws the wrapped heading lines above the grid.
fn draw_heading(c: &mut Canvas, l: &Layout) {
    for (i, line) in l.heading.iter().enumerate() {
        draw_text(c, MARGIN, MARGIN + i * l.head_h, line, HEADING_PX, BLACK);
    }
}

/// Draws the input panel and the heatmaps in the grid; returns their rectangles.
fn draw_panels(c: &mut Canvas, input: &FigureInput, l: &Layout) -> Vec<Rect> {
    let (lo, hi) = stretch(&input.image);
    (0..l.cells)
        .map(|k| {
            let (title, subtitle) = if k == 0 {
                (&input.input_title, &input.input_subtitle)
            } else {
                (&input.panels[k - 1].title, &input.panels[k - 1].subtitle)
            };
            let colour = |i: usize| -> Rgb {
                if k == 0 {
                    let v = ((input.image[i] - lo) / (hi - lo)).clamp(0.0, 1.0);
                    let g = (v * 255.0).round() as u8;
                    [g, g, g]
                } else {
                    blues(input.panels[k - 1].map[i])
                }
            };
            draw_panel(c, l, k, title, subtitle, colour)
        })
        .collect()
}

/// Draws grid cell `k`: its two centred title lines, the map magnified with the colour
/// `colour` gives each value index, and the black frame; returns the map's rectangle.
fn draw_panel(
    c: &mut Canvas,
    l: &Layout,
    k: usize,
    title: &str,
    subtitle: &str,
    colour: impl Fn(usize) -> Rgb,
) -> Rect {
    let (row, col) = (k / COLUMNS, k % COLUMNS);
    let x0 = MARGIN + col * (l.cell_w + GAP);
    let y0 = l.grid_y + row * (l.cell_h + GAP);
    let centre = |w: usize| x0 + (l.cell_w - w) / 2;
    let title_x = centre(text_width(title, TITLE_PX));
    draw_text(c, title_x, y0, title, TITLE_PX, TEXT);
    let subtitle_x = centre(text_width(subtitle, SUBTITLE_PX));
    draw_text(c, subtitle_x, y0 + l.title_h, subtitle, SUBTITLE_PX, TEXT);
    let (px, py) = (centre(l.side), y0 + l.head_block);
    let (n, zoom) = (l.n, l.zoom);
    for yy in 0..n {
        for xx in 0..n {
            let (x, y) = ((px + xx * zoom) as i64, (py + yy * zoom) as i64);
            c.fill_rect(x, y, zoom, zoom, colour(yy * n + xx));
        }
    }
    c.rect(px as i64 - 1, py as i64 - 1, l.side + 2, l.side + 2, BLACK);
    Rect {
        x: px,
        y: py,
        w: l.side,
        h: l.side,
    }
}

/// Draws the colour bar beside the grid, from the first row's panels to the last row's,
/// with its ticks and label; returns the bar's rectangle.
fn draw_colour_bar(c: &mut Canvas, input: &FigureInput, l: &Layout) -> Rect {
    let bx = MARGIN + l.grid_w + GAP;
    let by = l.grid_y + l.head_block;
    let bh = (l.grid_y + l.grid_h).saturating_sub(by).max(l.side);
    for yy in 0..bh {
        let v = (255.0 * (1.0 - yy as f64 / (bh - 1).max(1) as f64)).round() as u8;
        c.fill_rect(bx as i64, (by + yy) as i64, BAR_WIDTH, 1, blues(v));
    }
    c.rect(bx as i64 - 1, by as i64 - 1, BAR_WIDTH + 2, bh + 2, BLACK);
    let bar = Rect {
        x: bx,
        y: by,
        w: BAR_WIDTH,
        h: bh,
    };
    draw_bar_ticks(c, &bar);
    draw_bar_label(c, &input.bar_label, &bar, l.tick_w);
    bar
}

/// Draws the tick marks and their labels (1 at the top to 0 at the bottom) right of `bar`.
fn draw_bar_ticks(c: &mut Canvas, bar: &Rect) {
    let ascent = font::ascent(SMALL_PX);
    for (i, t) in TICKS.iter().enumerate() {
        let ty = bar.y + i * (bar.h - 1) / (TICKS.len() - 1);
        c.fill_rect((bar.x + BAR_WIDTH + 1) as i64, ty as i64, 6, 1, BLACK);
        // Centre the digits (about 0.7 of the ascent tall) on the tick.
        let label_y = (ty as f32 - ascent * 0.62).round().max(0.0) as usize;
        let label_x = bar.x + BAR_WIDTH + 10;
        draw_text(c, label_x, label_y, &tick_text(*t), SMALL_PX, TEXT);
    }
}

/// Draws the bar's label right of the tick labels, reading bottom to top, centred on the bar.
fn draw_bar_label(c: &mut Canvas, label: &str, bar: &Rect, tick_w: usize) {
    let label_w = text_width(label, SMALL_PX);
    let lx = bar.x + BAR_WIDTH + 10 + tick_w + 10;
    let ly = bar.y + bar.h.saturating_sub(label_w) / 2;
    font::draw_text_vertical(c, lx as i64, ly as i64, label, SMALL_PX, TEXT);
}

/// Draws the wrapped caption lines below the grid.
fn draw_caption(c: &mut Canvas, l: &Layout) {
    for (i, line) in l.caption.iter().enumerate() {
        draw_text(c, MARGIN, l.caption_y + i * l.small_h, line, SMALL_PX, TEXT);
    }
}

/// A colour-bar tick label: `0`, `0.25`, ..., `1`.
fn tick_text(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blues_runs_from_near_white_to_dark_blue_as_matplotlib() {
        assert_eq!(blues(0), [247, 251, 255]);
        let top = blues(255);
        assert_eq!(top, {
            let c = BLUES_LUT_U8[255];
            [c[0], c[1], c[2]]
        });
        assert!(top[0] < 20 && top[2] > 90, "{top:?}");
        // v = 128/255 -> trunc(128.5) = 128.
        let c = BLUES_LUT_U8[128];
        assert_eq!(blues(128), [c[0], c[1], c[2]]);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_text(1.0), "1");
        assert_eq!(tick_text(0.75), "0.75");
        assert_eq!(tick_text(0.5), "0.5");
        assert_eq!(tick_text(0.0), "0");
    }
}
