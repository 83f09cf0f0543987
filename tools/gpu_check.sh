#!/usr/bin/env bash
# GPU device check for a Linux machine with an NVIDIA GPU, its driver and the
# CUDA toolkit (libnvrtc) but possibly no Rust toolchain.
#
#   tools/gpu_check.sh prepare   # on a development machine with Rust:
#                                # builds the CUDA test and benchmark binaries
#                                # into gpu-bundle/ (ignored; carry it over)
#   tools/gpu_check.sh [OUTDIR]  # on the GPU machine, in the repository root:
#                                # runs them, writes OUTDIR/gpu_check.log and
#                                # OUTDIR/gpu_check.json (default OUTDIR: .)
#
# The run takes a few minutes: the force-field parity suite and the device
# dynamics tests on CUDA (double and mixed precision; a missing CUDA device
# fails, it is not skipped), the NVRTC compile check, the long villin
# physics tests with the MD step on CUDA (integrate_villin), then villin ns/day
# (582 atoms, OBC2, LangevinMiddle 300 K, 2 fs; cutoff 1.0 nm and no cutoff;
# mixed precision) with `steermd simulate --device cuda`.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=gpu-bundle

if [ "${1:-}" = prepare ]; then
    rm -rf "$bundle" && mkdir -p "$bundle"
    cargo build --release --features cuda --bin steermd
    for t in forcefield_parity gpu_dynamics gpu_neighbors gpu_kernels_compile integrate_villin; do
        exe=$(cargo test --release --features cuda --test "$t" --no-run --message-format=json 2>/dev/null \
            | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])' | tail -1)
        cp "$exe" "$bundle/$t"
    done
    cp target/release/steermd "$bundle/steermd"
    strip "$bundle"/* 2>/dev/null || true
    # The test binaries find tests/data and steermd through the absolute
    # repository path they were built in; the run recreates it as a link.
    pwd > "$bundle/manifest_dir"
    du -sh "$bundle"
    exit 0
fi

out=${1:-.}
mkdir -p "$out"
log="$out/gpu_check.log"
json="$out/gpu_check.json"
exec > >(tee "$log") 2>&1
[ -d "$bundle" ] || { echo "no $bundle/: run 'tools/gpu_check.sh prepare' on a machine with Rust first"; exit 1; }
built_in=$(cat "$bundle/manifest_dir")
if [ "$(pwd -P)" != "$built_in" ] && ! [ -e "$built_in" ]; then
    mkdir -p "$(dirname "$built_in")"
    ln -s "$(pwd -P)" "$built_in"
fi
mkdir -p target/release
cp "$bundle/steermd" target/release/steermd
# libnvrtc: from the CUDA toolkit, or a pip-installed nvidia-cuda-nvrtc.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
    $(python3 -c 'import nvidia.cuda_nvrtc, os; print(os.path.join(nvidia.cuda_nvrtc.__path__[0], "lib"))' 2>/dev/null); do
    [ -d "$d" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
status=0
export STEERMD_REQUIRE_DEVICES=cuda,nvrtc
for t in gpu_kernels_compile forcefield_parity gpu_dynamics gpu_neighbors; do
    echo "== $t"
    timeout 240 "$bundle/$t" --test-threads=1 --nocapture 2>&1 | grep -vE 'OpenCl|SKIPPED on (opencl|hip)' || status=1
done
# The long villin physics (NVE drift and dt² scaling, Langevin temperature
# and kinetic-energy distribution) with the whole MD step on the GPU.
echo "== integrate_villin (STEERMD_TEST_DEVICE=cuda)"
STEERMD_TEST_DEVICE=cuda timeout 240 "$bundle/integrate_villin" --include-ignored --nocapture 2>&1 || status=1

bench() { # name dir extra-args -> ns/day of the last report line
    local d=tests/data/ff/$2
    timeout 120 target/release/steermd --device cuda --precision mixed simulate \
        --system "$d/system.xml" --pdb "$d/input.pdb" --steps "${3:-5000}" --report 2500 \
        | tail -1 | awk -F, '{print $NF}'
}
echo "== villin ns/day (cuda, mixed, 2 fs; last 2500-step block of 5000)"
cut=$(bench cutoff ildn_obc_cutoff) || cut=null
nocut=$(bench nocutoff ildn_obc_nocutoff) || nocut=null
echo "villin cutoff 1.0 nm: ${cut:-null} ns/day"
echo "villin no cutoff:     ${nocut:-null} ns/day"
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo unknown)
cat > "$json" <<JSON
{"date": "$(date -u +%FT%TZ)", "gpu": "$gpu", "tests_passed": $([ $status = 0 ] && echo true || echo false),
 "villin_cutoff_ns_per_day": ${cut:-null}, "villin_nocutoff_ns_per_day": ${nocut:-null}}
JSON
cat "$json"
exit $status
