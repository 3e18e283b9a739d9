//! The TIFF decoder: u8, u16, u32, i8-i32, f16, f32, f64; any number of bands; chunky or
//! planar; strips or tiles (through the `tiff` crate).

use std::io::Cursor;

use super::{check_budget, FileFormat, Image, ImageInfo, SampleType, MAX_SAMPLES};

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

pub(super) fn probe_tiff(bytes: &[u8]) -> std::result::Result<ImageInfo, String> {
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

pub(super) fn decode_tiff(bytes: &[u8]) -> std::result::Result<Image, String> {
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
