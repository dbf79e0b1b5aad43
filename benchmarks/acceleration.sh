#!/usr/bin/env bash
# Issue 6 measurement: every acceleration method against the baseline, 5 seeds, CPU presets,
# on one comparison task, one graph task and mod_add. One torch thread per process (on a
# shared 2-core machine two threads oversubscribe it). Re-running resumes unfinished methods.
# Outputs: benchmarks/results/accel-*/compare.{md,json} and test_accuracy.png (the paper's Fig. 9).
#   benchmarks/acceleration.sh                 # all three tasks
#   benchmarks/acceleration.sh compare_3d fig8 # some of them (compare_3d graph_grid2d mod_add fig8)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
S=${SEEDS:-0-4}
GEOM=geom:nuclear,geom:entropy,geom:lipschitz
run() { .venv/bin/symreg compare "$@" --seeds "$S" --eval-every 25 -q; }
want() { [ $# -eq 0 ] || [[ " $* " == *" $TASK "* ]]; }
TASK=compare_3d; want "$@" && run compare_3d --epochs 3000 --out benchmarks/results/accel-compare_3d \
    --methods baseline,sym:transitivity,sym:converse,$GEOM,grokfast,augment:converse
TASK=graph_grid2d; want "$@" && run graph_grid2d --epochs 3000 --out benchmarks/results/accel-graph_grid2d-7x7 \
    --methods baseline,sym:triangle,sym:swap,$GEOM,grokfast,augment:swap
TASK=mod_add; want "$@" && run mod_add --epochs 2000 --out benchmarks/results/accel-mod_add \
    --methods baseline,sym:commutativity,sym:associativity,$GEOM,grokfast,augment:commutativity
# the paper's Fig. 8: 2-layer MLP, mod_add, 80% train, no weight decay, with and without
# the consistency (commutativity + associativity) losses
TASK=fig8; want "$@" && run mod_add -P p=59 --model mlp --train-frac 0.8 --weight-decay 0 --epochs 4000 \
    --out benchmarks/results/fig8_mlp_no_wd_5seeds --methods baseline,sym:commutativity+sym:associativity
true
