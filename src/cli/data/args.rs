//! The command-line arguments of `sarxai data ...` (clap), with the parsers of their
//! values.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::data::archive::{resolve_data, ArchiveOptions, ArchiveRecord};
use crate::data::discover::{ClassVocabulary, DiscoverOptions};
use crate::data::mock::MockConfig;
use crate::data::naming::Pol;
use crate::data::preprocess::{InputQuantity, ResizeMode, Scale};
use crate::data::synth::SynthConfig;

/// `sarxai data` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Generate the synthetic SAR dataset (10 OpenSARUrban-like classes, VH + VV float32
    /// TIFF, ground-truth mask PNG per patch, manifest.json).
    #[command(after_help = "Examples:
  sarxai data synth --out data/synth                 # the pinned default (seed 0, 100 per class)
  sarxai data synth --out /tmp/s --seed 3 --per-class 20 --size 64 --looks 1")]
    Synth(SynthArgs),

    /// List classes, counts per class, split, polarization and format group, image sizes
    /// and types, and every skipped or unpaired file with its reason.
    #[command(after_help = "Examples:
  sarxai data inspect data/synth
  sarxai data inspect ~/OpenSARUrban --classes opensarurban --strict
  sarxai data inspect ../shared/data/opensarship-sample --no-probe")]
    Inspect(InspectArgs),

    /// Load one polarization exactly as training does and print split sizes, split digests
    /// and normalisation statistics (optionally saved as JSON).
    #[command(after_help = "Examples:
  sarxai data load data/synth --pol vh
  sarxai data load ../shared/data/opensarship-sample --format Patch --pol vv --record ds.json")]
    Load(LoadArgs),

    /// Write the SHA-256 and size of every file under DIR with a root digest (JSON, or
    /// sha256sum text when FILE ends in .sha256). DIR/manifest.json and FILE are left out.
    #[command(after_help = "Examples:
  sarxai data manifest data/synth --out synth.manifest.json
  sarxai data manifest ~/OpenSARUrban --out urban.sha256
  sarxai data manifest data/synth                    # JSON on standard output")]
    Manifest(ManifestArgs),

    /// Check DIR against a manifest (JSON or sha256sum list): lists missing, extra and
    /// altered files; exits non-zero on any difference.
    #[command(after_help = "Examples:
  sarxai data verify data/synth --manifest data/synth/manifest.json
  sarxai data verify ../shared/data/opensarship-sample --manifest ../shared/data/opensarship-sample.sha256")]
    Verify(VerifyArgs),

    /// Check OpenSARUrbanDataset.zip against the SHA-256 pinned in
    /// fixtures/data/opensarurban.yaml (with its provenance).
    #[command(after_help = "Examples:
  sarxai data verify-archive ~/Downloads/OpenSARUrbanDataset.zip")]
    VerifyArchive(VerifyArchiveArgs),

    /// Write a small deterministic mock of OpenSARUrbanDataset.zip (same options, same
    /// bytes): numbered top-level folders `OpenSARUrban<N>` that only partition the data, the
    /// real names' quirks (`<prefix>_x<X>_y<Y>_Polygon<N>_<vv|vh>`, prefixes inconsistent in
    /// case and number), VH and VV, four formats per patch (float32 TIFF, uint16 TIFF, uint8
    /// PNG, a pseudo-colour render).
    #[command(after_help = crate::data::mock::MOCK_HELP)]
    MockOpensarurban(MockArgs),
}

/// `sarxai data mock-opensarurban`: a deterministic mock of OpenSARUrbanDataset.zip.
#[derive(Debug, clap::Args)]
pub struct MockArgs {
    /// Output zip file.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Seed of the synthetic pixels.
    #[arg(long, default_value_t = MockConfig::default().seed)]
    pub(crate) seed: u64,
    /// Patches per class (each in VH and VV and four formats).
    #[arg(long, default_value_t = MockConfig::default().per_class)]
    pub(crate) per_class: usize,
    /// Patch side in pixels.
    #[arg(long, default_value_t = MockConfig::default().size)]
    pub(crate) size: usize,
    /// Numbered top-level folders OpenSARUrban1..N.
    #[arg(long, default_value_t = MockConfig::default().folders)]
    pub(crate) folders: usize,
    /// Add members a loader must skip: a VH file without its VV partner, a zero-byte file,
    /// an unknown class, a text note (for tests; not known of the real archive).
    #[arg(long)]
    pub(crate) with_defects: bool,
}

/// How a zip archive given as the data is checked (`data inspect`, `data load`, `train`,
/// `reproduce`). The archive is extracted once into `$SARXAI_CACHE/archives/<sha256>/`
/// (default `~/.cache/sarxai`), verified file by file on reuse.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ArchiveArgs {
    /// When the data is a zip archive whose SHA-256 differs from the pin in
    /// fixtures/data/opensarurban.yaml: run anyway, recorded as "unpinned".
    #[arg(long)]
    pub(crate) allow_unpinned_data: bool,
    /// When the data is a zip archive: the SHA-256 it must have instead of the pinned one
    /// (a copy you hashed yourself, or a mock archive); a mismatch still refuses. Default:
    /// the pin in fixtures/data/opensarurban.yaml.
    #[arg(long, value_name = "HEX")]
    pub(crate) data_sha256: Option<String>,
}

impl ArchiveArgs {
    pub(crate) fn options(&self) -> ArchiveOptions {
        ArchiveOptions {
            allow_unpinned: self.allow_unpinned_data,
            expected_sha256: self.data_sha256.clone(),
            cache: None,
        }
    }

    /// The folder to load for `data`: itself, or its verified extraction when it is a zip
    /// archive (with the record, after printing how it was checked to standard error).
    pub(crate) fn resolve(&self, data: &Path) -> Result<(PathBuf, Option<ArchiveRecord>)> {
        let (dir, rec) = resolve_data(data, &self.options())?;
        if let Some(r) = &rec {
            eprintln!("{}", r.summary());
        }
        Ok((dir, rec))
    }
}

/// `sarxai data synth`: the synthetic SAR dataset.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Output directory (new, empty, or a previous synthetic dataset).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Master seed.
    #[arg(long, default_value_t = SynthConfig::default().seed)]
    pub(crate) seed: u64,
    /// Patches per class.
    #[arg(long, default_value_t = SynthConfig::default().per_class)]
    pub(crate) per_class: usize,
    /// Patch side in pixels.
    #[arg(long, default_value_t = SynthConfig::default().size)]
    pub(crate) size: usize,
    /// Equivalent number of looks of the Gamma speckle.
    #[arg(long, default_value_t = SynthConfig::default().looks)]
    pub(crate) looks: f32,
}

/// Discovery options shared by inspect and load.
#[derive(Debug, Clone, clap::Args)]
pub struct DiscoverArgs {
    /// Turn every skipped file into an error.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Accepted classes: `any`, `opensarurban`, or a comma-separated list.
    #[arg(long, default_value = "any")]
    pub(crate) classes: String,
}

impl DiscoverArgs {
    /// The discovery options these arguments ask for.
    pub(super) fn options(&self) -> DiscoverOptions {
        let classes = match self.classes.to_ascii_lowercase().as_str() {
            "any" => ClassVocabulary::Any,
            "opensarurban" => ClassVocabulary::OpenSarUrban,
            _ => ClassVocabulary::Only(
                self.classes
                    .split(',')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect(),
            ),
        };
        DiscoverOptions {
            strict: self.strict,
            classes,
        }
    }
}

/// `sarxai data inspect`: what discovery finds in a data folder or archive.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Dataset directory (searched recursively), or a zip archive of it.
    pub(crate) dir: PathBuf,
    #[command(flatten)]
    pub(crate) discover: DiscoverArgs,
    #[command(flatten)]
    pub(crate) archive: ArchiveArgs,
    /// Skip reading image headers (sizes and sample types).
    #[arg(long)]
    pub(crate) no_probe: bool,
    /// Seed of the split preview.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Test fraction of the split preview.
    #[arg(long, default_value_t = 0.2)]
    pub(crate) test_fraction: f64,
    /// What the files hold, for the per-group assumption line: auto (by sample type),
    /// amplitude, intensity or display.
    #[arg(long, default_value = "auto", value_parser = parse_input)]
    pub(crate) radiometry: InputQuantity,
    /// Print the discovery as JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `sarxai data load`: one polarization loaded as training loads it.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Dataset directory, or a zip archive of it.
    pub(crate) dir: PathBuf,
    #[command(flatten)]
    pub(crate) discover: DiscoverArgs,
    #[command(flatten)]
    pub(crate) archive: ArchiveArgs,
    /// Polarization (required when the data holds both).
    #[arg(long)]
    pub(crate) pol: Option<Pol>,
    /// Format group (see `inspect`) when the data holds several: a group name, or what its
    /// files hold, `<type>:<sample type>[x<bands>]` (e.g. tiff:f32, png:u8x3).
    #[arg(long = "format")]
    pub(crate) group: Option<String>,
    /// Split seed.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Test fraction per class.
    #[arg(long, default_value_t = 0.2)]
    pub(crate) test_fraction: f64,
    /// Validation fraction per class.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) val_fraction: f64,
    /// Stored quantity: auto (by sample type: float is amplitude, 8/16-bit unsigned a
    /// display render), amplitude, intensity or display (used as stored, no dB).
    #[arg(long, alias = "radiometry", default_value = "auto", value_parser = parse_input)]
    pub(crate) input: InputQuantity,
    /// Model scale: amplitude, intensity or db.
    #[arg(long, default_value = "db", value_parser = parse_scale)]
    pub(crate) scale: Scale,
    /// Per-image percentile clip `LO,HI`, or `none`.
    #[arg(long, default_value = "1,99")]
    pub(crate) clip: String,
    /// Output side in pixels.
    #[arg(long, default_value_t = 100)]
    pub(crate) size: usize,
    /// crop_or_resize, resize or exact.
    #[arg(long, default_value = "crop_or_resize", value_parser = parse_resize)]
    pub(crate) resize: ResizeMode,
    /// Write the dataset record (config, counts, split digests, normalisation) here.
    #[arg(long)]
    pub(crate) record: Option<PathBuf>,
}

/// `sarxai data manifest`: SHA-256 and size of every file of a folder.
#[derive(Debug, clap::Args)]
pub struct ManifestArgs {
    /// Directory to pin.
    pub(crate) dir: PathBuf,
    /// Output file (.json or .sha256); standard output when absent.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

/// `sarxai data verify`: a folder checked against its manifest.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Directory to check.
    pub(crate) dir: PathBuf,
    /// Manifest (JSON from `data manifest`, or a sha256sum list).
    #[arg(long)]
    pub(crate) manifest: PathBuf,
}

/// `sarxai data verify-archive`: OpenSARUrbanDataset.zip checked against its pin.
#[derive(Debug, clap::Args)]
pub struct VerifyArchiveArgs {
    /// The downloaded OpenSARUrbanDataset.zip.
    pub(crate) file: PathBuf,
}

/// `--input` / `--radiometry`: auto, amplitude, intensity or display.
fn parse_input(s: &str) -> Result<InputQuantity, String> {
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(InputQuantity::Auto),
        "amplitude" => Ok(InputQuantity::Amplitude),
        "intensity" => Ok(InputQuantity::Intensity),
        "display" => Ok(InputQuantity::Display),
        _ => Err(format!("{s:?}: use auto, amplitude, intensity or display")),
    }
}

/// `--scale`: amplitude, intensity or db.
fn parse_scale(s: &str) -> Result<Scale, String> {
    match s.to_ascii_lowercase().as_str() {
        "amplitude" => Ok(Scale::Amplitude),
        "intensity" => Ok(Scale::Intensity),
        "db" => Ok(Scale::Db),
        _ => Err(format!("{s:?}: use amplitude, intensity or db")),
    }
}

/// `--resize`: crop_or_resize, resize or exact.
fn parse_resize(s: &str) -> Result<ResizeMode, String> {
    match s.to_ascii_lowercase().replace('-', "_").as_str() {
        "crop_or_resize" => Ok(ResizeMode::CropOrResize),
        "resize" => Ok(ResizeMode::Resize),
        "exact" => Ok(ResizeMode::Exact),
        _ => Err(format!("{s:?}: use crop_or_resize, resize or exact")),
    }
}

/// `--clip LO,HI` (percent) or `none`.
pub(super) fn parse_clip(s: &str) -> Result<Option<[f32; 2]>> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let (a, b) = s
        .split_once(',')
        .with_context(|| format!("--clip {s:?}: expected LO,HI (percent) or none"))?;
    Ok(Some([
        a.trim().parse().with_context(|| format!("--clip {s:?}"))?,
        b.trim().parse().with_context(|| format!("--clip {s:?}"))?,
    ]))
}
