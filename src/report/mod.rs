//! The report page: a static, offline `report.html` drawn from a finished and checked run
//! (its results, verdicts, pins, Table 1 files, Figure 1 and timings), with hand-written
//! inline SVG charts (`svg`). It computes nothing of the study; [`crate::score`] does.

pub mod html;
pub mod models;
pub(crate) mod svg;

pub use html::write_report;
