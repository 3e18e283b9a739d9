//! The data of `sarxai eval` and `sarxai score`: a training run's `config.yaml` (named by
//! `--run`, or found beside the weights) supplies data, polarization, split and
//! preprocessing; `--data` / `--synthetic` / `--pol` / `--format` / `--size` override it.
//! With the run's own data, the split digest and the data digest are checked against the
//! run's `run.json` (a pin), so a model is never scored on other data by accident.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::data::naming::Pol;
use crate::data::Split;
use crate::train::data::{prepare_data, PreparedData};
use crate::train::manifest::RunManifest;
use crate::train::{files, TrainConfig};

#[derive(Debug, clap::Args)]
pub struct RunDataArgs {
    /// Training run whose data settings to use (default: the weights' directory, when it
    /// holds a config.yaml).
    #[arg(long, value_name = "RUN_DIR")]
    pub run: Option<PathBuf>,
    /// Dataset directory (default: the run's data).
    #[arg(long, value_name = "DIR", conflicts_with = "synthetic")]
    pub data: Option<PathBuf>,
    /// The default synthetic dataset (overrides the run's data).
    #[arg(long)]
    pub synthetic: bool,
    /// Cache directory for the synthetic dataset (default: the run's, else $SARXAI_CACHE,
    /// $XDG_CACHE_HOME/sarxai or ~/.cache/sarxai).
    #[arg(long, value_name = "DIR")]
    pub data_cache: Option<PathBuf>,
    /// Polarization: vh or vv (default: the run's).
    #[arg(long)]
    pub pol: Option<Pol>,
    /// Format group when the data holds several (default: the run's).
    #[arg(long)]
    pub format: Option<String>,
    /// Image side in pixels (default: the run's).
    #[arg(long)]
    pub size: Option<usize>,
}

/// Prepared data and where its settings came from.
pub struct RunData {
    pub data: PreparedData,
    /// The training run whose config supplied the settings, if any.
    pub run_dir: Option<PathBuf>,
    /// Whether `--data` or `--synthetic` replaced the run's data (no pin check then).
    pub overridden: bool,
}

impl RunDataArgs {
    /// The training run whose config.yaml supplies the data settings: `--run`, else the
    /// weights' directory when it holds one.
    fn run_dir(&self, weights: &Path) -> Option<PathBuf> {
        self.run.clone().or_else(|| {
            weights
                .parent()
                .filter(|d| d.join(files::CONFIG).is_file())
                .map(Path::to_path_buf)
        })
    }

    /// The data settings for the model at `weights`: the run's configuration (or the
    /// built-in defaults without a run), then this command line's overrides.
    pub(crate) fn settings(&self, weights: &Path) -> Result<DataSettings> {
        let run_dir = self.run_dir(weights);
        let base = match &run_dir {
            Some(d) => crate::train::resume_config(d)?,
            None => TrainConfig::default(),
        };
        let mut cfg = base.clone();
        if let Some(d) = &self.data {
            cfg.data.dir = Some(d.clone());
            cfg.data.synthetic = false;
        }
        if self.synthetic {
            cfg.data.synthetic = true;
            cfg.data.dir = None;
        }
        if let Some(c) = &self.data_cache {
            cfg.data.cache = Some(c.clone());
        }
        if let Some(p) = self.pol {
            cfg.dataset.pol = Some(p);
        }
        if let Some(f) = &self.format {
            cfg.dataset.group = Some(f.clone());
        }
        if let Some(s) = self.size {
            cfg.dataset.preprocess.size = s;
        }
        Ok(DataSettings {
            run_dir,
            base,
            cfg,
            overridden: self.data.is_some() || self.synthetic,
        })
    }

    /// Resolves the settings for the model at `weights` and prepares the data.
    pub fn load(&self, weights: &Path) -> Result<RunData> {
        let s = self.settings(weights)?;
        if s.cfg.data.dir.is_none() && !s.cfg.data.synthetic {
            bail!("no data: pass --data DIR or --synthetic (or --run RUN_DIR of a training run)");
        }
        Ok(RunData {
            data: prepare_data(&s.cfg)?,
            run_dir: s.run_dir,
            overridden: s.overridden,
        })
    }
}

/// The data settings of `eval` and `score` before any data is read.
pub(crate) struct DataSettings {
    /// The training run whose config supplied the settings, if any.
    pub(crate) run_dir: Option<PathBuf>,
    /// The run's configuration (built-in defaults without a run).
    pub(crate) base: TrainConfig,
    /// `base` with the command line's overrides.
    pub(crate) cfg: TrainConfig,
    /// Whether `--data` or `--synthetic` replaced the run's data.
    pub(crate) overridden: bool,
}

impl DataSettings {
    /// Where the base came from: the run's config.yaml, or the built-in defaults.
    pub(crate) fn base_name(&self) -> String {
        match &self.run_dir {
            Some(d) => d.join(files::CONFIG).display().to_string(),
            None => "built-in defaults (no training run)".into(),
        }
    }
}

impl RunData {
    /// With the run's own data: `split`'s digest and the data digest must equal those in
    /// the run's `run.json`; `verb` names what the caller does ("evaluate", "score").
    pub fn check_pins(&self, split: Split, verb: &str) -> Result<()> {
        let Some(d) = self.run_dir.as_ref().filter(|_| !self.overridden) else {
            return Ok(());
        };
        let Ok(m) = RunManifest::read(&d.join(files::MANIFEST)) else {
            return Ok(());
        };
        let data = &self.data;
        let (want, got) = match split {
            Split::Train => (&m.data.used.train, &data.digests.train),
            Split::Val => (&m.data.used.val, &data.digests.val),
            Split::Test => (&m.data.used.test, &data.digests.test),
        };
        if want != got || m.data.manifest_digest != data.data_digest {
            bail!(
                "the data no longer matches the run {}: {split} split digest {got} (run: {want}), data digest {} (run: {}); {verb} on the run's data or pass --data explicitly",
                d.display(),
                data.data_digest,
                m.data.manifest_digest
            );
        }
        Ok(())
    }
}
