//! `sarxai score`: every method on the first N test images of a trained model's data, the
//! per-image metrics (`per_image.csv`, resumable), Table 1 (Markdown, CSV, JSON) with the
//! paper's values and rank agreement, Figure 1 and the XAI-entropy encoder sweep.
//!
//! The data is the training run's (its `config.yaml`: data, polarization, split,
//! preprocessing), found from `--run RUN_DIR` or the directory of `--weights`; `--data` /
//! `--synthetic` override it. With the run's data, its test split digest is checked against
//! its `run.json`. See [`crate::report::scoring`] for the semantics.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::explain::MethodSelection;
use super::run_data::RunDataArgs;
use super::ComputeArgs;
use crate::attr::Budget;
use crate::data::naming::Pol;
use crate::data::Split;
use crate::model;
use crate::report::scoring::{score, ScoreConfig, ScoreData, TargetChoice};
use crate::report::{Metric, PaperTable};
use crate::train::files;

/// `all`, `paper` (Max-Sensitivity and XAI entropy), or a comma-separated list of metrics.
#[derive(Debug, Clone)]
pub struct MetricSelection(pub Vec<Metric>);

impl std::str::FromStr for MetricSelection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::parse_list(s).map(Self)
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai score --run runs/vh --images 100 --out scores/vh
  sarxai score --weights runs/vv/model.safetensors --methods saliency,grad-cam --metrics paper --out scores/vv
  sarxai score --weights w.safetensors --data OpenSARUrban/ --pol vh --size 100 --out scores/vh

Writes per_image.csv (one row per image x method, appended as images complete: run the same
command again to resume), timings.csv, entropy_settings.csv, table1.md, table1.csv,
table1.json, figure1_<pol>.png and score.json. Attributions explain the true label unless
--target predicted.")]
pub struct ScoreArgs {
    /// Checkpoint (safetensors); default: RUN_DIR/model.safetensors with --run.
    #[arg(long, required_unless_present = "run")]
    pub weights: Option<PathBuf>,
    #[command(flatten)]
    pub source: RunDataArgs,
    /// A method, a comma-separated list, or all.
    #[arg(long, default_value = "all")]
    pub methods: MethodSelection,
    /// Metrics: all, paper (max_sensitivity, entropy_kb), or a comma-separated list of
    /// max_sensitivity, entropy_kb, shannon_bits, sparseness, relevance_mass_accuracy,
    /// pointing_game, deletion_auc, insertion_auc, infidelity, mprt_fc_spearman,
    /// mprt_all_spearman.
    #[arg(long, default_value = "all")]
    pub metrics: MetricSelection,
    /// Score the first N images of the test split (default: all of them).
    #[arg(long, value_name = "N")]
    pub images: Option<usize>,
    /// Output directory (resumed when it holds a per_image.csv of the same model).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the Max-Sensitivity and infidelity noise (drawn per image).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The class explained: the true label (default) or the prediction.
    #[arg(long, value_enum, default_value = "true-label")]
    pub target: TargetChoice,
    /// Test image shown in Figure 1 (index, below N).
    #[arg(long, default_value_t = 0)]
    pub figure_image: usize,
    /// The paper's column to compare with (default: the data's polarization).
    #[arg(long)]
    pub paper_pol: Option<Pol>,
    /// The paper's table as YAML (default: the compiled-in fixtures/paper_table1.yaml).
    #[arg(long, value_name = "FILE.yaml")]
    pub paper: Option<PathBuf>,
    /// Memory for one batched pass (IG steps, occlusion windows), MiB.
    #[arg(long, default_value_t = Budget::default().memory_mib)]
    pub memory_mib: usize,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub compute: ComputeArgs,
}

pub fn run(args: ScoreArgs) -> Result<()> {
    let device = args.compute.setup()?;
    let weights = match (&args.weights, &args.source.run) {
        (Some(w), _) => w.clone(),
        (None, Some(r)) => r.join(files::WEIGHTS),
        (None, None) => bail!("pass --weights W.safetensors or --run RUN_DIR"),
    };
    if !weights.is_file() {
        bail!("{}: no such file", weights.display());
    }
    let paper = match &args.paper {
        Some(p) => Some(PaperTable::from_yaml_file(p)?),
        None => None,
    };
    let model = model::load(&weights, None, device)?;
    let source = args.source.load(&weights)?;
    source.check_pins(Split::Test, "score")?;
    let data = &source.data;
    let score_cfg = ScoreConfig {
        methods: args.methods.0.clone(),
        metrics: args.metrics.0.clone(),
        images: args.images,
        seed: args.seed,
        target: args.target,
        figure_image: args.figure_image,
        paper_pol: args.paper_pol,
        paper,
        budget: Budget {
            memory_mib: args.memory_mib,
            max_images: None,
        },
        progress: !args.quiet,
        ..ScoreConfig::default()
    };
    let sd = ScoreData {
        split: data.test(),
        classes: data.classes(),
        pol: data.dataset.pol,
        root: Some(&data.dataset.root),
    };
    let s = score(&score_cfg, &model, &sd, &args.out)
        .with_context(|| format!("scoring {}", weights.display()))?;
    if s.resumed_pairs > 0 {
        eprintln!(
            "resumed: {} image x method pair(s) were already in {}",
            s.resumed_pairs,
            args.out.join("per_image.csv").display()
        );
    }
    print!("{}", s.table.to_markdown());
    if !s.timings.is_empty() {
        println!("\nSeconds per image ({}):", crate::device::describe(device));
        println!(
            "{:<24} {:>10} {:>12} {:>10}",
            "method", "attribute", "max-sens", "total"
        );
        for (m, t) in &s.timings {
            println!(
                "{:<24} {:>10.3} {:>12.3} {:>10.3}",
                m.name(),
                t.attribution_s,
                t.metrics_s
                    .get(&Metric::MaxSensitivity)
                    .copied()
                    .unwrap_or(0.0),
                t.total_s
            );
        }
    }
    println!();
    for f in &s.files {
        println!("wrote {}", f.display());
    }
    Ok(())
}
