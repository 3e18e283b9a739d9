//! `sarxai reproduce`: the whole study in one run directory, stage by stage, resumable.
//!
//! 1. data: the embedded synthetic dataset (quick profile) or the user's OpenSARUrban
//!    files (paper profile), pinned by its manifest digest;
//! 2. train VH and VV (`RUN/vh`, `RUN/vv`: complete runs are reused, interrupted ones
//!    resumed from their checkpoint);
//! 3. score K test images per class of each polarization with the eight methods
//!    (`RUN/score-vh`, `RUN/score-vv`: Table 1, Figure 1, per-image CSV, resumable);
//! 4. `RUN/pins.json` (archive, data manifest, chosen members, splits, image selection,
//!    seeds, versions, device and numerics, model hashes, budget: [`crate::claims::Pins`]),
//!    `RUN/results.json` (accuracies and Table 1 means, with the marks every verdict
//!    carries), `RUN/claims.txt|json` (verdicts against fixtures/claims.yaml after the
//!    pins are re-derived and checked) and `RUN/report.html`.
//!
//! `--smoke` runs the same stages through the same functions at [`ProfileBudget::SMOKE`] (only
//! the numbers differ); every verdict is then marked "smoke: not comparable".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::attr::Method;
pub use crate::claims::budget::ProfileBudget;
use crate::claims::{render_table, ModelResult, Pins, ReplicateEvidence, Results, VerdictRow};
use crate::data::Pol;
use crate::device::DeviceChoice;
use crate::score::scoring::{score, ScoreConfig, ScoreData};
use crate::score::selection::Selection;
use crate::train::{self, EpochMetrics, RunOptions, TrainConfig};

pub mod transfer;
use transfer::Channel;

/// Which study to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReproduceProfile {
    /// ResNet-18 on the embedded synthetic data, on a CPU: 17 minutes on 2 AVX2 cores.
    Quick,
    /// ResNet-101 on OpenSARUrban (--data), the paper's protocol; a GPU recommended.
    Paper,
    /// The paper's protocol on any labelled SAR chip set (--data, e.g. MSTAR SOC):
    /// ResNet-18 on a CPU by default, transfer verdicts ([`crate::claims::transfer`]).
    Transfer,
}

impl ReproduceProfile {
    /// `quick` or `paper`, as in `runs/<profile>` and the pins.
    pub fn name(self) -> &'static str {
        match self {
            ReproduceProfile::Quick => "quick",
            ReproduceProfile::Paper => "paper",
            ReproduceProfile::Transfer => crate::claims::TRANSFER_PROFILE,
        }
    }
}

/// The budget of a profile (the type lives with the pins, which re-derive a smoke run
/// from it: `crate::claims::budget`).
impl ProfileBudget {
    /// The budget of `profile`, or [`ProfileBudget::SMOKE`]. Images per class: 1 on the quick
    /// profile (10 images: the CPU time budget, Max-Sensitivity of Occlusion alone is 3,240
    /// forward passes per image), 10 on the paper profile (100 images), 10 on the transfer
    /// profile (the paper profile's 100 images on MSTAR SOC's ten classes: 14.5 s an
    /// 88-pixel image on the 2-core Xeon, so the whole run, 33 minutes there, fits its
    /// 45-minute CPU budget, REPRODUCE.md).
    pub fn of(profile: ReproduceProfile, smoke: bool) -> ProfileBudget {
        let full = |per_class| ProfileBudget {
            arch: None,
            epochs: None,
            size: None,
            per_class,
        };
        match (smoke, profile) {
            (true, _) => ProfileBudget::SMOKE,
            (false, ReproduceProfile::Quick) => full(1),
            (false, ReproduceProfile::Paper) => full(10),
            (false, ReproduceProfile::Transfer) => full(10),
        }
    }
}

/// The paper profile's pinned format when the data holds several (the real archive holds
/// four formats per patch; the paper does not say which it trained on): single-band
/// float32 TIFF, the calibrated amplitude.
pub const PAPER_FORMAT: &str = "tiff:f32";

/// What `sarxai reproduce` runs: the profile, data, device and output directory.
#[derive(Debug, Clone)]
pub struct ReproduceConfig {
    /// Quick (synthetic data, ResNet-18) or paper (OpenSARUrban, ResNet-101).
    pub profile: ReproduceProfile,
    /// The profile's protocol at [`ProfileBudget::SMOKE`]; every verdict marked
    /// [`crate::claims::SMOKE_MARK`].
    pub smoke: bool,
    /// A directory, or a zip archive (pin-checked and extracted by [`reproduce`]).
    pub data: Option<PathBuf>,
    /// Format group (`--format`); default [`PAPER_FORMAT`] on the paper profile.
    pub format: Option<String>,
    /// How a zip archive given as `data` is checked.
    pub archive: crate::data::archive::ArchiveOptions,
    /// Where training and scoring run.
    pub device: DeviceChoice,
    /// libtorch's intra-op threads (`None`: the profile's default).
    pub threads: Option<i64>,
    /// The run directory.
    pub out: PathBuf,
    /// The test images explained per polarization.
    pub selection: Selection,
    /// The methods scored (default all eight, [`Method::ALL`]). A subset leaves the
    /// claims about the others NOT RUN ("missing table1...") and the rankings, which need
    /// all eight, too.
    pub methods: Vec<Method>,
    /// Transfer profile: the network (default ResNet-18; `resnet101` for a GPU).
    pub arch: Option<crate::model::Arch>,
    /// Transfer profile: the name of single-polarization data's one channel (default:
    /// [`transfer::plan`]'s rule).
    pub channel_name: Option<String>,
    /// Transfer profile: the data's range axis (default: [`transfer::plan`]'s rule).
    pub range_axis: Option<train::RangeAxis>,
    /// Models trained per channel (`--replicates R`, at least 1): model `k` is seeded
    /// [`replicate_seed`]`(seed, k)` (initialisation, data order and augmentation vary; the
    /// split and the explained images do not), and the claims are decided on all of them
    /// (a two-level bootstrap: models, then images).
    pub replicates: usize,
}

/// The transfer profile's image side: the measured real-chip recipe's 88 pixels (random
/// 88-pixel crops of MSTAR's 128-pixel chips in training, REPRODUCE.md).
pub const TRANSFER_SIZE: usize = 88;

impl ReproduceConfig {
    /// The training configuration of one polarization (`None`: single-band files).
    pub fn train_config(&self, pol: Option<Pol>) -> Result<TrainConfig> {
        let mut c = match self.profile {
            ReproduceProfile::Quick => TrainConfig::quick(),
            ReproduceProfile::Paper => TrainConfig::paper(),
            ReproduceProfile::Transfer => self.transfer_base(),
        };
        match (&self.data, self.profile) {
            (Some(dir), _) => {
                c.data.synthetic = false;
                c.data.dir = Some(dir.clone());
            }
            (None, ReproduceProfile::Paper) => anyhow::bail!(
                "the paper profile needs the OpenSARUrban files: --data DIR (or OPENSARURBAN_DIR); see REPRODUCE.md"
            ),
            (None, ReproduceProfile::Transfer) => anyhow::bail!(
                "the transfer profile needs a labelled SAR chip set: --data DIR (e.g. ../shared/data/mstar-soc); see REPRODUCE.md"
            ),
            (None, ReproduceProfile::Quick) => {
                c.data.synthetic = true;
                c.data.cache = Some(self.out.join("data"));
            }
        }
        ProfileBudget::of(self.profile, self.smoke).apply(&mut c);
        c.dataset.pol = pol;
        if self.profile == ReproduceProfile::Paper {
            // The paper's ten classes in their canonical label order (aliases such as
            // highbuilding / highbuildings accepted); any other name is skipped, with its
            // reason, instead of becoming an eleventh class.
            c.dataset.discover.classes = crate::data::discover::ClassVocabulary::OpenSarUrban;
        }
        if let Some(f) = self.format.clone().or(match self.profile {
            ReproduceProfile::Paper => Some(PAPER_FORMAT.to_string()),
            ReproduceProfile::Quick | ReproduceProfile::Transfer => None,
        }) {
            c.dataset.group = Some(f);
        }
        c.device = self.device;
        // The quick profile's model hashes are pinned on CPU with 2 threads.
        c.threads = self.threads.or(match self.profile {
            ReproduceProfile::Quick => Some(2),
            ReproduceProfile::Paper | ReproduceProfile::Transfer => None,
        });
        Ok(c)
    }

    /// The transfer profile before the budget: sarxai's real-chip defaults (the `sar`
    /// augmentation preset, per-chip 1-99 % stretch, SGD with warm-up and cosine schedule,
    /// 24 epochs: REPRODUCE.md, "Recipe for real chips") on ResNet-18 (or `arch`) at
    /// [`TRANSFER_SIZE`] pixels, with the data's range axis.
    fn transfer_base(&self) -> TrainConfig {
        let mut c = TrainConfig::default();
        c.model.arch = self.arch.unwrap_or(crate::model::Arch::Resnet18);
        c.dataset.preprocess.size = TRANSFER_SIZE;
        if let Some(axis) = self.range_axis {
            c.augment = c.augment.with_range_axis(c.data.range_axis, axis);
            c.data.range_axis = axis;
        }
        c
    }
}

/// What a reproduce run produced.
#[derive(Debug)]
pub struct ReproduceOutcome {
    /// Accuracies and Table 1 per polarization (`RUN/results.json`).
    pub results: Results,
    /// One verdict per claim.
    pub verdicts: Vec<VerdictRow>,
    /// The verdict table with its marks, as written to `RUN/claims.txt`.
    pub claims_table: String,
    /// Wall-clock seconds per stage (`train_vh`, `score_vh`, ...).
    pub seconds: BTreeMap<String, f64>,
}

/// What the study tells its caller while it runs. The study never prints: the command
/// line prints these (`== stage` headers and notes), a library caller may drop them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudyEvent<'a> {
    /// A stage begins.
    Stage(&'a str),
    /// A line of information within the current stage.
    Note(&'a str),
}

/// Where the study sends its [`StudyEvent`]s.
pub type Events<'a> = &'a mut dyn FnMut(StudyEvent<'_>);

/// What one channel's stages give the run: accuracies, Table 1 means and evidence (pooled
/// over its models when it has several), each model's own results, the chosen members'
/// digest.
struct PolOutcome {
    accuracy: f64,
    balanced_accuracy: f64,
    evidence: crate::claims::PolEvidence,
    table1: BTreeMap<crate::attr::Method, BTreeMap<String, f64>>,
    models: BTreeMap<String, ModelResult>,
    members: String,
}

/// What one trained model gives: its results and its per-image evidence.
struct ModelOutcome {
    result: ModelResult,
    evidence: crate::claims::PolEvidence,
}

/// The training seed of a channel's model number `replicate`: the configured seed for the
/// base model (0), else the `replicate`-th output of splitmix64 seeded with it
/// ([`crate::stats::Resampler`]). Epoch `e` of a run seeded `s` draws from `s + e + 1`,
/// so consecutive seeds would share epoch streams; splitmix64's outputs are far apart.
pub fn replicate_seed(seed: u64, replicate: usize) -> u64 {
    let mut rng = crate::stats::Resampler::new(seed);
    (0..replicate).fold(seed, |_, _| rng.next_u64())
}

/// Checks and extracts a zip archive given as the data (its pin before any work), records
/// how in `RUN/archive.json`, and returns the configuration reading the extraction.
fn resolve_archive(cfg: &ReproduceConfig, events: Events) -> Result<ReproduceConfig> {
    let mut out = cfg.clone();
    if let Some(data) = cfg
        .data
        .as_ref()
        .filter(|d| crate::data::archive::is_archive(d))
    {
        events(StudyEvent::Stage("data: archive pin check and extraction"));
        let (dir, record) = crate::data::archive::resolve_data(data, &cfg.archive)?;
        if let Some(r) = &record {
            events(StudyEvent::Note(&r.summary()));
            crate::data::archive::write_record(&cfg.out, r)?;
        }
        out.data = Some(dir);
    }
    Ok(out)
}

/// Trains (or resumes) and scores every model of one channel on its data, loaded once,
/// and pools them.
fn run_pol(
    cfg: &ReproduceConfig,
    channel: &Channel,
    seconds: &mut BTreeMap<String, f64>,
    events: Events,
) -> Result<PolOutcome> {
    let p = channel.key.clone();
    let tcfg = cfg.train_config(channel.pol)?;
    // The channel's data, loaded once: every model trains and is scored on the same splits.
    crate::device::set_threads(tcfg.threads)?;
    tcfg.device.resolve()?;
    let data = train::prepare_data(&tcfg).with_context(|| format!("loading the data of {p}"))?;
    let d = &data.dataset;
    let members = crate::verify::members_digest(
        &d.root,
        [&d.train, &d.val, &d.test]
            .into_iter()
            .flat_map(|s| s.files.iter().map(|f| f.as_path())),
    )?;
    let mut models = Vec::new();
    for replicate in 0..cfg.replicates.max(1) {
        let mut mcfg = tcfg.clone();
        mcfg.seed = replicate_seed(tcfg.seed, replicate);
        let unit = crate::layout::replicate_key(&p, replicate);
        models.push(run_model(
            cfg, channel, &mcfg, &data, replicate, &unit, seconds, events,
        )?);
    }
    pool_models(&p, models, members)
}

/// Trains (or resumes) one model of a channel as `RUN/<unit>` and scores it as
/// `RUN/score-<unit>`.
#[allow(clippy::too_many_arguments)]
fn run_model(
    cfg: &ReproduceConfig,
    channel: &Channel,
    tcfg: &TrainConfig,
    data: &train::data::PreparedData,
    replicate: usize,
    unit: &str,
    seconds: &mut BTreeMap<String, f64>,
    events: Events,
) -> Result<ModelOutcome> {
    let run_dir = crate::layout::train_dir(&cfg.out, unit);
    events(StudyEvent::Stage(&format!(
        "train {unit} ({} on {}, {} epoch(s), {} px{})",
        tcfg.model.arch,
        if tcfg.data.synthetic {
            "synthetic data"
        } else {
            "the given data"
        },
        tcfg.epochs,
        tcfg.dataset.preprocess.size,
        if cfg.replicates > 1 {
            format!(
                ", model {} of {}, seed {}",
                replicate + 1,
                cfg.replicates,
                tcfg.seed
            )
        } else {
            String::new()
        }
    )));
    let t0 = Instant::now();
    let resume = run_dir.join(train::files::CONFIG).is_file();
    let outcome = {
        // Each epoch's line becomes a study note.
        let events = std::cell::RefCell::new(&mut *events);
        let note = |m: &EpochMetrics, epochs: usize| {
            (events.borrow_mut())(StudyEvent::Note(&m.summary(epochs)));
        };
        let opts = RunOptions {
            resume,
            on_epoch: Some(&note),
            ..Default::default()
        };
        train::train(tcfg, data, &run_dir, &opts)
            .with_context(|| format!("training {unit} in {}", run_dir.display()))?
    };
    seconds.insert(format!("train_{unit}"), t0.elapsed().as_secs_f64());
    let test = outcome
        .test
        .as_ref()
        .context("training produced no test evaluation")?;
    events(StudyEvent::Note(&format!(
        "{unit}: test accuracy {:.4} (balanced {:.4}), model {}",
        test.accuracy, test.balanced_accuracy, outcome.model_hash
    )));

    events(StudyEvent::Stage(&format!(
        "score {unit} ({}, {})",
        cfg.selection.describe(),
        describe_methods(&cfg.methods)
    )));
    let t0 = Instant::now();
    let d = &data.dataset;
    // Single-band transfer data show the paper's VH column beside their one channel.
    let scfg = ScoreConfig {
        selection: cfg.selection,
        methods: cfg.methods.clone(),
        paper_pol: channel.pol.or(Some(Pol::Vh)),
        ..ScoreConfig::default()
    };
    let sdata = ScoreData {
        split: &d.test,
        classes: &d.classes,
        pol: channel.pol,
        root: Some(&d.root),
    };
    let summary = score(
        &scfg,
        &outcome.model,
        &sdata,
        &crate::layout::score_dir(&cfg.out, unit),
    )
    .with_context(|| format!("scoring {unit}"))?;
    seconds.insert(format!("score_{unit}"), t0.elapsed().as_secs_f64());
    let per_image = crate::score::records::read(
        &summary
            .out_dir
            .join(crate::score::scoring::files::PER_IMAGE),
    )?;
    let mut evidence =
        crate::score::records::pol_evidence(&per_image.records, &summary.chosen, &summary.metrics);
    (evidence.test_correct, evidence.test_n) = (test.correct, test.n);
    Ok(ModelOutcome {
        result: ModelResult {
            channel: channel.key.clone(),
            replicate,
            seed: tcfg.seed,
            accuracy: test.accuracy,
            balanced_accuracy: test.balanced_accuracy,
            table1: summary.table.means(),
        },
        evidence,
    })
}

/// One channel's outcome from its models: one model's own results; several models pooled
/// (accuracy `sum correct / sum n`, the mean balanced accuracy, Table 1 means over every
/// model and image: [`crate::claims::PolEvidence::pooled_means`]), the replicates'
/// per-image values beside the base model's, each model's results by unit key. Refused
/// when the models explained different images (a selection that depends on the model).
fn pool_models(p: &str, models: Vec<ModelOutcome>, members: String) -> Result<PolOutcome> {
    let mut models = models.into_iter();
    let base = models.next().context("no model trained")?;
    if models.len() == 0 {
        return Ok(PolOutcome {
            accuracy: base.result.accuracy,
            balanced_accuracy: base.result.balanced_accuracy,
            evidence: base.evidence,
            table1: base.result.table1,
            models: BTreeMap::new(),
            members,
        });
    }
    let mut evidence = base.evidence;
    let mut results = BTreeMap::from([(p.to_string(), base.result)]);
    for m in models {
        let unit = crate::layout::replicate_key(p, m.result.replicate);
        anyhow::ensure!(
            m.evidence.images == evidence.images,
            "{unit} explained other test images than {p}: replicate models are compared on the same images, so the selection must not depend on the model (drop --correct-only)"
        );
        evidence.replicates.push(ReplicateEvidence {
            key: unit.clone(),
            test_correct: m.evidence.test_correct,
            test_n: m.evidence.test_n,
            values: m.evidence.values,
        });
        results.insert(unit, m.result);
    }
    let (correct, n) = evidence
        .test_counts()
        .iter()
        .fold((0, 0), |(c, t), (k, m)| (c + k, t + m));
    Ok(PolOutcome {
        accuracy: correct as f64 / n.max(1) as f64,
        balanced_accuracy: results.values().map(|r| r.balanced_accuracy).sum::<f64>()
            / results.len() as f64,
        table1: evidence.pooled_means(),
        evidence,
        models: results,
        members,
    })
}

/// "eight methods", or the names of a subset.
fn describe_methods(methods: &[Method]) -> String {
    if Method::ALL.iter().all(|m| methods.contains(m)) {
        "eight methods".into()
    } else {
        let names: Vec<&str> = methods.iter().map(|m| m.name()).collect();
        format!("{} of 8 methods: {}", methods.len(), names.join(", "))
    }
}

/// The channels to run and, on the transfer profile, the transfer record, with `cfg`'s
/// data folder made absolute (the run's configurations then name it from anywhere) and
/// the plan's range axis set. The paper and quick profiles run VH and VV.
#[allow(clippy::type_complexity)]
pub fn plan_channels(
    cfg: &ReproduceConfig,
    events: Events,
) -> Result<(
    ReproduceConfig,
    Vec<Channel>,
    Option<crate::claims::Transfer>,
)> {
    let mut cfg = cfg.clone();
    if let Some(d) = &cfg.data {
        cfg.data = Some(
            std::fs::canonicalize(d)
                .with_context(|| format!("the data folder {} cannot be read", d.display()))?,
        );
    }
    if cfg.profile != ReproduceProfile::Transfer {
        let both = Pol::ALL.iter().map(|&p| Channel {
            pol: Some(p),
            key: p.suffix().into(),
        });
        return Ok((cfg, both.collect(), None));
    }
    let base = cfg.train_config(None)?;
    let root = base
        .data
        .dir
        .clone()
        .context("the transfer profile needs --data DIR")?;
    let plan = transfer::plan(
        &root,
        &base.dataset,
        cfg.channel_name.as_deref(),
        cfg.range_axis,
    )?;
    events(StudyEvent::Stage(&format!(
        "transfer: the paper's protocol on {}",
        plan.transfer.dataset
    )));
    events(StudyEvent::Note(&format!(
        "{}; range along {:?}; every verdict is a transfer verdict, never the paper reproduced",
        plan.transfer.rule, plan.range_axis
    )));
    cfg.range_axis = Some(plan.range_axis);
    Ok((cfg, plan.channels, Some(plan.transfer)))
}

/// Runs (or resumes) every stage into `cfg.out`, telling `events` as it goes.
pub fn reproduce(cfg: &ReproduceConfig, events: Events) -> Result<ReproduceOutcome> {
    std::fs::create_dir_all(&cfg.out)
        .with_context(|| format!("cannot create {}", cfg.out.display()))?;
    // A zip archive: its pin is checked before any work, then its verified extraction is
    // the data; RUN/archive.json records how ("pinned" or "unpinned").
    let cfg = &resolve_archive(cfg, events)?;
    let (cfg, channels, transfer) = &plan_channels(cfg, events)?;
    if let Some(f) = cfg.train_config(channels[0].pol)?.dataset.group {
        events(StudyEvent::Note(&format!("format: {f}")));
    }
    if cfg.smoke {
        events(StudyEvent::Note(&format!(
            "smoke: the {} protocol at a tiny budget ({}); every verdict marked \"{}\"",
            cfg.profile.name(),
            ProfileBudget::SMOKE.describe(),
            crate::claims::SMOKE_MARK
        )));
    }
    let mut results = Results {
        profile: cfg.profile.name().to_string(),
        transfer: transfer.clone(),
        ..Default::default()
    };
    let mut seconds = BTreeMap::new();
    let mut members = BTreeMap::new();
    for channel in channels {
        let p = channel.key.clone();
        let o = run_pol(cfg, channel, &mut seconds, events)?;
        results.accuracy.insert(p.clone(), o.accuracy);
        results
            .balanced_accuracy
            .insert(p.clone(), o.balanced_accuracy);
        results.table1.insert(p.clone(), o.table1);
        results.evidence.insert(p.clone(), o.evidence);
        results.models.extend(o.models);
        members.insert(p, o.members);
    }

    events(StudyEvent::Stage("pins and claims"));
    let (claims, pins, paper) = crate::claims::fixtures::load(None, None)?;
    let units = results.units();
    let keys: Vec<&str> = units.iter().map(String::as_str).collect();
    let (mut recorded, notes) = Pins::measure_with_notes(&cfg.out, &keys, false)?;
    recorded.members = members;
    recorded.write_recorded(&cfg.out)?;
    results.marks = recorded
        .marks(pins.profile(&results.profile)?)
        .into_iter()
        .map(|m| m.0.to_string())
        .chain(
            transfer
                .as_ref()
                .map(|_| crate::claims::TRANSFER_MARK.to_string()),
        )
        .collect();
    let bytes = serde_json::to_vec_pretty(&results)?;
    crate::io::write_atomic(&cfg.out.join(Results::FILE), &bytes)?;
    // The pins just measured decide; `claims check` re-measures and re-loads on its own.
    let run =
        crate::verify::decide_recorded(results.clone(), &recorded, notes, &claims, &pins, &paper)?;
    let verdicts = run.verdicts.clone();
    let table = format!(
        "{}{}",
        render_table(&verdicts),
        crate::verify::render_marks(&run)
    );
    crate::io::write_atomic(&cfg.out.join(crate::layout::CLAIMS_TXT), table.as_bytes())?;
    crate::io::write_atomic(
        &cfg.out.join(crate::layout::CLAIMS_JSON),
        &serde_json::to_vec_pretty(&verdicts)?,
    )?;
    let times = serde_json::to_vec_pretty(&seconds)?;
    crate::io::write_atomic(&cfg.out.join(crate::layout::TIMINGS_JSON), &times)?;
    if let Some(md) = crate::report::models::models_markdown(&results) {
        crate::io::write_atomic(
            &cfg.out.join(crate::layout::TABLE1_MODELS_MD),
            md.as_bytes(),
        )?;
    }
    crate::report::html::write_report(&cfg.out, &results, &verdicts, &recorded)?;
    Ok(ReproduceOutcome {
        results,
        verdicts,
        claims_table: table,
        seconds,
    })
}

/// The run directory used when `--out` is not given.
pub fn default_out(profile: ReproduceProfile) -> PathBuf {
    Path::new("runs").join(profile.name())
}
