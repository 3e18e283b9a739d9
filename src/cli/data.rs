//! `sarxai data ...`: generate the synthetic default dataset, inspect real data, load it
//! as training would, and pin files with manifests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::data::archive::{resolve_data, ArchiveOptions, ArchiveRecord};
use crate::data::dataset::{
    choose_group, group_contents, plan_split, Dataset, DatasetConfig, Split,
};
use crate::data::decode::probe;
use crate::data::discover::{discover, ClassVocabulary, DiscoverOptions, PolFiles};
use crate::data::manifest::{
    build_manifest_with, opensarurban_pin, verify_archive_against, verify_manifest_with, Manifest,
    MANIFEST_FILE_NAME,
};
use crate::data::mock::{mock_opensarurban, MockConfig};
use crate::data::naming::Pol;
use crate::data::preprocess::{InputQuantity, ResizeMode, Scale};
use crate::data::split::SplitConfig;
use crate::data::synth::{generate_with_progress, SynthConfig};
use crate::io::write_atomic;
use crate::progress::bar;

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
    /// bytes): numbered top-level folders OpenSARUrban<N> that only partition the data, the
    /// real names' quirks (<prefix>_x<X>_y<Y>_Polygon<N>_<vv|vh>, prefixes inconsistent in
    /// case and number), VH and VV, four formats per patch (float32 TIFF, uint16 TIFF, uint8
    /// PNG, a pseudo-colour render).
    #[command(after_help = crate::data::mock::MOCK_HELP)]
    MockOpensarurban(MockArgs),
}

#[derive(Debug, clap::Args)]
pub struct MockArgs {
    /// Output zip file.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the synthetic pixels.
    #[arg(long, default_value_t = MockConfig::default().seed)]
    pub seed: u64,
    /// Patches per class (each in VH and VV and four formats).
    #[arg(long, default_value_t = MockConfig::default().per_class)]
    pub per_class: usize,
    /// Patch side in pixels.
    #[arg(long, default_value_t = MockConfig::default().size)]
    pub size: usize,
    /// Numbered top-level folders OpenSARUrban1..N.
    #[arg(long, default_value_t = MockConfig::default().folders)]
    pub folders: usize,
    /// Add members a loader must skip: a VH file without its VV partner, a zero-byte file,
    /// an unknown class, a text note (for tests; not known of the real archive).
    #[arg(long)]
    pub with_defects: bool,
}

/// How a zip archive given as the data is checked (`data inspect`, `data load`, `train`,
/// `reproduce`). The archive is extracted once into `$SARXAI_CACHE/archives/<sha256>/`
/// (default `~/.cache/sarxai`), verified file by file on reuse.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ArchiveArgs {
    /// When the data is a zip archive whose SHA-256 differs from the pin in
    /// fixtures/data/opensarurban.yaml: run anyway, recorded as "unpinned".
    #[arg(long)]
    pub allow_unpinned_data: bool,
    /// When the data is a zip archive: the SHA-256 it must have instead of the pinned one
    /// (a copy you hashed yourself, or a mock archive); a mismatch still refuses.
    #[arg(long, value_name = "HEX")]
    pub data_sha256: Option<String>,
}

impl ArchiveArgs {
    pub fn options(&self) -> ArchiveOptions {
        ArchiveOptions {
            allow_unpinned: self.allow_unpinned_data,
            expected_sha256: self.data_sha256.clone(),
            cache: None,
        }
    }

    /// The folder to load for `data`: itself, or its verified extraction when it is a zip
    /// archive (with the record, after printing how it was checked to standard error).
    pub fn resolve(&self, data: &Path) -> Result<(PathBuf, Option<ArchiveRecord>)> {
        let (dir, rec) = resolve_data(data, &self.options())?;
        if let Some(r) = &rec {
            eprintln!("{}", r.summary());
        }
        Ok((dir, rec))
    }
}

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Output directory (new, empty, or a previous synthetic dataset).
    #[arg(long)]
    pub out: PathBuf,
    /// Master seed.
    #[arg(long, default_value_t = SynthConfig::default().seed)]
    pub seed: u64,
    /// Patches per class.
    #[arg(long, default_value_t = SynthConfig::default().per_class)]
    pub per_class: usize,
    /// Patch side in pixels.
    #[arg(long, default_value_t = SynthConfig::default().size)]
    pub size: usize,
    /// Equivalent number of looks of the Gamma speckle.
    #[arg(long, default_value_t = SynthConfig::default().looks)]
    pub looks: f32,
}

/// Discovery options shared by inspect and load.
#[derive(Debug, Clone, clap::Args)]
pub struct DiscoverArgs {
    /// Turn every skipped file into an error.
    #[arg(long)]
    pub strict: bool,
    /// Accepted classes: `any`, `opensarurban`, or a comma-separated list.
    #[arg(long, default_value = "any")]
    pub classes: String,
}

impl DiscoverArgs {
    fn options(&self) -> DiscoverOptions {
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

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Dataset directory (searched recursively), or a zip archive of it.
    pub dir: PathBuf,
    #[command(flatten)]
    pub discover: DiscoverArgs,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Skip reading image headers (sizes and sample types).
    #[arg(long)]
    pub no_probe: bool,
    /// Seed of the split preview.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Test fraction of the split preview.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// What the files hold, for the per-group assumption line: auto (by sample type),
    /// amplitude, intensity or display.
    #[arg(long, default_value = "auto", value_parser = parse_input)]
    pub radiometry: InputQuantity,
    /// Print the discovery as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Dataset directory, or a zip archive of it.
    pub dir: PathBuf,
    #[command(flatten)]
    pub discover: DiscoverArgs,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Polarization (required when the data holds both).
    #[arg(long)]
    pub pol: Option<Pol>,
    /// Format group (see `inspect`) when the data holds several: a group name, or what its
    /// files hold, `<type>:<sample type>[x<bands>]` (e.g. tiff:f32, png:u8x3).
    #[arg(long = "format")]
    pub group: Option<String>,
    /// Split seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Test fraction per class.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Validation fraction per class.
    #[arg(long, default_value_t = 0.0)]
    pub val_fraction: f64,
    /// Stored quantity: auto (by sample type: float is amplitude, 8/16-bit unsigned a
    /// display render), amplitude, intensity or display (used as stored, no dB).
    #[arg(long, alias = "radiometry", default_value = "auto", value_parser = parse_input)]
    pub input: InputQuantity,
    /// Model scale: amplitude, intensity or db.
    #[arg(long, default_value = "db", value_parser = parse_scale)]
    pub scale: Scale,
    /// Per-image percentile clip `LO,HI`, or `none`.
    #[arg(long, default_value = "1,99")]
    pub clip: String,
    /// Output side in pixels.
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// crop_or_resize, resize or exact.
    #[arg(long, default_value = "crop_or_resize", value_parser = parse_resize)]
    pub resize: ResizeMode,
    /// Write the dataset record (config, counts, split digests, normalisation) here.
    #[arg(long)]
    pub record: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ManifestArgs {
    /// Directory to pin.
    pub dir: PathBuf,
    /// Output file (.json or .sha256); standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Directory to check.
    pub dir: PathBuf,
    /// Manifest (JSON from `data manifest`, or a sha256sum list).
    #[arg(long)]
    pub manifest: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArchiveArgs {
    /// The downloaded OpenSARUrbanDataset.zip.
    pub file: PathBuf,
}

fn parse_input(s: &str) -> Result<InputQuantity, String> {
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(InputQuantity::Auto),
        "amplitude" => Ok(InputQuantity::Amplitude),
        "intensity" => Ok(InputQuantity::Intensity),
        "display" => Ok(InputQuantity::Display),
        _ => Err(format!("{s:?}: use auto, amplitude, intensity or display")),
    }
}

fn parse_scale(s: &str) -> Result<Scale, String> {
    match s.to_ascii_lowercase().as_str() {
        "amplitude" => Ok(Scale::Amplitude),
        "intensity" => Ok(Scale::Intensity),
        "db" => Ok(Scale::Db),
        _ => Err(format!("{s:?}: use amplitude, intensity or db")),
    }
}

fn parse_resize(s: &str) -> Result<ResizeMode, String> {
    match s.to_ascii_lowercase().replace('-', "_").as_str() {
        "crop_or_resize" => Ok(ResizeMode::CropOrResize),
        "resize" => Ok(ResizeMode::Resize),
        "exact" => Ok(ResizeMode::Exact),
        _ => Err(format!("{s:?}: use crop_or_resize, resize or exact")),
    }
}

fn parse_clip(s: &str) -> Result<Option<[f32; 2]>> {
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

/// Runs a `sarxai data` subcommand.
pub fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Synth(a) => synth(a),
        DataCommand::Inspect(a) => inspect(a),
        DataCommand::Load(a) => load(a),
        DataCommand::Manifest(a) => manifest(a),
        DataCommand::Verify(a) => verify(a),
        DataCommand::VerifyArchive(a) => verify_archive(a),
        DataCommand::MockOpensarurban(a) => mock(a),
    }
}

fn synth(a: SynthArgs) -> Result<()> {
    let cfg = SynthConfig {
        seed: a.seed,
        per_class: a.per_class,
        size: a.size,
        looks: a.looks,
    };
    let t = Instant::now();
    let pb = bar(0, "synth");
    let m = generate_with_progress(&cfg, &a.out, &pb)?;
    println!(
        "wrote {} files ({} bytes) to {} in {:.1} s",
        m.n_files,
        m.total_bytes,
        a.out.display(),
        t.elapsed().as_secs_f64()
    );
    println!("config: {}", serde_json::to_string(&cfg)?);
    println!("manifest: {}", a.out.join(MANIFEST_FILE_NAME).display());
    println!("root digest: {}", m.root_digest);
    Ok(())
}

fn mock(a: MockArgs) -> Result<()> {
    let cfg = MockConfig {
        seed: a.seed,
        per_class: a.per_class,
        size: a.size,
        folders: a.folders,
        defects: a.with_defects,
    };
    let bytes = mock_opensarurban(&cfg).map_err(|e| anyhow::anyhow!("mock archive: {e}"))?;
    write_atomic(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "wrote {} ({} bytes), SHA-256 {}",
        a.out.display(),
        bytes.len(),
        crate::io::sha256_hex(&bytes)
    );
    println!("config: {}", serde_json::to_string(&cfg)?);
    Ok(())
}

fn inspect(a: InspectArgs) -> Result<()> {
    let (dir, archive) = a.archive.resolve(&a.dir)?;
    let mut disc = discover(&dir, &a.discover.options())?;
    if archive.is_some() {
        // The cache's own manifest is not a member of the archive.
        disc.ignored.retain(|p| *p != dir.join(MANIFEST_FILE_NAME));
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&disc)?);
        return Ok(());
    }
    println!("root: {}", a.dir.display());
    if let Some(r) = &archive {
        println!(
            "archive: SHA-256 {} ({} bytes), {} against {} ({})",
            r.sha256,
            r.size,
            r.status.name(),
            r.expected_sha256,
            r.pin_source
        );
        println!(
            "archive members: {} ({} files extracted, {} skipped)",
            r.extraction.members,
            r.extraction.files,
            r.extraction.skipped.len()
        );
        for m in &r.extraction.skipped {
            println!("  skipped member {}: {}", m.name, m.reason);
        }
    }
    println!(
        "{} samples, {} classes, {} skipped, {} non-image files ignored",
        disc.samples.len(),
        disc.classes.len(),
        disc.skipped.len(),
        disc.ignored.len()
    );
    println!("classes (label order): {}", disc.classes.join(", "));
    if !disc.partitions.is_empty() {
        println!(
            "partition folders, merged into their format groups: {}",
            disc.partitions.join(", ")
        );
    }
    let split_name = |s: Option<Split>| s.map(|s| s.name()).unwrap_or("-");
    let contents: BTreeMap<String, String> = if a.no_probe {
        BTreeMap::new()
    } else {
        group_contents(&disc.samples)
            .into_iter()
            .map(|(g, c)| (g, c.unwrap_or_else(|e| format!("unreadable header: {e}"))))
            .collect()
    };
    for group in disc.groups() {
        match contents.get(&group) {
            Some(c) => {
                println!("\nformat group {group} (holds {c}; --format {group} or --format {c})")
            }
            None => println!("\nformat group {group}"),
        }
        println!(
            "  {:<22} {:>5} {:>8} {:>8} {:>8} {:>8} {:>10} {:>6}",
            "class", "split", "samples", "vh+vv", "vh only", "vv only", "no suffix", "masks"
        );
        let counts = disc.counts();
        let mut rows: Vec<_> = counts.iter().filter(|((g, _, _), _)| *g == group).collect();
        rows.sort_by_key(|((_, class, split), _)| {
            (disc.classes.iter().position(|c| c == class), *split)
        });
        for ((_, class, split), c) in rows {
            let split = *split;
            println!(
                "  {:<22} {:>5} {:>8} {:>8} {:>8} {:>8} {:>10} {:>6}",
                class,
                split_name(split),
                c.samples,
                c.pairs,
                c.vh_only,
                c.vv_only,
                c.unsuffixed,
                c.masks
            );
        }
        let samples: Vec<_> = disc.samples.iter().filter(|s| s.group == group).collect();
        let plan = plan_split(
            &samples,
            &SplitConfig {
                seed: a.seed,
                test_fraction: a.test_fraction,
                val_fraction: 0.0,
            },
        );
        let mut per_split: BTreeMap<Split, usize> = BTreeMap::new();
        for s in &plan.assignments {
            *per_split.entry(*s).or_default() += 1;
        }
        println!(
            "  split ({:?}{}): train {} / val {} / test {}",
            plan.source,
            if matches!(plan.source, crate::data::dataset::SplitSource::Seeded) {
                format!(", seed {}, test fraction {}", a.seed, a.test_fraction)
            } else {
                String::new()
            },
            per_split.get(&Split::Train).unwrap_or(&0),
            per_split.get(&Split::Val).unwrap_or(&0),
            per_split.get(&Split::Test).unwrap_or(&0)
        );
        println!("  split digests: train {}", plan.digests.train);
        println!("                 test  {}", plan.digests.test);
        println!("                 all   {}", plan.digests.combined);
        if !a.no_probe {
            probe_group(&samples, &disc.root, a.radiometry);
        }
    }
    if !disc.skipped.is_empty() {
        println!("\nskipped ({}):", disc.skipped.len());
        for s in &disc.skipped {
            println!("  {}: {}", rel(&disc.root, &s.path), s.reason);
        }
    }
    if !disc.ignored.is_empty() && disc.ignored.len() <= 20 {
        println!("\nignored (not images):");
        for p in &disc.ignored {
            println!("  {}", rel(&disc.root, p));
        }
    }
    if disc.samples.is_empty() {
        bail!(
            "no usable samples under {}: expected `<class>_x<X>_y<Y>..._<vh|vv>.<ext>` files or `<class>/` folders of TIFF, PNG, JPEG or NPY images",
            a.dir.display()
        );
    }
    // Report whether a plain `load` would need --format or --pol.
    if let Err(e) = choose_group(&a.dir, &disc.groups(), None) {
        println!("\nnote: {e}");
    }
    Ok(())
}

/// Reads every image header of a group and prints the (size, bands, type) histogram and
/// what preprocessing assumes the files hold (`radiometry`, resolved per sample type).
fn probe_group(
    samples: &[&crate::data::discover::SampleFiles],
    root: &Path,
    radiometry: InputQuantity,
) {
    let files: Vec<&Path> = samples.iter().flat_map(|s| s.files.paths()).collect();
    let pb = bar(files.len() as u64, "headers");
    let mut hist: BTreeMap<String, usize> = BTreeMap::new();
    let mut types: BTreeMap<crate::data::decode::SampleType, usize> = BTreeMap::new();
    let mut bad = Vec::new();
    for f in &files {
        match probe(f) {
            Ok(i) => {
                *types.entry(i.dtype).or_default() += 1;
                *hist
                    .entry(format!(
                        "{}x{} {} band(s) {} {}",
                        i.width,
                        i.height,
                        i.bands,
                        i.dtype.name(),
                        i.format.name()
                    ))
                    .or_default() += 1
            }
            Err(e) => bad.push(format!("{}: {e}", rel(root, f))),
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    let mut sizes: Vec<_> = hist.into_iter().collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("  image headers ({} files):", files.len());
    for (k, n) in sizes.iter().take(12) {
        println!("    {n:>6} x {k}");
    }
    if sizes.len() > 12 {
        println!("    ... {} more size/type combinations", sizes.len() - 12);
    }
    for b in &bad {
        println!("    unreadable header: {b}");
    }
    let pre = crate::data::preprocess::PreprocessConfig {
        input: radiometry,
        ..Default::default()
    };
    let types: Vec<_> = types.into_iter().collect();
    for r in crate::data::preprocess::RadiometryRecord::list(&pre, &types) {
        let hint = match (r.setting, r.assumed) {
            (InputQuantity::Auto, InputQuantity::Display) => {
                "; --radiometry amplitude if they hold amplitude"
            }
            (InputQuantity::Auto, _) => "; --radiometry display if they are renders",
            _ => "",
        };
        println!(
            "  radiometry ({}): {} files assumed {}: {}{hint}",
            r.setting.name(),
            r.sample_type.name(),
            r.assumed.name(),
            r.treatment
        );
    }
    let pair_count = samples
        .iter()
        .filter(|s| matches!(s.files, PolFiles::Pair { .. }))
        .count();
    if pair_count > 0 {
        println!("  {pair_count} VH/VV pairs");
    }
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn load(a: LoadArgs) -> Result<()> {
    let mut cfg = DatasetConfig {
        pol: a.pol,
        group: a.group.clone(),
        discover: a.discover.options(),
        split: SplitConfig {
            seed: a.seed,
            test_fraction: a.test_fraction,
            val_fraction: a.val_fraction,
        },
        ..Default::default()
    };
    cfg.preprocess.input = a.input;
    cfg.preprocess.scale = a.scale;
    cfg.preprocess.clip_percentiles = parse_clip(&a.clip)?;
    cfg.preprocess.size = a.size;
    cfg.preprocess.resize = a.resize;
    let t = Instant::now();
    let pb = bar(0, "load");
    let (dir, _archive) = a.archive.resolve(&a.dir)?;
    let ds = Dataset::load_with_progress(&dir, &cfg, &pb)?;
    pb.finish_and_clear();
    println!(
        "loaded {} in {:.1} s: group {}, polarization {}, {}x{} px, split {:?}",
        a.dir.display(),
        t.elapsed().as_secs_f64(),
        ds.group,
        ds.pol
            .map(|p| p.to_string())
            .unwrap_or_else(|| "single".into()),
        ds.size(),
        ds.size(),
        ds.split_source
    );
    println!("{:<22} {:>7} {:>7} {:>7}", "class", "train", "val", "test");
    let counts: Vec<Vec<usize>> = Split::ALL
        .iter()
        .map(|&s| ds.split(s).class_counts(ds.classes.len()))
        .collect();
    for (i, c) in ds.classes.iter().enumerate() {
        println!(
            "{c:<22} {:>7} {:>7} {:>7}",
            counts[0][i], counts[1][i], counts[2][i]
        );
    }
    for s in Split::ALL {
        let d = ds.split(s);
        println!(
            "{:<5} {:>6} samples, masks {}, digest {}",
            s.name(),
            d.len(),
            if d.masks.is_some() { "yes" } else { "no" },
            d.digest
        );
    }
    println!("split digest (all): {}", ds.digests.combined);
    println!(
        "normalisation (train, after scale and clip): mean {:.6}, std {:.6} over {} pixels{}",
        ds.norm.mean,
        ds.norm.std,
        ds.norm.count,
        if cfg.preprocess.normalize {
            ""
        } else {
            " (not applied)"
        }
    );
    if !ds.skipped.is_empty() {
        println!("skipped ({}):", ds.skipped.len());
        for s in &ds.skipped {
            println!("  {}: {}", rel(&ds.root, &s.path), s.reason);
        }
    }
    if let Some(path) = a.record {
        let mut bytes = serde_json::to_vec_pretty(&ds.record())?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("record: {}", path.display());
    }
    Ok(())
}

fn manifest(a: ManifestArgs) -> Result<()> {
    let mut exclude = vec![a.dir.join(MANIFEST_FILE_NAME)];
    if let Some(out) = &a.out {
        exclude.push(out.clone());
    }
    let pb = bar(0, "hashing");
    let m = build_manifest_with(&a.dir, &exclude, &pb)?;
    pb.finish_and_clear();
    match &a.out {
        Some(out) => {
            m.write(out)?;
            println!(
                "{} files, {} bytes, root digest {} -> {}",
                m.n_files,
                m.total_bytes,
                m.root_digest,
                out.display()
            );
        }
        None => println!("{}", serde_json::to_string_pretty(&m)?),
    }
    Ok(())
}

fn verify(a: VerifyArgs) -> Result<()> {
    let m = Manifest::read(&a.manifest)?;
    let exclude = vec![a.dir.join(MANIFEST_FILE_NAME), a.manifest.clone()];
    let pb = bar(0, "verifying");
    let r = verify_manifest_with(&a.dir, &m, &exclude, &pb)?;
    pb.finish_and_clear();
    for p in &r.missing {
        println!("missing  {p}");
    }
    for p in &r.extra {
        println!("extra    {p}");
    }
    for x in &r.altered {
        println!(
            "altered  {} (sha256 {} expected {}, size {}{})",
            x.path,
            x.actual_sha256,
            x.expected_sha256,
            x.actual_size,
            x.expected_size
                .map(|s| format!(" expected {s}"))
                .unwrap_or_default()
        );
    }
    println!(
        "{} ok, {} missing, {} extra, {} altered (manifest root digest {})",
        r.ok,
        r.missing.len(),
        r.extra.len(),
        r.altered.len(),
        m.root_digest
    );
    if !r.is_clean() {
        bail!(
            "{} does not match {}",
            a.dir.display(),
            a.manifest.display()
        );
    }
    Ok(())
}

fn verify_archive(a: VerifyArchiveArgs) -> Result<()> {
    let pin = opensarurban_pin();
    let pb = bar(0, "sha256");
    let check = verify_archive_against(&a.file, &pin, &pb)?;
    pb.finish_and_clear();
    println!(
        "{}: SHA-256 {} matches the pinned digest ({} bytes; reported size {})",
        check.path.display(),
        check.sha256,
        check.size,
        pin.size_reported
    );
    println!("provenance: {}", pin.provenance);
    if !pin.verified_by_sarxai {
        println!("note: {}", pin.note);
    }
    Ok(())
}
