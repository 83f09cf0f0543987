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

# The steering examples: C, C++ and Fortran MPI programs that run their own
# dynamics and steer them through the installed library, under mpirun with
# 2 and 3 ranks (uneven shares), must make the restart choices `steermd
# drive` makes on the same campaign (examples/steer/villin.toml). Needs an
# install built with the `mpi` feature (tools/test.sh passes it).
if [ -n "${STEERMD_SKIP_STEER_MPI:-}" ]; then
    echo "skipped: steering MPI examples (STEERMD_SKIP_STEER_MPI)"
    exit $status
fi
steer="$work/steer"
mkdir -p "$steer"
sed "s|\.\./\.\./|$root/|g" examples/steer/villin.toml >"$steer/villin.toml"
# shellcheck disable=SC2086 # flags are word lists
(
    cd "$steer"
    mpicc -std=c11 -Wall -Werror "$root/examples/c/steer_mpi.c" $cflags $libs $rpath -o steer_c
    mpicxx -std=c++17 -Wall -Wextra -Werror "$root/examples/cpp/steer_mpi.cpp" $cflags $libs $rpath -o steer_cpp
    mkdir -p mod
    mpifort -Wall -Jmod "$fmod" "$root/examples/fortran/steer_mpi.f90" $libs $rpath -o steer_f90
)
# The reference: `steermd drive` (one process) on the same campaign.
cargo build --release --bin steermd
(cd "$steer" && "$root/target/release/steermd" drive --config villin.toml >drive.log)
expected=$(python3 - "$steer/steermd-steer" <<'PY'
import json, pathlib, sys
for p in sorted(pathlib.Path(sys.argv[1]).glob("iter_*/restarts.json")):
    r = json.loads(p.read_text())
    for x in r["restarts"]:
        print("restart", r["iteration"], x["simulation"], x["frame_id"],
              x["source_simulation"], int(x["copied_velocities"]))
PY
)
expected_outliers=$(python3 - "$steer/steermd-steer" <<'PY'
import json, pathlib, sys
for p in sorted(pathlib.Path(sys.argv[1]).glob("iter_*/restarts.json")):
    r = json.loads(p.read_text())
    print("outliers", r["iteration"], *r["outliers"])
PY
)
[ "$(wc -l <<<"$expected")" -ge 3 ] || { echo "drive restarted too little: $expected" >&2; exit 1; }
# Open MPI in containers and on small machines: as tests/common/mpirun.rs.
mpi_flags=()
if mpirun --version 2>&1 | grep -q "Open MPI\|OpenRTE"; then
    mpi_flags=(--allow-run-as-root --oversubscribe --bind-to none)
    export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_btl_sm_single_copy_mechanism=none
fi
for exe in steer_c steer_cpp steer_f90; do
    for n in 2 3; do
        outdir=()
        [ "$exe" = steer_c ] && outdir=("out_$n")
        if ! out=$(cd "$steer" && env -u LD_LIBRARY_PATH timeout 600 mpirun "${mpi_flags[@]}" -n $n \
            "./$exe" villin.toml "$root/tests/data/ff/ildn_obc_cutoff/system.xml" \
            "$root/tests/data/ff/ildn_obc_cutoff/input.pdb" "${outdir[@]}"); then
            echo "FAIL $exe on $n ranks: it failed" >&2; status=1; continue
        fi
        got=$(grep '^restart ' <<<"$out" | sort -k2,2n -k3,3n)
        # The C example also prints the outliers it was told (rank 0).
        if [ "$exe" = steer_c ] && [ "$(grep '^outliers ' <<<"$out")" != "$expected_outliers" ]; then
            echo "FAIL $exe on $n ranks: outliers differ from steermd drive's" >&2
            diff <(echo "$expected_outliers") <(grep '^outliers ' <<<"$out") >&2 || true
            status=1
        fi
        # ... and writes the per-iteration files drive writes, byte for byte.
        if [ "$exe" = steer_c ]; then
            for f in "$steer"/steermd-steer/iter_*/{latents.npy,rmsd.npy,frame_ids.npy,restarts.json}; do
                rel=${f#"$steer/steermd-steer/"}
                cmp -s "$f" "$steer/out_$n/$rel" || { echo "FAIL $exe on $n ranks: $rel differs from steermd drive's" >&2; status=1; }
            done
        fi
        if [ "$got" = "$(sort -k2,2n -k3,3n <<<"$expected")" ]; then
            echo "ok   $exe on $n ranks: $(wc -l <<<"$got") restarts equal steermd drive's"
        else
            echo "FAIL $exe on $n ranks: restarts differ from steermd drive's" >&2
            diff <(sort -k2,2n -k3,3n <<<"$expected") <(echo "$got") >&2 || true
            status=1
        fi
    done
done
exit $status
