//! `sarxai data ...`: generate the synthetic default dataset, inspect real data, load it
//! as training would, and pin files with manifests.
//!
//! The arguments are in `data/args.rs`; what each subcommand does and prints is here.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::data::archive::ArchiveRecord;
use crate::data::dataset::{
    choose_group, group_contents, plan_split, Dataset, DatasetConfig, Split, SplitPlan, SplitSource,
};
use crate::data::decode::probe;
use crate::data::discover::{discover, Discovery, PolFiles};
use crate::data::manifest::{
    build_manifest_with, opensarurban_pin, verify_archive_against, verify_manifest_with, Manifest,
    MANIFEST_FILE_NAME,
};
use crate::data::mock::{mock_opensarurban, MockConfig};
use crate::data::preprocess::InputQuantity;
use crate::data::split::SplitConfig;
use crate::data::synth::{generate_with_progress, SynthConfig};
use crate::io::write_atomic;
use crate::progress::bar;

mod args;

use args::parse_clip;
pub use args::{
    ArchiveArgs, DataCommand, DiscoverArgs, InspectArgs, LoadArgs, ManifestArgs, MockArgs,
    SynthArgs, VerifyArchiveArgs, VerifyArgs,
};

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

/// `data inspect`, in stages: discover, then print the archive check, the summary, one
/// table per format group ([`print_group`]), the skipped and ignored files, and whether a
/// plain `load` would need `--format` or `--pol`.
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
        print_archive_check(r);
    }
    print_summary(&disc);
    let contents = header_contents(&a, &disc);
    for group in disc.groups() {
        print_group(&a, &disc, &group, contents.get(&group));
    }
    print_skipped_and_ignored(&disc);
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

/// How a zip archive given as the data was checked, and the members it skipped.
fn print_archive_check(r: &ArchiveRecord) {
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

/// Counts of samples, classes, skipped and ignored files; the classes; the partitions.
fn print_summary(disc: &Discovery) {
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
}

/// What each format group's first file holds (`tiff:f32x1`), none with `--no-probe`.
fn header_contents(a: &InspectArgs, disc: &Discovery) -> BTreeMap<String, String> {
    if a.no_probe {
        BTreeMap::new()
    } else {
        group_contents(&disc.samples)
            .into_iter()
            .map(|(g, c)| (g, c.unwrap_or_else(|e| format!("unreadable header: {e}"))))
            .collect()
    }
}

/// One format group: its counts per class and split, the split preview and (unless
/// `--no-probe`) its image headers.
fn print_group(a: &InspectArgs, disc: &Discovery, group: &str, contents: Option<&String>) {
    match contents {
        Some(c) => {
            println!("\nformat group {group} (holds {c}; --format {group} or --format {c})");
        }
        None => println!("\nformat group {group}"),
    }
    print_group_counts(disc, group);
    let samples: Vec<_> = disc.samples.iter().filter(|s| s.group == group).collect();
    let plan = plan_split(
        &samples,
        &SplitConfig {
            seed: a.seed,
            test_fraction: a.test_fraction,
            val_fraction: 0.0,
        },
    );
    print_split_preview(a, &plan);
    if !a.no_probe {
        probe_group(&samples, &disc.root, a.radiometry);
    }
}

/// The table of samples, pairs, single polarizations, unsuffixed files and masks per
/// class and split of one group.
fn print_group_counts(disc: &Discovery, group: &str) {
    let split_name = |s: Option<Split>| s.map(|s| s.name()).unwrap_or("-");
    println!(
        "  {:<22} {:>5} {:>8} {:>8} {:>8} {:>8} {:>10} {:>6}",
        "class", "split", "samples", "vh+vv", "vh only", "vv only", "no suffix", "masks"
    );
    let counts = disc.counts();
    let mut rows: Vec<_> = counts.iter().filter(|((g, _, _), _)| g == group).collect();
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
}

/// The split a `load` with the preview's seed and test fraction would make, and its
/// digests.
fn print_split_preview(a: &InspectArgs, plan: &SplitPlan) {
    let mut per_split: BTreeMap<Split, usize> = BTreeMap::new();
    for s in &plan.assignments {
        *per_split.entry(*s).or_default() += 1;
    }
    println!(
        "  split ({:?}{}): train {} / val {} / test {}",
        plan.source,
        if matches!(plan.source, SplitSource::Seeded) {
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
}

/// Every skipped file with its reason, and the ignored non-image files (up to 20).
fn print_skipped_and_ignored(disc: &Discovery) {
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
                    .or_default() += 1;
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
