//! `sarxai reproduce`: the whole study, stage by stage, into one run directory.

use std::path::PathBuf;

use anyhow::Result;

use super::explain::MethodSelection;
use super::print_config::{self, Given};
use crate::device::DeviceChoice;
use crate::reproduce::{
    default_out, reproduce, ProfileBudget, ReproduceConfig, ReproduceProfile, StudyEvent,
};
use crate::score::selection::Selection;
use crate::train::TrainConfig;

/// `sarxai reproduce`: the whole study of one profile.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai reproduce                                  # quick profile, synthetic data, CPU
  sarxai reproduce --profile paper --data OpenSARUrbanDataset.zip --device cuda --out runs/paper
  sarxai reproduce --profile paper --data /data/OpenSARUrban --format tiff:f32 --out runs/paper
  sarxai data mock-opensarurban --out mock.zip --size 32 --per-class 5
  sarxai reproduce --profile paper --smoke --data mock.zip --allow-unpinned-data --out runs/smoke
  sarxai claims check runs/quick                    # verdicts again, after the pins check
  sarxai reproduce --methods saliency,grad-cam --out runs/quick-two   # a subset of the methods
  sarxai reproduce --replicates 3 --out runs/quick-x3  # three models per polarization, claims decided on all
  sarxai reproduce --profile transfer --data ../shared/data/mstar-soc --out runs/mstar
                                                    # the paper's claims on real radar (MSTAR SOC, HH)
  sarxai reproduce --profile transfer --smoke --data DIR --format Patch:tiff --out runs/ship

An interrupted run resumes: training from its last epoch checkpoint, scoring from the
per-image results already written.")]
pub struct ReproduceArgs {
    /// quick: ResNet-18 on the embedded synthetic data; paper: ResNet-101 on OpenSARUrban;
    /// transfer: the paper's protocol and claims on any labelled SAR chip set (--data),
    /// ResNet-18 on a CPU, every verdict a transfer verdict.
    #[arg(long, value_enum, default_value = "quick")]
    pub(crate) profile: ReproduceProfile,
    /// The profile's protocol end to end at a tiny budget (ResNet-18, one epoch, 32x32
    /// inputs, one test image per class): the same stages and functions as the full run,
    /// minutes on a CPU; every verdict marked "smoke: not comparable".
    #[arg(long)]
    pub(crate) smoke: bool,
    /// OpenSARUrbanDataset.zip (checked against its pin, extracted once into a verified
    /// cache) or a directory of it (paper profile; default $OPENSARURBAN_DIR); on the
    /// transfer profile a folder of labelled chips that `sarxai data inspect` reads
    /// (class folders, split folders in any case or a seeded split).
    #[arg(long, value_name = "ZIP|DIR")]
    pub(crate) data: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) archive: super::data::ArchiveArgs,
    /// Format group to train on: a group name or what its files hold (`sarxai data
    /// inspect` lists both). Default on the paper profile: tiff:f32 (single-band float32
    /// TIFF).
    #[arg(long)]
    pub(crate) format: Option<String>,
    /// Run directory (default runs/PROFILE).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Test images explained per class and polarization (default: 1 quick, 10 paper, 1
    /// smoke).
    #[arg(long, value_name = "K")]
    pub(crate) per_class: Option<usize>,
    /// Seed of the per-class draw of the explained test images.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub(crate) select_seed: u64,
    /// Explain only test images the model classifies correctly.
    #[arg(long)]
    pub(crate) correct_only: bool,
    /// Where training and scoring run: auto (CUDA when available, else CPU), cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub(crate) device: DeviceChoice,
    /// libtorch threads (default: 2 on the quick profile, whose CPU hashes are pinned).
    #[arg(long)]
    pub(crate) threads: Option<i64>,
    /// Methods to score: all, or a comma-separated list. A subset leaves the claims about
    /// the others, and the rankings (which need all eight), NOT RUN.
    #[arg(long, default_value = "all")]
    pub(crate) methods: MethodSelection,
    /// Transfer profile: the network (default resnet18; resnet101 on a GPU).
    #[arg(long, value_enum)]
    pub(crate) arch: Option<crate::model::Arch>,
    /// Transfer profile: the name of single-polarization data's channel, e.g. hh (default:
    /// the files' suffix; hh for MSTAR SOC, recognised by its class names; else single).
    #[arg(long, value_name = "NAME")]
    pub(crate) channel_name: Option<String>,
    /// Transfer profile: the image axis along which range runs (default y for MSTAR SOC,
    /// else x).
    #[arg(long, value_enum)]
    pub(crate) range_axis: Option<crate::train::RangeAxis>,
    /// Models trained per polarization, each from its own seed (initialisation, data
    /// order, augmentation; the split and the explained images stay): the claims are then
    /// decided by a two-level bootstrap (models, then images) and Table 1 shows the spread
    /// between and within models. Each model costs one training and one scoring.
    #[arg(long, value_name = "R", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) replicates: u32,
    /// Print the effective configuration as YAML (the run's options, then the training
    /// recipe of its first channel), each value with its source (the profile, a default,
    /// the transfer plan or the option typed), and exit.
    #[arg(long)]
    pub(crate) print_config: bool,
    /// The options typed (filled by the binary; names the sources of --print-config).
    #[arg(skip)]
    pub given: Given,
}

/// What `reproduce --print-config` prints: the run's options and the training recipe.
#[derive(serde::Serialize)]
struct ReproduceEffective {
    profile: &'static str,
    smoke: bool,
    data: Option<PathBuf>,
    format: Option<String>,
    out: PathBuf,
    per_class: usize,
    select_seed: u64,
    correct_only: bool,
    methods: Vec<&'static str>,
    replicates: usize,
    channels: Vec<String>,
    device: DeviceChoice,
    threads: Option<i64>,
    train: TrainConfig,
}

impl ReproduceArgs {
    /// The run's configuration from the options (profile defaults filled in).
    fn config(&self) -> Result<ReproduceConfig> {
        let a = self;
        let transfer_only = [
            ("--arch", a.arch.is_some()),
            ("--channel-name", a.channel_name.is_some()),
            ("--range-axis", a.range_axis.is_some()),
        ];
        if let Some((flag, _)) = transfer_only.iter().find(|(_, set)| *set) {
            if a.profile != ReproduceProfile::Transfer {
                anyhow::bail!("{flag} applies to the transfer profile only (--profile transfer)");
            }
        }
        if a.replicates > 1 && a.correct_only {
            anyhow::bail!("--replicates {} with --correct-only: replicate models are compared on the same test images, and --correct-only lets each model choose its own; drop one of the two", a.replicates);
        }
        Ok(ReproduceConfig {
            replicates: a.replicates as usize,
            profile: a.profile,
            smoke: a.smoke,
            data: a.data(),
            format: a.format.clone(),
            archive: a.archive.options(),
            device: a.device,
            threads: a.threads,
            out: a.out.clone().unwrap_or_else(|| default_out(a.profile)),
            selection: Selection::Stratified {
                per_class: a
                    .per_class
                    .unwrap_or_else(|| ProfileBudget::of(a.profile, a.smoke).per_class),
                seed: a.select_seed,
                correct_only: a.correct_only,
                // Real chip sets may hold classes with few test chips.
                at_most: a.profile == ReproduceProfile::Transfer,
            },
            methods: a.methods.0.clone(),
            arch: a.arch,
            channel_name: a.channel_name.clone(),
            range_axis: a.range_axis,
        })
    }

    /// `--data`, or on the paper profile $OPENSARURBAN_DIR; none on the quick profile.
    fn data(&self) -> Option<PathBuf> {
        match self.profile {
            ReproduceProfile::Quick => None,
            ReproduceProfile::Transfer => self.data.clone(),
            ReproduceProfile::Paper => self
                .data
                .clone()
                .or_else(|| std::env::var_os("OPENSARURBAN_DIR").map(PathBuf::from)),
        }
    }

    /// `--print-config`: the run's options and its first channel's training recipe, each
    /// value with its source. The recipe is built three times: the profile's (options at
    /// their defaults), with the options typed, and after the transfer profile's plan
    /// (channel and range axis read from the data).
    fn print_config(&self) -> Result<String> {
        let mut cfg = self.config()?;
        let profile = format!("profile {}", cfg.profile.name());
        let (planned, channels, _) = crate::reproduce::plan_channels(&cfg, &mut |_| {})?;
        cfg.data.clone_from(&planned.data);
        let mut plain = cfg.clone();
        (plain.format, plain.device, plain.threads) = (None, DeviceChoice::Auto, None);
        (plain.arch, plain.range_axis) = (None, None);
        let pol = channels.first().and_then(|c| c.pol);
        let layers = [
            (profile.clone(), plain.train_config(pol)?),
            ("command line".to_string(), cfg.train_config(pol)?),
            (
                "transfer plan (read from the data)".to_string(),
                planned.train_config(pol)?,
            ),
        ];
        let named: Vec<(String, &TrainConfig)> =
            layers.iter().map(|(n, c)| (n.clone(), c)).collect();
        let mut sources = std::collections::BTreeMap::new();
        for (path, source) in print_config::layer_sources(&named) {
            let source = match source.as_str() {
                "command line" => self
                    .given
                    .flag_for_path(&path, &[("dataset.group", "format")])
                    .unwrap_or(source),
                _ => source,
            };
            sources.insert(format!("train.{path}"), source);
        }
        let recipe = &layers[2].1;
        let g = &self.given;
        let data_default = match cfg.profile {
            ReproduceProfile::Quick => "profile quick: the embedded synthetic data".to_string(),
            ReproduceProfile::Paper if self.data.is_none() && cfg.data.is_some() => {
                "$OPENSARURBAN_DIR".into()
            }
            _ => "none given".into(),
        };
        for (key, source) in [
            ("profile", g.or("profile", "default")),
            ("smoke", g.or("smoke", "default")),
            ("data", g.or("data", &data_default)),
            (
                "format",
                g.or("format", &format!("{profile} (train.dataset.group)")),
            ),
            ("out", g.or("out", "default: runs/PROFILE")),
            ("per_class", g.or("per_class", &profile)),
            ("select_seed", g.or("select_seed", "default")),
            ("correct_only", g.or("correct_only", "default")),
            ("methods", g.or("methods", "default")),
            ("replicates", g.or("replicates", "default")),
            (
                "channels",
                if cfg.profile == ReproduceProfile::Transfer {
                    "transfer plan (read from the data)".into()
                } else {
                    profile.clone()
                },
            ),
            ("device", g.or("device", "default")),
            (
                "threads",
                g.or(
                    "threads",
                    if recipe.threads.is_some() {
                        &profile
                    } else {
                        "default: libtorch's choice"
                    },
                ),
            ),
        ] {
            sources.insert(key.to_string(), source);
        }
        sources.insert("train.data.dir".into(), sources["data"].clone());
        let Selection::Stratified { per_class, .. } = cfg.selection else {
            unreachable!("reproduce draws a stratified selection")
        };
        let effective = ReproduceEffective {
            profile: cfg.profile.name(),
            smoke: cfg.smoke,
            data: planned.data.clone(),
            format: cfg.format.clone(),
            out: cfg.out.clone(),
            per_class,
            select_seed: self.select_seed,
            correct_only: self.correct_only,
            methods: cfg.methods.iter().map(|m| m.name()).collect(),
            replicates: cfg.replicates,
            channels: channels.iter().map(|c| c.key.clone()).collect(),
            device: cfg.device,
            threads: recipe.threads,
            train: recipe.clone(),
        };
        Ok(format!(
            "# sarxai reproduce: effective configuration, each value with its source\n{}",
            print_config::render(&effective, &sources)
        ))
    }
}

/// Runs `sarxai reproduce`.
pub fn run(args: ReproduceArgs) -> Result<()> {
    if args.print_config {
        print!("{}", args.print_config()?);
        return Ok(());
    }
    let cfg = args.config()?;
    // Held until the command returns: a second reproduce or train on the run directory
    // is refused while this one writes it.
    let _lock = crate::io::lock_dir(&cfg.out)?;
    let out = reproduce(&cfg, &mut print_event)?;
    print!("{}", out.claims_table);
    eprintln!(
        "\nrun directory: {} (report.html, claims.txt, results.json); stage seconds: {}",
        cfg.out.display(),
        serde_json::to_string(&out.seconds)?
    );
    Ok(())
}

/// Prints the study's progress on standard error: `== stage` headers and notes.
fn print_event(event: StudyEvent<'_>) {
    match event {
        StudyEvent::Stage(name) => eprintln!("\n== {name}"),
        StudyEvent::Note(line) => eprintln!("{line}"),
    }
}
