//! Shards of one scoring run (`score --shard I/N`): which positions of the selection shard
//! I of N scores, and the errors of a shard specification or a shard directory. The shard's
//! manifest (`shard.json`, [`super::scoring::ShardManifest`]) belongs to scoring, which
//! writes it; [`super::merge()`] reads the manifests back and combines the shards.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The shard manifest's file name.
pub const SHARD_JSON: &str = crate::layout::score::SHARD_JSON;
/// Its `format`.
pub const FORMAT: &str = "sarxai-shard-1";

/// Shard `index` of `count` (0-based), written `i/n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, `i` (0-based).
    pub index: usize,
    /// The number of shards, `n`.
    pub count: usize,
}

impl Shard {
    /// Shard `index` of `count`: `count >= 1`, `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Shard, ShardError> {
        let spec = format!("{index}/{count}");
        if count == 0 {
            return Err(ShardError::Spec {
                spec,
                reason: "the shard count N must be at least 1".into(),
            });
        }
        if index >= count {
            return Err(ShardError::Spec {
                spec,
                reason: format!(
                    "the index must be below the count: shards are numbered 0 to {} (as Slurm's --array=0-{})",
                    count - 1,
                    count - 1
                ),
            });
        }
        Ok(Shard { index, count })
    }

    /// The positions of a selection of `n` images this shard scores: `p mod count = index`.
    pub fn positions(&self, n: usize) -> Vec<usize> {
        (self.index..n).step_by(self.count).collect()
    }

    /// Whether position `p` belongs to this shard.
    pub fn owns(&self, p: usize) -> bool {
        p % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let err = |reason: &str| ShardError::Spec {
            spec: s.to_string(),
            reason: reason.to_string(),
        };
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| err("expected I/N, e.g. 0/4 (shards are numbered from 0)"))?;
        let parse = |t: &str, what: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| err(&format!("{what} {t:?} is not a non-negative integer")))
        };
        Shard::new(parse(i, "the index")?, parse(n, "the count")?)
    }
}

/// A shard specification that is not `i/n` with `i < n`, or a directory that holds no
/// readable shard manifest.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// A shard specification that is not `i/n` with `i < n`.
    #[error("invalid shard {spec:?}: {reason}")]
    Spec {
        /// The specification given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A directory without a readable `shard.json`.
    #[error("{path} is not a shard directory: {reason}")]
    NotAShard {
        /// The directory.
        path: PathBuf,
        /// What is missing or unreadable.
        reason: String,
    },
}
