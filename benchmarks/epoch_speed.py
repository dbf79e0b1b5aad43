"""Seconds per epoch of the paper's transformer: reference vs symreg, single vs batched seeds.

All timings run in one process, interleaved round by round, and are reported
with ratios to the baseline measured in the same run (these machines are
noisy). The compute floor is measured here too: achieved matmul FLOP/s at the
model's own largest GEMM shape and at 2048^3, times the FLOPs of one epoch
counted by torch's FlopCounterMode. Peak memory is measured per configuration
in a fresh subprocess (CPU: peak RSS above the post-import baseline; CUDA:
torch.cuda.max_memory_allocated).

    python benchmarks/epoch_speed.py                     # CPU, mod_add p=113 paper preset + quick preset
    python benchmarks/epoch_speed.py --device cuda --seeds 1,5,20
    python benchmarks/epoch_speed.py --precisions fp32,bf16 --workers 2 --no-memory \
        --tasks mod_add:paper,graph_grid2d:quick,compare_2d:quick      # issue 16: bf16 and worker threads

"x floor" is a configuration's seconds per seed-epoch over the fp32 GEMM floor
(the fp32 matmul rate at the model's shape), so a bf16 row below 1 is faster
than any fp32 implementation could be.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import symreg
from symreg.train.reference import ReferenceTransformer
from symreg.train.trainer import TrainConfig, Trainer

RESULTS = Path(__file__).parent / "results"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def make_trainer(task, cfg, seeds, device, seed_chunk=0, **overrides):
    cfg = TrainConfig(**{**cfg.__dict__, "device": str(device), "seed_chunk": seed_chunk, **overrides})
    return Trainer.fresh(task, cfg, seeds, Path(tempfile.mkdtemp()) / "run")


class Reference:
    """The plain way: all positions, one seed, float32 loss, nothing precomputed."""

    def __init__(self, trainer):
        self.model = ReferenceTransformer(trainer.model, 0).to(trainer.device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0)
        self.x, self.y = trainer.data.x_train[0], trainer.data.y_train[0]

    def step(self):
        loss = F.cross_entropy(self.model(self.x), self.y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


def time_steps(step, device, n):
    sync(device)
    t = time.perf_counter()
    for _ in range(n):
        step()
    sync(device)
    return (time.perf_counter() - t) / n


def matmul_rate(device, m, k, n, reps, dtype=torch.float32):
    a, b = torch.randn(m, k, device=device, dtype=dtype), torch.randn(k, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * m * k * n * reps / (time.perf_counter() - t)


def epoch_flops(trainer):
    with FlopCounterMode(display=False) as counter:
        trainer._update(trainer.data.x_train, trainer.data.y_train)
    return counter.get_total_flops()


def bench_task(name, preset, seeds_list, device, rounds, steps, reference=True, precisions=("fp32",), workers=1):
    cls = symreg.task_entries()[name].obj
    chosen = cls.preset if preset == "paper" else cls.quick
    task = symreg.get_task(name, **chosen.params)
    cfg = TrainConfig.from_preset(chosen, epochs=10**9)
    trainers = {f"symreg S={s}": make_trainer(task, cfg, list(range(s)), device) for s in seeds_list}
    big = max(seeds_list)
    if device.type == "cpu" and big > 1:  # what the default seed grouping saves on a CPU
        trainers[f"one pass S={big}"] = make_trainer(task, cfg, list(range(big)), device, seed_chunk=big)
    for w in range(2, workers + 1) if big > 1 else ():  # seed groups in parallel worker threads
        trainers[f"{w} workers S={big}"] = make_trainer(task, cfg, list(range(big)), device, seed_workers=w)
    for p in precisions:
        if p != "fp32":
            trainers[f"{p} S=1"] = make_trainer(task, cfg, [0], device, precision=p)
            if big > 1:  # the fastest layout: the batch at this precision, with the worker threads asked for
                trainers[f"{p} {workers}w S={big}"] = make_trainer(task, cfg, list(range(big)), device, precision=p,
                                                                 seed_workers=workers)
    single = trainers[f"symreg S={seeds_list[0]}"] if seeds_list[0] == 1 else make_trainer(task, cfg, [0], device)
    contenders = {**({"reference": Reference(single).step} if reference else {}),
                  **{k: t.step for k, t in trainers.items()}}
    for step in contenders.values():  # warm-up (and CUDA graph capture)
        for _ in range(5):
            step()
    times = {k: [] for k in contenders}
    for _ in range(rounds):  # interleaved, so drift hits everyone alike
        for k, step in contenders.items():
            times[k].append(time_steps(step, device, steps))
    sync(device)
    t = time.perf_counter()
    for _ in range(3):
        single.evaluate()
    sync(device)
    eval_s = (time.perf_counter() - t) / 3
    flops = epoch_flops(single)
    shape = (single.data.x_train.shape[1], 128, 512)
    rate_model = matmul_rate(device, *shape, reps=20 if device.type == "cpu" else 200)
    # the floor of each precision: its GEMM rate at the model's shape (bf16 operands for bf16)
    floors = {p: flops / matmul_rate(device, *shape, reps=20 if device.type == "cpu" else 200,
                                      dtype=torch.bfloat16 if p == "bf16" else torch.float32)
              for p in precisions}
    rate_peak = matmul_rate(device, 2048, 2048, 2048, reps=5 if device.type == "cpu" else 50)
    rows = []
    base = statistics.median(times[f"symreg S={seeds_list[0]}"]) / seeds_list[0]
    for k, ts in times.items():
        s = int(k.split("=")[1]) if "S=" in k else 1
        groups = trainers[k]._groups if k in trainers else [slice(0, 1)]
        precision = trainers[k].cfg.precision if k in trainers else "fp32"
        med = statistics.median(ts)
        rows.append({"config": k, "seeds": s, "seed_groups": len(groups), "precision": precision,
                     "workers": trainers[k]._pool.workers if k in trainers else 1,
                     "x_floor_of_fp32": med / s / floors.get("fp32", flops / rate_model),
                     "s_per_epoch": med, "s_per_seed_epoch": med / s,
                     "spread": [min(ts), max(ts)], "seed_epochs_per_s": s / med,
                     "throughput_vs_single": (s / med) * base})
    ev = single.cfg.eval_every
    with_eval = statistics.median(times[f"symreg S={seeds_list[0]}"]) + eval_s / ev
    return {"task": name, "preset": preset, "params": task.params, "train_rows": single.data.x_train.shape[1],
            "flops_per_epoch": flops, "matmul_flops_per_s_model_shape": rate_model,
            "matmul_flops_per_s_2048": rate_peak, "floor_s_per_epoch": flops / rate_model,
            "floor_s_per_epoch_at_2048_rate": flops / rate_peak,
            "floor_s_per_epoch_by_precision": floors,
            "eval_s": eval_s, "eval_every": ev, "single_s_per_epoch_with_eval": with_eval, "rows": rows}


def peak_memory(name, preset, seeds, device, model, seed_chunk=0):
    """Peak memory of 3 training steps and one evaluation, in a fresh process.

    CPU: resident set size sampled every millisecond, minus the size just before
    the model is built. CUDA: torch.cuda.max_memory_allocated.
    """
    code = f"""
import json, tempfile, threading, time, torch, symreg
from pathlib import Path
from symreg.train.trainer import Trainer, TrainConfig
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
cls = symreg.task_entries()[{name!r}].obj
chosen = cls.preset if {preset!r} == "paper" else cls.quick
task = symreg.get_task({name!r}, **chosen.params)
task.labels
cfg = TrainConfig.from_preset(chosen, epochs=10**9, device={str(device)!r}, seed_chunk={seed_chunk})
peak, done = [0.0], [False]
def watch():
    while not done[0]:
        peak[0] = max(peak[0], rss()); time.sleep(0.001)
base = rss()
threading.Thread(target=watch, daemon=True).start()
if {model!r} == "reference":
    import sys; sys.path.insert(0, "benchmarks")
    from epoch_speed import Reference
    t = Trainer.fresh(task, cfg, [0], Path(tempfile.mkdtemp()) / "r")
    r = Reference(t)
    for _ in range(3): r.step()
else:
    t = Trainer.fresh(task, cfg, list(range({seeds})), Path(tempfile.mkdtemp()) / "r")
    for _ in range(3): t.step()
    t.evaluate()
done[0] = True
time.sleep(0.01)
gpu = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
print(json.dumps({{"rss_mib": peak[0] - base, "cuda_mib": gpu / 2**20 if gpu else None}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seeds", default="1,5,20")
    ap.add_argument("--tasks", default="mod_add:paper,mod_add:quick")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--precisions", default="fp32", help="e.g. fp32,bf16: single-seed epochs and GEMM floors of each")
    ap.add_argument("--workers", type=int, default=1, help="also time the largest batch with 2..N worker threads")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    seeds = [int(s) for s in args.seeds.split(",")]
    report = {"machine": platform.processor() or platform.machine(), "torch": torch.__version__,
              "threads": torch.get_num_threads(), "device": str(device), "results": []}
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name()
    for spec in args.tasks.split(","):
        name, preset = spec.split(":")
        res = bench_task(name, preset, seeds, device, args.rounds, args.steps,
                         precisions=tuple(args.precisions.split(",")), workers=args.workers)
        if not args.no_memory:
            for row in res["rows"]:
                kind = "reference" if row["config"] == "reference" else "symreg"
                chunk = row["seeds"] if row["config"].startswith("one pass") else 0
                row["peak_memory"] = peak_memory(name, preset, row["seeds"], device, kind, chunk)
        report["results"].append(res)
        print_table(res)
    RESULTS.mkdir(exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / f"epoch_speed-{device.type}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out}")


def print_table(res):
    print(f"\n{res['task']} ({res['preset']} preset, {res['params']}, {res['train_rows']} training rows)")
    print(f"  FLOPs/epoch {res['flops_per_epoch'] / 1e9:.2f} G; matmul {res['matmul_flops_per_s_model_shape'] / 1e9:.0f}"
          f" GFLOP/s at the model's shape, {res['matmul_flops_per_s_2048'] / 1e9:.0f} at 2048^3;"
          f" floor {res['floor_s_per_epoch'] * 1e3:.1f} ms/epoch")
    print(f"  evaluation {res['eval_s'] * 1e3:.1f} ms every {res['eval_every']} epochs: single seed with "
          f"evaluation {res['single_s_per_epoch_with_eval'] * 1e3:.1f} ms/epoch "
          f"({res['single_s_per_epoch_with_eval'] / res['floor_s_per_epoch']:.2f}x floor)")
    for p, floor in res["floor_s_per_epoch_by_precision"].items():
        print(f"  {p} GEMM floor {floor * 1e3:.1f} ms/epoch")
    print(f"  {'config':<16} {'groups':>6} {'ms/epoch':>9} {'ms/seed-epoch':>14} {'seed-epochs/s':>14} {'vs single':>10} {'x floor':>8} {'peak MiB':>9}")
    for r in res["rows"]:
        mem = r.get("peak_memory", {})
        mib = mem.get("cuda_mib") or mem.get("rss_mib")
        print(f"  {r['config']:<16} {r['seed_groups']:>6} {r['s_per_epoch'] * 1e3:9.1f} {r['s_per_seed_epoch'] * 1e3:14.2f} "
              f"{r['seed_epochs_per_s']:14.1f} {r['throughput_vs_single']:10.2f} "
              f"{r['x_floor_of_fp32']:8.2f} {'-' if mib is None else round(mib):>9}")


if __name__ == "__main__":
    main()
