"""What the representation-theoretic progress measures add to training time (issue 15).

For each quick preset below, two trainers of the same seeds are built in one
process: one with the default ``reps = ["auto"]``, one with ``reps = []``.
Rounds alternate between them (these machines are noisy); a round is one
evaluation and ``eval_every`` epochs, what training costs per evaluation
interval. Also timed: one evaluation with and without the measures, and the
two parts of the measures (energies of every measured action; the restricted
and excluded forward passes). Prints a table and writes
``benchmarks/results/reps_overhead.json``.

    OMP_NUM_THREADS=1 python benchmarks/reps_overhead.py --rounds 4
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from symreg.presets import resolve
from symreg.train.config import TrainConfig
from symreg.train.trainer import Trainer

RESULTS = Path(__file__).parent / "results"
TASKS = ("mod_add", "perm_compose", "dihedral_compose", "graph_grid2d", "compare_2d")
COLUMNS = ("task", "n_measures", "eval_every", "step_ms", "eval_ms_off", "eval_ms_on", "energy_ms", "restricted_ms",
           "overhead_pct", "s_per_epoch_off", "s_per_epoch_on", "wall_overhead_pct")


def trainer(name: str, seeds: list[int], reps: list[str], epochs: int) -> Trainer:
    setup = resolve(name, preset="quick", settings={"reps": reps, "epochs": epochs})
    cfg = TrainConfig.from_setup(setup)
    return Trainer.fresh(setup.task, cfg, seeds, Path(tempfile.mkdtemp()) / "run")


def timed(fn, n: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def parts(t: Trainer, repeats: int) -> tuple[float, float]:
    """Seconds of the energies alone and of the restricted/excluded passes alone, per evaluation."""
    energy = copy.copy(t.reps)
    energy.swap = False  # the same measures without the forward passes
    d, chunk = t.data, max(256, 2 ** 22 // (t.model.n_seeds * 512))
    args = (t.model, d.x_all, d.y_all, d.train_mask, chunk)
    with torch.no_grad():
        e = min(timed(lambda: energy.measure(*args)) for _ in range(repeats))
        full = min(timed(lambda: t.reps.measure(*args)) for _ in range(repeats))
    return e, max(full - e, 0.0)


def measure(name: str, seeds: list[int], rounds: int) -> dict:
    on, off = trainer(name, seeds, ["auto"], 10 ** 6), trainer(name, seeds, [], 10 ** 6)
    every = on.cfg.eval_every
    for t in (on, off):  # warm up: the first steps and evaluation allocate
        t.step()
        t.evaluate()
    times: dict[str, list[float]] = {"on": [], "off": []}
    evals: dict[str, list[float]] = {"on": [], "off": []}
    steps: list[float] = []
    for _ in range(rounds):
        for label, t in (("on", on), ("off", off)):
            ev, step = timed(t.evaluate), timed(t.step, every)
            times[label].append((ev + step * every) / every)
            evals[label].append(ev)
            steps.append(step)
    energy, restricted = parts(on, 3)
    med = {k: statistics.median(v) for k, v in times.items()}
    ev_on, ev_off = statistics.median(evals["on"]), statistics.median(evals["off"])
    step = statistics.median(steps)  # the same computation with and without the measures: pooled
    return {"task": f"{name}({', '.join(f'{k}={v}' for k, v in on.task.params.items())})",
            "measures": ",".join(m.key for m in on.reps.measures), "n_measures": len(on.reps.measures),
            "seeds": len(seeds), "eval_every": every,
            "s_per_epoch_off": round(med["off"], 5), "s_per_epoch_on": round(med["on"], 5),
            "wall_overhead_pct": round(100 * (med["on"] / med["off"] - 1), 1),
            "overhead_pct": round(100 * (ev_on - ev_off) / (every * step + ev_off), 1),
            "step_ms": round(1000 * step, 2),
            "eval_ms_off": round(1000 * ev_off, 1), "eval_ms_on": round(1000 * ev_on, 1),
            "energy_ms": round(1000 * energy, 1), "restricted_ms": round(1000 * restricted, 1),
            "rounds": rounds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name in args.tasks.split(","):
        rows.append(measure(name, seeds, args.rounds))
        print(f"  {rows[-1]['task']}: {rows[-1]['overhead_pct']}%", file=sys.stderr, flush=True)
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS]
    for line in [COLUMNS, *([r[c] for c in COLUMNS] for r in rows)]:
        print("  ".join(str(v).rjust(w) for v, w in zip(line, widths)))
    meta = {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "load_1min": os.getloadavg()[0], "seeds": seeds,
            "note": "overhead_pct: (eval_ms_on - eval_ms_off) / (eval_every * step_ms + eval_ms_off), the extra time "
                    "per evaluation interval (the epochs are the same computation either way, so their time is "
                    "pooled); wall_overhead_pct: the same from s_per_epoch = (one evaluation + eval_every epochs) / "
                    "eval_every, median over rounds alternating reps=['auto'] (on) and reps=[] (off), which "
                    "carries the noise of the epochs; energy_ms: the energies of every measured action per "
                    "evaluation; restricted_ms: the restricted and excluded forward passes"}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reps_overhead.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
