"""Sizes checked before anything is allocated: one estimate of what a command needs, one limit.

A task's size is cheap (:attr:`symreg.task.Task.size`, the product of its
slots' token counts; nothing is enumerated). Before a command enumerates a
domain, builds symmetries, closes a split or trains, it adds up the big arrays
it is about to hold and :func:`check` refuses, in one line, an estimate above
the limit:

- the limit is 80% of the memory available when the check runs (``MemAvailable``
  in ``/proc/meminfo``; ``os.sysconf`` where there is no ``/proc``);
- ``SYMREG_MEMORY_LIMIT_GB=N`` sets it to N GiB instead (``off``: no check).

The estimates are sums of the arrays' sizes (8 bytes an int64, 4 a float32),
rough but on the high side: they are there to refuse what cannot fit, not to
predict use. Training counts the host and the accelerator together.

Seeds trained as one batch, and points of one sweep, are capped too: 10,000
each, ``SYMREG_MAX_SEEDS`` and ``SYMREG_MAX_POINTS`` change the caps. Closing a
split under laws (``augment``) checks every law instance each round
(associativity: every triple of tokens), so it is capped at 2*10^9 instances a
round, about a minute on one core (``SYMREG_MAX_LAW_INSTANCES``).

>>> from symreg.registry import get_task
>>> domain_bytes(get_task("mod_add", p=5))  # 25 inputs: inputs, keys, labels and temporaries
1400
>>> gib(3 * GIB), gib(2.5e12 * GIB)
('3.0', '2.5e+12')
"""
from __future__ import annotations

import math
import os
import sys
from typing import TYPE_CHECKING, Iterable, Mapping

from symreg.errors import UsageError

if TYPE_CHECKING:
    from symreg.symmetry.base import Symmetry
    from symreg.task import Task

GIB = 2 ** 30
FRACTION = 0.8  # of the memory available now
MEMORY_ENV = "SYMREG_MEMORY_LIMIT_GB"
SEEDS_ENV, MAX_SEEDS = "SYMREG_MAX_SEEDS", 10_000
POINTS_ENV, MAX_POINTS = "SYMREG_MAX_POINTS", 10_000
LAWS_ENV, MAX_LAW_INSTANCES = "SYMREG_MAX_LAW_INSTANCES", 2 * 10 ** 9  # closing under laws: ~1 min a round
SECONDS_PER_LAW_INSTANCE = 2.4e-8  # associativity's deduction on one core (mod_add, p=503: 3 s a round)
SYMMETRY_BYTES_PER_POINT = 400  # sympy Permutations of the k*V + C points, per declared symmetry set
MAX_ORDER_POINTS = 2000  # `show` gives a group's order (sympy's Schreier-Sims) up to this many points moved


class TooLargeError(UsageError):
    """A command refused before it started: it would need more memory, seeds or points than the limit."""


def gib(n: float) -> str:
    """Bytes as GiB, readable at any scale."""
    g = n / GIB
    return f"{g:.3g}" if g >= 1e5 else f"{g:.2f}" if g < 0.1 else f"{g:.1f}"


def count(n: int) -> str:
    """A count with thousands separators, or in scientific notation when it is astronomical."""
    return f"{n:,}" if n < 10 ** 15 else f"{float(n):.3g}"


def available_bytes() -> int | None:
    """Memory available now without swapping, or None when the system does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def memory_limit() -> tuple[float, str]:
    """The limit in bytes (inf: none) and where it comes from, in words."""
    text = os.environ.get(MEMORY_ENV, "").strip()
    if text:
        if text.lower() in ("off", "none", "inf"):
            return math.inf, f"{MEMORY_ENV}={text}"
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not value > 0 or math.isinf(value):
            raise UsageError(f"{MEMORY_ENV}={text!r} must be a positive number of GiB, or off.")
        return value * GIB, f"set by {MEMORY_ENV}"
    avail = available_bytes()
    if avail is None:
        return math.inf, "the available memory is unknown"
    return FRACTION * avail, f"{FRACTION:.0%} of the {gib(avail)} GiB available"


def _cap(env: str, default: int) -> int:
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"{env}={text!r} must be a positive integer.")
    return value


def check(parts: Mapping[str, float], what: str, hint: str = "use a smaller task") -> float:
    """Refuse ``what`` when the parts' sum exceeds the memory limit; the sum in bytes otherwise.

    >>> import os
    >>> os.environ[MEMORY_ENV] = "1"
    >>> check({"domain": 3 * GIB, "model": GIB}, "Training task 'x'", "use a smaller task or fewer seeds")
    Traceback (most recent call last):
    ...
    symreg.limits.TooLargeError: Training task 'x' would need about 4.0 GiB of memory (domain 3.0, model 1.0), \
more than the limit of 1.0 GiB (set by SYMREG_MEMORY_LIMIT_GB); use a smaller task or fewer seeds, \
or set SYMREG_MEMORY_LIMIT_GB=N (GiB; off for no limit).
    >>> del os.environ[MEMORY_ENV]
    """
    total = float(sum(parts.values()))
    limit, how = memory_limit()
    if total > limit:
        big = sorted(((v, k) for k, v in parts.items() if v > 0), reverse=True)[:4]
        detail = ", ".join(f"{k} {gib(v)}" for v, k in big)
        raise TooLargeError(
            f"{what} would need about {gib(total)} GiB of memory ({detail}), more than the limit of "
            f"{gib(limit)} GiB ({how}); {hint}, or set {MEMORY_ENV}=N "
            f"(GiB; off for no limit).")
    return total


def check_seeds(n: int, where: str = "") -> None:
    """Refuse more than ``SYMREG_MAX_SEEDS`` (10,000) seeds in one batch.

    >>> check_seeds(100001)
    Traceback (most recent call last):
    ...
    symreg.limits.TooLargeError: 100001 seeds is more than the limit of 10000 seeds in one batch; \
use fewer, or set SYMREG_MAX_SEEDS=N to change the limit.
    """
    cap = _cap(SEEDS_ENV, MAX_SEEDS)
    if n > cap:
        raise TooLargeError(f"{where}{n} seeds is more than the limit of {cap} seeds in one batch; "
                            f"use fewer, or set {SEEDS_ENV}=N to change the limit.")


def check_points(n: int, where: str = "") -> None:
    """Refuse a sweep of more than ``SYMREG_MAX_POINTS`` (10,000) points."""
    cap = _cap(POINTS_ENV, MAX_POINTS)
    if n > cap:
        raise TooLargeError(f"{where}the grid has {count(n)} points, more than the limit of {cap}; "
                            f"use fewer values, or set {POINTS_ENV}=N to change the limit.")


def describe(task: "Task") -> str:
    """``task 'mod_add' (p=97, 9,409 inputs)``: what the messages call a task."""
    params = ", ".join(f"{k}={v}" for k, v in task.params.items())
    return f"task '{task.name}' ({params + ', ' if params else ''}{count(task.size)} inputs)"


# --- the estimates (bytes) --------------------------------------------------------------------
def domain_bytes(task: "Task") -> int:
    """Enumerating the domain: the inputs (and their meshgrid), the row keys, the labels."""
    n, k = task.size, task.arity
    return 8 * n * (2 * k + 3)


def symmetry_bytes(task: "Task") -> int:
    """Building the declared symmetries: permutations of the ``arity * vocab + classes`` points."""
    return SYMMETRY_BYTES_PER_POINT * (task.arity * task.vocab_size + task.n_classes)


def closure_bytes(task: "Task", symmetries: Iterable["Symmetry"]) -> int:
    """Closing one split under ``symmetries``: the row permutations of each generator, the known arrays."""
    n, k = task.size, task.arity
    rules = sum(len(getattr(s, "generators", ())) or 3 for s in symmetries)
    return 8 * n * (7 + rules + 3 * k)


def verify_bytes(task: "Task", symmetries: Iterable["Symmetry"], max_exhaustive: int) -> dict[str, int]:
    """Verifying: each generator moves every input (a group action); a law holds its instances."""
    n, k = task.size, task.arity
    parts = {"domain": domain_bytes(task), "moved inputs": 8 * n * (2 * k + 8)}
    laws = 0
    for s in symmetries:
        if getattr(s, "kind", "") == "law":
            laws = max(laws, min(s.count(task), max_exhaustive) * 8 * (len(getattr(s, "columns", "abc")) + 6))
    if laws:
        parts["law instances"] = laws
    return parts


def _sizes(cfg) -> tuple[int, int, int, int]:
    """(width, hidden, attention width, heads) of the model: the transformer's names, the MLP's, or defaults."""
    s = dict(getattr(cfg, "model_sizes", {}) or {})
    d = int(s.get("d_model", s.get("d_embed", 128)))
    hidden = int(s.get("d_mlp", s.get("d_hidden", 512)))
    heads = int(s.get("n_heads", 4))
    return d, hidden, heads * int(s.get("d_head", 32)), heads


def cpu_seed_chunk(train_rows: int) -> int:
    """Seeds per pass on a CPU when ``seed_chunk`` is 0: about 8192 rows (:func:`symreg.train.hardware.auto_seed_chunk`)."""
    return max(1, 8192 // max(1, train_rows))


def _on_cpu(device: str) -> bool:
    if device == "cpu":
        return True
    if device != "auto":
        return False
    torch = sys.modules.get("torch")  # never imported here: the core does not need torch
    try:
        return torch is not None and not torch.cuda.is_available()
    except Exception:  # noqa: BLE001 - a broken CUDA setup means the CPU
        return True


def training_bytes(task: "Task", cfg, n_seeds: int) -> dict[str, int]:
    """Training ``n_seeds`` seeds of ``cfg`` (a TrainConfig) on ``task``, by part.

    Domain and data (the inputs, each seed's split), the model with its
    gradients and AdamW moments, the activations of one step (seed groups on a
    CPU; mini-batches when ``batch_size`` is set), and an evaluation's
    log-probabilities over the whole domain for every seed (float64).
    """
    n, k, v, c = task.size, task.arity, task.vocab_size, task.n_classes
    s = n_seeds
    n_train = max(1, min(n - 1, round(cfg.train_frac * n)))
    d, hidden, width, heads = _sizes(cfg)
    rows = min(cfg.batch_size, n_train) if cfg.batch_size else n_train
    per_pass = s
    if _on_cpu(cfg.device):
        per_pass = min(s, cfg.seed_chunk or cpu_seed_chunk(n_train))
    elif cfg.seed_chunk:
        per_pass = min(s, cfg.seed_chunk)
    params = d * (v + 1 + k + 1 + c) + 4 * d * width + 2 * d * hidden + hidden + d
    state = 4 + (1 if cfg.grokfast == "ema" else cfg.grokfast_window if cfg.grokfast == "ma" else 0)
    # forward and backward of one row (float32; the loss in float64): measured 1.3-1.8x below this on a CPU
    act_row = 4 * (3 * (k + 1) * heads + 2 * k * width + 2 * width + 6 * d + 3 * hidden + 3 * c) + 16 * c
    parts = {
        "domain": domain_bytes(task),
        "symmetries": symmetry_bytes(task),
        "data": 8 * n * (k + 2) + s * n + 8 * s * n_train * (k + 2),
        "model": 4 * params * state * s,
        "activations": act_row * rows * per_pass,
        "evaluation": 20 * s * n * c,
    }
    if cfg.augment:
        parts["closures"] = 17 * s * n + 8 * n * (10 + 3 * k)
    return parts


# --- the checks, per command --------------------------------------------------------------------
def check_domain(task: "Task") -> None:
    """Before enumerating the domain of ``task``."""
    check({"domain": domain_bytes(task)}, f"Enumerating {describe(task)}")


def check_symmetries(task: "Task") -> None:
    """Before building the symmetries of ``task``."""
    check({"symmetries": symmetry_bytes(task)}, f"Building the symmetries of {describe(task)}")


def check_training(task: "Task", cfg, n_seeds: int) -> None:
    """Before training: the seed cap, then everything a run holds."""
    check_seeds(n_seeds, f"Training {task.name}: ")
    plural = "s" if n_seeds != 1 else ""
    check(training_bytes(task, cfg, n_seeds), f"Training {describe(task)} over {n_seeds} seed{plural}",
          "use a smaller task, fewer seeds or a smaller model")


def law_instances(task: "Task", symmetries: Iterable["Symmetry"]) -> int:
    """Instances the laws among ``symmetries`` look at in one round of deduction."""
    total = 0
    for s in symmetries:
        if getattr(s, "kind", "") == "law":
            try:
                total += int(s.count(task))
            except UsageError:  # a law that does not fit the task fails later, with its own message
                pass
    return total


def check_closure(task: "Task", symmetries: Iterable["Symmetry"]) -> None:
    """Before closing a split of ``task`` under ``symmetries``: memory, then the laws' work per round."""
    syms = list(symmetries)
    what = f"Closing a split of {describe(task)} under {len(syms)} symmetries"
    total = check({"domain": domain_bytes(task), "closure": closure_bytes(task, syms)}, what)
    work, cap = law_instances(task, syms), _cap(LAWS_ENV, MAX_LAW_INSTANCES)
    if work > cap:
        secs = work * SECONDS_PER_LAW_INSTANCE
        took = f"{secs / 3600:.3g} h" if secs >= 7200 else f"{secs / 60:.0f} min" if secs >= 120 else f"{secs:.0f} s"
        raise TooLargeError(
            f"{what} would check {count(work)} law instances a round (about {took} a round on one "
            f"core; memory about {gib(total)} GiB), more than the limit of {count(cap)}; use a smaller task "
            f"or name symmetries without laws (--symmetry), or set {LAWS_ENV}=N to change the limit.")


def check_verify(task: "Task", symmetries: Iterable["Symmetry"], max_exhaustive: int) -> None:
    """Before verifying ``symmetries`` on ``task``."""
    check(verify_bytes(task, symmetries, max_exhaustive), f"Verifying {describe(task)}")
