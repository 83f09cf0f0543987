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

use std::path::{Path, PathBuf};
use std::process::Command;

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
    if std::env::var_os("CARGO_FEATURE_HIP").is_some() {
        compile_hip_kernels(&crate_dir.join("kernels"), &out_dir);
    }
}

/// Architectures the HIP kernels are built for by default.
const DEFAULT_HIP_ARCHS: &str = "gfx90a,gfx942";

/// With the `hip` feature: every `kernels/*.k` family at both precisions
/// through `hipcc --genco` (`$HIPCC`, default `hipcc`) for each architecture
/// of `STEERMD_HIP_ARCHS` (comma-separated, default gfx90a,gfx942), and
/// `$OUT_DIR/hip_code_objects.rs`, a table from (family file, precision,
/// architecture) to the embedded code object. The family list is the
/// directory's, so it cannot drift from `kernels/`.
fn compile_hip_kernels(kernels: &Path, out_dir: &Path) {
    println!("cargo:rerun-if-changed=kernels");
    println!("cargo:rerun-if-env-changed=STEERMD_HIP_ARCHS");
    println!("cargo:rerun-if-env-changed=HIPCC");
    let archs = std::env::var("STEERMD_HIP_ARCHS").unwrap_or_else(|_| DEFAULT_HIP_ARCHS.into());
    let hipcc = std::env::var("HIPCC").unwrap_or_else(|_| "hipcc".into());
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let prelude = read(&kernels.join("prelude/hip.h"));
    let common = read(&kernels.join("common.h"));
    let mut families: Vec<String> = std::fs::read_dir(kernels)
        .expect("kernels/ is readable")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".k"))
        .collect();
    families.sort();
    let dir = out_dir.join("hip");
    std::fs::create_dir_all(&dir).expect("OUT_DIR is writable");
    let mut table = String::from(
        "/// The code object of (family file, precision, architecture), if built.\n\
         pub fn code_object(family: &str, precision: &str, arch: &str) -> Option<&'static [u8]> {\n    match (family, precision, arch) {\n",
    );
    for family in &families {
        let body = read(&kernels.join(family));
        let stem = family.trim_end_matches(".k");
        for (precision, define) in [("mixed", None), ("double", Some("-DUSE_DOUBLE"))] {
            let src = dir.join(format!("{stem}_{precision}.hip"));
            std::fs::write(&src, format!("{prelude}\n{common}\n{body}"))
                .expect("OUT_DIR is writable");
            for arch in archs.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                let object = dir.join(format!("{stem}_{precision}_{arch}.co"));
                let mut cmd = Command::new(&hipcc);
                cmd.args(["--genco", "-O3", &format!("--offload-arch={arch}")]);
                cmd.args(define);
                cmd.arg(&src).arg("-o").arg(&object);
                let out = cmd.output().unwrap_or_else(|e| {
                    panic!("the `hip` feature needs hipcc ({hipcc}: {e}); install ROCm or Debian's hipcc libamdhip64-dev, or set HIPCC")
                });
                if !out.status.success() {
                    panic!(
                        "hipcc could not compile kernels/{family} ({precision}) for {arch} (set STEERMD_HIP_ARCHS to the architectures this toolchain supports):\n{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                table.push_str(&format!(
                    "        ({family:?}, {precision:?}, {arch:?}) => Some(include_bytes!({:?})),\n",
                    object.display().to_string()
                ));
            }
        }
    }
    table.push_str("        _ => None,\n    }\n}\n");
    table.push_str(&format!(
        "\n/// The architectures the code objects were built for.\npub const ARCHS: &str = {archs:?};\n"
    ));
    std::fs::write(out_dir.join("hip_code_objects.rs"), table).expect("OUT_DIR is writable");
}
