//! The PNG (8 and 16 bit, gray or RGB) and JPEG decoders, through the `image` crate.

use std::io::Cursor;

use super::{check_budget, FileFormat, Image, ImageInfo, SampleType, MAX_SAMPLES};

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

pub(super) fn probe_with_image_crate(
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

pub(super) fn decode_with_image_crate(
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
