//! Data: the synthetic SAR default dataset, discovery and decoding of real
//! OpenSARUrban/OpenSARShip-style files, preprocessing, seeded stratified splits, and
//! SHA-256 manifests. Pure Rust (no libtorch): training turns the f32 arrays of
//! [`dataset::Dataset`] into tensors.
//!
//! One job per module:
//! * [`synth`]: deterministic synthetic generator with ground-truth masks;
//! * `naming`: class aliases, polarization suffixes, the `<class>_x<X>_y<Y>` pattern;
//! * [`discover`]: recursive discovery from names and folders, skipped-file reasons;
//! * [`decode`]: TIFF / PNG / JPEG / NPY to f32 bands;
//! * [`encode`]: the writers sarxai uses for TIFF, PNG and NPY;
//! * [`preprocess`]: scale, resize / crop, percentile clip, normalisation statistics;
//! * `split`: stratified seeded splits and their digests;
//! * [`dataset`]: all of the above into per-split arrays;
//! * [`manifest`]: per-file SHA-256 manifests, verification, the pinned archive digest;
//! * `archive`: a zip archive checked against its pin and extracted once into a verified cache;
//! * `mock`: the deterministic mock of OpenSARUrbanDataset.zip;
//! * `raster`: shapes the generator draws;
//! * `error`: the error type, [`DataError`].

pub(crate) mod archive;
pub mod dataset;
pub mod decode;
pub mod discover;
pub mod encode;
pub(crate) mod error;
pub mod manifest;
pub(crate) mod mock;
pub(crate) mod naming;
pub mod preprocess;
pub(crate) mod raster;
pub(crate) mod split;
pub mod synth;

pub use dataset::{Dataset, DatasetConfig, DatasetRecord, SplitData};
pub use error::DataError;
pub use naming::{Pol, OPENSARURBAN_CLASSES};
pub use split::Split;
