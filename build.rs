//! Generates the C header with cbindgen.
//!
//! The header is always written to `$OUT_DIR/steermd.h`. The committed copy in
//! `include/steermd.h` is (re)written when it is missing or when the build runs
//! with `STEERMD_UPDATE_HEADER=1`; the test `c_header_is_current` fails when the
//! committed copy differs from the generated one.
//!
//! [`ABI_VERSION`] is the one place the C ABI version is kept: it becomes the
//! header's `STEERMD_ABI_VERSION` macro and, through the `STEERMD_ABI_VERSION`
//! build environment variable, what `steermd_abi_version()` returns.

use std::path::PathBuf;

/// Version of the C ABI: raised whenever a change to `include/steermd.h`
/// could break a program compiled against the previous header (a function's
/// signature, a struct's layout, an enum's values).
const ABI_VERSION: u32 = 2;

fn main() {
    println!("cargo:rerun-if-changed=src/capi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=STEERMD_UPDATE_HEADER");
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rustc-env=STEERMD_ABI_VERSION={ABI_VERSION}");
    // The shared library's soname follows the ABI version, so that programs
    // linked against one ABI never load a library of another (tools/install.sh
    // installs libsteermd.so.X.Y.Z with the libsteermd.so.ABI and
    // libsteermd.so links).
    match std::env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("linux") | Ok("freebsd") => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsteermd.so.{ABI_VERSION}")
        }
        Ok("macos") => println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libsteermd.{ABI_VERSION}.dylib"
        ),
        _ => {}
    }
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    config.after_includes = Some(format!(
        "\n/* Version of the C ABI this header describes; compare with steermd_abi_version(). */\n#define STEERMD_ABI_VERSION {ABI_VERSION}\n"
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the C header");
    bindings.write_to_file(out_dir.join("steermd.h"));
    let committed = crate_dir.join("include").join("steermd.h");
    if !committed.exists() || std::env::var_os("STEERMD_UPDATE_HEADER").is_some_and(|v| v == "1") {
        bindings.write_to_file(committed);
    }
}
