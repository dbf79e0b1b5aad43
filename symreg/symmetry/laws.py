"""Laws: identities that tie several predictions together.

No single group element expresses them, so each law names its instances (rows
of tokens), says when an instance holds under the task's oracle, and measures a
model's violation by combining its predictive distributions, as the paper does:

- :class:`Associativity`: ``f(f(a, b), c) = f(a, f(alpha b, beta c))``; the
  model's two paths are marginalised, ``P(k) = sum_w p(w|a,b) p(k|w,c)``.
- :class:`TriangleEquality`: ``d(a,c) = d(a,b) + d(b,c)`` for ``b`` on a
  shortest ``a``-``c`` path; the two distance distributions are convolved.
- :class:`Transitivity`: ``a < b`` and ``b < c`` give ``a < c``; the model's
  log-odds are compared as a Bradley-Terry model, ``l_ac ~ l_ab + l_bc``.
"""
from __future__ import annotations

import functools
from abc import abstractmethod
from typing import TYPE_CHECKING, Sequence

import networkx as nx
import numpy as np
from hypothesis import strategies as st

from symreg.errors import InvalidSymmetryError
from symreg.symmetry.base import Counterexample, LogpFn, Symmetry, Verdict, kl_sym

if TYPE_CHECKING:
    import torch

    from symreg.task import Task


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
        if self.count(task) <= 2_000_000:
            every = self._every(task)
            return {"inst": every[rng.integers(len(every), size=n)]}
        draw = self.strategy(task)
        rows = [draw.example() for _ in range(n)]  # pragma: no cover - no built-in needs it
        return {"inst": np.asarray(rows, dtype=np.int64)}

    @functools.lru_cache(maxsize=2)  # noqa: B019 - laws and tasks are few and long-lived
    def _every(self, task: "Task") -> np.ndarray:
        return self.all_instances(task)

    def verify(self, task: "Task", *, max_exhaustive: int = 4_000_000, samples: int = 2000,
               seed: int = 0) -> Verdict:
        from symreg.symmetry.verification import verify_law

        return verify_law(self, task, max_exhaustive=max_exhaustive, samples=samples, seed=seed)


def _lookup(task: "Task", x: np.ndarray) -> np.ndarray:
    return task.labels[task.index_of(x)]


class Associativity(Law):
    """``f(f(a,b), c) == f(a, f(alpha[b], beta[c]))`` for a binary operation task.

    Output class ``k`` must be the same thing as input token ``k`` (the result
    can be fed back in). ``alpha`` and ``beta`` are token maps for proxies such
    as the paper's ``(x-y)-z = x-(y-(-z))`` (``beta`` = negation); both default
    to the identity, which is plain associativity.
    """

    columns = ("a", "b", "c")

    def __init__(self, name: str = "associativity", *, alpha: Sequence[int] | None = None,
                 beta: Sequence[int] | None = None, description: str = "") -> None:
        self.name = name
        self.alpha = None if alpha is None else np.asarray(alpha, dtype=np.int64)
        self.beta = None if beta is None else np.asarray(beta, dtype=np.int64)
        self.description = description or "f(f(a,b),c) = f(a,f(b,c))"

    def _tokens(self, task: "Task") -> np.ndarray:
        if task.arity != 2 or task.n_classes > task.vocab_size:
            raise InvalidSymmetryError(
                f"Associativity needs a binary task whose classes are tokens; "
                f"task '{task.name}' has arity {task.arity} and {task.n_classes} classes.")
        return np.arange(task.n_classes)

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
        t = st.integers(0, len(self._tokens(task)) - 1)
        return st.tuples(t, t, t)

    def sample(self, task: "Task", n: int, rng: np.random.Generator) -> dict:
        return {"inst": rng.integers(len(self._tokens(task)), size=(n, 3))}

    def _paths(self, task: "Task", inst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b, c = inst.T
        left = _lookup(task, np.stack([_lookup(task, np.stack([a, b], 1)), c], 1))
        right = _lookup(task, np.stack([a, _lookup(task, self._right_inner(b, c))], 1))
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


class TriangleEquality(Law):
    """``d(a,c) == d(a,b) + d(b,c)`` whenever ``b`` lies on a shortest ``a``-``c`` path.

    Which ``b`` qualify is read off the graph with networkx, not off the task,
    so verifying the law cross-checks the task's oracle against networkx.
    Instances have ``a != b != c`` with ``d(a,c) >= 2``. The model's violation
    convolves ``P(.|a,b)`` with ``P(.|b,c)``, drops the mass beyond the largest
    distance class, renormalises, and compares with ``P(.|a,c)`` by symmetric KL.
    """

    columns = ("a", "b", "c")

    def __init__(self, graph: nx.Graph, nodes: Sequence, name: str = "triangle",
                 description: str = "") -> None:
        self.name, self.graph, self.nodes = name, graph, list(nodes)
        self.description = description or "d(a,c) = d(a,b) + d(b,c) for b on a shortest a-c path"

    @functools.cached_property
    def distances(self) -> np.ndarray:
        pos = {v: i for i, v in enumerate(self.nodes)}
        d = np.full((len(pos), len(pos)), -1, dtype=np.int64)
        for src, lengths in nx.all_pairs_shortest_path_length(self.graph):
            for dst, k in lengths.items():
                d[pos[src], pos[dst]] = k
        return d

    def _mask(self, a: np.ndarray, c: np.ndarray) -> np.ndarray:
        d = self.distances
        m = d[a][:, :] + d[:, c].T == d[a, c][:, None]  # (n, N) b on a geodesic
        m[np.arange(len(a)), a] = False
        m[np.arange(len(a)), c] = False
        return m

    def _from(self, a: int) -> np.ndarray:
        """``on[b, c]``: b is strictly inside a shortest a-c path, d(a,c) >= 2."""
        d = self.distances
        on = ((d[a][:, None] + d) == d[a][None, :]) & (d[a] >= 2)[None, :]
        on[a, :] = False
        on[np.arange(len(d)), np.arange(len(d))] = False
        return on

    def count(self, task: "Task") -> int:
        """Exact when N^3 <= 4e6 (cheap); above that, the N^3 bound, which sends verify to sampling."""
        n = len(self.distances)
        if n ** 3 > 4_000_000:
            return n ** 3
        return int(sum(self._from(a).sum() for a in range(n)))

    def all_instances(self, task: "Task") -> np.ndarray:
        rows = []
        for a in range(len(self.distances)):
            b, c = np.nonzero(self._from(a))
            rows.append(np.stack([np.full_like(b, a), b, c], 1))
        return np.concatenate(rows)

    def strategy(self, task: "Task") -> st.SearchStrategy:
        d, n = self.distances, len(self.distances)

        @st.composite
        def triples(draw):
            a = draw(st.integers(0, n - 1))
            far = np.nonzero(d[a] >= 2)[0]
            c = int(far[draw(st.integers(0, len(far) - 1))])
            mid = np.nonzero(self._mask(np.array([a]), np.array([c]))[0])[0]
            return a, int(mid[draw(st.integers(0, len(mid) - 1))]), c

        return triples()

    def holds(self, task: "Task", inst: np.ndarray) -> np.ndarray:
        a, b, c = inst.T
        return (_lookup(task, np.stack([a, b], 1)) + _lookup(task, np.stack([b, c], 1))
                == _lookup(task, np.stack([a, c], 1)))

    def explain(self, task: "Task", row: np.ndarray) -> Counterexample:
        a, b, c = (int(v) for v in row)
        ab, bc, ac = (int(_lookup(task, np.array([[u, v]]))[0]) for u, v in ((a, b), (b, c), (a, c)))
        names = [task.token_name(t) for t in (a, b, c)]
        return Counterexample(self.name, "law", tuple(names), ab + bc, ac,
                              f"d(a,b)={ab}, d(b,c)={bc}, networkx d(a,c)={self.distances[a, c]}")

    def sample(self, task: "Task", n: int, rng: np.random.Generator) -> dict:
        d = self.distances
        pairs = np.argwhere(d >= 2)
        ac = pairs[rng.integers(len(pairs), size=n)]
        mask = self._mask(ac[:, 0], ac[:, 1])
        b = np.argmax(np.where(mask, rng.random(mask.shape), -1.0), axis=1)
        return {"inst": np.stack([ac[:, 0], b, ac[:, 1]], 1)}

    def violation(self, task: "Task", instances: dict, logp: LogpFn) -> "torch.Tensor":
        import torch

        a, b, c = instances["inst"].T
        lp_ab = logp(task.index_of(np.stack([a, b], 1)))
        lp_bc = logp(task.index_of(np.stack([b, c], 1)))
        lp_ac = logp(task.index_of(np.stack([a, c], 1)))
        k = lp_ab.shape[-1]
        i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        keep = (i + j < k).reshape(-1)
        spread = torch.zeros(k * k, k, dtype=lp_ab.dtype, device=lp_ab.device)
        spread[np.nonzero(keep)[0], (i + j).reshape(-1)[keep]] = 1.0
        outer = (lp_ab.exp().unsqueeze(-1) * lp_bc.exp().unsqueeze(-2)).flatten(-2)  # (..., n, k*k)
        conv = (outer @ spread).clamp_min(torch.finfo(lp_ab.dtype).tiny)
        log_conv = conv.log() - conv.sum(-1, keepdim=True).log()
        return kl_sym(log_conv, lp_ac)


class Transitivity(Law):
    """``a < b`` and ``b < c`` give ``a < c``, per attribute, for yes/no comparison tasks.

    The task's input is ``(entity, relation, entity)`` and its classes are
    ``0`` (no) and ``1`` (yes). ``less[i]`` and ``greater[i]`` are the
    relation tokens of attribute ``i``. The premise is read off the oracle, so
    verification checks that the oracle's relation is transitive. The model's
    log-odds for ``a`` vs ``b`` are ``l_ab = s(a,>,b) - s(a,<,b)`` with
    ``s = logit(yes) - logit(no)``: the paper's "logit_> - logit_<".
    """

    columns = ("a", "b", "c", "attribute")

    def __init__(self, entities: Sequence[int], less: Sequence[int], greater: Sequence[int],
                 name: str = "transitivity", description: str = "") -> None:
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
            tables.append(_lookup(task, x).reshape(len(e), len(e)) == 1)
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
        every = self.all_instances(task)
        return st.integers(0, len(every) - 1).map(lambda i: tuple(every[i]))

    def _query(self, x: np.ndarray, y: np.ndarray, rel: np.ndarray) -> np.ndarray:
        return np.stack([self.entities[x], rel, self.entities[y]], 1)

    def holds(self, task: "Task", inst: np.ndarray) -> np.ndarray:
        a, _, c, k = inst.T
        return ((_lookup(task, self._query(a, c, self.less[k])) == 1)
                & (_lookup(task, self._query(a, c, self.greater[k])) == 0))

    def explain(self, task: "Task", row: np.ndarray) -> Counterexample:
        a, b, c, k = (int(v) for v in row)
        one = (np.array([a]), np.array([c]))
        got = tuple(task.class_name(_lookup(task, self._query(*one, rel[[k]]))[0])
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
