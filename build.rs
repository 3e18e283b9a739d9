//! Link-time setup for libtorch (see DESIGN.md §3b).
//!
//! * `-Wl,-rpath=<libtorch>/lib` so that binaries, tests and benches find libtorch at run
//!   time without LD_LIBRARY_PATH (cargo overwrites that variable anyway).
//! * `-Wl,--no-as-needed -ltorch`: without it the linker drops libtorch_cuda (no symbol of
//!   it is referenced directly) and CUDA is never seen on a GPU machine.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath={lib}");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
}
