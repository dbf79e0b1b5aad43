#!/usr/bin/env bash
# One short GPU check (run on a machine with CUDA and torch already installed):
# the GPU tests (fp32, bf16, tf32, CUDA graphs), the epoch-speed table on cuda at each precision, and 20 seeds of mod_add p=113 (paper preset)
# trained to generalization at fp32 and bf16, with seed-epochs per second and the share of time in kernels.
# Installs nothing but symreg itself. Results land in ${OUT:-benchmarks/results}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
python -m pip install -q --no-deps -e . >/dev/null
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name())"
python -m pytest -q tests/test_gpu.py -p no:cacheprovider 2>&1 | tail -3
python benchmarks/epoch_speed.py --device cuda --seeds 1,5,20 --tasks mod_add:paper --rounds 3 --steps 50 \
    --precisions fp32,bf16,tf32 --no-memory --out "$OUT/epoch_speed-cuda.json"
for precision in fp32 bf16; do  # CUDA-graph capture at each precision, to generalization
  python benchmarks/gpu_grok.py --seeds 0-19 --precision $precision --out "$OUT/gpu_grok-$precision.json"
done
