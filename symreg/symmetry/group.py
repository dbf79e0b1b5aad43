"""Group actions: a finite group moving inputs (slots and tokens) and output classes.

A :class:`GroupAction` holds its group as a ``sympy.combinatorics.PermutationGroup``.
A task with ``arity`` slots, ``V`` tokens and ``C`` classes gives the point
set ``{0 .. arity*V + C - 1}``: point ``i*V + t`` is "token t in slot i" and
point ``arity*V + c`` is "class c". A group element is a permutation of these
points that maps each slot's block onto a slot's block and the classes onto
the classes. It moves input ``x`` to ``x'`` with ``x'[j] = t'`` whenever it
sends point ``(i, x[i])`` to ``(j, t')``, and moves class ``c`` to its image:
identity on classes means invariance, anything else equivariance. Build
elements with :func:`element`.

Composition follows sympy: ``p*q`` applies ``p`` first, then ``q``::

    >>> p, q = Permutation([1, 0, 2]), Permutation([0, 2, 1])
    >>> [q(p(i)) for i in range(3)] == list((p*q).array_form)
    True

so ``apply(p*q, x) == apply(q, apply(p, x))``, pinned by a property test.

Verification checks every generator on every input of the finite table (a
proof for every element, since the generators generate the group), then a
few random elements check composition and identity. Deduction is the orbit
closure: every known row's orbit, with labels moved along (``g.x`` gets ``g.y``).
"""
from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Sequence

import numpy as np
from sympy.combinatorics import Permutation, PermutationGroup

from symreg.errors import InvalidSymmetryError, UsageError
from symreg.symmetry.base import MAX_EXHAUSTIVE, Counterexample, Deducer, LogpFn, Symmetry, Verdict, assign, kl_sym

if TYPE_CHECKING:
    import torch

    from symreg.task import Task


def element(task: "Task", *, slots: Sequence[int] | None = None,
            tokens: Sequence[int] | dict[int, Sequence[int]] | None = None,
            outputs: Sequence[int] | None = None) -> Permutation:
    """The group element that relabels tokens, moves slots and relabels classes.

    ``tokens`` is one map of all ``V`` tokens applied in every slot, or a dict
    ``{slot: map}`` (unlisted slots unchanged); ``slots[i]`` is where slot
    ``i``'s (relabelled) token goes; ``outputs[c]`` is the image of class ``c``.

    >>> from symreg.registry import get_task
    >>> task = get_task("mod_add", p=5)
    >>> swap = element(task, slots=[1, 0])
    >>> apply(swap, np.array([[1, 3]]), task.vocab_size).tolist()
    [[3, 1]]
    """
    k, v, c = task.arity, task.vocab_size, task.n_classes
    slots = list(range(k)) if slots is None else list(slots)
    if sorted(slots) != list(range(k)):
        raise InvalidSymmetryError(f"Slot map {slots} is not a permutation of range({k}).")
    if tokens is None or isinstance(tokens, dict):
        extra = sorted(set(tokens or {}) - set(range(k)), key=str)
        if extra:
            raise InvalidSymmetryError(f"Token maps given for slot(s) {extra}; task '{task.name}' "
                                       f"has slots 0..{k - 1}.")
        maps = {i: np.arange(v) for i in range(k)}
        maps.update({i: np.asarray(m) for i, m in (tokens or {}).items()})
    else:
        maps = {i: np.asarray(tokens) for i in range(k)}
    af = np.empty(k * v + c, dtype=np.int64)
    for i in range(k):
        if sorted(maps[i].tolist()) != list(range(v)):
            raise InvalidSymmetryError(f"Token map for slot {i} is not a permutation of range({v}).")
        af[i * v:(i + 1) * v] = slots[i] * v + maps[i]
    out = np.arange(c) if outputs is None else np.asarray(outputs)
    if sorted(out.tolist()) != list(range(c)):
        raise InvalidSymmetryError(f"Class map is not a permutation of range({c}).")
    af[k * v:] = k * v + out
    return Permutation(af.tolist())


def apply(g: Permutation | np.ndarray, x: np.ndarray, vocab_size: int) -> np.ndarray:
    """Move input rows ``x`` (N, arity) by one element, or by one element per row.

    ``g`` is a Permutation, an array form (D,), or array forms (N, D); a
    Permutation shorter than the point set fixes the points past its size.

    >>> apply(Permutation([2, 3, 0, 1]), np.array([[0, 1]]), 2).tolist()  # swap the two slots
    [[1, 0]]
    """
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 2:
        raise UsageError(f"Inputs must be rows of tokens, shape (N, arity); got shape {x.shape}.")
    af = np.asarray(g.array_form if isinstance(g, Permutation) else g, dtype=np.int64)
    n, k = x.shape
    if af.ndim == 1 and af.size < k * vocab_size:
        af = np.concatenate([af, np.arange(af.size, k * vocab_size)])
    rows = np.arange(n)
    out = np.empty_like(x)
    for i in range(k):
        img = af[i * vocab_size + x[:, i]] if af.ndim == 1 else af[rows, i * vocab_size + x[:, i]]
        out[rows, img // vocab_size] = img % vocab_size
    return out


def apply_label(g: Permutation | np.ndarray, y: np.ndarray, offset: int) -> np.ndarray:
    """Move classes ``y`` by ``g``; ``offset`` is ``arity * vocab_size``.

    >>> apply_label(Permutation([0, 1, 3, 2]), np.array([0, 1]), 2).tolist()  # swap the two classes
    [1, 0]
    """
    af = np.asarray(g.array_form if isinstance(g, Permutation) else g, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    if af.ndim == 1 and af.size <= offset + y.max(initial=0):
        return y  # a Permutation that stops before the classes fixes them
    return (af[offset + y] if af.ndim == 1 else af[np.arange(len(y)), offset + y]) - offset


class GroupAction(Symmetry):
    """A finite group acting on inputs (slots and tokens) and on output classes.

    Parameters
    ----------
    name : str
        Identifier, unique among the task's symmetries (``commutativity``).
    generators : list of Permutation
        Built with :func:`element` for the task this action is declared on.
    description : str
        One line saying what the group does.
    generator_names : list of str, optional
        Readable names of the generators, used in reports.
    """

    kind = "group"

    def __init__(self, name: str, generators: Sequence[Permutation], description: str = "",
                 generator_names: Sequence[str] | None = None) -> None:
        if not generators:
            raise InvalidSymmetryError(f"Group action {name!r} has no generators.")
        degrees = {g.size for g in generators}
        if len(degrees) != 1:
            raise InvalidSymmetryError(f"Generators of {name!r} have different degrees {sorted(degrees)}.")
        if generator_names is not None and len(generator_names) != len(generators):
            raise InvalidSymmetryError(f"Group action {name!r} has {len(generators)} generators "
                                       f"but {len(generator_names)} generator names.")
        self.name, self.description = name, description
        self.generators = list(generators)
        self.generator_names = list(generator_names or [_word(i, g) for i, g in enumerate(generators, 1)])

    @functools.cached_property
    def group(self) -> PermutationGroup:
        return PermutationGroup(self.generators)

    def order(self) -> int:
        return int(self.group.order())

    def is_invariance(self, task: "Task") -> bool:
        """True when no element moves an output class (pure invariance)."""
        self.check_shape(task)
        return self._invariant

    def check_shape(self, task: "Task") -> None:
        """Raise unless every generator preserves the task's slot and class blocks."""
        k, v, c = task.arity, task.vocab_size, task.n_classes
        for name, g in zip(self.generator_names, self.generators):
            af = np.asarray(g.array_form + list(range(g.size, k * v + c)))
            if g.size > k * v + c:
                raise InvalidSymmetryError(
                    f"Symmetry {self.name!r} acts on {g.size} points but task '{task.name}' "
                    f"has {k * v + c} (arity {k} x {v} tokens + {c} classes).")
            blocks = af[: k * v].reshape(k, v) // v
            if not (np.all(blocks == blocks[:, :1]) and np.all(af[k * v:] >= k * v)):
                raise InvalidSymmetryError(
                    f"Element {name} of {self.name!r} does not map slots to slots and classes to classes.")
        self._invariant = all(
            np.array_equal(np.asarray((g.array_form + list(range(g.size, k * v + c)))[k * v:]),
                           np.arange(k * v, k * v + c)) for g in self.generators)

    def _forms(self, task: "Task", perms: Sequence[Permutation]) -> np.ndarray:
        d = task.arity * task.vocab_size + task.n_classes
        return np.array([p.array_form + list(range(p.size, d)) for p in perms], dtype=np.int64)

    def random_elements(self, n: int, rng: np.random.Generator, task: "Task") -> np.ndarray:
        """``n`` uniform random group elements as array forms, from the stabiliser chain."""
        levels = [list(t.values()) for t in self.group.basic_transversals]
        picks = [rng.integers(len(lv), size=n) for lv in levels]
        forms = [self._forms(task, lv) for lv in levels]
        d = forms[0].shape[1] if forms else 0
        out = np.tile(np.arange(d), (n, 1))
        # sympy factors g as u_m * ... * u_1 (deepest level applied first)
        for lv_forms, pick in zip(reversed(forms), reversed(picks)):
            out = np.take_along_axis(lv_forms[pick], out, axis=1)  # apply out first
        return out

    def sample(self, task: "Task", n: int, rng: np.random.Generator) -> dict:
        self.check_shape(task)
        x_idx = rng.integers(len(task), size=n)
        g = self.random_elements(n, rng, task)
        x = task.inputs()[x_idx]
        gx = apply(g, x, task.vocab_size)
        offset = task.arity * task.vocab_size
        out = g[:, offset:] - offset  # class c -> out[c]
        return {"x": x_idx, "gx": task.index_of(gx), "out": out}

    def violation(self, task: "Task", instances: dict, logp: LogpFn) -> "torch.Tensor":
        import torch

        lp_x, lp_gx = logp(instances["x"]), logp(instances["gx"])  # (..., n, C)
        inv = torch.as_tensor(np.argsort(instances["out"], axis=1), device=lp_x.device)
        aligned = torch.gather(lp_x, -1, inv.expand_as(lp_x))  # aligned[c'] = p_x[g^-1 c']
        return kl_sym(aligned, lp_gx)

    def verify(self, task: "Task", *, max_exhaustive: int = MAX_EXHAUSTIVE, samples: int = 2000,
               seed: int = 0) -> Verdict:
        """Check every generator on every input of ``task`` (always exhaustive), then composition."""
        start = time.perf_counter()
        try:
            self.check_shape(task)
        except InvalidSymmetryError as err:
            return Verdict(self.name, self.kind, False, 0, "shape check",
                           Counterexample(self.name, "-", "-", "a block-preserving permutation",
                                          "not one", str(err)), time.perf_counter() - start)
        x, y = task.inputs(), task.labels
        offset, v = task.arity * task.vocab_size, task.vocab_size
        for name, g in zip(self.generator_names, self.generators):
            gx = apply(g, x, v)
            inside = task.contains(gx)
            if not inside.all():
                i = int(np.argmin(inside))
                return self._fail(task, name, x[i], "an input in the domain",
                                  f"{tuple(int(t) for t in gx[i])} (outside)", start)
            expected = apply_label(g, y, offset)
            actual = task.labels[task.index_of(gx)]
            bad = np.nonzero(expected != actual)[0]
            if bad.size:
                i = int(bad[0])
                return self._fail(task, name, x[i], task.class_name(expected[i]),
                                  task.class_name(actual[i]), start, f"image {task.decode(gx[i])}")
        problem = self._composition_problem(task, seed)
        if problem:
            return self._fail(task, "composition", x[0], "apply(p*q) == apply(q, apply(p))", problem, start)
        return Verdict(self.name, self.kind, True, len(x) * len(self.generators),
                       f"exhaustive: {len(self.generators)} generators x {len(x)} inputs",
                       seconds=time.perf_counter() - start)

    def _composition_problem(self, task: "Task", seed: int) -> str | None:
        rng = np.random.default_rng(seed)
        v = task.vocab_size
        x = task.inputs()[rng.integers(len(task), size=min(256, len(task)))]
        g, h = self.random_elements(8, rng, task), self.random_elements(8, rng, task)
        for gi, hi in zip(g, h):
            gh = hi[gi]  # sympy's p*q: apply p (gi) first, then q (hi)
            if not np.array_equal(apply(gh, x, v), apply(hi, apply(gi, x, v), v)):
                return "composition not respected"
        if not np.array_equal(apply(np.arange(g.shape[1]), x, v), x):
            return "identity moves an input"
        return None

    def _fail(self, task: "Task", which: str, x, expected, actual, start: float,
              detail: str = "") -> Verdict:
        ce = Counterexample(self.name, str(which), task.decode(x), expected, actual, detail)
        return Verdict(self.name, self.kind, False, 0, "exhaustive", ce, time.perf_counter() - start)

    def deducer(self, task: "Task") -> Deducer:
        """The orbit closure: walks the generators' row permutations from the known rows."""
        self.check_shape(task)
        k, v = task.arity, task.vocab_size
        x = task.inputs()
        forms = self._forms(task, self.generators)
        rows = np.stack([task.index_of(apply(f, x, v)) for f in forms])  # (G, N): row -> g.row
        classes = forms[:, k * v:] - k * v  # (G, C): class -> g.class

        def run(known: np.ndarray):
            out = known.copy()
            frontier = np.nonzero(out >= 0)[0]
            clashes = []
            while frontier.size:
                tgt = rows[:, frontier]
                val = np.take_along_axis(classes, np.broadcast_to(out[frontier], tgt.shape), axis=1)
                frontier, clash = assign(out, tgt, val)
                clashes.append(clash)
            return out, np.unique(np.concatenate(clashes)) if clashes else np.zeros(0, np.int64)
        return run

    def summary(self) -> dict:
        return {**super().summary(), "order": self.order(),
                "generators": self.generator_names}


def _word(i: int, g: Permutation) -> str:
    """A generator's name when none was given: ``g<i>``, with its cycles when they are short.

    >>> _word(1, Permutation([1, 0, 2])), _word(2, Permutation(list(range(1, 60)) + [0]))
    ('g1 = [[0, 1]]', 'g2')
    """
    cycles = str(g.cyclic_form)
    return f"g{i} = {cycles}" if len(cycles) <= 40 else f"g{i}"
