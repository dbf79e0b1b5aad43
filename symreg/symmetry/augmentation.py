"""Leak-free augmentation: close a training split under declared symmetries.

:func:`closure` applies the deduction rules (:mod:`symreg.symmetry.deduction`) until
nothing changes: the labels of the closure come from the training labels and
the declared symmetries only, never from the task's oracle (which
:func:`closure_report` reads afterwards, to count mismatches). It says which
test cells a model could get right by symmetry alone, so accuracy can be
reported inside and outside it (no public grokking codebase does this).

>>> from symreg.registry import get_task, get_symmetry
>>> task = get_task("mod_add", p=5)
>>> c = closure(task, np.array([8]), [get_symmetry(task, "commutativity")], labels=np.array([4]))
>>> [task.decode(task.inputs()[r]) for r in c.rows]
[(1, 3), (3, 1)]
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from symreg.errors import UsageError
from symreg.symmetry.base import UNKNOWN, Symmetry
from symreg.symmetry.deduction import rule_for

if TYPE_CHECKING:
    from symreg.task import Task


# --- closure ----------------------------------------------------------------------------
@dataclass
class Closure:
    """A training split closed under symmetries, with deduced labels.

    ``rows`` are all known domain rows (sorted), ``labels`` their classes
    (the training labels and the deduced ones), ``in_closure`` the mask over
    the domain. ``deduced[name]`` counts cells each symmetry added first,
    ``conflicts[name]`` cells where its deduction disagreed with a known label
    (0 for consistent data and true symmetries; a check that needs no oracle),
    ``seconds[name]`` the time spent in each rule (preparing it included).
    """

    rows: np.ndarray
    labels: np.ndarray
    n_train: int
    n_closed: int
    rounds: int
    converged: bool
    in_closure: np.ndarray
    symmetries: list[str]
    deduced: dict[str, int] = field(default_factory=dict)
    conflicts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0

    @property
    def known(self) -> np.ndarray:
        """The ``known`` array over the domain (-1 outside the closure)."""
        out = np.full(len(self.in_closure), UNKNOWN, dtype=np.int64)
        out[self.rows] = self.labels
        return out


def closure(task: "Task", train_rows: np.ndarray, symmetries: Sequence[Symmetry], *,
            labels: np.ndarray, max_rounds: int = 100) -> Closure:
    """Close ``train_rows`` (with their ``labels``) under ``symmetries``.

    Every round applies each symmetry's rule in turn to what is known so far;
    the loop stops when a round adds nothing (``converged``) or after
    ``max_rounds``. ``rounds`` counts the rounds that added something. The
    task's oracle is never called: ``labels`` are the only labels that come in.

    >>> from symreg.registry import get_task, get_symmetries
    >>> task = get_task("mod_add", p=5)
    >>> c = closure(task, np.array([0, 1]), get_symmetries(task), labels=np.array([0, 1]))
    >>> c.n_train, c.n_closed, c.converged
    (2, 25, True)
    """
    start = time.perf_counter()
    train_rows = np.asarray(train_rows, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != train_rows.shape:
        raise UsageError(f"labels has shape {labels.shape}, train_rows {train_rows.shape}; "
                         "give one label per training row.")
    if train_rows.size and (train_rows.min() < 0 or train_rows.max() >= len(task)):
        raise UsageError(f"Training rows must lie in 0..{len(task) - 1}.")
    if labels.size and (labels.min() < 0 or labels.max() >= task.n_classes):
        raise UsageError(f"Labels must lie in 0..{task.n_classes - 1}.")
    names = [s.name for s in symmetries]
    known = np.full(len(task), UNKNOWN, dtype=np.int64)
    known[train_rows] = labels
    seconds = {n: 0.0 for n in names}
    rules = []
    for s in symmetries:
        t0 = time.perf_counter()
        rules.append(rule_for(s, task))
        seconds[s.name] += time.perf_counter() - t0
    deduced = {n: 0 for n in names}
    clash_masks = {n: np.zeros(len(task), dtype=bool) for n in names}
    rounds, converged = 0, False
    count = int((known >= 0).sum())
    for _ in range(max_rounds):
        before = count
        for s, rule in zip(symmetries, rules):
            t0 = time.perf_counter()
            known, clash = rule(known)
            seconds[s.name] += time.perf_counter() - t0
            clash_masks[s.name][clash] = True
            now = int((known >= 0).sum())
            deduced[s.name] += now - count
            count = now
        if count == before:
            converged = True
            break
        rounds += 1
    rows = np.nonzero(known >= 0)[0]
    return Closure(rows=rows, labels=known[rows], n_train=int(np.unique(train_rows).size),
                   n_closed=len(rows), rounds=rounds, converged=converged,
                   in_closure=known >= 0, symmetries=names, deduced=deduced,
                   conflicts={n: int(m.sum()) for n, m in clash_masks.items()},
                   seconds={n: round(v, 4) for n, v in seconds.items()},
                   total_seconds=round(time.perf_counter() - start, 4))


def closure_report(task: "Task", closure: Closure, train_rows: np.ndarray) -> dict:
    """Sizes before and after, the share of test cells covered, and a soundness check.

    The soundness check compares the deduced labels with the oracle's, after
    the deduction: ``mismatches`` must be 0 for verified symmetries.

    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=5)
    >>> c = closure(task, np.array([8]), [get_symmetry(task, "commutativity")], labels=np.array([4]))
    >>> r = closure_report(task, c, np.array([8]))
    >>> r["train_after"], r["test_covered"], r["mismatches"]
    (2, 1, 0)
    """
    train = np.zeros(len(task), dtype=bool)
    train[np.asarray(train_rows, dtype=np.int64)] = True
    test = ~train
    covered = int((closure.in_closure & test).sum())
    n_test = int(test.sum())
    wrong = closure.labels != task.labels[closure.rows]
    return {
        "task": task.name,
        "params": dict(task.params),
        "domain_size": len(task),
        "train_before": int(train.sum()),
        "train_after": closure.n_closed,
        "growth": round(closure.n_closed / max(1, int(train.sum())), 4),
        "test_cells": n_test,
        "test_covered": covered,
        "test_covered_share": round(covered / n_test, 6) if n_test else 0.0,
        "rounds": closure.rounds,
        "converged": closure.converged,
        "symmetries": list(closure.symmetries),
        "deduced": dict(closure.deduced),
        "conflicts": dict(closure.conflicts),
        "mismatches": int(wrong.sum()),
        "contains_train": bool(closure.in_closure[train].all()),
        "seconds": dict(closure.seconds),
        "total_seconds": closure.total_seconds,
    }


# --- saving ----------------------------------------------------------------------------
@dataclass
class SavedSplit:
    """An augmented split read back by :func:`load_split`."""

    rows: np.ndarray
    labels: np.ndarray
    train_rows: np.ndarray
    meta: dict


def save_split(path, closure: Closure, train_rows: np.ndarray, meta: dict) -> Path:
    """Write the closure's rows and labels, the original training rows and ``meta`` to an .npz.

    ``meta`` should name the task, params, seed, train_frac and symmetries; it
    is stored as a JSON string (key ``meta``). Read it back with :func:`load_split`.

    >>> import tempfile
    >>> from symreg.registry import get_task
    >>> c = closure(get_task("mod_add", p=5), np.array([8]), [], labels=np.array([4]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_split(Path(tmp) / "split", c, np.array([8]), {}).name
    'split.npz'
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")  # np.savez would append it anyway
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, rows=closure.rows.astype(np.int64), labels=closure.labels.astype(np.int64),
                        train_rows=np.asarray(train_rows, dtype=np.int64),
                        meta=np.array(json.dumps(meta, default=str)))
    return path


def load_split(path) -> SavedSplit:
    """Read a split written by :func:`save_split`.

    >>> import tempfile
    >>> from symreg.registry import get_task
    >>> task = get_task("mod_add", p=5)
    >>> c = closure(task, np.array([8]), [], labels=np.array([4]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = load_split(save_split(Path(tmp) / "split", c, np.array([8]), {"task": "mod_add"}))
    >>> back.rows.tolist(), back.labels.tolist(), back.meta
    ([8], [4], {'task': 'mod_add'})
    """
    try:
        with np.load(Path(path), allow_pickle=False) as f:
            return SavedSplit(rows=f["rows"], labels=f["labels"], train_rows=f["train_rows"],
                              meta=json.loads(str(f["meta"])))
    except (OSError, ValueError, KeyError) as err:
        raise UsageError(f"{str(path)!r} is not a split written by save_split (.npz with rows, labels, "
                         f"train_rows and meta): {err}") from None
