"""What the representation-theoretic measures cost: decomposition once per task, energy per evaluation.

For each task and group action below it times :func:`symreg.reps.decompose`
(orbitals, eigenspaces, isomorphism classes and labels, from the generators;
best of ``--repeats``, each with a fresh seed so nothing is cached), then one
evaluation of :func:`symreg.reps.measures.energy_fractions` with
:func:`~symreg.reps.measures.sparsity` on a random embedding of 20 seeds at
d_model 128 (what the trainer would call at every evaluation), and one
:func:`~symreg.reps.measures.restrict` (numpy, same shape). Prints a table and
writes ``benchmarks/results/reps_cost.json``. Run with ``OMP_NUM_THREADS=1``
for one-core numbers.

    OMP_NUM_THREADS=1 python benchmarks/reps_cost.py
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from symreg.registry import get_task
from symreg.reps import decompose
from symreg.reps.measures import energy_fractions, key_components, restrict, sparsity

RESULTS = Path(__file__).parent / "results"
CASES = [  # (task, params, action)
    ("mod_add", {"p": 113}, "translation"),
    ("mod_add", {"p": 113}, "scaling"),
    ("mod_add", {"p": 997}, "translation"),
    ("dihedral_compose", {"n": 30}, "left_translation"),
    ("dihedral_compose", {"n": 30}, "conjugation"),
    ("perm_compose", {"n": 5}, "left_translation"),
    ("perm_compose", {"n": 6}, "left_translation"),
    ("perm_compose", {"n": 6}, "conjugation"),
    ("graph_cycle", {"n": 64}, "automorphism"),
    ("graph_hypercube", {"dim": 7}, "automorphism"),
    ("graph_hypercube", {"dim": 10}, "automorphism"),
    ("graph_grid2d", {}, "automorphism"),
    ("compare_2d", {}, "reversal"),
]
COLUMNS = ("task", "action", "group", "tokens", "components", "decompose_s", "energy_ms", "restrict_ms")


def best(fn, repeats: int) -> float:
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        fn(k)
        times.append(time.perf_counter() - start)
    return min(times)


def measure(name: str, params: dict, action: str, repeats: int, seeds: int, d_model: int) -> dict:
    task = get_task(name, **params)
    seconds = best(lambda k: decompose(task, action, seed=1000 + k), repeats)
    dec = decompose(task, action)
    embed = np.random.default_rng(0).standard_normal((seeds, dec.n, d_model))

    def evaluate(_):
        f = energy_fractions(embed, dec)
        sparsity(f, dec)

    mask = key_components(energy_fractions(embed, dec))
    args = ", ".join(f"{k}={v}" for k, v in params.items())
    return {"task": f"{name}({args})" if args else name, "action": action, "group": dec.group,
            "order": dec.order, "tokens": dec.n, "orbitals": dec.n_orbitals,
            "components": len(dec.components), "decompose_s": round(seconds, 3),
            "energy_ms": round(1000 * best(evaluate, 5), 2),
            "restrict_ms": round(1000 * best(lambda _: restrict(embed, dec, mask), 5), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--d-model", type=int, default=128)
    args = parser.parse_args()
    rows = []
    for name, params, action in CASES:
        rows.append(measure(name, params, action, args.repeats, args.seeds, args.d_model))
        print(f"  {rows[-1]['task']} {action}: {rows[-1]['decompose_s']} s", file=sys.stderr, flush=True)
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS]
    for line in [COLUMNS, *([r[c] for c in COLUMNS] for r in rows)]:
        print("  ".join(str(v).rjust(w) if i > 2 else str(v).ljust(w) for i, (v, w) in enumerate(zip(line, widths))))
    meta = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
            "cpus": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "seeds": args.seeds, "d_model": args.d_model, "repeats": args.repeats,
            "note": "decompose_s: best of repeats, fresh seed each (uncached); energy_ms: energy_fractions "
                    "+ sparsity on (seeds, tokens, d_model); restrict_ms: restrict on the same"}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reps_cost.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
