"""The :class:`Law` base: instances, the oracle check, and verification shared by every law.

A law is checked on every instance when there are at most ``max_exhaustive``
of them; above that, hypothesis searches ``samples`` instances and shrinks a
failure to a small counterexample.
"""
from __future__ import annotations

import functools
import random
import time
from abc import abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from symreg.errors import InvalidSymmetryError
from symreg.symmetry.base import MAX_EXHAUSTIVE, Counterexample, Symmetry, Verdict

if TYPE_CHECKING:
    from hypothesis import strategies as st

    from symreg.task import Task

MAX_ENUMERATED = 2_000_000  # sample from the enumerated instances up to this many


class Law(Symmetry):
    """A law over instances: rows of ``columns`` tokens (or indices)."""

    kind = "law"
    columns: tuple[str, ...]

    @abstractmethod
    def count(self, task: "Task") -> int:
        """How many instances the law has on ``task``."""

    @abstractmethod
    def all_instances(self, task: "Task") -> np.ndarray:
        """Every instance, shape (count, len(columns))."""

    @abstractmethod
    def strategy(self, task: "Task") -> st.SearchStrategy:
        """A hypothesis strategy for one instance (a tuple), for large instance sets."""

    @abstractmethod
    def holds(self, task: "Task", inst: np.ndarray) -> np.ndarray:
        """Whether the oracle satisfies the law on each instance row."""

    @abstractmethod
    def explain(self, task: "Task", row: np.ndarray) -> Counterexample:
        """The failed instance, in words, with the expected and actual labels."""

    def sample(self, task: "Task", n: int, rng: np.random.Generator) -> dict:
        if self.count(task) <= MAX_ENUMERATED:
            every = self._every(task)
            return {"inst": every[rng.integers(len(every), size=n)]}
        draw = self.strategy(task)
        rows = [draw.example() for _ in range(n)]  # pragma: no cover - no built-in needs it
        return {"inst": np.asarray(rows, dtype=np.int64)}

    @functools.lru_cache(maxsize=2)  # noqa: B019 - laws and tasks are few and long-lived
    def _every(self, task: "Task") -> np.ndarray:
        return self.all_instances(task)

    def verify(self, task: "Task", *, max_exhaustive: int = MAX_EXHAUSTIVE, samples: int = 2000,
               seed: int = 0) -> Verdict:
        """Check the law on every instance, or on a hypothesis search above ``max_exhaustive``."""
        start = time.perf_counter()
        try:
            count = self.count(task)
        except InvalidSymmetryError as err:
            return Verdict(self.name, self.kind, False, 0, "shape check",
                           Counterexample(self.name, "law", "-", "-", "-", str(err)),
                           time.perf_counter() - start)
        if count <= max_exhaustive:
            inst = self.all_instances(task)
            ok = self.holds(task, inst) if len(inst) else np.ones(0, bool)
            if not ok.all():
                return Verdict(self.name, self.kind, False, len(inst), "exhaustive",
                               self.explain(task, inst[int(np.argmin(ok))]), time.perf_counter() - start)
            return Verdict(self.name, self.kind, True, len(inst), f"exhaustive: {len(inst)} instances",
                           seconds=time.perf_counter() - start)
        # imported here, not at module level: `import symreg` stays free of hypothesis
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis.errors import NoSuchExample

        cfg = settings(max_examples=samples, database=None, deadline=None,
                       phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
        try:
            row = find(self.strategy(task), lambda r: not self.holds(task, np.array([r]))[0],
                       settings=cfg, random=random.Random(seed))
        except NoSuchExample:
            return Verdict(self.name, self.kind, True, samples,
                           f"hypothesis: {samples} samples of {count} instances (above {max_exhaustive})",
                           seconds=time.perf_counter() - start)
        return Verdict(self.name, self.kind, False, samples, "hypothesis (shrunk)",
                       self.explain(task, np.asarray(row)), time.perf_counter() - start)


def lookup(task: "Task", x: np.ndarray) -> np.ndarray:
    """The oracle's class of each input row of ``x`` (the only oracle read of a law).

    >>> from symreg.registry import get_task
    >>> lookup(get_task("mod_add", p=5), np.array([[2, 4]])).tolist()
    [1]
    """
    return task.labels[task.index_of(x)]


def pair_rows(task: "Task", n: int) -> np.ndarray:
    """``rows[a, b]``: the domain row of input ``(a, b)`` for tokens ``0 .. n-1``.

    >>> from symreg.registry import get_task
    >>> pair_rows(get_task("mod_add", p=5), 2).tolist()
    [[0, 1], [5, 6]]
    """
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    pairs = np.stack([a.reshape(-1), b.reshape(-1)], 1)
    if not task.contains(pairs).all():
        raise InvalidSymmetryError(f"Task '{task.name}' lacks some pairs of tokens 0..{n - 1}; "
                                   "this rule needs the whole square table.")
    return task.index_of(pairs).reshape(n, n)
