//! Every kernel family of kernels/ compiles with each vendor compiler this
//! build has, at both precisions, without a GPU: NVRTC (feature `cuda`;
//! libnvrtc from the CUDA toolkit or PyPI's nvidia-cuda-nvrtc-cu12 on
//! LD_LIBRARY_PATH) for the A100 and H100/H200 architectures, and hipcc
//! (feature `hip`: build.rs builds the code objects for each architecture
//! of STEERMD_HIP_ARCHS; the test checks that every family and precision
//! is there for each). Without the
//! feature or the compiler the test prints that it skipped and why; with
//! `STEERMD_REQUIRE_DEVICES` naming `nvrtc` (CI) a missing compiler fails.

#[path = "common/devices.rs"]
mod devices;
use devices::required;

#[cfg(feature = "cuda")]
#[test]
fn every_kernel_compiles_with_nvrtc() {
    use steermd::backend::gpu::cuda::{compile_check, nvrtc_present};
    use steermd::Precision;
    if !nvrtc_present() {
        assert!(
            !required("nvrtc"),
            "STEERMD_REQUIRE_DEVICES names nvrtc but libnvrtc was not found"
        );
        eprintln!("every_kernel_compiles_with_nvrtc: SKIPPED: libnvrtc not found");
        return;
    }
    for arch in ["compute_80", "compute_90"] {
        for precision in [Precision::Mixed, Precision::Double] {
            let sizes = compile_check(arch, precision)
                .unwrap_or_else(|e| panic!("{arch} {precision:?}: {e}"));
            for (family, bytes) in sizes {
                assert!(bytes > 0);
                eprintln!(
                    "nvrtc {arch} {:<6} kernels/{:<12} {bytes} bytes of PTX",
                    precision.name(),
                    family.file()
                );
            }
        }
    }
}

#[cfg(not(feature = "cuda"))]
#[test]
fn every_kernel_compiles_with_nvrtc() {
    assert!(
        !required("nvrtc"),
        "STEERMD_REQUIRE_DEVICES names nvrtc but the build lacks the `cuda` feature"
    );
    eprintln!("every_kernel_compiles_with_nvrtc: SKIPPED: built without the `cuda` feature");
}

#[cfg(feature = "hip")]
#[test]
fn every_kernel_has_a_hip_code_object_per_architecture() {
    use steermd::backend::gpu::hip::{architectures, code_objects};
    use steermd::backend::gpu::source::Family;
    let objects = code_objects();
    let archs = architectures();
    assert_eq!(
        objects.len(),
        Family::ALL.len() * 2 * archs.len(),
        "{objects:?}"
    );
    for (family, precision, arch, bytes) in objects {
        assert!(bytes > 0);
        eprintln!(
            "hipcc {arch} {:<6} kernels/{:<12} {bytes} bytes of code object",
            precision.name(),
            family.file()
        );
    }
}

#[cfg(not(feature = "hip"))]
#[test]
fn every_kernel_has_a_hip_code_object_per_architecture() {
    eprintln!("every_kernel_has_a_hip_code_object_per_architecture: SKIPPED: built without the `hip` feature");
}
