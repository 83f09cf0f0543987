#!/usr/bin/env bash
# Installs steermd into a temporary prefix with tools/install.sh, then builds
# the C, C++ and Fortran agent-step examples against that install, outside
# the source tree: with pkg-config (gcc, g++, gfortran command lines; shared
# and static) and with CMake (examples/cmake, find_package(steermd CONFIG)).
# Runs every program on the shipped sample and checks that all of them pick
# the same outlier frames as the in-tree C example does (which
# tests/c_fortran_examples.rs checks against the Rust API), that shared
# builds load libsteermd through its soname and that static builds do not
# need it. Extra arguments go to tools/install.sh (e.g. --profile dev).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
tools/install.sh --prefix "$prefix" "$@"

abi=$(sed -n 's/^#define STEERMD_ABI_VERSION \([0-9]*\)$/\1/p' "$prefix/include/steermd.h")
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
cflags=$(pkg-config --cflags steermd)
libs=$(pkg-config --libs steermd)
libdir=$(pkg-config --variable=libdir steermd)
static="$libdir/libsteermd.a $(pkg-config --variable=static_libs steermd)"
fmod=$(pkg-config --variable=fortran_module steermd)
rpath="-Wl,-rpath,$libdir"
[ "$(pkg-config --modversion steermd)" = "$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)" ]

bin="$work/bin"
mkdir -p "$bin"
# shellcheck disable=SC2086 # flags are word lists
(
    cd "$work"
    gcc -std=c11 -Wall -Werror "$root/examples/c/agent_step.c" $cflags $libs $rpath -o "$bin/c_pc_shared"
    gcc -std=c11 -Wall -Werror "$root/examples/c/agent_step.c" $cflags $static -o "$bin/c_pc_static"
    g++ -std=c++17 -Wall -Wextra -Werror "$root/examples/cpp/agent_step.cpp" $cflags $libs $rpath -o "$bin/cpp_pc_shared"
    g++ -std=c++17 -Wall -Wextra -Werror "$root/examples/cpp/agent_step.cpp" $cflags $static -o "$bin/cpp_pc_static"
    mkdir -p mod
    gfortran -Wall -Jmod "$fmod" "$root/examples/fortran/agent_step.f90" $libs $rpath -o "$bin/f90_pc_shared"
    gfortran -Wall -Jmod "$fmod" "$root/examples/fortran/agent_step.f90" $static -o "$bin/f90_pc_static"
)

cmake -S examples/cmake -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake" -j 2 >/dev/null
for lang in c cpp f90; do
    for link in shared static; do
        cp "$work/cmake/agent_step_${lang}_$link" "$bin/${lang}_cmake_$link"
    done
done

# The outlier frames a program prints on its "outlier ..." lines.
frames() { sed -n 's/.*outlier.*frame *\([0-9][0-9]*\).*/\1/p'; }
samples=(tests/data/villin.pdb tests/data/villin.dcd tests/data/cvae_trained)
# The reference: the in-tree example, built against the in-tree header and
# the freshly installed static library.
gcc -std=c11 -I include examples/c/agent_step.c $static -o "$work/reference"
expected=$("$work/reference" "${samples[@]}" | frames | tr '\n' ' ')
[ "$(wc -w <<<"$expected")" -eq 5 ] || { echo "reference picked: $expected" >&2; exit 1; }

status=0
for exe in "$bin"/*; do
    name=$(basename "$exe")
    needed=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(libsteermd[^]]*\)\].*/\1/p')
    case "$name" in
        *_shared) [ "$needed" = "libsteermd.so.$abi" ] || { echo "$name needs '$needed', not libsteermd.so.$abi" >&2; status=1; } ;;
        *_static) [ -z "$needed" ] || { echo "$name (static) needs $needed" >&2; status=1; } ;;
    esac
    # Run from elsewhere, with no LD_LIBRARY_PATH: the rpath must find the library.
    if ! got=$(cd "$work" && env -u LD_LIBRARY_PATH "$exe" "${samples[@]/#/$root/}" | frames | tr '\n' ' '); then
        echo "$name failed" >&2; status=1; continue
    fi
    if [ "$got" = "$expected" ]; then
        echo "ok   $name: frames $got"
    else
        echo "FAIL $name: frames $got, expected $expected" >&2; status=1
    fi
done
exit $status
