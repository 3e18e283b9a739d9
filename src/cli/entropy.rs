//! `sarxai entropy`: the XAI entropy of attribution arrays (a stable contract).
//!
//! Reads `--attr A.npy` (float32 or float64, (N, C, h, w)), brings maps smaller than
//! `--size H W` to that size (`--upsample`, default bilinear), measures each image's PNG
//! (`--measure`, default Captum's heat-map figure, see [`crate::metrics::entropy`]) and
//! prints one line per image, or with `--json` a JSON array with one object per image: `{"image": i, "bytes": n, "kb": x}`.
//! `--png-out DIR` also writes the measured PNGs, `DIR/image_<i>.png`. An all-zero map has
//! no Captum figure (Captum raises): its row says so, with `"bytes": null`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::metrics::entropy::{entropy_pngs, EntropyConfig, Measure, Upsample};
use crate::npy::{Expect, NpyDtype};

/// What `--attr` must hold.
const ATTRIBUTIONS: Expect = Expect {
    what: "attributions",
    dtypes: &[NpyDtype::F32, NpyDtype::F64],
    rank: Some(4),
    layout: "(N, C, H, W)",
    finite: true,
};

/// `sarxai entropy`: XAI entropy (PNG byte size) of attribution maps.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai entropy --attr out/saliency.npy --json
  sarxai entropy --attr out/grad-cam.npy --size 100 100 --upsample bilinear --json
  sarxai entropy --attr out/occlusion.npy --measure grey-png --png-out pngs/ --json

Prints [{\"image\": 0, \"bytes\": 28663, \"kb\": 28.663}, ...] (KB = 1000 bytes).")]
pub struct EntropyArgs {
    /// Attributions, float32 or float64 .npy of shape (N, C, h, w).
    #[arg(long, value_name = "A.npy")]
    pub(crate) attr: PathBuf,
    /// The input size H W that smaller maps are upsampled to (default: the map's own size).
    #[arg(long, num_args = 2, value_names = ["H", "W"])]
    pub(crate) size: Option<Vec<i64>>,
    /// How a map smaller than --size is upsampled.
    #[arg(long, value_enum, default_value = "bilinear")]
    pub(crate) upsample: Upsample,
    /// Which PNG is measured: Captum's heat-map figure (the paper's) or the grey map.
    #[arg(long, value_enum, default_value = "captum-figure")]
    pub(crate) measure: Measure,
    /// Also write the measured PNGs to DIR/image_I.png (I: the image's index).
    #[arg(long, value_name = "DIR")]
    pub(crate) png_out: Option<PathBuf>,
    /// Print a JSON array instead of one line per image.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `sarxai entropy`.
pub fn run(args: EntropyArgs) -> Result<()> {
    let attr = super::read_npy(&args.attr, &ATTRIBUTIONS)?;
    let s = attr.size();
    let (h, w) = match args.size.as_deref() {
        Some([h, w]) => (*h, *w),
        _ => (s[2], s[3]),
    };
    if h <= 0 || w <= 0 {
        bail!("--size {h} {w}: both sides must be positive");
    }
    if s[2] > h || s[3] > w {
        bail!(
            "{}: the maps are {}x{}, larger than --size {h} {w}; give the input size the maps were computed for",
            args.attr.display(),
            s[2],
            s[3]
        );
    }
    let cfg = EntropyConfig {
        measure: args.measure,
        upsample: args.upsample,
        ..EntropyConfig::default()
    };
    let pngs = entropy_pngs(&attr, h, w, &cfg)
        .with_context(|| format!("measuring {}", args.attr.display()))?;
    if let Some(dir) = &args.png_out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (i, png) in pngs.iter().enumerate() {
            if let Some(png) = png {
                let path = dir.join(format!("image_{i}.png"));
                crate::io::write_atomic(&path, png)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
    }
    const UNDEFINED: &str = "all-zero map: Captum's visualize_image_attr raises (scale factor 0)";
    if args.json {
        let rows: Vec<serde_json::Value> = pngs
            .iter()
            .enumerate()
            .map(|(i, png)| match png {
                Some(p) => serde_json::json!({ "image": i, "bytes": p.len(), "kb": p.len() as f64 / 1000.0 }),
                None => serde_json::json!({ "image": i, "bytes": null, "kb": null, "undefined": UNDEFINED }),
            })
            .collect();
        println!("{}", serde_json::to_string(&rows)?);
    } else {
        for (i, png) in pngs.iter().enumerate() {
            match png {
                Some(p) => println!(
                    "image {i}: {} bytes ({:.3} KB)",
                    p.len(),
                    p.len() as f64 / 1000.0
                ),
                None => println!("image {i}: undefined ({UNDEFINED})"),
            }
        }
    }
    Ok(())
}
