//! sarxai: a reproducible, verifiable and fast explainable-AI study of SAR image
//! classifiers (ResNet on Sentinel-1 patches, eight Captum-equivalent attribution methods,
//! Max-Sensitivity and file-size "XAI entropy") on libtorch.
//!
//! The modules in the order data flows, bottom to top; each uses only those above it in
//! this list (ARCHITECTURE.md; checked by `tests/architecture.rs`):
//! * [`io`]: atomic file writes, SHA-256 digests, the run-directory lock;
//! * [`interrupt`]: SIGINT and SIGTERM recorded, long loops stopped at safe points;
//! * [`layout`]: every file and folder name of a run directory;
//! * [`progress`]: progress bars on standard error;
//! * [`malloc`]: glibc settings that stop libtorch re-faulting its memory every pass;
//! * [`mkl`]: MKL's conditional numerical reproducibility (same CPU bytes in every process
//!   and from call to call: a program using the library calls [`mkl::reproducible_mkl`]
//!   before any tensor work, as `main` does);
//! * [`stats`]: means, Student-t, Wilson and Clopper-Pearson intervals, Kendall tau-b;
//! * [`shim`]: the C++ shim: numerics flags, `autograd::grad`, the ReLU rule node;
//! * [`device`]: `--device cpu|cuda|auto`, threads and the numerics settings;
//! * [`data`]: synthetic SAR, discovery and decoding of real files, archive, splits, manifests;
//! * [`npy`]: the validating `.npy` reader of every array the command line reads;
//! * [`model`]: torchvision-exact ResNets, ReLU rule points, fast inference, checkpoints;
//! * [`train`]: training one polarization, and evaluation (`train::eval`);
//! * [`attr`]: the eight attribution methods, one file each;
//! * [`metrics`]: Max-Sensitivity, XAI entropy and the further metrics of explanations;
//! * [`claims`]: the paper's claims, the pins and budgets, verdicts;
//! * [`score`]: scoring of test images, Table 1, Figure 1, shards and merge;
//! * [`recompute`]: a run's results re-derived from its weights and data;
//! * [`verify`]: the claims check of a run directory (pins re-measured, verdicts);
//! * [`report`]: the report page drawn from a checked run;
//! * [`reproduce`]: the whole study, stage by stage;
//! * [`cli`]: the command line, the only place that parses arguments and prints.

pub mod attr;
pub mod claims;
pub mod cli;
pub mod data;
pub mod device;
pub mod interrupt;
pub mod io;
pub mod layout;
pub mod malloc;
pub mod metrics;
pub mod mkl;
pub mod model;
pub mod npy;
pub mod progress;
pub mod recompute;
pub mod report;
pub mod reproduce;
pub mod score;
pub mod shim;
pub mod stats;
pub mod train;
pub mod verify;
