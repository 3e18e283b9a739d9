//! `sarxai train`: train the classifier of one polarization into a run directory.
//!
//! Configuration precedence: `--profile` (default: the built-in defaults), then the YAML
//! file of `--config`, then the options given on the command line. With `--resume RUN_DIR`
//! the run's own `config.yaml` is the base and options given must agree with it (only
//! `--device` and `--threads` may change).

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::print_config;
use crate::data::naming::Pol;
use crate::data::preprocess::InputQuantity;
use crate::device::DeviceChoice;
use crate::model::Arch;
use crate::train::augment::{AugmentPreset, RangeAxis};
use crate::train::{
    self, AugmentConfig, Balance, EpochMetrics, OptimizerKind, Profile, RunOptions, ScheduleKind,
    Select, TrainConfig,
};

/// `sarxai train`: the classifier of one polarization.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai train --synthetic --pol vh --profile quick --out runs/quick-vh
  sarxai train --data OpenSARUrban/ --format Patch --pol vv --arch resnet101 --profile paper --out runs/vv
  sarxai train --config train.yaml --out runs/a        # every option can live in the YAML file
  sarxai train --resume runs/a                          # continue after a kill, same result

The run directory receives config.yaml (effective configuration), run.json (manifest: data
and split digests, seeds, versions, device, threads, results), checkpoint.safetensors (every
epoch), metrics.jsonl, curve.png, model.safetensors, model.sha256, eval.json, eval.txt and
confusion.png.")]
pub struct TrainArgs {
    /// Run directory (must be new or empty); required unless --resume or --print-config.
    #[arg(long, required_unless_present_any = ["resume", "print_config"])]
    pub(crate) out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint (default: a new run).
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "out")]
    pub(crate) resume: Option<PathBuf>,
    /// YAML configuration (keys as in a run's config.yaml; default: none, the profile
    /// alone). `--print-config` shows what each profile sets.
    #[arg(long, value_name = "FILE.yaml")]
    pub(crate) config: Option<PathBuf>,
    /// Starting configuration before the YAML file and the options (default: default,
    /// the real-chip recipe).
    #[arg(long, value_enum)]
    pub(crate) profile: Option<Profile>,

    /// Dataset directory (any layout `sarxai data inspect` understands), or a zip archive
    /// of it (checked against its pin, extracted once into a verified cache). Default: none
    /// (--synthetic, or data.dir of --config).
    #[arg(long, value_name = "DIR|ZIP", conflicts_with = "synthetic")]
    pub(crate) data: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) archive: super::data::ArchiveArgs,
    /// Train on the default synthetic dataset (generated into the cache once; the quick
    /// profile's default).
    #[arg(long)]
    pub(crate) synthetic: bool,
    /// Synthetic patches per class (default 100).
    #[arg(long)]
    pub(crate) per_class: Option<usize>,
    /// Cache directory for the synthetic dataset (default: $SARXAI_CACHE, else
    /// $XDG_CACHE_HOME/sarxai, else ~/.cache/sarxai).
    #[arg(long, value_name = "DIR")]
    pub(crate) data_cache: Option<PathBuf>,
    /// Polarization: vh or vv (default: none; required when the data hold both).
    #[arg(long)]
    pub(crate) pol: Option<Pol>,
    /// Format group when the data holds several: a group name (e.g. Patch) or what its
    /// files hold (e.g. tiff:f32). Default: none; required when the data hold several.
    #[arg(long)]
    pub(crate) format: Option<String>,
    /// Image side in pixels, resized or cropped to it (default 100 on every profile).
    #[arg(long)]
    pub(crate) size: Option<usize>,
    /// Seed of the stratified train/val/test split of data without split folders
    /// (default 0).
    #[arg(long)]
    pub(crate) split_seed: Option<u64>,
    /// Test fraction of the stratified split (default 0.2).
    #[arg(long)]
    pub(crate) test_fraction: Option<f64>,
    /// Fraction of the training split carved out for per-epoch validation (default 0.1).
    #[arg(long)]
    pub(crate) val_fraction: Option<f64>,

    /// resnet18, resnet34, resnet50 or resnet101 (default resnet18; resnet101 on the paper
    /// profile).
    #[arg(long)]
    pub(crate) arch: Option<Arch>,
    /// Input channels: 1, or 3 (the band replicated); default 1.
    #[arg(long)]
    pub(crate) channels: Option<i64>,
    /// Epochs to train (default 24 on real data, the real-chip recipe; the quick profile
    /// 6, the paper profile 60).
    #[arg(long)]
    pub(crate) epochs: Option<usize>,
    /// Training batch size (default 32 on every profile).
    #[arg(long)]
    pub(crate) batch_size: Option<usize>,
    /// Peak learning rate (default 0.05 with SGD; 0.001 on the quick profile's AdamW).
    #[arg(long)]
    pub(crate) lr: Option<f64>,
    /// Seed of initialisation, order and augmentation (default 0).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Optimizer (default sgd with Nesterov momentum; adamw on the quick profile).
    #[arg(long, value_enum)]
    pub(crate) optimizer: Option<OptimizerKind>,
    /// SGD momentum (default 0.9).
    #[arg(long)]
    pub(crate) momentum: Option<f64>,
    /// Weight decay (default 5e-4 with SGD; 0.01 on the quick profile's AdamW).
    #[arg(long)]
    pub(crate) weight_decay: Option<f64>,
    /// Learning-rate schedule after the warm-up (default cosine).
    #[arg(long, value_enum)]
    pub(crate) schedule: Option<ScheduleKind>,
    /// Linear warm-up in epochs (default 1; quick profile 0.5, paper profile 2).
    #[arg(long)]
    pub(crate) warmup_epochs: Option<f64>,
    /// Class imbalance: none (default), sampler (class-balanced sampling; the paper
    /// profile's) or loss-weights.
    #[arg(long, value_enum)]
    pub(crate) balance: Option<Balance>,
    /// Augmentation preset: sar (azimuth flips and 4-pixel translations: keeps the look
    /// direction; the default for real data), natural (both flips, 90-degree rotations,
    /// 8-pixel translations; the default with --synthetic) or none.
    #[arg(long, value_enum)]
    pub(crate) augment: Option<AugmentPreset>,
    /// The image axis along which range (the look direction) runs: x (columns, Sentinel-1
    /// GRD chips; default) or y (rows, e.g. MSTAR). The sar preset never flips across it.
    #[arg(long, value_enum)]
    pub(crate) range_axis: Option<RangeAxis>,
    /// What the files hold: auto (by sample type: float is amplitude, 8/16-bit unsigned
    /// is a display render), amplitude, intensity, or display (grey levels used as
    /// stored, no dB). Default auto.
    #[arg(long, value_enum)]
    pub(crate) radiometry: Option<InputQuantity>,
    /// Turn every augmentation off (the same as --augment none).
    #[arg(long)]
    pub(crate) no_augment: bool,
    /// Random-crop translation in pixels (0 disables); read from the chip around the image
    /// where the chip is large enough (e.g. 88-pixel crops of 128-pixel MSTAR chips), else
    /// mirrored at the image border (YAML augment.crop_from_chip: false always mirrors).
    /// Default 4.
    #[arg(long)]
    pub(crate) crop_padding: Option<usize>,
    /// Small random rotations up to this many degrees (0 disables; default 0).
    #[arg(long)]
    pub(crate) rotate_degrees: Option<f32>,
    /// Final weights: last epoch (default) or best validation accuracy.
    #[arg(long, value_enum)]
    pub(crate) select: Option<Select>,
    /// Keep checkpoint.safetensors after the run completes.
    #[arg(long)]
    pub(crate) keep_checkpoint: bool,

    /// Where to compute: cpu, cuda, or auto (cuda when available; default).
    #[arg(long)]
    pub(crate) device: Option<DeviceChoice>,
    /// libtorch intra-op threads (default: libtorch's choice, one per core).
    #[arg(long)]
    pub(crate) threads: Option<i64>,
    /// Stop after this many completed epochs, as if killed (the run can be resumed).
    #[arg(long, hide = true)]
    pub(crate) stop_after_epoch: Option<usize>,
    /// No progress bars or per-epoch lines.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Print the effective configuration as YAML, each value with its source (profile,
    /// YAML file or command line), and exit without training.
    #[arg(long)]
    pub(crate) print_config: bool,
    /// The options typed (filled by the binary; names the sources of --print-config).
    #[arg(skip)]
    pub given: print_config::Given,
}

/// The options that set a configuration section whose name is not the option's
/// (`--print-config` names them; the other options end their key's path).
pub(crate) const CONFIG_FLAGS: &[(&str, &str)] = &[
    ("data.dir", "data"),
    ("data.synthetic", "data"),
    ("data.synthetic", "synthetic"),
    ("data.dir", "synthetic"),
    ("data.synth.per_class", "per_class"),
    ("data.cache", "data_cache"),
    ("dataset.group", "format"),
    ("dataset.preprocess.input", "radiometry"),
    ("optimizer.kind", "optimizer"),
    ("schedule.kind", "schedule"),
    ("augment", "augment"),
    ("augment", "no_augment"),
    ("augment", "range_axis"),
    ("model.arch", "arch"),
    ("model.channels", "channels"),
];

impl TrainArgs {
    /// The options given on the command line, applied over `c`.
    pub(crate) fn apply(&self, c: &mut TrainConfig) {
        if let Some(d) = &self.data {
            c.data.dir = Some(d.clone());
            c.data.synthetic = false;
        }
        if self.synthetic {
            c.data.synthetic = true;
            c.data.dir = None;
        }
        macro_rules! set {
            ($opt:expr => $field:expr) => {
                if let Some(v) = $opt.clone() {
                    $field = v;
                }
            };
        }
        set!(self.per_class => c.data.synth.per_class);
        if let Some(p) = &self.data_cache {
            c.data.cache = Some(p.clone());
        }
        if let Some(p) = self.pol {
            c.dataset.pol = Some(p);
        }
        if let Some(f) = &self.format {
            c.dataset.group = Some(f.clone());
        }
        set!(self.size => c.dataset.preprocess.size);
        set!(self.split_seed => c.dataset.split.seed);
        set!(self.test_fraction => c.dataset.split.test_fraction);
        set!(self.val_fraction => c.val_fraction);
        set!(self.arch => c.model.arch);
        set!(self.channels => c.model.channels);
        set!(self.epochs => c.epochs);
        set!(self.batch_size => c.batch_size);
        set!(self.lr => c.optimizer.lr);
        set!(self.seed => c.seed);
        set!(self.optimizer => c.optimizer.kind);
        set!(self.momentum => c.optimizer.momentum);
        set!(self.weight_decay => c.optimizer.weight_decay);
        set!(self.schedule => c.schedule.kind);
        set!(self.warmup_epochs => c.schedule.warmup_epochs);
        set!(self.balance => c.balance);
        set!(self.radiometry => c.dataset.preprocess.input);
        if let Some(axis) = self.range_axis {
            c.augment = c.augment.clone().with_range_axis(c.data.range_axis, axis);
            c.data.range_axis = axis;
        }
        if let Some(p) = self.augment {
            c.augment = AugmentConfig::preset(p, c.data.range_axis);
        }
        if self.no_augment {
            c.augment = AugmentConfig::none();
        }
        set!(self.crop_padding => c.augment.crop_padding);
        set!(self.rotate_degrees => c.augment.rotate_degrees);
        set!(self.select => c.select);
        if self.keep_checkpoint {
            c.keep_checkpoint = true;
        }
        set!(self.device => c.device);
        if self.threads.is_some() {
            c.threads = self.threads;
        }
    }

    /// The effective configuration and run directory.
    pub(crate) fn resolve(&self) -> Result<(TrainConfig, PathBuf)> {
        let (mut layers, dir) = self.layers()?;
        let (_, cfg) = layers.pop().expect("at least the base layer");
        Ok((cfg, dir))
    }

    /// The configuration as it is built, each stage named for `--print-config`: the base
    /// (profile, or the resumed run's config.yaml), the YAML file, the synthetic-data
    /// augmentation default, the command line. The last is the effective configuration.
    fn layers(&self) -> Result<(Vec<(String, TrainConfig)>, PathBuf)> {
        let (base, dir) = match (&self.resume, &self.out) {
            (Some(dir), _) => {
                if self.profile.is_some() {
                    bail!("--profile cannot be combined with --resume: the run's config.yaml is the base");
                }
                let base = train::resume_config(dir)?;
                (
                    (dir.join(train::files::CONFIG).display().to_string(), base),
                    dir.clone(),
                )
            }
            (None, out) if out.is_some() || self.print_config => {
                let out = out.clone().unwrap_or_default();
                let p = self.profile.unwrap_or_default();
                let name = clap::ValueEnum::to_possible_value(&p)
                    .map_or_else(|| format!("{p:?}"), |v| v.get_name().to_string());
                ((format!("profile {name}"), TrainConfig::profile(p)), out)
            }
            (None, _) => bail!("pass --out RUN_DIR (or --resume RUN_DIR)"),
        };
        let mut layers = vec![base];
        if let Some(p) = &self.config {
            let cfg = TrainConfig::from_yaml_file(&layers[0].1, p)?;
            layers.push((p.display().to_string(), cfg));
        }
        let mut cfg = layers.last().expect("base").1.clone();
        // Synthetic data keeps the natural-image preset by default (its scenes have no
        // look direction; the sar preset is the default for real data only).
        let synthetic = self.synthetic || (cfg.data.synthetic && self.data.is_none());
        let yaml_augment = match &self.config {
            Some(p) => TrainConfig::yaml_file_sets_augment(p)?,
            None => false,
        };
        if synthetic
            && self.resume.is_none()
            && matches!(self.profile, None | Some(Profile::Default))
            && self.augment.is_none()
            && !yaml_augment
        {
            cfg.augment = AugmentConfig::natural();
            layers.push(("synthetic data: natural augmentation".into(), cfg.clone()));
        }
        self.apply(&mut cfg);
        layers.push(("command line".into(), cfg));
        Ok((layers, dir))
    }

    /// `--print-config`: the effective configuration, each value with its source.
    fn print_config(&self) -> Result<String> {
        let (layers, _) = self.layers()?;
        let named: Vec<(String, &TrainConfig)> =
            layers.iter().map(|(n, c)| (n.clone(), c)).collect();
        let mut sources = print_config::layer_sources(&named);
        for (path, source) in &mut sources {
            if source == "command line" {
                if let Some(flag) = self.given.flag_for_path(path, CONFIG_FLAGS) {
                    *source = flag;
                }
            }
        }
        let (_, cfg) = layers.last().expect("base");
        Ok(format!(
            "# sarxai train: effective configuration ({}), each value with its source\n{}",
            layers
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", then "),
            print_config::annotate(&cfg.to_yaml(), &sources)
        ))
    }
}

/// Runs `sarxai train`.
pub fn run(args: TrainArgs) -> Result<()> {
    if args.print_config {
        print!("{}", args.print_config()?);
        return Ok(());
    }
    let (mut cfg, dir) = args.resolve()?;
    // A zip archive: pin check, then its verified extraction is the data (archive.json).
    let mut archive = None;
    if let Some(data) = cfg.data.dir.clone() {
        let (extracted, record) = args.archive.resolve(&data)?;
        cfg.data.dir = Some(extracted);
        archive = record;
    }
    // Held until the command returns: a second train or reproduce on `dir` is refused.
    let _lock = crate::io::lock_dir(&dir)?;
    let print_epoch = |m: &EpochMetrics, epochs: usize| eprintln!("{}", m.summary(epochs));
    let opts = RunOptions {
        resume: args.resume.is_some(),
        stop_after_epoch: args.stop_after_epoch,
        progress: !args.quiet,
        on_epoch: (!args.quiet).then_some(&print_epoch as train::EpochObserver),
    };
    if !args.quiet {
        eprintln!(
            "augmentation: {} (range axis {}); radiometry: {} (run.json: data.dataset.radiometry)",
            cfg.augment.describe(),
            cfg.data.range_axis.name(),
            cfg.dataset.preprocess.input.name()
        );
    }
    let out = train::run(&cfg, &dir, &opts)?;
    if let Some(r) = &archive {
        crate::data::archive::write_record(&dir, r)?;
    }
    if !out.complete {
        eprintln!(
            "stopped after {} epoch(s); continue with: sarxai train --resume {}",
            out.epochs_done,
            dir.display()
        );
        return Ok(());
    }
    if let Some(t) = &out.test {
        println!("{}", t.summary());
    }
    println!("model hash: {}", out.model_hash);
    println!("weights:    {}", out.weights.display());
    println!("run:        {}", dir.display());
    Ok(())
}
