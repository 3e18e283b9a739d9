//! Encoders for the files sarxai writes: float32 TIFF patches, 8-bit PNG masks, and a small
//! uncompressed baseline-TIFF writer for any sample layout (1 or more bands, chunky or
//! planar, u8/u16/f32), used to build test inputs shaped like the real OpenSARShip chips.
//!
//! Encoder settings are fixed (no compression for TIFF; PNG deflate `Balanced` with the
//! `Sub` filter), so the same pixels always give the same bytes.

use std::io::Cursor;

/// Encodes a single-band float32 image (row-major, `width * height` values) as an
/// uncompressed little-endian TIFF with one strip per 8 KiB.
pub fn tiff_f32(width: usize, height: usize, data: &[f32]) -> Result<Vec<u8>, String> {
    if data.len() != width * height {
        return Err(format!(
            "tiff_f32: {} values for {width}x{height}",
            data.len()
        ));
    }
    let mut buf = Cursor::new(Vec::new());
    let mut enc = tiff::encoder::TiffEncoder::new(&mut buf).map_err(|e| e.to_string())?;
    enc.write_image::<tiff::encoder::colortype::Gray32Float>(width as u32, height as u32, data)
        .map_err(|e| e.to_string())?;
    Ok(buf.into_inner())
}

/// Encodes an 8-bit grayscale PNG with fixed settings (deflate `Balanced`, filter `Sub`).
pub fn png_gray8(width: usize, height: usize, data: &[u8]) -> Result<Vec<u8>, String> {
    png_gray(width, height, png::BitDepth::Eight, data)
}

/// Encodes a 16-bit grayscale PNG (samples big-endian as PNG requires).
pub fn png_gray16(width: usize, height: usize, data: &[u16]) -> Result<Vec<u8>, String> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_be_bytes()).collect();
    png_gray(width, height, png::BitDepth::Sixteen, &bytes)
}

fn png_gray(
    width: usize,
    height: usize,
    depth: png::BitDepth,
    bytes: &[u8],
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(depth);
        enc.set_compression(png::Compression::Balanced);
        enc.set_filter(png::Filter::Sub);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(bytes).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Sample type of [`tiff_raw`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawSample {
    /// 8-bit unsigned integer.
    U8,
    /// 16-bit unsigned integer, little-endian.
    U16,
    /// 32-bit float, little-endian.
    F32,
}

impl RawSample {
    fn bytes(self) -> usize {
        match self {
            RawSample::U8 => 1,
            RawSample::U16 => 2,
            RawSample::F32 => 4,
        }
    }
}

/// Writes an uncompressed little-endian baseline TIFF with `bands` samples per pixel, one
/// strip per plane. `bands_data[b]` holds band `b` row-major as f32 (converted to the
/// sample type by `as`). `planar = false` interleaves the bands per pixel (PlanarConfiguration
/// 1, as OpenSARShip's 2-band chips are stored); `true` stores one plane per band
/// (PlanarConfiguration 2).
pub fn tiff_raw(
    width: usize,
    height: usize,
    bands_data: &[Vec<f32>],
    sample: RawSample,
    planar: bool,
) -> Vec<u8> {
    let bands = bands_data.len();
    let n = width * height;
    let sb = sample.bytes();
    let push = |out: &mut Vec<u8>, v: f32| match sample {
        RawSample::U8 => out.push(v as u8),
        RawSample::U16 => out.extend_from_slice(&(v as u16).to_le_bytes()),
        RawSample::F32 => out.extend_from_slice(&v.to_le_bytes()),
    };
    let mut pixels = Vec::with_capacity(n * bands * sb);
    if planar {
        for band in bands_data {
            for i in 0..n {
                push(&mut pixels, band.get(i).copied().unwrap_or(0.0));
            }
        }
    } else {
        for i in 0..n {
            for band in bands_data {
                push(&mut pixels, band.get(i).copied().unwrap_or(0.0));
            }
        }
    }
    let strips = if planar { bands } else { 1 };
    let strip_bytes = if planar { n * sb } else { n * sb * bands };
    // Layout: header (8) | pixel data | out-of-line arrays | IFD.
    let data_off = 8usize;
    if pixels.len() % 2 == 1 {
        pixels.push(0); // keep the following arrays word-aligned
    }
    let extra_off = data_off + pixels.len();
    let mut extra = OutOfLine {
        base: extra_off,
        bytes: Vec::new(),
    };
    let bits = vec![(sb * 8) as u32; bands];
    let fmt_code = if sample == RawSample::F32 { 3 } else { 1 };
    let formats = vec![fmt_code; bands];
    let offsets: Vec<u32> = (0..strips)
        .map(|s| (data_off + s * strip_bytes) as u32)
        .collect();
    let counts = vec![strip_bytes as u32; strips];
    // (tag, type, count, value-or-offset); type 3 = SHORT, 4 = LONG.
    let entries: Vec<(u16, u16, u32, u32)> = vec![
        (256, 4, 1, width as u32),
        (257, 4, 1, height as u32),
        (258, 3, bands as u32, extra.shorts(&bits)),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, strips as u32, extra.longs(&offsets)),
        (277, 3, 1, bands as u32),
        (278, 4, 1, height as u32),
        (279, 4, strips as u32, extra.longs(&counts)),
        (284, 3, 1, if planar { 2 } else { 1 }),
        (339, 3, bands as u32, extra.shorts(&formats)),
    ];
    let mut extra = extra.bytes;
    if extra.len() % 2 == 1 {
        extra.push(0);
    }
    let mut ifd_off = extra_off + extra.len();
    let pad = ifd_off % 2;
    ifd_off += pad;
    let mut out = Vec::new();
    out.extend_from_slice(b"II");
    out.extend_from_slice(&42u16.to_le_bytes());
    out.extend_from_slice(&(ifd_off as u32).to_le_bytes());
    out.extend_from_slice(&pixels);
    out.extend_from_slice(&extra);
    out.extend(std::iter::repeat_n(0u8, pad));
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, ty, count, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

/// Out-of-line TIFF tag values: arrays too long to fit the 4-byte value field.
struct OutOfLine {
    base: usize,
    bytes: Vec<u8>,
}

impl OutOfLine {
    /// SHORT values: inline when at most two, else stored here and their offset returned.
    fn shorts(&mut self, vals: &[u32]) -> u32 {
        if vals.len() <= 2 {
            vals.iter()
                .enumerate()
                .fold(0, |acc, (i, &x)| acc | ((x & 0xffff) << (16 * i)))
        } else {
            let off = (self.base + self.bytes.len()) as u32;
            for &v in vals {
                self.bytes.extend_from_slice(&(v as u16).to_le_bytes());
            }
            off
        }
    }

    /// LONG values: inline when one, else stored here and their offset returned.
    fn longs(&mut self, vals: &[u32]) -> u32 {
        if vals.len() == 1 {
            vals[0]
        } else {
            let off = (self.base + self.bytes.len()) as u32;
            for &v in vals {
                self.bytes.extend_from_slice(&v.to_le_bytes());
            }
            off
        }
    }
}

/// Encodes a C-order little-endian NumPy `.npy` (format 1.0) of f32 with the given shape.
pub fn npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    npy_raw(
        shape,
        "<f4",
        &data
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<_>>(),
    )
}

/// Encodes a `.npy` (format 1.0) with the given numpy type string (e.g. `<u2`) and raw data.
pub fn npy_raw(shape: &[usize], descr: &str, raw: &[u8]) -> Vec<u8> {
    let shape_txt = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(raw);
    out
}
