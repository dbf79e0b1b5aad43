"""The triangle equality ``d(a,c) = d(a,b) + d(b,c)`` on a graph, with its deduction rule.

Deduction does not use the law's geodesic premise (knowing ``b`` lies on a
shortest path is knowing the answer), only the triangle inequality:
``d(a,c) <= d(a,b) + d(b,c)``, ``d(a,c) >= d(a,b) - d(c,b)`` and ``d(a,c) >=
d(b,c) - d(b,a)`` over every ``b`` whose two pairs are known, clamped to the
class range ``0 .. C-1`` (:func:`triangle_bounds`); equal bounds deduce the
cell. Directed pairs only: symmetry ``d(u,v) = d(v,u)`` is the ``swap``
group's job, and the two reach the same fixpoint together. Cost: ``3 N^3``
int32 operations per call, chunked over ``b`` (N=343, the 7x7x7 grid: 1.2e8,
about 0.2 s per call on one core; N=1500, the node cap, would be about 1e10,
minutes per call).
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Sequence

import networkx as nx
import numpy as np

from symreg.symmetry.base import MAX_EXHAUSTIVE, Counterexample, Deducer, LogpFn, assign, kl_sym
from symreg.symmetry.graphs import node_positions
from symreg.symmetry.laws.law import Law, lookup, pair_rows

if TYPE_CHECKING:
    import torch
    from hypothesis import strategies as st

    from symreg.task import Task


class TriangleEquality(Law):
    """``d(a,c) == d(a,b) + d(b,c)`` whenever ``b`` lies on a shortest ``a``-``c`` path.

    Which ``b`` qualify is read off the graph with networkx, not off the task,
    so verifying the law cross-checks the task's oracle against networkx.
    Token ``t`` is node ``nodes[t]``. Instances have ``a != b != c`` with
    ``d(a,c) >= 2``. The model's violation convolves ``P(.|a,b)`` with
    ``P(.|b,c)``, drops the mass beyond the largest distance class,
    renormalises, and compares with ``P(.|a,c)`` by symmetric KL.
    """

    columns = ("a", "b", "c")

    def __init__(self, graph: nx.Graph, nodes: Sequence, name: str = "triangle",
                 description: str = "") -> None:
        node_positions(graph, nodes)  # every node of the graph once, or InvalidSymmetryError
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
        """Exact when N^3 <= MAX_EXHAUSTIVE (cheap); above, the N^3 bound, which sends verify to sampling."""
        n = len(self.distances)
        if n ** 3 > MAX_EXHAUSTIVE:
            return n ** 3
        return int(sum(self._from(a).sum() for a in range(n)))

    def all_instances(self, task: "Task") -> np.ndarray:
        rows = []
        for a in range(len(self.distances)):
            b, c = np.nonzero(self._from(a))
            rows.append(np.stack([np.full_like(b, a), b, c], 1))
        return np.concatenate(rows)

    def strategy(self, task: "Task") -> st.SearchStrategy:
        from hypothesis import strategies as st

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
        return (lookup(task, np.stack([a, b], 1)) + lookup(task, np.stack([b, c], 1))
                == lookup(task, np.stack([a, c], 1)))

    def explain(self, task: "Task", row: np.ndarray) -> Counterexample:
        a, b, c = (int(v) for v in row)
        ab, bc, ac = (int(lookup(task, np.array([[u, v]]))[0]) for u, v in ((a, b), (b, c), (a, c)))
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

    def deducer(self, task: "Task") -> Deducer:
        """Cells the triangle inequality pins down; never reads ``distances`` (the answer)."""
        idx = pair_rows(task, len(self.nodes))

        def run(known: np.ndarray):
            out = known.copy()
            dist = known[idx]
            lower, upper = triangle_bounds(dist, task.n_classes)
            unknown_cells = dist < 0
            forced = unknown_cells & (lower == upper)
            assign(out, idx[forced], lower[forced])
            bad = ~unknown_cells & ((dist < lower) | (dist > upper))  # known cells the bounds exclude
            empty = unknown_cells & (lower > upper)
            return out, np.unique(np.concatenate([idx[bad], idx[empty]]))
        return run


def triangle_bounds(dist: np.ndarray, n_classes: int, chunk: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds on every ``d(a,c)`` forced by the known cells of ``dist``.

    ``dist`` is (N, N), ``-1`` unknown. Upper: ``min_b d(a,b) + d(b,c)``;
    lower: ``max_b max(d(a,b) - d(c,b), d(b,c) - d(b,a))``; over ``b`` with
    both cells known, clamped to ``0 .. n_classes-1``. Chunked over ``b``.

    >>> d = np.array([[0, 1, -1], [1, 0, 1], [-1, 1, 0]])
    >>> lo, hi = triangle_bounds(d, 3)
    >>> int(lo[0, 2]), int(hi[0, 2])
    (0, 2)
    """
    n = len(dist)
    big = np.int32(4 * n_classes + 4)
    kn = dist >= 0
    d = dist.astype(np.int32)
    hi_val, lo_val = np.where(kn, d, big), np.where(kn, d, -big)
    upper = np.full((n, n), n_classes - 1, dtype=np.int32)
    lower = np.zeros((n, n), dtype=np.int32)
    for s in range(0, n, chunk):
        b = slice(s, min(n, s + chunk))
        # [j, a, c] with b_j
        up = hi_val[:, b].T[:, :, None] + hi_val[b, :][:, None, :]  # d(a,b) + d(b,c)
        np.minimum(upper, up.min(0), out=upper)
        lo1 = lo_val[:, b].T[:, :, None] - hi_val[:, b].T[:, None, :]  # d(a,b) - d(c,b)
        lo2 = lo_val[b, :][:, None, :] - hi_val[b, :][:, :, None]  # d(b,c) - d(b,a)
        np.maximum(lower, np.maximum(lo1.max(0), lo2.max(0)), out=lower)
    return lower, upper
