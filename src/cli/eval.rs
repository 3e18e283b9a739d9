//! `sarxai eval`: accuracy with a 95 % confidence interval (Wilson; Clopper-Pearson too),
//! balanced accuracy, per-class precision / recall / F1 and the confusion matrix (text,
//! JSON, PNG) of a checkpoint on one split.
//!
//! The data is preprocessed exactly as in training: when the weights sit in a run
//! directory (or `--run` names one), its `config.yaml` supplies the data, polarization,
//! split and preprocessing, and the split digests are checked against its `run.json`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::data::naming::Pol;
use crate::data::Split;
use crate::eval::{evaluate, EvalReport};
use crate::model;
use crate::train::data::{prepare_data, Samples};
use crate::train::manifest::RunManifest;
use crate::train::{files, TrainConfig};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai eval --weights runs/vh/model.safetensors                # data and split from the run
  sarxai eval --weights runs/vh/model.safetensors --split val --json
  sarxai eval --weights w.safetensors --data OpenSARUrban/ --pol vv --size 100 --out report/")]
pub struct EvalArgs {
    /// Checkpoint (safetensors); architecture, channels and classes come from it.
    #[arg(long)]
    pub weights: PathBuf,
    /// Training run whose data settings to use (default: the weights' directory, when it
    /// holds a config.yaml).
    #[arg(long, value_name = "RUN_DIR")]
    pub run: Option<PathBuf>,
    /// Dataset directory (overrides the run's).
    #[arg(long, value_name = "DIR", conflicts_with = "synthetic")]
    pub data: Option<PathBuf>,
    /// The default synthetic dataset (overrides the run's data).
    #[arg(long)]
    pub synthetic: bool,
    /// Cache directory for the synthetic dataset.
    #[arg(long, value_name = "DIR")]
    pub data_cache: Option<PathBuf>,
    /// Polarization: vh or vv.
    #[arg(long)]
    pub pol: Option<Pol>,
    /// Format group when the data holds several.
    #[arg(long)]
    pub format: Option<String>,
    /// Image side in pixels.
    #[arg(long)]
    pub size: Option<usize>,
    /// Which split: train, val or test.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Also write eval.json, eval.txt and confusion.png into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Batch size of the forward passes.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    #[command(flatten)]
    pub compute: super::ComputeArgs,
}

fn parse_split(s: &str) -> Result<Split> {
    match s.to_ascii_lowercase().as_str() {
        "train" => Ok(Split::Train),
        "val" | "valid" | "validation" => Ok(Split::Val),
        "test" => Ok(Split::Test),
        other => bail!("unknown split {other:?}: use train, val or test"),
    }
}

pub fn run(args: EvalArgs) -> Result<()> {
    let split = parse_split(&args.split)?;
    let device = args.compute.setup()?;
    if !args.weights.is_file() {
        bail!("{}: no such file", args.weights.display());
    }
    let run_dir = args.run.clone().or_else(|| {
        args.weights
            .parent()
            .filter(|d| d.join(files::CONFIG).is_file())
            .map(|d| d.to_path_buf())
    });
    let mut cfg = match &run_dir {
        Some(d) => crate::train::resume_config(d)?,
        None => TrainConfig::default(),
    };
    let data_overridden = args.data.is_some() || args.synthetic;
    if let Some(d) = &args.data {
        cfg.data.dir = Some(d.clone());
        cfg.data.synthetic = false;
    }
    if args.synthetic {
        cfg.data.synthetic = true;
        cfg.data.dir = None;
    }
    if let Some(c) = &args.data_cache {
        cfg.data.cache = Some(c.clone());
    }
    if let Some(p) = args.pol {
        cfg.dataset.pol = Some(p);
    }
    if let Some(f) = &args.format {
        cfg.dataset.group = Some(f.clone());
    }
    if let Some(s) = args.size {
        cfg.dataset.preprocess.size = s;
    }
    if cfg.data.dir.is_none() && !cfg.data.synthetic {
        bail!("no data: pass --data DIR or --synthetic (or --run RUN_DIR of a training run)");
    }
    let model = model::load(&args.weights, None, device)?;
    let data = prepare_data(&cfg)?;
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
    if let (Some(d), false) = (&run_dir, data_overridden) {
        if let Ok(m) = RunManifest::read(&d.join(files::MANIFEST)) {
            let (want, got) = match split {
                Split::Train => (&m.data.used.train, &data.digests.train),
                Split::Val => (&m.data.used.val, &data.digests.val),
                Split::Test => (&m.data.used.test, &data.digests.test),
            };
            if want != got || m.data.manifest_digest != data.data_digest {
                bail!(
                    "the data no longer matches the run {}: {} split digest {got} (run: {want}), data digest {} (run: {}); evaluate on the run's data or pass --data explicitly",
                    d.display(),
                    split,
                    data.data_digest,
                    m.data.manifest_digest
                );
            }
        }
    }
    let (train_view, val_view) = (data.train(), data.val());
    let samples: &dyn Samples = match split {
        Split::Train => &train_view,
        Split::Val => &val_view,
        Split::Test => data.test(),
    };
    let report: EvalReport = evaluate(&model, split.name(), &classes, samples, args.batch_size)
        .with_context(|| format!("evaluating {}", args.weights.display()))?;
    if let Some(out) = &args.out {
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
