#!/usr/bin/env bash
# Installs libsteermd into a prefix, the way C, C++ and Fortran projects
# expect:
#
#   tools/install.sh --prefix /opt/steermd [--features hdf5] [--profile release]
#
#   PREFIX/lib/libsteermd.so.X.Y.Z   shared library, soname libsteermd.so.ABI
#   PREFIX/lib/libsteermd.so.ABI     -> libsteermd.so.X.Y.Z
#   PREFIX/lib/libsteermd.so         -> libsteermd.so.ABI (for -lsteermd)
#   PREFIX/lib/libsteermd.a          static library
#   PREFIX/include/steermd.h         C header (STEERMD_ABI_VERSION, ...)
#   PREFIX/include/steermd.hpp       header-only C++17 RAII wrappers
#   PREFIX/include/steermd.f90       Fortran module source, compiled by the
#                                    consumer with its own compiler (a .mod
#                                    file is compiler-specific)
#   PREFIX/lib/pkgconfig/steermd.pc  pkg-config --cflags --libs steermd
#                                    (--static adds the static library's
#                                    system libraries; --variable=fortran_module)
#   PREFIX/lib/cmake/steermd/        find_package(steermd CONFIG): imported
#                                    target steermd::steermd (shared, or static
#                                    with -DSTEERMD_STATIC=ON), variable
#                                    steermd_FORTRAN_MODULE
#
# Why not cargo-c (`cargo cinstall`), the convention of Rust C libraries such
# as rav1e: it is not part of the Rust toolchain and has to be compiled from
# crates.io (with libgit2 and OpenSSL), several minutes on the 2-core CI
# machine on top of a test run already near its budget, and it would still
# not install the C++ header, the Fortran module or a CMake package, which
# this script does. The build itself is plain cargo, the library's soname is
# set in build.rs, and the pkg-config and CMake files come from the templates
# in tools/install/ with the prefix, the version of Cargo.toml and the
# static library's native dependencies (`--print native-static-libs`) filled
# in. Installed files are relocatable for CMake (paths relative to the
# config file); the .pc file names the prefix it was installed to.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    echo "usage: $0 --prefix DIR [--features LIST] [--profile release|dev]" >&2
    exit 2
}
prefix="" features="" profile="release"
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:?}"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        --features) features="${2:?}"; shift 2 ;;
        --features=*) features="${1#*=}"; shift ;;
        --profile) profile="${2:?}"; shift 2 ;;
        --profile=*) profile="${1#*=}"; shift ;;
        *) usage ;;
    esac
done
[ -n "$prefix" ] || usage
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
abi=$(sed -n 's/^const ABI_VERSION: u32 = \([0-9][0-9]*\);$/\1/p' build.rs)
[ -n "$version" ] && [ -n "$abi" ] || { echo "no version in Cargo.toml or build.rs" >&2; exit 1; }
case "$profile" in
    dev|debug) profile=dev; outdir=target/debug ;;
    *) outdir="target/$profile" ;;
esac
if [ -n "${CARGO_TARGET_DIR:-}" ]; then outdir="$CARGO_TARGET_DIR/${outdir#target/}"; fi

# Build the library (cdylib + staticlib + rlib, see Cargo.toml) and ask rustc
# which system libraries the static library needs. rustc prints them only
# when it actually links, so they are kept beside the build for later runs.
cache="$outdir/steermd-native-static-libs${features:+-${features//[ ,]/_}}.txt"
build() {
    cargo rustc --lib --profile "$profile" ${features:+--features "$features"} \
        -- --print native-static-libs 2>&1 | tee "$log" >&2 || return 1
}
mkdir -p "$outdir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
build
native=$(sed -n 's/.*native-static-libs: //p' "$log" | tail -n 1)
if [ -z "$native" ] && [ -f "$cache" ]; then
    native=$(cat "$cache")
elif [ -z "$native" ]; then
    touch src/lib.rs # fresh build with no cached list: relink once
    build
    native=$(sed -n 's/.*native-static-libs: //p' "$log" | tail -n 1)
fi
[ -n "$native" ] || { echo "rustc printed no native-static-libs" >&2; exit 1; }
printf '%s\n' "$native" >"$cache"

lib="$prefix/lib"
mkdir -p "$lib/pkgconfig" "$lib/cmake/steermd" "$prefix/include"
case "$(uname -s)" in
    Darwin)
        shared="libsteermd.$version.dylib" soname="libsteermd.$abi.dylib" dev="libsteermd.dylib"
        install -m 755 "$outdir/libsteermd.dylib" "$lib/$shared" ;;
    *)
        shared="libsteermd.so.$version" soname="libsteermd.so.$abi" dev="libsteermd.so"
        install -m 755 "$outdir/libsteermd.so" "$lib/$shared" ;;
esac
ln -sf "$shared" "$lib/$soname"
ln -sf "$soname" "$lib/$dev"
install -m 644 "$outdir/libsteermd.a" "$lib/libsteermd.a"
install -m 644 include/steermd.h include/steermd.hpp include/steermd.f90 "$prefix/include/"

# CMake's INTERFACE_LINK_LIBRARIES wants library names, not -l flags.
cmake_native=""
for flag in $native; do
    case "$flag" in
        -l*) cmake_native="$cmake_native;${flag#-l}" ;;
        *) cmake_native="$cmake_native;$flag" ;;
    esac
done
fill() {
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@ABI@|$abi|g" \
        -e "s|@NATIVE_LIBS@|$native|g" -e "s|@CMAKE_NATIVE_LIBS@|${cmake_native#;}|g" \
        -e "s|@SHARED@|$shared|g" -e "s|@SONAME@|$soname|g" "$1" >"$2"
}
fill tools/install/steermd.pc.in "$lib/pkgconfig/steermd.pc"
fill tools/install/steermdConfig.cmake.in "$lib/cmake/steermd/steermdConfig.cmake"
fill tools/install/steermdConfigVersion.cmake.in "$lib/cmake/steermd/steermdConfigVersion.cmake"
echo "installed steermd $version (ABI $abi) into $prefix"
