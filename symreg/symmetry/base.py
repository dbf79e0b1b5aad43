"""The interface every kind of symmetry shares, and what the kinds have in common.

A :class:`Symmetry` is something a task respects: it can be *verified*
against the task's oracle (giving a :class:`Verdict`, with a
:class:`Counterexample` when it fails), *sampled* and *measured* on a model
(a differentiable violation), and it may *deduce* unknown labels from known
ones (:meth:`Symmetry.deducer`). The built-in kinds are the group action
(:mod:`symreg.symmetry.group`) and the laws (:mod:`symreg.symmetry.laws`);
each owns its verification and its deduction rule.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from symreg.errors import UsageError

if TYPE_CHECKING:
    import torch

    from symreg.task import Task

MAX_EXHAUSTIVE = 4_000_000
"""Verification checks every instance up to this many, and samples above it."""

UNKNOWN = -1
"""The value of a cell whose label is not known, in a ``known`` array over a task's domain rows."""

# domain row indices (n,) -> log-probs (..., n, C); leading axes (e.g. seeds) pass through
LogpFn = Callable[[np.ndarray], "torch.Tensor"]

# known -> (new known, rows whose deduced label disagreed with one already known)
Deducer = Callable[[np.ndarray], "tuple[np.ndarray, np.ndarray]"]


@dataclass
class Counterexample:
    """A failed check: what was applied to which input, and the two labels."""

    symmetry: str
    element: str
    input: Any
    expected: Any
    actual: Any
    detail: str = ""

    def __str__(self) -> str:
        return (
            f"symmetry {self.symmetry!r} fails: element {self.element} on input "
            f"{self.input}: expected {self.expected}, got {self.actual}"
            + (f" ({self.detail})" if self.detail else "")
        )


@dataclass
class Verdict:
    """The outcome of checking one symmetry against a task's oracle."""

    symmetry: str
    kind: str
    ok: bool
    checked: int
    method: str
    counterexample: Counterexample | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class Symmetry(ABC):
    """Something a task respects, checkable against its oracle and measurable on a model.

    A new kind implements :meth:`verify`, :meth:`sample` and :meth:`violation`;
    it may override :meth:`deducer` (or define a simpler ``deduce(task,
    known)`` method, see :mod:`symreg.symmetry.deduction`) to take part in
    leak-free augmentation.
    """

    kind: str
    name: str
    description: str
    plugin: str | None = None
    """The plugin that declared this symmetry; stamped by :func:`symreg.registry.get_symmetries`."""

    @abstractmethod
    def verify(self, task: "Task", *, max_exhaustive: int = MAX_EXHAUSTIVE, samples: int = 2000,
               seed: int = 0) -> Verdict:
        """Check the symmetry against ``task``'s oracle."""

    @abstractmethod
    def sample(self, task: "Task", n: int, rng: np.random.Generator) -> dict:
        """Draw ``n`` instances (arrays of domain row indices and what else is needed)."""

    @abstractmethod
    def violation(self, task: "Task", instances: dict, logp: LogpFn) -> "torch.Tensor":
        """Per-instance symmetric KL of a model's predictions, (..., n); differentiable.

        ``logp(rows)`` returns log-probabilities (..., len(rows), C) for domain
        rows; any leading axes (seeds) carry through to the result.
        """

    def deducer(self, task: "Task") -> Deducer:
        """This symmetry's deduction rule on ``task``, as a function of ``known``.

        The rule maps a ``known`` array (one class per domain row,
        :data:`UNKNOWN` where unknown) to a new one with what follows added,
        and the rows where a deduction contradicted a known label. It must
        never read the task's oracle. A kind without a rule keeps this default,
        which raises :class:`~symreg.errors.UsageError`.
        """
        raise UsageError(f"Symmetry {self.name!r} ({type(self).__name__}) has no deduction rule.")

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "description": self.description, "plugin": self.plugin}


def kl_sym(logp: "torch.Tensor", logq: "torch.Tensor") -> "torch.Tensor":
    """Symmetric KL, ``(KL(p||q) + KL(q||p)) / 2``, over the last axis.

    Uses ``KL(p||q) + KL(q||p) = sum (p - q)(log p - log q)``, which is finite
    whenever both log-probabilities are.

    >>> import torch
    >>> p = torch.log(torch.tensor([[0.5, 0.5]]))
    >>> float(kl_sym(p, p))
    0.0
    """
    return 0.5 * ((logp.exp() - logq.exp()) * (logp - logq)).sum(-1)


def assign(known: np.ndarray, idx: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Write ``vals`` into the unknown cells ``idx`` of ``known`` (in place).

    Returns the newly known cells and the cells where some deduction disagreed
    (with a known label, or with another deduction in the same batch).

    >>> known = np.array([UNKNOWN, 1, UNKNOWN])
    >>> new, clash = assign(known, np.array([0, 1]), np.array([2, 0]))
    >>> known.tolist(), new.tolist(), clash.tolist()
    ([2, 1, -1], [0], [1])
    """
    idx = np.asarray(idx, dtype=np.int64).reshape(-1)
    vals = np.asarray(vals, dtype=np.int64).reshape(-1)
    fresh = known[idx] < 0
    known[idx[fresh]] = vals[fresh]
    clash = np.unique(idx[known[idx] != vals])
    new = np.unique(idx[fresh])
    return new, clash
