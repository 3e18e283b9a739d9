//! Typed errors of the data layer. Every variant names the file (or directory) concerned and
//! says how to fix the problem, so that a CLI user can act on the message alone.

use std::path::PathBuf;

/// Errors raised while generating, discovering, decoding, splitting or pinning data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An operating-system I/O error on a named path.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },

    /// A file's bytes could not be decoded as the image format its extension promises.
    #[error("cannot decode {path} as {format}: {reason}; fix: re-export or re-download the file, or remove it from the dataset")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The format its extension promises.
        format: String,
        /// The decoder's message.
        reason: String,
    },

    /// A file decoded, but its contents are not usable (band count, size, dtype, ...).
    #[error("unusable image {path}: {reason}; fix: {fix}")]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// How to fix it.
        fix: String,
    },

    /// A pixel is NaN or infinite.
    #[error("{path} has a non-finite pixel ({value}) at band {band}, x {x}, y {y}; fix: repair or remove the file (sarxai never guesses a replacement value)")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The band (0-based).
        band: usize,
        /// Column of the pixel.
        x: usize,
        /// Row of the pixel.
        y: usize,
        /// The pixel's value.
        value: f32,
    },

    /// The extension is not one of the supported image formats.
    #[error("{path}: unsupported file type; fix: use TIFF (.tif/.tiff), PNG, JPEG (.jpg/.jpeg) or NumPy (.npy)")]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },

    /// A directory holds no usable samples.
    #[error("no usable samples under {dir}: {detail}; fix: point at the folder holding the patches (`sarxai data inspect {dir}` lists what was found and skipped)")]
    NoSamples {
        /// The directory searched.
        dir: PathBuf,
        /// What was found instead.
        detail: String,
    },

    /// Strict mode: discovery or loading skipped files.
    #[error("strict mode: {count} file(s) under {dir} were skipped, first: {first}; fix: remove or repair them, or drop --strict to skip them with a report")]
    StrictSkips {
        /// The directory searched.
        dir: PathBuf,
        /// Files skipped.
        count: usize,
        /// The first skipped file and why.
        first: String,
    },

    /// The configuration asks for something the data cannot give.
    #[error("invalid configuration for {dir}: {reason}; fix: {fix}")]
    Config {
        /// The data directory.
        dir: PathBuf,
        /// What cannot be given.
        reason: String,
        /// How to fix it.
        fix: String,
    },

    /// A manifest file is malformed.
    #[error("cannot read manifest {path}: {reason}; fix: regenerate it with `sarxai data manifest DIR --out {path}`")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is malformed.
        reason: String,
    },

    /// A file's digest differs from the pinned value.
    #[error("{path}: SHA-256 {actual} (size {size} bytes) does not match the pinned {expected} ({provenance}); fix: re-download the file and check it is the one the pin describes")]
    DigestMismatch {
        /// The file.
        path: PathBuf,
        /// The pinned SHA-256 (hex).
        expected: String,
        /// The file's SHA-256 (hex).
        actual: String,
        /// The file's size in bytes.
        size: u64,
        /// Where the pin comes from.
        provenance: String,
    },
}

impl DataError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    /// A decode error for `path` in `format`.
    pub fn decode(path: impl Into<PathBuf>, format: &str, reason: impl ToString) -> Self {
        DataError::Decode {
            path: path.into(),
            format: format.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Result alias of the data layer.
pub type Result<T, E = DataError> = std::result::Result<T, E>;
