//! Generates the C header with cbindgen.
//!
//! The header is always written to `$OUT_DIR/steermd.h`. The committed copy in
//! `include/steermd.h` is (re)written when it is missing or when the build runs
//! with `STEERMD_UPDATE_HEADER=1`; the test `c_header_is_current` fails when the
//! committed copy differs from the generated one.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/capi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=STEERMD_UPDATE_HEADER");
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
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
