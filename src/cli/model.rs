//! `sarxai model hash|info|logits`.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{read_npy, write_npy, ComputeArgs, Dtype};
use crate::model::{self, Arch};

#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Print the SHA-256 of the checkpoint's canonical serialization (sorted names, dtype,
    /// shape, little-endian bytes): independent of file layout, stable across save/load.
    Hash {
        /// A safetensors checkpoint.
        file: PathBuf,
    },
    /// Print architecture, input channels, classes and parameter count.
    Info {
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compute logits for X.npy (float32 N,C,H,W) in evaluation mode.
    Logits {
        #[arg(long)]
        weights: PathBuf,
        /// Expected architecture (inferred from the file when omitted).
        #[arg(long)]
        arch: Option<Arch>,
        #[arg(long)]
        input: PathBuf,
        /// Output .npy (N, classes).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "f32")]
        dtype: Dtype,
        #[command(flatten)]
        compute: ComputeArgs,
    },
}

pub fn run(cmd: ModelCommand) -> Result<()> {
    match cmd {
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
    }
    Ok(())
}
