#!/usr/bin/env bash
# The test command of README.md: installs what the tests need on a fresh
# Debian machine (gfortran and g++ for the Fortran and C++ examples, cmake for
# the installed CMake package, libhdf5 for the `hdf5`
# feature, Open MPI and libclang for bindgen for the `mpi` feature, PoCL for
# the `opencl` feature's device tests on this GPU-less machine), then
# checks formatting,
# lints and runs the whole test suite. Reference data is committed under
# tests/data (regenerate by hand with tools/make_reference.py); no Python
# package is needed here.
set -euo pipefail
cd "$(dirname "$0")/.."

# libclang for mpi-sys's bindgen: the runtime library and clang's own headers
# (stddef.h), not all of libclang-dev.
have_libclang() {
    compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null \
        && compgen -G '/usr/lib/llvm-*/lib/clang/*/include/stddef.h' >/dev/null
}
if ! command -v gfortran >/dev/null 2>&1 || ! command -v gcc >/dev/null 2>&1 \
    || ! command -v g++ >/dev/null 2>&1 || ! command -v cmake >/dev/null 2>&1 \
    || ! pkg-config --exists hdf5 2>/dev/null \
    || ! command -v mpicc >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1 \
    || ! command -v valgrind >/dev/null 2>&1 || ! have_libclang \
    || ! [ -e /etc/OpenCL/vendors/pocl.icd ] || ! command -v hipcc >/dev/null 2>&1 \
    || ! [ -e /usr/include/hip/hip_runtime_api.h ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    # The LLVM version behind libclang-dev (14 on Debian 12).
    llvm=$(apt-cache depends libclang-dev | sed -n 's/.*Depends: libclang-\([0-9][0-9]*\)-dev$/\1/p')
    clang_pkgs="libclang-dev"
    [ -n "$llvm" ] && clang_pkgs="libclang1-$llvm libclang-common-$llvm-dev"
    # libopenmpi-dev brings mpicc and openmpi-bin (mpirun).
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq gcc g++ gfortran cmake pkg-config libhdf5-dev libopenmpi-dev valgrind \
        pocl-opencl-icd hipcc libamdhip64-dev $clang_pkgs >/dev/null
fi

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --features hdf5 -- -D warnings
cargo clippy --all-targets --features opencl -- -D warnings
cargo clippy --all-targets --features cuda -- -D warnings
# HIP: build.rs compiles every kernel with hipcc --genco. Debian 12's hipcc
# (ROCm 5.2, clang 15) knows gfx90a and gfx940 but not gfx942 (ROCm >= 5.7),
# so CI builds gfx940, the closest CDNA3 target it has, in gfx942's place.
hip_env=(env HIP_PATH=/usr STEERMD_HIP_ARCHS=gfx90a,gfx940)
"${hip_env[@]}" cargo clippy --all-targets --features hip -- -D warnings
"${hip_env[@]}" cargo test --features hip --test gpu_kernels_compile --test gpu_dynamics -- --nocapture
# Every kernel compiled by NVRTC for sm_80 and sm_90 at both precisions, no
# GPU needed: libnvrtc from PyPI's nvidia-cuda-nvrtc-cu12 wheel in a venv.
nvrtc_venv=target/nvrtc-venv
if ! [ -x "$nvrtc_venv/bin/python" ]; then
    python3 -m venv "$nvrtc_venv"
fi
"$nvrtc_venv/bin/pip" install -q 'nvidia-cuda-nvrtc-cu12==12.9.86'
nvrtc_lib=$("$nvrtc_venv/bin/python" -c 'import nvidia.cuda_nvrtc, os; print(os.path.join(nvidia.cuda_nvrtc.__path__[0], "lib"))')
LD_LIBRARY_PATH="$nvrtc_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" STEERMD_REQUIRE_DEVICES=nvrtc \
    cargo test --features cuda --test gpu_kernels_compile -- --nocapture
# Every GPU kernel on OpenCL through PoCL: the force-field parity suite, the
# device dynamics tests and the neighbour-list tests, double and mixed
# precision. A missing OpenCL device fails here instead of being skipped.
STEERMD_REQUIRE_DEVICES=opencl cargo test --features opencl --test forcefield_parity \
    --test gpu_dynamics --test gpu_neighbors -- --nocapture 2> >(grep -E 'OpenCl|SKIPPED|panicked' >&2)
# The C and Fortran example tests link target/debug/libsteermd.a, which
# `cargo test` alone does not produce.
cargo build --lib --features hdf5
# The parser fuzz run goes once, below, with its per-target summary shown.
cargo test --no-fail-fast --features hdf5 -- --skip every_parser_survives_hostile_input
# Fixed-seed, time-bounded mutation fuzzing of every parser (12 s per target
# by default; STEERMD_FUZZ_SECONDS / STEERMD_FUZZ_SEED for longer runs).
cargo test --features hdf5 --test fuzz_parsers -- --nocapture 2> >(grep -v '^steermd: warning: ' >&2)
# The C, C++ and Fortran agent-step examples again, under valgrind memcheck: no
# invalid access, no definite or indirect leak (the MD examples, minutes of
# dynamics, take too long under valgrind for this machine).
STEERMD_VALGRIND=1 cargo test --features hdf5 --test c_fortran_examples -- \
    c_example_matches_rust_api cpp_example_matches_rust_api fortran_example_matches_rust_api
# The default build (no HDF5) refuses .h5 output with a clear error.
cargo test --test cli
# Long physics tests of the dynamics on villin (NVE dt² scaling and drift,
# canonical temperature and kinetic-energy distribution at 300 K): release
# build only, ignored in debug builds.
cargo test --release --test integrate_villin -- --include-ignored
# tools/install.sh into a temporary prefix (release build), then the C, C++
# and Fortran examples built against that install with pkg-config and with
# CMake, shared and static, and run.
tools/test_install.sh --features mpi
# The MPI communicator: lints with the feature, then the example that the
# mpirun tests launch (2 and 3 ranks, abort and panic ending the job).
cargo clippy --all-targets --features mpi -- -D warnings
cargo build --examples --features mpi
cargo test --features mpi --test drive_mpi
