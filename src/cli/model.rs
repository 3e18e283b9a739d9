//! `sarxai model import|hash|info|logits|flops`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{read_npy, write_npy, ComputeArgs, Dtype};
use crate::model::{self, Arch};

/// `sarxai model`: inspect, hash and run checkpoints.
#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Convert a PyTorch checkpoint of a torchvision ResNet to sarxai's safetensors: a
    /// `torch.save(model.state_dict())` file, the same wrapped in a training script's dict
    /// (`{"state_dict": ...}`, `{"model": ...}`), with DataParallel's `module.` or a
    /// Lightning module's `model.` prefix, or a TorchScript archive. Read by libtorch (no
    /// Python); names, shapes and dtypes checked; architecture, input channels and classes
    /// taken from the weights; both hashes printed. The other commands also accept a
    /// .pt/.pth file wherever they take weights, importing it on the fly.
    ///
    /// Example: sarxai model import resnet101_vh.pth --arch resnet101 --out vh.safetensors
    Import {
        /// The PyTorch file (.pt, .pth, .ckpt, .tar: whatever torch.save wrote).
        file: PathBuf,
        /// Expected architecture (inferred from the weights when omitted; a file of another
        /// architecture is refused).
        #[arg(long)]
        arch: Option<Arch>,
        /// The dict keys leading to the state_dict, joined by '/', when the file holds
        /// several (for example `model` or `ema`).
        #[arg(long)]
        key: Option<String>,
        /// The safetensors checkpoint to write (atomically).
        #[arg(long)]
        out: PathBuf,
        /// Print the import report as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the SHA-256 of the checkpoint's canonical serialization (sorted names, dtype,
    /// shape, little-endian bytes): independent of file layout, stable across save/load.
    Hash {
        /// A checkpoint (safetensors, or a PyTorch file imported on the fly).
        file: PathBuf,
    },
    /// Print architecture, input channels, classes and parameter count.
    Info {
        /// A checkpoint (safetensors, or a PyTorch file imported on the fly).
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compute logits for X.npy (float32 N,C,H,W) in evaluation mode.
    Logits {
        /// A checkpoint (safetensors, or a PyTorch file imported on the fly).
        #[arg(long)]
        weights: PathBuf,
        /// Expected architecture (inferred from the file when omitted).
        #[arg(long)]
        arch: Option<Arch>,
        /// Input images X.npy (float32 N,C,H,W).
        #[arg(long)]
        input: PathBuf,
        /// Output .npy (N, classes).
        #[arg(long)]
        out: PathBuf,
        /// Precision of the model and the logits.
        #[arg(long, value_enum, default_value = "f32")]
        dtype: Dtype,
        /// Device and threads.
        #[command(flatten)]
        compute: ComputeArgs,
    },
    /// Print the FLOP model of occlusion: per layer, full re-inference of every occluded
    /// image against exact incremental inference (changed regions only) and the plan that
    /// incremental occlusion runs (fixed crops, then full maps from the switch layer).
    Flops {
        /// Architecture.
        #[arg(long, default_value = "resnet18")]
        arch: Arch,
        /// Input height and width.
        #[arg(long, num_args = 2, value_names = ["H", "W"], default_values_t = [100, 100])]
        size: Vec<i64>,
        /// Occlusion window (square), in pixels.
        #[arg(long, default_value_t = 15)]
        window: i64,
        /// Occlusion stride, in pixels.
        #[arg(long, default_value_t = 5)]
        stride: i64,
        /// Input channels (2: VH and VV).
        #[arg(long, default_value_t = 2)]
        channels: i64,
        /// Classes of the fc layer.
        #[arg(long, default_value_t = 10)]
        classes: i64,
        /// Only the totals, not every layer.
        #[arg(long)]
        totals: bool,
    },
}

/// Runs a `sarxai model` subcommand.
pub fn run(cmd: ModelCommand) -> Result<()> {
    match cmd {
        ModelCommand::Import {
            file,
            arch,
            key,
            out,
            json,
        } => import(&file, arch, key.as_deref(), &out, json)?,
        ModelCommand::Hash { file } => {
            let m = model::load(&file, None, tch::Device::Cpu)?;
            println!("{}  {}", model::model_hash(&m)?, file.display());
        }
        ModelCommand::Info { file, json } => {
            let info = model::inspect(&file)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                println!("file:        {}", file.display());
                println!("arch:        {}", info.config.arch);
                println!("channels:    {}", info.config.in_channels);
                println!("classes:     {}", info.config.num_classes);
                println!("parameters:  {}", info.parameters);
                println!("tensors:     {}", info.tensors);
            }
        }
        ModelCommand::Logits {
            weights,
            arch,
            input,
            out,
            dtype,
            compute,
        } => {
            let device = compute.setup()?;
            let mut m = model::load(&weights, arch, device)?;
            if dtype == Dtype::F64 {
                m.vs.double();
            }
            let x = read_npy(&input, &crate::npy::Expect::IMAGES)?;
            let s = x.size();
            if s.len() != 4 || s[1] != m.config.in_channels || !x.is_floating_point() {
                anyhow::bail!(
                    "{}: expected a float array (N, {}, H, W), got {:?} {:?}",
                    input.display(),
                    m.config.in_channels,
                    x.kind(),
                    s
                );
            }
            let logits = tch::no_grad(|| m.forward(&x.to_kind(dtype.kind()).to_device(device)));
            let logits = if x.kind() == tch::Kind::Double {
                logits
            } else {
                logits.to_kind(tch::Kind::Float)
            };
            write_npy(&out, &logits).with_context(|| format!("writing {}", out.display()))?;
        }
        ModelCommand::Flops {
            arch,
            size,
            window,
            stride,
            channels,
            classes,
            totals,
        } => print_flops(
            arch,
            (size[0], size[1]),
            window,
            stride,
            channels,
            classes,
            totals,
        )?,
    }
    Ok(())
}

/// `sarxai model import`: reads the PyTorch file, writes the safetensors checkpoint and
/// prints what was done.
fn import(
    file: &Path,
    arch: Option<Arch>,
    key: Option<&str>,
    out: &Path,
    json: bool,
) -> Result<()> {
    let imported = model::import(file, arch, key, tch::Device::Cpu)?;
    model::save(&imported.model, out).with_context(|| format!("writing {}", out.display()))?;
    let r = &imported.report;
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let or_none = |s: &str, none: &str| {
        if s.is_empty() {
            none.to_string()
        } else {
            s.to_string()
        }
    };
    println!("source:        {}", file.display());
    println!("source sha256: {}", r.source_sha256);
    println!("format:        {:?}", r.format);
    println!(
        "state_dict at: {}",
        or_none(&r.state_dict_at, "(top level)")
    );
    println!("prefix:        {}", or_none(&r.prefix, "(none)"));
    println!("arch:          {}", r.config.arch);
    println!("channels:      {}", r.config.in_channels);
    println!("classes:       {}", r.config.num_classes);
    for n in &r.notes {
        println!("note:          {n}");
    }
    println!("model hash:    {}", r.model_hash);
    println!("written:       {}", out.display());
    Ok(())
}

/// `sarxai model flops`: the FLOP table as Markdown.
fn print_flops(
    arch: Arch,
    (h, w): (i64, i64),
    window: i64,
    stride: i64,
    channels: i64,
    classes: i64,
    totals: bool,
) -> Result<()> {
    if window < 1 || stride < 1 || window > h.min(w) {
        anyhow::bail!("window {window} and stride {stride} must be positive and fit {h}x{w}");
    }
    model::ResNetConfig::new(arch, channels, classes)?;
    let ws = crate::attr::OcclusionConfig {
        window: (window, window),
        stride: (stride, stride),
        baseline: 0.0,
    }
    .windows(h, w);
    let g = model::graph::Graph::resnet(arch, channels);
    let t = model::flops::flop_table(&g, h, w, &ws, classes);
    let gf = |x: f64| x / 1e9;
    println!(
        "{arch}, {h}x{w}, {channels} channels, {} windows of {window}x{window} stride {stride} \
         (GFLOPs per image, a multiply-add = 2)\n",
        t.windows
    );
    if !totals {
        println!("| layer | map | largest region | full | exact incremental | plan |");
        println!("|---|---|---|---:|---:|---:|");
        for l in &t.layers {
            println!(
                "| {} | {}x{} | {}x{} | {:.3} | {:.3} | {:.3} |",
                l.name,
                l.map.0,
                l.map.1,
                l.region.0,
                l.region.1,
                gf(l.full),
                gf(l.exact),
                gf(l.planned)
            );
        }
    }
    let (full, exact, planned) = t.totals();
    println!(
        "| total (+ the unoccluded pass {:.3}) | | | {:.2} | {:.2} | {:.2} |",
        gf(t.base),
        gf(full),
        gf(exact),
        gf(planned)
    );
    println!(
        "\nspeed-up exactness allows: {:.2}x (exact regions), {:.2}x (plan: crops up to {}, \
         then full maps)",
        full / exact,
        full / planned,
        t.switch_layer.as_deref().unwrap_or("the end")
    );
    Ok(())
}
