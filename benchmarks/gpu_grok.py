"""20 seeds of mod_add p=113 (paper preset: 30% train, wd 1) trained to generalization on one GPU.

Prints wall time to the last seed's generalization, seed-epochs per second, and
the share of a profiled window of epochs spent in CUDA kernels; writes JSON.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

import symreg
from symreg.train.trainer import TrainConfig, Trainer
from symreg.util.parsing import parse_seeds


def kernel_share(trainer, epochs=200):
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as prof:
        t = time.perf_counter()
        for _ in range(epochs):
            trainer.step()
        torch.cuda.synchronize()
        wall = time.perf_counter() - t
    kernels = sum(e.self_device_time_total for e in prof.key_averages()) / 1e6
    return kernels / wall, wall / epochs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0-19")
    ap.add_argument("--epochs", type=int, default=40000)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "tf32"])
    ap.add_argument("--out", default="benchmarks/results/gpu_grok.json")
    args = ap.parse_args()
    task = symreg.get_task("mod_add", p=113)
    cfg = TrainConfig.from_preset(task.preset, epochs=args.epochs, eval_every=args.eval_every,
                                  stop_on_generalize=True, device="cuda", precision=args.precision)
    seeds = parse_seeds(args.seeds)
    probe = Trainer.fresh(task, TrainConfig(**{**cfg.__dict__, "epochs": 10**6}), seeds,
                          Path(tempfile.mkdtemp()) / "probe")
    for _ in range(10):
        probe.step()
    share, s_per_epoch = kernel_share(probe)
    trainer = Trainer.fresh(task, cfg, seeds, Path(tempfile.mkdtemp()) / "run")
    t = time.perf_counter()
    summary = trainer.run()
    wall = time.perf_counter() - t
    gens = [s["generalized_epoch"] for s in summary]
    seed_epochs = sum((s["epochs"] or args.epochs) for s in summary)
    result = {"gpu": torch.cuda.get_device_name(), "precision": args.precision, "seeds": len(seeds), "wall_s": wall,
              "generalized": sum(g is not None for g in gens), "epochs_to_generalize": gens,
              "seed_epochs_per_s": seed_epochs / wall, "ms_per_epoch_all_seeds": s_per_epoch * 1e3,
              "kernel_time_share": share}
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
