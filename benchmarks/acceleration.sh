#!/usr/bin/env bash
# Issue 6 measurement: every acceleration method against the baseline, 5 seeds, CPU presets,
# on one comparison task, one graph task and mod_add. One torch thread per process (on a
# shared 2-core machine two threads oversubscribe it). Outputs: benchmarks/results/accel-*/compare.md
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
S=${SEEDS:-0-4}
run() { .venv/bin/symreg compare "$@" --seeds "$S" --epochs 3000 --eval-every 25 -q; }
run compare_3d --methods baseline,sym:transitivity,geom:nuclear,grokfast,augment:converse \
    --out benchmarks/results/accel-compare_3d
run graph_grid2d --methods baseline,sym:triangle,geom:nuclear,grokfast,augment:swap \
    --out benchmarks/results/accel-graph_grid2d
run mod_add --methods baseline,sym:commutativity,geom:nuclear,grokfast,augment:commutativity \
    --out benchmarks/results/accel-mod_add
