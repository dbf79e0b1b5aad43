"""How much of each task's test set the symmetries alone determine: the orbit closure of the paper's split.

For every registered task at its paper preset (parameters and train
fraction), seed 0, the trainer's split (``symreg.train.data.split_rows``) is closed
under every declared symmetry that has a deduction rule
(:mod:`symreg.symmetry.augmentation`), with labels deduced from the training labels only.
Prints one row per task (train size before and after, share of test cells in
the closure, rounds, seconds, mismatches with the oracle, which must be 0)
and writes ``benchmarks/results/closure_coverage.json``; then the same for
each symmetry alone with ``--per-symmetry``.

    python benchmarks/closure_coverage.py
    python benchmarks/closure_coverage.py --tasks mod_add graph_grid3d --per-symmetry
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from symreg.registry import get_symmetries, get_task, task_entries
from symreg.symmetry import can_deduce, closure, closure_report
from symreg.train.data import split_rows

RESULTS = Path(__file__).parent / "results"


def measure(name: str, seed: int, per_symmetry: bool) -> dict:
    entry = task_entries()[name]
    preset = entry.obj.preset
    task = get_task(name, **preset.params)
    syms = [s for s in get_symmetries(task) if can_deduce(s)]
    skipped = [s.name for s in get_symmetries(task) if not can_deduce(s)]
    train = split_rows(len(task), preset.train_frac, seed)
    labels = task.labels[train]  # the training data; the closure reads nothing else
    start = time.perf_counter()
    closed = closure(task, train, syms, labels=labels)
    seconds = time.perf_counter() - start
    row = {**closure_report(task, closed, train), "plugin": entry.plugin, "train_frac": preset.train_frac,
           "seed": seed, "wall_seconds": round(seconds, 3), "skipped": skipped}
    if per_symmetry:
        alone = {}
        for s in syms:
            t0 = time.perf_counter()
            one = closure_report(task, closure(task, train, [s], labels=labels), train)
            alone[s.name] = {"train_after": one["train_after"], "test_covered_share": one["test_covered_share"],
                             "rounds": one["rounds"], "mismatches": one["mismatches"],
                             "seconds": round(time.perf_counter() - t0, 3)}
        row["alone"] = alone
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", nargs="*", help="Task names (default: every registered task).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-symmetry", action="store_true", help="Also close under each symmetry alone.")
    ap.add_argument("--out", type=Path, default=RESULTS / "closure_coverage.json")
    args = ap.parse_args()
    names = args.tasks or list(task_entries())
    rows = []
    head = (f"{'task':<18} {'params':<24} {'frac':>5} {'domain':>7} {'train':>7} {'closed':>7} "
            f"{'test cov':>8} {'rounds':>6} {'secs':>7} {'mism':>4}")
    print(head)
    print("-" * len(head))
    for name in names:
        r = measure(name, args.seed, args.per_symmetry)
        rows.append(r)
        params = " ".join(f"{k}={v}" for k, v in r["params"].items())
        print(f"{name:<18} {params:<24} {r['train_frac']:>5} {r['domain_size']:>7} {r['train_before']:>7} "
              f"{r['train_after']:>7} {100 * r['test_covered_share']:>7.2f}% {r['rounds']:>6} "
              f"{r['wall_seconds']:>7.2f} {r['mismatches']:>4}", flush=True)
        for sym, a in r.get("alone", {}).items():
            print(f"    alone {sym:<22} closed {a['train_after']:>7}  test cov "
                  f"{100 * a['test_covered_share']:6.2f}%  rounds {a['rounds']:>3}  {a['seconds']:.2f}s"
                  + (f"  MISMATCHES {a['mismatches']}" if a["mismatches"] else ""), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seed": args.seed, "python": platform.python_version(),
                                    "machine": platform.machine(), "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
