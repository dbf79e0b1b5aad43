#!/bin/bash
# What bf16 matmuls do to grokking (issue 16, item 4): epochs to generalize at fp32 and at bf16,
# 10 seeds each, on three domains' quick presets; one thread, one worker, so the runs are comparable
# whatever else the machine does (epochs, not seconds, are the measure). Resumable: a finished
# (task, precision) pair is skipped. Then: python benchmarks/precision_table.py
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
for task in graph_hypercube compare_3d mod_add; do
  for precision in fp32 bf16; do
    out=benchmarks/results/precision/$task-$precision.json
    [ -f "$out" ] && continue
    python benchmarks/grok_presets.py "$task" --seeds 0-9 --set precision=$precision --set seed_workers=1 \
      --threads 1 --out "$out"
  done
done
