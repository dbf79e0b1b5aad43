"""Where and how fast a batch of seeds trains: CPU threads and allocator settings, seed groups, fused AdamW."""
from __future__ import annotations

import contextlib
import ctypes
import os
from pathlib import Path

import torch

from symreg.errors import UsageError
from symreg.limits import cpu_seed_chunk

AUTO = "auto"
# torch's own choice, read before symreg sets any: OMP_NUM_THREADS when set, else the physical cores
TORCH_DEFAULT_THREADS = torch.get_num_threads()


def parse_threads(value) -> int | str:
    """A thread count as given (``--threads``): an integer >= 1, or ``"auto"``.

    >>> parse_threads("3"), parse_threads("auto"), parse_threads(2)
    (3, 'auto', 2)
    >>> parse_threads("0")
    Traceback (most recent call last):
    ...
    symreg.errors.UsageError: --threads '0' must be an integer >= 1, or auto.
    """
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    try:
        n = int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        n = None
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError(f"--threads {str(value)!r} must be an integer >= 1, or auto.")
    return n


def auto_threads(cores: int, busy: float, processes: int = 1) -> int:
    """Torch threads for each of ``processes`` processes: the cores that ``busy`` others leave idle, shared.

    ``busy`` is how many cores other work keeps busy (the load average). A
    thread more than there are idle cores costs far more than it gives: two
    threads on a loaded 2-core machine ran one run 25x slower than one.

    >>> auto_threads(2, 0.1), auto_threads(2, 0.7), auto_threads(2, 3.5), auto_threads(16, 4.0)
    (2, 1, 1, 12)
    >>> auto_threads(16, 0.0, processes=3), auto_threads(2, 0.0, processes=4)
    (5, 1)
    """
    idle = min(cores, int(cores - busy + 0.5))
    return max(1, idle // max(1, processes))


def cpu_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota (a container)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, ValueError):  # no cgroup v2, or "max": no quota
        pass
    return max(1, cores)


def busy_cores() -> float:
    """How many cores other work keeps busy: the 1-minute load average, or the tasks runnable right now
    besides this one (``/proc/loadavg``), whichever is more, since the average lags behind a run started
    a moment ago (two runs started together would each find the machine idle)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    try:
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - 1  # minus this process
    except (OSError, ValueError, IndexError):
        running = 0
    return max(load, running)


def resolve_threads(value=AUTO, processes: int = 1) -> int:
    """The torch threads ``value`` (a count, or ``"auto"``) stands for, for each of ``processes`` processes.

    ``auto`` is :func:`auto_threads` over this machine's idle cores, never
    more than torch would take by itself (:data:`TORCH_DEFAULT_THREADS`: so
    ``OMP_NUM_THREADS=1`` keeps it at 1).

    >>> resolve_threads(3), resolve_threads("auto") >= 1
    (3, True)
    """
    n = parse_threads(value)
    if n != AUTO:
        return n
    return max(1, min(TORCH_DEFAULT_THREADS, auto_threads(cpu_cores(), busy_cores(), processes)))


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch intra-op threads, then restore the count there was.

    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


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
