"""Orthogonal decomposition of a permutation representation, from the group's generators only.

A group acting on ``n`` tokens by permutations acts on ``R^n`` (and on the
rows of an embedding) by permutation matrices. This module splits ``R^n`` into
its **isotypic components** (one per irreducible representation that occurs,
canonical) and each of those into irreducible copies (canonical when the
multiplicity is 1), labelled by dimension ``d``, multiplicity ``m``, real type,
character on the generators and, for a cyclic group, the frequency.

Method: the *orbital algebra*. The orbits of the group on token pairs (found
by union-find over the ``n**2`` pairs, one pass per generator: no element is
ever listed, so the 7-cube's 645,120 automorphisms cost what 3 generators
cost) have 0/1 matrices that span the commutant, every matrix commuting with
the action; their number is ``r = sum(e * m**2)`` (``e`` = 1, 2 or 4 for
irreducibles of real, complex or quaternionic type). Then, with seeded random
elements of the commutant:

1. the eigenspaces of a random *symmetric* element are invariant, and
   generically irreducible; each is checked by compressing a second random
   symmetric element onto it (Schur: it must be a scalar there), and split
   further by that compression when it is not;
2. two irreducibles ``U``, ``W`` are isomorphic iff some commutant element maps
   one into the other, i.e. iff ``Q_U^T B Q_W != 0`` for a random ``B``:
   union-find over those blocks gives the isotypic components;
3. ``e`` is the dimension of the commutant compressed onto one copy (rank of a
   few random compressions), and ``sum(e * m**2) == r`` is asserted, with a
   fresh seed on a (rare, numerical) failure.

The isotypic projectors do not depend on the seed; with multiplicity above 1
the split into copies does (every orthogonal split into copies is as good).

Why this and not a character table: no character table, no enumeration of the
group and no per-family formulas are needed, so any declared group (a plugin's
included) is decomposed the same way, in ``O(n**2 * generators + n**3)``.
spgrep (irreps from a regular representation, about 300 elements at most) is
not installed and would enumerate the group; sympy has no irreps; closed forms
(cyclic, dihedral, Young's orthogonal form for S_n) cover a few families only.
numpy for the linear algebra; sympy's Schreier-Sims for the group's order and name.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from sympy.combinatorics import Permutation, PermutationGroup

from symreg.errors import UsageError

MAX_TOKENS = 3000  # n**2 pairs and dense n x n eigenproblems
KINDS = {1: "real", 2: "complex", 4: "quaternionic"}


@dataclass(frozen=True)
class Component:
    """One isotypic component: ``multiplicity`` copies of one irreducible of real dimension ``dim``."""

    dim: int
    multiplicity: int
    kind: str  # "real", "complex" or "quaternionic": the irreducible's commutant is R, C or H
    label: str
    character: tuple[float, ...]  # trace of each generator on one irreducible copy
    frequency: int | None = None  # cyclic groups: the copy's generator rotates by 2*pi*frequency/order

    @property
    def size(self) -> int:
        """Dimension of the component: ``dim * multiplicity``."""
        return self.dim * self.multiplicity


@dataclass(frozen=True)
class Decomposition:
    """The orthogonal decomposition of ``R^n`` under a permutation group.

    ``basis`` (n, n) is orthonormal; component ``i`` owns columns
    ``bounds[i]:bounds[i+1]``, irreducible copy after copy (``dim`` columns each).
    """

    group: str
    order: int
    n: int
    n_orbitals: int
    generators: np.ndarray  # (g, n) token permutations
    generator_names: tuple[str, ...]
    components: tuple[Component, ...]
    basis: np.ndarray
    bounds: np.ndarray

    def columns(self, i: int) -> np.ndarray:
        """Orthonormal basis (n, dim * multiplicity) of component ``i``."""
        return self.basis[:, self.bounds[i]:self.bounds[i + 1]]

    def projector(self, i: int) -> np.ndarray:
        """The orthogonal projector (n, n) onto component ``i``."""
        q = self.columns(i)
        return q @ q.T

    def irreducibles(self, i: int) -> list[np.ndarray]:
        """Bases of the irreducible copies in component ``i`` (a canonical split only when multiplicity is 1)."""
        c, q = self.components[i], self.columns(i)
        return [q[:, j * c.dim:(j + 1) * c.dim] for j in range(c.multiplicity)]

    @property
    def dims(self) -> np.ndarray:
        """Dimension (``dim * multiplicity``) of each component."""
        return np.array([c.size for c in self.components])

    def table(self) -> list[dict]:
        """One row per component: label, dim, multiplicity, kind, frequency."""
        return [{"label": c.label, "dim": c.dim, "multiplicity": c.multiplicity, "kind": c.kind,
                 "frequency": c.frequency} for c in self.components]


def _roots(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``range(n)`` with edges ``u - v``: each node's smallest node."""
    parent = np.arange(n)
    while True:
        while True:  # point every node at its root
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
        ru, rv = parent[u], parent[v]
        differ = ru != rv
        if not differ.any():
            return parent
        np.minimum.at(parent, np.maximum(ru[differ], rv[differ]), np.minimum(ru[differ], rv[differ]))


def orbitals(perms: np.ndarray) -> tuple[np.ndarray, int]:
    """Orbits of the group generated by ``perms`` (g, n) on token pairs: labels (n, n) and their number.

    The orbital matrices (``labels == j``) span the commutant of the action.

    >>> labels, r = orbitals(np.array([[1, 2, 0]]))  # Z_3 on 3 points: 3 orbitals, the circulants
    >>> r, labels.tolist()
    (3, [[0, 1, 2], [2, 0, 1], [1, 2, 0]])
    """
    perms = np.asarray(perms, dtype=np.int64).reshape(-1, np.shape(perms)[-1])
    n = perms.shape[1]
    pairs = np.arange(n * n)
    images = [(p[:, None] * n + p[None, :]).ravel() for p in perms]
    roots = _roots(n * n, np.tile(pairs, len(images)), np.concatenate(images) if images else pairs[:0])
    _, labels = np.unique(roots, return_inverse=True)
    return labels.reshape(n, n), int(labels.max()) + 1


def _random_element(labels: np.ndarray, r: int, rng: np.random.Generator, symmetric: bool) -> np.ndarray:
    b = rng.standard_normal(r)[labels]
    return b + b.T if symmetric else b


def _clusters(values: np.ndarray, tol: float) -> list[np.ndarray]:
    """Indices of sorted ``values`` grouped where consecutive gaps are at most ``tol``."""
    cuts = np.flatnonzero(np.diff(values) > tol) + 1
    return np.split(np.arange(len(values)), cuts)


def _diagonal_blocks(b: np.ndarray, subs: list[np.ndarray]) -> list[np.ndarray]:
    """``Q_U^T b Q_U`` for every subspace ``U``: one n x n x n product, then small ones."""
    q = np.concatenate(subs, axis=1)
    bq, starts = b @ q, np.cumsum([0] + [s.shape[1] for s in subs])
    return [s.T @ bq[:, i:j] for s, i, j in zip(subs, starts[:-1], starts[1:])]


def _irreducible_subspaces(labels: np.ndarray, r: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Orthonormal bases of invariant subspaces, each irreducible (checked by Schur's lemma)."""
    a = _random_element(labels, r, rng, True)
    w, v = np.linalg.eigh(a)
    subs = [v[:, idx] for idx in _clusters(w, 1e-9 * np.linalg.norm(a))]
    for _ in range(4):  # a fresh symmetric element must be scalar on every subspace
        b = _random_element(labels, r, rng, True)
        tol, done = 1e-9 * np.linalg.norm(b), []
        for q, m in zip(subs, _diagonal_blocks(b, subs)):
            if np.linalg.norm(m - np.trace(m) / len(m) * np.eye(len(m))) <= tol:
                done.append(q)
                continue
            mw, mv = np.linalg.eigh((m + m.T) / 2)
            done += [q @ mv[:, idx] for idx in _clusters(mw, tol)]
        if len(done) == len(subs):
            break
        subs = done
    return subs


def _isomorphic(b: np.ndarray, subs: list[np.ndarray]) -> list[np.ndarray]:
    """Indices of the subspaces grouped by isomorphism: ``Q_U^T b Q_W != 0`` for a random commutant ``b``."""
    sizes = np.array([s.shape[1] for s in subs])
    tol, pairs = 1e-7 * np.linalg.norm(b), []
    for d in np.unique(sizes):  # only subspaces of equal dimension can be isomorphic
        idx = np.flatnonzero(sizes == d)
        q = np.concatenate([subs[i] for i in idx], axis=1)
        c = (q.T @ (b @ q)) ** 2
        block = np.sqrt(c.reshape(len(idx), d, len(idx), d).sum(axis=(1, 3)))
        pairs.append(idx[np.argwhere(np.maximum(block, block.T) > tol)])
    pairs_all = np.concatenate(pairs)
    roots = _roots(len(subs), pairs_all[:, 0], pairs_all[:, 1])
    return [np.flatnonzero(roots == g) for g in np.unique(roots)]


def _split(perms: np.ndarray, seed: int) -> tuple[list[list[np.ndarray]], list[int], int]:
    """Irreducible copies grouped by isomorphism, each group's type ``e``, and the number of orbitals."""
    labels, r = orbitals(perms)
    for attempt in range(4):
        rng = np.random.default_rng([seed, attempt])
        subs = _irreducible_subspaces(labels, r, rng)
        groups = _isomorphic(_random_element(labels, r, rng, False), subs)
        first = [subs[g[0]] for g in groups]
        blocks = [_diagonal_blocks(_random_element(labels, r, rng, False), first) for _ in range(4)]
        kinds = []
        for k, q in enumerate(first):  # e = dim of the commutant compressed onto one copy
            vecs = np.stack([np.eye(q.shape[1]).ravel()] + [bl[k].ravel() for bl in blocks])
            sv = np.linalg.svd(vecs / np.linalg.norm(vecs, axis=1, keepdims=True), compute_uv=False)
            kinds.append(int((sv > 1e-6 * sv[0]).sum()))
        if sum(e * len(g) ** 2 for e, g in zip(kinds, groups)) == r and all(e in KINDS for e in kinds):
            return [[subs[i] for i in g] for g in groups], kinds, r
    raise RuntimeError(f"The decomposition of a permutation representation on {perms.shape[1]} tokens "
                       f"did not match its {r} orbitals in 4 attempts.")


def _characters(q: np.ndarray, perms: np.ndarray) -> tuple[float, ...]:
    """Trace of each permutation matrix (``e_t -> e_perm[t]``) on the subspace spanned by ``q``."""
    out = []
    for p in perms:
        inv = np.argsort(p)
        out.append(round(float((q * q[inv]).sum()), 9) + 0.0)
    return tuple(out)


def _order(p: list[int]) -> int:
    """Order of one permutation: the lcm of its cycle lengths.

    >>> _order([1, 2, 0, 4, 3])
    6
    """
    seen, order = [False] * len(p), 1
    for start in range(len(p)):
        length, t = 0, start
        while not seen[t]:
            seen[t], t, length = True, p[t], length + 1
        order = math.lcm(order, max(length, 1))
    return order


def _dihedral(gens: list[Permutation], order: int) -> bool:
    """Whether two generators present a dihedral group of ``order``: a rotation and a reflection, or two reflections.

    (sympy's ``is_dihedral`` can take minutes on a large group.)
    """
    if len(gens) != 2 or order % 2 or order < 6:
        return False
    a, b = gens
    if a.order() == 2 and b.order() == 2:
        return (a * b).order() == order // 2
    r, s = (a, b) if b.order() == 2 else (b, a)
    return s.order() == 2 and r.order() == order // 2 and s * r * s == ~r


def _group(perms: np.ndarray) -> tuple[str, int, int | None]:
    """A name for the group, its order, and the index of a generator that generates it, if one does."""
    n = perms.shape[1]
    moving = {tuple(p) for p in perms.tolist() if p != list(range(n))}
    if not moving:
        return "trivial group", 1, None
    gens = [Permutation(list(p)) for p in sorted(moving)]
    group = PermutationGroup(gens)
    if n >= 8 and not group.is_abelian and group.is_alt_sym():  # Monte Carlo, but True is certain
        odd = any(g.is_odd for g in gens)  # (sympy's Schreier-Sims on S_200 takes minutes)
        return f"{'S' if odd else 'A'}_{n}", math.factorial(n) // (1 if odd else 2), None
    order = int(group.order())
    single = next((i for i, p in enumerate(perms.tolist()) if _order(p) == order), None)
    if single is not None:
        return f"Z_{order}", order, single
    if group.is_abelian:
        return f"abelian, order {order}", order, None
    if group.is_symmetric:
        return f"S_{n}", order, None
    if _dihedral(gens, order):
        return f"D_{order // 2}", order, None
    return f"order {order}", order, None


def _describe(d: int, e: int, chars: tuple[float, ...], group: str, order: int,
              cyclic: int | None) -> tuple[str, int | None]:
    kind = {2: " (complex type)", 4: " (quaternionic type)"}.get(e, "")
    if cyclic is not None:
        cos = max(-1.0, min(1.0, chars[cyclic] / d))
        k = int(round(order * math.acos(cos) / (2 * math.pi)))
        return ("trivial" if k == 0 else f"frequency {k}"), k
    if d == 1 and all(c > 0 for c in chars):
        return "trivial", None
    if d == 1:
        signs = "".join("+" if c > 0 else "-" for c in chars)
        return ("sign" if group.startswith("S_") else f"1-dim, generator signs {signs}"), None
    if group[:2] in ("S_", "A_") and d == int(group[2:]) - 1:
        return f"standard (dim {d})", None
    return f"irrep of dim {d}{kind}", None


@functools.lru_cache(maxsize=32)
def _cached(raw: bytes, shape: tuple[int, int], names: tuple[str, ...], seed: int) -> Decomposition:
    perms = np.frombuffer(raw, dtype=np.int64).reshape(shape)
    name, order, cyclic = _group(perms)
    groups, kinds, r = _split(perms, seed)
    parts = []
    for copies, e in zip(groups, kinds):
        chars = _characters(copies[0], perms)
        label, freq = _describe(copies[0].shape[1], e, chars, name, order, cyclic)
        comp = Component(copies[0].shape[1], len(copies), KINDS[e], label, chars, freq)
        q = np.concatenate(copies, axis=1)
        key = (label != "trivial", freq if freq is not None else -1, comp.dim, comp.multiplicity,
               tuple(-c for c in chars), tuple(np.round(q @ q[0], 6)))  # last: projector's column 0, canonical
        parts.append((key, comp, q))
    parts.sort(key=lambda t: t[0])
    basis = np.concatenate([b for _, _, b in parts], axis=1)
    basis.flags.writeable = False
    perms = perms.copy()
    perms.flags.writeable = False
    bounds = np.cumsum([0] + [c.size for _, c, _ in parts])
    bounds.flags.writeable = False
    return Decomposition(name, order, shape[1], r, perms, names, tuple(c for _, c, _ in parts), basis, bounds)


def decompose_permutations(perms, names=None, seed: int = 0) -> Decomposition:
    """Decompose ``R^n`` under the group generated by the token permutations ``perms`` (g, n).

    ``perms[k][t]`` is the image of token ``t`` under generator ``k``.
    Deterministic for a given ``seed``; cached.

    >>> dec = decompose_permutations([[1, 2, 3, 4, 0]], ["x->x+1"])  # Z_5 translation
    >>> dec.group, [(c.label, c.dim, c.multiplicity) for c in dec.components]
    ('Z_5', [('trivial', 1, 1), ('frequency 1', 2, 1), ('frequency 2', 2, 1)])
    """
    perms = np.ascontiguousarray(np.asarray(perms, dtype=np.int64))
    if perms.ndim != 2 or perms.shape[0] == 0:
        raise UsageError(f"Generators must be token permutations of shape (g, n); got shape {perms.shape}.")
    n = perms.shape[1]
    if n > MAX_TOKENS:
        raise UsageError(f"Decomposing an action on {n} tokens needs {n}**2 pairs and {n} x {n} "
                         f"eigenproblems; the limit is {MAX_TOKENS} tokens.")
    if not np.array_equal(np.sort(perms, axis=1), np.broadcast_to(np.arange(n), perms.shape)):
        raise UsageError(f"Every generator must be a permutation of range({n}).")
    names = tuple(names) if names is not None else tuple(f"g{i}" for i in range(1, len(perms) + 1))
    if len(names) != len(perms):
        raise UsageError(f"{len(perms)} generators but {len(names)} names.")
    return _cached(perms.tobytes(), perms.shape, names, seed)
