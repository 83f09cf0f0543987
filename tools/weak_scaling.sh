#!/usr/bin/env bash
# Weak scaling of the campaign ensemble: R ranks x 1 thread each, 2
# simulations per rank, the bundled villin campaign shortened to 3
# iterations of 1 ps. Prints ns/day per rank of the last iteration (the
# first one includes start-up) for R = 1 and R = 2 and their ratio.
# Needs Open MPI and a release build with the mpi feature:
#   cargo build --release --features mpi && bash tools/weak_scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/steermd
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
MPIRUN=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
declare -A RATE
for R in 1 2; do
    M=$((2 * R))
    sed -e "s/^simulations = .*/simulations = $M/" \
        -e "s/^iteration_steps = .*/iteration_steps = 500/" \
        -e "s/^iterations = .*/iterations = 3/" \
        -e "s/^last_n = .*/last_n = 60/" \
        -e "s#\"\.\./\.\./#\"$PWD/#" \
        -e "s#^dir = .*#dir = \"$OUT/r$R\"#" \
        examples/drive/villin.toml > "$OUT/r$R.toml"
    line=$("${MPIRUN[@]}" -n "$R" "$BIN" --threads 1 drive --quiet --config "$OUT/r$R.toml" | grep '^iter   2')
    echo "R=$R M=$M: $line"
    RATE[$R]=$(echo "$line" | sed -E 's/.*\(([0-9.]+)\/rank\).*/\1/')
done
python3 -c "print(f'weak-scaling efficiency (ns/day per rank, 2 ranks / 1 rank): {${RATE[2]}/${RATE[1]}:.3f}')"
