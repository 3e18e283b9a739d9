//! Choosing what one load reads: the format group (by name, or by what its files hold),
//! its samples and the polarization, all decided before any pixel is decoded.

use std::path::Path;

use super::DatasetConfig;
use crate::data::decode::{probe, FileFormat, SampleType};
use crate::data::discover::{Discovery, PolFiles, SampleFiles};
use crate::data::error::{DataError, Result};
use crate::data::naming::Pol;

/// What one load reads: the format group, its samples and the polarization.
pub(super) struct Chosen<'a> {
    pub(super) group: String,
    pub(super) samples: Vec<&'a SampleFiles>,
    pub(super) pol: Option<Pol>,
    /// Sample type and bands every file must hold, when the group was chosen by content.
    pub(super) expect: Option<(SampleType, usize)>,
}

/// The format group (by name or by content), its samples and the polarization; two-band
/// files without a chosen polarization are refused here, before any decoding.
pub(super) fn choose_samples<'a>(
    root: &Path,
    cfg: &DatasetConfig,
    disc: &'a Discovery,
) -> Result<Chosen<'a>> {
    let (group, samples, expect) = choose_group_samples(root, cfg, disc)?;
    let pol = resolve_pol(root, &samples, cfg.pol)?;
    if pol.is_none() {
        refuse_two_band_without_pol(root, &samples)?;
    }
    Ok(Chosen {
        group,
        samples,
        pol,
        expect,
    })
}

/// The format group `cfg` chooses (by name or by content), its samples, and the sample
/// type and bands its files must hold when chosen by content.
#[allow(clippy::type_complexity)]
pub(super) fn choose_group_samples<'a>(
    root: &Path,
    cfg: &DatasetConfig,
    disc: &'a Discovery,
) -> Result<(String, Vec<&'a SampleFiles>, Option<(SampleType, usize)>)> {
    let content = cfg.group.as_deref().and_then(ContentSelector::parse);
    let group = match &content {
        Some(sel) => choose_group_by_content(root, &disc.samples, sel)?,
        None => choose_group(root, &disc.groups(), cfg.group.as_deref())?,
    };
    let samples = disc.samples.iter().filter(|s| s.group == group).collect();
    Ok((group, samples, content.map(|c| (c.dtype, c.bands))))
}

/// The polarizations a format group holds, as its files say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldPolarizations {
    /// VH and VV: `_vh` / `_vv` partners, or two-band `[VH, VV]` files.
    Both,
    /// One polarization, named by the files' suffix.
    One(Pol),
    /// One band whose polarization the files do not name (e.g. MSTAR's HH chips).
    Unnamed,
}

/// What `samples` hold: [`HeldPolarizations::Both`] when any is a VH/VV pair or the first
/// unsuffixed file (its header) holds two bands, else the suffix of a single-polarization
/// file, else [`HeldPolarizations::Unnamed`].
pub(super) fn held_polarizations(samples: &[&SampleFiles]) -> HeldPolarizations {
    if samples
        .iter()
        .any(|s| matches!(s.files, PolFiles::Pair { .. }))
    {
        return HeldPolarizations::Both;
    }
    if let Some(pol) = samples.iter().find_map(|s| match s.files {
        PolFiles::One { pol, .. } => Some(pol),
        _ => None,
    }) {
        return HeldPolarizations::One(pol);
    }
    let two_band = samples
        .iter()
        .find_map(|s| match &s.files {
            PolFiles::Unsuffixed { path } => Some(path),
            _ => None,
        })
        .and_then(|p| probe(p).ok())
        .is_some_and(|info| info.bands == 2);
    if two_band {
        HeldPolarizations::Both
    } else {
        HeldPolarizations::Unnamed
    }
}

/// Picks the format group: the requested one (exact group or its folder part), or the
/// only one present.
pub fn choose_group(root: &Path, groups: &[String], wanted: Option<&str>) -> Result<String> {
    let list = groups.join(", ");
    match wanted {
        None => match groups {
            [] => Err(DataError::NoSamples {
                dir: root.to_path_buf(),
                detail: "no image file with a recognisable class".into(),
            }),
            [one] => Ok(one.clone()),
            _ => Err(DataError::Config {
                dir: root.to_path_buf(),
                reason: format!("the data holds several format groups: {list}"),
                fix: "choose one with --format: a group name (e.g. --format Patch) or what its files hold (e.g. --format tiff:f32)".into(),
            }),
        },
        Some(w) => {
            let hits: Vec<&String> = groups
                .iter()
                .filter(|g| g.as_str() == w || group_folder(g) == w)
                .collect();
            match hits.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(DataError::Config {
                    dir: root.to_path_buf(),
                    reason: format!("no format group {w:?}; found: {list}"),
                    fix: "pass one of the groups listed by `sarxai data inspect`".into(),
                }),
                _ => Err(DataError::Config {
                    dir: root.to_path_buf(),
                    reason: format!("{w:?} matches several format groups: {list}"),
                    fix: "pass the full group name, e.g. Patch:tiff".into(),
                }),
            }
        }
    }
}

/// A format chosen by what the files hold: `<type>:<sample type>[x<bands>]`, e.g. `tiff:f32`
/// (single-band float32 TIFF), `png:u8`, `png:u8x3` (a colour render). One band unless
/// given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentSelector {
    /// The file format.
    pub format: FileFormat,
    /// The sample type.
    pub dtype: SampleType,
    /// Number of bands.
    pub bands: usize,
}

impl ContentSelector {
    /// Parses `tiff:f32`, `png:u8x3`, ...; `None` for anything else (a group name).
    pub fn parse(s: &str) -> Option<ContentSelector> {
        let (fmt, rest) = s.split_once(':')?;
        let format = FileFormat::from_path(Path::new(&format!("x.{}", fmt.trim())))?;
        let rest = rest.trim().to_ascii_lowercase();
        let (dt, bands) = match rest.split_once('x') {
            Some((d, b)) => (d.to_string(), b.parse().ok()?),
            None => (rest.clone(), 1),
        };
        let dtype = [
            SampleType::U8,
            SampleType::U16,
            SampleType::U32,
            SampleType::U64,
            SampleType::I8,
            SampleType::I16,
            SampleType::I32,
            SampleType::I64,
            SampleType::F16,
            SampleType::F32,
            SampleType::F64,
        ]
        .into_iter()
        .find(|t| t.name() == dt)?;
        Some(ContentSelector {
            format,
            dtype,
            bands,
        })
    }

    /// `tiff:f32x1`.
    pub fn name(&self) -> String {
        format!(
            "{}:{}x{}",
            self.format.name(),
            self.dtype.name(),
            self.bands
        )
    }
}

/// What the first file of each format group holds (`tiff:f32x1`, from its header), or
/// the header error.
pub fn group_contents(
    samples: &[SampleFiles],
) -> Vec<(String, std::result::Result<String, String>)> {
    let mut out: std::collections::BTreeMap<String, std::result::Result<String, String>> =
        Default::default();
    for s in samples {
        out.entry(s.group.clone()).or_insert_with(|| {
            probe(s.files.paths()[0])
                .map(|i| format!("{}:{}x{}", i.format.name(), i.dtype.name(), i.bands))
                .map_err(|e| e.to_string())
        });
    }
    out.into_iter().collect()
}

/// The one format group whose files hold `sel` (judged by each group's first file; every
/// file is checked when decoded).
pub fn choose_group_by_content(
    root: &Path,
    samples: &[SampleFiles],
    sel: &ContentSelector,
) -> Result<String> {
    let contents = group_contents(samples);
    let list = contents
        .iter()
        .map(|(g, c)| format!("{g} ({})", c.as_deref().unwrap_or("unreadable header")))
        .collect::<Vec<_>>()
        .join(", ");
    let want = sel.name();
    let hits: Vec<&String> = contents
        .iter()
        .filter(|(_, c)| c.as_deref() == Ok(want.as_str()))
        .map(|(g, _)| g)
        .collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(DataError::Config {
            dir: root.to_path_buf(),
            reason: format!("no format group holds {want}; found: {list}"),
            fix: "choose one of them with --format (a group name, or its content such as tiff:f32)"
                .into(),
        }),
        _ => Err(DataError::Config {
            dir: root.to_path_buf(),
            reason: format!("several format groups hold {want}: {list}"),
            fix: "choose one by its group name with --format".into(),
        }),
    }
}

/// The folder part of a format group: `Patch_Uint8/Visual_:tiff` -> `Patch_Uint8`.
fn group_folder(group: &str) -> &str {
    let g = group.rsplit_once(':').map_or(group, |(a, _)| a);
    g.strip_suffix("/Visual_").unwrap_or(g)
}

/// Checks the requested polarization against what the files offer.
fn resolve_pol(root: &Path, samples: &[&SampleFiles], wanted: Option<Pol>) -> Result<Option<Pol>> {
    let paired = samples
        .iter()
        .any(|s| matches!(s.files, PolFiles::Pair { .. }));
    let single: Option<Pol> = samples.iter().find_map(|s| match s.files {
        PolFiles::One { pol, .. } => Some(pol),
        _ => None,
    });
    match (wanted, paired, single) {
        (None, true, _) => Err(DataError::Config {
            dir: root.to_path_buf(),
            reason: "the data holds both VH and VV".into(),
            fix: "choose one with --pol vh or --pol vv".into(),
        }),
        (None, false, Some(p)) => Ok(Some(p)),
        (Some(w), false, Some(p)) if w != p => Err(DataError::Config {
            dir: root.to_path_buf(),
            reason: format!("only {p} files are present, {w} was requested"),
            fix: format!("use --pol {p}"),
        }),
        (w, _, _) => Ok(w),
    }
}

/// Two-band `[VH, VV]` files need a polarization: checked on the first unsuffixed file's
/// header, so the error comes before any decoding.
fn refuse_two_band_without_pol(root: &Path, samples: &[&SampleFiles]) -> Result<()> {
    let first = samples.iter().find_map(|s| match &s.files {
        PolFiles::Unsuffixed { path } => Some(path),
        _ => None,
    });
    if let Some(path) = first {
        if let Ok(info) = probe(path) {
            if info.bands == 2 {
                return Err(DataError::Config {
                    dir: root.to_path_buf(),
                    reason: format!(
                        "{} holds two bands [VH, VV] and no polarization was chosen",
                        path.display()
                    ),
                    fix: "choose one with --pol vh or --pol vv".into(),
                });
            }
        }
    }
    Ok(())
}
