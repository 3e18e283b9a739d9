//! `sarxai metrics --attr A.npy [--mask M.npy] [--weights W --input X.npy --target T.npy]
//! [--method M] --metric LIST [--convention sarxai|quantus] [--json]`: sarxai's metrics on
//! attribution arrays made anywhere, one result per image.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::explain::MethodSelection;
use super::{load_weights, read_npy, ComputeArgs};
use crate::metrics::Convention;
use crate::model::Arch;
use crate::npy::Expect;
use crate::score::arrays::{
    metrics_on_arrays, ArrayInputs, ArrayMetric, MetricValues, ModelInputs,
};
use crate::score::metric::Need;
use crate::score::{ScoreConfig, ScoreError};

/// `sarxai metrics`: metrics of attributions computed anywhere.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai metrics --attr captum_ig.npy --mask masks.npy --metric sparseness,complexity,pointing-game,rma
  sarxai metrics --attr ig.npy --mask m.npy --metric sparseness,rma --convention quantus --json
  sarxai metrics --attr saliency.npy --weights w.pth --input x.npy --target t.npy \\
      --method saliency --metric all --json")]
pub struct MetricsArgs {
    /// Attributions (float32 or float64 N, C, H, W; Grad-CAM's layer map is upsampled to the
    /// input size by nearest neighbour, as scoring does).
    #[arg(long)]
    attr: PathBuf,
    /// Ground-truth masks (bool, uint8 or int64 N, H, W; non-zero inside): for
    /// pointing_game and relevance_mass_accuracy.
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Weights (safetensors or a PyTorch file): for the metrics that re-run the model
    /// (deletion/insertion AUC, infidelity, Max-Sensitivity, MPRT).
    #[arg(long, requires_all = ["input", "target"])]
    weights: Option<PathBuf>,
    /// Expected architecture of --weights (inferred when omitted).
    #[arg(long)]
    arch: Option<Arch>,
    /// The inputs the attributions explain (float32 or float64 N, C, H, W).
    #[arg(long, requires = "weights")]
    input: Option<PathBuf>,
    /// The explained classes (int64 N).
    #[arg(long, requires = "weights")]
    target: Option<PathBuf>,
    /// The method that made the attributions: Max-Sensitivity and MPRT re-run it.
    #[arg(long)]
    method: Option<MethodSelection>,
    /// Metrics: all, paper, or a comma-separated list of score's metric keys (the columns
    /// of per_image.csv, aliases as in score; an unknown key's error lists every one) and
    /// complexity.
    #[arg(long, default_value = "sparseness,complexity")]
    metric: String,
    /// Whose definition where sarxai and Quantus 0.6.0 differ on purpose: sarxai, or quantus
    /// (Sparseness with Quantus' batch normalisation and + 1e-7, the signed relevance mass
    /// ratio, Complexity's 1e-12; docs/quantus.md).
    #[arg(long, default_value = "sarxai", value_parser = parse_convention)]
    convention: Convention,
    /// Seed of the per-image noise (Max-Sensitivity, infidelity), as score's --seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// One JSON object per image and line, instead of a table.
    #[arg(long)]
    json: bool,
    /// Device and threads.
    #[command(flatten)]
    compute: ComputeArgs,
}

fn parse_convention(s: &str) -> Result<Convention, String> {
    match s.to_ascii_lowercase().as_str() {
        "sarxai" => Ok(Convention::Sarxai),
        "quantus" => Ok(Convention::Quantus),
        _ => Err(format!(
            "unknown convention '{s}': expected sarxai or quantus"
        )),
    }
}

/// Runs `sarxai metrics`.
pub fn run(args: MetricsArgs) -> Result<()> {
    let metrics = ArrayMetric::parse_list(&args.metric).map_err(anyhow::Error::msg)?;
    let device = args.compute.setup()?;
    let attr = read_npy(&args.attr, &Expect::ATTRIBUTIONS)?;
    let masks = args
        .mask
        .as_ref()
        .map(|m| read_npy(m, &Expect::MASKS))
        .transpose()?;
    let method = match &args.method {
        Some(MethodSelection(m)) if m.len() == 1 => Some(m[0]),
        Some(_) => bail!("--method takes one method: the one that made --attr"),
        None => None,
    };
    let loaded = match (&args.weights, &args.input, &args.target) {
        (Some(w), Some(x), Some(t)) => {
            let (model, _) = load_weights(w, args.arch, device)?;
            let x = read_npy(x, &Expect::IMAGES)?
                .to_kind(tch::Kind::Float)
                .to_device(device);
            let t = read_npy(t, &Expect::TARGETS)?.to_device(device);
            crate::attr::validate(&model, &x, &t).context("--input / --target")?;
            Some((model, x, t))
        }
        _ => None,
    };
    let input = ArrayInputs {
        attributions: &attr,
        masks: masks.as_ref(),
        model: loaded.as_ref().map(|(model, inputs, targets)| ModelInputs {
            model,
            inputs,
            targets,
        }),
        method,
    };
    let cfg = ScoreConfig {
        seed: args.seed,
        ..ScoreConfig::default()
    };
    let values = metrics_on_arrays(&input, &metrics, args.convention, &cfg)
        .map_err(naming_the_flag)
        .with_context(|| format!("metrics of {}", args.attr.display()))?;
    if args.json {
        for line in json_lines(&values) {
            println!("{line}");
        }
    } else {
        print!("{}", table(&values));
    }
    Ok(())
}

/// A metric's missing input named by the flag that gives it.
fn naming_the_flag(e: ScoreError) -> anyhow::Error {
    match e {
        ScoreError::Needs { metric, need } => anyhow::anyhow!(
            "{metric} needs {}",
            match need {
                Need::Masks => "--mask (N, H, W)",
                Need::Model => "the model: --weights, --input and --target",
                Need::Method => "--method (it re-runs the method)",
            }
        ),
        e => e.into(),
    }
}

/// One JSON object per image: `{"image": i, "<metric>": value or null, ...}`.
fn json_lines(values: &[MetricValues]) -> Vec<String> {
    let n = values.first().map_or(0, |v| v.1.len());
    (0..n)
        .map(|i| {
            let mut o = serde_json::Map::new();
            o.insert("image".into(), i.into());
            for (m, v) in values {
                let x =
                    serde_json::Number::from_f64(v[i]).map_or(serde_json::Value::Null, Into::into);
                o.insert(m.key().into(), x);
            }
            serde_json::Value::Object(o).to_string()
        })
        .collect()
}

/// A Markdown table, one row per image.
fn table(values: &[MetricValues]) -> String {
    let mut out = String::from("| image |");
    for (m, _) in values {
        out.push_str(&format!(" {} |", m.key()));
    }
    out.push_str("\n|---:|");
    out.push_str(&"---:|".repeat(values.len()));
    out.push('\n');
    let n = values.first().map_or(0, |v| v.1.len());
    for i in 0..n {
        out.push_str(&format!("| {i} |"));
        for (_, v) in values {
            out.push_str(&format!(" {} |", v[i]));
        }
        out.push('\n');
    }
    out
}
