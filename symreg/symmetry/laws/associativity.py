"""Associativity ``f(f(a,b), c) = f(a, f(alpha b, beta c))``, with its deduction rule.

Deduction, with ``u = f(alpha b, beta c)``: ``f(a,b)=w, f(w,c)=k, u`` known
give ``f(a,u)=k``; and ``f(a,b)=w, u, f(a,u)=k`` known give ``f(w,c)=k``. One
sweep over ``c`` per call: ``n^3`` work, 0.05-0.1 s for ``p = 113``; S_6
(720 elements) would be about 4e8, tens of seconds.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from symreg.errors import InvalidSymmetryError
from symreg.symmetry.base import Counterexample, Deducer, LogpFn, assign, kl_sym
from symreg.symmetry.laws.law import Law, lookup, pair_rows

if TYPE_CHECKING:
    import torch
    from hypothesis import strategies as st

    from symreg.task import Task


class Associativity(Law):
    """``f(f(a,b), c) == f(a, f(alpha[b], beta[c]))`` for a binary operation task.

    Output class ``k`` must be the same thing as input token ``k`` (the result
    can be fed back in). ``alpha`` and ``beta`` are token maps for proxies such
    as the paper's ``(x-y)-z = x-(y-(-z))`` (``beta`` = negation); both default
    to the identity, which is plain associativity. The model's two paths are
    marginalised, ``P(k) = sum_w p(w|a,b) p(k|w,c)``, and compared by symmetric KL.
    """

    columns = ("a", "b", "c")

    def __init__(self, name: str = "associativity", *, alpha: Sequence[int] | None = None,
                 beta: Sequence[int] | None = None, description: str = "") -> None:
        self.name = name
        self.alpha = None if alpha is None else np.asarray(alpha, dtype=np.int64)
        self.beta = None if beta is None else np.asarray(beta, dtype=np.int64)
        self.description = description or "f(f(a,b),c) = f(a,f(b,c))"

    def _tokens(self, task: "Task") -> np.ndarray:
        n = task.n_classes
        if task.arity != 2 or n > task.vocab_size:
            raise InvalidSymmetryError(
                f"Associativity needs a binary task whose classes are tokens; "
                f"task '{task.name}' has arity {task.arity} and {n} classes.")
        for which, m in (("alpha", self.alpha), ("beta", self.beta)):
            if m is not None and (m.shape != (n,) or m.min(initial=0) < 0 or m.max(initial=0) >= n):
                raise InvalidSymmetryError(
                    f"Associativity {self.name!r}: {which} must map each of the {n} tokens "
                    f"0..{n - 1} to one of them; got {m.size} entries in {m.min(initial=0)}.."
                    f"{m.max(initial=0)}.")
        return np.arange(n)

    def _right_inner(self, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        b2 = b if self.alpha is None else self.alpha[b]
        c2 = c if self.beta is None else self.beta[c]
        return np.stack([b2, c2], axis=-1)

    def count(self, task: "Task") -> int:
        return len(self._tokens(task)) ** 3

    def all_instances(self, task: "Task") -> np.ndarray:
        t = self._tokens(task)
        grid = np.meshgrid(t, t, t, indexing="ij")
        return np.stack([g.reshape(-1) for g in grid], axis=1)

    def strategy(self, task: "Task") -> st.SearchStrategy:
        from hypothesis import strategies as st

        t = st.integers(0, len(self._tokens(task)) - 1)
        return st.tuples(t, t, t)

    def sample(self, task: "Task", n: int, rng: np.random.Generator) -> dict:
        return {"inst": rng.integers(len(self._tokens(task)), size=(n, 3))}

    def _paths(self, task: "Task", inst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b, c = inst.T
        left = lookup(task, np.stack([lookup(task, np.stack([a, b], 1)), c], 1))
        right = lookup(task, np.stack([a, lookup(task, self._right_inner(b, c))], 1))
        return left, right

    def holds(self, task: "Task", inst: np.ndarray) -> np.ndarray:
        left, right = self._paths(task, inst)
        return left == right

    def explain(self, task: "Task", row: np.ndarray) -> Counterexample:
        left, right = self._paths(task, row[None])
        a, b, c = (int(v) for v in row)
        return Counterexample(self.name, "law", (a, b, c), int(left[0]), int(right[0]),
                              "f(f(a,b),c) vs f(a,f(alpha b, beta c))")

    def violation(self, task: "Task", instances: dict, logp: LogpFn) -> "torch.Tensor":
        import torch

        inst = instances["inst"]
        a, b, c = inst.T
        n, classes = len(inst), np.arange(task.n_classes)
        cw = len(classes)

        def chained(first: np.ndarray, outer_left: bool, fixed: np.ndarray) -> "torch.Tensor":
            lp_first = logp(task.index_of(first))  # (..., n, C)
            w = np.broadcast_to(classes, (n, cw))
            f = np.broadcast_to(fixed[:, None], (n, cw))
            pairs = np.stack([w, f] if outer_left else [f, w], axis=-1).reshape(-1, 2)
            lp_second = logp(task.index_of(pairs))
            lp_second = lp_second.reshape(*lp_second.shape[:-2], n, cw, -1)  # (..., n, w, k)
            return torch.logsumexp(lp_first.unsqueeze(-1) + lp_second, dim=-2)

        left = chained(np.stack([a, b], 1), True, c)
        right = chained(self._right_inner(b, c), False, a)
        return kl_sym(left, right)

    def deducer(self, task: "Task") -> Deducer:
        """Both rules of the module docstring, one sweep over ``c`` per call."""
        n = len(self._tokens(task))
        idx = pair_rows(task, n)
        alpha = np.arange(n) if self.alpha is None else self.alpha
        beta = np.arange(n) if self.beta is None else self.beta

        def run(known: np.ndarray):
            t = known[idx]  # (n, n) table, -1 unknown; updated as we go (every write is sound)
            flat = t.reshape(-1)
            clashes = []
            w_known = t >= 0
            for c in range(n):
                u = t[alpha, beta[c]]  # u[b] = f(alpha b, beta c)
                a, b = np.nonzero(w_known & (u >= 0)[None, :])
                w, ub = t[a, b], u[b]
                k1 = t[w, c]  # rule 1: f(w, c) known -> f(a, u) = k
                ok = k1 >= 0
                new, clash = assign(flat, a[ok] * n + ub[ok], k1[ok])
                clashes.append(clash)
                k2 = t[a, ub]  # rule 2: f(a, u) known -> f(w, c) = k
                ok = k2 >= 0
                new2, clash = assign(flat, w[ok] * n + c, k2[ok])
                clashes.append(clash)
                if new.size or new2.size:
                    w_known = t >= 0
            out = known.copy()
            out[idx.reshape(-1)] = flat
            return out, idx.reshape(-1)[np.unique(np.concatenate(clashes))]
        return run
