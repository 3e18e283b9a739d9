//! Link-time setup for libtorch, and the build-time switches of tests that need what a
//! clone may lack.
//!
//! * `-Wl,-rpath=<libtorch>/lib` so that binaries, tests and benches find libtorch at run
//!   time without LD_LIBRARY_PATH (cargo overwrites that variable anyway).
//! * `-Wl,--no-as-needed -ltorch`: without it the linker drops libtorch_cuda (no symbol of
//!   it is referenced directly) and CUDA is never seen on a GPU machine.
//! * The C++ shim `csrc/sarxai_shim.cpp` (libtorch's numerics flags and
//!   `torch::autograd::grad`, see src/shim.rs), compiled with the `cc` crate as torch-sys
//!   compiles its own wrapper: C++17, `-D_GLIBCXX_USE_CXX11_ABI` (torch-sys'
//!   `LIBTORCH_CXX11_ABI`, default 1), `-DGLOG_USE_GLOG_EXPORT`, and the include dirs
//!   `<libtorch>/include` and `<libtorch>/include/torch/csrc/api/include`, where
//!   `<libtorch>` is the parent of `DEP_TCH_LIBTORCH_LIB` (else `$LIBTORCH`).
//! * `SARXAI_REQUIRE_<THING>=1` at build time sets `cfg(sarxai_require_<thing>)`. Tests
//!   that need the thing carry `#[cfg_attr(not(sarxai_require_<thing>), ignore = "...")]`:
//!   without the variable they are reported as ignored with their reason; with it they run
//!   and fail when the thing is missing. libtest has no skip at run time, so a test never
//!   passes by returning early.

/// The switches: environment variable suffix -> cfg name suffix.
const REQUIREMENTS: [(&str, &str); 3] = [
    // A CUDA device visible to libtorch (GPU runners: ci/workflows/gpu.yml).
    ("CUDA", "cuda"),
    // The real Sentinel-1 chips in ../shared/data (research data, not in the repository).
    ("SHARED", "shared"),
    // The real OpenSARUrban archive ($OPENSARURBAN_DIR) for the paper profile.
    ("OPENSARURBAN", "opensarurban"),
];

/// Compiles the C++ shim against the libtorch at `root` (the directory holding
/// `include/` and `lib/`).
fn compile_shim(root: &std::path::Path) {
    const SHIM: &str = "csrc/sarxai_shim.cpp";
    println!("cargo:rerun-if-changed={SHIM}");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .file(SHIM)
        .compile("sarxai_shim");
}

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").ok();
    if let Some(lib) = &lib {
        println!("cargo:rustc-link-arg=-Wl,-rpath={lib}");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
    let root = lib
        .and_then(|l| std::path::Path::new(&l).parent().map(|p| p.to_path_buf()))
        .or_else(|| std::env::var_os("LIBTORCH").map(std::path::PathBuf::from))
        .expect("neither DEP_TCH_LIBTORCH_LIB (torch-sys) nor LIBTORCH is set: cannot find libtorch's headers for csrc/sarxai_shim.cpp");
    compile_shim(&root);
    for (var, cfg) in REQUIREMENTS {
        let var = format!("SARXAI_REQUIRE_{var}");
        println!("cargo:rerun-if-env-changed={var}");
        println!("cargo::rustc-check-cfg=cfg(sarxai_require_{cfg})");
        if std::env::var(&var).is_ok_and(|v| v == "1") {
            println!("cargo:rustc-cfg=sarxai_require_{cfg}");
        }
    }
}
