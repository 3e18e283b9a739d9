//! The NumPy `.npy` decoder: 2-D `(H, W)`, or 3-D `(H, W, C)` / `(C, H, W)` with C <= 4;
//! C or Fortran order.

use std::io::Cursor;

use super::{check_budget, FileFormat, Image, ImageInfo, SampleType};

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

pub(super) fn probe_npy(bytes: &[u8]) -> std::result::Result<ImageInfo, String> {
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

pub(super) fn decode_npy(bytes: &[u8]) -> std::result::Result<Image, String> {
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
