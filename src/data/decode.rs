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

use std::io::Cursor;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{DataError, Result};

/// Largest number of samples (pixels x bands) sarxai will allocate for one image.
pub const MAX_SAMPLES: usize = 1 << 26;

/// Image file formats sarxai reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Tiff,
    Png,
    Jpeg,
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
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    F16,
    F32,
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
    pub width: usize,
    pub height: usize,
    pub bands: Vec<Vec<f32>>,
    /// Sample type in the file.
    pub dtype: SampleType,
}

/// Header facts about an image, read without decoding pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub format: FileFormat,
    pub width: usize,
    pub height: usize,
    pub bands: usize,
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

// ---------------------------------------------------------------------------------------
// TIFF

fn tiff_decoder(
    bytes: &[u8],
) -> std::result::Result<tiff::decoder::Decoder<Cursor<&[u8]>>, String> {
    let mut limits = tiff::decoder::Limits::default();
    limits.decoding_buffer_size = MAX_SAMPLES * 8;
    limits.intermediate_buffer_size = MAX_SAMPLES * 8;
    Ok(tiff::decoder::Decoder::new(Cursor::new(bytes))
        .map_err(|e| e.to_string())?
        .with_limits(limits))
}

/// (bits per sample, samples per pixel) of the current TIFF image.
fn tiff_layout(
    dec: &mut tiff::decoder::Decoder<Cursor<&[u8]>>,
) -> std::result::Result<(u8, usize), String> {
    use tiff::ColorType as C;
    match dec.colortype().map_err(|e| e.to_string())? {
        C::Gray(b) => Ok((b, 1)),
        C::GrayA(b) => Ok((b, 2)),
        C::RGB(b) | C::YCbCr(b) => Ok((b, 3)),
        C::RGBA(b) | C::CMYK(b) => Ok((b, 4)),
        C::Multiband {
            bit_depth,
            num_samples,
        } => Ok((bit_depth, num_samples as usize)),
        other => Err(format!("unsupported TIFF colour type {other:?}")),
    }
}

fn tiff_sample_type(
    dec: &mut tiff::decoder::Decoder<Cursor<&[u8]>>,
    bits: u8,
) -> std::result::Result<SampleType, String> {
    use tiff::tags::Tag;
    let format = dec
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .map_err(|e| e.to_string())?
        .and_then(|v| v.first().copied())
        .unwrap_or(1);
    Ok(match (format, bits) {
        (1, 8) => SampleType::U8,
        (1, 16) => SampleType::U16,
        (1, 32) => SampleType::U32,
        (1, 64) => SampleType::U64,
        (2, 8) => SampleType::I8,
        (2, 16) => SampleType::I16,
        (2, 32) => SampleType::I32,
        (2, 64) => SampleType::I64,
        (3, 16) => SampleType::F16,
        (3, 32) => SampleType::F32,
        (3, 64) => SampleType::F64,
        (f, b) => return Err(format!("unsupported TIFF sample format {f} with {b} bits")),
    })
}

fn probe_tiff(bytes: &[u8]) -> std::result::Result<ImageInfo, String> {
    let mut dec = tiff_decoder(bytes)?;
    let (w, h) = dec.dimensions().map_err(|e| e.to_string())?;
    let (bits, samples) = tiff_layout(&mut dec)?;
    let dtype = tiff_sample_type(&mut dec, bits)?;
    Ok(ImageInfo {
        format: FileFormat::Tiff,
        width: w as usize,
        height: h as usize,
        bands: samples,
        dtype,
    })
}

fn decoding_result_to_f32(r: tiff::decoder::DecodingResult) -> Vec<f32> {
    use tiff::decoder::DecodingResult as D;
    match r {
        D::U8(v) => v.into_iter().map(f32::from).collect(),
        D::U16(v) => v.into_iter().map(f32::from).collect(),
        D::U32(v) => v.into_iter().map(|x| x as f32).collect(),
        D::U64(v) => v.into_iter().map(|x| x as f32).collect(),
        D::I8(v) => v.into_iter().map(f32::from).collect(),
        D::I16(v) => v.into_iter().map(f32::from).collect(),
        D::I32(v) => v.into_iter().map(|x| x as f32).collect(),
        D::I64(v) => v.into_iter().map(|x| x as f32).collect(),
        D::F16(v) => v.into_iter().map(|x| x.to_f32()).collect(),
        D::F32(v) => v,
        D::F64(v) => v.into_iter().map(|x| x as f32).collect(),
    }
}

fn decode_tiff(bytes: &[u8]) -> std::result::Result<Image, String> {
    use tiff::decoder::ChunkType;
    use tiff::tags::Tag;
    let mut dec = tiff_decoder(bytes)?;
    let (w, h) = dec.dimensions().map_err(|e| e.to_string())?;
    let (bits, samples) = tiff_layout(&mut dec)?;
    let dtype = tiff_sample_type(&mut dec, bits)?;
    if bits < 8 {
        return Err(format!(
            "{bits}-bit TIFF samples are not supported (use 8, 16, 32 or 64)"
        ));
    }
    check_budget(w as u64, h as u64, samples as u64)?;
    let (w, h) = (w as usize, h as usize);
    let n = w * h;
    let planar = dec
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(|e| e.to_string())?
        .unwrap_or(1)
        == 2;
    let mut bands = vec![Vec::new(); samples];
    if !planar || samples == 1 {
        let data = decoding_result_to_f32(dec.read_image().map_err(|e| e.to_string())?);
        if data.len() < n * samples {
            return Err(format!(
                "decoded {} samples, expected {}",
                data.len(),
                n * samples
            ));
        }
        for (b, band) in bands.iter_mut().enumerate() {
            *band = data
                .iter()
                .skip(b)
                .step_by(samples)
                .take(n)
                .copied()
                .collect();
        }
    } else {
        // Planar: the chunks of band 0, then those of band 1, ... each chunk read alone.
        let (cw, ch) = dec.chunk_dimensions();
        let (cw, ch) = (cw.max(1) as usize, ch.max(1) as usize);
        let total = match dec.get_chunk_type() {
            ChunkType::Strip => dec.strip_count(),
            ChunkType::Tile => dec.tile_count(),
        }
        .map_err(|e| e.to_string())? as usize;
        if total == 0 || total % samples != 0 {
            return Err(format!("{total} chunks cannot hold {samples} planes"));
        }
        let per_plane = total / samples;
        let across = w.div_ceil(cw);
        for (b, band) in bands.iter_mut().enumerate() {
            *band = vec![0.0f32; n];
            for c in 0..per_plane {
                let idx = (b * per_plane + c) as u32;
                let data = decoding_result_to_f32(dec.read_chunk(idx).map_err(|e| e.to_string())?);
                let (x0, y0, dw) = match dec.get_chunk_type() {
                    ChunkType::Strip => (0, c * ch, w),
                    ChunkType::Tile => (
                        (c % across) * cw,
                        (c / across) * ch,
                        w.saturating_sub((c % across) * cw).min(cw),
                    ),
                };
                if dw == 0 {
                    continue;
                }
                for (r, row) in data.chunks(dw).enumerate() {
                    let y = y0 + r;
                    if y >= h {
                        break;
                    }
                    let start = y * w + x0;
                    let len = row.len().min(w - x0);
                    band[start..start + len].copy_from_slice(&row[..len]);
                }
            }
        }
    }
    Ok(Image {
        width: w,
        height: h,
        bands,
        dtype,
    })
}

// ---------------------------------------------------------------------------------------
// PNG and JPEG (through the `image` crate)

fn image_reader(bytes: &[u8], format: image::ImageFormat) -> image::ImageReader<Cursor<&[u8]>> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(1 << 15);
    limits.max_image_height = Some(1 << 15);
    limits.max_alloc = Some((MAX_SAMPLES * 4) as u64);
    reader.limits(limits);
    reader
}

fn color_layout(c: image::ColorType) -> std::result::Result<(usize, SampleType), String> {
    use image::ColorType as C;
    Ok(match c {
        C::L8 | C::La8 => (1, SampleType::U8),
        C::Rgb8 | C::Rgba8 => (3, SampleType::U8),
        C::L16 | C::La16 => (1, SampleType::U16),
        C::Rgb16 | C::Rgba16 => (3, SampleType::U16),
        C::Rgb32F | C::Rgba32F => (3, SampleType::F32),
        other => return Err(format!("unsupported colour type {other:?}")),
    })
}

fn probe_with_image_crate(
    bytes: &[u8],
    format: image::ImageFormat,
) -> std::result::Result<ImageInfo, String> {
    use image::ImageDecoder;
    let dec = image_reader(bytes, format)
        .into_decoder()
        .map_err(|e| e.to_string())?;
    let (w, h) = dec.dimensions();
    let (bands, dtype) = color_layout(dec.color_type())?;
    Ok(ImageInfo {
        format: if format == image::ImageFormat::Png {
            FileFormat::Png
        } else {
            FileFormat::Jpeg
        },
        width: w as usize,
        height: h as usize,
        bands,
        dtype,
    })
}

fn decode_with_image_crate(
    bytes: &[u8],
    format: image::ImageFormat,
) -> std::result::Result<Image, String> {
    let img = image_reader(bytes, format)
        .decode()
        .map_err(|e| e.to_string())?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    check_budget(w as u64, h as u64, 1)?;
    let (channels, dtype) = color_layout(img.color())?;
    let bands: Vec<Vec<f32>> = if channels == 1 {
        vec![match dtype {
            SampleType::U8 => img
                .to_luma8()
                .into_raw()
                .into_iter()
                .map(f32::from)
                .collect(),
            _ => img
                .to_luma16()
                .into_raw()
                .into_iter()
                .map(f32::from)
                .collect(),
        }]
    } else {
        let rgb = img.to_rgb32f().into_raw();
        let scale = match dtype {
            SampleType::U8 => 255.0,
            SampleType::U16 => 65535.0,
            _ => 1.0,
        };
        let mut bands: Vec<Vec<f32>> = (0..3).map(|_| Vec::with_capacity(w * h)).collect();
        for px in rgb.chunks_exact(3) {
            for (b, v) in px.iter().enumerate() {
                bands[b].push((v * scale).round_ties_even_if(dtype != SampleType::F32));
            }
        }
        if bands[0] == bands[1] && bands[1] == bands[2] {
            bands.truncate(1);
        }
        bands
    };
    Ok(Image {
        width: w,
        height: h,
        bands,
        dtype,
    })
}

trait RoundIf {
    fn round_ties_even_if(self, cond: bool) -> Self;
}

impl RoundIf for f32 {
    fn round_ties_even_if(self, cond: bool) -> f32 {
        if cond {
            self.round_ties_even()
        } else {
            self
        }
    }
}

// ---------------------------------------------------------------------------------------
// NPY

/// (dtype, bytes per value) of an npy type string.
fn npy_type(dtype: &npyz::DType) -> std::result::Result<(SampleType, u64), String> {
    use npyz::TypeChar as T;
    let npyz::DType::Plain(ts) = dtype else {
        return Err("structured or array dtypes are not supported".into());
    };
    let t = match (ts.type_char(), ts.size_field()) {
        (T::Uint, 1) => SampleType::U8,
        (T::Uint, 2) => SampleType::U16,
        (T::Uint, 4) => SampleType::U32,
        (T::Uint, 8) => SampleType::U64,
        (T::Int, 1) => SampleType::I8,
        (T::Int, 2) => SampleType::I16,
        (T::Int, 4) => SampleType::I32,
        (T::Int, 8) => SampleType::I64,
        (T::Float, 4) => SampleType::F32,
        (T::Float, 8) => SampleType::F64,
        _ => return Err(format!("unsupported npy dtype {ts}")),
    };
    Ok((t, ts.size_field()))
}

/// Interprets an npy shape as (height, width, bands, band axis first?).
fn npy_geometry(shape: &[u64]) -> std::result::Result<(u64, u64, u64, bool), String> {
    match *shape {
        [h, w] => Ok((h, w, 1, false)),
        [a, b, c] if c <= 4 && a > 4 && b > 4 => Ok((a, b, c, false)),
        [a, b, c] if a <= 4 && b > 4 && c > 4 => Ok((b, c, a, true)),
        _ => Err(format!(
            "npy shape {shape:?} is not (H, W), (H, W, C) or (C, H, W) with C <= 4 and H, W > 4"
        )),
    }
}

fn probe_npy(bytes: &[u8]) -> std::result::Result<ImageInfo, String> {
    let header = npyz::NpyHeader::from_reader(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let (dtype, _) = npy_type(&header.dtype())?;
    let (h, w, c, _) = npy_geometry(header.shape())?;
    Ok(ImageInfo {
        format: FileFormat::Npy,
        width: w as usize,
        height: h as usize,
        bands: c as usize,
        dtype,
    })
}

fn decode_npy(bytes: &[u8]) -> std::result::Result<Image, String> {
    let npy = npyz::NpyFile::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let (dtype, item) = npy_type(&npy.dtype())?;
    let shape = npy.shape().to_vec();
    let (h, w, c, band_first) = npy_geometry(&shape)?;
    check_budget(w, h, c)?;
    let n_total = h * w * c;
    if n_total * item > bytes.len() as u64 {
        return Err(format!(
            "the file holds {} bytes but its header promises {} values of {item} bytes",
            bytes.len(),
            n_total
        ));
    }
    let fortran = matches!(npy.order(), npyz::Order::Fortran);
    let data: Vec<f32> = match dtype {
        SampleType::U8 => cast(npy.into_vec::<u8>()),
        SampleType::U16 => cast(npy.into_vec::<u16>()),
        SampleType::U32 => cast(npy.into_vec::<u32>()),
        SampleType::U64 => cast(npy.into_vec::<u64>()),
        SampleType::I8 => cast(npy.into_vec::<i8>()),
        SampleType::I16 => cast(npy.into_vec::<i16>()),
        SampleType::I32 => cast(npy.into_vec::<i32>()),
        SampleType::I64 => cast(npy.into_vec::<i64>()),
        SampleType::F32 => npy.into_vec::<f32>().map_err(|e| e.to_string()),
        SampleType::F64 => cast(npy.into_vec::<f64>()),
        SampleType::F16 => Err("float16 npy is not supported".to_string()),
    }?;
    let n_total = n_total as usize;
    if data.len() != n_total {
        return Err(format!("read {} values, expected {n_total}", data.len()));
    }
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    // Strides in elements: C order, stride_k = prod_{j>k} d_j; Fortran order,
    // stride_k = prod_{j<k} d_j.
    let mut strides = vec![1usize; dims.len()];
    if fortran {
        for k in 1..dims.len() {
            strides[k] = strides[k - 1] * dims[k - 1];
        }
    } else {
        for k in (0..dims.len().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * dims[k + 1];
        }
    }
    // Strides of (band, y, x).
    let (sb, sy, sx) = match (dims.len(), band_first) {
        (2, _) => (0, strides[0], strides[1]),
        (_, false) => (strides[2], strides[0], strides[1]),
        (_, true) => (strides[0], strides[1], strides[2]),
    };
    let (h, w, c) = (h as usize, w as usize, c as usize);
    let bands: Vec<Vec<f32>> = (0..c)
        .map(|b| {
            let mut band = Vec::with_capacity(h * w);
            for y in 0..h {
                for x in 0..w {
                    band.push(data[b * sb + y * sy + x * sx]);
                }
            }
            band
        })
        .collect();
    Ok(Image {
        width: w,
        height: h,
        bands,
        dtype,
    })
}

fn cast<T: Copy + AsF32>(v: std::io::Result<Vec<T>>) -> std::result::Result<Vec<f32>, String> {
    v.map(|v| v.into_iter().map(AsF32::to_f32).collect())
        .map_err(|e| e.to_string())
}

trait AsF32 {
    fn to_f32(self) -> f32;
}

macro_rules! as_f32 {
    ($($t:ty),*) => {$(impl AsF32 for $t { fn to_f32(self) -> f32 { self as f32 } })*};
}
as_f32!(u8, u16, u32, u64, i8, i16, i32, i64, f64);

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
