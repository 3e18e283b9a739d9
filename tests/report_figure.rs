//! Figure 1: the PNG has the layout's size, nine panels (input + eight heatmaps) in a
//! 3 x 3 grid, every panel non-constant and coloured with matplotlib's Blues as the
//! XAI-entropy images are, a colour bar running through the colormap with tick labels,
//! titles in an anti-aliased typeface (DejaVu Sans); bad input is refused.

use sarxai::attr::Method;
use sarxai::metrics::captum_figure::BLUES_LUT_U8;
use sarxai::metrics::entropy::{heatmaps_u8, EntropyConfig};
use sarxai::score::figure::{render_figure1, FigureInput, FigurePanel, Rect};
use sarxai::score::table::PAPER_ORDER;
use tch::{Device, Kind, Tensor};

fn decode(png: &[u8]) -> (usize, usize, Vec<u8>) {
    let dec = png::Decoder::new(std::io::Cursor::new(png));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, buf)
}

fn distinct_colours(px: &[u8], width: usize, r: Rect) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    for y in r.y..r.y + r.h {
        for x in r.x..r.x + r.w {
            let i = (y * width + x) * 3;
            seen.insert([px[i], px[i + 1], px[i + 2]]);
        }
    }
    seen.len()
}

/// Eight heatmaps through the real XAI-entropy pipeline from structured attributions:
/// a blob at a different place per method, Grad-CAM as a 4 x 4 map.
fn input(size: usize) -> FigureInput {
    let s = size as i64;
    let coords = Tensor::arange(s, (Kind::Float, Device::Cpu));
    let panels = PAPER_ORDER
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let attr = if *m == Method::GradCam {
                Tensor::arange(16, (Kind::Float, Device::Cpu)).view([1, 1, 4, 4]) - 5.0
            } else {
                let cy = (k as f64 + 1.0) * size as f64 / 10.0;
                let dy = (&coords - cy).square().view([s, 1]);
                let dx = (&coords - size as f64 / 2.0).square().view([1, s]);
                (-(dy + dx) / (size as f64 * 2.0)).exp().view([1, 1, s, s])
            };
            let map = heatmaps_u8(&attr, s, s, &EntropyConfig::default()).remove(0);
            FigurePanel {
                title: m.title().to_string(),
                subtitle: format!("MS = {:.4}", 0.01 * (k + 1) as f64),
                map,
            }
        })
        .collect();
    let image: Vec<f32> = (0..size * size)
        .map(|i| ((i % size) as f32 * 0.1).sin() + (i / size) as f32 * 0.01)
        .collect();
    FigureInput {
        heading: vec![
            "Figure 1 (VH): test image 0 (airport_x0_y0), true class airport, predicted airport".into(),
        ],
        input_title: "Input (VH)".into(),
        input_subtitle: "airport".into(),
        image,
        size,
        panels,
        bar_label: "abs(attr)".into(),
        caption: vec!["MS: Max-Sensitivity of this image. A caption long enough to be wrapped onto a second line of the figure.".into()],
    }
}

#[test]
fn figure_size_and_every_panel_non_constant() {
    let fig = render_figure1(&input(100)).unwrap();
    let (w, h, px) = decode(&fig.png);
    assert_eq!((w, h), (fig.width, fig.height));
    // 3 columns of cells as wide as "Guided Backpropagation" in 20 px DejaVu Sans or the
    // 300-pixel panels (100 x 3), a colour bar with labels: a sane size.
    assert!(
        (1100..1500).contains(&w) && (1100..1400).contains(&h),
        "{w} x {h}"
    );
    assert_eq!(fig.panels.len(), 9);
    for (k, r) in fig.panels.iter().enumerate() {
        assert_eq!((r.w, r.h), (300, 300));
        assert!(r.x + r.w <= w && r.y + r.h <= h);
        let n = distinct_colours(&px, w, *r);
        assert!(n > 1, "panel {k} is constant");
    }
    // Heatmap pixels are entries of matplotlib's Blues table (as Captum's figure draws them).
    let blues: std::collections::BTreeSet<[u8; 3]> =
        BLUES_LUT_U8.iter().map(|c| [c[0], c[1], c[2]]).collect();
    for r in &fig.panels[1..] {
        for y in (r.y..r.y + r.h).step_by(7) {
            for x in (r.x..r.x + r.w).step_by(7) {
                let i = (y * w + x) * 3;
                let c = [px[i], px[i + 1], px[i + 2]];
                assert!(
                    blues.contains(&c),
                    "{c:?} at ({x}, {y}) is not a Blues colour"
                );
            }
        }
    }
    // Panels in a 3 x 3 grid: rows share y, columns share x.
    assert_eq!(fig.panels[0].y, fig.panels[2].y);
    assert_eq!(fig.panels[0].x, fig.panels[3].x);
    assert!(fig.panels[3].y > fig.panels[0].y + 300);
    // The colour bar runs through many colours, dark blue (1) at the top, near white (0) at
    // the bottom.
    assert!(distinct_colours(&px, w, fig.colorbar) > 100);
    let at = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        [px[i], px[i + 1], px[i + 2]]
    };
    let top = at(fig.colorbar.x + 5, fig.colorbar.y);
    let bottom = at(fig.colorbar.x + 5, fig.colorbar.y + fig.colorbar.h - 1);
    let c = BLUES_LUT_U8[255];
    assert_eq!(top, [c[0], c[1], c[2]]);
    assert_eq!(bottom, [247, 251, 255]);
    // Tick labels right of the bar and the bar's label beyond them: ink there.
    let labels = Rect {
        x: fig.colorbar.x + fig.colorbar.w + 2,
        y: fig.colorbar.y,
        w: w - (fig.colorbar.x + fig.colorbar.w + 2) - 4,
        h: fig.colorbar.h,
    };
    assert!(
        distinct_colours(&px, w, labels) > 10,
        "colour bar unlabelled"
    );
    // Titles above the first panel, anti-aliased: many grey levels, not two colours.
    let title = Rect {
        x: fig.panels[0].x,
        y: fig.panels[0].y - 44,
        w: 300,
        h: 40,
    };
    assert!(distinct_colours(&px, w, title) > 8);
}

#[test]
fn small_images_are_enlarged() {
    let fig = render_figure1(&input(32)).unwrap();
    assert_eq!(fig.panels[0].w, 32 * 9);
    let (w, h, _) = decode(&fig.png);
    assert_eq!((w, h), (fig.width, fig.height));
}

#[test]
fn mismatched_maps_are_refused() {
    let mut i = input(32);
    i.panels[3].map.truncate(10);
    let e = render_figure1(&i).unwrap_err().to_string();
    assert!(e.contains("Deconvolution") && e.contains("32 x 32"), "{e}");
    let mut i = input(32);
    i.image.clear();
    assert!(render_figure1(&i).is_err());
}
