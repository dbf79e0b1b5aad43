"""Transitivity ``a < b`` and ``b < c`` give ``a < c``, with its deduction rule.

Deduction, per attribute: ``a<b`` and ``b<c`` yes give ``(a,<,c)`` yes and
``(a,>,c)`` no; the contrapositives too: ``a<b`` yes with ``a<c`` no (or
``a>c`` yes) give ``b<c`` no, and ``b<c`` yes with ``a<c`` no (or ``a>c``
yes) give ``a<b`` no. One step per call.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Sequence

import numpy as np

from symreg.errors import InvalidSymmetryError
from symreg.symmetry.base import Counterexample, Deducer, LogpFn, assign
from symreg.symmetry.laws.law import Law, lookup

if TYPE_CHECKING:
    import torch
    from hypothesis import strategies as st

    from symreg.task import Task


class Transitivity(Law):
    """``a < b`` and ``b < c`` give ``a < c``, per attribute, for yes/no comparison tasks.

    The task's input is ``(entity, relation, entity)`` and its classes are
    ``0`` (no) and ``1`` (yes). ``less[i]`` and ``greater[i]`` are the
    relation tokens of attribute ``i``. The premise is read off the oracle, so
    verification checks that the oracle's relation is transitive. The model's
    log-odds for ``a`` vs ``b`` are ``l_ab = s(a,>,b) - s(a,<,b)`` with
    ``s = logit(yes) - logit(no)``: the paper's "logit_> - logit_<", compared
    as a Bradley-Terry model, ``l_ac ~ l_ab + l_bc``.
    """

    columns = ("a", "b", "c", "attribute")

    def __init__(self, entities: Sequence[int], less: Sequence[int], greater: Sequence[int],
                 name: str = "transitivity", description: str = "") -> None:
        if len(less) != len(greater) or not len(less):
            raise InvalidSymmetryError(
                f"Transitivity {name!r} needs one 'less' and one 'greater' relation token per "
                f"attribute; got {len(less)} and {len(greater)}.")
        self.name = name
        self.entities = np.asarray(entities, dtype=np.int64)
        self.less, self.greater = np.asarray(less), np.asarray(greater)
        self.description = description or "a<b and b<c imply a<c, per attribute"

    @functools.lru_cache(maxsize=4)  # noqa: B019 - tasks are few and long-lived
    def _less_tables(self, task: "Task") -> np.ndarray:
        e = self.entities
        tables = []
        for rel in self.less:
            x = np.stack(np.broadcast_arrays(e[:, None], rel, e[None, :]), -1).reshape(-1, 3)
            tables.append(lookup(task, x).reshape(len(e), len(e)) == 1)
        return np.stack(tables)  # (attributes, E, E)

    def count(self, task: "Task") -> int:
        t = self._less_tables(task).astype(np.int64)
        return int(np.einsum("kab,kbc->", t, t))

    def all_instances(self, task: "Task") -> np.ndarray:
        t, rows = self._less_tables(task), []
        for k in range(len(t)):
            for b in range(t.shape[1]):
                a, c = np.nonzero(t[k][:, b][:, None] & t[k][b][None, :])
                rows.append(np.stack([a, np.full_like(a, b), c, np.full_like(a, k)], 1))
        return np.concatenate(rows)  # entity positions, not tokens

    def strategy(self, task: "Task") -> st.SearchStrategy:
        from hypothesis import strategies as st

        every = self.all_instances(task)
        return st.integers(0, len(every) - 1).map(lambda i: tuple(every[i]))

    def _query(self, x: np.ndarray, y: np.ndarray, rel: np.ndarray) -> np.ndarray:
        return np.stack([self.entities[x], rel, self.entities[y]], 1)

    def holds(self, task: "Task", inst: np.ndarray) -> np.ndarray:
        a, _, c, k = inst.T
        return ((lookup(task, self._query(a, c, self.less[k])) == 1)
                & (lookup(task, self._query(a, c, self.greater[k])) == 0))

    def explain(self, task: "Task", row: np.ndarray) -> Counterexample:
        a, b, c, k = (int(v) for v in row)
        one = (np.array([a]), np.array([c]))
        got = tuple(task.class_name(lookup(task, self._query(*one, rel[[k]]))[0])
                    for rel in (self.less, self.greater))
        names = tuple(task.token_name(self.entities[i]) for i in (a, b, c))
        return Counterexample(self.name, "law", names + (f"attribute {k}",),
                              (task.class_name(1), task.class_name(0)), got,
                              "labels of (a,<,c) and (a,>,c) given a<b and b<c")

    def violation(self, task: "Task", instances: dict, logp: LogpFn) -> "torch.Tensor":
        a, b, c, k = instances["inst"].T

        def log_odds(x: np.ndarray, y: np.ndarray) -> "torch.Tensor":
            def score(rel: np.ndarray) -> "torch.Tensor":
                lp = logp(task.index_of(self._query(x, y, rel)))
                return lp[..., 1] - lp[..., 0]

            return score(self.greater[k]) - score(self.less[k])

        u, v = log_odds(a, c), log_odds(a, b) + log_odds(b, c)
        return 0.5 * (u.sigmoid() - v.sigmoid()) * (u - v)  # Bernoulli KL_sym

    def deducer(self, task: "Task") -> Deducer:
        """The forward rule and both contrapositives, one step per call."""
        e = self.entities

        def table(rel: int) -> np.ndarray:
            x = np.stack(np.broadcast_arrays(e[:, None], rel, e[None, :]), -1).reshape(-1, 3)
            return task.index_of(x).reshape(len(e), len(e))

        tables = [(table(int(lo)), table(int(hi))) for lo, hi in zip(self.less, self.greater)]

        def run(known: np.ndarray):
            out, clashes = known.copy(), []
            for less, greater in tables:
                lt, gt = out[less], out[greater]  # snapshot: one step per call
                yes = (lt == 1).astype(np.int64)
                no = ((lt == 0) | (gt == 1)).astype(np.int64)  # "a<c" is false
                chain = (yes @ yes) > 0  # a<b, b<c
                for rows, val in ((less[chain], 1), (greater[chain], 0),
                                  (less[(yes.T @ no) > 0], 0),   # a<b, not a<c: not b<c
                                  (less[(no @ yes.T) > 0], 0)):  # b<c, not a<c: not a<b
                    clashes.append(assign(out, rows, np.full(rows.size, val))[1])
            return out, np.unique(np.concatenate(clashes))
        return run
