//! glibc malloc settings for libtorch's CPU tensors.
//!
//! By default glibc serves every allocation above a dynamic threshold (128 KiB, rising to
//! at most 32 MiB) with a fresh `mmap` and returns it with `munmap` on free, and trims the
//! heap top above 128 KiB. libtorch allocates its activations and gradients with `malloc`
//! on every pass, so each pass faults in its memory again page by page: measured on
//! Occlusion of 16 images (ResNet-18, 100x100, 2 threads), 43 s of 70 s of CPU time were
//! kernel time spent in page faults, and the best wall time was 36.0 s. Keeping freed
//! memory in the heap (mmap threshold and trim threshold at 2 GiB) makes later passes reuse
//! it: 0.4 s kernel time, 21.3 s wall, peak RSS 1.0 GB instead of 0.9 GB (BENCHMARKS.md).
//! The cost: the process keeps its high-water mark of memory until it exits, which suits
//! a command-line run. `SARXAI_MALLOC=default` keeps glibc's behaviour.

/// Applies the settings above (Linux with glibc only; elsewhere, and with
/// `SARXAI_MALLOC=default`, nothing). Returns whether they were applied. Call it first
/// thing in `main`, before libtorch allocates.
pub fn keep_freed_memory() -> bool {
    *APPLIED
        .get_or_init(|| std::env::var_os("SARXAI_MALLOC").is_none_or(|v| v != "default") && apply())
}

static APPLIED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// The allocator setting of this process in words, as manifests record it: whether
/// [`keep_freed_memory`] applied the settings above (`None` if it was not called).
pub fn in_force() -> Option<&'static str> {
    APPLIED.get().map(|&kept| {
        if kept {
            "glibc malloc keeps freed memory (mmap and trim thresholds 2 GiB)"
        } else {
            "glibc malloc defaults (SARXAI_MALLOC=default, or not glibc)"
        }
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    const TWO_GIB: libc::c_int = libc::c_int::MAX;
    // SAFETY: mallopt only changes allocator parameters; it is called before other threads
    // allocate (first thing in main) and glibc serialises it with the arena locks anyway.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, TWO_GIB) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TWO_GIB) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}
