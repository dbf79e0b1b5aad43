"""Time to grok of each task's preset, over several seeds.

For each task, trains its ``quick`` (or ``paper``) preset with the seeds
batched into one model and each seed stopped once its test accuracy reaches
0.99, then prints one row per task: the preset (task parameters, train
fraction, weight decay, other trainer settings), each seed's epochs to test
accuracy 0.99, their median, min and max, the count of seeds that did not get
there within the epoch cap, and the wall seconds of the whole batch. The JSON
(``--out``) also keeps, per seed, the wall seconds at which it generalized in
the batch and its test-accuracy curve (one point per evaluation).

Seconds in a batch are shared by its seeds. ``--time-single`` adds a short
single-seed timing of the same configuration on one thread (CPU seconds per
epoch, evaluation included) and, from it, each seed's estimated seconds to
generalize when trained alone, which is what "groks within about a minute" is
about. One-thread CPU seconds stand for the wall seconds of an unloaded
machine, and two threads (torch's default here) are no slower.

    python benchmarks/grok_presets.py                       # quick presets, all built-in tasks, 5 seeds
    python benchmarks/grok_presets.py mod_add compare_2d --seeds 0-9
    python benchmarks/grok_presets.py mod_add --preset paper --seeds 0 --epochs 20000
    python benchmarks/grok_presets.py mod_add -P p=59 --set train_frac=0.6   # try a variant

The machine's other load matters for seconds, not for epochs: the JSON records
the load average before and after each task, and the process CPU time.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from symreg import get_task, task_entries
from symreg.train.trainer import TrainConfig, Trainer

BUILT_IN_PLUGINS = ("algebraic", "structural", "relational")


def parse_seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        out += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
    return out


def parse_pairs(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        try:
            out[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[key] = text
    return out


def built_in_tasks() -> list[str]:
    return [name for name, e in task_entries().items() if e.plugin in BUILT_IN_PLUGINS]


def configure(name: str, preset_name: str, params: dict, settings: dict, epochs: int | None):
    cls = task_entries()[name].obj
    preset = cls.quick if preset_name == "quick" else cls.preset
    task = get_task(name, **{**preset.params, **params})
    cfg = TrainConfig.from_preset(preset, epochs=epochs)
    for key, value in settings.items():
        if key == "model_sizes":
            cfg.model_sizes = dict(value)
        else:
            cfg.set(key, value)
    return task, cfg.validate()


def time_single(task, cfg: TrainConfig, seed: int, steps: int = 60, reps: int = 3, threads: int = 1) -> dict:
    """Seconds per full-batch step and per evaluation for one seed alone, on ``threads`` threads.

    Both wall and process CPU seconds are kept (best of ``reps``). On one thread the CPU
    seconds are close to the wall seconds of an unloaded machine even when other work
    shares the cores, so the estimates use them; two threads are at most that slow.
    ``epoch_wall_s`` is the wall-clock counterpart, for timings on a quiet machine.
    """
    root = Path(tempfile.mkdtemp(prefix="grok-time-"))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        trainer = Trainer.fresh(task, TrainConfig(**{**cfg.__dict__, "epochs": steps}), [seed], root / "r")
        trainer.step()  # warm-up
        trainer.evaluate()
        n = max(1, steps // reps)
        step_w, step_c, eval_w, eval_c = [], [], [], []
        for _ in range(reps):
            w, c = time.perf_counter(), time.process_time()
            for _ in range(n):
                trainer.step()
            step_w.append((time.perf_counter() - w) / n)
            step_c.append((time.process_time() - c) / n)
            w, c = time.perf_counter(), time.process_time()
            trainer.evaluate()
            eval_w.append(time.perf_counter() - w)
            eval_c.append(time.process_time() - c)
        for run in trainer.runs:
            run.unlock()
    finally:
        torch.set_num_threads(before)
        shutil.rmtree(root, ignore_errors=True)
    return {"threads": threads, "step_wall_s": round(min(step_w), 5), "eval_wall_s": round(min(eval_w), 4),
            "step_cpu_s": round(min(step_c), 5), "eval_cpu_s": round(min(eval_c), 4),
            "epoch_s": round(min(step_c) + min(eval_c) / cfg.eval_every, 5),
            "epoch_wall_s": round(min(step_w) + min(eval_w) / cfg.eval_every, 5),
            "load": round(os.getloadavg()[0], 2)}


def run_task(name: str, args) -> dict:
    task, cfg = configure(name, args.preset, args.params, args.settings, args.epochs)
    cfg.stop_on_generalize = True
    seeds = args.seeds
    gen_seconds: dict[int, float] = {}
    curves: list[list[tuple[int, float]]] = [[] for _ in seeds]
    last_violation: list[float | None] = [None for _ in seeds]  # max over symmetries, at the seed's last evaluation
    start = time.perf_counter()

    def progress(epoch, rows, trainer):
        for s, row in enumerate(rows):
            if trainer.active[s]:
                curves[s].append((epoch, round(row["test_acc"] or 0.0, 4)))
                last_violation[s] = max((row.get("violation_max") or {}).values(), default=None)
            if trainer.generalized[s] is not None and s not in gen_seconds:
                gen_seconds[s] = round(time.perf_counter() - start, 2)
        if args.verbose:
            done = sum(g is not None for g in trainer.generalized)
            accs = " ".join(f"{r['test_acc'] or 0:.2f}" for r in rows)
            print(f"  {name} epoch {epoch}: test acc {accs}; {done}/{len(rows)} generalized, "
                  f"{time.perf_counter() - start:.0f}s", file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    cpu0 = time.process_time()
    root = Path(tempfile.mkdtemp(prefix=f"grok-{name}-", dir=args.runs_dir))
    try:
        trainer = Trainer.fresh(task, cfg, seeds, root / "run", progress=progress)
        summary = trainer.run()
    finally:
        if not args.keep_runs:
            shutil.rmtree(root, ignore_errors=True)
    wall = time.perf_counter() - start
    gens = [s["generalized_epoch"] for s in summary]
    solved = sorted(g for g in gens if g is not None)
    result = {
        "task": name, "preset": args.preset, "params": task.params,
        "train_frac": cfg.train_frac, "weight_decay": cfg.weight_decay, "lr": cfg.lr,
        "model": cfg.model, "model_sizes": cfg.model_sizes, "eval_every": cfg.eval_every,
        "epochs_cap": cfg.epochs, "domain_size": len(task), "seeds": seeds,
        "generalized_epoch": gens,
        "generalized_seconds_in_batch": [gen_seconds.get(i) for i in range(len(seeds))],
        "median": statistics.median(solved) if solved else None,
        "min": solved[0] if solved else None, "max": solved[-1] if solved else None,
        "unsolved": sum(g is None for g in gens),
        "wall_s": round(wall, 2), "cpu_s": round(time.process_time() - cpu0, 2),
        "threads": torch.get_num_threads(),
        "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
        "final_violation_max": last_violation,
        "precision": cfg.precision,
        "curves": curves,
    }
    if args.time_single:
        timing = time_single(task, cfg, seeds[0])
        result["single_seed_timing"] = timing
        result["single_seed_est_s"] = [None if g is None else round(g * timing["epoch_s"], 1) for g in gens]
    return result


def fmt_params(params: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in params.items())


def table(results: list[dict]) -> str:
    head = ("task", "params", "frac", "wd", "extra", "epochs to 0.99 per seed", "median", "min", "max",
            "unsolved", "wall s", "1-seed est s")
    lines = []
    for r in results:
        extra = []
        if r["lr"] != 1e-3:
            extra.append(f"lr={r['lr']:g}")
        if r["model"] != "transformer":
            extra.append(r["model"])
        if r["model_sizes"]:
            extra.append(fmt_params(r["model_sizes"]))
        est = r.get("single_seed_est_s")
        lines.append((r["task"], fmt_params(r["params"]), f"{r['train_frac']:g}", f"{r['weight_decay']:g}",
                      " ".join(extra) or "-",
                      " ".join("-" if g is None else str(g) for g in r["generalized_epoch"]),
                      str(r["median"]), str(r["min"]), str(r["max"]), f"{r['unsolved']}/{len(r['seeds'])}",
                      f"{r['wall_s']:.0f}",
                      "-" if est is None else " ".join("-" if e is None else f"{e:.0f}" for e in est)))
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(head)]
    out = [" | ".join(h.ljust(w) for h, w in zip(head, widths)),
           "-+-".join("-" * w for w in widths)]
    out += [" | ".join(c.ljust(w) for c, w in zip(row, widths)) for row in lines]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tasks", nargs="*", help="task names [default: every built-in task]")
    ap.add_argument("--preset", choices=["quick", "paper"], default="quick")
    ap.add_argument("--seeds", default="0-4", help="seeds, batched: 0-4 or 1,5,9 [default: 0-4]")
    ap.add_argument("--epochs", type=int, help="epoch cap [default: the preset's]")
    ap.add_argument("-P", dest="params", action="append", default=[], metavar="KEY=VALUE",
                    help="task parameter override (repeatable)")
    ap.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                    help="TrainConfig override, e.g. train_frac=0.6 or lr=3e-3 (repeatable)")
    ap.add_argument("--threads", type=int, help="torch intra-op threads [default: torch's]")
    ap.add_argument("--time-single", action="store_true",
                    help="also time one seed alone and estimate its seconds to generalize")
    ap.add_argument("--out", help="JSON file [default: benchmarks/results/grok_<preset>.json]")
    ap.add_argument("--runs-dir", help="where the temporary run directories go [default: the system's]")
    ap.add_argument("--keep-runs", action="store_true", help="keep the run directories")
    ap.add_argument("-v", "--verbose", action="store_true", help="a line per evaluation on stderr")
    args = ap.parse_args(argv)
    args.seeds = parse_seeds(args.seeds)
    args.params = parse_pairs(args.params)
    args.settings = parse_pairs(args.settings)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.tasks or built_in_tasks()
    unknown_names = [n for n in names if n not in task_entries()]
    if unknown_names:
        ap.error(f"unknown task(s): {', '.join(unknown_names)}")
    out = Path(args.out or f"benchmarks/results/grok_{args.preset}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    results = []
    meta = {"preset": args.preset, "seeds": args.seeds, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": sys.argv[1:]}
    for name in names:
        r = run_task(name, args)
        results.append(r)
        print(f"{name}: {r['generalized_epoch']} ({r['wall_s']:.0f}s)", file=sys.stderr, flush=True)
        out.write_text(json.dumps({**meta, "results": results}, indent=1))
    print(table(results))
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
