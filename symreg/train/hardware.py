"""Where and how fast a batch of seeds trains: CPU allocator settings, seed groups, fused AdamW."""
from __future__ import annotations

import ctypes

import torch

from symreg.limits import cpu_seed_chunk


def tune_cpu() -> None:
    """CPU allocator settings that matter for long runs (glibc mmap/trim thresholds).

    Denormal flushing, the other one, is switched on only while :meth:`Trainer.run`
    runs, since it is process-wide floating-point state that callers may rely on.
    """
    try:  # keep ~10 MB activation buffers on the heap instead of fresh mmaps (page faults)
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 2**20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 2**31 - 1)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def auto_seed_chunk(device: torch.device, train_rows: int) -> int:
    """Seeds per pass when ``seed_chunk`` is 0: all of them on a GPU; on a CPU, about 8192 rows.

    Measured on 2 cores with 20 seeds (benchmarks/results/epoch_speed-cpu.txt): one
    pass over all seeds of mod_add p=113 ran at 0.59x the per-seed speed of one seed
    alone, its activations far outgrowing the caches, and groups of 2 seeds (7,662
    rows) at 1.02x; on graph_cycle n=32 (819 rows) groups of 10 ran 1.14x.

    >>> auto_seed_chunk(torch.device("cpu"), 3831), auto_seed_chunk(torch.device("cpu"), 819)
    (2, 10)
    """
    return 0 if device.type != "cpu" else cpu_seed_chunk(train_rows)


def seed_groups(n_seeds: int, chunk: int) -> list[slice]:
    """Consecutive groups of at most ``chunk`` seeds (0 = one group of all).

    >>> seed_groups(5, 2)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    chunk = chunk or n_seeds
    return [slice(i, min(n_seeds, i + chunk)) for i in range(0, n_seeds, chunk)]


def fast_adamw(device: torch.device) -> dict:
    return {"fused": True} if device.type in ("cpu", "cuda") else {}
