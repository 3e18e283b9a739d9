//! `sarxai merge OUT SHARD_DIR...`: combines the shard directories of
//! `sarxai score --shard I/N` into what a single `sarxai score` writes (Table 1, Figure 1,
//! per_image.csv, images.csv, score.json); see [`crate::score::merge()`] for the checks.

use std::path::PathBuf;

use anyhow::{Context, Result};

/// `sarxai merge`: shard directories of `score --shard` combined into one run.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai merge scores/vh scores/vh-shard0 scores/vh-shard1 scores/vh-shard2 scores/vh-shard3
  sarxai merge scores/vh scores/vh-shard*

Every shard 0/N .. (N-1)/N must be given once, complete, from the same model, data,
settings and selection; OUT must be new or empty. timings.csv holds the shards' own
wall-clock seconds; every other file equals a single-process run's byte for byte.")]
pub struct MergeArgs {
    /// Output directory (new or empty).
    pub(crate) out: PathBuf,
    /// The shard directories (each holds a shard.json).
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub(crate) shards: Vec<PathBuf>,
}

/// Runs `sarxai merge`.
pub fn run(args: MergeArgs) -> Result<()> {
    // A second writer of OUT (merge or score) is refused while this one runs.
    let _lock = crate::io::lock_dir(&args.out)?;
    let s = crate::score::merge(&args.out, &args.shards)
        .with_context(|| format!("merging {} shard directories", args.shards.len()))?;
    print!("{}", s.table.to_markdown());
    if s.devices.len() > 1 {
        eprintln!(
            "note: the shards ran on {} devices ({}); values may differ from one process in their last bits",
            s.devices.len(),
            s.devices.join("; ")
        );
    }
    println!();
    println!("merged {} shards, {} images", s.shards, s.images);
    for f in &s.files {
        println!("wrote {}", f.display());
    }
    Ok(())
}
