//! Reading the chosen samples: every file decoded, its band picked and preprocessed, and its
//! mask read, on all cores.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::choose::Chosen;
use crate::data::decode::{read_image, Image, SampleType};
use crate::data::discover::{PolFiles, SampleFiles};
use crate::data::naming::Pol;
use crate::data::preprocess::PreprocessConfig;

/// Reads every chosen sample (see [`load_all`]), advancing `progress` once per sample;
/// sample `i` keeps a context of `margins[i]` pixels (0: none).
pub(super) fn read_samples(
    chosen: &Chosen<'_>,
    pre: &PreprocessConfig,
    margins: &[usize],
    progress: &indicatif::ProgressBar,
) -> Vec<std::result::Result<Loaded, String>> {
    progress.set_length(chosen.samples.len() as u64);
    let loaded = load_all(
        &chosen.samples,
        chosen.pol,
        pre,
        margins,
        chosen.expect,
        progress,
    );
    progress.finish();
    loaded
}

/// A decoded and preprocessed sample.
pub(super) struct Loaded {
    /// The model input (`size` x `size`).
    pub pixels: Vec<f32>,
    /// The same pixels with a margin of the chip around them, when asked and available
    /// ([`PreprocessConfig::apply_with_context`]).
    pub context: Option<Vec<f32>>,
    /// The mask, when the sample has one.
    pub mask: Option<Vec<u8>>,
    /// The image file read.
    pub file: PathBuf,
    /// Its sample type.
    pub dtype: SampleType,
}

/// Decodes and preprocesses every sample on all cores; results keep the input order.
fn load_all(
    samples: &[&SampleFiles],
    pol: Option<Pol>,
    pre: &PreprocessConfig,
    margins: &[usize],
    expect: Option<(SampleType, usize)>,
    progress: &indicatif::ProgressBar,
) -> Vec<std::result::Result<Loaded, String>> {
    let n = samples.len();
    let results: Mutex<Vec<Option<std::result::Result<Loaded, String>>>> =
        Mutex::new((0..n).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(16);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let margin = margins.get(i).copied().unwrap_or(0);
                let r = load_one(samples[i], pol, pre, margin, expect);
                if let Ok(mut v) = results.lock() {
                    v[i] = Some(r);
                }
                progress.inc(1);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not loaded".to_string())))
        .collect()
}

/// One sample: the band of `pol`, preprocessed (with a context of `margin` pixels when
/// not 0), and its mask.
fn load_one(
    s: &SampleFiles,
    pol: Option<Pol>,
    pre: &PreprocessConfig,
    margin: usize,
    expect: Option<(SampleType, usize)>,
) -> std::result::Result<Loaded, String> {
    let (path, band_of) = match (&s.files, pol) {
        (PolFiles::Pair { vh, .. }, Some(Pol::Vh)) => (vh, None),
        (PolFiles::Pair { vv, .. }, Some(Pol::Vv)) => (vv, None),
        (PolFiles::Pair { .. }, None) => {
            return Err("both polarizations present, none chosen".into())
        }
        (PolFiles::One { path, .. }, _) => (path, None),
        (PolFiles::Unsuffixed { path }, p) => (path, p),
    };
    let img = read_image(path).map_err(|e| e.to_string())?;
    if let Some((dtype, bands)) = expect {
        if (img.dtype, img.bands.len()) != (dtype, bands) {
            return Err(format!(
                "holds {} x{} band(s), the chosen format holds {} x{}",
                img.dtype.name(),
                img.bands.len(),
                dtype.name(),
                bands
            ));
        }
    }
    let band = pick_band(&img, band_of)?;
    let (pixels, context) = pre
        .for_sample_type(img.dtype)
        .apply_with_context(band, img.width, img.height, margin)?;
    let mask = match &s.mask {
        None => None,
        Some(mp) => {
            let m = read_image(mp).map_err(|e| e.to_string())?;
            if (m.width, m.height) != (img.width, img.height) {
                return Err(format!(
                    "mask {} is {}x{} but the image is {}x{}",
                    mp.display(),
                    m.width,
                    m.height,
                    img.width,
                    img.height
                ));
            }
            Some(pre.apply_mask(&m.bands[0], m.width, m.height)?)
        }
    };
    Ok(Loaded {
        pixels,
        context,
        mask,
        file: path.clone(),
        dtype: img.dtype,
    })
}

/// The band to use: files with a polarization suffix must have one band; unsuffixed files
/// have one band (single polarization, `pol` must be `None`) or two ([VH, VV]).
fn pick_band(img: &Image, pol: Option<Pol>) -> std::result::Result<&[f32], String> {
    match (img.bands.len(), pol) {
        (1, None) => Ok(&img.bands[0]),
        (1, Some(p)) => Err(format!(
            "one band and no _vh/_vv suffix: cannot tell whether it is {p}; drop --pol for single-polarization data"
        )),
        (2, Some(p)) => Ok(&img.bands[p.band_index()]),
        (2, None) => Err("two bands [VH, VV]: choose one with --pol vh or --pol vv".into()),
        (n, _) => Err(format!(
            "{n} bands ({}); sarxai reads 1 band per polarization or 2 bands [VH, VV] (pseudo-colour renders are not SAR data)",
            img.dtype.name()
        )),
    }
}
