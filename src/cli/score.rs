//! `sarxai score`: every method on the chosen test images of a trained model's data, the
//! per-image metrics (`per_image.csv`, resumable), Table 1 (Markdown, CSV, JSON) with the
//! paper's values and rank agreement, Figure 1 and the XAI-entropy encoder sweep.
//!
//! The data is the training run's (its `config.yaml`: data, polarization, split,
//! preprocessing), found from `--run RUN_DIR` or the directory of `--weights`; `--data` /
//! `--synthetic` override it. With the run's data, its test split digest is checked against
//! its `run.json`. See [`crate::score::scoring`] for the semantics.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::explain::MethodSelection;
use super::print_config::{self, Given};
use super::run_data::RunDataArgs;
use super::ComputeArgs;
use crate::attr::MemoryBudget;
use crate::data::naming::Pol;
use crate::data::Split;
use crate::score::scoring::{
    score, score_shard, MethodTiming, ScoreConfig, ScoreData, ShardSummary, TargetChoice,
};
use crate::score::selection::Selection;
use crate::score::{Metric, PaperTable, Shard};
use crate::train::files;

/// Which test images are explained (Table 1's sample): K per class, seeded.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SelectionArgs {
    /// Test images explained per class (every class, equal counts).
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub(crate) per_class: usize,
    /// Seed of the per-class draw of the explained images.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub(crate) select_seed: u64,
    /// Draw only among test images the model classifies correctly.
    #[arg(long)]
    pub(crate) correct_only: bool,
    /// Up to K per class: a class with fewer eligible test images gives what it has (as
    /// the transfer profile draws on real chip sets with rare classes).
    #[arg(long)]
    pub(crate) up_to: bool,
}

impl SelectionArgs {
    pub(crate) fn selection(&self) -> Selection {
        Selection::Stratified {
            per_class: self.per_class,
            seed: self.select_seed,
            correct_only: self.correct_only,
            at_most: self.up_to,
        }
    }
}

/// `all`, `paper` (Max-Sensitivity and XAI entropy), or a comma-separated list of metrics.
#[derive(Debug, Clone)]
pub(crate) struct MetricSelection(pub(crate) Vec<Metric>);

impl std::str::FromStr for MetricSelection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::parse_list(s).map(Self)
    }
}

/// `sarxai score`: per-image metrics of every method on K test images per class, Table 1,
/// Figure 1.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai score --run runs/vh --per-class 10 --out scores/vh
  sarxai score --run runs/vh --per-class 5 --correct-only --select-seed 3 --out scores/vh-correct
  sarxai score --run runs/vh --images 100 --out scores/vh-first100
  sarxai score --weights runs/vv/model.safetensors --methods saliency,grad-cam --metrics paper --out scores/vv
  sarxai score --weights w.safetensors --data OpenSARUrban/ --pol vh --size 100 --out scores/vh
  sarxai score --run runs/vh --per-class 10 --shard 0/4 --out scores/vh-shard0   (then 1/4 .. 3/4; sarxai merge)

Explains one test image of every class by default (--per-class, drawn with --select-seed;
images.csv lists them). Writes per_image.csv (one row per image x method, appended as images complete: run the same
command again to resume), timings.csv, entropy_settings.csv, table1.md, table1.csv,
table1.json, figure1_<pol>.png and score.json. Attributions explain the true label unless
--target predicted. With --shard I/N (0-based, I < N) the same selection is made and only
the images at positions p with p mod N = I are scored: per_image.csv, timings.csv and
shard.json (Figure 1 on the shard of the figure image), no Table 1; sarxai merge
combines the N shard directories into exactly what one process writes.")]
pub struct ScoreArgs {
    /// Checkpoint (safetensors); default: RUN_DIR/model.safetensors with --run.
    #[arg(long, required_unless_present = "run")]
    pub(crate) weights: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) source: RunDataArgs,
    /// A method, a comma-separated list, or all.
    #[arg(long, default_value = "all")]
    pub(crate) methods: MethodSelection,
    /// Metrics: all, paper (the paper's: max_sensitivity, max_sensitivity_captum09,
    /// entropy_kb), or a comma-separated list of metric keys, the columns of
    /// per_image.csv (an unknown key's error lists every one).
    #[arg(long, default_value = "all")]
    pub(crate) metrics: MetricSelection,
    /// Explain the first N images of the test split instead of a stratified selection
    /// (default: the stratified selection of --per-class).
    #[arg(long, value_name = "N", conflicts_with_all = ["per_class", "select_seed", "correct_only", "up_to"])]
    pub(crate) images: Option<usize>,
    #[command(flatten)]
    pub(crate) selection: SelectionArgs,
    /// Output directory (resumed when it holds a per_image.csv of the same model);
    /// required.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Score only shard I of N (0-based: 0 <= I < N; images at positions p mod N = I of
    /// the selection) into --out, for `sarxai merge`. Default: every image, one process.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<Shard>,
    /// Seed of the Max-Sensitivity and infidelity noise (drawn per image).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// The class explained: the true label (default) or the prediction.
    #[arg(long, value_enum, default_value = "true-label")]
    pub(crate) target: TargetChoice,
    /// Explained image shown in Figure 1 (its position in images.csv, below N).
    #[arg(long, default_value_t = 0)]
    pub(crate) figure_image: usize,
    /// The paper's column to compare with (default: the data's polarization).
    #[arg(long)]
    pub(crate) paper_pol: Option<Pol>,
    /// The paper's table as YAML (default: the compiled-in fixtures/paper_table1.yaml).
    #[arg(long, value_name = "FILE.yaml")]
    pub(crate) paper: Option<PathBuf>,
    /// Memory for one batched pass (IG steps, occlusion windows), MiB.
    #[arg(long, default_value_t = MemoryBudget::default().memory_mib)]
    pub(crate) memory_mib: usize,
    /// No progress bar.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) compute: ComputeArgs,
    /// Print the effective configuration as YAML, each value with its source (the
    /// training run's config.yaml, a default, or the option typed), and exit.
    #[arg(long)]
    pub(crate) print_config: bool,
    /// The options typed (filled by the binary; names the sources of --print-config).
    #[arg(skip)]
    pub given: Given,
}

/// What `score --print-config` prints besides the data settings.
#[derive(serde::Serialize)]
struct ScoreOptions {
    methods: Vec<&'static str>,
    metrics: Vec<&'static str>,
    images: Option<usize>,
    per_class: usize,
    select_seed: u64,
    correct_only: bool,
    up_to: bool,
    seed: u64,
    target: &'static str,
    figure_image: usize,
    paper_pol: Option<Pol>,
    paper: Option<PathBuf>,
    memory_mib: usize,
    shard: Option<String>,
    out: PathBuf,
    device: crate::device::DeviceChoice,
    threads: Option<i64>,
}

/// `score --print-config`: weights, the data settings (the run's, then overrides) and
/// every option, each with its source.
#[derive(serde::Serialize)]
struct ScoreEffective<'a> {
    weights: PathBuf,
    data: &'a crate::train::config::DataSource,
    dataset: &'a crate::data::DatasetConfig,
    options: ScoreOptions,
}

impl ScoreArgs {
    fn weights(&self) -> Result<PathBuf> {
        match (&self.weights, &self.source.run) {
            (Some(w), _) => Ok(w.clone()),
            (None, Some(r)) => Ok(r.join(files::WEIGHTS)),
            (None, None) => bail!("pass --weights W.safetensors or --run RUN_DIR"),
        }
    }

    fn print_config(&self) -> Result<String> {
        let weights = self.weights()?;
        let settings = self.source.settings(&weights)?;
        let data_layers = [
            (settings.base_name(), &settings.base),
            ("command line".to_string(), &settings.cfg),
        ];
        let mut sources = print_config::layer_sources(&data_layers);
        sources.retain(|k, _| k.starts_with("data.") || k.starts_with("dataset."));
        for (path, source) in &mut sources {
            if source == "command line" {
                if let Some(flag) = self.given.flag_for_path(path, super::train::CONFIG_FLAGS) {
                    *source = flag;
                }
            }
        }
        sources.insert("weights".into(), self.given.or("weights", "--run"));
        let a = self;
        let options = ScoreOptions {
            methods: a.methods.0.iter().map(|m| m.name()).collect(),
            metrics: a.metrics.0.iter().map(|m| m.key()).collect(),
            images: a.images,
            per_class: a.selection.per_class,
            select_seed: a.selection.select_seed,
            correct_only: a.selection.correct_only,
            up_to: a.selection.up_to,
            seed: a.seed,
            target: a.target.key(),
            figure_image: a.figure_image,
            paper_pol: a.paper_pol,
            paper: a.paper.clone(),
            memory_mib: a.memory_mib,
            shard: a.shard.map(|s| s.to_string()),
            out: a.out.clone(),
            device: a.compute.device,
            threads: a.compute.threads,
        };
        let value = serde_json::to_value(&options)?;
        for key in value.as_object().expect("a struct").keys() {
            let default = match key.as_str() {
                "paper_pol" => "default: the data's polarization",
                "paper" => "default: fixtures/paper_table1.yaml (compiled in)",
                "threads" => "default: libtorch's choice",
                "images" | "shard" => "default: not used",
                _ => "default",
            };
            sources.insert(format!("options.{key}"), a.given.or(key, default));
        }
        let effective = ScoreEffective {
            weights,
            data: &settings.cfg.data,
            dataset: &settings.cfg.dataset,
            options,
        };
        Ok(format!(
            "# sarxai score: effective configuration, each value with its source\n{}",
            print_config::render(&effective, &sources)
        ))
    }
}

/// Runs `sarxai score`.
pub fn run(args: ScoreArgs) -> Result<()> {
    if args.print_config {
        print!("{}", args.print_config()?);
        return Ok(());
    }
    let device = args.compute.setup()?;
    let weights = args.weights()?;
    if !weights.is_file() {
        bail!("{}: no such file", weights.display());
    }
    let paper = match &args.paper {
        Some(p) => Some(PaperTable::from_yaml_file(p)?),
        None => None,
    };
    let (model, weights_source) = super::load_weights(&weights, None, device)?;
    let source = args.source.load(&weights)?;
    source.check_pins(Split::Test, "score")?;
    let data = &source.data;
    let score_cfg = ScoreConfig {
        methods: args.methods.0.clone(),
        metrics: args.metrics.0.clone(),
        selection: match args.images {
            Some(n) => Selection::First { n },
            None => args.selection.selection(),
        },
        seed: args.seed,
        target: args.target,
        figure_image: args.figure_image,
        paper_pol: args.paper_pol,
        paper,
        budget: MemoryBudget {
            memory_mib: args.memory_mib,
            max_images: None,
        },
        progress: !args.quiet,
        weights_source,
        ..ScoreConfig::default()
    };
    // Held until the command returns: a second score, merge or reproduce writing the same
    // directory is refused, naming this one.
    let _lock = crate::io::lock_dir(&args.out)?;
    let sd = ScoreData {
        split: data.test(),
        classes: data.classes(),
        pol: data.dataset.pol,
        root: Some(&data.dataset.root),
    };
    if let Some(shard) = args.shard {
        let s = score_shard(&score_cfg, &model, &sd, &args.out, shard)
            .with_context(|| format!("scoring shard {shard} of {}", weights.display()))?;
        report_shard(&s);
        print_timings(&s.timings, device);
        return Ok(());
    }
    let s = score(&score_cfg, &model, &sd, &args.out)
        .with_context(|| format!("scoring {}", weights.display()))?;
    if s.resumed_pairs > 0 {
        eprintln!(
            "resumed: {} image x method pair(s) were already in {}",
            s.resumed_pairs,
            args.out.join(crate::layout::score::PER_IMAGE).display()
        );
    }
    print!("{}", s.table.to_markdown());
    print_timings(&s.timings, device);
    println!();
    for f in &s.files {
        println!("wrote {}", f.display());
    }
    Ok(())
}

fn report_shard(s: &ShardSummary) {
    if s.resumed_pairs > 0 {
        eprintln!(
            "resumed: {} image x method pair(s) were already in {}",
            s.resumed_pairs,
            s.out_dir.join(crate::layout::score::PER_IMAGE).display()
        );
    }
    println!(
        "shard {}: {} of the {} selected image(s) scored into {} ({} pair(s) computed){}",
        s.shard,
        s.covered.len(),
        s.images,
        s.out_dir.display(),
        s.computed_pairs,
        match &s.figure {
            Some(f) => format!("; Figure 1: {}", f.display()),
            None => String::new(),
        }
    );
    println!("no Table 1 here: sarxai merge OUT SHARD_DIR... once all shards are complete");
}

fn print_timings(
    timings: &std::collections::BTreeMap<crate::attr::Method, MethodTiming>,
    device: tch::Device,
) {
    if timings.is_empty() {
        return;
    }
    println!("\nSeconds per image ({}):", crate::device::describe(device));
    println!(
        "{:<24} {:>10} {:>12} {:>10}",
        "method", "attribute", "max-sens", "total"
    );
    for (m, t) in timings {
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
