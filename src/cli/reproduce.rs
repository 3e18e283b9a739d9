//! `sarxai reproduce`: the whole study, stage by stage, into one run directory.

use std::path::PathBuf;

use anyhow::Result;

use super::explain::MethodSelection;
use crate::device::DeviceChoice;
use crate::report::selection::Selection;
use crate::reproduce::{
    default_out, reproduce, Budget, ReproduceConfig, ReproduceProfile, StudyEvent,
};

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
}

/// Runs `sarxai reproduce`.
pub fn run(args: ReproduceArgs) -> Result<()> {
    let transfer_only = [
        ("--arch", args.arch.is_some()),
        ("--channel-name", args.channel_name.is_some()),
        ("--range-axis", args.range_axis.is_some()),
    ];
    if let Some((flag, _)) = transfer_only.iter().find(|(_, set)| *set) {
        if args.profile != ReproduceProfile::Transfer {
            anyhow::bail!("{flag} applies to the transfer profile only (--profile transfer)");
        }
    }
    let data = match args.profile {
        ReproduceProfile::Quick => None,
        ReproduceProfile::Transfer => args.data,
        ReproduceProfile::Paper => args
            .data
            .or_else(|| std::env::var_os("OPENSARURBAN_DIR").map(PathBuf::from)),
    };
    let cfg = ReproduceConfig {
        profile: args.profile,
        smoke: args.smoke,
        data,
        format: args.format,
        archive: args.archive.options(),
        device: args.device,
        threads: args.threads,
        out: args.out.unwrap_or_else(|| default_out(args.profile)),
        selection: Selection::Stratified {
            per_class: args
                .per_class
                .unwrap_or_else(|| Budget::of(args.profile, args.smoke).per_class),
            seed: args.select_seed,
            correct_only: args.correct_only,
            // Real chip sets may hold classes with few test chips.
            at_most: args.profile == ReproduceProfile::Transfer,
        },
        methods: args.methods.0,
        arch: args.arch,
        channel_name: args.channel_name,
        range_axis: args.range_axis,
    };
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
