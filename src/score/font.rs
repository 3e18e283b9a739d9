//! The report's typeface: a subset of **DejaVu Sans** (printable ASCII, Latin-1, dashes,
//! quotes, `− ≤ ≥ ≈ √` and Greek lower case; about 35 KB) embedded in the binary and
//! rasterised with the `ab_glyph` crate (anti-aliased coverage, kerning from the font's
//! `kern` table).
//!
//! Licence: Bitstream Vera Fonts licence, DejaVu changes in the public domain; the full text
//! and the command that made the subset are in `assets/fonts/LICENSE-DejaVu.txt`.
//! Characters outside the subset are drawn as `?`.

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};

use crate::train::plot::{Canvas, Rgb};

/// The embedded font file (`assets/fonts/DejaVuSans-subset.ttf`).
pub const FONT_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

/// The embedded font, parsed (cheap: the tables are borrowed, not copied).
pub fn font() -> FontRef<'static> {
    FontRef::try_from_slice(FONT_TTF).expect("the embedded DejaVu Sans subset parses (tested)")
}

/// Glyph of `c`, or of `?` when the subset lacks it.
fn glyph_id(f: &FontRef<'static>, c: char) -> GlyphId {
    let id = f.glyph_id(c);
    if id.0 == 0 && c != '\0' {
        f.glyph_id('?')
    } else {
        id
    }
}

/// Whether the embedded subset has a glyph for `c` (the tests' check of the subset).
#[cfg(test)]
#[cfg(test)]
pub fn has_glyph(c: char) -> bool {
    font().glyph_id(c).0 != 0
}

/// Width in pixels of `text` at `px` pixels per em (advances and kerning).
pub fn text_width(text: &str, px: f32) -> f32 {
    let f = font();
    let s = f.as_scaled(PxScale::from(px));
    let mut w = 0.0;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let g = glyph_id(&f, c);
        if let Some(p) = prev {
            w += s.kern(p, g);
        }
        w += s.h_advance(g);
        prev = Some(g);
    }
    w
}

/// Line height (ascent + descent + line gap) at `px`, rounded up to whole pixels.
pub fn line_height(px: f32) -> usize {
    let s = font().into_scaled(PxScale::from(px));
    (s.ascent() - s.descent() + s.line_gap()).ceil() as usize
}

/// Ascent at `px`: the distance from a line's top to its baseline.
pub fn ascent(px: f32) -> f32 {
    font().into_scaled(PxScale::from(px)).ascent()
}

/// The coverage mask of `text` at `px`: `(width, height, alpha)` with the line's top at row
/// 0 and the baseline at [`ascent`]; `alpha` is row-major, 0 to 1.
pub fn mask(text: &str, px: f32) -> (usize, usize, Vec<f32>) {
    let f = font();
    let scale = PxScale::from(px);
    let s = f.as_scaled(scale);
    let w = text_width(text, px).ceil() as usize + 2;
    let h = line_height(px) + 2;
    let mut a = vec![0f32; w * h];
    let mut x = 0f32;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let g = glyph_id(&f, c);
        if let Some(p) = prev {
            x += s.kern(p, g);
        }
        let glyph = g.with_scale_and_position(scale, point(x, s.ascent()));
        if let Some(og) = f.outline_glyph(glyph) {
            let b = og.px_bounds();
            og.draw(|gx, gy, cov| {
                let (px_, py_) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                if px_ >= 0 && py_ >= 0 && (px_ as usize) < w && (py_ as usize) < h {
                    let i = py_ as usize * w + px_ as usize;
                    a[i] = (a[i] + cov).min(1.0);
                }
            });
        }
        x += s.h_advance(g);
        prev = Some(g);
    }
    (w, h, a)
}

fn blend(c: &mut Canvas, x: i64, y: i64, colour: Rgb, alpha: f32) {
    if alpha <= 0.0 || x < 0 || y < 0 || x as usize >= c.width || y as usize >= c.height {
        return;
    }
    let i = (y as usize * c.width + x as usize) * 3;
    for (p, &want) in c.pixels[i..i + 3].iter_mut().zip(colour.iter()) {
        let old = *p as f32;
        *p = (old + (want as f32 - old) * alpha.min(1.0)).round() as u8;
    }
}

/// Draws `text` at `px` pixels per em with the line's top-left at `(x, y)`, blending
/// `colour` over the canvas by coverage.
pub fn draw_text(c: &mut Canvas, x: i64, y: i64, text: &str, px: f32, colour: Rgb) {
    let (w, h, a) = mask(text, px);
    for yy in 0..h {
        for xx in 0..w {
            blend(c, x + xx as i64, y + yy as i64, colour, a[yy * w + xx]);
        }
    }
}

/// Draws `text` rotated a quarter turn anticlockwise (reading bottom to top), the rotated
/// line's top-left corner at `(x, y)`; it covers [`line_height`] + 2 pixels across and
/// [`text_width`] + 2 down.
pub fn draw_text_vertical(c: &mut Canvas, x: i64, y: i64, text: &str, px: f32, colour: Rgb) {
    let (w, h, a) = mask(text, px);
    // Source (sx, sy) goes to (x + sy, y + (w - 1 - sx)).
    for sy in 0..h {
        for sx in 0..w {
            blend(
                c,
                x + sy as i64,
                y + (w - 1 - sx) as i64,
                colour,
                a[sy * w + sx],
            );
        }
    }
}

/// Splits `text` into lines of at most `max` pixels at `px`, at word boundaries (a word
/// longer than a line stays whole).
pub fn wrap(text: &str, px: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if !cur.is_empty() && text_width(&candidate, px) > max {
            lines.push(std::mem::replace(&mut cur, word.to_string()));
        } else {
            cur = candidate;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_parses_and_has_the_report_characters() {
        let f = font();
        assert!(f.glyph_count() > 200, "{}", f.glyph_count());
        for c in "Aa0 %()[]=.,:;-+/±×µ−≤≥≈√σ–—".chars() {
            assert!(has_glyph(c), "{c:?}");
        }
        assert!(!has_glyph('\u{4e2d}'));
    }

    #[test]
    fn widths_are_proportional_and_kerned() {
        assert!(text_width("W", 20.0) > text_width("i", 20.0) * 2.0);
        let w10 = text_width("Integrated Gradients", 10.0);
        let w20 = text_width("Integrated Gradients", 20.0);
        assert!((w20 / w10 - 2.0).abs() < 0.01, "{w10} {w20}");
        // Unknown characters take the width of '?'.
        assert_eq!(text_width("\u{4e2d}", 20.0), text_width("?", 20.0));
    }

    #[test]
    fn text_is_anti_aliased() {
        let (_, _, a) = mask("Saliency", 18.0);
        let partial = a.iter().filter(|&&v| v > 0.05 && v < 0.95).count();
        let full = a.iter().filter(|&&v| v >= 0.95).count();
        assert!(partial > 20 && full > 20, "{partial} {full}");
    }

    #[test]
    fn wrapping_keeps_words_whole() {
        let lines = wrap("one two three four five six seven", 16.0, 90.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert!(
            lines.iter().all(|l| text_width(l, 16.0) <= 90.0),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), "one two three four five six seven");
    }
}
