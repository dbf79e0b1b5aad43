#!/bin/bash
# What bf16 matmuls do to grokking (issue 16, item 4): epochs to test accuracy 0.99 at fp32 and at
# bf16, 10 seeds each, on one task of each domain, capped at 2,000 epochs (a seed not there by then
# counts as never). fp32 and bf16 of a task run side by side, one process and one thread each, so they
# share whatever load the machine has (epochs, not seconds, are the measure). Resumable: a finished
# (task, precision) file is kept. Then: python benchmarks/precision_table.py
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
out=benchmarks/results/precision
mkdir -p $out
run() {  # name, then grok_presets arguments
  local name=$1; shift
  for precision in fp32 bf16; do
    [ -f "$out/$name-$precision.json" ] && continue
    python benchmarks/grok_presets.py "$@" --seeds 0-9 --epochs 2000 --set precision=$precision \
      --set seed_workers=1 --threads 1 --out "$out/$name-$precision.json" > "$out/$name-$precision.log" 2>&1 &
  done
  wait
}
run mod_add mod_add -P p=71 --set train_frac=0.35 --set lr=0.003 --set weight_decay=3  # make demo's setting
run graph_hypercube graph_hypercube                                                    # quick preset: dim 5
run compare_3d compare_3d                                                              # quick preset: m 3
