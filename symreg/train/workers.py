"""All cores for a seed batch on a CPU: seed groups in parallel, one worker thread and one torch thread each.

A batch of seeds is GEMM-bound and every seed has its own weights, so on a CPU
two single-threaded computations beat one two-threaded one for models this
small (a multithreaded GEMM of these shapes splits poorly). The trainer already
runs a CPU batch as groups of seeds (:func:`symreg.train.hardware.seed_groups`);
here the groups of one step run concurrently, each in a worker thread with one
torch thread. Threads rather than processes: torch releases the GIL inside
every kernel, a group's kernels take milliseconds against microseconds of
Python between them, and the groups share the parameters and gradients in
place, with nothing to copy or to send between processes. Each group's
arithmetic is exactly what it is when the groups run one after the other with
one torch thread, so the result is bit-identical to that layout.

``functional_call`` swaps parameters on the module it is given, so each worker
has its own shallow twin of the model (same parameter tensors, its own
attribute dictionaries).
"""
from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import torch

from symreg.train.hardware import torch_threads


def seed_workers(requested: int, device: torch.device, groups: int, threads: int) -> int:
    """How many groups run at once: ``requested`` (0 = auto) capped by the groups; 1 off a CPU.

    Auto: one per torch thread this process may use (``threads``, what ``--threads`` resolved to),
    when there are at least two groups.

    >>> cpu = torch.device("cpu")
    >>> seed_workers(0, cpu, groups=10, threads=2), seed_workers(0, cpu, groups=1, threads=2)
    (2, 1)
    >>> seed_workers(3, cpu, groups=2, threads=1), seed_workers(0, torch.device("meta"), groups=10, threads=2)
    (2, 1)
    """
    if device.type != "cpu":
        return 1
    wanted = requested or threads
    return max(1, min(wanted, groups))


class GroupPool:
    """Runs ``fn(model, group)`` for every seed group of a step, ``workers`` at a time."""

    def __init__(self, model: torch.nn.Module, workers: int) -> None:
        self.model, self.workers = model, workers
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="symreg-seeds") if workers > 1 else None

    def _twin(self) -> torch.nn.Module:
        tensors = [*self.model.parameters(), *self.model.buffers()]
        key = [id(t) for t in tensors]
        if getattr(self._local, "key", None) != key:  # first use, or the model's tensors were replaced
            self._local.model = copy.deepcopy(self.model, {id(t): t for t in tensors})  # tensors shared, dicts not
            self._local.key = key
        return self._local.model

    def map(self, fn: Callable[[torch.nn.Module, object], None], groups: Sequence) -> None:
        if self._pool is None:
            for g in groups:
                fn(self.model, g)
            return
        with torch_threads(1):  # one torch thread per worker while the groups run
            for done in [self._pool.submit(lambda g=g: fn(self._twin(), g)) for g in groups]:
                done.result()  # in order: the first error is raised

