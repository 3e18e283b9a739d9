//! `sarxai data mock-opensarurban`: a small, deterministic stand-in for
//! OpenSARUrbanDataset.zip, shaped by what is known of the real archive and nothing more.
//!
//! Known, and mocked as such:
//! * one zip whose members sit under numbered top-level folders `OpenSARUrban<N>` that only
//!   partition the data (patches spread over the folders round-robin);
//! * patch names `<prefix>_x<X>_y<Y>_Polygon<N>_<vv|vh>` with the prefixes' inconsistent
//!   case and number (highbuildings/highbuilding, vegetation/Vegetation, denselow for dense
//!   residential, StorageArea, GeneralResidential, Skyscraper, SingleBuilding, highway,
//!   airport, railway);
//! * both polarizations, four formats per patch: float32 TIFF, uint16 TIFF, uint8 PNG and
//!   a pseudo-colour render.
//!
//! Not known, and chosen here (also listed in the command's help, [`MOCK_HELP`]):
//! * the folders below `OpenSARUrban<N>`: the float32 TIFF and the uint8 PNG sit directly in
//!   it, the uint16 TIFF in `uint16/`, the pseudo-colour render in `color/`;
//! * extensions `.tif` and `.png`;
//! * the pixel values: amplitude from sarxai's synthetic generator ([`super::synth`]);
//!   uint16 = the amplitude rounded; uint8 = the amplitude in dB over 0..60 dB scaled to
//!   0..255; the pseudo-colour render = that uint8 value through the jet colour map (RGB);
//! * member timestamps fixed at 2020-01-01 00:00, deflate compression, mode 0644, so the
//!   same options always give the same bytes.
//!
//! `--with-defects` (off by default; the tests use it) adds members the loader must skip
//! with a reason: a VH file without its VV partner, a zero-byte file, an unknown class and
//! a text note.

use std::io::{Cursor, Write};

use serde::{Deserialize, Serialize};

use super::encode::{png_gray8, tiff_f32, tiff_raw, RawSample};
use super::naming::{Pol, OPENSARURBAN_CLASSES};
use super::synth::{render_patch, SynthConfig};

/// The command's help after the options: examples, then the choices made where the real
/// archive's layout is unknown.
pub const MOCK_HELP: &str = "Examples:
  sarxai data mock-opensarurban --out mock.zip
  sarxai data mock-opensarurban --out small.zip --seed 1 --per-class 2 --size 32 --with-defects
  sarxai data inspect mock.zip --data-sha256 HEX      # HEX: the SHA-256 printed on writing

Choices where the real layout is not known (a mock of what is known, not of guesses):
  folders below OpenSARUrban<N>: float32 TIFF and uint8 PNG directly in it, uint16 TIFF in
    uint16/, the pseudo-colour render (jet-colour-map RGB PNG of the uint8 value) in color/
  extensions: .tif (TIFF), .png (PNG)
  pixels: amplitude from sarxai's synthetic generator; uint16 = amplitude rounded; uint8 =
    amplitude in dB over 0..60 dB scaled to 0..255
  patches spread round-robin over OpenSARUrban1..OpenSARUrban<folders>
  members: fixed timestamp 2020-01-01 00:00, deflate, mode 0644 (same options, same bytes)";

/// Options of [`mock_opensarurban`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MockConfig {
    pub seed: u64,
    /// Patches per class (each in both polarizations and four formats).
    pub per_class: usize,
    /// Patch side in pixels.
    pub size: usize,
    /// Numbered top-level folders.
    pub folders: usize,
    /// Add members the loader must skip (see the module docs).
    pub defects: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            seed: 0,
            per_class: 4,
            size: 100,
            folders: 3,
            defects: false,
        }
    }
}

/// Name prefixes per class (index into [`OPENSARURBAN_CLASSES`]), used in turn.
const PREFIXES: [&[&str]; 10] = [
    &["denselow"],
    &["GeneralResidential"],
    &["highbuildings", "highbuilding"],
    &["SingleBuilding"],
    &["Skyscraper"],
    &["StorageArea"],
    &["vegetation", "Vegetation"],
    &["highway"],
    &["railway"],
    &["airport"],
];

fn to_u8(amplitude: f32) -> u8 {
    let db = 20.0 * amplitude.max(1.0).log10();
    (db / 60.0 * 255.0).round().clamp(0.0, 255.0) as u8
}

fn png_jet(size: usize, gray: &[u8]) -> Result<Vec<u8>, String> {
    let rgb: Vec<u8> = gray
        .iter()
        .flat_map(|&v| {
            // The "jet" colour map, computed (no colour-map table).
            let t = v as f32 / 255.0;
            let ch = |k: f32| ((1.5 - (4.0 * t - k).abs()).clamp(0.0, 1.0) * 255.0).round() as u8;
            [ch(3.0), ch(2.0), ch(1.0)]
        })
        .collect();
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, size as u32, size as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Balanced);
        enc.set_filter(png::Filter::Sub);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(&rgb).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The mock archive's bytes (see the module docs). The same config gives the same bytes.
pub fn mock_opensarurban(cfg: &MockConfig) -> Result<Vec<u8>, String> {
    if cfg.per_class == 0 || cfg.folders == 0 || !(16..=1024).contains(&cfg.size) {
        return Err(format!(
            "per_class {} and folders {} must be positive, size {} within 16..=1024",
            cfg.per_class, cfg.folders, cfg.size
        ));
    }
    let synth = SynthConfig {
        seed: cfg.seed,
        per_class: cfg.per_class,
        size: cfg.size,
        ..SynthConfig::default()
    };
    let time = zip::DateTime::from_date_and_time(2020, 1, 1, 0, 0, 0)
        .map_err(|e| format!("fixed timestamp: {e}"))?;
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(time)
        .unix_permissions(0o644);
    let dir_opts = opts.unix_permissions(0o755);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let err = |e: zip::result::ZipError| e.to_string();
    let put = |zip: &mut zip::ZipWriter<Cursor<Vec<u8>>>, name: &str, bytes: &[u8]| {
        zip.start_file(name, opts).map_err(err)?;
        zip.write_all(bytes).map_err(|e| e.to_string())
    };
    for n in 1..=cfg.folders {
        for sub in ["", "uint16/", "color/"] {
            zip.add_directory(format!("OpenSARUrban{n}/{sub}"), dir_opts)
                .map_err(err)?;
        }
    }
    let s = cfg.size;
    let mut global = 0usize;
    for (class, prefixes) in PREFIXES.iter().enumerate() {
        debug_assert!(!OPENSARURBAN_CLASSES[class].is_empty());
        for index in 0..cfg.per_class {
            let patch = render_patch(&synth, class, index);
            let prefix = prefixes[index % prefixes.len()];
            let folder = format!("OpenSARUrban{}", 1 + global % cfg.folders);
            global += 1;
            let stem = format!(
                "{prefix}_x{}_y{}_Polygon{}",
                (index % 50) * s,
                (index / 50) * s,
                index / 5 + 1
            );
            for pol in Pol::ALL {
                let amp = match pol {
                    Pol::Vh => &patch.vh,
                    Pol::Vv => &patch.vv,
                };
                let name = format!("{stem}_{}", pol.suffix());
                let gray: Vec<u8> = amp.iter().map(|&a| to_u8(a)).collect();
                let u16s: Vec<f32> = amp.iter().map(|a| a.round().min(65535.0)).collect();
                put(
                    &mut zip,
                    &format!("{folder}/{name}.tif"),
                    &tiff_f32(s, s, amp)?,
                )?;
                put(
                    &mut zip,
                    &format!("{folder}/{name}.png"),
                    &png_gray8(s, s, &gray)?,
                )?;
                put(
                    &mut zip,
                    &format!("{folder}/uint16/{name}.tif"),
                    &tiff_raw(s, s, &[u16s], RawSample::U16, false),
                )?;
                put(
                    &mut zip,
                    &format!("{folder}/color/{name}.png"),
                    &png_jet(s, &gray)?,
                )?;
            }
        }
    }
    if cfg.defects {
        let patch = render_patch(&synth, 0, cfg.per_class);
        let tif = tiff_f32(s, s, &patch.vh)?;
        put(
            &mut zip,
            "OpenSARUrban1/airport_x0_y9999_Polygon99_vh.tif",
            &tif,
        )?;
        put(
            &mut zip,
            "OpenSARUrban1/railway_x9999_y0_Polygon99_vh.tif",
            &[],
        )?;
        put(
            &mut zip,
            "OpenSARUrban1/railway_x9999_y0_Polygon99_vv.tif",
            &tif,
        )?;
        put(
            &mut zip,
            "OpenSARUrban1/harbour_x0_y0_Polygon1_vh.tif",
            &tif,
        )?;
        put(
            &mut zip,
            "OpenSARUrban1/harbour_x0_y0_Polygon1_vv.tif",
            &tif,
        )?;
        put(&mut zip, "OpenSARUrban1/readme.txt", b"mock defects\n")?;
    }
    let cursor = zip.finish().map_err(err)?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_is_deterministic_and_readable() {
        let cfg = MockConfig {
            per_class: 1,
            size: 16,
            folders: 2,
            ..Default::default()
        };
        let a = mock_opensarurban(&cfg).unwrap();
        assert_eq!(a, mock_opensarurban(&cfg).unwrap());
        let z = zip::ZipArchive::new(Cursor::new(a)).unwrap();
        // 2 folders x 3 directories + 10 patches x 2 polarizations x 4 formats.
        assert_eq!(z.len(), 6 + 80);
        assert!(z.file_names().any(|n| matches!(
            n.as_deref(),
            Ok("OpenSARUrban1/denselow_x0_y0_Polygon1_vh.tif")
        )));
    }
}
