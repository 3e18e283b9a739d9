//! The guarded boundary of every command: tch's panicking operations turn a libtorch error
//! (out of memory, a shape or dtype mismatch, any C++ exception) into a Rust panic carrying
//! the C++ message and backtrace. [`guarded`] runs a command with the default panic hook
//! silenced, catches such a panic and returns a typed [`GuardError`] that says what to
//! change: the memory knob of the command, or the mismatching shapes.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

/// A libtorch error (or an internal panic) caught at the command boundary.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// libtorch could not allocate memory.
    #[error("out of memory: {detail}; fix: {knob}")]
    OutOfMemory {
        /// libtorch's message.
        detail: String,
        /// How to use less memory with this command.
        knob: String,
    },
    /// Tensor shapes do not fit inside a libtorch operation.
    #[error("shape mismatch inside libtorch: {detail}; fix: check the shapes of the input arrays and the checkpoint (`sarxai model info`)")]
    Shape {
        /// libtorch's message.
        detail: String,
    },
    /// Element types do not fit inside a libtorch operation.
    #[error("dtype mismatch inside libtorch: {detail}; fix: pass float32 inputs and int64 targets, or use --dtype")]
    Dtype {
        /// libtorch's message.
        detail: String,
    },
    /// Any other C++ exception of libtorch.
    #[error("libtorch error: {detail}")]
    Libtorch {
        /// libtorch's message.
        detail: String,
    },
    /// A panic of sarxai itself.
    #[error("internal error (a bug in sarxai, please report it): {detail} at {location}")]
    Internal {
        /// The panic's message.
        detail: String,
        /// Where it happened (file:line).
        location: String,
    },
}

/// Where the last caught panic happened (set by the silent hook).
static LOCATION: Mutex<Option<String>> = Mutex::new(None);

/// Runs `f`, turning a panic into a [`GuardError`] (as an `anyhow::Error`). `knob` says
/// how to use less memory with this command, e.g. "lower --memory-mib".
pub fn guarded<T>(knob: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    // One guarded region at a time (the hook is process-wide; tests run in parallel).
    static REGION: Mutex<()> = Mutex::new(());
    let _region = REGION.lock().unwrap_or_else(|e| e.into_inner());
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        if let Ok(mut l) = LOCATION.lock() {
            *l = info.location().map(|l| l.to_string());
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic without a message".to_string());
            let location = LOCATION
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .unwrap_or_else(|| "an unknown location".into());
            Err(classify(&msg, knob, location).into())
        }
    }
}

/// The C++ message of a tch panic ("called `Result::unwrap()` on an `Err` value:
/// Torch(\"...\")"), without libtorch's "Exception raised from" backtrace.
pub(crate) fn torch_message(panic_msg: &str) -> Option<String> {
    let start = panic_msg.find("Torch(\"")? + "Torch(\"".len();
    let body = &panic_msg[start..];
    let body = body.strip_suffix("\")").unwrap_or(body);
    let body = body
        .replace("\\n", "\n")
        .replace("\\\"", "\"")
        .replace("\\'", "'");
    // libtorch appends a C++ backtrace after either marker.
    let cut = ["Exception raised from", "frame #0"]
        .iter()
        .filter_map(|m| body.find(m))
        .min()
        .unwrap_or(body.len());
    let text: Vec<&str> = body[..cut]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Some(text.join(" "))
}

/// Sorts a panic message into a [`GuardError`].
pub(crate) fn classify(panic_msg: &str, knob: &str, location: String) -> GuardError {
    let Some(detail) = torch_message(panic_msg) else {
        let lower = panic_msg.to_lowercase();
        if lower.contains("capacity overflow") || lower.contains("memory allocation") {
            return GuardError::OutOfMemory {
                detail: panic_msg.to_string(),
                knob: knob.to_string(),
            };
        }
        return GuardError::Internal {
            detail: panic_msg.to_string(),
            location,
        };
    };
    let lower = detail.to_lowercase();
    if lower.contains("out of memory")
        || lower.contains("can't allocate memory")
        || lower.contains("cannot allocate memory")
        || lower.contains("not enough memory")
        || lower.contains("bad_alloc")
        || lower.contains("tried to allocate")
    {
        GuardError::OutOfMemory {
            detail,
            knob: knob.to_string(),
        }
    } else if lower.contains("size")
        || lower.contains("shape")
        || lower.contains("dimension")
        || lower.contains("cannot be multiplied")
    {
        GuardError::Shape { detail }
    } else if lower.contains("dtype")
        || lower.contains("scalar type")
        || lower.contains("expected scalar")
    {
        GuardError::Dtype { detail }
    } else {
        GuardError::Libtorch { detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    #[test]
    fn a_libtorch_shape_error_becomes_a_typed_error() {
        let e = guarded("lower --memory-mib", || {
            let a = Tensor::zeros([2, 3], (Kind::Float, Device::Cpu));
            let b = Tensor::zeros([4, 5], (Kind::Float, Device::Cpu));
            Ok(a.matmul(&b))
        })
        .unwrap_err();
        let g = e.downcast_ref::<GuardError>().expect("a GuardError");
        assert!(matches!(g, GuardError::Shape { .. }), "{g}");
        let msg = g.to_string();
        assert!(msg.contains("cannot be multiplied"), "{msg}");
        assert!(
            !msg.contains("Exception raised from") && !msg.contains("frame #"),
            "{msg}"
        );
    }

    #[test]
    fn an_impossible_allocation_names_the_knob() {
        let e = guarded("lower --memory-mib", || {
            Ok(Tensor::zeros(
                [1 << 20, 1 << 20],
                (Kind::Float, Device::Cpu),
            ))
        })
        .unwrap_err();
        let g = e.downcast_ref::<GuardError>().expect("a GuardError");
        assert!(matches!(g, GuardError::OutOfMemory { .. }), "{g}");
        let msg = g.to_string();
        assert!(msg.contains("--memory-mib"), "{msg}");
        assert!(!msg.contains("frame #"), "{msg}");
    }

    #[test]
    fn other_panics_are_internal_errors_with_their_location() {
        let e = guarded("x", || -> anyhow::Result<()> { panic!("boom") }).unwrap_err();
        let g = e.downcast_ref::<GuardError>().expect("a GuardError");
        assert!(matches!(g, GuardError::Internal { .. }), "{g}");
        assert!(g.to_string().contains("guard.rs"), "{g}");
        // Results pass through.
        assert_eq!(guarded("x", || Ok(3)).unwrap(), 3);
    }
}
