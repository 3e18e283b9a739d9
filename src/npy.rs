//! The one validating `.npy` reader for every array the command line reads (inputs,
//! targets, perturbations). tch's `Tensor::read_npy` accepts a truncated file and pads it
//! with uninitialised memory; this reader checks, before anything is computed, that
//!
//! * the file is a NumPy `.npy` file whose header parses (npyz);
//! * the payload holds exactly the bytes the header promises (no truncation, no trailing
//!   bytes);
//! * the dtype is one the caller accepts, the array is in C order and has the expected rank;
//! * floating-point values are finite (when the caller asks).
//!
//! Each failure is a named [`NpyError`] variant whose message names the file and what was
//! expected.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use tch::Tensor;

/// The element types sarxai reads from `.npy` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDtype {
    /// `float32`, either byte order.
    F32,
    /// `float64`, either byte order.
    F64,
    /// `int64`, either byte order.
    I64,
    /// `uint8` (masks).
    U8,
    /// `bool` (masks), read as uint8 0/1.
    Bool,
}

impl NpyDtype {
    /// NumPy's name of the type (`float32`, `float64`, `int64`).
    pub fn name(self) -> &'static str {
        match self {
            NpyDtype::F32 => "float32",
            NpyDtype::F64 => "float64",
            NpyDtype::I64 => "int64",
            NpyDtype::U8 => "uint8",
            NpyDtype::Bool => "bool",
        }
    }
    fn size(self) -> usize {
        match self {
            NpyDtype::U8 | NpyDtype::Bool => 1,
            NpyDtype::F32 => 4,
            NpyDtype::I64 | NpyDtype::F64 => 8,
        }
    }
}

/// What the caller accepts.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// What the array is, for messages: "inputs", "targets", ...
    pub what: &'static str,
    /// Accepted element types.
    pub dtypes: &'static [NpyDtype],
    /// Required number of dimensions, if any.
    pub rank: Option<usize>,
    /// The expected layout, for messages, e.g. "(N, C, H, W)".
    pub layout: &'static str,
    /// Refuse NaN and infinite values.
    pub finite: bool,
}

impl Expect {
    /// Images: float32 or float64 of shape (N, C, H, W), finite.
    pub const IMAGES: Expect = Expect {
        what: "inputs",
        dtypes: &[NpyDtype::F32, NpyDtype::F64],
        rank: Some(4),
        layout: "(N, C, H, W)",
        finite: true,
    };
    /// Class indices: int64 of shape (N,).
    pub const TARGETS: Expect = Expect {
        what: "targets",
        dtypes: &[NpyDtype::I64],
        rank: Some(1),
        layout: "(N,)",
        finite: false,
    };
    /// Attributions made anywhere: float32 or float64 of shape (N, C, H, W), finite.
    pub const ATTRIBUTIONS: Expect = Expect {
        what: "attributions",
        dtypes: &[NpyDtype::F32, NpyDtype::F64],
        rank: Some(4),
        layout: "(N, C, H, W)",
        finite: true,
    };
    /// Ground-truth masks: bool, uint8 or int64 of shape (N, H, W), non-zero = inside.
    pub const MASKS: Expect = Expect {
        what: "masks",
        dtypes: &[NpyDtype::Bool, NpyDtype::U8, NpyDtype::I64],
        rank: Some(3),
        layout: "(N, H, W)",
        finite: false,
    };
    /// Max-Sensitivity noise: float32 or float64 of shape (S, N, C, H, W), finite.
    pub const PERTURBATIONS: Expect = Expect {
        what: "perturbations",
        dtypes: &[NpyDtype::F32, NpyDtype::F64],
        rank: Some(5),
        layout: "(S, N, C, H, W)",
        finite: true,
    };

    fn dtype_list(&self) -> String {
        self.dtypes
            .iter()
            .map(|d| d.name())
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// Why a `.npy` file was refused. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file does not exist.
    #[error("{path}: no such file")]
    Missing {
        /// The file.
        path: PathBuf,
    },

    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },

    /// The magic, version or header is not that of a `.npy` file.
    #[error("{path}: not a readable .npy array ({reason}); expected a NumPy .npy file as written by numpy.save")]
    Header {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },

    /// The payload is shorter than the header promises.
    #[error("{path} is truncated: its header promises {dtype} {shape:?} = {expected} payload bytes, the file holds {actual}; re-create or re-copy the file")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The header's element type.
        dtype: &'static str,
        /// The header's shape.
        shape: Vec<u64>,
        /// The payload bytes the header promises.
        expected: u64,
        /// The payload bytes the file holds.
        actual: u64,
    },

    /// The payload is longer than the header promises.
    #[error("{path} is oversized: its header promises {dtype} {shape:?} = {expected} payload bytes, the file holds {actual} (trailing bytes); re-create the file with numpy.save")]
    Oversized {
        /// The file.
        path: PathBuf,
        /// The header's element type.
        dtype: &'static str,
        /// The header's shape.
        shape: Vec<u64>,
        /// The payload bytes the header promises.
        expected: u64,
        /// The payload bytes the file holds.
        actual: u64,
    },

    /// The element type is not the one required.
    #[error("{path}: {what} must be {expected}, got {found}")]
    Dtype {
        /// The file.
        path: PathBuf,
        /// What the array is (inputs, targets, ...).
        what: &'static str,
        /// The element type(s) accepted.
        expected: String,
        /// The file's element type.
        found: String,
    },

    /// The array is stored in Fortran (column-major) order.
    #[error("{path}: {what} are stored in Fortran order; expected C order (save numpy.ascontiguousarray(a))")]
    FortranOrder {
        /// The file.
        path: PathBuf,
        /// What the array is (inputs, targets, ...).
        what: &'static str,
    },

    /// The array has the wrong number of dimensions.
    #[error("{path}: {what} must have {rank} dimension(s) {layout}, got shape {shape:?}")]
    Rank {
        /// The file.
        path: PathBuf,
        /// What the array is (inputs, targets, ...).
        what: &'static str,
        /// The required number of dimensions.
        rank: usize,
        /// The dimensions' meaning, e.g. `(N, C, H, W)`.
        layout: &'static str,
        /// The header's shape.
        shape: Vec<u64>,
    },

    /// The array holds NaN or infinity.
    #[error(
        "{path}: {what} hold NaN or Inf ({value} at flat index {index}); expected finite values"
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// What the array is (inputs, targets, ...).
        what: &'static str,
        /// The first non-finite value, as a flat index.
        index: usize,
        /// That value.
        value: f64,
    },
}

/// The values of a decoded array.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyValues {
    /// `float32` values.
    F32(Vec<f32>),
    /// `float64` values.
    F64(Vec<f64>),
    /// `int64` values.
    I64(Vec<i64>),
    /// `uint8` values (and `bool` as 0/1).
    U8(Vec<u8>),
}

/// A decoded, validated array (C order).
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The shape, outermost dimension first.
    pub shape: Vec<u64>,
    /// The values in C (row-major) order.
    pub values: NpyValues,
}

impl NpyArray {
    /// The array as a CPU tensor of its own kind.
    pub fn to_tensor(&self) -> Tensor {
        let shape: Vec<i64> = self.shape.iter().map(|&d| d as i64).collect();
        match &self.values {
            NpyValues::F32(v) => Tensor::from_slice(v),
            NpyValues::F64(v) => Tensor::from_slice(v),
            NpyValues::I64(v) => Tensor::from_slice(v),
            NpyValues::U8(v) => Tensor::from_slice(v),
        }
        .reshape(&shape)
    }
}

/// A friendly name of an npy type string.
fn dtype_name(ts: &npyz::TypeStr) -> String {
    use npyz::TypeChar as T;
    let name = match (ts.type_char(), ts.size_field()) {
        (T::Float, 2) => "float16",
        (T::Float, 4) => "float32",
        (T::Float, 8) => "float64",
        (T::Int, 1) => "int8",
        (T::Int, 2) => "int16",
        (T::Int, 4) => "int32",
        (T::Int, 8) => "int64",
        (T::Uint, 1) => "uint8",
        (T::Uint, 2) => "uint16",
        (T::Uint, 4) => "uint32",
        (T::Uint, 8) => "uint64",
        (T::Bool, 1) => "bool",
        _ => return format!("dtype '{ts}'"),
    };
    name.to_string()
}

/// Reads and validates `path`.
pub fn read(path: &Path, expect: &Expect) -> Result<NpyArray, NpyError> {
    if !path.is_file() {
        return Err(NpyError::Missing {
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes, path, expect)
}

/// Reads and validates `path` into a CPU tensor.
pub fn read_tensor(path: &Path, expect: &Expect) -> Result<Tensor, NpyError> {
    Ok(read(path, expect)?.to_tensor())
}

/// Decodes and validates the bytes of a `.npy` file (`path` is for messages), in the
/// order of the format (NumPy NEP 1, `.npy` versions 1.0 to 3.0): `check_preamble`
/// (magic, version, header length), the header (npyz), `accepted_dtype`,
/// `check_payload_size`, `check_layout` (C order, rank), `payload_values` and
/// `check_finite`.
pub fn decode(bytes: &[u8], path: &Path, expect: &Expect) -> Result<NpyArray, NpyError> {
    check_preamble(bytes, path)?;
    let mut cursor = Cursor::new(bytes);
    let header = npyz::NpyHeader::from_reader(&mut cursor).map_err(|e| NpyError::Header {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let offset = cursor.position() as usize;
    let shape = header.shape().to_vec();
    let (kind, little) = accepted_dtype(&header, path, expect)?;
    check_payload_size(&shape, kind, (bytes.len() - offset) as u64, path)?;
    check_layout(&header, &shape, path, expect)?;
    let values = payload_values(&bytes[offset..], kind, little);
    if expect.finite {
        check_finite(&values, path, expect)?;
    }
    Ok(NpyArray { shape, values })
}

/// Magic, version and header length, checked before npyz reads the header so that a
/// header length beyond the file is reported as such (npyz would allocate it first).
fn check_preamble(bytes: &[u8], path: &Path) -> Result<(), NpyError> {
    let header_err = |reason: String| NpyError::Header {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(header_err(
            "no NumPy magic number (\\x93NUMPY) at the start".into(),
        ));
    }
    let (len_end, header_len) = match bytes[6] {
        1 => (10usize, u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
        2 | 3 if bytes.len() >= 12 => (
            12usize,
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
        ),
        2 | 3 => return Err(header_err("the header is truncated".into())),
        v => return Err(header_err(format!("unsupported .npy format version {v}"))),
    };
    if len_end.saturating_add(header_len) > bytes.len() {
        return Err(header_err(format!(
            "the header is truncated: it announces {header_len} header bytes, the file holds {}",
            bytes.len() - len_end
        )));
    }
    Ok(())
}

/// The header's dtype, if it is one of `expect.dtypes` (float32, float64, int64), and
/// whether it is little-endian.
fn accepted_dtype(
    header: &npyz::NpyHeader,
    path: &Path,
    expect: &Expect,
) -> Result<(NpyDtype, bool), NpyError> {
    let dtype = match header.dtype() {
        npyz::DType::Plain(ts) => ts,
        other => {
            return Err(NpyError::Dtype {
                path: path.to_path_buf(),
                what: expect.what,
                expected: expect.dtype_list(),
                found: format!("structured dtype {}", other.descr()),
            })
        }
    };
    let little = !matches!(dtype.endianness(), npyz::Endianness::Big);
    let ours = {
        use npyz::TypeChar as T;
        match (dtype.type_char(), dtype.size_field()) {
            (T::Float, 4) => Some(NpyDtype::F32),
            (T::Float, 8) => Some(NpyDtype::F64),
            (T::Int, 8) => Some(NpyDtype::I64),
            (T::Uint, 1) => Some(NpyDtype::U8),
            (T::Bool, 1) => Some(NpyDtype::Bool),
            _ => None,
        }
    };
    let Some(kind) = ours.filter(|k| expect.dtypes.contains(k)) else {
        return Err(NpyError::Dtype {
            path: path.to_path_buf(),
            what: expect.what,
            expected: expect.dtype_list(),
            found: dtype_name(&dtype),
        });
    };
    Ok((kind, little))
}

/// The payload is exactly what the header promises: `size(dtype) * prod(shape)` bytes
/// (an overflowing product counts as truncated).
fn check_payload_size(
    shape: &[u64],
    kind: NpyDtype,
    actual: u64,
    path: &Path,
) -> Result<(), NpyError> {
    let expected = shape
        .iter()
        .try_fold(kind.size() as u64, |acc, &d| acc.checked_mul(d));
    let (expected, truncated) = match expected {
        Some(e) if e == actual => return Ok(()),
        Some(e) => (e, e > actual),
        None => (u64::MAX, true),
    };
    let (path, dtype, shape) = (path.to_path_buf(), kind.name(), shape.to_vec());
    Err(if truncated {
        NpyError::Truncated {
            path,
            dtype,
            shape,
            expected,
            actual,
        }
    } else {
        NpyError::Oversized {
            path,
            dtype,
            shape,
            expected,
            actual,
        }
    })
}

/// C order (Fortran order is accepted for rank 0 and 1, where it is the same) and the
/// expected rank, if any.
fn check_layout(
    header: &npyz::NpyHeader,
    shape: &[u64],
    path: &Path,
    expect: &Expect,
) -> Result<(), NpyError> {
    if matches!(header.order(), npyz::Order::Fortran) && shape.len() > 1 {
        return Err(NpyError::FortranOrder {
            path: path.to_path_buf(),
            what: expect.what,
        });
    }
    if let Some(rank) = expect.rank {
        if shape.len() != rank {
            return Err(NpyError::Rank {
                path: path.to_path_buf(),
                what: expect.what,
                rank,
                layout: expect.layout,
                shape: shape.to_vec(),
            });
        }
    }
    Ok(())
}

/// The payload's values, read as `kind` words in the file's byte order.
fn payload_values(payload: &[u8], kind: NpyDtype, little: bool) -> NpyValues {
    fn words<const N: usize>(payload: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        payload
            .chunks_exact(N)
            .map(|c| <[u8; N]>::try_from(c).expect("chunks_exact gives N bytes"))
    }
    match kind {
        NpyDtype::F32 => NpyValues::F32(
            words::<4>(payload)
                .map(|w| {
                    if little {
                        f32::from_le_bytes(w)
                    } else {
                        f32::from_be_bytes(w)
                    }
                })
                .collect(),
        ),
        NpyDtype::F64 => NpyValues::F64(
            words::<8>(payload)
                .map(|w| {
                    if little {
                        f64::from_le_bytes(w)
                    } else {
                        f64::from_be_bytes(w)
                    }
                })
                .collect(),
        ),
        NpyDtype::U8 => NpyValues::U8(payload.to_vec()),
        NpyDtype::Bool => NpyValues::U8(payload.iter().map(|&b| (b != 0) as u8).collect()),
        NpyDtype::I64 => NpyValues::I64(
            words::<8>(payload)
                .map(|w| {
                    if little {
                        i64::from_le_bytes(w)
                    } else {
                        i64::from_be_bytes(w)
                    }
                })
                .collect(),
        ),
    }
}

/// Every float value is finite; the first that is not is reported with its flat index.
fn check_finite(values: &NpyValues, path: &Path, expect: &Expect) -> Result<(), NpyError> {
    let bad = match values {
        NpyValues::F32(v) => v
            .iter()
            .position(|x| !x.is_finite())
            .map(|i| (i, v[i] as f64)),
        NpyValues::F64(v) => v.iter().position(|x| !x.is_finite()).map(|i| (i, v[i])),
        NpyValues::I64(_) | NpyValues::U8(_) => None,
    };
    if let Some((index, value)) = bad {
        return Err(NpyError::NonFinite {
            path: path.to_path_buf(),
            what: expect.what,
            index,
            value,
        });
    }
    Ok(())
}

/// The bytes of a version-1.0 `.npy` file in C order (little-endian), written by the data
/// layer's encoder ([`crate::data::encode::npy_raw`]).
pub fn encode(shape: &[u64], values: &NpyValues) -> Vec<u8> {
    let (descr, raw): (&str, Vec<u8>) = match values {
        NpyValues::F32(v) => ("<f4", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        NpyValues::F64(v) => ("<f8", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        NpyValues::I64(v) => ("<i8", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        NpyValues::U8(v) => ("|u1", v.clone()),
    };
    let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    crate::data::encode::npy_raw(&shape, descr, &raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("a.npy")
    }

    #[test]
    fn round_trip_and_every_truncation_is_named() {
        let shape = [2u64, 1, 3, 3];
        let v: Vec<f32> = (0..18).map(|i| i as f32 * 0.5).collect();
        let bytes = encode(&shape, &NpyValues::F32(v.clone()));
        let a = decode(&bytes, p(), &Expect::IMAGES).unwrap();
        assert_eq!(a.shape, shape);
        assert_eq!(a.values, NpyValues::F32(v));
        for cut in 0..bytes.len() {
            let e = decode(&bytes[..cut], p(), &Expect::IMAGES).unwrap_err();
            assert!(
                matches!(e, NpyError::Header { .. } | NpyError::Truncated { .. }),
                "{cut}: {e}"
            );
            assert!(e.to_string().contains("a.npy"), "{e}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            decode(&long, p(), &Expect::IMAGES),
            Err(NpyError::Oversized { .. })
        ));
    }

    #[test]
    fn dtype_rank_order_and_non_finite_are_named() {
        let b = encode(&[2], &NpyValues::F32(vec![0.0, 1.0]));
        let e = decode(&b, p(), &Expect::TARGETS).unwrap_err();
        assert!(
            e.to_string().contains("targets must be int64, got float32"),
            "{e}"
        );
        let b = encode(&[2, 2], &NpyValues::I64(vec![0, 1, 2, 3]));
        let e = decode(&b, p(), &Expect::TARGETS).unwrap_err();
        assert!(matches!(e, NpyError::Rank { rank: 1, .. }), "{e}");
        let b = encode(&[1, 1, 1, 2], &NpyValues::F64(vec![0.0, f64::NAN]));
        let e = decode(&b, p(), &Expect::IMAGES).unwrap_err();
        assert!(matches!(e, NpyError::NonFinite { index: 1, .. }), "{e}");
        let b = encode(&[1, 1, 2, 1], &NpyValues::F32(vec![0.0, 1.0]));
        let mut f = b.clone();
        let pos = f.windows(5).position(|w| w == b"False").unwrap();
        f[pos..pos + 5].copy_from_slice(b"True ");
        let e = decode(&f, p(), &Expect::IMAGES).unwrap_err();
        assert!(matches!(e, NpyError::FortranOrder { .. }), "{e}");
    }
}
