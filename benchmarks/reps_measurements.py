"""Summarise the issue-15 measurements: key components, when they settle, restricted and excluded loss.

Reads trained runs (one directory per task, e.g. made with ``symreg train TASK
--preset quick --seeds 0-2 --stop-on-generalize --set stop_patience=1000``),
diagnoses them and, per run and for the measure with restricted losses (the
default one), reports: the key components at the end in words, when their set
settles against memorization and generalization, and Nanda et al.'s picture:
the first epoch the restricted test loss and the plain test loss fall below
``ln(classes) / 4``, and the excluded train loss at memorization, at its peak
and at the end. Writes ``OUT/summary.json`` and ``OUT/summary.md`` and copies
seed 0's figures (from ``symreg plot``'s folder, when given) next to them.

    python benchmarks/reps_measurements.py /tmp/reps_runs/mod_add ... --plots /tmp/reps_plots \
        --out benchmarks/results/reps
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

from symreg.diagnose import diagnose
from symreg.diagnose.components import primary, series
from symreg.runs.reading import load_run
from symreg.util.tables import markdown_table


def first_below(epochs, values, level) -> int | None:
    return next((e for e, v in zip(epochs, values) if v is not None and v < level), None)


def nanda(run, key: str, ev: dict) -> dict:
    """Restricted loss against test loss, and the excluded loss around memorization."""
    level = math.log(_classes(run)) / 4
    epochs, test = run.series("test_loss")
    r_epochs, r_test = series(run, key, "restricted_test_loss")
    x_epochs, x_train = series(run, key, "excluded_train_loss")
    mem = ev.get("memorization")
    at_mem = next((v for e, v in zip(x_epochs, x_train) if mem is not None and e >= mem), None)
    peak = max(((v, e) for e, v in zip(x_epochs, x_train) if v is not None), default=(None, None))
    return {"level": round(level, 3), "test_below": first_below(epochs, test, level),
            "restricted_test_below": first_below(r_epochs, r_test, level),
            "excluded_train_at_memorization": _r(at_mem), "excluded_train_peak": _r(peak[0]),
            "excluded_train_peak_epoch": peak[1], "excluded_train_end": _r(x_train[-1] if x_train else None),
            "restricted_test_end": _r(r_test[-1] if r_test else None), "test_end": _r(test[-1] if test else None)}


def _classes(run) -> int:
    from symreg.registry import get_task

    return get_task(run.config["task"], **run.config.get("params", {})).n_classes


def _r(x):
    return None if x is None else round(float(x), 3)


def summarise(path: Path) -> list[dict]:
    out = []
    for ev in diagnose([path], write=True)["runs"]:
        run = load_run(Path(ev["run"]))
        found = primary(ev)
        if found is None:
            continue
        key, item = found
        others = {k: f"{v['n_key']}: {v['described']} (settled {v['settle_epoch']}, leading {v['leading_epoch']})"
                  for k, v in ev["key_components"].items() if k != key}
        out.append({"task": ev["task"], "params": run.config.get("params"), "seed": ev["seed"],
                    "last_epoch": ev["last_epoch"], "memorization": ev["memorization"],
                    "generalization": ev["generalization"], "measure": key, "group": item["group"],
                    "n_key": item["n_key"], "key": item["described"], "settle_epoch": item["settle_epoch"],
                    "leading_epoch": item["leading_epoch"],
                    **nanda(run, key, ev), "other_measures": others})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--plots", type=Path, help="symreg plot's output folder: one subfolder per task")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "reps")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [r for path in args.runs for r in summarise(path)]
    (args.out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    cols = ["task", "seed", "memorization", "generalization", "leading_epoch", "settle_epoch", "last_epoch", "n_key",
            "key",
            "test_below", "restricted_test_below", "excluded_train_at_memorization", "excluded_train_peak",
            "excluded_train_peak_epoch", "excluded_train_end", "restricted_test_end", "test_end"]
    table = markdown_table([cols] + [[str(r[c]) for c in cols] for r in rows])
    others = [f"- {r['task']} seed {r['seed']}: " + "; ".join(f"{k}: {v}" for k, v in r["other_measures"].items())
              for r in rows if r["other_measures"]]
    (args.out / "summary.md").write_text("# Key components, settle epochs, restricted and excluded loss\n\n"
                                         + table + "\n\n## Other measures\n\n" + "\n".join(others) + "\n")
    for path in args.runs if args.plots else ():
        src = args.plots / path.name / f"{path.name}-seed-0"
        for png in [*src.glob("components-*.png"), src / "dynamics.png"]:
            if png.exists():
                shutil.copy(png, args.out / f"{path.name}-{png.name}")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
