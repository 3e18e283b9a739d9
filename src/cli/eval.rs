//! `sarxai eval`: accuracy with a 95 % confidence interval (Wilson; Clopper-Pearson too),
//! balanced accuracy, per-class precision / recall / F1 and the confusion matrix (text,
//! JSON, PNG) of a checkpoint on one split.
//!
//! The data is preprocessed exactly as in training: when the weights sit in a run
//! directory (or `--run` names one), its `config.yaml` supplies the data, polarization,
//! split and preprocessing, and the split digests are checked against its `run.json`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::run_data::RunDataArgs;
use crate::data::Split;
use crate::model;
use crate::train::data::Samples;
use crate::train::eval::{evaluate, EvalReport};
use crate::train::files;

/// `sarxai eval`: a checkpoint evaluated on one split.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai eval --weights runs/vh/model.safetensors                # data and split from the run
  sarxai eval --weights runs/vh/model.safetensors --split val --json
  sarxai eval --weights w.safetensors --data OpenSARUrban/ --pol vv --size 100 --out report/")]
pub struct EvalArgs {
    /// Checkpoint (safetensors); architecture, channels and classes come from it.
    #[arg(long)]
    pub(crate) weights: PathBuf,
    #[command(flatten)]
    pub(crate) source: RunDataArgs,
    /// Which split: train, val or test.
    #[arg(long, default_value = "test")]
    pub(crate) split: String,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also write eval.json, eval.txt and confusion.png into this directory (default:
    /// print only).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Batch size of the forward passes.
    #[arg(long, default_value_t = 128)]
    pub(crate) batch_size: usize,
    #[command(flatten)]
    pub(crate) compute: super::ComputeArgs,
}

fn parse_split(s: &str) -> Result<Split> {
    match s.to_ascii_lowercase().as_str() {
        "train" => Ok(Split::Train),
        "val" | "valid" | "validation" => Ok(Split::Val),
        "test" => Ok(Split::Test),
        other => bail!("unknown split {other:?}: use train, val or test"),
    }
}

/// Runs `sarxai eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let split = parse_split(&args.split)?;
    let device = args.compute.setup()?;
    if !args.weights.is_file() {
        bail!("{}: no such file", args.weights.display());
    }
    let model = model::load(&args.weights, None, device)?;
    let source = args.source.load(&args.weights)?;
    let data = &source.data;
    let classes = data.classes().to_vec();
    if model.config.num_classes as usize != classes.len() {
        bail!(
            "{} predicts {} classes but the data has {} ({})",
            args.weights.display(),
            model.config.num_classes,
            classes.len(),
            classes.join(", ")
        );
    }
    // Pins: the same data and split as the training run, unless the data was overridden.
    source.check_pins(split, "evaluate")?;
    let (train_view, val_view) = (data.train(), data.val());
    let samples: &dyn Samples = match split {
        Split::Train => &train_view,
        Split::Val => &val_view,
        Split::Test => data.test(),
    };
    let report: EvalReport = evaluate(&model, split.name(), &classes, samples, args.batch_size)
        .with_context(|| format!("evaluating {}", args.weights.display()))?;
    if let Some(out) = &args.out {
        let _lock = crate::io::lock_dir(out)?;
        let j = out.join(files::EVAL_JSON);
        let mut bytes = serde_json::to_vec_pretty(&report)?;
        bytes.push(b'\n');
        crate::io::write_atomic(&j, &bytes).with_context(|| j.display().to_string())?;
        let t = out.join(files::EVAL_TEXT);
        crate::io::write_atomic(&t, report.to_text().as_bytes())
            .with_context(|| t.display().to_string())?;
        let c = out.join(files::CONFUSION);
        report
            .save_confusion_png(&c)
            .with_context(|| c.display().to_string())?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}
