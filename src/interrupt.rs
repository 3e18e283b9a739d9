//! SIGINT and SIGTERM stop long work at its next safe point (issue 32, item 5).
//!
//! The binary calls [`install`] once. The first SIGINT (Ctrl-C) or SIGTERM only records the
//! signal; the long loops ask [`check`] at their safe points (training after an epoch's
//! checkpoint is written, scoring after an image's rows are appended to `per_image.csv`)
//! and return [`Interrupted`], which says where the work stopped and what was kept. The
//! binary then exits 128 + the signal (130 for SIGINT, 143 for SIGTERM), as a shell does
//! for a process killed by it; running the same command again resumes. A second signal of
//! the same kind takes its default action at once (the process is killed by it).
//!
//! Without [`install`] (the library used from other code) nothing is ever recorded and
//! [`check`] always passes.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

/// The first stopping signal received, 0 while none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Work stopped at a safe point after SIGINT or SIGTERM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stopped by {} {at}; run the same command again to resume", signal_name(*.signal))]
pub struct Interrupted {
    /// The signal number (`libc::SIGINT`, `libc::SIGTERM`).
    pub signal: i32,
    /// Where the work stopped and what was kept ("after epoch 3 of 24: ...").
    pub at: String,
}

impl Interrupted {
    /// The exit status a shell gives a process killed by the signal: 128 + its number.
    pub fn exit_code(&self) -> i32 {
        128 + self.signal
    }
}

/// `SIGINT` / `SIGTERM` / `signal N`.
pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

/// Records the first SIGINT or SIGTERM instead of dying of it; a second one of the same
/// kind kills the process as if no handler were installed.
pub fn install() -> std::io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let again = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Registered first, so it sees the flag before the second handler sets it.
        signal_hook::flag::register_conditional_default(signal, Arc::clone(&again))?;
        signal_hook::flag::register(signal, again)?;
        // SAFETY: the handler only stores to an atomic (async-signal-safe).
        unsafe {
            signal_hook::low_level::register(signal, move || {
                let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
            })?;
        }
    }
    Ok(())
}

/// The stopping signal received so far, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// At a safe point: `Err` saying where (`at()`) when a stopping signal has been received.
pub fn check(at: impl FnOnce() -> String) -> Result<(), Interrupted> {
    match received() {
        None => Ok(()),
        Some(signal) => Err(Interrupted { signal, at: at() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_names_the_signal_the_place_and_the_exit_code() {
        let e = Interrupted {
            signal: libc::SIGTERM,
            at: "after epoch 2 of 6".into(),
        };
        assert_eq!(
            e.to_string(),
            "stopped by SIGTERM after epoch 2 of 6; run the same command again to resume"
        );
        assert_eq!(e.exit_code(), 143);
        assert_eq!(
            Interrupted {
                signal: libc::SIGINT,
                at: String::new()
            }
            .exit_code(),
            130
        );
    }
}
