//! Intel oneMKL's Conditional Numerical Reproducibility (CNR) for libtorch's CPU matrix
//! products.
//!
//! libtorch's x86-64 builds link oneMKL (2024.0 in torch 2.11.0) for SGEMM: the
//! convolutions libtorch unfolds (im2col) and the fully connected layer. Outside CNR mode
//! MKL may choose a different code path per call, depending on the operands' memory
//! alignment, and so round differently from one process to the next. Measured on the
//! 2-core AVX-512 Xeon (2026-12-06): `sarxai score --per-class 1 --methods all --metrics
//! all` of one smoke run, three processes, same binary and seed, wrote three different
//! `per_image.csv` (11,995 SGEMM calls per process, `MKL_VERBOSE=1`, each marked
//! `CNR:OFF`); with glibc's default malloc (`SARXAI_MALLOC=default`) the three differed
//! too, so the allocator settings of [`crate::malloc`] were not the cause; with
//! `MKL_CBWR=AUTO` the three were byte-identical, and stayed identical whatever
//! `MALLOC_PERTURB_` wrote into fresh memory (so no value depends on uninitialised
//! memory). Training gave the same model hashes with and without CNR.
//!
//! `AUTO` is MKL's CNR mode on the best code path for the processor it runs on: the same
//! bytes from run to run on one CPU kind with a fixed thread count, for aligned and
//! unaligned data alike (Intel's "Reproducibility Conditions"). Other CPU kinds may still
//! round differently (`COMPATIBLE` would give the same bytes across them, slower); a value
//! the user exports wins and is recorded as theirs (MKL treats any value it does not know,
//! `OFF` included, as `AUTO`: `MKL_VERBOSE` then reports `CNR:AUTO`). `SARXAI_MKL=default`
//! leaves `MKL_CBWR` unset, MKL's default (CNR off), to measure what CNR costs
//! (BENCHMARKS.md) or to see the run-to-run differences again.
//!
//! It is set through MKL's documented environment variable `MKL_CBWR`, which MKL reads once,
//! at its first call: [`reproducible_mkl`] must run before libtorch computes anything
//! (first thing in `main`, like [`crate::malloc::keep_freed_memory`]). The variable is
//! inherited by child processes.

use std::sync::OnceLock;

/// MKL's environment variable for its CNR mode.
pub const VAR: &str = "MKL_CBWR";

/// The CNR mode sarxai sets when the environment sets none.
pub const DEFAULT_MODE: &str = "AUTO";

static IN_FORCE: OnceLock<Cnr> = OnceLock::new();

/// The CNR setting of this process: the value of `MKL_CBWR` and who chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cnr {
    /// The value MKL reads, e.g. `AUTO`; `None` when unset (CNR off: MKL's default).
    pub mode: Option<String>,
    /// Whether sarxai set it ([`reproducible_mkl`]) rather than the user's environment.
    pub set_by_sarxai: bool,
}

impl Cnr {
    /// The setting in words, as manifests and Table 1's notes record it, e.g.
    /// `MKL_CBWR=AUTO (set by sarxai: MKL's conditional numerical reproducibility)`.
    pub fn describe(&self) -> String {
        match (&self.mode, self.set_by_sarxai) {
            (Some(m), true) => {
                format!("{VAR}={m} (set by sarxai: MKL's conditional numerical reproducibility)")
            }
            (Some(m), false) => format!("{VAR}={m} (from the environment)"),
            (None, _) => format!(
                "{VAR} unset (MKL's CNR off: CPU results may differ from process to process)"
            ),
        }
    }
}

/// Sets `MKL_CBWR` to [`DEFAULT_MODE`] unless the environment already sets it (or sets
/// `SARXAI_MKL=default`), and
/// returns the setting in force. Call it first thing in `main`, before libtorch computes
/// and before other threads start (it writes the process environment); later calls
/// return the first call's setting.
pub fn reproducible_mkl() -> &'static Cnr {
    IN_FORCE.get_or_init(|| match std::env::var(VAR) {
        Ok(mode) => Cnr {
            mode: Some(mode),
            set_by_sarxai: false,
        },
        Err(_) if std::env::var_os("SARXAI_MKL").is_some_and(|v| v == "default") => Cnr {
            mode: None,
            set_by_sarxai: false,
        },
        Err(_) => {
            std::env::set_var(VAR, DEFAULT_MODE);
            Cnr {
                mode: Some(DEFAULT_MODE.to_string()),
                set_by_sarxai: true,
            }
        }
    })
}

/// The setting in force: [`reproducible_mkl`]'s if it ran, otherwise the environment's
/// (a library user who did not call it).
pub fn in_force() -> Cnr {
    IN_FORCE.get().cloned().unwrap_or_else(|| Cnr {
        mode: std::env::var(VAR).ok(),
        set_by_sarxai: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_names_the_value_and_who_chose_it() {
        let ours = Cnr {
            mode: Some("AUTO".into()),
            set_by_sarxai: true,
        };
        assert!(ours.describe().starts_with("MKL_CBWR=AUTO (set by sarxai"));
        let theirs = Cnr {
            mode: Some("COMPATIBLE".into()),
            set_by_sarxai: false,
        };
        assert_eq!(
            theirs.describe(),
            "MKL_CBWR=COMPATIBLE (from the environment)"
        );
        let off = Cnr {
            mode: None,
            set_by_sarxai: false,
        };
        assert!(off.describe().contains("CNR off"));
    }
}
