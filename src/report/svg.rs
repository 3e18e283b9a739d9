//! Hand-written inline SVG charts for the report page: per metric, our mean with its 95 %
//! confidence interval against the paper's value, one row per method, one panel per
//! polarization, on a shared axis (linear, or logarithmic when the values span more than
//! [`LOG_SPAN`] times). The claim tolerance around the paper's value is shaded.
//!
//! The SVG is meant to be inlined in HTML (no `xmlns`, no external references); it scales
//! to its column (`viewBox`, `width="100%"`).

use std::fmt::Write as _;

/// Escapes text for HTML and SVG (XML): `&`, `<`, `>` and `"`, so it may stand in element
/// text and in double-quoted attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Values spanning more than this ratio (max / min positive) are drawn on a log axis.
pub const LOG_SPAN: f64 = 30.0;

/// Colour of our values.
pub const OURS: &str = "#1f5fa8";
/// Colour of the paper's values.
pub const PAPER: &str = "#d95f02";

/// One method's row of a chart panel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartRow {
    pub label: String,
    pub ours: Option<f64>,
    pub ci: Option<(f64, f64)>,
    pub paper: Option<f64>,
    /// The interval a value must fall in to pass the claim (shaded).
    pub tolerance: Option<(f64, f64)>,
}

/// One panel (a polarization).
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPanel {
    pub title: String,
    pub rows: Vec<ChartRow>,
}

#[derive(Debug, Clone, Copy)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Axis {
    fn from_values(values: &[f64]) -> Axis {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min_pos = finite
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        if !max.is_finite() {
            return Axis {
                lo: 0.0,
                hi: 1.0,
                log: false,
            };
        }
        if min_pos.is_finite() && max > 0.0 && max / min_pos > LOG_SPAN {
            return Axis {
                lo: 10f64.powf(min_pos.log10().floor()),
                hi: 10f64.powf(max.log10().ceil()),
                log: true,
            };
        }
        let min = finite
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(0.0);
        let hi = if max > 0.0 { max * 1.05 } else { 1.0 };
        let step = nice_step(hi - min, 5);
        Axis {
            lo: (min / step).floor() * step,
            hi: (hi / step).ceil() * step,
            log: false,
        }
    }

    /// Position in [0, 1] (clamped).
    fn frac(&self, v: f64) -> f64 {
        let f = if self.log {
            let v = v.max(self.lo);
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        if f.is_finite() {
            f.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let (a, b) = (
                self.lo.log10().round() as i32,
                self.hi.log10().round() as i32,
            );
            (a..=b).map(|k| 10f64.powi(k)).collect()
        } else {
            let step = nice_step(self.hi - self.lo, 5);
            let n = ((self.hi - self.lo) / step).round() as usize;
            (0..=n).map(|i| self.lo + i as f64 * step).collect()
        }
    }
}

/// A "nice" step (1, 2 or 5 times a power of ten) giving about `n` intervals over `span`.
pub fn nice_step(span: f64, n: usize) -> f64 {
    if span.is_nan() || span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let r = raw / mag;
    let m = if r <= 1.0 {
        1.0
    } else if r <= 2.0 {
        2.0
    } else if r <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// A tick label: short, no trailing zeros.
pub fn tick_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.0e}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The chart as an inline `<svg>` element (see the module docs). `title` names the metric
/// (it becomes the SVG's accessible title).
pub fn comparison_chart(title: &str, panels: &[ChartPanel]) -> String {
    let axis = Axis::from_values(&chart_values(panels));
    let f = Frame::of(panels);
    let mut s = String::new();
    open_svg(&mut s, title, &f);
    if let Some(p) = panels.first() {
        draw_method_labels(&mut s, p, &f);
    }
    for (k, p) in panels.iter().enumerate() {
        let x0 = f.label_w + k as f64 * (f.panel_w + f.gap);
        draw_panel_frame(&mut s, p, x0, &axis, &f);
        for (i, r) in p.rows.iter().enumerate() {
            let yc = f.top + (i as f64 + 0.5) * f.row_h;
            draw_row(&mut s, r, yc, |v| x0 + axis.frac(v) * f.panel_w, f.row_h);
        }
    }
    draw_legend(&mut s, &axis, &f);
    s.push_str("</svg>");
    s
}

/// Every value the shared axis must cover: ours, the paper's, the intervals' ends and the
/// tolerances' ends of every row of every panel.
fn chart_values(panels: &[ChartPanel]) -> Vec<f64> {
    let mut values = Vec::new();
    for p in panels {
        for r in &p.rows {
            values.extend(r.ours);
            values.extend(r.paper);
            if let Some((a, b)) = r.ci {
                values.extend([a, b]);
            }
            if let Some((a, b)) = r.tolerance {
                values.extend([a, b]);
            }
        }
    }
    values
}

/// The chart's geometry in SVG units.
struct Frame {
    width: f64,
    /// Width of the method-label column left of the panels.
    label_w: f64,
    /// Space between panels.
    gap: f64,
    /// Margin right of the last panel.
    right: f64,
    /// Top of the plot area (below the panel titles).
    top: f64,
    row_h: f64,
    panel_w: f64,
    plot_h: f64,
    height: f64,
}

impl Frame {
    /// Computes the geometry of `panels`: panels share the width, rows the height.
    fn of(panels: &[ChartPanel]) -> Frame {
        let rows = panels.iter().map(|p| p.rows.len()).max().unwrap_or(0);
        let n = panels.len().max(1);
        let (width, label_w, gap, right) = (1000.0, 170.0, 36.0, 16.0);
        let panel_w = (width - label_w - right - gap * (n as f64 - 1.0)) / n as f64;
        let (top, row_h) = (30.0, 24.0);
        let plot_h = rows as f64 * row_h;
        let height = top + plot_h + 30.0 + 28.0;
        Frame {
            width,
            label_w,
            gap,
            right,
            top,
            row_h,
            panel_w,
            plot_h,
            height,
        }
    }
}

/// Writes the opening `<svg>` tag (viewBox, font, accessible label) and its `<title>`.
fn open_svg(s: &mut String, title: &str, f: &Frame) {
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" width=\"100%\" role=\"img\" aria-label=\"{t}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\"><title>{t}</title>",
        f.width,
        f.height,
        t = escape(title)
    );
}

/// Draws the method labels, right-aligned left of the panels, from `first`'s rows.
fn draw_method_labels(s: &mut String, first: &ChartPanel, f: &Frame) {
    for (i, r) in first.rows.iter().enumerate() {
        let y = f.top + (i as f64 + 0.5) * f.row_h + 4.5;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{y:.1}\" text-anchor=\"end\">{}</text>",
            f.label_w - 10.0,
            escape(&r.label)
        );
    }
}

/// Draws panel `p` at `x0` without its values: title, zebra rows, grid lines with tick
/// labels and the plot's border.
fn draw_panel_frame(s: &mut String, p: &ChartPanel, x0: f64, axis: &Axis, f: &Frame) {
    let (top, row_h, panel_w, plot_h) = (f.top, f.row_h, f.panel_w, f.plot_h);
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
        x0 + panel_w / 2.0,
        escape(&p.title)
    );
    for i in (0..p.rows.len()).step_by(2) {
        let _ = write!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{panel_w:.1}\" height=\"{row_h}\" fill=\"#f4f6f8\"/>",
            top + i as f64 * row_h
        );
    }
    for t in axis.ticks() {
        let x = x0 + axis.frac(t) * panel_w;
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#d0d4d8\" stroke-width=\"1\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#444\">{}</text>",
            top + plot_h,
            top + plot_h + 15.0,
            escape(&tick_label(t))
        );
    }
    let _ = write!(
        s,
        "<rect x=\"{x0:.1}\" y=\"{top}\" width=\"{panel_w:.1}\" height=\"{plot_h:.1}\" fill=\"none\" stroke=\"#888\"/>"
    );
}

/// Draws one method's row centred at `yc`, `xf` placing values: the shaded tolerance, the
/// paper's diamond, our confidence interval and our mean's dot.
fn draw_row(s: &mut String, r: &ChartRow, yc: f64, xf: impl Fn(f64) -> f64, row_h: f64) {
    if let Some((a, b)) = r.tolerance {
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{PAPER}\" fill-opacity=\"0.16\"/>",
            xf(a),
            yc - row_h * 0.4,
            (xf(b) - xf(a)).max(0.5),
            row_h * 0.8
        );
    }
    if let Some(v) = r.paper {
        let (x, d) = (xf(v), 6.0);
        let _ = write!(
            s,
            "<path d=\"M{x:.1} {:.1}L{:.1} {yc:.1}L{x:.1} {:.1}L{:.1} {yc:.1}Z\" fill=\"{PAPER}\"><title>paper: {}</title></path>",
            yc - d,
            x + d,
            yc + d,
            x - d,
            escape(&tick_label(v))
        );
    }
    if let Some((a, b)) = r.ci {
        let (xa, xb) = (xf(a), xf(b));
        let _ = write!(
            s,
            "<path d=\"M{xa:.1} {:.1}V{:.1}M{xa:.1} {yc:.1}H{xb:.1}M{xb:.1} {:.1}V{:.1}\" stroke=\"{OURS}\" stroke-width=\"1.6\" fill=\"none\"/>",
            yc - 5.0,
            yc + 5.0,
            yc - 5.0,
            yc + 5.0
        );
    }
    if let Some(v) = r.ours {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{yc:.1}\" r=\"4.5\" fill=\"{OURS}\"><title>ours: {}</title></circle>",
            xf(v),
            escape(&tick_label(v))
        );
    }
}

/// Draws the legend below the panels (ours, the paper, the tolerance) and names the axis
/// (log or linear) at the right.
fn draw_legend(s: &mut String, axis: &Axis, f: &Frame) {
    let label_w = f.label_w;
    let ly = f.top + f.plot_h + 42.0;
    let _ = write!(
        s,
        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4.5\" fill=\"{OURS}\"/><path d=\"M{:.1} {:.1}H{:.1}\" stroke=\"{OURS}\" stroke-width=\"1.6\"/><text x=\"{:.1}\" y=\"{ly:.1}\">ours: mean, 95 % CI</text>",
        label_w + 12.0,
        ly - 4.5,
        label_w,
        ly - 4.5,
        label_w + 24.0,
        label_w + 30.0
    );
    let px = label_w + 200.0;
    let _ = write!(
        s,
        "<path d=\"M{px:.1} {:.1}L{:.1} {:.1}L{px:.1} {:.1}L{:.1} {:.1}Z\" fill=\"{PAPER}\"/><text x=\"{:.1}\" y=\"{ly:.1}\">paper</text>",
        ly - 10.5,
        px + 6.0,
        ly - 4.5,
        ly + 1.5,
        px - 6.0,
        ly - 4.5,
        px + 12.0
    );
    let tx = px + 80.0;
    let _ = write!(
        s,
        "<rect x=\"{tx:.1}\" y=\"{:.1}\" width=\"22\" height=\"12\" fill=\"{PAPER}\" fill-opacity=\"0.16\"/><text x=\"{:.1}\" y=\"{ly:.1}\">claim tolerance around the paper's value</text><text x=\"{:.1}\" y=\"{ly:.1}\" text-anchor=\"end\" fill=\"#444\">{} axis</text>",
        ly - 10.5,
        tx + 28.0,
        f.width - f.right,
        if axis.log { "log" } else { "linear" }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ours: f64, paper: f64) -> ChartRow {
        ChartRow {
            label: "Saliency <x>".into(),
            ours: Some(ours),
            ci: Some((ours * 0.9, ours * 1.1)),
            paper: Some(paper),
            tolerance: Some((paper * 0.75, paper * 1.25)),
        }
    }

    #[test]
    fn linear_axis_starts_at_zero_and_covers_the_values() {
        let a = Axis::from_values(&[0.02, 0.2, 0.45]);
        assert!(!a.log);
        assert_eq!(a.lo, 0.0);
        assert!(a.hi >= 0.45 && a.hi <= 0.6, "{a:?}");
        assert_eq!(a.frac(0.0), 0.0);
    }

    #[test]
    fn wide_spans_go_log() {
        let a = Axis::from_values(&[0.001, 0.5]);
        assert!(a.log);
        assert_eq!(a.ticks(), vec![0.001, 0.01, 0.1, 1.0]);
        assert!((a.frac(0.01) - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn chart_is_escaped_well_formed_and_has_every_row() {
        let svg = comparison_chart(
            "XAI entropy & co",
            &[
                ChartPanel {
                    title: "VH".into(),
                    rows: vec![row(10.0, 12.0), row(30.0, 29.0)],
                },
                ChartPanel {
                    title: "VV".into(),
                    rows: vec![row(11.0, 12.0), row(31.0, 29.0)],
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("XAI entropy &amp; co") && svg.contains("Saliency &lt;x&gt;"));
        assert_eq!(svg.matches("<circle").count(), 4 + 1);
        assert!(!svg.contains("http"), "no external references");
        assert!(!svg.contains("NaN") && !svg.contains("\"inf") && !svg.contains(" inf"));
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(10.0), "10");
        assert_eq!(tick_label(0.0001), "1e-4");
        assert_eq!(nice_step(0.5, 5), 0.1);
        assert_eq!(nice_step(47.0, 5), 10.0);
    }
}
