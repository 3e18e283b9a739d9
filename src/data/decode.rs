//! Decoders: TIFF (u8, u16, u32, i8-i32, f16, f32, f64; any number of bands; chunky or
//! planar; strips or tiles; uncompressed, PackBits, LZW, Deflate), PNG (8 and 16 bit, gray
//! or RGB), JPEG, and NumPy `.npy` (2-D `(H, W)`, or 3-D `(H, W, C)` / `(C, H, W)` with
//! C <= 4; C or Fortran order). Every format decodes to [`Image`]: one `Vec<f32>` per band,
//! row-major, values as stored (no scaling: a uint8 255 becomes 255.0).
//!
//! Band order is the file's: OpenSARShip's 2-band `Patch` TIFFs give `[VH, VV]`. Alpha
//! channels are dropped; RGB images whose three channels are identical become one band.
//!
//! Decoding never panics on malformed bytes: the third-party decoders run behind
//! `catch_unwind` as a last line of defence, sizes are checked against the byte count and
//! [`MAX_SAMPLES`] before allocating, and every failure is a [`DataError`] naming the file.
//!
//! This file dispatches on the format and checks the results; the decoders themselves are
//! in `decode/tiff_format.rs`, `decode/png_jpeg.rs` and `decode/npy_format.rs`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{DataError, Result};

mod npy_format;
mod png_jpeg;
mod tiff_format;

use npy_format::{decode_npy, probe_npy};
use png_jpeg::{decode_with_image_crate, probe_with_image_crate};
use tiff_format::{decode_tiff, probe_tiff};

/// Largest number of samples (pixels x bands) sarxai will allocate for one image.
pub const MAX_SAMPLES: usize = 1 << 26;

/// Image file formats sarxai reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// TIFF (`.tif`, `.tiff`).
    Tiff,
    /// PNG.
    Png,
    /// JPEG (`.jpg`, `.jpeg`).
    Jpeg,
    /// NumPy `.npy`.
    Npy,
}

impl FileFormat {
    /// Format from a file extension (case-insensitive): tif, tiff, png, jpg, jpeg, npy.
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "tif" | "tiff" => Some(FileFormat::Tiff),
            "png" => Some(FileFormat::Png),
            "jpg" | "jpeg" => Some(FileFormat::Jpeg),
            "npy" => Some(FileFormat::Npy),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Tiff => "tiff",
            FileFormat::Png => "png",
            FileFormat::Jpeg => "jpeg",
            FileFormat::Npy => "npy",
        }
    }
}

/// Sample type as stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleType {
    /// 8-bit unsigned integer.
    U8,
    /// 16-bit unsigned integer.
    U16,
    /// 32-bit unsigned integer.
    U32,
    /// 64-bit unsigned integer.
    U64,
    /// 8-bit signed integer.
    I8,
    /// 16-bit signed integer.
    I16,
    /// 32-bit signed integer.
    I32,
    /// 64-bit signed integer.
    I64,
    /// 16-bit float.
    F16,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl SampleType {
    /// Lower-case name (`u8`, `f32`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SampleType::U8 => "u8",
            SampleType::U16 => "u16",
            SampleType::U32 => "u32",
            SampleType::U64 => "u64",
            SampleType::I8 => "i8",
            SampleType::I16 => "i16",
            SampleType::I32 => "i32",
            SampleType::I64 => "i64",
            SampleType::F16 => "f16",
            SampleType::F32 => "f32",
            SampleType::F64 => "f64",
        }
    }
}

/// A decoded image: `bands[b][y * width + x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The bands, each row-major, converted to f32.
    pub bands: Vec<Vec<f32>>,
    /// Sample type in the file.
    pub dtype: SampleType,
}

/// Header facts about an image, read without decoding pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The file format.
    pub format: FileFormat,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Number of bands (channels).
    pub bands: usize,
    /// Sample type in the file.
    pub dtype: SampleType,
}

/// Reads and decodes `path` (format from its extension), then checks every pixel is
/// finite: NaN or infinite pixels are a [`DataError::NonFinite`].
pub fn read_image(path: &Path) -> Result<Image> {
    let format = FileFormat::from_path(path).ok_or_else(|| DataError::UnsupportedFormat {
        path: path.to_path_buf(),
    })?;
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let image = decode_bytes(&bytes, format, path)?;
    check_finite(&image, path)?;
    Ok(image)
}

/// Fails with [`DataError::NonFinite`] at the first NaN or infinite pixel.
pub fn check_finite(image: &Image, path: &Path) -> Result<()> {
    for (b, band) in image.bands.iter().enumerate() {
        if let Some(i) = band.iter().position(|v| !v.is_finite()) {
            return Err(DataError::NonFinite {
                path: path.to_path_buf(),
                band: b,
                x: i % image.width.max(1),
                y: i / image.width.max(1),
                value: band[i],
            });
        }
    }
    Ok(())
}

/// Decodes `bytes` as `format`; `path` only names the file in errors.
pub fn decode_bytes(bytes: &[u8], format: FileFormat, path: &Path) -> Result<Image> {
    if bytes.is_empty() {
        return Err(DataError::decode(
            path,
            format.name(),
            "the file is empty (0 bytes)",
        ));
    }
    let run = || match format {
        FileFormat::Tiff => decode_tiff(bytes),
        FileFormat::Png => decode_with_image_crate(bytes, image::ImageFormat::Png),
        FileFormat::Jpeg => decode_with_image_crate(bytes, image::ImageFormat::Jpeg),
        FileFormat::Npy => decode_npy(bytes),
    };
    let image = guarded(run).map_err(|reason| DataError::decode(path, format.name(), reason))?;
    validate_shape(&image).map_err(|reason| DataError::decode(path, format.name(), reason))?;
    Ok(image)
}

/// Reads only the header of `path`: dimensions, band count and sample type.
pub fn probe(path: &Path) -> Result<ImageInfo> {
    let format = FileFormat::from_path(path).ok_or_else(|| DataError::UnsupportedFormat {
        path: path.to_path_buf(),
    })?;
    let bytes = read_head(path, format)?;
    if bytes.is_empty() {
        return Err(DataError::decode(
            path,
            format.name(),
            "the file is empty (0 bytes)",
        ));
    }
    let run = || match format {
        FileFormat::Tiff => probe_tiff(&bytes),
        FileFormat::Png => probe_with_image_crate(&bytes, image::ImageFormat::Png),
        FileFormat::Jpeg => probe_with_image_crate(&bytes, image::ImageFormat::Jpeg),
        FileFormat::Npy => probe_npy(&bytes),
    };
    guarded(run).map_err(|reason| DataError::decode(path, format.name(), reason))
}

/// The bytes a header probe needs: all of a TIFF (its directory may sit at the end), the
/// first 64 KiB of the others.
fn read_head(path: &Path, format: FileFormat) -> Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut bytes = Vec::new();
    let limit = match format {
        FileFormat::Tiff => u64::MAX,
        _ => 1 << 16,
    };
    f.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    Ok(bytes)
}

/// Runs a decoder, turning a panic inside a third-party decoder into an error.
fn guarded<T>(
    f: impl FnOnce() -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!("the decoder failed on malformed data ({msg})"))
        }
    }
}

fn validate_shape(img: &Image) -> std::result::Result<(), String> {
    if img.width == 0 || img.height == 0 {
        return Err(format!("image is {}x{} pixels", img.width, img.height));
    }
    if img.bands.is_empty() {
        return Err("image has no bands".into());
    }
    let n = img.width * img.height;
    if img.bands.iter().any(|b| b.len() != n) {
        return Err("band lengths disagree with the image size".into());
    }
    Ok(())
}

fn check_budget(width: u64, height: u64, bands: u64) -> std::result::Result<(), String> {
    let n = width
        .checked_mul(height)
        .and_then(|v| v.checked_mul(bands))
        .ok_or("image size overflows")?;
    if n > MAX_SAMPLES as u64 {
        return Err(format!(
            "{width}x{height}x{bands} samples exceed sarxai's limit of {MAX_SAMPLES} per image"
        ));
    }
    if width == 0 || height == 0 || bands == 0 {
        return Err(format!("image is {width}x{height} with {bands} band(s)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::encode;
    use super::*;

    fn p() -> &'static Path {
        Path::new("test")
    }

    fn ramp(n: usize, k: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32) * k).collect()
    }

    #[test]
    fn tiff_f32_single_band_round_trips() {
        let data = ramp(6 * 5, 0.5);
        let bytes = encode::tiff_f32(6, 5, &data).unwrap();
        let img = decode_bytes(&bytes, FileFormat::Tiff, p()).unwrap();
        assert_eq!((img.width, img.height, img.dtype), (6, 5, SampleType::F32));
        assert_eq!(img.bands, vec![data]);
    }

    #[test]
    fn tiff_two_band_chunky_and_planar_give_vh_then_vv() {
        let vh = ramp(7 * 9, 1.0);
        let vv = ramp(7 * 9, -2.0);
        for planar in [false, true] {
            for sample in [
                encode::RawSample::F32,
                encode::RawSample::U16,
                encode::RawSample::U8,
            ] {
                let (a, b) = if sample == encode::RawSample::F32 {
                    (vh.clone(), vv.clone())
                } else {
                    (ramp(63, 1.0), ramp(63, 2.0))
                };
                let bytes = encode::tiff_raw(7, 9, &[a.clone(), b.clone()], sample, planar);
                let img = decode_bytes(&bytes, FileFormat::Tiff, p())
                    .unwrap_or_else(|e| panic!("{sample:?} planar={planar}: {e}"));
                assert_eq!(img.bands.len(), 2);
                assert_eq!(img.bands[0], a, "{sample:?} planar={planar}");
                assert_eq!(img.bands[1], b, "{sample:?} planar={planar}");
                let info = probe_tiff(&bytes).unwrap();
                assert_eq!(info.bands, 2);
            }
        }
    }

    #[test]
    fn png_8_and_16_bit_decode_to_stored_values() {
        let v8: Vec<u8> = (0..20).map(|i| i * 12).collect();
        let img =
            decode_bytes(&encode::png_gray8(5, 4, &v8).unwrap(), FileFormat::Png, p()).unwrap();
        assert_eq!(img.dtype, SampleType::U8);
        assert_eq!(
            img.bands[0],
            v8.iter().map(|&v| v as f32).collect::<Vec<_>>()
        );
        let v16: Vec<u16> = (0..20).map(|i| i * 3000).collect();
        let img = decode_bytes(
            &encode::png_gray16(5, 4, &v16).unwrap(),
            FileFormat::Png,
            p(),
        )
        .unwrap();
        assert_eq!(img.dtype, SampleType::U16);
        assert_eq!(
            img.bands[0],
            v16.iter().map(|&v| v as f32).collect::<Vec<_>>()
        );
    }

    #[test]
    fn jpeg_gray_decodes_close_to_its_source() {
        let src: Vec<u8> = (0..64 * 64).map(|i| ((i % 64) * 4) as u8).collect();
        let mut bytes = Vec::new();
        let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95);
        image::ImageEncoder::write_image(enc, &src, 64, 64, image::ExtendedColorType::L8).unwrap();
        let img = decode_bytes(&bytes, FileFormat::Jpeg, p()).unwrap();
        assert_eq!((img.width, img.height, img.bands.len()), (64, 64, 1));
        let err: f32 = img.bands[0]
            .iter()
            .zip(&src)
            .map(|(a, &b)| (a - b as f32).abs())
            .sum::<f32>()
            / src.len() as f32;
        assert!(err < 4.0, "mean abs error {err}");
    }

    #[test]
    fn npy_layouts_decode_to_the_same_bands() {
        let (h, w) = (6, 5);
        let b0 = ramp(h * w, 1.0);
        let b1 = ramp(h * w, 10.0);
        let two_d = decode_bytes(&encode::npy_f32(&[h, w], &b0), FileFormat::Npy, p()).unwrap();
        assert_eq!(two_d.bands, vec![b0.clone()]);
        let chw: Vec<f32> = b0.iter().chain(&b1).copied().collect();
        let img = decode_bytes(&encode::npy_f32(&[2, h, w], &chw), FileFormat::Npy, p()).unwrap();
        assert_eq!(img.bands, vec![b0.clone(), b1.clone()]);
        let hwc: Vec<f32> = (0..h * w).flat_map(|i| [b0[i], b1[i]]).collect();
        let img = decode_bytes(&encode::npy_f32(&[h, w, 2], &hwc), FileFormat::Npy, p()).unwrap();
        assert_eq!(img.bands, vec![b0.clone(), b1.clone()]);
        // Fortran order (H, W): column-major data.
        let fortran: Vec<u8> = (0..w)
            .flat_map(|x| (0..h).map(move |y| (y * w + x) as u16))
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut bytes = encode::npy_raw(&[h, w], "<u2", &fortran);
        let pos = bytes.windows(5).position(|s| s == b"False").unwrap();
        bytes.splice(pos..pos + 5, b"True ".iter().copied());
        let img = decode_bytes(&bytes, FileFormat::Npy, p()).unwrap();
        assert_eq!(img.dtype, SampleType::U16);
        assert_eq!(img.bands[0], b0);
        // Fortran order (H, W, 2): element (y, x, b) at y + x * H + b * H * W.
        let mut col = vec![0.0f32; h * w * 2];
        for b in 0..2 {
            for y in 0..h {
                for x in 0..w {
                    col[y + x * h + b * h * w] = [&b0, &b1][b][y * w + x];
                }
            }
        }
        let mut bytes = encode::npy_f32(&[h, w, 2], &col);
        let pos = bytes.windows(5).position(|s| s == b"False").unwrap();
        bytes.splice(pos..pos + 5, b"True ".iter().copied());
        let img = decode_bytes(&bytes, FileFormat::Npy, p()).unwrap();
        assert_eq!(img.bands, vec![b0.clone(), b1.clone()]);
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let cases: Vec<(&[u8], FileFormat)> = vec![
            (b"", FileFormat::Tiff),
            (b"II*\0garbage", FileFormat::Tiff),
            (b"\x89PNG\r\n\x1a\n", FileFormat::Png),
            (b"\xff\xd8\xff", FileFormat::Jpeg),
            (b"\x93NUMPY\x01\x00", FileFormat::Npy),
        ];
        for (bytes, f) in cases {
            let e = decode_bytes(bytes, f, p()).unwrap_err();
            assert!(matches!(e, DataError::Decode { .. }), "{e}");
        }
        // npy header promising more data than present.
        let short = encode::npy_raw(&[100, 100], "<f4", &[0u8; 16]);
        assert!(decode_bytes(&short, FileFormat::Npy, p()).is_err());
        // npy of unsupported rank.
        let rank4 = encode::npy_f32(&[2, 2, 2, 2], &[0.0; 16]);
        assert!(decode_bytes(&rank4, FileFormat::Npy, p()).is_err());
        // truncated TIFF.
        let t = encode::tiff_f32(8, 8, &ramp(64, 1.0)).unwrap();
        assert!(decode_bytes(&t[..t.len() / 2], FileFormat::Tiff, p()).is_err());
    }

    #[test]
    fn non_finite_pixels_are_reported_with_position() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = ramp(16, 1.0);
        data[6] = f32::NAN;
        let path = dir.path().join("nan.tif");
        std::fs::write(&path, encode::tiff_f32(4, 4, &data).unwrap()).unwrap();
        match read_image(&path) {
            Err(DataError::NonFinite { x, y, band, .. }) => assert_eq!((x, y, band), (2, 1, 0)),
            other => panic!("{other:?}"),
        }
        let unknown = dir.path().join("x.bmp");
        std::fs::write(&unknown, b"BM").unwrap();
        assert!(matches!(
            read_image(&unknown),
            Err(DataError::UnsupportedFormat { .. })
        ));
        let empty = dir.path().join("e.png");
        std::fs::write(&empty, b"").unwrap();
        assert!(read_image(&empty)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(probe(&empty).is_err());
    }
}
