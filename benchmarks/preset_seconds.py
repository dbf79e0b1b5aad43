"""Seconds to generalize of each task's preset, one seed alone, on this machine.

``grok_presets.py`` counts epochs to test accuracy 0.99 per seed, with seeds
batched and usually on a busy machine, so its seconds are not what one user
training one seed sees. This script times one seed of the same configuration
alone (full-batch steps plus the evaluation every ``eval_every`` epochs, at
``--threads`` torch threads, best of several repetitions) and multiplies by
the epochs recorded in the ``grok_presets.py`` JSON files whose configuration
matches the task's preset as it is now. Run it on a quiet machine.

    python benchmarks/preset_seconds.py                    # every built-in task, 2 threads
    python benchmarks/preset_seconds.py mod_sub --threads 1
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from grok_presets import built_in_tasks, configure, time_single  # noqa: E402

from symreg import task_entries  # noqa: E402
from symreg.train.trainer import TrainConfig  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def matching_results(task, cfg: TrainConfig, files: list[str]) -> list[dict]:
    """Results of ``grok_presets.py`` runs with exactly this task, parameters and settings."""
    out = []
    for f in files:
        for r in json.loads(Path(f).read_text()).get("results", []):
            if (r["task"] == task.name and r["params"] == task.params and r["train_frac"] == cfg.train_frac
                    and r["weight_decay"] == cfg.weight_decay and r["lr"] == cfg.lr and r["model"] == cfg.model
                    and r["model_sizes"] == cfg.model_sizes):
                out.append({**r, "file": f})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tasks", nargs="*", help="task names [default: every built-in task]")
    ap.add_argument("--preset", choices=["quick", "paper"], default="quick")
    ap.add_argument("--threads", type=int, default=2, help="torch threads [default: 2]")
    ap.add_argument("--results", default=str(RESULTS / "grok_quick" / "*.json"),
                    help="glob of grok_presets.py JSON files [default: results/grok_quick/*.json]")
    ap.add_argument("--out", default=str(RESULTS / "preset_seconds.json"))
    args = ap.parse_args(argv)
    files = sorted(glob.glob(args.results))
    names = args.tasks or built_in_tasks()
    unknown_names = [n for n in names if n not in task_entries()]
    if unknown_names:
        ap.error(f"unknown task(s): {', '.join(unknown_names)}; valid: {', '.join(sorted(task_entries()))}")
    if not files:
        ap.error(f"no result files match {args.results}")
    rows = []
    for name in names:
        task, cfg = configure(name, args.preset, {}, {}, None)
        t = time_single(task, cfg, seed=0, steps=30, threads=args.threads)
        timing = {"step_s": t["step_wall_s"], "eval_s": t["eval_wall_s"], "epoch_s": t["epoch_wall_s"]}
        found = matching_results(task, cfg, files)
        by_seed = {}  # the same seed of the same configuration in two files is one run, not two
        for r in sorted(found, key=lambda r: r["epochs_cap"]):
            by_seed.update(zip(r["seeds"], r["generalized_epoch"]))
        epochs = [by_seed[s] for s in sorted(by_seed)]
        solved = sorted(e for e in epochs if e is not None)
        secs = [round(e * timing["epoch_s"], 1) for e in solved]
        rows.append({"task": name, "params": task.params, "train_frac": cfg.train_frac,
                     "weight_decay": cfg.weight_decay, "lr": cfg.lr, **timing,
                     "epochs": epochs, "solved": len(solved), "seeds": len(epochs),
                     "seconds": secs, "median_s": statistics.median(secs) if secs else None,
                     "within_90s": sum(s <= 90 for s in secs), "files": sorted({r["file"] for r in found})})
        r = rows[-1]
        print(f"{name:18} {json.dumps(task.params):28} frac {cfg.train_frac:<4g} wd {cfg.weight_decay:<3g} "
              f"lr {cfg.lr:<6g} {timing['epoch_s'] * 1e3:6.1f} ms/epoch  solved {r['solved']}/{r['seeds']}  "
              f"seconds {secs}", flush=True)
    meta = {"threads": args.threads, "torch": torch.__version__, "cpus": os.cpu_count(),
            "load": os.getloadavg(), "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    Path(args.out).write_text(json.dumps({**meta, "rows": rows}, indent=1))
    print(f"\nJSON: {args.out}  (load average {meta['load'][0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
