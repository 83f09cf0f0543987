#!/usr/bin/env bash
# The test command of README.md: installs what the tests need on a fresh
# Debian machine (gfortran for the Fortran example, libhdf5 for the `hdf5`
# feature), then checks formatting,
# lints and runs the whole test suite. Reference data is committed under
# tests/data (regenerate by hand with tools/make_reference.py); no Python
# package is needed here.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v gfortran >/dev/null 2>&1 || ! command -v gcc >/dev/null 2>&1 \
    || ! pkg-config --exists hdf5 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq gcc gfortran pkg-config libhdf5-dev >/dev/null
fi

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --features hdf5 -- -D warnings
# The C and Fortran example tests link target/debug/libsteermd.a, which
# `cargo test` alone does not produce.
cargo build --lib --features hdf5
cargo test --no-fail-fast --features hdf5
# The default build (no HDF5) refuses .h5 output with a clear error.
cargo test --test cli
# Long physics tests of the dynamics on villin (NVE dt² scaling and drift,
# canonical temperature and kinetic-energy distribution at 300 K): release
# build only, ignored in debug builds.
cargo test --release --test integrate_villin -- --include-ignored
