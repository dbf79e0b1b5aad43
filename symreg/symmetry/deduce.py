"""Deduction rules: what each kind of symmetry says about unknown cells, from known ones.

The labels of the closure are *deduced*: they come from the training labels
and the declared symmetries, never from the task's oracle (``task.label`` and
``task.labels`` are not read here except in :func:`closure_report`, which
checks the deduction afterwards). This is the "orbit closure" of
research/peers.md section 4 item 3: it says which test cells a model could
get right by symmetry alone, so accuracy can be reported inside and outside
it, and an augmented training set carries no oracle labels.

Representation: ``known`` is an int64 array over the task's domain rows
(``len(task)``), ``-1`` for unknown, else the class::

    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=5)
    >>> known = np.full(len(task), -1, dtype=np.int64)
    >>> known[task.index_of(np.array([[1, 3]]))] = 4        # the one training fact 1+3=4
    >>> out = deduce(get_symmetry(task, "commutativity"), task, known)
    >>> [task.decode(x) for x in task.inputs()[out >= 0]], out[out >= 0].tolist()
    ([(1, 3), (3, 1)], [4, 4])

What each kind of symmetry deduces (each kind only its own consequences):

- :class:`~symreg.symmetry.base.GroupAction`: the orbit of every known row, with
  labels moved along (``g.x`` gets ``g.y``). :func:`deduce` returns the full
  orbit closure, walking the generators' row permutations from a frontier.
- :class:`~symreg.symmetry.laws.Associativity`: with ``u = f(alpha b, beta c)``,
  ``f(a,b)=w, f(w,c)=k, u`` known give ``f(a,u)=k``; and ``f(a,b)=w, u,
  f(a,u)=k`` known give ``f(w,c)=k``. One sweep over ``c`` per call.
- :class:`~symreg.symmetry.laws.Transitivity`: per attribute, ``a<b`` and ``b<c`` yes
  give ``(a,<,c)`` yes and ``(a,>,c)`` no; the contrapositives too: ``a<b``
  yes with ``a<c`` no (or ``a>c`` yes) give ``b<c`` no, and ``b<c`` yes with
  ``a<c`` no (or ``a>c`` yes) give ``a<b`` no. One step per call.
- :class:`~symreg.symmetry.laws.TriangleEquality`: not the law's geodesic premise
  (knowing ``b`` lies on a shortest path is knowing the answer), only the
  triangle inequality: ``d(a,c) <= d(a,b) + d(b,c)``, ``d(a,c) >= d(a,b) -
  d(c,b)`` and ``d(a,c) >= d(b,c) - d(b,a)`` over every ``b`` whose two
  pairs are known, clamped to the class range ``0 .. C-1``; equal bounds
  deduce the cell. Directed pairs only: symmetry ``d(u,v) = d(v,u)`` is the
  ``swap`` group's job, and the two reach the same fixpoint together. Cost:
  ``3 N^3`` int32 operations per call, chunked over ``b`` (N=343, the 7x7x7
  grid: 1.2e8, about 0.2 s per call on one core; N=1500, the node cap, would
  be about 1e10, minutes per call).

Associativity costs ``n^3`` per call (a loop over ``c``): 0.05-0.1 s for
``p = 113``; S_6 (720 elements) would be about 4e8, tens of seconds.

A symmetry object with its own ``deduce(task, known)`` method is used first,
so plugins can add rules for their own kinds. :func:`closure` iterates every
chosen symmetry until nothing changes.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable

import numpy as np

from symreg.errors import InvalidSymmetryError, UsageError
from symreg.symmetry.laws import Associativity, Transitivity, TriangleEquality
from symreg.symmetry.base import GroupAction, Symmetry, apply

if TYPE_CHECKING:
    from symreg.task import Task

# known -> (new known, rows whose deduced label disagreed with one already known)
Deducer = Callable[[np.ndarray], "tuple[np.ndarray, np.ndarray]"]

UNKNOWN = -1


def _assign(known: np.ndarray, idx: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Write ``vals`` into unknown cells ``idx`` of ``known`` (in place).

    Returns the newly known cells and the cells where some deduction disagreed
    (with a known label, or with another deduction in the same batch).
    """
    idx = np.asarray(idx, dtype=np.int64).reshape(-1)
    vals = np.asarray(vals, dtype=np.int64).reshape(-1)
    fresh = known[idx] < 0
    known[idx[fresh]] = vals[fresh]
    clash = np.unique(idx[known[idx] != vals])
    new = np.unique(idx[fresh])
    return new, clash


# --- preparing one symmetry's rule for a task -----------------------------------------
@functools.singledispatch
def prepare(sym: Symmetry, task: "Task") -> Deducer:
    """The deduction rule of ``sym`` on ``task``, as a function of ``known``.

    Dispatches on the symmetry's type; register a rule for a new type with
    ``@prepare.register``, or give the symmetry a ``deduce(task, known)``
    method. An unsupported symmetry raises :class:`~symreg.errors.UsageError`.
    """
    own = getattr(sym, "deduce", None)
    if callable(own):
        return _wrap_own(sym, task)
    raise UsageError(f"Symmetry {sym.name!r} ({type(sym).__name__}) has no deduction rule; "
                     f"supported: {', '.join(sorted(supported_kinds()))}, or a deduce(task, known) method.")


def _wrap_own(sym, task: "Task") -> Deducer:
    def run(known: np.ndarray):
        out = np.asarray(sym.deduce(task, known.copy()), dtype=np.int64)
        if out.shape != known.shape:
            raise InvalidSymmetryError(f"{sym.name!r}.deduce returned shape {out.shape}, "
                                       f"expected {known.shape}.")
        had = known >= 0
        clash = np.nonzero(had & (out != known))[0]
        out = np.where(had, known, out)  # a rule may add cells, never change known ones
        return out, clash
    return run


def supported_kinds() -> list[str]:
    return sorted(c.__name__ for c in prepare.registry if c is not object)


def can_deduce(sym: Symmetry) -> bool:
    """Whether :func:`deduce` has a rule for ``sym``."""
    if callable(getattr(sym, "deduce", None)):
        return True
    return prepare.dispatch(type(sym)) is not prepare.dispatch(object)


def rule_for(sym: Symmetry, task: "Task") -> Deducer:
    if callable(getattr(sym, "deduce", None)):
        return _wrap_own(sym, task)
    return prepare(sym, task)


def deduce(sym: Symmetry, task: "Task", known: np.ndarray) -> np.ndarray:
    """A new ``known`` array with what ``sym`` deduces from ``known`` added.

    Group actions return their full orbit closure; laws one step of their
    rule (iterate with :func:`closure`).
    """
    known = np.asarray(known, dtype=np.int64)
    if known.shape != (len(task),):
        raise UsageError(f"known has shape {known.shape}; task '{task.name}' has {len(task)} rows.")
    return rule_for(sym, task)(known)[0]


# --- group actions ----------------------------------------------------------------
@prepare.register(GroupAction)
def _(sym: GroupAction, task: "Task") -> Deducer:
    sym.check_shape(task)
    k, v, c = task.arity, task.vocab_size, task.n_classes
    d, offset = k * v + c, k * v
    x = task.inputs()
    forms = np.array([list(g.array_form) + list(range(g.size, d)) for g in sym.generators],
                     dtype=np.int64)
    rows = np.stack([task.index_of(apply(f, x, v)) for f in forms])  # (G, N): row -> g.row
    classes = forms[:, offset:] - offset  # (G, C): class -> g.class

    def run(known: np.ndarray):
        out = known.copy()
        frontier = np.nonzero(out >= 0)[0]
        clashes = []
        while frontier.size:
            tgt = rows[:, frontier]
            val = np.take_along_axis(classes, np.broadcast_to(out[frontier], tgt.shape), axis=1)
            frontier, clash = _assign(out, tgt, val)
            clashes.append(clash)
        return out, np.unique(np.concatenate(clashes)) if clashes else np.zeros(0, np.int64)
    return run


# --- associativity ----------------------------------------------------------------
def _pair_rows(task: "Task", n: int) -> np.ndarray:
    """``rows[a, b]``: the domain row of input ``(a, b)`` for tokens ``0 .. n-1``."""
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    pairs = np.stack([a.reshape(-1), b.reshape(-1)], 1)
    if not task.contains(pairs).all():
        raise InvalidSymmetryError(f"Task '{task.name}' lacks some pairs of tokens 0..{n - 1}; "
                                   "this rule needs the whole square table.")
    return task.index_of(pairs).reshape(n, n)


@prepare.register(Associativity)
def _(sym: Associativity, task: "Task") -> Deducer:
    n = len(sym._tokens(task))
    idx = _pair_rows(task, n)
    alpha = np.arange(n) if sym.alpha is None else sym.alpha
    beta = np.arange(n) if sym.beta is None else sym.beta

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
            new, clash = _assign(flat, a[ok] * n + ub[ok], k1[ok])
            clashes.append(clash)
            k2 = t[a, ub]  # rule 2: f(a, u) known -> f(w, c) = k
            ok = k2 >= 0
            new2, clash = _assign(flat, w[ok] * n + c, k2[ok])
            clashes.append(clash)
            if new.size or new2.size:
                w_known = t >= 0
        out = known.copy()
        out[idx.reshape(-1)] = flat
        return out, idx.reshape(-1)[np.unique(np.concatenate(clashes))]
    return run


# --- transitivity ---------------------------------------------------------------------
@prepare.register(Transitivity)
def _(sym: Transitivity, task: "Task") -> Deducer:
    e = sym.entities

    def table(rel: int) -> np.ndarray:
        x = np.stack(np.broadcast_arrays(e[:, None], rel, e[None, :]), -1).reshape(-1, 3)
        return task.index_of(x).reshape(len(e), len(e))

    tables = [(table(int(lo)), table(int(hi))) for lo, hi in zip(sym.less, sym.greater)]

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
                clashes.append(_assign(out, rows, np.full(rows.size, val))[1])
        return out, np.unique(np.concatenate(clashes))
    return run


# --- triangle inequality ------------------------------------------------------------
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


@prepare.register(TriangleEquality)
def _(sym: TriangleEquality, task: "Task") -> Deducer:
    n = len(sym.nodes)  # token t is node sym.nodes[t]; sym.distances (the answer) is never read
    idx = _pair_rows(task, n)

    def run(known: np.ndarray):
        out = known.copy()
        dist = known[idx]
        lower, upper = triangle_bounds(dist, task.n_classes)
        unknown_cells = dist < 0
        forced = unknown_cells & (lower == upper)
        _assign(out, idx[forced], lower[forced])
        bad = ~unknown_cells & ((dist < lower) | (dist > upper))  # known cells the bounds exclude
        empty = unknown_cells & (lower > upper)
        return out, np.unique(np.concatenate([idx[bad], idx[empty]]))
    return run
